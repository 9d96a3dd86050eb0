package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/storagetest"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"windows names", []Option{WithWindowsNames()}},
		{"inode index", []Option{WithoutXattrs()}},
		{"no trash", []Option{WithoutTrash()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Opt{
				NewStorage: func(t *testing.T) storage.Storage {
					// The root is a folder below another, so that items
					// can be moved out of it.
					dir := filepath.Join(t.TempDir(), "root")
					require.NoError(t, os.Mkdir(dir, 0o755))
					s, err := New(dir, tt.opts...)
					require.NoError(t, err)
					t.Cleanup(func() { s.Close() })
					return s
				},
				MoveOut: func(t *testing.T, s storage.Storage, e storage.Entry) {
					root := s.(*Storage).Root()
					require.NoError(t, os.Rename(filepath.Join(root, filepath.FromSlash(e.Path)), filepath.Join(filepath.Dir(root), "out "+e.Name())))
				},
			})
		})
	}
}

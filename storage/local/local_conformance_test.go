package local

import (
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
					s, err := New(t.TempDir(), tt.opts...)
					require.NoError(t, err)
					t.Cleanup(func() { s.Close() })
					return s
				},
			})
		})
	}
}

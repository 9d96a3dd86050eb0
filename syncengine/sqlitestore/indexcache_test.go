package sqlitestore_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// The saved baseline indexes live in "<database>.index", readable by
// their owner only; a save a crash cut short leaves a temporary file,
// which the next Open removes, and a saved index survives a reopen.
func TestSavedIndexFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.PutItems(ctx, "p", []syncengine.Item{{A: syncengine.SideState{ID: "1", Path: "a"}}}, nil))
	token, err := s.BaselineToken(ctx, "p")
	require.NoError(t, err)
	require.NoError(t, s.SaveBaselineIndex(ctx, "p", token, func(w io.Writer) error {
		_, err := io.WriteString(w, "index")
		return err
	}))
	dir := path + ".index"
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	fi, err = os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, s.Close())

	leftover := filepath.Join(dir, ".tmp-123")
	require.NoError(t, os.WriteFile(leftover, []byte("half"), 0o600))
	s, err = sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	require.NoFileExists(t, leftover)
	r, ok, err := s.LoadBaselineIndex(ctx, "p")
	require.NoError(t, err)
	require.True(t, ok, "a saved index survives a reopen")
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, "index", string(b))

	// A file cut short inside the store's own header is no index.
	require.NoError(t, os.WriteFile(files[0], []byte("PSBT\x01"), 0o600))
	_, ok, err = s.LoadBaselineIndex(ctx, "p")
	require.NoError(t, err)
	require.False(t, ok)
}

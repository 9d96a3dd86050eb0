package local

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

func TestDurabilityBatchDefersFolderSyncs(t *testing.T) {
	s, _ := newStorage(t)
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)

	// Outside a batch nothing waits.
	_, err = s.MakeDir(ctx, root, "plain")
	require.NoError(t, err)
	require.Empty(t, s.batch.dirs)

	s.BeginBatch()
	s.BeginBatch() // nested
	d, err := s.MakeDir(ctx, root, "docs")
	require.NoError(t, err)
	f, err := s.Put(ctx, d, "a.txt", bytes.NewReader([]byte("abc")), 3, storage.PutOptions{})
	require.NoError(t, err)
	require.Contains(t, s.batch.dirs, "")
	require.Contains(t, s.batch.dirs, "docs")
	require.NoError(t, s.Flush(ctx))
	require.Empty(t, s.batch.dirs)

	require.NoError(t, s.Delete(ctx, f))
	require.Contains(t, s.batch.dirs, "docs")
	// A folder gone before the flush: covered by a sync of the file
	// system, not an error.
	require.NoError(t, s.Delete(ctx, d))
	require.NoError(t, s.EndBatch(ctx))
	require.Empty(t, s.batch.dirs)
	require.Equal(t, 1, s.batch.depth)
	require.NoError(t, s.EndBatch(ctx))
	require.Equal(t, 0, s.batch.depth)
	_, err = s.MakeDir(ctx, root, "after")
	require.NoError(t, err)
	require.Empty(t, s.batch.dirs)
}

// A Move in a batch syncs the folder it left and the folder it entered at
// the next Flush, not at once.
func TestDurabilityBatchDefersMoveSyncs(t *testing.T) {
	s, _ := newStorage(t)
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	from, err := s.MakeDir(ctx, root, "from")
	require.NoError(t, err)
	to, err := s.MakeDir(ctx, root, "to")
	require.NoError(t, err)
	f, err := s.Put(ctx, from, "a.txt", bytes.NewReader([]byte("abc")), 3, storage.PutOptions{})
	require.NoError(t, err)
	require.Empty(t, s.batch.dirs)

	s.BeginBatch()
	moved, err := s.Move(ctx, f, to, "b.txt")
	require.NoError(t, err)
	require.Equal(t, "to/b.txt", moved.Path)
	require.Equal(t, map[string]struct{}{"from": {}, "to": {}}, s.batch.dirs)
	require.NoError(t, s.EndBatch(ctx))
	require.Empty(t, s.batch.dirs)

	// Outside a batch the folders are synced at once.
	_, err = s.Move(ctx, moved, from, "c.txt")
	require.NoError(t, err)
	require.Empty(t, s.batch.dirs)
}

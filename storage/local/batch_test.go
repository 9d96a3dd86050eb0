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

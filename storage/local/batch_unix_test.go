//go:build unix

package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// In a batch, a new file takes its name at once and its content is synced
// at the next Flush, with the batch's other new files (at most
// maxPendingFiles wait); a new version of an existing file is synced
// before it takes the name, as outside a batch. Flush and Close sync and
// close what waits, and a content that cannot be synced is Flush's error,
// naming the file.
func TestDurabilityBatchDefersNewFileContent(t *testing.T) {
	s, dir := newStorage(t)
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	put := func(name, content string) storage.Entry {
		t.Helper()
		e, err := s.Put(ctx, root, name, bytes.NewReader([]byte(content)), int64(len(content)), storage.PutOptions{})
		require.NoError(t, err)
		return e
	}

	put("plain.txt", "outside a batch")
	require.Empty(t, s.batch.files)

	s.BeginBatch()
	put("new.txt", "new")
	require.Len(t, s.batch.files, 1)
	got, err := os.ReadFile(filepath.Join(dir, "new.txt"))
	require.NoError(t, err, "in place at once")
	require.Equal(t, "new", string(got))
	// The temporary file's lock is released: another program may lock the
	// file while it waits for Flush.
	other, err := os.Open(filepath.Join(dir, "new.txt"))
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	require.NoError(t, other.Close())

	put("plain.txt", "overwritten") // an existing file: synced before the rename
	require.Len(t, s.batch.files, 1)
	pending := slices.Clone(s.batch.files)
	require.NoError(t, s.Flush(ctx))
	require.Empty(t, s.batch.files)
	for _, pf := range pending {
		require.ErrorIs(t, pf.f.Sync(), os.ErrClosed, "Flush closed %s", pf.rel)
	}

	for i := range maxPendingFiles + 3 {
		put(fmt.Sprintf("f%03d.txt", i), "x")
	}
	require.Len(t, s.batch.files, 3, "the Put that reached the bound synced the others")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, isTempName(e.Name()), "no temporary file left: %s", e.Name())
	}

	// A content that cannot be synced fails the next Flush, by name.
	bad, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	require.NoError(t, bad.Close())
	s.batch.mu.Lock()
	s.batch.files = append(s.batch.files, pendingFile{f: bad, rel: "docs/bad.txt"})
	s.batch.mu.Unlock()
	err = s.EndBatch(ctx)
	require.ErrorContains(t, err, "docs/bad.txt")
	require.Empty(t, s.batch.files)
	require.NoError(t, s.Flush(ctx), "reported once")

	// Close syncs and closes what an open batch still holds.
	s.BeginBatch()
	put("last.txt", "last")
	pending = slices.Clone(s.batch.files)
	require.Len(t, pending, 1)
	require.NoError(t, s.Close())
	require.ErrorIs(t, pending[0].f.Sync(), os.ErrClosed)
}

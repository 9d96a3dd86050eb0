package dropbox_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/stretchr/testify/require"
)

// rootedAt returns a fake holding /Procore/Tower/Plans/a.pdf and a Storage
// rooted at /Procore/Tower, with a change cursor taken now.
func rootedAt(t *testing.T) (*dropboxtest.Server, *dropbox.Storage, string) {
	t.Helper()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	_, _, err := srv.WebPut(dropboxtest.HomeNS, "/Procore/Tower/Plans/a.pdf", []byte("a"))
	require.NoError(t, err)
	_, err = srv.WebMkdir(dropboxtest.HomeNS, "/Elsewhere")
	require.NoError(t, err)
	ctx := context.Background()
	s, err := dropbox.New(ctx, newClient(t, srv, srv.Token(), nil), dropbox.Options{RootPath: "/Procore/Tower"})
	require.NoError(t, err)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	return srv, s, cur
}

func listed(t *testing.T, s *dropbox.Storage) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		out = append(out, e.Path)
	}
	return out
}

// TestChangesFollowTheRoot: after a person renames or moves the root
// folder or a parent of it, the old cursor's folder is gone from its path
// (list_folder/continue: path/not_found). Changes reports an expired
// cursor, not the root's content as deleted, and the Storage follows the
// root: the listing and a new cursor see what is added there.
func TestChangesFollowTheRoot(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, now string
	}{
		{"parent renamed", "/Procore", "/Procore (renamed)", "/Procore (renamed)/Tower"},
		{"root renamed", "/Procore/Tower", "/Procore/Tower A", "/Procore/Tower A"},
		{"root moved", "/Procore/Tower", "/Elsewhere/Tower", "/Elsewhere/Tower"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, s, cur := rootedAt(t)
			ctx := context.Background()
			require.NoError(t, srv.WebMove(dropboxtest.HomeNS, tc.from, tc.to))
			_, _, err := srv.WebPut(dropboxtest.HomeNS, tc.now+"/Plans/b.pdf", []byte("b"))
			require.NoError(t, err)

			ch, _, err := s.Changes(ctx, cur)
			require.ErrorIs(t, err, storage.ErrCursorExpired, "changes %+v", ch)
			require.NotErrorIs(t, err, storage.ErrNotFound)
			require.Empty(t, ch)

			// What the engine does on an expired cursor: a new cursor and
			// a full listing, both of the root where it is now.
			cur, err = s.LatestCursor(ctx)
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"Plans", "Plans/a.pdf", "Plans/b.pdf"}, listed(t, s))

			_, _, err = srv.WebPut(dropboxtest.HomeNS, tc.now+"/Plans/c.pdf", []byte("c"))
			require.NoError(t, err)
			ch, _, err = s.Changes(ctx, cur)
			require.NoError(t, err)
			require.Len(t, ch, 1)
			require.Equal(t, "Plans/c.pdf", ch[0].Entry.Path)
			require.False(t, ch[0].Deleted)
		})
	}
}

// TestChangesWhenTheRootIsDeleted: the root itself gone gives ErrNotFound
// (the protected-root case), never an expired cursor that would list an
// empty root.
func TestChangesWhenTheRootIsDeleted(t *testing.T) {
	srv, s, cur := rootedAt(t)
	ctx := context.Background()
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Procore/Tower"))
	ch, _, err := s.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NotErrorIs(t, err, storage.ErrCursorExpired)
	require.Empty(t, ch)
	_, err = s.Stat(ctx, "")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.LatestCursor(ctx)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// TestChangesWhenAFolderTakesTheRootsOldPath: the root is renamed and a
// person makes a folder of its old name, so that the old cursor's path
// lives again: its entries lie outside the root, and Changes reports an
// expired cursor rather than the other folder's changes or deletions.
func TestChangesWhenAFolderTakesTheRootsOldPath(t *testing.T) {
	srv, s, cur := rootedAt(t)
	ctx := context.Background()
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore/Tower", "/Procore/Tower A"))
	_, _, err := srv.WebPut(dropboxtest.HomeNS, "/Procore/Tower/other.pdf", []byte("o"))
	require.NoError(t, err)
	// The engine reads the root first (Stat ""), which follows it.
	_, err = s.Stat(ctx, "")
	require.NoError(t, err)
	ch, _, err := s.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired, "changes %+v", ch)
	require.Empty(t, ch)
	require.ElementsMatch(t, []string{"Plans", "Plans/a.pdf"}, listed(t, s))
}

// TestWatchFollowsTheRenamedRoot: after the root's parent is renamed the
// watcher signals, takes a cursor on the root where it is now (rather than
// polling the lost one again and again), and signals what changes there.
func TestWatchFollowsTheRenamedRoot(t *testing.T) {
	srv, s, _ := rootedAt(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx)
	require.NoError(t, err)
	cursors := srv.Calls("files/list_folder/get_latest_cursor")
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore", "/Procore 2"))
	awaitSignal(t, ch)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Procore 2/Tower/new.pdf", []byte("n"))
	require.NoError(t, err)
	awaitSignal(t, ch)
	require.Greater(t, srv.Calls("files/list_folder/get_latest_cursor"), cursors, "a cursor on the moved root")
}

// awaitSignal fails the test when no signal comes (instead of hanging).
func awaitSignal(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case _, ok := <-ch:
		require.True(t, ok, "the watch ended")
	case <-time.After(20 * time.Second):
		t.Fatal("no signal")
	}
}

// TestResumeWithAnotherChunkSize: a process appended a chunk but stopped
// before it saved the new offset; the next process resumes from the saved
// offset with another chunk size and meets incorrect_offset. It goes on
// from the offset Dropbox holds, and the file is whole.
func TestResumeWithAnotherChunkSize(t *testing.T) {
	data := []byte("0123456789abcdefghij") // 20 bytes
	for _, chunk := range []int64{3, 4, 5, 8, 16} {
		t.Run(fmt.Sprintf("chunk %d", chunk), func(t *testing.T) {
			srv, s := setup(t, dropboxtest.Options{}, nil)
			ctx := context.Background()
			// The process stops after Dropbox confirmed 8 bytes, before it
			// saved offset 8.
			st := stoppedUpload(t, s, data, 2)
			require.Equal(t, int64(4), st.Offset)

			s2, err := dropbox.New(ctx, newClient(t, srv, srv.Token(), nil), dropbox.Options{})
			require.NoError(t, err)
			s2.SetChunking(chunk, chunk)
			// A plain reader (no Seek) of the bytes from the saved offset.
			e, err := s2.ResumeUpload(ctx, st, io.MultiReader(bytes.NewReader(data[st.Offset:])), storage.PutOptions{})
			require.NoError(t, err)
			require.Equal(t, int64(len(data)), e.Size)
			require.Equal(t, dropbox.ContentHash(data), e.Hashes[storage.HashDropbox])
			got, ok := srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
			require.True(t, ok)
			require.Equal(t, data, got)
		})
	}
}

// TestResumeFromAnOffsetTheSessionCannotContinue: a saved offset beyond
// what Dropbox holds (the bytes before it are not in r) cannot be
// continued: ErrNotFound, so that the caller starts a new Put; nothing is
// committed.
func TestResumeFromAnOffsetTheSessionCannotContinue(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	data := []byte("0123456789abcdefghij")
	st := stoppedUpload(t, s, data, 2) // saved 4, Dropbox holds 8
	require.Equal(t, int64(4), st.Offset)
	ahead := st
	ahead.Offset = 12
	_, err := s.ResumeUpload(ctx, ahead, bytes.NewReader(data[12:]), storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.ErrorContains(t, err, "holds 8 bytes")
	_, ok := srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
	require.False(t, ok)

	// A source that ends before the offset Dropbox holds is no file
	// either.
	s.SetChunking(2, 2)
	_, err = s.ResumeUpload(ctx, st, strings.NewReader("45"), storage.PutOptions{})
	require.ErrorContains(t, err, "the source ended")
	_, ok = srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
	require.False(t, ok)
}

// stoppedUpload starts a 4-byte-chunk upload of data as /a.bin that stops
// (OnUploadState fails) at the stopAt-th confirmed chunk, and returns the
// last state it saved.
func stoppedUpload(t *testing.T, s *dropbox.Storage, data []byte, stopAt int) storage.UploadState {
	t.Helper()
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	s.SetChunking(4, 4)
	var st storage.UploadState
	calls := 0
	_, err = s.Put(ctx, root, "a.bin", bytes.NewReader(data), int64(len(data)), storage.PutOptions{OnUploadState: func(u storage.UploadState) error {
		if calls++; calls == stopAt {
			return io.ErrClosedPipe
		}
		st = u
		return nil
	}})
	require.Error(t, err)
	return st
}

// A session whose last chunk was appended (closing it) and saved, but not
// finished, as after a crash between the two, is finished by
// ResumeUpload: the append Dropbox answers closed is the one already
// made.
func TestResumeAClosedSession(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	s.SetChunking(4, 4)
	data := []byte("0123456789")
	var st storage.UploadState
	calls := 0
	_, err = s.Put(ctx, root, "a.bin", bytes.NewReader(data), int64(len(data)), storage.PutOptions{OnUploadState: func(u storage.UploadState) error {
		st = u
		if calls++; calls == 3 {
			return io.ErrClosedPipe // saved, then the process dies before the finish
		}
		return nil
	}})
	require.Error(t, err)
	require.Equal(t, int64(10), st.Offset)
	_, ok := srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
	require.False(t, ok)

	e, err := s.ResumeUpload(ctx, st, bytes.NewReader(nil), storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "a.bin", e.Path)
	got, ok := srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
	require.True(t, ok)
	require.Equal(t, data, got)
}

package dropbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/internal/feedtest"
)

const continueRoute = "files/list_folder/continue"

// changedOf returns the live files (paths, sorted) and the deleted paths
// (sorted) of s's changes after cursor, and the next cursor.
func changedOf(t *testing.T, s storage.ChangeFeed, cursor string) (live, gone []string, next string) {
	t.Helper()
	return feedtest.Changes(t, s, cursor, feedtest.ByPath)
}

// TestSharedFolderFeed roots 12 pairs in one Dropbox account: the shared
// feed (one recursive cursor on the account root) reads list_folder/continue
// once per poll whatever the number of pairs, each pair receives exactly
// the changes of its own folder (made concurrently in every folder), a
// move between two pairs' folders reaches both, a pair whose root is
// renamed follows it, and pairs join late or with a cursor of their own.
func TestSharedFolderFeed(t *testing.T) {
	ctx := context.Background()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	const pairs = 12
	root := func(i int) string { return fmt.Sprintf("/Procore/P%02d/Documents", i) }
	for i := range pairs {
		_, err := srv.WebMkdir(dropboxtest.HomeNS, root(i))
		require.NoError(t, err)
	}
	_, err := srv.WebMkdir(dropboxtest.HomeNS, "/Elsewhere")
	require.NoError(t, err)
	c := newClient(t, srv, srv.Token(), nil)
	feed := dropbox.NewFolderFeed(c, "", changefeed.Options{MaxAge: time.Hour})
	stores := make([]*dropbox.Fed, pairs)
	cursors := make([]string, pairs)
	wakes := make([]<-chan struct{}, pairs)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range pairs {
		s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: root(i)})
		require.NoError(t, err)
		stores[i] = s.WithFeed(feed)
		cursors[i], err = stores[i].LatestCursor(ctx)
		require.NoError(t, err)
		wakes[i], err = stores[i].Watch(wctx)
		require.NoError(t, err)
	}
	require.Equal(t, pairs, feed.Subscribers())
	before := srv.Calls(continueRoute)

	// People write into every even folder at once, and outside, while the
	// feed polls.
	var wg sync.WaitGroup
	for i := 0; i < pairs; i += 2 {
		wg.Go(func() {
			for k := range 3 {
				_, _, err := srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("%s/sub/f%d.txt", root(i), k), []byte(fmt.Sprint(i, k)))
				require.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		_, _, err := srv.WebPut(dropboxtest.HomeNS, "/Elsewhere/x.txt", []byte("x"))
		require.NoError(t, err)
	})
	polls := 0
	for range 3 {
		require.NoError(t, feed.Poll(ctx))
		polls++
	}
	wg.Wait()
	require.NoError(t, feed.Poll(ctx))
	polls++
	require.Equal(t, polls, srv.Calls(continueRoute)-before, "one list_folder/continue per poll for the whole account")

	for i := range pairs {
		live, gone, next := changedOf(t, stores[i], cursors[i])
		require.Empty(t, gone, "pair %d", i)
		if i%2 == 0 {
			require.Equal(t, []string{"sub/f0.txt", "sub/f1.txt", "sub/f2.txt"}, live, "pair %d", i)
			require.True(t, feedtest.Signalled(wakes[i]), "pair %d with changes was not woken", i)
		} else {
			require.Empty(t, live, "pair %d", i)
			require.False(t, feedtest.Signalled(wakes[i]), "pair %d without changes was woken", i)
		}
		cursors[i] = next
	}
	require.Equal(t, polls, srv.Calls(continueRoute)-before, "Changes answered from the feed")

	// A file moved from P00 to P01 leaves one pair and enters the other.
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, root(0)+"/sub/f0.txt", root(1)+"/f0.txt"))
	require.NoError(t, feed.Poll(ctx))
	for i := range pairs {
		live, gone, next := changedOf(t, stores[i], cursors[i])
		switch i {
		case 0:
			require.Empty(t, live)
			require.Equal(t, []string{"sub/f0.txt"}, gone)
		case 1:
			require.Equal(t, []string{"f0.txt"}, live)
			require.Empty(t, gone)
		default:
			require.Empty(t, live, "pair %d", i)
			require.Empty(t, gone, "pair %d", i)
		}
		cursors[i] = next
	}

	// A folder replaced by a file of the same name: the deletions (the
	// folder's, and its files' as the fake reports them too) and the file
	// reach the pair, in order.
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, root(2)+"/sub"))
	_, _, err = srv.WebPut(dropboxtest.HomeNS, root(2)+"/sub", []byte("now a file"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	ch, next, err := stores[2].Changes(ctx, cursors[2])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ch), 2)
	last := ch[len(ch)-1]
	require.False(t, last.Deleted)
	require.Equal(t, "sub", last.Entry.Path)
	require.True(t, slices.ContainsFunc(ch[:len(ch)-1], func(c storage.Change) bool { return c.Deleted && c.Entry.Path == "sub" }))
	for _, c := range ch[:len(ch)-1] {
		require.True(t, c.Deleted, "%+v", c)
	}
	cursors[2] = next

	// A pair's root renamed by a person: the pair is told its cursor
	// expired (nothing reported deleted), lists its root where it is now
	// and receives what changes there.
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore/P03/Documents", "/Procore/P03/Docs"))
	require.NoError(t, feed.Poll(ctx))
	_, _, err = stores[3].Changes(ctx, cursors[3])
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	require.NotErrorIs(t, err, storage.ErrNotFound)
	cursors[3], err = stores[3].LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Procore/P03/Docs/after.txt", []byte("a"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, gone, _ := changedOf(t, stores[3], cursors[3])
	require.Equal(t, []string{"after.txt"}, live)
	require.Empty(t, gone)
	for i := range pairs {
		if i != 3 && i != 2 {
			live, gone, _ := changedOf(t, stores[i], cursors[i])
			require.Empty(t, live, "pair %d", i)
			require.Empty(t, gone, "pair %d", i)
		}
	}

	// A pair's root deleted: its error matches storage.ErrNotFound.
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Procore/P05"))
	require.NoError(t, feed.Poll(ctx))
	_, _, err = stores[5].Changes(ctx, cursors[5])
	require.ErrorIs(t, err, storage.ErrNotFound)

	// A pair added later lists in full, then starts on the shared cursor.
	late, err := dropbox.New(ctx, c, dropbox.Options{RootPath: root(4)})
	require.NoError(t, err)
	lateFed := late.WithFeed(feed)
	n := 0
	for e, err := range lateFed.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir {
			n++
		}
	}
	require.Equal(t, 3, n)
	lc, err := lateFed.LatestCursor(ctx)
	require.NoError(t, err)
	head, err := feed.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, head, lc, "the late pair starts on the shared cursor")

	// A cursor the feed never produced (the Storage's own, from before a
	// restart) is read once privately, then the pair continues on the
	// shared cursor.
	own, err := dropbox.New(ctx, c, dropbox.Options{RootPath: root(7)})
	require.NoError(t, err)
	oldCursor, err := own.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, root(7)+"/new.txt", []byte("n"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	ownFed := own.WithFeed(feed)
	live, _, next = changedOf(t, ownFed, oldCursor)
	require.Equal(t, []string{"new.txt"}, live)
	head, err = feed.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, head, next, "after the private read, the shared cursor")
	live, _, _ = changedOf(t, ownFed, next)
	require.Empty(t, live)
}

// TestSharedFolderFeedReset: when Dropbox resets the shared cursor, every
// pair is told (storage.ErrCursorExpired, so it lists again) and the feed
// starts again from now.
func TestSharedFolderFeedReset(t *testing.T) {
	ctx := context.Background()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	_, err := srv.WebMkdir(dropboxtest.HomeNS, "/A")
	require.NoError(t, err)
	c := newClient(t, srv, srv.Token(), nil)
	feed := dropbox.NewFolderFeed(c, "", changefeed.Options{MaxAge: time.Hour})
	s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: "/A"})
	require.NoError(t, err)
	fed := s.WithFeed(feed)
	cur, err := fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/A/x.txt", []byte("x"))
	require.NoError(t, err)
	srv.ResetCursors()
	require.ErrorIs(t, feed.Poll(ctx), storage.ErrCursorExpired)
	_, _, err = fed.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	cur, err = fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/A/y.txt", []byte("y"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, _ := changedOf(t, fed, cur)
	require.Equal(t, []string{"y.txt"}, live)
}

// TestFolderFeedAtAFolder: a feed on a configured folder serves the pairs
// below it, refuses a pair outside it, and follows its folder when a
// person renames it (its cursor expires; the pairs list again and go on
// where the folder is now).
func TestFolderFeedAtAFolder(t *testing.T) {
	ctx := context.Background()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	for _, p := range []string{"/Procore/Tower", "/Procore/Plaza", "/Other"} {
		_, err := srv.WebMkdir(dropboxtest.HomeNS, p)
		require.NoError(t, err)
	}
	c := newClient(t, srv, srv.Token(), nil)
	feed := dropbox.NewFolderFeed(c, "/Procore", changefeed.Options{MaxAge: time.Hour})
	tower, err := dropbox.New(ctx, c, dropbox.Options{RootPath: "/Procore/Tower"})
	require.NoError(t, err)
	tf := tower.WithFeed(feed)
	cur, err := tf.LatestCursor(ctx)
	require.NoError(t, err)

	other, err := dropbox.New(ctx, c, dropbox.Options{RootPath: "/Other"})
	require.NoError(t, err)
	_, err = other.WithFeed(feed).LatestCursor(ctx)
	require.Error(t, err, "a pair outside the feed's folder")

	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Procore/Tower/a.pdf", []byte("a"))
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Procore/Plaza/b.pdf", []byte("b"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, cur := changedOf(t, tf, cur)
	require.Equal(t, []string{"a.pdf"}, live)

	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore", "/Procore (old)"))
	require.ErrorIs(t, feed.Poll(ctx), storage.ErrCursorExpired)
	_, _, err = tf.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	require.NotErrorIs(t, err, storage.ErrNotFound)
	cur, err = tf.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Procore (old)/Tower/c.pdf", []byte("c"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, _ = changedOf(t, tf, cur)
	require.Equal(t, []string{"c.pdf"}, live)
}

// TestFolderFeedLongpoll: the feed run with its one longpoll wakes the
// pair whose folder changed, and only it.
func TestFolderFeedLongpoll(t *testing.T) {
	ctx := context.Background()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{LongpollMax: 200 * time.Millisecond})
	for _, p := range []string{"/A", "/B"} {
		_, err := srv.WebMkdir(dropboxtest.HomeNS, p)
		require.NoError(t, err)
	}
	c := newClient(t, srv, srv.Token(), nil)
	feed := dropbox.NewFolderFeed(c, "", changefeed.Options{MaxAge: time.Hour})
	rctx, cancel := context.WithCancel(ctx)
	var ws []<-chan struct{}
	for _, p := range []string{"/A", "/B"} {
		s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: p})
		require.NoError(t, err)
		w, err := s.WithFeed(feed).Watch(rctx)
		require.NoError(t, err)
		ws = append(ws, w)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feed.Longpoll(rctx, 30)
	}()
	defer func() { cancel(); <-done }()
	_, _, err := srv.WebPut(dropboxtest.HomeNS, "/B/b.txt", []byte("b"))
	require.NoError(t, err)
	select {
	case <-ws[1]:
	case <-time.After(20 * time.Second):
		t.Fatal("the pair whose folder changed was not woken")
	}
	require.False(t, feedtest.Signalled(ws[0]), "the other pair was woken")
}

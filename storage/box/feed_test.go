package box_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/internal/feedtest"
)

// changed returns the live files (paths, sorted) and the deleted IDs
// (sorted) of s's changes after cursor, and the next cursor.
func changed(t *testing.T, s storage.ChangeFeed, cursor string) (live, gone []string, next string) {
	t.Helper()
	return feedtest.Changes(t, s, cursor, feedtest.ByID)
}

// TestSharedEventsFeed roots 12 pairs in one Box account: the shared feed
// reads the events stream once per poll whatever the number of pairs,
// each pair receives exactly the changes of its own folder (made
// concurrently in every folder), a move between two pairs' folders
// reaches both (also of an item the feed never saw before), a trashed
// folder takes what it held, and pairs join late or with a cursor of
// their own.
func TestSharedEventsFeed(t *testing.T) {
	e := newEnv(t, boxtest.Options{})
	const pairs = 12
	root := func(i int) string { return fmt.Sprintf("Procore/P%02d/Documents", i) }
	for i := range pairs {
		_, err := e.srv.WebMkdir(root(i))
		require.NoError(t, err)
	}
	// A file there before the feed starts: the feed has never seen it.
	old, err := e.srv.WebUpload(root(5)+"/old.txt", []byte("old"))
	require.NoError(t, err)
	_, err = e.srv.WebMkdir("Elsewhere")
	require.NoError(t, err)

	feed := box.NewEventsFeed(e.c, changefeed.Options{MaxAge: time.Hour})
	stores := make([]*box.Fed, pairs)
	cursors := make([]string, pairs)
	wakes := make([]<-chan struct{}, pairs)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range pairs {
		s, err := box.New(ctx, e.c, box.Options{RootPath: root(i)})
		require.NoError(t, err)
		stores[i] = s.WithFeed(feed)
		cursors[i], err = stores[i].LatestCursor(ctx)
		require.NoError(t, err)
		wakes[i], err = stores[i].Watch(wctx)
		require.NoError(t, err)
	}
	require.Equal(t, pairs, feed.Subscribers())
	e.srv.ResetCalls()

	// People upload into every even folder at once, and outside, while
	// the feed polls.
	var wg sync.WaitGroup
	for i := 0; i < pairs; i += 2 {
		wg.Go(func() {
			for k := range 3 {
				_, err := e.srv.WebUpload(fmt.Sprintf("%s/sub/f%d.txt", root(i), k), []byte(fmt.Sprint(i, k)))
				require.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		_, err := e.srv.WebUpload("Elsewhere/x.txt", []byte("x"))
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
	require.Equal(t, polls, feed.Polls())
	read := e.srv.CallCount("get_events")

	for i := range pairs {
		live, gone, next := changed(t, stores[i], cursors[i])
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
	require.Equal(t, read, e.srv.CallCount("get_events"), "Changes answered from the feed")

	// One change in every folder, one poll: one read of the stream (a
	// page of events and the page that says there are no more), the
	// same for 12 pairs as for one.
	for i := range pairs {
		_, err := e.srv.WebUpload(root(i)+"/one.txt", []byte("1"))
		require.NoError(t, err)
	}
	e.srv.ResetCalls()
	require.NoError(t, feed.Poll(ctx))
	require.Equal(t, 2, e.srv.CallCount("get_events"))
	for i := range pairs {
		live, gone, next := changed(t, stores[i], cursors[i])
		require.Equal(t, []string{"one.txt"}, live, "pair %d", i)
		require.Empty(t, gone)
		cursors[i] = next
	}
	require.Equal(t, 2, e.srv.CallCount("get_events"))
	require.Empty(t, e.srv.CallCount("get_folders_id"), "no parent looked up: events carry their path_collection")

	// A file moved from P00 to P01 leaves one pair and enters the other;
	// so does a file the feed never saw, moved from P05 to P06.
	f0, ok := e.srv.Lookup(root(0) + "/sub/f0.txt")
	require.True(t, ok)
	p1, _ := e.srv.Lookup(root(1))
	p6, _ := e.srv.Lookup(root(6))
	require.NoError(t, e.srv.WebMove(f0, p1, ""))
	require.NoError(t, e.srv.WebMove(old, p6, ""))
	for _, w := range wakes {
		feedtest.Signalled(w) // drain
	}
	require.NoError(t, feed.Poll(ctx))
	for i := range pairs {
		live, gone, next := changed(t, stores[i], cursors[i])
		if i != 5 && i != 6 {
			// An item moved from a place the feed never saw reaches
			// every pair, which reports it gone (it is not below the
			// root): an ID the pair does not know, ignored.
			gone = slices.DeleteFunc(gone, func(id string) bool { return id == old })
		}
		switch i {
		case 0:
			require.Empty(t, live)
			require.Equal(t, []string{f0}, gone)
		case 1:
			require.Equal(t, []string{"f0.txt"}, live)
			require.Empty(t, gone)
		case 5:
			require.Empty(t, live)
			require.Equal(t, []string{old}, gone, "a move out of a folder the feed never saw")
		case 6:
			require.Equal(t, []string{"old.txt"}, live)
			require.Empty(t, gone)
		default:
			require.Empty(t, live, "pair %d", i)
			require.Empty(t, gone, "pair %d", i)
		}
		cursors[i] = next
		if i == 0 || i == 1 || i == 6 {
			require.True(t, feedtest.Signalled(wakes[i]), "pair %d", i)
		}
	}

	// A folder trashed in P02 takes its files with it.
	sub2, _ := e.srv.Lookup(root(2) + "/sub")
	var kids []string
	for k := range 3 {
		id, _ := e.srv.Lookup(fmt.Sprintf("%s/sub/f%d.txt", root(2), k))
		kids = append(kids, id)
	}
	require.NoError(t, e.srv.WebTrash(sub2))
	require.NoError(t, feed.Poll(ctx))
	live, gone, next := changed(t, stores[2], cursors[2])
	require.Empty(t, live)
	want := append([]string{sub2}, kids...)
	slices.Sort(want)
	require.Equal(t, want, gone)
	cursors[2] = next
	for i := range pairs {
		if i != 2 {
			live, gone, _ := changed(t, stores[i], cursors[i])
			require.Empty(t, live, "pair %d", i)
			require.Empty(t, gone, "pair %d", i)
		}
	}

	// A pair added later lists in full, then starts on the shared cursor.
	late, err := box.New(ctx, e.c, box.Options{RootPath: root(4)})
	require.NoError(t, err)
	lateFed := late.WithFeed(feed)
	n := 0
	for en, err := range lateFed.List(ctx) {
		require.NoError(t, err)
		if !en.IsDir {
			n++
		}
	}
	require.Equal(t, 4, n)
	lc, err := lateFed.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = e.srv.WebUpload(root(4)+"/late.txt", []byte("l"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, _ = changed(t, lateFed, lc)
	require.Equal(t, []string{"late.txt"}, live)

	// A cursor the feed never produced (saved before a restart by a
	// Storage reading the stream on its own) is read once privately,
	// then the pair continues on the shared cursor.
	own, err := box.New(ctx, e.c, box.Options{RootPath: root(3)})
	require.NoError(t, err)
	oldCursor, err := own.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = e.srv.WebUpload(root(3)+"/new.txt", []byte("n"))
	require.NoError(t, err)
	_, err = e.srv.WebUpload(root(7)+"/other.txt", []byte("o"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	ownFed := own.WithFeed(feed)
	live, _, next = changed(t, ownFed, oldCursor)
	require.Equal(t, []string{"new.txt"}, live)
	live, _, _ = changed(t, ownFed, next)
	require.Empty(t, live)
	head, err := lateFed.LatestCursor(ctx)
	require.NoError(t, err)
	require.Equal(t, streamPos(t, head), streamPos(t, next), "after the private read, the shared cursor")
}

// streamPos returns the stream position inside a Box cursor.
func streamPos(t *testing.T, cursor string) string {
	t.Helper()
	var c struct {
		P string `json:"p"`
	}
	b, ok := strings.CutPrefix(cursor, "box1:")
	require.True(t, ok, cursor)
	require.NoError(t, json.Unmarshal([]byte(b), &c))
	return c.P
}

// TestSharedEventsFeedExpired: when the shared stream position expires,
// every pair is told (storage.ErrCursorExpired, so it lists again) and
// the feed starts again from now.
func TestSharedEventsFeedExpired(t *testing.T) {
	e := newEnv(t, boxtest.Options{})
	_, err := e.srv.WebMkdir("A")
	require.NoError(t, err)
	feed := box.NewEventsFeed(e.c, changefeed.Options{MaxAge: time.Hour})
	s, err := box.New(ctx, e.c, box.Options{RootPath: "A"})
	require.NoError(t, err)
	fed := s.WithFeed(feed)
	cur, err := fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = e.srv.WebUpload("A/x.txt", []byte("x"))
	require.NoError(t, err)
	e.srv.ExpireEvents()
	require.ErrorIs(t, feed.Poll(ctx), storage.ErrCursorExpired)
	_, _, err = fed.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	cur, err = fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = e.srv.WebUpload("A/y.txt", []byte("y"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, _ := changed(t, fed, cur)
	require.Equal(t, []string{"y.txt"}, live)
}

// TestEventsFeedLongPoll: the feed run with the user's one long poll
// (Client.WatchEvents) wakes the pair whose folder changed, and only it.
func TestEventsFeedLongPoll(t *testing.T) {
	e := newEnv(t, boxtest.Options{LongPollTimeout: 200 * time.Millisecond})
	for _, p := range []string{"A", "B"} {
		_, err := e.srv.WebMkdir(p)
		require.NoError(t, err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := box.NewEventsFeed(e.c, changefeed.Options{MaxAge: time.Hour})
	var ws []<-chan struct{}
	for _, p := range []string{"A", "B"} {
		s, err := box.New(ctx, e.c, box.Options{RootPath: p})
		require.NoError(t, err)
		w, err := s.WithFeed(feed).Watch(rctx)
		require.NoError(t, err)
		ws = append(ws, w)
	}
	_, err := feed.Head(ctx)
	require.NoError(t, err)
	trigger, err := e.c.WatchEvents(rctx)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feed.Run(rctx, trigger)
	}()
	defer func() { cancel(); <-done }()
	_, err = e.srv.WebUpload("B/b.txt", []byte("b"))
	require.NoError(t, err)
	select {
	case <-ws[1]:
	case <-time.After(20 * time.Second):
		t.Fatal("the pair whose folder changed was not woken")
	}
	require.False(t, feedtest.Signalled(ws[0]), "the other pair was woken")
}

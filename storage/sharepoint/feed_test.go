package sharepoint_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/feedtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
)

func deltaCalls(srv *graphtest.Server) int {
	n := 0
	for op, c := range srv.Calls() {
		if strings.HasPrefix(op, "drives.RootDelta") {
			n += c
		}
	}
	return n
}

func changedPaths(t *testing.T, s storage.ChangeFeed, cursor string) ([]string, []string, string) {
	t.Helper()
	return feedtest.Changes(t, s, cursor, feedtest.ByID)
}

// TestSharedDriveFeed roots many pairs in one library: the shared feed runs
// one delta query per poll, and each pair receives exactly the changes of
// its own folder, made concurrently in every folder.
func TestSharedDriveFeed(t *testing.T) {
	ctx := context.Background()
	srv, _, lib := newProjects(t)
	const pairs = 24
	for i := range pairs {
		_, err := srv.WebMkdir(lib, fmt.Sprintf("Procore/P%02d/Documents", i))
		require.NoError(t, err)
	}
	_, err := srv.WebMkdir(lib, "Elsewhere")
	require.NoError(t, err)
	c := newClient(t, srv)
	feed := msgraph.NewDriveFeed(c, lib, changefeed.Options{MaxAge: time.Hour})
	stores := make([]*sharepoint.Fed, pairs)
	cursors := make([]string, pairs)
	wakes := make([]<-chan struct{}, pairs)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range pairs {
		s, err := sharepoint.New(ctx, c, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
			Library: "Project Files", RootPath: fmt.Sprintf("Procore/P%02d/Documents", i)})
		require.NoError(t, err)
		stores[i] = s.WithFeed(feed)
		cursors[i], err = stores[i].LatestCursor(ctx)
		require.NoError(t, err)
		wakes[i], err = stores[i].Watch(wctx)
		require.NoError(t, err)
	}
	require.Equal(t, pairs, feed.Subscribers())
	srv.ResetCalls()

	// People add files in every even folder at once, and outside, while
	// the feed polls.
	var wg sync.WaitGroup
	for i := 0; i < pairs; i += 2 {
		wg.Go(func() {
			for k := range 3 {
				_, err := srv.WebUpload(lib, fmt.Sprintf("Procore/P%02d/Documents/sub/f%d.txt", i, k), []byte(fmt.Sprint(i, k)))
				require.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		_, err := srv.WebUpload(lib, "Elsewhere/x.txt", []byte("x"))
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
	require.Equal(t, polls, deltaCalls(srv), "one delta call per poll for the whole library")

	for i := range pairs {
		live, gone, next := changedPaths(t, stores[i], cursors[i])
		require.Empty(t, gone)
		if i%2 == 0 {
			require.Equal(t, []string{"sub/f0.txt", "sub/f1.txt", "sub/f2.txt"}, live, "pair %d", i)
			select {
			case <-wakes[i]:
			default:
				t.Fatalf("pair %d with changes was not woken", i)
			}
		} else {
			require.Empty(t, live, "pair %d", i)
			select {
			case <-wakes[i]:
				t.Fatalf("pair %d without changes was woken", i)
			default:
			}
		}
		cursors[i] = next
	}
	require.Equal(t, polls, deltaCalls(srv), "Changes answered from the feed")

	// A file moved from P00 to P01 leaves one pair and enters the other.
	moved, err := srv.WebMove(lib, "Procore/P00/Documents/sub/f0.txt", "Procore/P01/Documents")
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, gone, next := changedPaths(t, stores[0], cursors[0])
	require.Empty(t, live)
	require.Equal(t, []string{moved.ID}, gone)
	cursors[0] = next
	live, gone, next = changedPaths(t, stores[1], cursors[1])
	require.Equal(t, []string{"f0.txt"}, live)
	require.Empty(t, gone)
	cursors[1] = next
	for i := 2; i < pairs; i++ {
		live, gone, _ := changedPaths(t, stores[i], cursors[i])
		require.Empty(t, live, "pair %d", i)
		require.Empty(t, gone, "pair %d", i)
	}

	// A pair added later lists in full, then joins the shared cursor.
	late, err := sharepoint.New(ctx, c, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		Library: "Project Files", RootPath: "Procore/P02/Documents"})
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
	require.Equal(t, cursors[1], lc, "the late pair starts on the shared cursor")

	// A cursor the feed never produced (saved before a restart, by a
	// storage that ran its own delta) is read once privately, then the
	// pair continues on the shared cursor.
	own, err := sharepoint.New(ctx, c, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		Library: "Project Files", RootPath: "Procore/P03/Documents"})
	require.NoError(t, err)
	oldCursor, err := own.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = srv.WebUpload(lib, "Procore/P03/Documents/new.txt", []byte("n"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	ownFed := own.WithFeed(feed)
	live, _, next = changedPaths(t, ownFed, oldCursor)
	require.Equal(t, []string{"new.txt"}, live)
	head, err := lateFed.LatestCursor(ctx)
	require.NoError(t, err)
	require.Equal(t, head, next, "after the private read, the shared cursor")
	live, _, _ = changedPaths(t, ownFed, next)
	require.Empty(t, live)
}

// TestSharedDriveFeedExpired: when the shared cursor expires, every pair
// is told (storage.ErrCursorExpired, so it lists again) and the feed
// starts again from "now".
func TestSharedDriveFeedExpired(t *testing.T) {
	ctx := context.Background()
	srv, _, lib := newProjects(t)
	_, err := srv.WebMkdir(lib, "A")
	require.NoError(t, err)
	c := newClient(t, srv)
	feed := msgraph.NewDriveFeed(c, lib, changefeed.Options{MaxAge: time.Hour})
	s, err := sharepoint.New(ctx, c, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		Library: "Project Files", RootPath: "A"})
	require.NoError(t, err)
	fed := s.WithFeed(feed)
	cur, err := fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = srv.WebUpload(lib, "A/x.txt", []byte("x"))
	require.NoError(t, err)
	srv.ExpireDeltaTokens(lib)
	require.ErrorIs(t, feed.Poll(ctx), storage.ErrCursorExpired)
	_, _, err = fed.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	cur, err = fed.LatestCursor(ctx)
	require.NoError(t, err)
	_, err = srv.WebUpload(lib, "A/y.txt", []byte("y"))
	require.NoError(t, err)
	require.NoError(t, feed.Poll(ctx))
	live, _, _ := changedPaths(t, fed, cur)
	require.Equal(t, []string{"y.txt"}, live)
}

package changefeed_test

import (
	"context"
	"path"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/changefeed"
)

// pathSource is a change stream addressed by path, as Dropbox's
// list_folder cursors are: an entry's ID is its lower-cased path and its
// parent is the directory, known without a call.
type pathSource struct {
	mu    sync.Mutex
	log   []entry // every change, in order; a cursor is an index into it
	polls int
}

type entry struct {
	path    string
	deleted bool
}

func (s *pathSource) change(p string, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, entry{p, deleted})
}

func (s *pathSource) Latest(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.Itoa(len(s.log)), nil
}

func (s *pathSource) Poll(_ context.Context, cursor string) ([]entry, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls++
	i, err := strconv.Atoi(cursor)
	if err != nil || i > len(s.log) {
		return nil, "", err
	}
	return slices.Clone(s.log[i:]), strconv.Itoa(len(s.log)), nil
}

func (*pathSource) Key(e entry) (string, string, bool) {
	return e.path, parentOf(e.path), e.deleted
}

func (*pathSource) Parent(_ context.Context, id string) (string, error) { return parentOf(id), nil }

func parentOf(p string) string {
	if p == "/" {
		return ""
	}
	return path.Dir(p)
}

func paths(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.path)
	}
	slices.Sort(out)
	return out
}

// TestFanOut: one poll per Poll whatever the number of subscribers; each
// subscriber gets the changes below its root, from its own cursor, and only
// subscribers with changes are woken.
func TestFanOut(t *testing.T) {
	ctx := context.Background()
	src := &pathSource{}
	f := changefeed.New[entry](src, changefeed.Options{MaxAge: 1 << 62})
	roots := []string{"/a", "/b", "/c/d"}
	subs := map[string]*changefeed.Sub[entry]{}
	cursors := map[string]string{}
	wakes := map[string]<-chan struct{}{}
	for _, r := range roots {
		subs[r] = f.Subscribe(r)
		c, err := subs[r].Latest(ctx)
		require.NoError(t, err)
		cursors[r] = c
		wakes[r] = subs[r].Watch(ctx)
	}
	src.change("/a/1", false)
	src.change("/c/d/e/2", false)
	src.change("/c/x", false)
	require.NoError(t, f.Poll(ctx))
	src.change("/a/1", true)
	src.change("/ab/3", false) // a sibling whose name starts like /a
	require.NoError(t, f.Poll(ctx))
	require.Equal(t, 2, src.polls)
	require.Equal(t, 2, f.Polls())

	want := map[string][]string{"/a": {"/a/1"}, "/b": nil, "/c/d": {"/c/d/e/2"}}
	for _, r := range roots {
		got, next, err := subs[r].Changes(ctx, cursors[r])
		require.NoError(t, err)
		require.Equal(t, want[r], paths(got), r)
		if len(want[r]) > 0 {
			require.Len(t, wakes[r], 1, r)
		} else {
			require.Empty(t, wakes[r], r)
		}
		got, _, err = subs[r].Changes(ctx, next)
		require.NoError(t, err)
		require.Empty(t, got)
	}
	got, _, err := subs["/a"].Changes(ctx, cursors["/a"])
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, got[0].deleted, "the last report wins")
	require.Equal(t, 2, src.polls, "Changes answered from the feed")

	// A closed subscriber is no longer woken.
	subs["/b"].Close()
	src.change("/b/x", false)
	require.NoError(t, f.Poll(ctx))
	require.Empty(t, wakes["/b"])
	require.Equal(t, 2, f.Subscribers())
}

// TestConcurrentChanges: changes made while subscribers poll and read
// reach exactly their subscriber, none missed.
func TestConcurrentChanges(t *testing.T) {
	ctx := context.Background()
	src := &pathSource{}
	f := changefeed.New[entry](src, changefeed.Options{MaxAge: 1, MaxItems: 50})
	const n, per = 8, 200
	var wg sync.WaitGroup
	seen := make([]map[string]bool, n)
	for i := range n {
		root := "/p" + strconv.Itoa(i)
		sub := f.Subscribe(root)
		cur, err := sub.Latest(ctx)
		require.NoError(t, err)
		seen[i] = map[string]bool{}
		wg.Go(func() {
			for k := range per {
				src.change(root+"/f"+strconv.Itoa(k), false)
				got, next, err := sub.Changes(ctx, cur)
				require.NoError(t, err)
				for _, e := range got {
					if path.Dir(e.path) == root {
						seen[i][e.path] = true
					} else {
						require.Fail(t, "another pair's change", e.path) // private reads are filtered by the caller
					}
				}
				cur = next
			}
			got, _, err := sub.Changes(ctx, cur)
			require.NoError(t, err)
			for _, e := range got {
				seen[i][e.path] = true
			}
		})
	}
	wg.Wait()
	for i := range n {
		require.Len(t, seen[i], per, "pair %d", i)
	}
}

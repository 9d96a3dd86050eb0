package changefeed_test

import (
	"context"
	"errors"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// event is an item of an event stream (as Box's): its own ID, the item it
// is about, the item's parent now, whether it was trashed and whether it
// is a move (which does not say where the item was).
type event struct {
	id, item, parent string
	trashed, move    bool
}

// eventSource is a stream of events with the optional Identifier and
// Mover interfaces, its parents known from a map (as from Box's
// path_collections).
type eventSource struct {
	mu      sync.Mutex
	log     []event
	parents map[string]string
	polls   int
}

func (s *eventSource) add(e event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
	if !e.trashed {
		s.parents[e.item] = e.parent
	}
}

func (s *eventSource) Latest(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.Itoa(len(s.log)), nil
}

func (s *eventSource) Poll(_ context.Context, cursor string) ([]event, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.polls++
	i, err := strconv.Atoi(cursor)
	if err != nil || i > len(s.log) {
		return nil, "", err
	}
	from := max(i-1, 0) // the last event again, as Box may send it
	return slices.Clone(s.log[from:]), strconv.Itoa(len(s.log)), nil
}

func (*eventSource) Key(e event) (string, string, bool) { return e.item, e.parent, e.trashed }
func (*eventSource) Identity(e event) string            { return e.id }
func (*eventSource) Moved(e event) bool                 { return e.move }

func (s *eventSource) Parent(_ context.Context, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.parents[id]
	if !ok {
		return "", errors.New("unknown")
	}
	return p, nil
}

func eventIDs(es []event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.id)
	}
	return out
}

// TestEventStream: with an Identifier source, every event of an item is
// kept in order (a creation and the trash that follows), an event sent
// twice is kept once; with a Mover source, a move of an item the feed
// never saw reaches every subscriber (it may have left any) and wakes only
// the one it entered, while a move of an item the feed saw reaches the
// two subscribers concerned only.
func TestEventStream(t *testing.T) {
	ctx := context.Background()
	src := &eventSource{parents: map[string]string{"A": "root", "B": "root", "C": "root", "root": ""}}
	f := changefeed.New[event](src, changefeed.Options{MaxAge: 1 << 62})
	subs := map[string]*changefeed.Sub[event]{}
	cursors := map[string]string{}
	wakes := map[string]<-chan struct{}{}
	for _, r := range []string{"A", "B", "C"} {
		subs[r] = f.Subscribe(r)
		c, err := subs[r].Latest(ctx)
		require.NoError(t, err)
		cursors[r] = c
		wakes[r] = subs[r].Watch(ctx)
	}
	src.add(event{id: "e1", item: "x", parent: "A"})
	src.add(event{id: "e2", item: "x", parent: "A", trashed: true})
	require.NoError(t, f.Poll(ctx))
	src.add(event{id: "e3", item: "y", parent: "A"})
	require.NoError(t, f.Poll(ctx)) // reads e2 again
	got, next, err := subs["A"].Changes(ctx, cursors["A"])
	require.NoError(t, err)
	require.Equal(t, []string{"e1", "e2", "e3"}, eventIDs(got))
	cursors["A"] = next
	for _, r := range []string{"B", "C"} {
		got, next, err := subs[r].Changes(ctx, cursors[r])
		require.NoError(t, err)
		require.Empty(t, got, r)
		cursors[r] = next
		require.Empty(t, wakes[r], r)
	}
	<-wakes["A"]

	// y, seen in A, moves to B: A and B get it, C does not.
	src.add(event{id: "e4", item: "y", parent: "B", move: true})
	// z, never seen, moves to B: everyone gets it, only B is woken.
	src.add(event{id: "e5", item: "z", parent: "B", move: true})
	require.NoError(t, f.Poll(ctx))
	// (e3 again: the source sent it twice, once per poll, and the
	// subscriber's cursor says it was the last it saw. An item's events in
	// a batch are routed by where it was before the batch and where it is
	// after it, so B receives e3 too and applies it before e4.)
	want := map[string][]string{"A": {"e3", "e4", "e5"}, "B": {"e3", "e4", "e5"}, "C": {"e5"}}
	for _, r := range []string{"A", "B", "C"} {
		got, _, err := subs[r].Changes(ctx, cursors[r])
		require.NoError(t, err)
		require.Equal(t, want[r], eventIDs(got), r)
	}
	require.Len(t, wakes["A"], 1, "y left A")
	require.Len(t, wakes["B"], 1)
	require.Empty(t, wakes["C"])
}

// Concerns routes the deletion of a path at or above root to root.
func (*routedSource) Concerns(e entry, root string) bool {
	return e.deleted && (root == e.path || strings.HasPrefix(root, e.path+"/"))
}

type routedSource struct{ pathSource }

// TestRouter: a Router source's Concerns reaches and wakes subscribers the
// parent chain does not (the deletion of a folder above a subscriber's
// root), and no other.
func TestRouter(t *testing.T) {
	ctx := context.Background()
	src := &routedSource{}
	f := changefeed.New[entry](src, changefeed.Options{MaxAge: 1 << 62})
	a, b := f.Subscribe("/p/a"), f.Subscribe("/q/b")
	ca, err := a.Latest(ctx)
	require.NoError(t, err)
	cb, err := b.Latest(ctx)
	require.NoError(t, err)
	wa, wb := a.Watch(ctx), b.Watch(ctx)
	src.change("/p", true)
	require.NoError(t, f.Poll(ctx))
	got, _, err := a.Changes(ctx, ca)
	require.NoError(t, err)
	require.Equal(t, []string{"/p"}, paths(got))
	require.Len(t, wa, 1)
	got, _, err = b.Changes(ctx, cb)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, wb)
}

// blockingSource is a pathSource whose next Poll waits for release after
// it has taken its snapshot.
type blockingSource struct {
	pathSource
	reading, release chan struct{}
}

func (s *blockingSource) Poll(ctx context.Context, cursor string) ([]entry, string, error) {
	items, next, err := s.pathSource.Poll(ctx, cursor)
	if s.reading != nil {
		close(s.reading)
		s.reading = nil
		<-s.release
	}
	return items, next, err
}

// TestPollAfterAReadInProgress: a change made while another caller's poll
// is reading, then a Poll: that Poll reads again once the other ends, so
// the change is not missed.
func TestPollAfterAReadInProgress(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	tick := time.Unix(0, 0)
	calls := 0
	clock := func() time.Time { // strictly increasing
		mu.Lock()
		defer mu.Unlock()
		calls++
		tick = tick.Add(time.Nanosecond)
		return tick
	}
	clockCalls := func() int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
	src := &blockingSource{}
	f := changefeed.New[entry](src, changefeed.Options{MaxAge: 1 << 62, Clock: clock})
	sub := f.Subscribe("/a")
	cur, err := sub.Latest(ctx)
	require.NoError(t, err)
	src.reading, src.release = make(chan struct{}), make(chan struct{})
	reading := src.reading
	first := make(chan error, 1)
	go func() { first <- f.Poll(ctx) }()
	<-reading // the first poll has read the (empty) log
	src.change("/a/late.txt", false)
	base := clockCalls()
	second := make(chan error, 1)
	go func() { second <- f.Poll(ctx) }()
	for clockCalls() == base { // until the second has asked (the first is blocked)
		runtime.Gosched()
	}
	close(src.release)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	got, _, err := sub.Changes(ctx, cur)
	require.NoError(t, err)
	require.Equal(t, []string{"/a/late.txt"}, paths(got))
}

// Package changefeed shares one change stream of a storage service among
// many subscribers rooted in it.
//
// A drive's delta query (Microsoft Graph), an enterprise's events stream
// (Box) or a namespace's list_folder cursor (Dropbox) report every change of
// a whole drive, however many sync pairs are rooted in it. Run separately for
// each pair, the same changes are read once per pair. A Feed reads them once
// (one Source.Poll per poll, whatever the number of subscribers), routes each
// changed item to the subscribers whose root folder contains it (where it
// is now, or where it was before the change), and wakes only those.
//
// A subscriber's cursor is the source's own cursor (e.g. a Graph delta
// link): a cursor the feed produced is served from the feed's retained
// batches; any other cursor (from before a restart, or older than what the
// feed retains) is read privately once from the source, after which the
// subscriber continues on the shared cursor. So a subscriber never misses a
// change and the source's cursor semantics (expiry included) are kept.
package changefeed

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/storage"
)

// Source is one change stream of a storage service.
//
// Items are routed by their parent chain: Key gives an item's ID and its
// parent's ID; Parent resolves the parent of an ID the feed has not seen
// (one call, cached). Sources addressed by path instead of ID (Dropbox)
// use the lower-cased path as ID and its directory as parent, and answer
// Parent without a call.
type Source[T any] interface {
	// Latest returns a cursor for "now": Poll with it reports only what
	// changes after this call.
	Latest(ctx context.Context) (string, error)
	// Poll returns every item changed after cursor (the last report of
	// each ID wins; an Identifier source returns its events in order) and
	// the cursor to use next time. A cursor the service
	// no longer honours gives an error matching storage.ErrCursorExpired.
	Poll(ctx context.Context, cursor string) ([]T, string, error)
	// Key returns the item's ID, its parent's ID ("" when the item is a
	// root or the source does not say) and whether it was deleted.
	Key(item T) (id, parent string, deleted bool)
	// Parent returns the ID of the parent of item id as it is now ("" for
	// a drive's root), or an error when the item cannot be read (deleted).
	Parent(ctx context.Context, id string) (string, error)
}

// Identifier is an optional interface of a Source whose items are events
// rather than states (Box's events stream): each event is kept in its
// place, in order, instead of the last report of an ID replacing the
// earlier ones, so that the subscriber replays them as the service sent
// them. Identity is the event's own ID: the same event delivered twice
// (as Box may) is kept once.
type Identifier[T any] interface {
	Identity(item T) string
}

// Mover is an optional interface of a Source whose items may report a
// move without saying where the item was (Box's ITEM_MOVE names only the
// new parent). An item for which Moved is true and whose former place the
// feed has never seen is given to every subscriber (it may have left any
// of them); it wakes only those it is below now.
type Mover[T any] interface {
	Moved(item T) bool
}

// Router is an optional interface of a Source whose items concern
// subscribers their parent chain does not reach: Concerns reports whether
// item also concerns the subscriber rooted at root (e.g. Dropbox's
// deletion of a folder at or above root, which takes the root with it).
// Such an item is given to that subscriber and wakes it.
type Router[T any] interface {
	Concerns(item T, root string) bool
}

// Options tune a Feed.
type Options struct {
	// MaxAge is how old the last poll may be for Changes to answer from
	// it without polling the source again (default 1 minute). Run polls
	// on every trigger, so while change notifications arrive the feed is
	// always fresh; MaxAge bounds the staleness seen by a subscriber
	// that asks without having been woken.
	MaxAge time.Duration
	// PollInterval is how often Run polls without a trigger: the safety
	// net when notifications are lost (default 5 minutes).
	PollInterval time.Duration
	// MaxItems bounds the changed items the feed retains for subscribers
	// that have not asked yet (default 100,000); a subscriber further
	// behind reads the source privately once.
	MaxItems int
	// Clock returns the time (default time.Now).
	Clock func() time.Time
}

// Feed is one shared change stream. Its methods are safe for concurrent
// use.
type Feed[T any] struct {
	src  Source[T]
	opts Options

	pollMu sync.Mutex // one poll at a time

	mu       sync.Mutex
	head     string            // the cursor after the last batch ("" before the first poll)
	started  bool              // head is set
	batches  []*batch[T]       // retained batches, oldest first
	at       map[string]int    // cursor -> index of the batch that starts there
	retained int               // items in batches
	lastPoll time.Time         // when the last poll ended
	lastRead time.Time         // when the last poll began reading
	parents  map[string]string // item ID -> parent ID, for routing
	subs     map[*Sub[T]]struct{}
	polls    int
}

// batch is what one poll read: the items and, for each, the IDs of its
// ancestors before and after the change (nil: unknown).
type batch[T any] struct {
	from, to string
	items    []T
	anc      [][]string
	unknown  []bool // the item's ancestry could not be resolved: every subscriber gets it
}

// New returns a Feed over src.
func New[T any](src Source[T], opts Options) *Feed[T] {
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Minute
	}
	if opts.MaxItems <= 0 {
		opts.MaxItems = 100_000
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Feed[T]{src: src, opts: opts, at: map[string]int{}, parents: map[string]string{}, subs: map[*Sub[T]]struct{}{}}
}

// Sub is one subscriber: everything changed below its root folder.
type Sub[T any] struct {
	f      *Feed[T]
	root   string
	wake   wake.Broadcaster
	closed bool
}

// Subscribe returns a subscriber for the items below folder rootID.
func (f *Feed[T]) Subscribe(rootID string) *Sub[T] {
	s := &Sub[T]{f: f, root: rootID}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Close ends the subscription: its watchers are no longer woken.
func (s *Sub[T]) Close() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	delete(s.f.subs, s)
	s.closed = true
}

// Root returns the subscriber's root folder ID.
func (s *Sub[T]) Root() string { return s.root }

// Watch returns a channel that receives a value (coalesced) whenever a
// poll found a change below the subscriber's root; it is closed when ctx
// is done.
func (s *Sub[T]) Watch(ctx context.Context) <-chan struct{} { return s.wake.Watch(ctx) }

// Polls returns how many times the feed polled its source.
func (f *Feed[T]) Polls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

// Subscribers returns the number of open subscriptions.
func (f *Feed[T]) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// Latest returns the shared cursor for "now" (starting the feed at the
// source's latest cursor on first use): Changes with it reports what
// changes afterwards.
func (s *Sub[T]) Latest(ctx context.Context) (string, error) {
	if err := s.f.start(ctx); err != nil {
		return "", err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.f.head, nil
}

// Head returns the feed's shared cursor: where its next poll reads from
// (the source's latest cursor on first use). A trigger that long-polls
// the source (Dropbox's list_folder/longpoll) waits on it.
func (f *Feed[T]) Head(ctx context.Context) (string, error) {
	if err := f.start(ctx); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.head, nil
}

// start sets the head from the source's latest cursor once.
func (f *Feed[T]) start(ctx context.Context) error {
	f.mu.Lock()
	started := f.started
	f.mu.Unlock()
	if started {
		return nil
	}
	f.pollMu.Lock()
	defer f.pollMu.Unlock()
	f.mu.Lock()
	started = f.started
	f.mu.Unlock()
	if started {
		return nil
	}
	c, err := f.src.Latest(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.head, f.started, f.lastPoll = c, true, f.opts.Clock()
	f.mu.Unlock()
	return nil
}

// adopt makes cursor the feed's starting point when the feed has not
// started: after a restart, subscribers that stopped at the same shared
// cursor continue on it together.
func (f *Feed[T]) adopt(cursor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		f.head, f.started, f.lastPoll, f.lastRead = cursor, true, time.Time{}, time.Time{} // read from it before answering
	}
}

// Changes returns the items changed below the subscriber's root after
// cursor and the cursor to use next. The source is polled first when the
// last poll is older than Options.MaxAge. A cursor the feed did not produce
// (or no longer retains) is read from the source privately; its items are
// kept where they are, were or might be below the root (the caller still
// checks each against its root) and the next cursor is the shared one.
func (s *Sub[T]) Changes(ctx context.Context, cursor string) ([]T, string, error) {
	f := s.f
	if cursor == "" {
		return nil, "", errors.New("changefeed: empty cursor")
	}
	f.adopt(cursor)
	f.mu.Lock()
	stale := f.opts.Clock().Sub(f.lastPoll) >= f.opts.MaxAge
	f.mu.Unlock()
	if stale {
		if err := f.Poll(ctx); err != nil {
			return nil, "", err
		}
	}
	f.mu.Lock()
	head := f.head
	i, ok := f.at[cursor]
	if cursor == head {
		i, ok = len(f.batches), true
	}
	if ok {
		var out []T
		pos := map[string]int{}
		for _, b := range f.batches[i:] {
			for j, it := range b.items {
				if !b.unknown[j] && !contains(b.anc[j], s.root) && !f.concerns(it, s.root) {
					continue
				}
				id := f.identity(it)
				if k, seen := pos[id]; seen {
					out[k] = it // the last report wins, in its first place
					continue
				}
				pos[id] = len(out)
				out = append(out, it)
			}
		}
		f.mu.Unlock()
		return out, head, nil
	}
	f.mu.Unlock()
	// Not a cursor of the retained batches: read from it privately, then
	// continue on the head taken before the read (the overlap is reported
	// twice, the last report winning).
	items, _, err := f.src.Poll(ctx, cursor)
	if err != nil {
		return nil, "", err
	}
	out := items[:0:0]
	for _, it := range items {
		if s.mayConcern(ctx, it) {
			out = append(out, it)
		}
	}
	return out, head, nil
}

// mayConcern reports whether item it, read privately, is or was below the
// subscriber's root, or might be: its parent as reported, the item's
// chain in the index and its parent's chain now are all considered, and an
// item whose ancestry cannot be resolved is kept.
func (s *Sub[T]) mayConcern(ctx context.Context, it T) bool {
	f := s.f
	id, parent, _ := f.src.Key(it)
	if parent == s.root || f.concerns(it, s.root) {
		return true
	}
	f.mu.Lock()
	known, _ := f.chainLocked(id)
	_, seen := f.parents[id]
	f.mu.Unlock()
	if contains(known, s.root) || (!seen && f.moved(it)) {
		return true
	}
	if parent == "" {
		return len(known) == 0
	}
	anc, ok := f.chain(ctx, parent)
	return contains(anc, s.root) || (!ok && len(known) == 0)
}

// Poll reads the source once from the head, routes what changed and wakes
// the subscribers concerned. Concurrent calls share one read: a caller
// that waited for another caller's poll returns without reading again
// when that poll began reading after it asked (so it saw every change
// made before); a poll that was already reading when it asked may have
// missed them, and the caller reads again after it.
func (f *Feed[T]) Poll(ctx context.Context) error {
	f.mu.Lock()
	asked := f.opts.Clock()
	f.mu.Unlock()
	f.pollMu.Lock()
	defer f.pollMu.Unlock()
	f.mu.Lock()
	if f.lastRead.After(asked) {
		f.mu.Unlock()
		return nil // a poll that began after we asked has just ended
	}
	started, from := f.started, f.head
	began := f.opts.Clock()
	f.mu.Unlock()
	if !started {
		c, err := f.src.Latest(ctx)
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.head, f.started, f.lastPoll, f.lastRead = c, true, f.opts.Clock(), began
		f.mu.Unlock()
		return nil
	}
	items, next, err := f.src.Poll(ctx, from)
	if err != nil {
		if errors.Is(err, storage.ErrCursorExpired) {
			// The shared cursor is gone: start again from "now". Every
			// subscriber's cursor is then unknown to the feed and read
			// privately, where the source reports the expiry to each.
			f.mu.Lock()
			f.started, f.head, f.batches, f.at, f.retained = false, "", nil, map[string]int{}, 0
			f.lastPoll, f.lastRead = time.Time{}, time.Time{}
			f.mu.Unlock()
		}
		return err
	}
	b := &batch[T]{from: from, to: next, items: items, anc: make([][]string, len(items)), unknown: make([]bool, len(items))}
	f.route(ctx, b)
	f.mu.Lock()
	f.polls++
	f.lastPoll, f.lastRead = f.opts.Clock(), began
	if next != from || len(items) > 0 {
		f.at[from] = len(f.batches)
		f.batches = append(f.batches, b)
		f.retained += len(items)
		f.head = next
		f.trim()
	}
	var woken []*Sub[T]
	for s := range f.subs {
		for j, it := range b.items {
			// An item whose ancestry is partly unknown still wakes the
			// subscribers its known ancestors hold.
			if contains(b.anc[j], s.root) || f.concerns(it, s.root) {
				woken = append(woken, s)
				break
			}
		}
	}
	f.mu.Unlock()
	for _, s := range woken {
		s.wake.Notify()
	}
	return nil
}

// trim drops the oldest batches beyond MaxItems. f.mu is held.
func (f *Feed[T]) trim() {
	drop := 0
	for drop < len(f.batches)-1 && f.retained > f.opts.MaxItems {
		f.retained -= len(f.batches[drop].items)
		delete(f.at, f.batches[drop].from)
		drop++
	}
	if drop == 0 {
		return
	}
	f.batches = append([]*batch[T](nil), f.batches[drop:]...)
	for i, b := range f.batches {
		f.at[b.from] = i
	}
}

// route records each item's ancestors before the batch (from the index)
// and after it (the index updated with the batch, unknown parents read
// from the source).
func (f *Feed[T]) route(ctx context.Context, b *batch[T]) {
	before := make([][]string, len(b.items))
	unplaced := make([]bool, len(b.items)) // moved from a place the feed never saw
	f.mu.Lock()
	for j, it := range b.items {
		id, _, _ := f.src.Key(it)
		before[j], _ = f.chainLocked(id)
		if _, seen := f.parents[id]; !seen && f.moved(it) {
			unplaced[j] = true
		}
	}
	for _, it := range b.items {
		id, parent, deleted := f.src.Key(it)
		if deleted {
			continue
		}
		if parent != "" || f.parents[id] == "" {
			f.parents[id] = parent
		}
	}
	f.mu.Unlock()
	for j, it := range b.items {
		id, parent, deleted := f.src.Key(it)
		start := id
		if deleted {
			start = parent // where it was: its parent, if it still exists
		}
		after, ok := f.chain(ctx, start)
		if deleted && start != "" {
			after = append(after, start)
		}
		b.anc[j] = append(before[j], after...)
		if (!ok && len(before[j]) == 0) || unplaced[j] {
			b.unknown[j] = true
		}
	}
	f.mu.Lock()
	for _, it := range b.items {
		if id, _, deleted := f.src.Key(it); deleted {
			delete(f.parents, id)
		}
	}
	f.mu.Unlock()
}

// identity returns the ID by which the reports of it are merged: the
// event's own ID for an Identifier source, else the item's ID.
func (f *Feed[T]) identity(it T) string {
	if is, ok := f.src.(Identifier[T]); ok {
		return is.Identity(it)
	}
	id, _, _ := f.src.Key(it)
	return id
}

// moved reports whether it is a move that does not say where it was from.
func (f *Feed[T]) moved(it T) bool {
	m, ok := f.src.(Mover[T])
	return ok && m.Moved(it)
}

// concerns reports whether the source routes it to root besides its
// parent chain.
func (f *Feed[T]) concerns(it T, root string) bool {
	r, ok := f.src.(Router[T])
	return ok && r.Concerns(it, root)
}

// maxDepth bounds a parent chain; a longer one is a cycle.
const maxDepth = 512

// chainLocked returns the ancestors of id known to the index; ok is false
// when the chain stops at an unknown ID. f.mu is held.
func (f *Feed[T]) chainLocked(id string) (anc []string, ok bool) {
	cur, known := f.parents[id]
	if !known {
		return nil, false
	}
	for range maxDepth {
		if cur == "" {
			return anc, true
		}
		anc = append(anc, cur)
		next, known := f.parents[cur]
		if !known {
			return anc, false
		}
		cur = next
	}
	return anc, false
}

// chain returns the ancestors of id, reading unknown parents from the
// source (each once; the index keeps them).
func (f *Feed[T]) chain(ctx context.Context, id string) ([]string, bool) {
	if id == "" {
		return nil, false
	}
	for range maxDepth {
		f.mu.Lock()
		anc, ok := f.chainLocked(id)
		missing := id
		if len(anc) > 0 {
			missing = anc[len(anc)-1]
		}
		f.mu.Unlock()
		if ok {
			return anc, true
		}
		p, err := f.src.Parent(ctx, missing)
		if err != nil {
			return anc, false
		}
		f.mu.Lock()
		f.parents[missing] = p
		f.mu.Unlock()
	}
	return nil, false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Run polls the feed on every value of trigger (change notifications,
// coalesced) and every Options.PollInterval (unless a poll came within
// MaxAge: so an idle feed polls at most once per MaxAge) until ctx is
// done. A failed poll is tried again at the next trigger or interval.
func (f *Feed[T]) Run(ctx context.Context, trigger <-chan struct{}) error {
	t := time.NewTicker(f.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-trigger:
			if !ok {
				trigger = nil
				continue
			}
		case <-t.C:
			f.mu.Lock()
			fresh := f.opts.Clock().Sub(f.lastPoll) < min(f.opts.MaxAge, f.opts.PollInterval)
			f.mu.Unlock()
			if fresh {
				continue // a subscriber's Changes polled lately
			}
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_ = f.Poll(pctx)
		cancel()
	}
}

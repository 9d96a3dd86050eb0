package box

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// StreamEvent is one tree-changing event of the events stream with its
// source (a file or a folder) read.
type StreamEvent struct {
	Event
	// Item is the event's source as it was when the event was recorded:
	// its new parent and path_collection after a move, the trash's
	// path_collection after ITEM_TRASH.
	Item Item
}

// EventsFeed is the events stream of one Box user (GET
// /events?stream_type=changes) shared by every Storage of that user: one
// read of the stream per poll, whatever the number of Storages, each
// receiving the events of the items below its own root (by the items'
// parent chains: an event's parent and path_collection, GET
// /folders/{id} for a folder never seen). Run it (EventsFeed.Run) with
// the signals of one long poll of the user's realtime server
// (Client.WatchEvents) or of a WebhookReceiver, so that a change reads
// the stream once and wakes only the Storages whose folders changed.
//
// The stream is per user: Storages of different users (as-user, or
// several sign-ins) need a feed each.
type EventsFeed = changefeed.Feed[StreamEvent]

// NewEventsFeed returns the shared events feed of the user c acts for.
// Give it to every Storage of that user with (*Storage).WithFeed.
func NewEventsFeed(c *Client, opts changefeed.Options) *EventsFeed {
	return changefeed.New[StreamEvent](&eventsSource{c: c, parents: map[string]string{}}, opts)
}

// eventsSource is a user's events stream as a changefeed.Source.
type eventsSource struct {
	c *Client

	mu      sync.Mutex
	parents map[string]string // folder ID -> parent ID, from path_collections
}

var (
	_ changefeed.Source[StreamEvent]     = (*eventsSource)(nil)
	_ changefeed.Identifier[StreamEvent] = (*eventsSource)(nil)
	_ changefeed.Mover[StreamEvent]      = (*eventsSource)(nil)
)

// Latest returns the stream position of now (GET
// /events?stream_position=now).
func (s *eventsSource) Latest(ctx context.Context) (string, error) {
	ev, err := s.c.GetEvents(ctx, "now", 1)
	if err != nil {
		return "", wrap("changes", "", err)
	}
	if ev.NextStreamPosition == "" {
		return "", &Error{StatusCode: 200, Code: "invalid_response", Op: "GET /events", Message: "no next_stream_position"}
	}
	return ev.NextStreamPosition, nil
}

// Poll reads the stream from position cursor to its end; it learns the
// folders' parents from the events' path_collections.
func (s *eventsSource) Poll(ctx context.Context, cursor string) ([]StreamEvent, string, error) {
	evs, next, err := readEvents(ctx, s.c, cursor)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	for _, e := range evs {
		learnParents(s.parents, e.Item)
	}
	s.mu.Unlock()
	return evs, next, nil
}

// learnParents records the parent of each folder of it's path_collection
// (a trashed item's is the trash's: skipped).
func learnParents(m map[string]string, it Item) {
	if it.Paths == nil || len(it.Paths.Entries) == 0 || it.Paths.Entries[0].ID != "0" || !usable(it) {
		return
	}
	parent := ""
	for _, a := range it.Paths.Entries {
		m[a.ID] = parent
		parent = a.ID
	}
	if it.Type == "folder" {
		m[it.ID] = parent
	}
}

// Key returns the event's item, its parent and whether it went to the
// trash (or is otherwise no longer usable).
func (*eventsSource) Key(e StreamEvent) (id, parent string, deleted bool) {
	if e.Item.Parent != nil {
		parent = e.Item.Parent.ID
	}
	return e.Item.ID, parent, e.EventType == "ITEM_TRASH" || !usable(e.Item)
}

// Identity is the event's event_id: Box may deliver an event twice.
func (*eventsSource) Identity(e StreamEvent) string { return e.EventID }

// Moved reports an ITEM_MOVE, which names only the item's new parent.
func (*eventsSource) Moved(e StreamEvent) bool { return e.EventType == "ITEM_MOVE" }

// Parent returns the parent of folder id: from the path_collections seen,
// else GET /folders/{id} (GET /files/{id} when it is no folder).
func (s *eventsSource) Parent(ctx context.Context, id string) (string, error) {
	if id == "0" {
		return "", nil
	}
	s.mu.Lock()
	p, ok := s.parents[id]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	it, err := s.c.GetItem(ctx, id, true)
	if errors.Is(err, storage.ErrNotFound) {
		it, err = s.c.GetItem(ctx, id, false)
	}
	if err != nil {
		return "", err
	}
	if !usable(it) {
		return "", errors.New("box: the item is in the trash")
	}
	s.mu.Lock()
	learnParents(s.parents, it)
	s.mu.Unlock()
	if it.Parent == nil {
		return "", nil
	}
	return it.Parent.ID, nil
}

// readEvents reads the events stream from position pos to its end (GET
// /events?stream_type=changes, 500 a page): the tree-changing events on
// files and folders, each event_id once, in order, and the position to
// read from next. A position Box no longer honours gives an error
// matching storage.ErrCursorExpired.
func readEvents(ctx context.Context, c *Client, pos string) ([]StreamEvent, string, error) {
	var out []StreamEvent
	seen := map[string]bool{}
	g := httpclient.NewPageGuard(maxEventPages)
	for {
		if err := g.Next(ctx, pos); err != nil {
			return nil, "", err
		}
		ev, err := c.GetEvents(ctx, pos, 500)
		if err != nil {
			var be *Error
			// A stream position Box no longer honours is refused with 400
			// (unconfirmed against a live tenant, GET /events).
			if errors.As(err, &be) && be.StatusCode == http.StatusBadRequest {
				return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, err)
			}
			return nil, "", wrap("changes", "", err)
		}
		for _, e := range ev.Entries {
			if seen[e.EventID] || !treeEvents[e.EventType] {
				continue
			}
			seen[e.EventID] = true
			var it Item
			if json.Unmarshal(e.Source, &it) != nil || (it.Type != "file" && it.Type != "folder") || it.ID == "" {
				continue
			}
			out = append(out, StreamEvent{Event: e, Item: it})
		}
		next := ev.NextStreamPosition
		if next == "" || next == pos || len(ev.Entries) == 0 {
			if next != "" {
				pos = next
			}
			return out, pos, nil
		}
		pos = next
	}
}

// Fed is a Storage that reads its changes from the user's shared
// EventsFeed and is a storage.Watcher woken only when that feed finds a
// change below the Storage's root.
type Fed struct {
	*Storage
}

// WithFeed makes s read its changes from feed, the shared events feed of
// s's user (NewEventsFeed on s.Client(); one per user, whatever the number
// of Storages), and returns it as a storage.Watcher. The Storage's cursors
// keep their form: a cursor saved before (from its own reads of the
// stream) is still honoured, read once on its own, after which the Storage
// continues on the feed's. Run the feed (EventsFeed.Run) with
// Client.WatchEvents or a WebhookReceiver's signals.
func (s *Storage) WithFeed(feed *EventsFeed) *Fed {
	sub := feed.Subscribe(s.rootID)
	s.mu.Lock()
	old := s.sub
	s.sub = sub
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return &Fed{Storage: s}
}

// CloseFeed ends the Storage's subscription to its shared feed: it reads
// the events stream on its own again.
func (s *Storage) CloseFeed() {
	s.mu.Lock()
	old := s.sub
	s.sub = nil
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

func (s *Storage) feedSub() *changefeed.Sub[StreamEvent] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sub
}

// Watch implements storage.Watcher: a value arrives after each poll of
// the feed that found a change below the root (the feed is started now,
// so that what changes from now on is seen).
func (f *Fed) Watch(ctx context.Context) (<-chan struct{}, error) {
	sub := f.feedSub()
	if sub == nil {
		return f.Storage.Watch(ctx)
	}
	if _, err := sub.Latest(ctx); err != nil {
		return nil, wrap("watch", "", err)
	}
	return sub.Watch(ctx), nil
}

var _ storage.Watcher = (*Fed)(nil)

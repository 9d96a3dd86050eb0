package box

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/storage"
)

// GetEvents returns a page of the user's events stream (GET
// /events?stream_type=changes) from position ("now": none, and the
// current position).
func (c *Client) GetEvents(ctx context.Context, position string, limit int) (Events, error) {
	q := url.Values{"stream_type": {"changes"}, "stream_position": {position}, "limit": {strconv.Itoa(limit)}}
	var ev Events
	_, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL("/events", q)}, &ev)
	return ev, err
}

// RealtimeServer returns the long-poll server for the user's events
// (OPTIONS /events).
func (c *Client) RealtimeServer(ctx context.Context) (RealtimeServer, error) {
	var out struct {
		Entries []RealtimeServer `json:"entries"`
	}
	if _, err := c.doJSON(ctx, request{method: http.MethodOptions, url: c.apiURL("/events", nil)}, &out); err != nil {
		return RealtimeServer{}, err
	}
	if len(out.Entries) == 0 || out.Entries[0].URL == "" {
		return RealtimeServer{}, &Error{StatusCode: 200, Code: "invalid_response", Op: "OPTIONS /events", Message: "no realtime server"}
	}
	return out.Entries[0], nil
}

// Poll long-polls a realtime server URL from stream position pos (no
// token goes there) and returns its message: "new_change" or
// "reconnect".
func (c *Client) Poll(ctx context.Context, srv RealtimeServer, pos string) (string, error) {
	u, err := url.Parse(srv.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("box: the realtime server URL is not usable")
	}
	q := u.Query()
	q.Set("stream_position", pos)
	u.RawQuery = q.Encode()
	timeout := 10 * time.Minute
	if n, err := strconv.Atoi(strings.Trim(string(srv.RetryTimeout), `"`)); err == nil && n > 0 {
		timeout = time.Duration(n) * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	resp, err := c.send(pctx, c.dl, request{method: http.MethodGet, url: u.String()})
	if err != nil {
		if ctx.Err() == nil && pctx.Err() != nil {
			return "reconnect", nil
		}
		return "", httpclient.RedactError(err, false)
	}
	defer resp.Body.Close()
	var m struct {
		Message string `json:"message"`
	}
	if err := httpclient.DecodeJSON(resp.Body, 64<<10, &m); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("box: long poll answered %d", resp.StatusCode)
	}
	return m.Message, nil
}

// treeEvents are the event types that change the file tree.
var treeEvents = map[string]bool{"ITEM_COPY": true, "ITEM_CREATE": true, "ITEM_MAKE_CURRENT_VERSION": true, "ITEM_MODIFY": true,
	"ITEM_MOVE": true, "ITEM_RENAME": true, "ITEM_TRASH": true, "ITEM_UNDELETE_VIA_TRASH": true, "ITEM_UPLOAD": true}

// cursor is a change-feed position: Box's stream position, when it was
// issued, and the last event seen (Box may send it again).
type cursor struct {
	Pos    string `json:"p"`
	Issued int64  `json:"t"`
	Last   string `json:"l,omitempty"`
}

func (s *Storage) encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return "box1:" + string(b)
}

func (s *Storage) decodeCursor(raw string) (cursor, error) {
	var c cursor
	b, ok := strings.CutPrefix(raw, "box1:")
	if !ok || json.Unmarshal([]byte(b), &c) != nil || c.Pos == "" {
		return cursor{}, storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("not a Box cursor"))
	}
	if s.c.opts.Now().Sub(time.Unix(c.Issued, 0)) > s.opt.CursorMaxAge {
		return cursor{}, storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("older than the events retention"))
	}
	return c, nil
}

// LatestCursor returns the stream position of now (GET
// /events?stream_position=now), or the shared feed's position.
func (s *Storage) LatestCursor(ctx context.Context) (string, error) {
	var pos string
	if sub := s.feedSub(); sub != nil {
		p, err := sub.Latest(ctx)
		if err != nil {
			return "", wrap("changes", "", err)
		}
		pos = p
	} else {
		ev, err := s.c.GetEvents(ctx, "now", 1)
		if err != nil {
			return "", wrap("changes", "", err)
		}
		pos = ev.NextStreamPosition
	}
	return s.encodeCursor(cursor{Pos: pos, Issued: s.c.opts.Now().Unix()}), nil
}

// maxEventPages bounds one read of the stream.
const maxEventPages = 10_000

// Changes reads the events stream from cursor (on its own, or from the
// shared EventsFeed of WithFeed: the events of the items below the root):
// events are de-duplicated by event_id, the latest state of an item wins
// by sequence_id, trashed items and items that left the root are reported
// as deletions.
func (s *Storage) Changes(ctx context.Context, raw string) ([]storage.Change, string, error) {
	cur, err := s.decodeCursor(raw)
	if err != nil {
		return nil, "", err
	}
	var evs []StreamEvent
	var pos string
	if sub := s.feedSub(); sub != nil {
		evs, pos, err = sub.Changes(ctx, cur.Pos)
	} else {
		evs, pos, err = readEvents(ctx, s.c, cur.Pos)
	}
	if err != nil {
		return nil, "", wrap("changes", "", err)
	}
	seen := map[string]bool{}
	if cur.Last != "" {
		seen[cur.Last] = true
	}
	type latest struct {
		ch   storage.Change
		seq  int64
		at   int
		ancs []string // ancestor IDs
	}
	byID := map[string]*latest{}
	var ancs map[string]bool // the root's ancestors, read when first needed
	n := 0
	for _, e := range evs {
		if seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		cur.Last = e.EventID
		it := e.Item
		if it.ID == s.rootID {
			continue
		}
		seq, _ := strconv.ParseInt(it.SequenceID, 10, 64)
		if l := byID[it.ID]; l != nil && seq < l.seq {
			continue // an older state delivered late
		}
		ch := storage.Change{Entry: storage.Entry{ID: it.ID, IsDir: it.Type == "folder"}}
		p, inside := s.relPath(it)
		if !inside && it.Type == "folder" && s.aboveRoot(ctx, &ancs, it.ID) {
			// A folder above the root was renamed or moved: the root
			// and what it holds are addressed by ID and did not change.
			continue
		}
		if e.EventType == "ITEM_TRASH" || !usable(it) || !inside {
			ch.Deleted = true
			if inside {
				ch.Entry.Path = p
			}
			if ch.Entry.IsDir {
				// Box reports the folder alone: what was below it
				// went with it.
				for _, d := range s.forgetUnder(it.ID, ch.Entry.Path) {
					n++
					byID[d.Entry.ID] = &latest{ch: d, at: n}
				}
			}
		} else {
			ch.Entry = s.entry(it, p)
			s.remember(ch.Entry)
		}
		n++
		l := &latest{ch: ch, seq: seq, at: n}
		if it.Paths != nil {
			for _, a := range it.Paths.Entries {
				l.ancs = append(l.ancs, a.ID)
			}
		}
		byID[it.ID] = l
	}
	out := make([]storage.Change, 0, len(byID))
	order := make([]*latest, 0, len(byID))
	for _, l := range byID {
		order = append(order, l)
	}
	sortLatest(order, func(l *latest) int { return l.at })
	// Box reports a trashed folder alone: what was below it when it went
	// to the trash is gone too.
	for _, l := range order {
		for _, a := range l.ancs {
			if d := byID[a]; d != nil && d.ch.Deleted && d.at > l.at && !l.ch.Deleted {
				l.ch = storage.Change{Entry: storage.Entry{ID: l.ch.Entry.ID, Path: l.ch.Entry.Path, IsDir: l.ch.Entry.IsDir}, Deleted: true}
			}
		}
	}
	for _, l := range order {
		out = append(out, l.ch)
	}
	cur.Pos, cur.Issued = pos, s.c.opts.Now().Unix()
	return out, s.encodeCursor(cur), nil
}

// aboveRoot reports whether folder id is one of the root's ancestors now
// (read once per Changes into *ancs: GET /folders/{root} with its
// path_collection). It is false when the root cannot be read (trashed: the
// engine finds out from the root itself).
func (s *Storage) aboveRoot(ctx context.Context, ancs *map[string]bool, id string) bool {
	if *ancs == nil {
		*ancs = map[string]bool{}
		if root, err := s.c.GetItem(ctx, s.rootID, true); err == nil && root.Paths != nil {
			for _, a := range root.Paths.Entries {
				(*ancs)[a.ID] = true
			}
		}
	}
	return (*ancs)[id]
}

func sortLatest[T any](xs []T, key func(T) int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && key(xs[j]) < key(xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// Watch signals when something may have changed: by long-polling Box's
// realtime server (OPTIONS /events, then GET on its URL from the current
// stream position), or, with Options.Webhooks, on verified webhook
// deliveries.
func (s *Storage) Watch(ctx context.Context) (<-chan struct{}, error) {
	if s.opt.Webhooks != nil {
		return s.opt.Webhooks.Watch(ctx), nil
	}
	return s.c.WatchEvents(ctx)
}

// WatchEvents signals when the user's events stream has new events, by
// long-polling Box's realtime server (OPTIONS /events, then GET on its URL
// from the current stream position, again after each answer): one long
// poll for the user, the trigger of an EventsFeed's Run. The channel is
// closed when ctx is done.
func (c *Client) WatchEvents(ctx context.Context) (<-chan struct{}, error) {
	srv, err := c.RealtimeServer(ctx)
	if err != nil {
		return nil, wrap("watch", "", err)
	}
	ev, err := c.GetEvents(ctx, "now", 1)
	if err != nil {
		return nil, wrap("watch", "", err)
	}
	var b wake.Broadcaster
	ch := b.Watch(ctx)
	go c.pollLoop(ctx, &b, srv, ev.NextStreamPosition)
	return ch, nil
}

func (c *Client) pollLoop(ctx context.Context, b *wake.Broadcaster, srv RealtimeServer, pos string) {
	fails := 0
	for ctx.Err() == nil {
		msg, err := c.Poll(ctx, srv, pos)
		if err != nil {
			fails++
			if c.opts.Sleep(ctx, httpclient.Jitter(httpclient.ExpBackoff(time.Second, time.Minute, fails))) != nil {
				return
			}
			if nsrv, err := c.RealtimeServer(ctx); err == nil {
				srv = nsrv
			}
			continue
		}
		fails = 0
		if msg == "new_change" {
			b.Notify()
			if ev, err := c.GetEvents(ctx, "now", 1); err == nil {
				pos = ev.NextStreamPosition
			}
			continue
		}
		if nsrv, err := c.RealtimeServer(ctx); err == nil {
			srv = nsrv
		}
	}
}

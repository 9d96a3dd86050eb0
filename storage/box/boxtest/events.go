package boxtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// getEvents serves GET /events: stream_position "now" gives the current
// position and no events, "0" everything retained, a number the events
// from there. Unless NoDuplicateEvents, each page repeats the last event
// of the previous page (same event_id), as Box may. A position older than
// the retained events is refused with 400.
func (s *Server) getEvents(w *fakeservice.Recorder, r *http.Request, _ []byte, _ []string) *apiError {
	q := r.URL.Query()
	if t := q.Get("stream_type"); t != "" && t != "all" && t != "changes" && t != "sync" {
		return errf(403, "forbidden", "admin streams need an admin")
	}
	limit, e := queryLimit(q, 500)
	if e != nil {
		return e
	}
	limit = min(limit, s.opt.EventPage)
	s.mu.Lock()
	defer s.mu.Unlock()
	end := s.eventBase + int64(len(s.events))
	var pos int64
	switch v := q.Get("stream_position"); v {
	case "now":
		s.writeEvents(w, nil, end)
		return nil
	case "", "0":
		pos = max(s.eventBase, s.expiredBelw)
	default:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > end {
			return errf(400, "bad_request", "invalid stream_position")
		}
		// An expired position: Box's retention of user events (21 days)
		// has passed (unconfirmed against a live tenant, GET /events).
		if n < s.expiredBelw {
			return errf(400, "bad_request", "stream_position is no longer available")
		}
		pos = n
	}
	from := pos
	if !s.opt.NoDuplicateEvents && s.dupAt[pos] && from > s.eventBase && from > s.expiredBelw {
		from-- // Box may deliver the last event of the previous page again
	}
	var out []event
	for p := from; p < end && len(out) < limit; p++ {
		out = append(out, s.events[p-s.eventBase])
	}
	next := max(from+int64(len(out)), pos)
	if len(out) > 0 {
		s.dupAt[next] = true
	}
	s.writeEvents(w, out, next)
	return nil
}

func (s *Server) writeEvents(w *fakeservice.Recorder, evs []event, next int64) {
	entries := []any{}
	for _, e := range evs {
		entries = append(entries, map[string]any{"type": "event", "event_id": e.id, "event_type": e.typ,
			"created_at": e.at.Format(timeFmt), "recorded_at": e.at.Format(timeFmt), "created_by": userMini(e.by),
			"source": e.source})
	}
	// next_stream_position is a string or an integer; the fake
	// alternates.
	s.posN++
	var pos any = strconv.FormatInt(next, 10)
	if s.posN%2 == 0 {
		pos = next
	}
	writeJSON(w, 200, map[string]any{"chunk_size": len(entries), "next_stream_position": pos, "entries": entries})
}

func (s *Server) realtimeServers(w *fakeservice.Recorder, r *http.Request, _ []byte, _ []string) *apiError {
	ttl := int64(s.opt.LongPollTimeout / time.Second)
	writeJSON(w, 200, map[string]any{"chunk_size": 1, "entries": []any{map[string]any{
		"type": "realtime_server", "url": s.API.URL + "/subscribe?channel=" + randomHex(8) + "&stream_type=all",
		"ttl": strconv.FormatInt(ttl, 10), "max_retries": "10", "retry_timeout": ttl}}})
	return nil
}

// longPoll holds a realtime poll until the next event ("new_change") or
// LongPollTimeout ("reconnect"); a poll from a stream_position that events
// have passed answers "new_change" at once.
func (s *Server) longPoll(w *fakeservice.Recorder, r *http.Request, _ []byte, _ []string) *apiError {
	s.mu.Lock()
	ch := s.changed
	if n, err := strconv.ParseInt(r.URL.Query().Get("stream_position"), 10, 64); err == nil && n < s.eventBase+int64(len(s.events)) {
		s.mu.Unlock()
		writeJSON(w, 200, map[string]any{"message": "new_change"})
		return nil
	}
	s.mu.Unlock()
	t := time.NewTimer(s.opt.LongPollTimeout)
	defer t.Stop()
	msg := "reconnect"
	select {
	case <-ch:
		msg = "new_change"
	case <-t.C:
	case <-r.Context().Done():
	}
	writeJSON(w, 200, map[string]any{"message": msg})
	return nil
}

// --- webhooks v2 ---------------------------------------------------------------

func (s *Server) webhookJSON(h *webhook) map[string]any {
	return map[string]any{"id": h.id, "type": "webhook", "target": map[string]any{"id": h.target, "type": h.targetType},
		"created_by": userMini(h.user), "created_at": h.created.Format(timeFmt), "address": h.address, "triggers": h.triggers}
}

// maxWebhooks is Box's limit of webhooks per application and user.
const maxWebhooks = 1000

func (s *Server) createWebhook(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	var in struct {
		Target struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"target"`
		Address  string   `json:"address"`
		Triggers []string `json:"triggers"`
	}
	if json.Unmarshal(body, &in) != nil || in.Address == "" || len(in.Triggers) == 0 {
		return errf(400, "bad_request", "target, address and triggers are required")
	}
	if in.Target.ID == "0" {
		return errf(400, "bad_request", "webhooks v2 cannot be set on the root folder")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.live(in.Target.ID)
	if t == nil || t.folder != (in.Target.Type == "folder") {
		return errf(404, "not_found", "Not Found")
	}
	// One webhook per item, application and user (documented: 409), and
	// at most 1000 per application and user (the status is not
	// documented; 400 as for other refused parameters).
	user, mine := actingUser(r), 0
	for _, h := range s.webhooks {
		if h.user != user {
			continue
		}
		if h.target == in.Target.ID {
			return errf(409, "conflict", "Webhook already exists for this target")
		}
		mine++
	}
	if limit := cmp.Or(s.opt.MaxWebhooks, maxWebhooks); mine >= limit {
		return errf(400, "bad_request", "There is a limit of %d webhooks for each application and each user", limit)
	}
	h := &webhook{id: s.newID(), user: user, target: in.Target.ID, targetType: in.Target.Type, address: in.Address, triggers: in.Triggers, created: s.now()}
	s.webhooks[h.id] = h
	writeJSON(w, 201, s.webhookJSON(h))
	return nil
}

// listWebhooks answers GET /webhooks as Box does: the webhooks of the
// application and the acting user only ("This API call will only list
// the webhooks for the authenticated user", Box's "List webhooks" guide),
// as Webhook--Mini entries (id, type, target: no address) in a Webhooks
// collection paged by marker (limit at most 1000, capped here by
// Options.PageSize; next_marker null on the last page).
func (s *Server) listWebhooks(w *fakeservice.Recorder, r *http.Request, _ []byte, _ []string) *apiError {
	q := r.URL.Query()
	limit, e := queryLimit(q, 1000)
	if e != nil {
		return e
	}
	limit = min(limit, s.opt.PageSize)
	off := 0
	if m := q.Get("marker"); m != "" {
		n, ok := decodeMarker(m)
		if !ok {
			return errf(400, "invalid_request_parameters", "invalid marker")
		}
		off = n
	}
	user := actingUser(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var hooks []*webhook
	for _, h := range s.webhooks {
		if h.user == user {
			hooks = append(hooks, h)
		}
	}
	slices.SortFunc(hooks, func(a, b *webhook) int { return cmp.Compare(idNum(a.id), idNum(b.id)) })
	entries := []any{}
	for i := off; i < len(hooks) && i < off+limit; i++ {
		h := hooks[i]
		entries = append(entries, map[string]any{"id": h.id, "type": "webhook", "target": map[string]any{"id": h.target, "type": h.targetType}})
	}
	out := map[string]any{"entries": entries, "limit": limit, "next_marker": nil}
	if off+limit < len(hooks) {
		out["next_marker"] = encodeMarker(off + limit)
	}
	writeJSON(w, 200, out)
	return nil
}

// getWebhook answers GET /webhooks/{id} with the full Webhook (address,
// triggers, …); another user's webhook is not found.
func (s *Server) getWebhook(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.webhooks[p[0]]
	if h == nil || h.user != actingUser(r) {
		return errf(404, "not_found", "Not Found")
	}
	writeJSON(w, 200, s.webhookJSON(h))
	return nil
}

// actingUser is the user a request acts for: its As-User, or the
// token's user.
func actingUser(r *http.Request) string {
	return cmp.Or(r.Header.Get("As-User"), MeID)
}

func idNum(id string) int {
	n, _ := strconv.Atoi(id)
	return n
}

func (s *Server) deleteWebhook(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.webhooks[p[0]]; h == nil || h.user != actingUser(r) {
		return errf(404, "not_found", "Not Found")
	}
	delete(s.webhooks, p[0])
	w.WriteHeader(204)
	return nil
}

// SetMaxWebhooks changes Options.MaxWebhooks of a running fake: the
// number of webhooks v2 the app may have for a user (0: Box's 1000).
func (s *Server) SetMaxWebhooks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.MaxWebhooks = n
}

// WebhookTargets returns the IDs of the items that hold a webhook, sorted.
func (s *Server) WebhookTargets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, h := range s.webhooks {
		out = append(out, h.target)
	}
	slices.Sort(out)
	return out
}

// Delivery is one webhook delivery the fake made.
type Delivery struct {
	Trigger string
	Status  int // the receiver's answer (0: no answer)
	At      time.Time
}

// Deliveries returns the webhook deliveries made so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

var hookTriggers = map[string][2]string{
	"ITEM_UPLOAD": {"FILE.UPLOADED", "FOLDER.CREATED"}, "ITEM_CREATE": {"FILE.UPLOADED", "FOLDER.CREATED"},
	"ITEM_TRASH": {"FILE.TRASHED", "FOLDER.TRASHED"}, "ITEM_MOVE": {"FILE.MOVED", "FOLDER.MOVED"},
	"ITEM_RENAME": {"FILE.RENAMED", "FOLDER.RENAMED"}, "ITEM_COPY": {"FILE.COPIED", "FOLDER.COPIED"},
}

// Sign returns Box's webhook v2 signature of body at timestamp with key:
// base64(HMAC-SHA256(key, body || timestamp)).
func Sign(key string, body []byte, timestamp string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	m.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// deliverHooks posts a signed delivery to every webhook whose target holds
// it and whose triggers include the event's (s.mu held).
func (s *Server) deliverHooks(typ string, it *item, by string) {
	tr, ok := hookTriggers[typ]
	if !ok {
		return
	}
	trigger := tr[0]
	if it.folder {
		trigger = tr[1]
	}
	for _, h := range s.webhooks {
		if !s.inside(it.id, h.target) || !contains(h.triggers, trigger) {
			continue
		}
		body, _ := json.Marshal(map[string]any{"type": "webhook_event", "id": randomHex(16), "created_at": s.now().Format(timeFmt),
			"trigger": trigger, "webhook": map[string]any{"id": h.id, "type": "webhook"}, "created_by": userMini(by),
			"source": s.mini(it), "additional_info": []any{}})
		ts := s.opt.Now().Format(time.RFC3339)
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, h.address, bytes.NewReader(body))
		if err != nil {
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("BOX-DELIVERY-ID", randomHex(16))
		req.Header.Set("BOX-DELIVERY-TIMESTAMP", ts)
		req.Header.Set("BOX-SIGNATURE-VERSION", "1")
		req.Header.Set("BOX-SIGNATURE-ALGORITHM", "HmacSHA256")
		req.Header.Set("User-Agent", "Box-WH-Client/0.1")
		if s.opt.PrimaryKey != "" {
			req.Header.Set("BOX-SIGNATURE-PRIMARY", Sign(s.opt.PrimaryKey, body, ts))
		}
		if s.opt.SecondaryKey != "" {
			req.Header.Set("BOX-SIGNATURE-SECONDARY", Sign(s.opt.SecondaryKey, body, ts))
		}
		s.hookWG.Add(1)
		go func() {
			defer s.hookWG.Done()
			d := Delivery{Trigger: trigger, At: time.Now()}
			if resp, err := s.hookClient.Do(req); err == nil {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
			s.mu.Lock()
			s.delivered = append(s.delivered, d)
			s.mu.Unlock()
		}()
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

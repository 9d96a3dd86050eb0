package graphtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage/msgraph"
)

// MaxSubscriptionLifetime is the longest expiration Graph allows for
// driveItem subscriptions (42,300 minutes).
const MaxSubscriptionLifetime = 42300 * time.Minute

type subscription struct {
	sub   msgraph.Subscription
	drive string
}

func (s *Server) routeSubscriptions(method, id string) (string, handler) {
	id, _ = url.PathUnescape(id)
	op, h := s.routeSubscription(method, id)
	if h == nil {
		return op, nil
	}
	return op, func(w *recorder, r *http.Request, body []byte) *apiError {
		s.dropExpiredSubscriptions()
		return h(w, r, body)
	}
}

// dropExpiredSubscriptions removes the subscriptions whose expiration has
// passed on the fake's clock, as Graph does: renewing or deleting one then
// answers 404 (the caller holds the lock).
func (s *Server) dropExpiredSubscriptions() {
	now := s.now()
	for id, sub := range s.subs {
		if now.After(*sub.sub.ExpirationDateTime) {
			delete(s.subs, id)
		}
	}
}

// Subscriptions returns the subscriptions the service holds now, sorted by
// ID (expired ones are gone).
func (s *Server) Subscriptions() []msgraph.Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpiredSubscriptions()
	out := []msgraph.Subscription{}
	for _, k := range sortedKeys(s.subs) {
		out = append(out, s.subs[k].sub)
	}
	return out
}

// RemoveSubscription removes a subscription on the service side, as Graph
// does when it drops one (the app then gets 404 on renewal). It reports
// whether the subscription existed.
func (s *Server) RemoveSubscription(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[id]
	delete(s.subs, id)
	return ok
}

func (s *Server) routeSubscription(method, id string) (string, handler) {
	switch {
	case id == "" && method == http.MethodPost:
		return "subscriptions.Create", s.handleSubscribe
	case id == "" && method == http.MethodGet:
		return "subscriptions.List", s.handleListSubscriptions
	case id != "" && method == http.MethodGet:
		return "subscriptions.Get", func(w *recorder, r *http.Request, _ []byte) *apiError {
			sub := s.subs[id]
			if sub == nil {
				return errf(404, "itemNotFound", "The subscription was not found.")
			}
			return writeJSON(w, 200, sub.sub)
		}
	case id != "" && method == http.MethodPatch:
		return "subscriptions.Renew", func(w *recorder, r *http.Request, body []byte) *apiError {
			sub := s.subs[id]
			if sub == nil {
				return errf(404, "itemNotFound", "The subscription was not found.")
			}
			var b msgraph.Subscription
			if err := json.Unmarshal(body, &b); err != nil || b.ExpirationDateTime == nil {
				return errf(400, "invalidRequest", "expirationDateTime is required.")
			}
			if e := s.checkExpiry(*b.ExpirationDateTime); e != nil {
				return e
			}
			sub.sub.ExpirationDateTime = b.ExpirationDateTime
			return writeJSON(w, 200, sub.sub)
		}
	case id != "" && method == http.MethodDelete:
		return "subscriptions.Delete", func(w *recorder, r *http.Request, _ []byte) *apiError {
			if s.subs[id] == nil {
				return errf(404, "itemNotFound", "The subscription was not found.")
			}
			delete(s.subs, id)
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	return "unknown", nil
}

// listedSubscription is a subscription as GET /subscriptions renders it:
// clientState is always null ("not returned for security purposes").
type listedSubscription struct {
	ID                 string     `json:"id"`
	Resource           string     `json:"resource"`
	ChangeType         string     `json:"changeType"`
	ClientState        *string    `json:"clientState"`
	NotificationURL    string     `json:"notificationUrl"`
	ExpirationDateTime *time.Time `json:"expirationDateTime"`
}

// handleListSubscriptions serves GET /subscriptions as Graph does: the
// app's live subscriptions without their clientState, PageSize at a time,
// further pages behind an absolute @odata.nextLink with an opaque
// $skiptoken. The listing takes no OData query options; the token is the
// last ID served, so that subscriptions deleted between pages do not
// make the next page skip others.
func (s *Server) handleListSubscriptions(w *recorder, r *http.Request, _ []byte) *apiError {
	ids := sortedKeys(s.subs)
	if tok := r.URL.Query().Get("$skiptoken"); tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return errf(400, "invalidRequest", "Invalid $skiptoken.")
		}
		ids = ids[sort.Search(len(ids), func(i int) bool { return ids[i] > string(after) }):]
	}
	out := map[string]any{"@odata.context": s.API.URL + "/v1.0/$metadata#subscriptions"}
	if len(ids) > s.opt.PageSize {
		ids = ids[:s.opt.PageSize]
		out["@odata.nextLink"] = s.API.URL + "/v1.0/subscriptions?$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(ids[len(ids)-1]))
	}
	vals := make([]listedSubscription, 0, len(ids))
	for _, id := range ids {
		sub := s.subs[id].sub
		vals = append(vals, listedSubscription{ID: sub.ID, Resource: sub.Resource, ChangeType: sub.ChangeType,
			NotificationURL: sub.NotificationURL, ExpirationDateTime: sub.ExpirationDateTime})
	}
	out["value"] = vals
	return writeJSON(w, 200, out)
}

func (s *Server) checkExpiry(t time.Time) *apiError {
	now := s.now()
	if !t.After(now) || t.Sub(now) > MaxSubscriptionLifetime {
		return errf(400, "invalidRequest", "Subscription expiration can only be 42300 minutes in the future.")
	}
	return nil
}

// handleSubscribe creates a subscription after the synchronous validation
// handshake: the fake POSTs {notificationUrl}?validationToken=… and wants
// the token back as text/plain with 200.
func (s *Server) handleSubscribe(w *recorder, r *http.Request, body []byte) *apiError {
	var b msgraph.Subscription
	if err := json.Unmarshal(body, &b); err != nil {
		return errf(400, "invalidRequest", "Invalid request body.")
	}
	if b.ChangeType != "updated" {
		return errf(400, "invalidRequest", "Only changeType 'updated' is supported for driveItem resources.")
	}
	if len(b.ClientState) > 128 {
		return errf(400, "invalidRequest", "clientState is limited to 128 characters.")
	}
	if b.ExpirationDateTime == nil {
		return errf(400, "invalidRequest", "expirationDateTime is required.")
	}
	if e := s.checkExpiry(*b.ExpirationDateTime); e != nil {
		return e
	}
	res := strings.TrimSuffix(strings.TrimPrefix(b.Resource, "/"), "/root")
	ref := ""
	switch {
	case res == "me/drive":
		ref = "me"
	case strings.HasPrefix(res, "drives/"):
		ref = "id:" + strings.TrimPrefix(res, "drives/")
	case strings.HasPrefix(res, "users/") && strings.HasSuffix(res, "/drive"):
		ref = "user:" + strings.TrimSuffix(strings.TrimPrefix(res, "users/"), "/drive")
	case strings.HasPrefix(res, "sites/") && strings.HasSuffix(res, "/drive"):
		ref = "site:id:" + strings.TrimSuffix(strings.TrimPrefix(res, "sites/"), "/drive")
	}
	d, e := s.driveFor(ref)
	if ref == "" || e != nil || !strings.HasSuffix(b.Resource, "/root") {
		return errf(400, "invalidRequest", "Subscriptions are supported on a drive's root only.")
	}
	u, err := url.Parse(b.NotificationURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errf(400, "invalidRequest", "notificationUrl must be an https URL.")
	}
	// Validation handshake, without holding the lock: the receiver may be
	// in this process.
	token := "Validation: Testing client application reachability " + randomToken(8)
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	s.mu.Unlock()
	ok := validate(u.String(), token)
	s.mu.Lock()
	if !ok {
		return errf(400, "invalidRequest", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	b.ID = s.newGUID()
	s.subs[b.ID] = &subscription{sub: b, drive: d.id}
	return writeJSON(w, 201, b)
}

func validate(u, token string) bool {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post(u, "text/plain", nil)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == 200 && string(got) == token &&
		strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain")
}

// signal wakes the delivery loop (the caller holds the lock).
func (s *Server) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// deliverLoop posts change notifications for drives that changed. Changes
// are coalesced, as Graph does: notifications carry no detail.
func (s *Server) deliverLoop() {
	defer s.wg.Done()
	seen := map[string]int64{} // subscription -> drive seq notified
	c := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-s.done:
			return
		case <-s.notify:
		}
		type delivery struct {
			url  string
			body []byte
		}
		var out []delivery
		s.mu.Lock()
		now := s.now()
		for _, id := range sortedKeys(s.subs) {
			sub := s.subs[id]
			d := s.drives[sub.drive]
			if d == nil || seen[id] >= d.seq || now.After(*sub.sub.ExpirationDateTime) {
				continue
			}
			seen[id] = d.seq
			body, _ := json.Marshal(msgraph.ChangeNotificationCollection{Value: []msgraph.ChangeNotification{{
				SubscriptionID: id, SubscriptionExpirationDateTime: sub.sub.ExpirationDateTime,
				ClientState: sub.sub.ClientState, ChangeType: "updated", Resource: sub.sub.Resource, TenantID: s.opt.Tenant,
			}}})
			out = append(out, delivery{sub.sub.NotificationURL, body})
		}
		s.mu.Unlock()
		for _, d := range out {
			resp, err := c.Post(d.url, "application/json", bytes.NewReader(d.body))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
}

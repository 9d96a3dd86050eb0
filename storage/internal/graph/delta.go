package graph

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// DeltaPage is one page of a drive's delta.
type DeltaPage struct {
	Items     []DriveItem `json:"value"`
	NextLink  string      `json:"@odata.nextLink"`
	DeltaLink string      `json:"@odata.deltaLink"`
}

// DeltaURL is the delta of a drive's root from the beginning (a full
// enumeration) when token is empty, "latest" for only what changes from
// now on, or a previous token.
func (c *Client) DeltaURL(driveID, token string) string {
	q := url.Values{"$top": {strconv.Itoa(c.cfg.PageSize)}}
	if token != "" {
		q.Set("token", token)
	}
	return c.apiURL("/drives/"+esc(driveID)+"/root/delta", q)
}

// Delta fetches one page from link (a DeltaURL, a nextLink or a
// deltaLink; links are followed verbatim but only on the Graph host). A
// link the service no longer honours gives an *Error matching
// storage.ErrCursorExpired whose Location is a fresh enumeration link.
func (c *Client) Delta(ctx context.Context, link string) (*DeltaPage, error) {
	var p DeltaPage
	if err := c.getJSON(ctx, link, &p); err != nil {
		return nil, err
	}
	if p.NextLink == "" && p.DeltaLink == "" {
		return nil, &Error{StatusCode: 200, Code: "invalidResponse", Op: "GET delta", Message: "a delta page without next or delta link"}
	}
	return &p, nil
}

// Subscribe creates a change-notification subscription (changeType
// "updated") on resource, e.g. "/drives/{id}/root". Graph validates
// notificationURL synchronously; serve a Notifier there first.
func (c *Client) Subscribe(ctx context.Context, resource, notificationURL, clientState string, expires time.Time) (*Subscription, error) {
	exp := expires.UTC()
	body := Subscription{ChangeType: "updated", Resource: resource, NotificationURL: notificationURL, ClientState: clientState, ExpirationDateTime: &exp}
	_, raw, err := c.do(ctx, request{method: http.MethodPost, url: c.apiURL("/subscriptions", nil), body: body})
	if err != nil {
		return nil, err
	}
	var s Subscription
	return &s, c.decode(raw, &s, "POST /subscriptions")
}

// RenewSubscription moves a subscription's expiration.
func (c *Client) RenewSubscription(ctx context.Context, id string, expires time.Time) (*Subscription, error) {
	exp := expires.UTC()
	_, raw, err := c.do(ctx, request{method: http.MethodPatch, url: c.apiURL("/subscriptions/"+esc(id), nil),
		body: map[string]any{"expirationDateTime": exp}})
	if err != nil {
		return nil, err
	}
	var s Subscription
	return &s, c.decode(raw, &s, "PATCH /subscriptions")
}

// DeleteSubscription removes a subscription.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: c.apiURL("/subscriptions/"+esc(id), nil)})
	return err
}

// Notifier receives Graph change notifications: mount it at the
// notificationUrl of a subscription. It answers the validation handshake,
// checks clientState, and wakes whoever watches it. Notifications carry no
// detail; the watcher runs delta.
type Notifier struct {
	// ClientState is the secret given to Subscribe; notifications with any
	// other value are ignored.
	ClientState string

	mu       sync.Mutex
	watchers map[chan struct{}]struct{}
}

// ServeHTTP answers the validation handshake and notification deliveries.
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok)
		return
	}
	var body ChangeNotificationCollection
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		http.Error(w, "malformed notification", http.StatusBadRequest)
		return
	}
	valid := false
	for _, v := range body.Value {
		if subtle.ConstantTimeCompare([]byte(v.ClientState), []byte(n.ClientState)) == 1 {
			valid = true
		}
	}
	if valid {
		n.wake()
	}
	w.WriteHeader(http.StatusAccepted)
}

func (n *Notifier) wake() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.watchers {
		select {
		case ch <- struct{}{}:
		default: // coalesced
		}
	}
}

// Watch returns a channel that receives a value whenever a valid
// notification arrived; it is closed when ctx is done.
func (n *Notifier) Watch(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	if n.watchers == nil {
		n.watchers = map[chan struct{}]struct{}{}
	}
	n.watchers[ch] = struct{}{}
	n.mu.Unlock()
	out := make(chan struct{})
	go func() {
		defer close(out)
		defer func() {
			n.mu.Lock()
			delete(n.watchers, ch)
			n.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

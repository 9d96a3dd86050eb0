package msgraph

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/procoresync/procoresync/internal/wake"
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
	q := url.Values{"$top": {strconv.Itoa(c.opts.PageSize)}}
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

// DeltaAll reads every page of a drive's delta from link (from DeltaURL
// or an earlier delta link) to the next delta link, returning the
// items (last report of each ID wins, in first-seen order) and the delta
// link. A next link seen before, or more than Options.MaxPages pages, ends it with
// an error.
func (c *Client) DeltaAll(ctx context.Context, link string) ([]DriveItem, string, error) {
	var order []string
	items := map[string]DriveItem{}
	pages := c.newPageGuard("GET delta")
	for {
		if err := pages.next(ctx, link); err != nil {
			return nil, "", err
		}
		p, err := c.Delta(ctx, link)
		if err != nil {
			return nil, "", err
		}
		for _, it := range p.Items {
			if _, seen := items[it.ID]; !seen {
				order = append(order, it.ID)
			}
			items[it.ID] = it
		}
		if p.DeltaLink != "" {
			out := make([]DriveItem, 0, len(order))
			for _, id := range order {
				out = append(out, items[id])
			}
			return out, p.DeltaLink, nil
		}
		link = p.NextLink
	}
}

// subscriptionChangeType is the change type Subscribe asks for, the only
// one Graph supports on a drive's root.
const subscriptionChangeType = "updated"

// Subscribe creates a change-notification subscription (changeType
// "updated") on resource, e.g. "/drives/{id}/root". Graph validates
// notificationURL synchronously; serve a Notifier there first.
func (c *Client) Subscribe(ctx context.Context, resource, notificationURL, clientState string, expires time.Time) (*Subscription, error) {
	exp := expires.UTC()
	body := Subscription{ChangeType: subscriptionChangeType, Resource: resource, NotificationURL: notificationURL, ClientState: clientState, ExpirationDateTime: &exp}
	_, raw, err := c.do(ctx, request{method: http.MethodPost, url: c.apiURL("/subscriptions", nil), body: body})
	if err != nil {
		return nil, err
	}
	var s Subscription
	return &s, c.decode(raw, &s, "POST /subscriptions")
}

// Subscriptions lists the change-notification subscriptions the app can
// see (GET /subscriptions), following @odata.nextLink: with application
// permissions those the app created for itself or any user of the tenant,
// with delegated permissions those it created for the signed-in user. The
// service never returns a subscription's clientState (ClientState is
// empty), and NotificationURL may carry a secret.
func (c *Client) Subscriptions(ctx context.Context) iter.Seq2[Subscription, error] {
	return nextLinkPages[Subscription](ctx, c, c.apiURL("/subscriptions", nil), "GET /subscriptions", false)
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
//
// ClientState is required: a Notifier without it refuses to watch (Watch
// returns an error) and answers every delivery 500 without waking anyone,
// since anybody could forge a notification with an empty clientState.
type Notifier struct {
	// ClientState is the secret given to Subscribe; notifications with any
	// other value are ignored. Required; at most 128 characters.
	ClientState string

	watchers wake.Broadcaster
}

// MaxNotificationBody bounds a notification delivery's body (Graph sends
// batches of up to a few hundred small notifications).
const MaxNotificationBody = 1 << 20

// maxValidationToken bounds the validation token echoed back (Graph's
// are about a hundred characters).
const maxValidationToken = 4096

// ErrNoClientState is the error of a Notifier or a kept subscription
// without a clientState secret.
var ErrNoClientState = errors.New("graph: Notifier.ClientState is empty: set the subscription's clientState secret")

// NewNotifier returns a Notifier for clientState, which must be set and at
// most 128 characters long (Graph's limit).
func NewNotifier(clientState string) (*Notifier, error) {
	if err := checkClientState(clientState); err != nil {
		return nil, err
	}
	return &Notifier{ClientState: clientState}, nil
}

func checkClientState(s string) error {
	if s == "" {
		return ErrNoClientState
	}
	if len(s) > 128 {
		return errors.New("graph: a subscription's clientState is limited to 128 characters")
	}
	return nil
}

// ServeHTTP answers the validation handshake and notification deliveries.
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := checkClientState(n.ClientState); err != nil {
		http.Error(w, "notification endpoint not configured", http.StatusInternalServerError)
		return
	}
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		if len(tok) > maxValidationToken {
			http.Error(w, "validation token too long", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, tok)
		return
	}
	var body ChangeNotificationCollection
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxNotificationBody))
	if err := dec.Decode(&body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "notification too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "malformed notification", http.StatusBadRequest)
		return
	}
	want := sha256.Sum256([]byte(n.ClientState))
	valid := false
	for _, v := range body.Value {
		// Hashes of equal length, compared in constant time: neither the
		// content nor the length of the secret leaks through timing.
		got := sha256.Sum256([]byte(v.ClientState))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			valid = true
		}
	}
	if valid {
		n.watchers.Notify()
	}
	w.WriteHeader(http.StatusAccepted)
}

// Watch returns a channel that receives a value whenever a valid
// notification arrived; it is closed when ctx is done. It fails with
// ErrNoClientState when ClientState is empty.
func (n *Notifier) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := checkClientState(n.ClientState); err != nil {
		return nil, err
	}
	return n.watchers.Watch(ctx), nil
}

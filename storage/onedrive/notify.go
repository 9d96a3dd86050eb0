package onedrive

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/procoresync/procoresync/storage/internal/graph"
)

// Notifier receives Graph change notifications: mount it at the
// subscription's notificationUrl. It answers Graph's validation
// handshake, and wakes its watchers for every delivery that carries the
// subscription's clientState (compared in constant time; other
// deliveries are ignored). Bodies are bounded (1 MiB). Make it with
// NewNotifier; it is safe for concurrent use.
type Notifier struct {
	n *graph.Notifier
}

// NewNotifier returns a Notifier for clientState, the secret given to
// Subscribe or KeepSubscription that every notification carries. It must
// be set (else ErrNoClientState) and at most 128 characters long.
func NewNotifier(clientState string) (*Notifier, error) {
	n, err := graph.NewNotifier(clientState)
	if err != nil {
		return nil, err
	}
	return &Notifier{n: n}, nil
}

// ErrNoClientState is the error of a Notifier or a kept subscription
// without a clientState secret.
var ErrNoClientState = graph.ErrNoClientState

// ServeHTTP answers the validation handshake (echoing validationToken)
// and notification deliveries (202).
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) { n.n.ServeHTTP(w, r) }

// Watch returns a channel that receives a value after valid
// notifications (several in a row may give one value); it is closed when
// ctx is done.
func (n *Notifier) Watch(ctx context.Context) (<-chan struct{}, error) { return n.n.Watch(ctx) }

// Subscription is a Graph change-notification subscription (POST
// /subscriptions).
type Subscription struct {
	// ID names the subscription.
	ID string
	// ChangeType is "updated", the only change type drives support.
	ChangeType string
	// NotificationURL is where Graph delivers.
	NotificationURL string
	// Resource is what is watched: the drive's root, /drives/{id}/root.
	Resource string
	// ExpirationDateTime is when the subscription ends unless renewed.
	ExpirationDateTime time.Time
	// ClientState is the secret each notification carries.
	ClientState string
}

func subscription(s *graph.Subscription) *Subscription {
	out := &Subscription{ID: s.ID, ChangeType: s.ChangeType, NotificationURL: s.NotificationURL,
		Resource: s.Resource, ClientState: s.ClientState}
	if s.ExpirationDateTime != nil {
		out.ExpirationDateTime = *s.ExpirationDateTime
	}
	return out
}

// MaxSubscriptionLifetime is the longest expiration Graph accepts for a
// drive subscription (42,300 minutes, just under 30 days).
const MaxSubscriptionLifetime = 42300 * time.Minute

// DefaultSubscriptionLifetime is the lifetime KeepSubscription asks for
// unless told otherwise: three days, renewed after two, so that a
// subscription a crashed process leaves behind stops soon.
const DefaultSubscriptionLifetime = 72 * time.Hour

// SubscriptionSpec describes the change-notification subscription that
// KeepSubscription keeps alive.
type SubscriptionSpec struct {
	// Resource is what to watch (default: the drive's root,
	// /drives/{id}/root, the only resource Graph supports for OneDrive
	// for Business and SharePoint).
	Resource string
	// NotificationURL is where Graph delivers (serve a Notifier there
	// first). It may carry a secret; it is never logged or put in errors
	// or events. Required.
	NotificationURL string
	// ClientState is the secret Graph echoes in each notification (the
	// Notifier's). Required (at most 128 characters); it is never logged.
	ClientState string
	// Lifetime is the expiration asked for at each creation and renewal
	// (default DefaultSubscriptionLifetime, at most
	// MaxSubscriptionLifetime). The subscription is renewed when two
	// thirds of the lifetime the service granted have passed.
	Lifetime time.Duration
	// RetryWaitMin and RetryWaitMax bound the exponential back-off between
	// failed attempts (default 1 minute and 30 minutes); a longer
	// Retry-After from the service wins.
	RetryWaitMin, RetryWaitMax time.Duration
	// DeleteTimeout bounds the best-effort delete of the subscription
	// when the keep-alive ends (default 5 seconds).
	DeleteTimeout time.Duration
	// OnEvent, when set, is told every change of state. It runs on the
	// keep-alive's goroutine; it must not block for long.
	OnEvent func(SubscriptionEvent)
}

// graph returns the spec as the Graph client takes it.
func (s SubscriptionSpec) graph() graph.SubscriptionSpec {
	g := graph.SubscriptionSpec{Resource: s.Resource, NotificationURL: s.NotificationURL, ClientState: s.ClientState,
		Lifetime: s.Lifetime, RetryWaitMin: s.RetryWaitMin, RetryWaitMax: s.RetryWaitMax, DeleteTimeout: s.DeleteTimeout}
	if on := s.OnEvent; on != nil {
		g.OnEvent = func(e graph.SubscriptionEvent) {
			on(SubscriptionEvent{State: SubscriptionState(e.State), ID: e.ID, Expires: e.Expires,
				Recreated: e.Recreated, Err: e.Err, RetryIn: e.RetryIn})
		}
	}
	return g
}

// SubscriptionState is what happened to a kept subscription.
type SubscriptionState string

// The states a SubscriptionEvent reports.
const (
	// SubscriptionCreated: the subscription exists (first time, or again
	// after it was lost: Recreated). Notifications between the loss and
	// now were missed; read the change feed to catch up.
	SubscriptionCreated SubscriptionState = "created"
	// SubscriptionRenewed: the expiration moved forward.
	SubscriptionRenewed SubscriptionState = "renewed"
	// SubscriptionLost: the service no longer has the subscription (a
	// renewal answered 404: it expired or was removed); it is re-created
	// at once.
	SubscriptionLost SubscriptionState = "lost"
	// SubscriptionFailing: a creation or renewal failed; the next attempt
	// is in RetryIn.
	SubscriptionFailing SubscriptionState = "failing"
	// SubscriptionDeleted: the keep-alive ended and deleted the
	// subscription (Err is set when the best-effort delete failed).
	SubscriptionDeleted SubscriptionState = "deleted"
)

// SubscriptionEvent reports a change of a kept subscription's state. It
// holds no secret: neither the notification URL nor the client state.
type SubscriptionEvent struct {
	State SubscriptionState
	// ID is the subscription's ID (empty while none exists).
	ID string
	// Expires is the subscription's expiration as the service granted it.
	Expires time.Time
	// Recreated is set on SubscriptionCreated after a loss.
	Recreated bool
	// Err is the failure (SubscriptionFailing, SubscriptionDeleted).
	Err error
	// RetryIn is the wait before the next attempt (SubscriptionFailing).
	RetryIn time.Duration
}

// LogValue renders the event for log/slog.
func (e SubscriptionEvent) LogValue() slog.Value {
	return graph.SubscriptionEvent{State: graph.SubscriptionState(e.State), ID: e.ID, Expires: e.Expires,
		Recreated: e.Recreated, Err: e.Err, RetryIn: e.RetryIn}.LogValue()
}

package msgraph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// MaxSubscriptionLifetime is the longest expiration Graph accepts for a
// driveItem subscription (42,300 minutes, just under 30 days).
const MaxSubscriptionLifetime = 42300 * time.Minute

// DefaultSubscriptionLifetime is the lifetime KeepSubscription asks for
// unless told otherwise: three days, renewed after two, so that a
// subscription a crashed process leaves behind stops soon.
const DefaultSubscriptionLifetime = 72 * time.Hour

// DriveRootResource is the subscription resource of drive driveID's root
// folder, /drives/{id}/root: Graph accepts change-notification
// subscriptions on OneDrive for Business and SharePoint drives only there,
// whatever folder a Storage is rooted at.
func DriveRootResource(driveID string) string { return "/drives/" + driveID + "/root" }

// SubscriptionSpec describes a change-notification subscription that
// KeepSubscription keeps alive.
type SubscriptionSpec struct {
	// Resource is what to watch: a drive's root folder,
	// DriveRootResource(driveID), the only resource Graph supports for
	// OneDrive for Business and SharePoint. Required.
	Resource string
	// NotificationURL is where Graph delivers (serve a Notifier there
	// first). It may carry a secret; it is never logged or put in errors
	// or events. Required.
	NotificationURL string
	// ClientState is the secret Graph echoes in each notification (the
	// Notifier's ClientState). Required (at most 128 characters); it is
	// never logged.
	ClientState string
	// Lifetime is the expiration asked for at each creation and renewal
	// (default DefaultSubscriptionLifetime, at most
	// MaxSubscriptionLifetime). The subscription is renewed when two thirds
	// of the lifetime the service granted have passed.
	Lifetime time.Duration
	// RetryWaitMin and RetryWaitMax bound the exponential back-off between
	// failed attempts (default 1 minute and 30 minutes); a longer
	// Retry-After from the service wins. The Client's own per-request
	// retries come first.
	RetryWaitMin, RetryWaitMax time.Duration
	// DeleteTimeout bounds the best-effort delete of the subscription
	// when the keep-alive ends (default DefaultDeleteTimeout). The delete
	// is tried once: a subscription left behind expires on its own.
	DeleteTimeout time.Duration
	// OnEvent, when set, is told every change of state. It runs on the
	// keep-alive's goroutine; it must not block for long.
	OnEvent func(SubscriptionEvent)
}

// SubscriptionState is what happened to a kept subscription.
type SubscriptionState string

// The states a SubscriptionEvent reports.
const (
	// SubscriptionCreated: the subscription exists (first time, or again
	// after it was lost: Recreated). Notifications between the loss and
	// now were missed; run delta to catch up.
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
	attrs := []slog.Attr{slog.String("state", string(e.State))}
	if e.ID != "" {
		attrs = append(attrs, slog.String("id", e.ID))
	}
	if !e.Expires.IsZero() {
		attrs = append(attrs, slog.Time("expires", e.Expires))
	}
	if e.Recreated {
		attrs = append(attrs, slog.Bool("recreated", true))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("err", e.Err.Error()))
	}
	if e.RetryIn > 0 {
		attrs = append(attrs, slog.Duration("retry_in", e.RetryIn))
	}
	return slog.GroupValue(attrs...)
}

// DefaultDeleteTimeout bounds the best-effort delete when the keep-alive
// ends, so that a failing or stalled service does not hold up shutdown.
const DefaultDeleteTimeout = 5 * time.Second

// KeepSubscription creates a change-notification subscription and keeps it
// alive until ctx is done: it renews it when two thirds of its lifetime
// have passed, re-creates it when a renewal answers 404 (the service let
// it expire or removed it), retries failures with exponential back-off
// (honouring Retry-After), and when ctx ends deletes it (best effort: one
// attempt, bounded by spec.DeleteTimeout) and returns ctx's error. State changes go to
// spec.OnEvent.
//
// If the very first creation fails with an error that retrying cannot fix
// (a 4xx other than 408 and 429: an unknown drive, an unsupported
// resource, a notification URL that fails the validation handshake, a
// missing permission),
// KeepSubscription returns that error at once. Once a subscription has
// existed, every failure is retried.
//
// The Client's clock (Options.Now and Options.Sleep) times the renewals.
func (c *Client) KeepSubscription(ctx context.Context, spec SubscriptionSpec) error {
	if spec.Resource == "" || spec.NotificationURL == "" {
		return errors.New("graph: KeepSubscription needs a Resource and a NotificationURL")
	}
	if err := checkClientState(spec.ClientState); err != nil {
		return err
	}
	if spec.Lifetime <= 0 {
		spec.Lifetime = DefaultSubscriptionLifetime
	}
	// A minute of margin for the difference between our clock and Graph's.
	spec.Lifetime = min(spec.Lifetime, MaxSubscriptionLifetime-time.Minute)
	if spec.RetryWaitMin <= 0 {
		spec.RetryWaitMin = time.Minute
	}
	if spec.RetryWaitMax <= 0 {
		spec.RetryWaitMax = 30 * time.Minute
	}
	spec.RetryWaitMax = max(spec.RetryWaitMax, spec.RetryWaitMin)
	if spec.DeleteTimeout <= 0 {
		spec.DeleteTimeout = DefaultDeleteTimeout
	}
	k := &keeper{c: c, spec: spec}
	return k.run(ctx)
}

// keeper is the state of one KeepSubscription.
type keeper struct {
	c        *Client
	spec     SubscriptionSpec
	sub      *Subscription // nil while none exists
	expires  time.Time
	existed  bool // a subscription has existed at least once
	failures int  // consecutive failures
}

func (k *keeper) emit(e SubscriptionEvent) {
	if k.spec.OnEvent != nil {
		k.spec.OnEvent(e)
	}
}

func (k *keeper) now() time.Time { return k.c.opts.Now() }

func (k *keeper) run(ctx context.Context) error {
	next := k.now() // when to act next
	for {
		if d := next.Sub(k.now()); d > 0 {
			if err := k.c.opts.Sleep(ctx, d); err != nil || ctx.Err() != nil {
				return k.stop(ctx)
			}
		}
		if ctx.Err() != nil {
			return k.stop(ctx)
		}
		if k.sub == nil {
			s, err := k.c.Subscribe(ctx, k.spec.Resource, k.spec.NotificationURL, k.spec.ClientState, k.now().Add(k.spec.Lifetime))
			if err == nil {
				k.sub, k.failures = s, 0
				k.expires = k.granted(s)
			}
			if ctx.Err() != nil {
				// A creation whose response was lost as ctx ended is not
				// known here; it expires on its own.
				return k.stop(ctx)
			}
			if err != nil {
				err = k.scrub(err)
				if !k.existed && !transient(err) {
					return fmt.Errorf("graph: creating the subscription: %w", err)
				}
				next = k.failed(err, time.Time{})
				continue
			}
			k.emit(SubscriptionEvent{State: SubscriptionCreated, ID: s.ID, Expires: k.expires, Recreated: k.existed})
			k.existed = true
			next = k.renewAt()
			continue
		}
		s, err := k.c.RenewSubscription(ctx, k.sub.ID, k.now().Add(k.spec.Lifetime))
		if ctx.Err() != nil {
			return k.stop(ctx)
		}
		switch {
		case err == nil:
			k.failures = 0
			k.expires = k.granted(s)
			k.emit(SubscriptionEvent{State: SubscriptionRenewed, ID: k.sub.ID, Expires: k.expires})
			next = k.renewAt()
		case isStatus(err, http.StatusNotFound):
			k.emit(SubscriptionEvent{State: SubscriptionLost, ID: k.sub.ID, Expires: k.expires})
			k.sub, k.expires = nil, time.Time{}
			next = k.now()
		default:
			// Keep trying to renew until the subscription would have
			// expired; the attempt after that answers 404 and re-creates.
			next = k.failed(k.scrub(err), k.expires)
		}
	}
}

// granted is the expiration the service granted (what was asked for when
// the response omits it).
func (k *keeper) granted(s *Subscription) time.Time {
	if s != nil && s.ExpirationDateTime != nil {
		return *s.ExpirationDateTime
	}
	return k.now().Add(k.spec.Lifetime)
}

// renewAt is when two thirds of the granted lifetime have passed.
func (k *keeper) renewAt() time.Time {
	now := k.now()
	left := k.expires.Sub(now)
	if left <= 0 {
		return now
	}
	return now.Add(left * 2 / 3)
}

// failed reports a failure and returns when to try again: the back-off or
// the service's Retry-After, whichever is longer, but not after limit
// while limit is ahead.
func (k *keeper) failed(err error, limit time.Time) time.Time {
	wait := k.spec.RetryWaitMin
	for i := 0; i < k.failures && wait < k.spec.RetryWaitMax; i++ {
		wait *= 2
	}
	wait = min(wait, k.spec.RetryWaitMax)
	var ge *Error
	if errors.As(err, &ge) && ge.RetryAfter > wait {
		wait = ge.RetryAfter
	}
	k.failures++
	now := k.now()
	next := now.Add(wait)
	if limit.After(now) && next.After(limit) {
		next = limit
		wait = max(limit.Sub(now), 0)
	}
	ev := SubscriptionEvent{State: SubscriptionFailing, Err: err, RetryIn: wait}
	if k.sub != nil {
		ev.ID, ev.Expires = k.sub.ID, k.expires
	}
	k.emit(ev)
	return next
}

// stop deletes the subscription, if any, and returns ctx's error.
func (k *keeper) stop(ctx context.Context) error {
	if k.sub != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.spec.DeleteTimeout)
		_, _, err := k.c.do(dctx, request{method: http.MethodDelete, url: k.c.apiURL("/subscriptions/"+esc(k.sub.ID), nil), once: true})
		cancel()
		if isStatus(err, http.StatusNotFound) {
			err = nil // gone already
		}
		k.emit(SubscriptionEvent{State: SubscriptionDeleted, ID: k.sub.ID, Expires: k.expires, Err: k.scrub(err)})
		k.sub = nil
	}
	return ctx.Err()
}

// scrub makes sure an error from the service does not echo the
// notification URL or the client state.
func (k *keeper) scrub(err error) error {
	var ge *Error
	if err == nil || !errors.As(err, &ge) {
		return err
	}
	msg := ge.Message
	for _, secret := range []string{k.spec.NotificationURL, k.spec.ClientState} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	if msg == ge.Message {
		return err
	}
	cp := *ge
	cp.Message = msg
	return &cp
}

// isStatus reports whether err is a Graph error with status code.
func isStatus(err error, code int) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.StatusCode == code
}

// transient reports whether retrying may fix err: transport failures,
// timeouts, throttling and server errors.
func transient(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return true
	}
	switch {
	case ge.StatusCode == http.StatusRequestTimeout, ge.StatusCode == http.StatusTooManyRequests, ge.StatusCode >= 500:
		return true
	case ge.StatusCode == http.StatusOK: // a malformed response
		return true
	}
	return false
}

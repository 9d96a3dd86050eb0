package msgraph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	// after it was lost: Recreated), or one that an earlier process left
	// was taken over and renewed (Adopted). Notifications between the loss
	// (or the earlier process's end) and now were missed; run delta to
	// catch up.
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
	// Adopted is set on SubscriptionCreated when the subscription was not
	// created but taken over from an earlier process (see
	// KeepSubscription).
	Adopted bool
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
	if e.Adopted {
		attrs = append(attrs, slog.Bool("adopted", true))
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

// KeepSubscription keeps a change-notification subscription alive until
// ctx is done. It first lists the app's subscriptions (GET /subscriptions,
// every page) and adopts one for the same resource, notification URL and
// change type, such as one a process left behind when it did not end
// cleanly: it renews that one instead of creating another, so that the
// service does not deliver every notification twice (reported as
// SubscriptionCreated with Adopted set), and deletes any further matches
// (best effort). When there is none, or the adopted one cannot be renewed
// (404: it expired or was removed meanwhile), it creates a subscription.
// A listing that fails with an error that retrying may fix is retried
// like a creation; one the service refuses is skipped.
//
// Then it renews the subscription when two thirds of its lifetime have
// passed, re-creates it when a renewal answers 404 (the service let it
// expire or removed it), retries failures with exponential back-off
// (honouring Retry-After), and when ctx ends deletes it (best effort: one
// attempt, bounded by spec.DeleteTimeout) and returns ctx's error. State
// changes go to spec.OnEvent.
//
// The service does not return a subscription's clientState, so adoption
// cannot compare it: when changing spec.ClientState, also change the
// notification URL (or delete the old subscription), or the adopted
// subscription goes on delivering the old client state, which the
// Notifier refuses. Two keep-alives with the same spec share one
// subscription; when one stops and deletes it, the other re-creates it.
//
// If the very first creation fails with an error that retrying cannot fix
// (a 4xx other than 408 and 429: an unknown drive, an unsupported
// resource, a notification URL that fails the validation handshake, a
// missing permission), KeepSubscription returns that error at once. Once a
// subscription has existed, every failure is retried.
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
	listed   bool // the leftovers were looked for
	adopting bool // sub is a leftover not yet renewed
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
		if !k.listed {
			err := k.adopt(ctx)
			if ctx.Err() != nil {
				return k.stop(ctx)
			}
			if err != nil && transient(k.scrub(err)) {
				next = k.failed(k.scrub(err), time.Time{})
				continue
			}
			// A listing the service refuses leaves nothing to adopt: create.
			k.listed, k.failures = true, 0
			next = k.now()
			continue
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
			ev := SubscriptionEvent{State: SubscriptionRenewed, ID: k.sub.ID, Expires: k.expires}
			if k.adopting {
				ev.State, ev.Adopted = SubscriptionCreated, true
				k.adopting, k.existed = false, true
			}
			k.emit(ev)
			next = k.renewAt()
		case k.adopting && (isStatus(err, http.StatusNotFound) || !transient(k.scrub(err))):
			// The leftover is gone (or not ours to renew): create a new
			// subscription as if there had been none.
			k.sub, k.expires, k.adopting = nil, time.Time{}, false
			next = k.now()
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

// adopt lists the app's subscriptions and takes the one that matches the
// spec and expires last as k.sub, to be renewed next; it deletes the other
// matches (best effort). Nothing matching leaves k.sub nil.
func (k *keeper) adopt(ctx context.Context) error {
	var found []Subscription
	for s, err := range k.c.Subscriptions(ctx) {
		if err != nil {
			return err
		}
		if k.matches(s) {
			found = append(found, s)
		}
	}
	if len(found) == 0 {
		return nil
	}
	best := 0
	for i, s := range found {
		if expiresAfter(s, found[best]) {
			best = i
		}
	}
	for i, s := range found {
		if i != best && ctx.Err() == nil {
			_ = k.c.DeleteSubscription(ctx, s.ID) // a leftover not deleted expires on its own
		}
	}
	sub := found[best]
	k.sub, k.adopting = &sub, true
	k.expires = k.now()
	if sub.ExpirationDateTime != nil {
		k.expires = *sub.ExpirationDateTime
	}
	return nil
}

// matches reports whether s is a subscription the spec would create: the
// same resource (a leading slash aside), notification URL and change type.
func (k *keeper) matches(s Subscription) bool {
	return s.ID != "" && s.NotificationURL == k.spec.NotificationURL &&
		strings.TrimPrefix(s.Resource, "/") == strings.TrimPrefix(k.spec.Resource, "/") &&
		sameChangeTypes(s.ChangeType, subscriptionChangeType)
}

// sameChangeTypes compares two comma-separated changeType lists as sets.
func sameChangeTypes(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				m[t] = true
			}
		}
		return m
	}
	return maps.Equal(set(a), set(b))
}

// expiresAfter reports whether a expires after b (an unknown expiration
// counts as the earliest).
func expiresAfter(a, b Subscription) bool {
	switch {
	case a.ExpirationDateTime == nil:
		return false
	case b.ExpirationDateTime == nil:
		return true
	}
	return a.ExpirationDateTime.After(*b.ExpirationDateTime)
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

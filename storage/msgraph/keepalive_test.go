package msgraph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// stepClock is a fake clock that moves only when the test advances it;
// sleepers block until then and announce their sleep on sleeping, so that
// a test knows the keep-alive is idle before it moves time.
type stepClock struct {
	mu       sync.Mutex
	now      time.Time
	waiters  []stepWaiter
	sleeping chan time.Duration
}

type stepWaiter struct {
	at   time.Time
	done chan struct{}
}

func newStepClock() *stepClock {
	return &stepClock{now: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), sleeping: make(chan time.Duration, 64)}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	w := stepWaiter{done: make(chan struct{})}
	c.mu.Lock()
	w.at = c.now.Add(d)
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	c.sleeping <- d
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return nil
	}
}

// Advance moves the clock by d and wakes the sleepers that are due.
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
		} else {
			close(w.done)
		}
	}
	c.waiters = kept
}

// keepEnv is a fake Graph on a step clock, a Notifier behind a
// notification URL that carries a secret, and a running keep-alive.
type keepEnv struct {
	srv     *graphtest.Server
	clock   *stepClock
	c       *msgraph.Client
	n       *msgraph.Notifier
	hookURL string
	events  chan msgraph.SubscriptionEvent
	cancel  context.CancelFunc
	done    chan error
}

const (
	keepState = "client-state-s3cret"
	lifetime  = 72 * time.Hour
)

func newKeepEnv(t *testing.T, start bool, hook http.Handler) *keepEnv {
	t.Helper()
	return newKeepEnvWith(t, start, hook, 0, nil)
}

// newKeepEnvWith is newKeepEnv with the fake's page size (0: its default)
// and the client's transport (nil: the default).
func newKeepEnvWith(t *testing.T, start bool, hook http.Handler, pageSize int, rt http.RoundTripper) *keepEnv {
	t.Helper()
	e := &keepEnv{clock: newStepClock(), n: &msgraph.Notifier{ClientState: keepState},
		events: make(chan msgraph.SubscriptionEvent, 64), done: make(chan error, 1)}
	e.srv = graphtest.NewServer(t, graphtest.Options{Now: e.clock.Now, NoAuth: true, PageSize: pageSize})
	if hook == nil {
		hook = e.n
	}
	h := httptest.NewServer(hook)
	t.Cleanup(h.Close)
	e.hookURL = h.URL + "/notify?key=url-s3cret"
	opts := msgraph.Options{
		BaseURL:     e.srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}),
		RetryMax:    -1, // failures reach the keep-alive at once
		Sleep:       e.clock.Sleep, Now: e.clock.Now,
	}
	if rt != nil {
		opts.HTTPClient = &http.Client{Transport: rt}
	}
	c, err := msgraph.NewClient(opts)
	require.NoError(t, err)
	e.c = c
	if start {
		e.start(t)
	}
	return e
}

func (e *keepEnv) spec() msgraph.SubscriptionSpec {
	return msgraph.SubscriptionSpec{
		Resource: "/drives/" + e.srv.MyDriveID() + "/root", NotificationURL: e.hookURL, ClientState: keepState,
		Lifetime: lifetime, OnEvent: func(ev msgraph.SubscriptionEvent) { e.events <- ev },
	}
}

func (e *keepEnv) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.c.KeepSubscription(ctx, e.spec()) }()
	t.Cleanup(func() {
		cancel()
		<-e.done
	})
}

// next returns the next event, which must be in state want.
func (e *keepEnv) next(t *testing.T, want msgraph.SubscriptionState) msgraph.SubscriptionEvent {
	t.Helper()
	ev := <-e.events
	require.Equal(t, want, ev.State, "event %+v", ev)
	return ev
}

// idle waits until the keep-alive sleeps and returns for how long.
func (e *keepEnv) idle() time.Duration { return <-e.clock.sleeping }

// only returns the fake's one subscription.
func (e *keepEnv) only(t *testing.T) msgraph.Subscription {
	t.Helper()
	subs := e.srv.Subscriptions()
	require.Len(t, subs, 1)
	return subs[0]
}

func TestKeepSubscriptionRenewsBeforeExpiry(t *testing.T) {
	e := newKeepEnv(t, true, nil)
	t0 := e.clock.Now()
	watch, err := e.n.Watch(t.Context())
	require.NoError(t, err)

	created := e.next(t, msgraph.SubscriptionCreated)
	require.False(t, created.Recreated)
	require.Equal(t, t0.Add(lifetime), created.Expires)
	sub := e.only(t)
	require.Equal(t, created.ID, sub.ID)

	_, err = e.srv.WebUpload(e.srv.MyDriveID(), "before.txt", []byte("x"))
	require.NoError(t, err)
	<-watch // delivered to the Notifier

	expires := created.Expires
	for range 2 { // the second renewal happens after the first expiry would have been
		d := e.idle()
		require.Equal(t, lifetime*2/3, d, "renewal at two thirds of the lifetime")
		e.clock.Advance(d)
		renewed := e.next(t, msgraph.SubscriptionRenewed)
		now := e.clock.Now()
		require.True(t, now.Before(expires), "renewed at %s, before the expiry %s", now, expires)
		require.Equal(t, created.ID, renewed.ID, "the same subscription")
		require.Equal(t, now.Add(lifetime), renewed.Expires)
		require.Equal(t, renewed.Expires, *e.only(t).ExpirationDateTime)
		expires = renewed.Expires
	}
	require.True(t, e.clock.Now().After(created.Expires))

	_, err = e.srv.WebUpload(e.srv.MyDriveID(), "after.txt", []byte("x"))
	require.NoError(t, err)
	<-watch // notifications keep arriving past the first expiration
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Create"))
	require.Equal(t, 2, e.srv.CallCount("subscriptions.Renew"))
}

func TestKeepSubscriptionRecreates(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(e *keepEnv, id string, renewIn time.Duration) // then the keep-alive wakes
	}{
		{"expired on the service's clock", func(e *keepEnv, _ string, renewIn time.Duration) {
			e.clock.Advance(lifetime + time.Hour) // e.g. the host slept through the renewal
		}},
		{"removed by the service", func(e *keepEnv, id string, renewIn time.Duration) {
			if !e.srv.RemoveSubscription(id) {
				panic("no subscription " + id)
			}
			e.clock.Advance(renewIn)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newKeepEnv(t, true, nil)
			watch, err := e.n.Watch(t.Context())
			require.NoError(t, err)
			first := e.next(t, msgraph.SubscriptionCreated)
			tc.lose(e, first.ID, e.idle())

			lost := e.next(t, msgraph.SubscriptionLost)
			require.Equal(t, first.ID, lost.ID)
			again := e.next(t, msgraph.SubscriptionCreated)
			require.True(t, again.Recreated)
			require.NotEqual(t, first.ID, again.ID)
			require.Equal(t, e.clock.Now().Add(lifetime), again.Expires)
			require.Equal(t, again.ID, e.only(t).ID)

			_, err = e.srv.WebUpload(e.srv.MyDriveID(), "after.txt", []byte("x"))
			require.NoError(t, err)
			<-watch
			require.Equal(t, lifetime*2/3, e.idle(), "renewed on schedule again")
		})
	}
}

func TestKeepSubscriptionRetries(t *testing.T) {
	e := newKeepEnv(t, false, nil)
	// The first creation meets a server error, then throttling.
	e.srv.Inject(graphtest.Fault{Op: "subscriptions.Create", Status: http.StatusInternalServerError})
	e.srv.Inject(graphtest.Fault{Op: "subscriptions.Create", Status: http.StatusServiceUnavailable, RetryAfter: 5 * time.Minute})
	e.start(t)

	f := e.next(t, msgraph.SubscriptionFailing)
	require.Equal(t, time.Minute, f.RetryIn, "back-off starts at RetryWaitMin")
	require.ErrorContains(t, f.Err, "500")
	e.clock.Advance(e.idle())
	f = e.next(t, msgraph.SubscriptionFailing)
	require.Equal(t, 5*time.Minute, f.RetryIn, "Retry-After beats the 2-minute back-off")
	e.clock.Advance(e.idle())
	created := e.next(t, msgraph.SubscriptionCreated)
	require.False(t, created.Recreated)

	// A renewal that keeps failing is retried with a growing back-off,
	// never past the expiry.
	e.srv.Inject(graphtest.Fault{Op: "subscriptions.Renew", Status: http.StatusBadGateway, Times: 5})
	e.clock.Advance(e.idle()) // 48 h: renewal due
	waits := []time.Duration{}
	for range 5 {
		f := e.next(t, msgraph.SubscriptionFailing)
		require.Equal(t, created.ID, f.ID)
		waits = append(waits, f.RetryIn)
		e.clock.Advance(e.idle())
	}
	require.Equal(t, []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}, waits)
	renewed := e.next(t, msgraph.SubscriptionRenewed)
	require.Equal(t, created.ID, renewed.ID)
	require.Equal(t, 3, e.srv.CallCount("subscriptions.Create"))
}

func TestKeepSubscriptionStops(t *testing.T) {
	t.Run("cancellation deletes the subscription", func(t *testing.T) {
		e := newKeepEnv(t, true, nil)
		created := e.next(t, msgraph.SubscriptionCreated)
		e.idle()
		e.cancel()
		require.ErrorIs(t, <-e.done, context.Canceled)
		e.done <- nil // for the cleanup
		deleted := e.next(t, msgraph.SubscriptionDeleted)
		require.Equal(t, created.ID, deleted.ID)
		require.NoError(t, deleted.Err)
		require.Empty(t, e.srv.Subscriptions())
		require.Equal(t, 1, e.srv.CallCount("subscriptions.Delete"))
	})
	t.Run("cancellation while failing has nothing to delete", func(t *testing.T) {
		e := newKeepEnv(t, false, nil)
		e.srv.Inject(graphtest.Fault{Op: "subscriptions.Create", Status: http.StatusServiceUnavailable})
		e.start(t)
		e.next(t, msgraph.SubscriptionFailing)
		e.idle()
		e.cancel()
		require.ErrorIs(t, <-e.done, context.Canceled)
		e.done <- nil
		require.Zero(t, e.srv.CallCount("subscriptions.Delete"))
	})
	t.Run("a first creation that cannot succeed is returned, without secrets", func(t *testing.T) {
		// The endpoint fails Graph's validation handshake.
		e := newKeepEnv(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusForbidden)
		}))
		err := e.c.KeepSubscription(t.Context(), e.spec())
		require.Error(t, err)
		require.ErrorContains(t, err, "400")
		for _, secret := range []string{"url-s3cret", keepState} {
			require.False(t, strings.Contains(err.Error(), secret), "%v leaks %s", err, secret)
		}
		require.Empty(t, e.srv.Subscriptions())
	})
	t.Run("an invalid spec", func(t *testing.T) {
		e := newKeepEnv(t, false, nil)
		require.Error(t, e.c.KeepSubscription(t.Context(), msgraph.SubscriptionSpec{Resource: "/drives/x/root"}))
	})
}

// stallDeletes is a transport that holds every DELETE of a subscription
// until the request's context ends, and counts them.
type stallDeletes struct {
	next    http.RoundTripper
	deletes atomic.Int32
}

func (s *stallDeletes) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/subscriptions/") {
		s.deletes.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return s.next.RoundTrip(r)
}

func TestKeepSubscriptionShutdownIsBounded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stall bool
	}{{"a failing delete is tried once", false}, {"a stalled delete is cut off", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := graphtest.NewServer(t, graphtest.Options{NoAuth: true})
			n := &msgraph.Notifier{ClientState: keepState}
			hook := httptest.NewServer(n)
			t.Cleanup(hook.Close)
			tr := &stallDeletes{next: http.DefaultTransport}
			cfg := msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}),
				RetryWaitMin: 20 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond}
			if tc.stall {
				cfg.HTTPClient = &http.Client{Transport: tr}
			}
			c, err := msgraph.NewClient(cfg)
			require.NoError(t, err)
			events := make(chan msgraph.SubscriptionEvent, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- c.KeepSubscription(ctx, msgraph.SubscriptionSpec{Resource: "/drives/" + srv.MyDriveID() + "/root",
					NotificationURL: hook.URL, ClientState: keepState, DeleteTimeout: 300 * time.Millisecond,
					OnEvent: func(e msgraph.SubscriptionEvent) { events <- e }})
			}()
			require.Equal(t, msgraph.SubscriptionCreated, (<-events).State)
			srv.Inject(graphtest.Fault{Op: "subscriptions.Delete", Status: 500, Times: 100})
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
			case <-time.After(10 * time.Second):
				t.Fatal("KeepSubscription's shutdown: still blocked after 10 s")
			}
			ev := <-events
			require.Equal(t, msgraph.SubscriptionDeleted, ev.State)
			require.Error(t, ev.Err)
			if tc.stall {
				require.Equal(t, int32(1), tr.deletes.Load())
			} else {
				require.Equal(t, 1, srv.CallCount("subscriptions.Delete"), "no retries when shutting down")
			}
		})
	}
}

func TestKeepSubscriptionRequiresClientState(t *testing.T) {
	e := newKeepEnv(t, false, nil)
	spec := e.spec()
	spec.ClientState = ""
	require.ErrorIs(t, e.c.KeepSubscription(t.Context(), spec), msgraph.ErrNoClientState)
	require.Zero(t, e.srv.CallCount("subscriptions.Create"))
}

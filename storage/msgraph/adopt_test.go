package msgraph_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// leave creates a subscription as a process that then dies would: nobody
// renews or deletes it.
func (e *keepEnv) leave(t *testing.T, resource, notificationURL string, lifetime time.Duration) msgraph.Subscription {
	t.Helper()
	s, err := e.c.Subscribe(t.Context(), resource, notificationURL, keepState, e.clock.Now().Add(lifetime))
	require.NoError(t, err)
	return *s
}

func ids(subs []msgraph.Subscription) []string {
	out := []string{}
	for _, s := range subs {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func TestKeepSubscriptionAdoptsWhatACrashLeft(t *testing.T) {
	e := newKeepEnv(t, false, nil)

	// The first process: its keep-alive is cancelled while its delete
	// cannot get through, as when a process is killed.
	crashed, err := msgraph.NewClient(msgraph.Options{
		BaseURL: e.srv.BaseURL(), TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}),
		RetryMax: -1, Sleep: e.clock.Sleep, Now: e.clock.Now,
		HTTPClient: &http.Client{Transport: &stallDeletes{next: http.DefaultTransport}},
	})
	require.NoError(t, err)
	spec := e.spec()
	first := make(chan msgraph.SubscriptionEvent, 8)
	spec.OnEvent = func(ev msgraph.SubscriptionEvent) { first <- ev }
	spec.DeleteTimeout = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- crashed.KeepSubscription(ctx, spec) }()
	created := <-first
	require.Equal(t, msgraph.SubscriptionCreated, created.State)
	e.idle()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Error(t, (<-first).Err, "the delete did not get through")
	require.Equal(t, created.ID, e.only(t).ID, "left behind")

	// The next process adopts it.
	e.clock.Advance(time.Hour)
	watch, err := e.n.Watch(t.Context())
	require.NoError(t, err)
	e.start(t)
	adopted := e.next(t, msgraph.SubscriptionCreated)
	require.True(t, adopted.Adopted)
	require.False(t, adopted.Recreated)
	require.Equal(t, created.ID, adopted.ID)
	require.Equal(t, e.clock.Now().Add(lifetime), adopted.Expires, "renewed")
	for _, secret := range []string{"url-s3cret", keepState} {
		require.NotContains(t, adopted.LogValue().String(), secret)
	}
	sub := e.only(t)
	require.Equal(t, created.ID, sub.ID)
	require.Equal(t, adopted.Expires, *sub.ExpirationDateTime)
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Create"), "no second subscription")
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Renew"))

	_, err = e.srv.WebUpload(e.srv.MyDriveID(), "after.txt", []byte("x"))
	require.NoError(t, err)
	<-watch
	require.Equal(t, lifetime*2/3, e.idle(), "renewed on schedule from now on")
	e.clock.Advance(lifetime * 2 / 3)
	renewed := e.next(t, msgraph.SubscriptionRenewed)
	require.Equal(t, created.ID, renewed.ID)

	// Stopping cleanly deletes the adopted subscription.
	e.idle()
	e.cancel()
	require.ErrorIs(t, <-e.done, context.Canceled)
	e.done <- nil
	require.Equal(t, created.ID, e.next(t, msgraph.SubscriptionDeleted).ID)
	require.Empty(t, e.srv.Subscriptions())
}

func TestKeepSubscriptionAdoptsOneOfSeveral(t *testing.T) {
	// One subscription a page: the matches and the others are spread over
	// five pages.
	e := newKeepEnvWith(t, false, nil, 1, nil)
	res := e.spec().Resource
	e.leave(t, res, e.hookURL, time.Hour)
	b := e.leave(t, res, e.hookURL, 3*time.Hour) // expires last: kept
	e.leave(t, res, e.hookURL, 2*time.Hour)
	otherURL := e.leave(t, res, strings.Replace(e.hookURL, "/notify?", "/other?", 1), time.Hour)
	otherRes := e.leave(t, "/me/drive/root", e.hookURL, time.Hour)
	e.srv.ResetCalls()

	e.start(t)
	adopted := e.next(t, msgraph.SubscriptionCreated)
	require.True(t, adopted.Adopted)
	require.Equal(t, b.ID, adopted.ID)
	require.Equal(t, ids([]msgraph.Subscription{b, otherURL, otherRes}), ids(e.srv.Subscriptions()),
		"the other matches deleted, the subscriptions for another URL or resource left alone")
	require.Equal(t, 5, e.srv.CallCount("subscriptions.List"), "every page listed")
	require.Equal(t, 2, e.srv.CallCount("subscriptions.Delete"))
	require.Zero(t, e.srv.CallCount("subscriptions.Create"))
	for _, s := range e.srv.Subscriptions() {
		if s.ID == b.ID {
			require.Equal(t, adopted.Expires, *s.ExpirationDateTime)
		} else {
			require.Equal(t, e.clock.Now().Add(time.Hour), *s.ExpirationDateTime, "%s not renewed", s.ID)
		}
	}
}

func TestKeepSubscriptionLeavesOthersAlone(t *testing.T) {
	e := newKeepEnvWith(t, false, nil, 2, nil)
	res := e.spec().Resource
	otherURL := e.leave(t, res, strings.Replace(e.hookURL, "key=url-s3cret", "key=another", 1), time.Hour)
	otherRes := e.leave(t, "/me/drive/root", e.hookURL, time.Hour)
	e.srv.ResetCalls()

	e.start(t)
	created := e.next(t, msgraph.SubscriptionCreated)
	require.False(t, created.Adopted)
	require.Equal(t, ids([]msgraph.Subscription{{ID: created.ID}, otherURL, otherRes}), ids(e.srv.Subscriptions()))
	require.Zero(t, e.srv.CallCount("subscriptions.Delete"))
	require.Zero(t, e.srv.CallCount("subscriptions.Renew"))
}

// afterList is a transport that runs f once, after the first listing of
// subscriptions has been answered.
type afterList struct {
	next http.RoundTripper
	once sync.Once
	f    func()
}

func (a *afterList) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/subscriptions") {
		a.once.Do(a.f)
	}
	return resp, err
}

func TestKeepSubscriptionCreatesWhenTheAdoptedVanishes(t *testing.T) {
	rt := &afterList{next: http.DefaultTransport}
	e := newKeepEnvWith(t, false, nil, 0, rt)
	left := e.leave(t, e.spec().Resource, e.hookURL, time.Hour)
	rt.f = func() { e.srv.RemoveSubscription(left.ID) } // expired or removed meanwhile
	e.srv.ResetCalls()

	e.start(t)
	created := e.next(t, msgraph.SubscriptionCreated)
	require.False(t, created.Recreated)
	require.False(t, created.Adopted)
	require.NotEqual(t, left.ID, created.ID)
	require.Equal(t, created.ID, e.only(t).ID)
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Renew"), "the adoption was tried")
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Create"))
	require.Equal(t, lifetime*2/3, e.idle())
}

func TestKeepSubscriptionRetriesTheListing(t *testing.T) {
	e := newKeepEnv(t, false, nil)
	left := e.leave(t, e.spec().Resource, e.hookURL, time.Hour)
	e.srv.Inject(graphtest.Fault{Op: "subscriptions.List", Status: http.StatusServiceUnavailable})
	e.start(t)
	f := e.next(t, msgraph.SubscriptionFailing)
	require.Equal(t, time.Minute, f.RetryIn)
	e.clock.Advance(e.idle())
	adopted := e.next(t, msgraph.SubscriptionCreated)
	require.True(t, adopted.Adopted)
	require.Equal(t, left.ID, adopted.ID)
	require.Equal(t, 1, e.srv.CallCount("subscriptions.Create"), "only the leftover's")
}

func TestSubscriptionsFollowsPages(t *testing.T) {
	e := newKeepEnvWith(t, false, nil, 2, nil)
	var want []msgraph.Subscription
	for range 5 {
		want = append(want, e.leave(t, e.spec().Resource, e.hookURL, time.Hour))
	}
	e.srv.ResetCalls()
	var got []msgraph.Subscription
	for s, err := range e.c.Subscriptions(t.Context()) {
		require.NoError(t, err)
		require.Empty(t, s.ClientState, "the service does not return it")
		require.Equal(t, e.hookURL, s.NotificationURL)
		require.Equal(t, "updated", s.ChangeType)
		got = append(got, s)
	}
	require.Equal(t, ids(want), ids(got))
	require.Equal(t, 3, e.srv.CallCount("subscriptions.List"))

	e.srv.Inject(graphtest.Fault{Op: "subscriptions.List", Status: http.StatusForbidden})
	for _, err := range e.c.Subscriptions(t.Context()) {
		require.ErrorContains(t, err, "403")
		break
	}
}

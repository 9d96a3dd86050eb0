package sharepoint_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestKeepSubscription: a keep-alive on the library's drive root
// subscribes the root Graph accepts, notifications wake the Storage's
// watcher, and cancellation deletes it. (Renewal is tested in package
// msgraph on a fake clock.)
func TestKeepSubscription(t *testing.T) {
	srv, _, lib := newProjects(t)
	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		// Time stands still: the keep-alive waits for its renewal until
		// cancelled.
		Sleep: func(ctx context.Context, d time.Duration) error { <-ctx.Done(); return ctx.Err() },
	})
	require.NoError(t, err)
	s, err := sharepoint.New(t.Context(), c, sharepoint.Options{
		Host: graphtest.SharePointHost, SitePath: "sites/Projects", Library: "Project Files"})
	require.NoError(t, err)
	const clientState = "secret-state-2"
	n, err := msgraph.NewNotifier(clientState)
	require.NoError(t, err)
	hook := httptest.NewServer(n)
	t.Cleanup(hook.Close)
	w := s.WithNotifier(n)
	watch, err := w.Watch(t.Context())
	require.NoError(t, err)

	events := make(chan msgraph.SubscriptionEvent, 8)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.KeepSubscription(ctx, msgraph.SubscriptionSpec{Resource: msgraph.DriveRootResource(s.DriveID()), NotificationURL: hook.URL + "/hook", ClientState: clientState,
			OnEvent: func(e msgraph.SubscriptionEvent) { events <- e }})
	}()
	ev := <-events
	require.Equal(t, msgraph.SubscriptionCreated, ev.State)
	subs := srv.Subscriptions()
	require.Len(t, subs, 1)
	require.Equal(t, "/drives/"+lib+"/root", subs[0].Resource)

	_, err = srv.WebUpload(lib, "Plans/A-101.pdf", []byte("%PDF"))
	require.NoError(t, err)
	<-watch

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, msgraph.SubscriptionDeleted, (<-events).State)
	require.Empty(t, srv.Subscriptions())
}

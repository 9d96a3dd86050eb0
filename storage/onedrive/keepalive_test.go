package onedrive_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestKeepSubscription: the drive's keep-alive subscribes its root and
// deletes the subscription when cancelled. (Renewal is tested in package
// graph on a fake clock.)
func TestKeepSubscription(t *testing.T) {
	srv := graphtest.NewServer(t, graphtest.Options{})
	c, err := onedrive.NewClient(onedrive.ClientOptions{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		// Time stands still: the keep-alive waits for its renewal until
		// cancelled.
		Sleep: func(ctx context.Context, d time.Duration) error { <-ctx.Done(); return ctx.Err() },
	})
	require.NoError(t, err)
	s, err := onedrive.New(t.Context(), c, onedrive.Options{})
	require.NoError(t, err)
	const clientState = "secret-state-3"
	n, err := onedrive.NewNotifier(clientState)
	require.NoError(t, err)
	hook := httptest.NewServer(n)
	t.Cleanup(hook.Close)

	events := make(chan onedrive.SubscriptionEvent, 8)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- s.KeepSubscription(ctx, onedrive.SubscriptionSpec{NotificationURL: hook.URL, ClientState: clientState,
			OnEvent: func(e onedrive.SubscriptionEvent) { events <- e }})
	}()
	ev := <-events
	require.Equal(t, onedrive.SubscriptionCreated, ev.State)
	subs := srv.Subscriptions()
	require.Len(t, subs, 1)
	require.Equal(t, "/drives/"+srv.MyDriveID()+"/root", subs[0].Resource)
	require.Equal(t, ev.ID, subs[0].ID)

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, onedrive.SubscriptionDeleted, (<-events).State)
	require.Empty(t, srv.Subscriptions())
}

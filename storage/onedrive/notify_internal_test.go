package onedrive

import (
	"errors"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/stretchr/testify/require"
)

// The public subscription names say what the Graph client does.
func TestSubscriptionNamesMatchGraph(t *testing.T) {
	require.Equal(t, graph.MaxSubscriptionLifetime, time.Duration(MaxSubscriptionLifetime))
	require.Equal(t, graph.DefaultSubscriptionLifetime, time.Duration(DefaultSubscriptionLifetime))
	for pub, g := range map[SubscriptionState]graph.SubscriptionState{
		SubscriptionCreated: graph.SubscriptionCreated, SubscriptionRenewed: graph.SubscriptionRenewed,
		SubscriptionLost: graph.SubscriptionLost, SubscriptionFailing: graph.SubscriptionFailing,
		SubscriptionDeleted: graph.SubscriptionDeleted,
	} {
		require.Equal(t, string(g), string(pub))
	}

	var got []SubscriptionEvent
	spec := SubscriptionSpec{Resource: "/drives/d/root", NotificationURL: "https://x/hook", ClientState: "s",
		Lifetime: time.Hour, RetryWaitMin: time.Second, RetryWaitMax: time.Minute, DeleteTimeout: 2 * time.Second,
		OnEvent: func(e SubscriptionEvent) { got = append(got, e) }}
	g := spec.graph()
	require.Equal(t, "/drives/d/root", g.Resource)
	require.Equal(t, time.Hour, g.Lifetime)
	require.Equal(t, 2*time.Second, g.DeleteTimeout)
	failure := errors.New("boom")
	exp := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	g.OnEvent(graph.SubscriptionEvent{State: graph.SubscriptionFailing, ID: "sub-1", Expires: exp, Err: failure, RetryIn: time.Minute})
	require.Equal(t, []SubscriptionEvent{{State: SubscriptionFailing, ID: "sub-1", Expires: exp, Err: failure, RetryIn: time.Minute}}, got)
	require.Contains(t, got[0].LogValue().String(), "failing")
	require.Nil(t, SubscriptionSpec{}.graph().OnEvent)
}

package wake_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/wake"
)

func received(ch <-chan struct{}) (got, open bool) {
	select {
	case _, ok := <-ch:
		return ok, ok
	case <-time.After(2 * time.Second):
		return false, true
	}
}

func pending(ch <-chan struct{}) bool {
	select {
	case _, ok := <-ch:
		return ok
	default:
		return false
	}
}

func TestBroadcasterFansOutAndCoalesces(t *testing.T) {
	var b wake.Broadcaster
	ctx := t.Context()
	w1, w2 := b.Watch(ctx), b.Watch(ctx)
	require.Equal(t, 2, b.Watchers())
	for range 5 {
		b.Notify() // never blocks, even with nobody reading
	}
	for _, w := range []<-chan struct{}{w1, w2} {
		got, _ := received(w)
		require.True(t, got)
		require.False(t, pending(w), "five notifications coalesce into one signal")
	}
	b.Notify()
	got, _ := received(w1)
	require.True(t, got, "a signal after the last one was received")
}

func TestBroadcasterClosesOnDone(t *testing.T) {
	var b wake.Broadcaster
	ctx, cancel := context.WithCancel(context.Background())
	other := b.Watch(t.Context())
	w := b.Watch(ctx)
	b.Notify()
	<-other
	cancel()
	require.Eventually(t, func() bool { return b.Watchers() == 1 }, 2*time.Second, time.Millisecond)
	_, open := received(w)
	require.False(t, open, "closed, and the pending signal was dropped")
	b.Notify() // no send on the closed channel
	got, _ := received(other)
	require.True(t, got)
}

func TestBroadcasterZeroValueNotify(t *testing.T) {
	var b wake.Broadcaster
	b.Notify()
	require.Zero(t, b.Watchers())
}

package manualclock_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
)

var _ syncengine.Clock = (*manualclock.Clock)(nil)

var start = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// deadline bounds how long a test waits for goroutines to block; it is a
// failure deadline, never part of an assertion about timing.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func ready(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestNowAdvanceSet(t *testing.T) {
	c := manualclock.New(start)
	require.Equal(t, start, c.Now())
	c.Advance(90 * time.Second)
	require.Equal(t, start.Add(90*time.Second), c.Now())
	c.Set(start.Add(time.Hour))
	require.Equal(t, start.Add(time.Hour), c.Now())
	c.Advance(-time.Hour)
	require.Equal(t, start, c.Now())
}

func TestAfter(t *testing.T) {
	tests := []struct {
		name      string
		d         time.Duration
		advance   []time.Duration
		wantFired []bool // after each advance
	}{
		{name: "zero fires at once", d: 0, advance: nil},
		{name: "negative fires at once", d: -time.Second, advance: nil},
		{name: "exact deadline", d: time.Minute, advance: []time.Duration{time.Minute}, wantFired: []bool{true}},
		{name: "in steps", d: time.Minute, advance: []time.Duration{30 * time.Second, 29 * time.Second, time.Second}, wantFired: []bool{false, false, true}},
		{name: "past deadline", d: time.Second, advance: []time.Duration{time.Hour}, wantFired: []bool{true}},
		{name: "backwards never fires", d: time.Second, advance: []time.Duration{-time.Hour, time.Hour}, wantFired: []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := manualclock.New(start)
			ch := c.After(tt.d)
			if tt.d <= 0 {
				require.True(t, ready(ch))
				require.Zero(t, c.Waiters())
				return
			}
			require.Equal(t, 1, c.Waiters())
			for i, d := range tt.advance {
				c.Advance(d)
				require.Equal(t, tt.wantFired[i], ready(ch), "after advance %d", i)
				if tt.wantFired[i] {
					require.Zero(t, c.Waiters())
					return
				}
			}
		})
	}
}

func TestAfterReceivesNewTime(t *testing.T) {
	c := manualclock.New(start)
	ch := c.After(time.Second)
	c.Advance(time.Minute)
	require.Equal(t, start.Add(time.Minute), <-ch)
}

func TestNext(t *testing.T) {
	c := manualclock.New(start)
	_, ok := c.Next()
	require.False(t, ok)
	c.After(time.Hour)
	c.After(time.Minute)
	next, ok := c.Next()
	require.True(t, ok)
	require.Equal(t, start.Add(time.Minute), next)
	c.Set(next)
	require.Equal(t, 1, c.Waiters())
}

func TestBlockUntil(t *testing.T) {
	c := manualclock.New(start)
	const n = 8
	var wg sync.WaitGroup
	got := make([]time.Time, n)
	for i := range n {
		wg.Go(func() {
			got[i] = <-c.After(time.Duration(i+1) * time.Second)
		})
	}
	c.BlockUntil(n)
	require.Equal(t, n, c.Waiters())
	c.Advance(n * time.Second)
	wg.Wait()
	for i := range n {
		require.Equal(t, start.Add(n*time.Second), got[i])
	}
	require.Zero(t, c.Waiters())
}

func TestBlockUntilContext(t *testing.T) {
	c := manualclock.New(start)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, c.BlockUntilContext(ctx, 1), context.Canceled)
	require.NoError(t, c.BlockUntilContext(ctx, 0))

	done := make(chan error, 1)
	go func() { done <- c.BlockUntilContext(deadline(t), 2) }()
	c.After(time.Second)
	c.After(time.Second)
	require.NoError(t, <-done)
}

func TestConcurrentUse(t *testing.T) {
	c := manualclock.New(start)
	ctx := deadline(t)
	const workers, rounds = 10, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				_ = c.Now()
				<-c.After(time.Second)
			}
		})
	}
	for range rounds {
		require.NoError(t, c.BlockUntilContext(ctx, workers))
		c.Advance(time.Second)
	}
	wg.Wait()
	require.Equal(t, start.Add(rounds*time.Second), c.Now())
}

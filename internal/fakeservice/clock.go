package fakeservice

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/procoresync/procoresync/syncengine/manualclock"
)

// Clock is a fake clock that moves only when told to (Advance, Set) or
// when the code under test sleeps on it: give Now to a fake's Options.Now
// and to the client's, and Sleep to the client's, so that token expiry,
// Retry-After and back-off run without waiting. It is a manualclock.Clock
// (After, BlockUntil, … work as there) that also records the sleeps. It
// is safe for concurrent use.
type Clock struct {
	*manualclock.Clock

	mu     sync.Mutex
	sleeps []time.Duration
}

// NewClock returns a Clock at start.
func NewClock(start time.Time) *Clock { return &Clock{Clock: manualclock.New(start)} }

// Sleep records d and moves the clock forward by it at once (waking the
// After channels it makes due); it returns ctx's error, if any.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	c.Advance(d)
	return ctx.Err()
}

// Sleeps returns every duration slept so far, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

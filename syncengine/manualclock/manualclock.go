// Package manualclock provides a clock that moves only when told to, for
// deterministic tests of code that waits: rate limiters, schedulers,
// retries. It satisfies syncengine.Clock (Now and After) without importing
// syncengine, so any package's tests may use it.
//
// A test typically starts the code under test in goroutines, calls
// BlockUntil to wait until they are all blocked in After, then calls
// Advance to let the due ones go:
//
//	clk := manualclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
//	go worker(clk)     // blocks in clk.After(time.Minute)
//	clk.BlockUntil(1)  // the worker is now waiting
//	clk.Advance(time.Minute)
package manualclock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is a manually driven clock. Its zero value is not usable; call New.
// All methods are safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	// changed is closed and replaced whenever the set of waiters changes,
	// to wake BlockUntil callers.
	changed chan struct{}
}

type waiter struct {
	deadline time.Time
	ch       chan time.Time
}

// New returns a Clock whose time is start.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once the clock
// has advanced by d, like time.After. If d <= 0 the channel is ready at
// once and the caller is not counted as a waiter. The channel is buffered,
// so a waiter that gave up (for example on context cancellation) never
// blocks Advance; it remains counted by Waiters until its deadline passes.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, &waiter{deadline: c.now.Add(d), ch: ch})
	c.notifyLocked()
	return ch
}

// Advance moves the clock forward by d and fires every waiter whose
// deadline has been reached, earliest first. A negative d moves the clock
// back (no waiter fires).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

// Set moves the clock to t and fires every waiter whose deadline is not
// after t, earliest first. t may be before the current time; then no
// waiter fires, and waiters fire once the clock reaches their deadline.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(t)
}

func (c *Clock) setLocked(t time.Time) {
	c.now = t
	var due, keep []*waiter
	for _, w := range c.waiters {
		if w.deadline.After(t) {
			keep = append(keep, w)
		} else {
			due = append(due, w)
		}
	}
	if len(due) == 0 {
		return
	}
	slices.SortStableFunc(due, func(a, b *waiter) int { return a.deadline.Compare(b.deadline) })
	for _, w := range due {
		w.ch <- t // buffered, never blocks
	}
	c.waiters = keep
	c.notifyLocked()
}

// Waiters reports how many After channels are pending: created with a
// positive duration and not yet fired.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Next reports the earliest pending deadline, and false if no After
// channel is pending. Advancing to it (Set) fires at least one waiter.
func (c *Clock) Next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return time.Time{}, false
	}
	next := c.waiters[0].deadline
	for _, w := range c.waiters[1:] {
		if w.deadline.Before(next) {
			next = w.deadline
		}
	}
	return next, true
}

// BlockUntil blocks until at least n After channels are pending (see
// Waiters). It waits forever if that never happens; tests that want a
// failure deadline use BlockUntilContext.
func (c *Clock) BlockUntil(n int) {
	_ = c.BlockUntilContext(context.Background(), n)
}

// BlockUntilContext blocks until at least n After channels are pending or
// ctx is done, in which case it returns ctx's error.
func (c *Clock) BlockUntilContext(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.waiters) >= n {
			c.mu.Unlock()
			return nil
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes BlockUntil callers; c.mu must be held.
func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

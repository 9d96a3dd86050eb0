package httpclient

import (
	"context"
	"sync"
	"time"
)

// Throttle pauses every request of a tenant (or any budget the clients of
// one account share) while the service has asked to wait, e.g. with
// Retry-After on a 429 or 503. The zero value is ready to use.
type Throttle struct {
	mu    sync.Mutex
	until time.Time
}

// Until returns when the pause ends (zero when never paused).
func (t *Throttle) Until() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.until
}

// Pause holds requests until the given time, unless a longer pause is
// already in force.
func (t *Throttle) Pause(until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.until) {
		t.until = until
	}
}

// Wait returns once the pause has passed on the clock now, sleeping with
// sleep (which must return early when ctx is done), or with ctx's error.
func (t *Throttle) Wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	for {
		wait := t.Until().Sub(now())
		if wait <= 0 {
			return ctx.Err()
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

package httpclient

import (
	"context"
	"sync/atomic"
	"time"
)

// Throttle pauses every request of a tenant (or any budget the clients of
// one account share) while the service has asked to wait, e.g. with
// Retry-After on a 429 or 503. The zero value is ready to use; it is safe
// for concurrent use.
type Throttle struct {
	until atomic.Int64 // Unix nanoseconds; 0: never paused
}

// Until returns when the pause ends (zero when never paused).
func (t *Throttle) Until() time.Time {
	if n := t.until.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Pause holds requests until the given time, unless a longer pause is
// already in force.
func (t *Throttle) Pause(until time.Time) {
	n := until.UnixNano()
	for {
		old := t.until.Load()
		if n <= old || t.until.CompareAndSwap(old, n) {
			return
		}
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

package syncengine

import (
	"context"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// Feedback is what a service's response says about a budget. It is
// storage.Feedback, so that connectors, which never import syncengine, can
// report it to the same Limiter.
type Feedback = storage.Feedback

// Budget is a Limiter's view of one key.
type Budget struct {
	// Remaining is how many calls the key may still make in the current
	// window (-1: unknown or unlimited).
	Remaining int
	// Reset is when the window resets (zero: unknown).
	Reset time.Time
	// BlockedUntil is set while the service asked callers to wait.
	BlockedUntil time.Time
}

// Limiter paces calls to services. It includes storage.Pacer, the part
// that connectors consume. Keys name budgets: one per Procore app
// and token, one per Microsoft tenant, and so on; every pair and connector
// sharing a key shares its budget. Connectors declare the subset they use
// (Wait and Observe) as their own interface, so one Limiter value serves
// the engine and the connectors alike.
type Limiter interface {
	// Wait blocks until n calls may be made on key, or ctx is done.
	Wait(ctx context.Context, key string, n int) error
	// Observe takes a response's feedback for key.
	Observe(key string, fb Feedback)
	// Budget reports what is known of key's budget.
	Budget(key string) Budget
}

// Clock is the engine's source of time, replaceable in tests.
type Clock interface {
	Now() time.Time
	// After waits for d to pass, like time.After.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

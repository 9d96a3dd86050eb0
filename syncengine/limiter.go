package syncengine

import (
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

// Limiter paces calls to services. Keys name budgets: one per Procore app
// and token, one per Microsoft tenant, and so on; every pair and connector
// sharing a key shares its budget.
//
// A Limiter is a storage.Pacer (Wait and Observe), which is what every
// connector's client takes as its Pacer option (procore.Options.Pacer,
// msgraph.Options.Pacer for OneDrive and SharePoint,
// box.ClientOptions.Pacer, dropbox.ClientOptions.Pacer): hand the same
// value to the engine (Options.Limiter) and to every connector, and name
// the connectors' PaceKeys in Pair.Budgets. The connectors draw on it, one
// call at a time. The engine never calls Wait: it reads Budget to wait
// while a service blocks a key (Retry-After) and to hold initial syncs
// back while a budget runs low, and it calls Observe with the Retry-After
// of an action that failed because it was throttled, on every key of the
// pair's Budgets.
type Limiter interface {
	storage.Pacer
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

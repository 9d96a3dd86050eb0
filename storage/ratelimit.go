package storage

import (
	"context"
	"time"
)

// Feedback is what a service's response says about a rate-limit budget: the
// window's limit, what remains of it and when it resets (e.g. Procore's
// X-Rate-Limit-* headers), or how long to wait (Retry-After on a 429 or
// 503). Zero fields are unknown.
type Feedback struct {
	Limit      int
	Remaining  int
	Reset      time.Time
	RetryAfter time.Duration
}

// Pacer is the part of the sync engine's Limiter that connectors consume:
// wait for room in a budget before a call, report what the response said
// after it. Connectors declare a field of this type; the engine's limiter
// satisfies it, so one limiter value paces the engine and every connector
// sharing a budget key (one Procore app and token, one Microsoft tenant).
type Pacer interface {
	// Wait blocks until n calls may be made on key, or ctx is done.
	Wait(ctx context.Context, key string, n int) error
	// Observe takes a response's feedback for key.
	Observe(key string, fb Feedback)
}

package httpclient

import (
	"context"

	"github.com/procoresync/procoresync/storage"
)

// Pace is a client's place in a shared request budget: the Pacer (the
// sync engine's limiter satisfies it) and the key of the budget, one per
// app and token or per tenant. The zero value paces nothing.
type Pace struct {
	Pacer storage.Pacer
	Key   string
}

// Wait waits for the budget to admit one request.
func (p Pace) Wait(ctx context.Context) error {
	if p.Pacer == nil {
		return nil
	}
	return p.Pacer.Wait(ctx, p.Key, 1)
}

// Observe tells the Pacer what a response said about the budget.
func (p Pace) Observe(fb storage.Feedback) {
	if p.Pacer == nil {
		return
	}
	p.Pacer.Observe(p.Key, fb)
}

package syncengine_test

import (
	"context"
	"fmt"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// One RateLimiter paces every pair and connector sharing a budget key.
// Procore keys start from Procore's documented budget and learn the real
// limits from the X-Rate-Limit-* headers; Graph keys are unlimited until
// Microsoft answers with Retry-After.
func ExampleNewRateLimiter() {
	rl, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{
			"procore:*": syncengine.ProcoreBudget(),
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var _ storage.Pacer = rl // what connectors consume

	ctx := context.Background()
	key := "procore:app-1:token-9"
	if err := rl.Wait(ctx, key, 1); err != nil {
		fmt.Println(err)
		return
	}
	// ... make the call, then report its X-Rate-Limit-* headers:
	rl.Observe(key, syncengine.Feedback{Limit: 600, Remaining: 42, Reset: time.Now().Add(30 * time.Minute)})
	fmt.Println("procore remaining:", rl.Budget(key).Remaining)

	// A 429 with Retry-After from Graph blocks that key only.
	rl.Observe("graph:tenant-1", syncengine.Feedback{RetryAfter: 20 * time.Second})
	fmt.Println("graph blocked:", !rl.Budget("graph:tenant-1").BlockedUntil.IsZero())
	fmt.Println("dropbox remaining:", rl.Budget("dropbox:acct").Remaining)
	// Output:
	// procore remaining: 42
	// graph blocked: true
	// dropbox remaining: -1
}

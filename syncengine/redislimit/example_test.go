package redislimit_test

import (
	"context"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/redislimit"
)

// Every worker makes the same limiter on the same Redis and hands it to
// the engine and the connectors: together they never exceed Procore's
// budget, and a 429 one of them sees holds all of them back.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis.internal:6379"})
	defer rdb.Close()
	limiter, err := redislimit.New(redislimit.Options{
		Client:  rdb,
		Budgets: map[string]syncengine.BudgetConfig{"procore:*": syncengine.ProcoreBudget()},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Before each Procore call (a connector does this through storage.Pacer):
	if err := limiter.Wait(context.Background(), "procore:app1:token9", 1); err != nil {
		log.Fatal(err)
	}
	// After it, with what the response's headers said:
	limiter.Observe("procore:app1:token9", syncengine.Feedback{Limit: 3600, Remaining: 3541})
}

package telemetry_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
	"github.com/procoresync/procoresync/telemetry"
	"github.com/procoresync/procoresync/telemetry/promexport"
)

// A service measures its engine and its API clients, and serves /metrics,
// /healthz and /readyz.
func ExampleNew() {
	store, err := sqlitestore.Open(filepath.Join(os.TempDir(), "procoresync-example.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{"procore:my-app": syncengine.ProcoreBudget()},
	})
	if err != nil {
		log.Fatal(err)
	}
	exp, err := promexport.New()
	if err != nil {
		log.Fatal(err)
	}
	var eng *syncengine.Engine
	m, err := telemetry.New(telemetry.Options{
		MeterProvider: exp.Provider,
		Budgets:       lim.Budget, BudgetKeys: []string{"procore:my-app"},
		Store: store, Pairs: func() []string { return eng.Pairs() },
	})
	if err != nil {
		log.Fatal(err)
	}
	eng, err = syncengine.New(syncengine.Options{Store: m.Store(store), Limiter: lim})
	if err != nil {
		log.Fatal(err)
	}
	// Each connector's HTTP client sends through a counting transport.
	procoreHTTP := &http.Client{Transport: m.Transport("procore", nil)}
	_ = procoreHTTP

	var health telemetry.Health
	health.Add("store", func(ctx context.Context) error { _, err := store.CountItems(ctx, "-"); return err })
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", exp.Handler())
	mux.Handle("GET /healthz", health.LiveHandler())
	mux.Handle("GET /readyz", health.ReadyHandler())
	_ = mux
}

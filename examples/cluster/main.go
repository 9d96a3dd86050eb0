// Command cluster runs N sync workers and a webhook ingress against one
// PostgreSQL database and one Redis server, in one process, as a cluster
// of separate processes would: every worker has its own connection pool
// and River client, the pairs' state is in syncengine/pgstore, the API
// budget is shared through syncengine/redislimit, and the ingress wakes
// pairs by inserting jobs (POST /wake/{pair}), so it could sit behind a
// load balancer on any machine.
//
//	go run ./examples/cluster -workers 3
//
// The pairs are in-memory storages standing in for the services (each
// upload takes -latency, every call draws on the shared Redis budget).
// See examples/cluster/README.md for managed PostgreSQL and Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/procoresync/procoresync/cluster"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
	"github.com/procoresync/procoresync/syncengine/redislimit"
	"github.com/procoresync/procoresync/telemetry"
	"github.com/procoresync/procoresync/telemetry/promexport"
)

// config is the command line.
type config struct {
	postgres, redis, listen string
	redisPrefix             string
	reset                   bool
	workers, pairs, files   int
	latency, drain          time.Duration
	once                    bool
	// onServe, when set (tests), is called with the ingress address once
	// it serves, before the workers' progress is watched.
	onServe func(addr string)
}

func main() {
	var c config
	flag.StringVar(&c.postgres, "postgres", envOr("PROCORESYNC_POSTGRES",
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&search_path=procoresync_cluster"),
		"PostgreSQL connection string (env PROCORESYNC_POSTGRES); search_path selects the schema")
	flag.StringVar(&c.redis, "redis", envOr("PROCORESYNC_REDIS", "127.0.0.1:6379"), "Redis host:port (env PROCORESYNC_REDIS)")
	flag.StringVar(&c.redisPrefix, "redis-prefix", "procoresync:ratelimit", "prefix of the budget keys in Redis")
	flag.BoolVar(&c.reset, "reset", true, "drop and recreate the search_path schema first (the demo pairs are in memory, so their stored state must start empty)")
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8088", "address of the webhook ingress")
	flag.IntVar(&c.workers, "workers", 3, "number of workers")
	flag.IntVar(&c.pairs, "pairs", 6, "number of demo pairs")
	flag.IntVar(&c.files, "files", 10, "files per demo pair")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "time each upload takes")
	flag.DurationVar(&c.drain, "drain", time.Minute, "how long runs may finish on shutdown")
	flag.BoolVar(&c.once, "once", false, "exit once every pair has converged")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("cluster example failed", "err", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// budgetKey is the shared budget that every demo call draws on.
const budgetKey = "demo-app"

func run(ctx context.Context, c config, log *slog.Logger) error {
	if c.workers < 1 || c.pairs < 1 || c.files < 0 {
		return errors.New("-workers and -pairs must be at least 1, -files at least 0")
	}
	if err := ensureSchema(ctx, c.postgres, c.reset); err != nil {
		return err
	}
	store, err := pgstore.Open(ctx, c.postgres)
	if err != nil {
		return err
	}
	defer store.Close()
	rdb := redis.NewClient(&redis.Options{Addr: c.redis, DialTimeout: 5 * time.Second})
	defer rdb.Close()
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	err = rdb.Ping(pctx).Err()
	pcancel()
	if err != nil {
		return fmt.Errorf("redis at %s: %w", c.redis, err)
	}
	limiter, err := redislimit.New(redislimit.Options{Client: rdb, Prefix: c.redisPrefix, Budgets: map[string]syncengine.BudgetConfig{
		budgetKey: syncengine.ProcoreBudget(),
	}})
	if err != nil {
		return err
	}

	admin, err := pgxpool.New(ctx, c.postgres)
	if err != nil {
		return err
	}
	defer admin.Close()
	if err := cluster.Migrate(ctx, admin); err != nil {
		return err
	}
	// Metrics (served at /metrics): runs, items and bytes through the store
	// every worker's engine writes, the shared budget, the queue depth,
	// and held and quarantined items per pair.
	exp, err := promexport.New()
	if err != nil {
		return err
	}
	var pairIDs []string
	metrics, err := telemetry.New(telemetry.Options{
		MeterProvider: exp.Provider,
		Budgets:       limiter.Budget, BudgetKeys: []string{budgetKey},
		QueueDepth: cluster.QueueDepth(admin),
		Store:      store, Pairs: func() []string { return pairIDs },
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer metrics.Close()
	// Readiness (/readyz): PostgreSQL and Redis answer, and the process is
	// not draining; liveness (/healthz): it serves HTTP.
	health := &telemetry.Health{}
	health.Add("postgres", func(ctx context.Context) error { return admin.Ping(ctx) })
	health.Add("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })

	pairs, sides := demoPairs(c, limiter)
	for id := range pairs {
		pairIDs = append(pairIDs, id)
	}
	slices.Sort(pairIDs)
	for id := range pairs {
		if err := cluster.Register(ctx, admin, id, time.Minute); err != nil {
			return err
		}
	}

	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	done := make(chan error, c.workers)
	for i := range c.workers {
		pool, err := pgxpool.New(ctx, c.postgres)
		if err != nil {
			return err
		}
		defer pool.Close()
		w, err := cluster.New(cluster.Config{
			Pool: pool, Store: store, ID: fmt.Sprintf("worker-%d", i+1),
			Pairs: func(_ context.Context, id string) (syncengine.Pair, error) {
				p, ok := pairs[id]
				if !ok {
					return syncengine.Pair{}, fmt.Errorf("no pair %q on this worker", id)
				}
				return p, nil
			},
			Engine:       syncengine.Options{Limiter: limiter, Logger: log},
			WrapStore:    metrics.Store,
			Tick:         2 * time.Second,
			DrainTimeout: c.drain,
			Logger:       log,
		})
		if err != nil {
			return err
		}
		go func() { done <- w.Run(wctx) }()
	}

	// The ingress: an insert-only River client (no queues, no leader).
	ingress, err := river.NewClient(riverpgxv5.New(admin), &river.Config{Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wake/{pair}", func(w http.ResponseWriter, r *http.Request) {
		err := cluster.Wake(r.Context(), ingress, admin, "", r.PathValue("pair"))
		switch {
		case errors.Is(err, cluster.ErrUnknownPair):
			http.Error(w, "unknown pair", http.StatusNotFound)
		case err != nil:
			log.Error("wake failed", "err", err)
			http.Error(w, "wake failed", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	})
	mux.Handle("GET /metrics", exp.Handler())
	mux.Handle("GET /healthz", health.LiveHandler())
	mux.Handle("GET /readyz", health.ReadyHandler())
	depth := cluster.QueueDepth(admin)
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		d, err := depth(r.Context())
		if err != nil {
			http.Error(w, "queue depth unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, d)
	})
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if c.onServe != nil {
		c.onServe(ln.Addr().String())
	}
	log.Info("cluster example running", "workers", c.workers, "pairs", len(pairs), "ingress", "http://"+ln.Addr().String()+"/wake/{pair}")

	started := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	reported := false
	for !reported || !c.once {
		select {
		case <-ctx.Done():
			reported = true
			c.once = true
			continue
		case <-tick.C:
		}
		if !reported && allSynced(sides, c.files) {
			reported = true
			log.Info("every pair converged", "pairs", len(pairs), "files", len(pairs)*c.files,
				"took", time.Since(started).Round(time.Millisecond))
		}
	}
	health.Drain() // readiness fails from now on: load balancers stop sending wakes
	wcancel()      // graceful drain of every worker
	var errs []error
	for range c.workers {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

// ensureSchema creates the schema named by the connection string's
// search_path, if any, dropping it first when reset is set.
func ensureSchema(ctx context.Context, dsn string, reset bool) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("-postgres: %w", err)
	}
	schema := cfg.RuntimeParams["search_path"]
	if schema == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{schema}.Sanitize()
	if reset {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			return fmt.Errorf("postgres: reset %s: %w", ident, err)
		}
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident)
	return err
}

// demoPairs builds the pairs: A holds files, B starts empty; every call
// draws on the shared budget, every upload takes c.latency.
func demoPairs(c config, pacer syncengine.Limiter) (map[string]syncengine.Pair, map[string][2]*memory.Storage) {
	pairs := map[string]syncengine.Pair{}
	sides := map[string][2]*memory.Storage{}
	for i := range c.pairs {
		id := fmt.Sprintf("project-%03d", i+1)
		a, b := memory.New(), memory.New()
		for f := range c.files {
			_, _ = a.WriteFile(fmt.Sprintf("Drawings/%s-%03d.pdf", id, f), []byte("%PDF "+id))
		}
		b.SetLatency(memory.OpPut, c.latency)
		for _, s := range []*memory.Storage{a, b} {
			s.SetHook(func(memory.Op) error {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				return pacer.Wait(ctx, budgetKey, 1)
			})
		}
		pairs[id] = syncengine.Pair{ID: id, A: a, B: b, AName: "Procore", BName: "SharePoint",
			Initial: syncengine.InitialStandard, Interval: time.Minute, Budgets: []string{budgetKey}}
		sides[id] = [2]*memory.Storage{a, b}
	}
	return pairs, sides
}

// allSynced reports whether every B holds its A's files.
func allSynced(sides map[string][2]*memory.Storage, files int) bool {
	for id, s := range sides {
		for f := range files {
			if _, err := s[1].ReadFile(fmt.Sprintf("Drawings/%s-%03d.pdf", id, f)); err != nil {
				return false
			}
		}
	}
	return true
}

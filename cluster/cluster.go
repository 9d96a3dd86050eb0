// Package cluster runs pairs on many workers that share one PostgreSQL
// database: every run of a pair is a job on River (github.com/riverqueue/river
// with its pgx driver), the pairs' state lives in syncengine/pgstore, and
// any worker may wake a pair (so a webhook listener can sit behind a load
// balancer). The embedded single-process syncengine.Engine.Run stays the
// default; this package is for deployments that outgrow one process.
//
// How the guarantees are kept:
//
//   - At most one run of a pair at a time: a run holds the pair's pgstore
//     lease (AcquirePair) for its whole length, renewed by a heartbeat, and
//     writes through the lease's fenced view of the store, so even a worker
//     that lost its lease cannot write. A job that finds the pair leased
//     snoozes (River's JobSnooze) and tries again.
//   - Wakes coalesce: a run job's arguments are the pair and the pair's run
//     epoch, unique over River's waiting and running states. Every run
//     increments the epoch when it starts, before it lists anything, so a
//     wake before that start is absorbed by the waiting job (the run will
//     see the change), and a wake after it inserts one job of the next
//     epoch, which waits (snoozing while the run holds the lease) and gives
//     exactly one more run after the current one.
//   - Scheduled runs: a scheduling pass inserts a run job for every pair
//     whose interval has passed since its last run, and for every pair
//     whose run was cut off (its heartbeat stopped: the worker died). It
//     runs every Tick as a River periodic job, enqueued by River's elected
//     leader, and on every worker too, so that the death of the leader
//     itself does not hold its pairs up until River elects another. The
//     pass is idempotent: the jobs it inserts are unique per pair and
//     epoch.
//   - Long runs: run jobs have no River job timeout (the engine's own
//     RunTimeout bounds a run), and River's stuck-job rescuer is set beyond
//     the longest run (Config.RescueAfter). A dead worker's pairs are not
//     waiting for the rescuer: its lease expires LeaseTTL after the last
//     heartbeat, and the next scheduler tick enqueues the pair again
//     ahead of every wake and interval run waiting (River priority), so
//     the pair resumes after about LeaseTTL + Tick.
//   - Graceful drain: when the context given to Worker.Run ends, the worker
//     stops fetching jobs, lets running runs finish for DrainTimeout, then
//     cancels them (a cancelled run resumes its unfinished actions next
//     time) and releases their leases.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// ErrUnknownPair is returned (wrapped) by Wake for a pair that was never
// registered.
var ErrUnknownPair = errors.New("cluster: unknown pair")

// ErrInvalidConfig is matched by the errors of New for a missing or out of
// range Config field.
var ErrInvalidConfig = errors.New("cluster: invalid configuration")

// Defaults of Config.
const (
	DefaultQueue        = "procoresync_runs"
	DefaultMaxRuns      = 4
	DefaultLeaseTTL     = 30 * time.Second
	DefaultTick         = 15 * time.Second
	DefaultBusySnooze   = 2 * time.Second
	DefaultDrainTimeout = 5 * time.Minute
	DefaultRescueAfter  = 13 * time.Hour
	defaultOpTimeout    = 30 * time.Second
)

// PairFunc returns the pair with the given ID, with live storages, for one
// run. It is called on the worker that runs the pair.
type PairFunc func(ctx context.Context, pairID string) (syncengine.Pair, error)

// Config configures a Worker.
type Config struct {
	// Pool carries River's jobs (required). Its connection string's
	// search_path selects the schema of River's tables and of the pairs
	// table; use the database (and schema) of Store.
	Pool *pgxpool.Pool
	// Store is the shared metadata store (required).
	Store *pgstore.Store
	// Pairs builds a pair for a run (required).
	Pairs PairFunc
	// Engine are the options of the engine that runs each pair
	// (Engine.Store is replaced by Store's view fenced by the run's lease;
	// share one Limiter, e.g. syncengine/redislimit, among all runs). The
	// engine logs on Engine.Logger (default Logger) with the attributes
	// "worker" and "job" added; the engine adds "pair" and "run" to every
	// record of a run, and the storages find all four in their context
	// (syncengine.LogAttrs).
	Engine syncengine.Options
	// WrapStore, when set, wraps the fenced store each run writes through,
	// e.g. telemetry.Metrics.Store to count runs, items and bytes.
	WrapStore func(syncengine.MetadataStore) syncengine.MetadataStore
	// ID names the worker in leases and logs (default host name and
	// process ID).
	ID string
	// Queue is River's queue of the runs (default DefaultQueue).
	Queue string
	// MaxRuns is how many pairs the worker runs at once (default 4).
	MaxRuns int
	// LeaseTTL is how long a pair stays locked after the last heartbeat
	// of its run; heartbeats come every LeaseTTL/3. A dead worker's pairs
	// resume about LeaseTTL (+ Tick) after it died (default 30 s).
	LeaseTTL time.Duration
	// Tick is how often River's leader looks for pairs that are due
	// (default 15 s).
	Tick time.Duration
	// BusySnooze is how long a run job waits when its pair is being run
	// by another job (default 2 s).
	BusySnooze time.Duration
	// DrainTimeout is how long Run lets running runs finish after its
	// context ended before it cancels them (default 5 minutes).
	DrainTimeout time.Duration
	// RescueAfter is River's stuck-job threshold. It must exceed the
	// longest run (default 13 hours: the engine's default RunTimeout is
	// 12); the lease, not the rescuer, hands a dead worker's pairs on.
	RescueAfter time.Duration
	// FetchPollInterval is how often River polls for jobs besides its
	// notifications (default River's 1 s).
	FetchPollInterval time.Duration
	// Logger receives the worker's logs, which carry the pair, the job
	// and the worker (default slog.Default()).
	Logger *slog.Logger
}

// Worker runs pairs taken from the shared queue.
type Worker struct {
	cfg    Config
	river  *river.Client[pgx.Tx]
	log    *slog.Logger
	runCtx context.Context // parent of the runs' contexts; cancelled by crash (tests)
	crash  context.CancelFunc
	// onRun, when set (tests), is called at the start and end of each run.
	onRun func(pairID string, start bool)
}

func (c *Config) defaults() error {
	switch {
	case c.Pool == nil:
		return fmt.Errorf("%w: Pool is required", ErrInvalidConfig)
	case c.Store == nil:
		return fmt.Errorf("%w: Store is required", ErrInvalidConfig)
	case c.Pairs == nil:
		return fmt.Errorf("%w: Pairs is required", ErrInvalidConfig)
	case c.MaxRuns < 0 || c.LeaseTTL < 0 || c.Tick < 0 || c.BusySnooze < 0 || c.DrainTimeout < 0 || c.RescueAfter < 0:
		return fmt.Errorf("%w: negative duration or count", ErrInvalidConfig)
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.LeaseTTL, DefaultLeaseTTL)
	def(&c.Tick, DefaultTick)
	def(&c.BusySnooze, DefaultBusySnooze)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	def(&c.RescueAfter, DefaultRescueAfter)
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.MaxRuns == 0 {
		c.MaxRuns = DefaultMaxRuns
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LeaseTTL < 3*time.Millisecond {
		return fmt.Errorf("%w: LeaseTTL %s is too short", ErrInvalidConfig, c.LeaseTTL)
	}
	return nil
}

// Migrate creates or upgrades River's tables and the pairs table in the
// schema of pool's search_path. Workers call it at start; concurrent calls
// are serialised by an advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("cluster: migrate: %w", err)
	}
	defer conn.Release()
	// A session lock on this connection: River migrates in its own
	// transactions on other connections.
	const lockKey = 0x70726f636f7265 // "procore"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("cluster: migrate: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey) }()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("cluster: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("cluster: migrate River: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS cluster_pairs (
		pair_id     text PRIMARY KEY,
		interval_us bigint NOT NULL,
		epoch       bigint NOT NULL DEFAULT 0,
		last_start  timestamptz,
		last_end    timestamptz,
		heartbeat   timestamptz)`); err != nil {
		return fmt.Errorf("cluster: migrate pairs: %w", err)
	}
	return nil
}

// New returns a worker. Call Migrate once before (any worker may).
func New(cfg Config) (*Worker, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, log: cfg.Logger.With("worker", cfg.ID)}
	w.runCtx, w.crash = context.WithCancel(context.Background())
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &runWorker{w: w}); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &scheduleWorker{w: w}); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Pool), &river.Config{
		ID:                   sanitizeID(cfg.ID),
		Queues:               map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.MaxRuns}},
		Workers:              workers,
		JobTimeout:           -1,
		RescueStuckJobsAfter: cfg.RescueAfter,
		SoftStopTimeout:      cfg.DrainTimeout,
		FetchPollInterval:    cfg.FetchPollInterval,
		Logger:               cfg.Logger.With("worker", cfg.ID, "component", "river"),
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.Tick),
			func() (river.JobArgs, *river.InsertOpts) {
				return scheduleArgs{}, &river.InsertOpts{Queue: cfg.Queue}
			}, &river.PeriodicJobOpts{RunOnStart: true, ID: "procoresync_schedule"})},
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	w.river = client
	return w, nil
}

// sanitizeID keeps River's client ID to the characters it accepts.
func sanitizeID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Run works jobs until ctx ends, then drains: it stops fetching, lets
// running runs finish for DrainTimeout, cancels those still going, and
// returns once all have ended.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("cluster: start: %w", err)
	}
	w.log.Info("cluster: worker started", "queue", w.cfg.Queue, "max_runs", w.cfg.MaxRuns)
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		w.scheduleLoop(schedCtx)
	}()
	defer func() { stopSched(); <-schedDone }()
	select {
	case <-ctx.Done():
	case <-w.runCtx.Done(): // crashed (tests)
		return nil
	}
	w.log.Info("cluster: draining", "timeout", w.cfg.DrainTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), w.cfg.DrainTimeout+30*time.Second)
	defer cancel()
	// Stop escalates to cancelling the runs after SoftStopTimeout.
	if err := w.river.Stop(stopCtx); err != nil {
		return fmt.Errorf("cluster: drain: %w", err)
	}
	w.log.Info("cluster: worker stopped")
	return nil
}

// Client returns the worker's River client, e.g. for River UI or to
// insert jobs of the application's own in the same transaction.
func (w *Worker) Client() *river.Client[pgx.Tx] { return w.river }

// Register adds the pair to the schedule, or changes its interval
// (default: the engine's DefaultInterval, else 5 minutes). Any worker may
// register; the pair's runs then happen on whichever worker takes them.
func Register(ctx context.Context, pool *pgxpool.Pool, pairID string, interval time.Duration) error {
	if pairID == "" || interval < 0 {
		return fmt.Errorf("%w: pair %q, interval %s", ErrInvalidConfig, pairID, interval)
	}
	if interval == 0 {
		interval = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, defaultOpTimeout)
	defer cancel()
	_, err := pool.Exec(ctx, `INSERT INTO cluster_pairs (pair_id, interval_us) VALUES ($1, $2)
		ON CONFLICT (pair_id) DO UPDATE SET interval_us = excluded.interval_us`, pairID, interval.Microseconds())
	if err != nil {
		return fmt.Errorf("cluster: register %q: %w", pairID, err)
	}
	return nil
}

// Unregister removes the pair from the schedule; jobs already waiting
// for it end without running it.
func Unregister(ctx context.Context, pool *pgxpool.Pool, pairID string) error {
	ctx, cancel := context.WithTimeout(ctx, defaultOpTimeout)
	defer cancel()
	if _, err := pool.Exec(ctx, `DELETE FROM cluster_pairs WHERE pair_id = $1`, pairID); err != nil {
		return fmt.Errorf("cluster: unregister %q: %w", pairID, err)
	}
	return nil
}

// Wake asks for a run of the pair soon. Wakes of a pair that is waiting
// coalesce into its waiting run; a wake during a run gives one more run
// after it. It needs only a pool, so any process (a webhook ingress
// behind a load balancer) can call it; client is River's client on that
// pool (an insert-only client is enough: river.NewClient without Queues).
func Wake(ctx context.Context, client *river.Client[pgx.Tx], pool *pgxpool.Pool, queue, pairID string) error {
	if queue == "" {
		queue = DefaultQueue
	}
	ctx, cancel := context.WithTimeout(ctx, defaultOpTimeout)
	defer cancel()
	var epoch int64
	err := pool.QueryRow(ctx, `SELECT epoch FROM cluster_pairs WHERE pair_id = $1`, pairID).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %q", ErrUnknownPair, pairID)
	}
	if err != nil {
		return fmt.Errorf("cluster: wake %q: %w", pairID, err)
	}
	if _, err := client.Insert(ctx, runArgs{PairID: pairID, Epoch: epoch}, runInsertOpts(queue, priorityWake)); err != nil {
		return fmt.Errorf("cluster: wake %q: %w", pairID, err)
	}
	return nil
}

// Wake asks for a run of the pair soon (see the package's Wake).
func (w *Worker) Wake(ctx context.Context, pairID string) error {
	return Wake(ctx, w.river, w.cfg.Pool, w.cfg.Queue, pairID)
}

// QueueDepth returns the number of jobs waiting (available, scheduled,
// retryable or pending) per River queue, 0 for a queue that workers serve
// and that has none waiting: telemetry.Options.QueueDepth.
func QueueDepth(pool *pgxpool.Pool) func(ctx context.Context) (map[string]int64, error) {
	return func(ctx context.Context) (map[string]int64, error) {
		ctx, cancel := context.WithTimeout(ctx, defaultOpTimeout)
		defer cancel()
		// Every queue River knows (a worker serves or served it) is
		// reported, at 0 when empty, so that the series exists.
		rows, err := pool.Query(ctx, `SELECT queue, sum(n)::bigint FROM (
			SELECT name AS queue, 0 AS n FROM river_queue
			UNION ALL SELECT queue, 1 FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'pending')
			) q GROUP BY queue`)
		if err != nil {
			return nil, fmt.Errorf("cluster: queue depth: %w", err)
		}
		out := map[string]int64{}
		var q string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&q, &n}, func() error { out[q] = n; return nil })
		if err != nil {
			return nil, fmt.Errorf("cluster: queue depth: %w", err)
		}
		return out, nil
	}
}

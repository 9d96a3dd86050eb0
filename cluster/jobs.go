package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// runArgs are the arguments of a run job: the pair, and the pair's run
// epoch when the job was inserted (part of the unique key, so that a wake
// during a run inserts a job for the run after it).
type runArgs struct {
	PairID string `json:"pair_id" river:"unique"`
	Epoch  int64  `json:"epoch" river:"unique"`
}

func (runArgs) Kind() string { return "procoresync_pair_run" }

// waiting are the states in which a run job absorbs new wakes of its
// epoch (River requires available, pending, running and scheduled).
var waiting = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// Priorities of run jobs (River fetches priority 1 before 2, 2 before 3):
// a run that resumes a pair whose run was cut off (its worker died) goes
// first, then wakes, then the runs that the schedule enqueues because an
// interval passed. So a dead worker's pairs resume at once, not behind a
// burst of webhooks or the whole schedule.
const (
	priorityResume    = 1
	priorityWake      = 2
	priorityScheduled = 3
)

func runInsertOpts(queue string, priority int) *river.InsertOpts {
	return &river.InsertOpts{Queue: queue, Priority: priority,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waiting}}
}

// runWorker runs one pair per job.
type runWorker struct {
	river.WorkerDefaults[runArgs]
	w *Worker
}

func (r *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	w := r.w
	pairID := job.Args.PairID
	log := w.log.With("pair", pairID, "job", job.ID)
	var one int
	err := w.cfg.Pool.QueryRow(ctx, `SELECT 1 FROM cluster_pairs WHERE pair_id = $1`, pairID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		log.Warn("cluster: job for an unregistered pair dropped")
		return river.JobCancel(fmt.Errorf("%w: %q", ErrUnknownPair, pairID))
	}
	if err != nil {
		return fmt.Errorf("cluster: pair %q: %w", pairID, err)
	}
	owner := fmt.Sprintf("%s/job-%d", w.cfg.ID, job.ID)
	lease, err := w.cfg.Store.AcquirePair(ctx, pairID, owner, w.cfg.LeaseTTL)
	if errors.Is(err, pgstore.ErrPairLeased) {
		log.Debug("cluster: pair busy, snoozing", "err", err)
		return river.JobSnooze(w.cfg.BusySnooze)
	}
	if err != nil {
		return fmt.Errorf("cluster: lease pair %q: %w", pairID, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopCrash := context.AfterFunc(w.runCtx, cancel)
	defer stopCrash()
	defer func() {
		if w.runCtx.Err() != nil {
			return // crashed (tests): leave the lease as a dead process would
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), defaultOpTimeout)
		defer rcancel()
		if err := lease.Release(rctx); err != nil {
			log.Warn("cluster: lease not released", "err", err)
		}
	}()
	if _, err := w.cfg.Pool.Exec(ctx, `UPDATE cluster_pairs SET epoch = epoch + 1, last_start = now(), heartbeat = now()
		WHERE pair_id = $1`, pairID); err != nil {
		return fmt.Errorf("cluster: start pair %q: %w", pairID, err)
	}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(runCtx, cancel, lease, log)
	}()
	defer func() { cancel(); <-hbDone }()

	if w.onRun != nil {
		w.onRun(pairID, true)
		defer w.onRun(pairID, false)
	}
	run, err := w.runPair(runCtx, lease, pairID, job.ID)
	if w.runCtx.Err() != nil {
		return w.runCtx.Err()
	}
	ectx, ecancel := context.WithTimeout(context.WithoutCancel(ctx), defaultOpTimeout)
	defer ecancel()
	if runCtx.Err() != nil {
		// Drained or lease lost: leave last_end so the scheduler sees an
		// interrupted run, and let River retry the job soon.
		_, _ = w.cfg.Pool.Exec(ectx, `UPDATE cluster_pairs SET heartbeat = NULL WHERE pair_id = $1`, pairID)
		log.Info("cluster: run interrupted", "err", err)
		return fmt.Errorf("cluster: run of %q interrupted: %w", pairID, context.Cause(runCtx))
	}
	if _, uerr := w.cfg.Pool.Exec(ectx, `UPDATE cluster_pairs SET last_end = now(), heartbeat = NULL WHERE pair_id = $1`,
		pairID); uerr != nil {
		log.Warn("cluster: end of run not recorded", "err", uerr)
	}
	if err != nil {
		// The next scheduled run tries again; River's retries would only
		// repeat a run that failed as a whole.
		log.Error("cluster: run failed", "err", err, "run", run.ID)
		return nil
	}
	log.Info("cluster: run done", "run", run.ID, "status", run.Status)
	return nil
}

// runPair runs the pair once through an engine whose store is fenced by
// the lease. The engine logs on Config.Engine.Logger (else Config.Logger)
// with the worker and the job; the engine adds the pair and the run, and
// the storages find all four in their context (syncengine.LogAttrs).
func (w *Worker) runPair(ctx context.Context, lease *pgstore.Lease, pairID string, jobID int64) (syncengine.Run, error) {
	ctx = syncengine.ContextWithLogAttrs(ctx, slog.String("worker", w.cfg.ID), slog.Int64("job", jobID))
	p, err := w.cfg.Pairs(ctx, pairID)
	if err != nil {
		return syncengine.Run{}, fmt.Errorf("cluster: pair %q: %w", pairID, err)
	}
	if p.ID != pairID {
		return syncengine.Run{}, fmt.Errorf("%w: Pairs returned pair %q for %q", ErrInvalidConfig, p.ID, pairID)
	}
	opts := w.cfg.Engine
	opts.Store = w.cfg.Store.Fenced(lease)
	if w.cfg.WrapStore != nil {
		opts.Store = w.cfg.WrapStore(opts.Store)
	}
	base := opts.Logger
	if base == nil {
		base = w.cfg.Logger
	}
	opts.Logger = base.With("worker", w.cfg.ID, "job", jobID)
	eng, err := syncengine.New(opts)
	if err != nil {
		return syncengine.Run{}, err
	}
	if err := eng.AddPair(p); err != nil {
		return syncengine.Run{}, err
	}
	return eng.RunOnce(ctx, pairID, syncengine.RunOptions{})
}

// heartbeat renews the lease every LeaseTTL/3 until ctx ends; when the
// lease is lost it cancels the run.
func (w *Worker) heartbeat(ctx context.Context, cancel context.CancelFunc, lease *pgstore.Lease, log interface {
	Warn(string, ...any)
}) {
	t := time.NewTicker(w.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := lease.Renew(ctx, w.cfg.LeaseTTL)
		if errors.Is(err, pgstore.ErrLeaseLost) {
			log.Warn("cluster: lease lost, cancelling the run", "err", err)
			cancel()
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("cluster: heartbeat failed", "err", err)
			continue
		}
		_, _ = w.cfg.Pool.Exec(ctx, `UPDATE cluster_pairs SET heartbeat = now() WHERE pair_id = $1`, lease.PairID)
	}
}

// scheduleLoop runs the scheduling pass every Tick until ctx ends, on
// this worker, whether or not it is River's leader.
func (w *Worker) scheduleLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.Tick)
	defer t.Stop()
	s := &scheduleWorker{w: w}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.runCtx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		if err := s.Work(pctx, nil); err != nil && ctx.Err() == nil {
			w.log.Warn("cluster: scheduling pass failed", "err", err)
		}
		cancel()
	}
}

// scheduleArgs are the arguments of the periodic job that enqueues due
// pairs; River's leader inserts it every Tick.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "procoresync_schedule" }

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	w *Worker
}

func (s *scheduleWorker) Timeout(*river.Job[scheduleArgs]) time.Duration { return time.Minute }

// Work inserts a run job for every pair that is not running and whose
// interval has passed since its last run ended, or whose last run was cut
// off (its worker stopped heartbeating; such a pair's job goes first). A worker that died after taking a
// job but before starting its run leaves that job "running" in River,
// where it would absorb the pair's wakes until River's rescuer: such a
// pair's epoch is moved on, so that a new job is inserted beside it.
func (s *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	w := s.w
	ttl := w.cfg.LeaseTTL.Microseconds()
	// One transaction: the pairs' rows stay locked from reading their
	// epoch until their jobs are inserted, so a run cannot start (its
	// epoch increment waits) and end in between, which would let this pass
	// insert a job for an epoch already run. Rows another pass holds are
	// skipped: that pass enqueues them.
	tx, err := w.cfg.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var params []river.InsertManyParams
	seen := map[string]bool{}
	var a runArgs
	var cutOff bool
	collect := func() error {
		if seen[a.PairID] {
			return nil
		}
		seen[a.PairID] = true
		prio := priorityScheduled
		if cutOff {
			prio = priorityResume
		}
		params = append(params, river.InsertManyParams{Args: a, InsertOpts: runInsertOpts(w.cfg.Queue, prio)})
		return nil
	}
	cutOff = true
	rows, err := tx.Query(ctx, `UPDATE cluster_pairs SET epoch = epoch + 1 WHERE pair_id IN (
		SELECT c.pair_id FROM cluster_pairs c
		WHERE (c.heartbeat IS NULL OR c.heartbeat < now() - $1 * interval '1 microsecond')
		AND EXISTS (SELECT 1 FROM river_job j WHERE j.state = 'running' AND j.kind = $2
			AND j.args->>'pair_id' = c.pair_id AND (j.args->>'epoch')::bigint = c.epoch
			AND j.attempted_at < now() - $1 * interval '1 microsecond')
		ORDER BY c.pair_id FOR UPDATE SKIP LOCKED)
		RETURNING pair_id, epoch`, ttl, runArgs{}.Kind())
	if err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&a.PairID, &a.Epoch}, collect); err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT pair_id, epoch, last_start IS NOT NULL AND (last_end IS NULL OR last_start > last_end)
		FROM cluster_pairs
		WHERE (heartbeat IS NULL OR heartbeat < now() - $1 * interval '1 microsecond')
		AND (last_end IS NULL OR last_start > last_end OR last_end + interval_us * interval '1 microsecond' <= now())
		ORDER BY pair_id FOR UPDATE SKIP LOCKED`, ttl)
	if err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&a.PairID, &a.Epoch, &cutOff}, collect); err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	if len(params) > 0 {
		if _, err := w.river.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("cluster: schedule: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("cluster: schedule: %w", err)
	}
	return nil
}

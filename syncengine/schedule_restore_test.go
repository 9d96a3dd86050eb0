package syncengine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// restartEnv is a set of pairs whose engine is stopped and started again
// on the same store, as a process restart would.
type restartEnv struct {
	t     *testing.T
	clk   *manualclock.Clock
	store syncengine.MetadataStore
	opts  syncengine.Options
	ids   []string
	a, b  map[string]*memory.Storage
	eng   *syncengine.Engine
	stop  func()
}

func newRestartEnv(t *testing.T, opts syncengine.Options, pairs int) *restartEnv {
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"), sqlitestore.SynchronousNormal())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	e := &restartEnv{t: t, clk: manualclock.New(epoch), store: st, opts: opts,
		a: map[string]*memory.Storage{}, b: map[string]*memory.Storage{}}
	for i := range pairs {
		id := fmt.Sprintf("p%02d", i)
		e.ids = append(e.ids, id)
		e.a[id] = memory.New(memory.WithClock(e.clk.Now))
		e.b[id] = memory.New(memory.WithClock(e.clk.Now))
		_, err := e.a[id].WriteFile("f.txt", []byte(id))
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
	return e
}

// start makes a new engine on the store and runs it; with addLater the
// pairs are added after the scheduler started (a Manager adding projects
// to a running engine).
func (e *restartEnv) start(addLater bool) {
	opts := e.opts
	opts.Store, opts.Clock, opts.Logger = e.store, e.clk, quietLogger()
	eng, err := syncengine.New(opts)
	require.NoError(e.t, err)
	e.eng = eng
	add := func() {
		for _, id := range e.ids {
			require.NoError(e.t, eng.AddPair(syncengine.Pair{ID: id, A: plainStorage{e.a[id]}, B: plainStorage{e.b[id]},
				Initial: syncengine.InitialStandard, Interval: 5 * time.Minute}))
			if addLater {
				// Mostly, the scheduler loads each pair before the next
				// comes, with the period of the pairs so far (a Manager
				// adding projects that each take a few calls to set up).
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	if !addLater {
		add()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = eng.Run(ctx); close(done) }()
	e.stop = func() { cancel(); <-done; e.stop = nil }
	if addLater {
		add()
	}
}

func (e *restartEnv) runs(id string) []syncengine.Run {
	runs, err := e.store.Runs(context.Background(), id, syncengine.Page{})
	require.NoError(e.t, err)
	slices.Reverse(runs)
	return runs
}

// idle waits until no run is in progress and the scheduler waits for a
// timer after now.
func (e *restartEnv) idle() {
	e.t.Helper()
	stable := 0
	waitFor(e.t, "the scheduler to be idle", func() bool {
		for _, id := range e.ids {
			for _, r := range e.runs(id) {
				if r.Status == syncengine.RunRunning {
					stable = 0
					return false
				}
			}
		}
		if next, ok := e.clk.Next(); !ok || !next.After(e.clk.Now()) {
			stable = 0
			return false
		}
		stable++
		time.Sleep(10 * time.Millisecond)
		return stable >= 3
	})
}

// until lets the scheduler run, moving the clock from timer to timer,
// until the next timer is after end. Nearly every timer of these tests is
// a pair falling due, and a run starts at it: that run is waited for (up
// to 0.3 s: a timer whose pair was placed later meanwhile starts
// none), so that a slow start is not taken for a quiet scheduler.
func (e *restartEnv) until(end time.Time) {
	for {
		e.idle()
		next, ok := e.clk.Next()
		require.True(e.t, ok)
		if next.After(end) {
			return
		}
		e.clk.Set(next)
		for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline) && !e.ranAt(next); {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// ranAt reports whether a run started at t.
func (e *restartEnv) ranAt(t time.Time) bool {
	for _, id := range e.ids {
		for _, r := range e.runs(id) {
			if r.Started.Equal(t) {
				return true
			}
		}
	}
	return false
}

// startedSince returns the runs of id that started at or after t.
func (e *restartEnv) startedSince(id string, t time.Time) []syncengine.Run {
	var out []syncengine.Run
	for _, r := range e.runs(id) {
		if !r.Started.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// TestScheduleRestartKeepsPeriod: under a healthy Reconcile policy a
// restart does not run every pair at once: each pair's next
// reconciliation is its last run plus its point in the period, as if the
// engine had not stopped (also when the pairs are added to the running
// engine one by one, the period growing with them), and the ones after
// keep the period. Without the
// policy (or with its webhooks down) pairs run every Interval, so the
// restart runs them at once as before.
func TestScheduleRestartKeepsPeriod(t *testing.T) {
	const pairs = 4
	period := syncengine.ReconcilePeriod(10, 0.05, 2, pairs, 15*time.Minute, 24*time.Hour) // 16 hours
	for _, tc := range []struct {
		name      string
		reconcile *syncengine.Reconcile
		addLater  bool // the pairs are added to the running engine, one by one
		atOnce    bool // every pair runs at the restart
	}{
		{"healthy webhooks", &syncengine.Reconcile{BudgetPerHour: 10, CallsPerRun: 2}, false, false},
		{"healthy webhooks, pairs added to the running engine", &syncengine.Reconcile{BudgetPerHour: 10, CallsPerRun: 2}, true, false},
		{"webhooks down", &syncengine.Reconcile{BudgetPerHour: 10, CallsPerRun: 2, Healthy: func() bool { return false }}, false, true},
		{"no reconcile policy", nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRestartEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, Reconcile: tc.reconcile}, pairs)
			e.start(false)
			if tc.atOnce {
				e.idle() // the initial syncs; the Interval is 5 minutes
			} else {
				e.until(epoch.Add(period + period/2))
			}
			e.stop()
			e.clk.Advance(time.Minute) // the restart, after every run so far
			last := map[string]syncengine.Run{}
			for _, id := range e.ids {
				runs := e.runs(id)
				require.NotEmpty(t, runs)
				last[id] = runs[len(runs)-1]
			}

			restart := e.clk.Now()
			e.start(tc.addLater)
			if tc.atOnce {
				waitFor(t, "every pair to run at the restart", func() bool {
					for _, id := range e.ids {
						if r := e.startedSince(id, restart); len(r) == 0 || r[0].Status == syncengine.RunRunning {
							return false
						}
					}
					return true
				})
				return
			}
			e.idle()
			ran := 0
			for _, id := range e.ids {
				ran += len(e.startedSince(id, restart))
			}
			require.Zero(t, ran, "no pair is due at the restart")
			e.until(restart.Add(2 * period))
			for _, id := range e.ids {
				after := e.startedSince(id, restart)
				require.NotEmpty(t, after, id)
				want := last[id].Started.Add(syncengine.Spread(id, period))
				require.Equal(t, want, after[0].Started, "%s: the reconciliation it had before the restart", id)
				prev := last[id]
				for i, r := range after {
					gap := r.Started.Sub(prev.Ended)
					require.LessOrEqual(t, gap, period, "%s: run %d after the restart came %v after the one before", id, i, gap)
					require.GreaterOrEqual(t, gap, period*3/4, "%s: run %d after the restart came %v after the one before", id, i, gap)
					prev = r
				}
			}
		})
	}
}

// TestScheduleRestartOverdueSpread: pairs whose reconciliation is overdue
// when the scheduler first sees them (a restart after three days down;
// the pairs added to the running engine one by one, as a Manager adds its
// projects) catch up one after the other, one CallsPerRun at 25% of the
// budget apart (2 calls at 2.5 calls an hour: 48 minutes), within one
// period, instead of all at once. A pair woken by a change runs at once
// and leaves its place in the queue empty.
func TestScheduleRestartOverdueSpread(t *testing.T) {
	const pairs = 8
	pol := &syncengine.Reconcile{BudgetPerHour: 10, CallsPerRun: 2}
	e := newRestartEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, Reconcile: pol}, pairs)
	e.start(false)
	e.idle() // the initial syncs
	e.stop()
	for _, id := range e.ids {
		require.Len(t, e.runs(id), 1, id)
	}

	e.clk.Advance(72 * time.Hour)
	restart := e.clk.Now()
	e.start(true)
	waitFor(t, "the first overdue pair to catch up", func() bool {
		r := e.startedSince("p00", restart)
		return len(r) == 1 && r[0].Status != syncengine.RunRunning
	})
	e.idle() // every pair loaded and queued
	const woken = "p05"
	e.eng.Wake(woken)
	e.until(restart.Add(8 * time.Hour))
	const gap = 48 * time.Minute
	var offsets []time.Duration
	for _, id := range e.ids {
		after := e.startedSince(id, restart)
		require.NotEmpty(t, after, "%s caught up", id)
		if id == woken {
			require.Equal(t, restart, after[0].Started, "the woken pair runs at once")
			continue
		}
		offsets = append(offsets, after[0].Started.Sub(restart))
	}
	slices.Sort(offsets)
	var want []time.Duration
	for k := range pairs {
		if k != 5 { // the woken pair's place in the queue
			want = append(want, time.Duration(k)*gap)
		}
	}
	require.Equal(t, want, offsets, "the overdue pairs catch up %v apart, most overdue (then by ID) first", gap)
}

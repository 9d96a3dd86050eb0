package syncengine_test

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

func TestReconcilePeriod(t *testing.T) {
	const day, minP = 24 * time.Hour, 15 * time.Minute
	for _, tc := range []struct {
		name          string
		budget, share float64
		calls         float64
		pairs         int
		want          time.Duration
	}{
		{"few pairs: the minimum", 3600, 0.05, 2, 10, minP},
		{"3,000 pairs at 3,600/h: 5% allows 180 calls/h", 3600, 0.05, 2, 3000, day},
		{"300 pairs at 3,600/h", 3600, 0.05, 2, 300, 200 * time.Minute},
		{"1,000 pairs, 1 call, 3,600/h", 3600, 0.05, 1, 1000, 5*time.Hour + 33*time.Minute + 20*time.Second},
		{"3,000 pairs at 600/h: daily wins over the share", 600, 0.05, 2, 3000, day},
		{"a bigger share", 600, 0.5, 2, 3000, 20 * time.Hour},
		{"no budget", 0, 0.05, 2, 10, day},
		{"no pairs", 600, 0.05, 2, 0, minP},
		{"negative calls", 600, 0.05, -1, 10, minP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := syncengine.ReconcilePeriod(tc.budget, tc.share, tc.calls, tc.pairs, minP, day)
			require.Equal(t, tc.want, got.Round(time.Second))
		})
	}
}

// listLog records, in order, which pair's storage was listed or read for
// changes: the order in which the scheduler ran the pairs.
type listLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *listLog) add(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 || l.ids[len(l.ids)-1] != id {
		l.ids = append(l.ids, id)
	}
}

func (l *listLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ids)
}

type loggedStorage struct {
	storage.Storage
	id  string
	log *listLog
}

func (s loggedStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	s.log.add(s.id)
	return s.Storage.List(ctx)
}

type schedEnv struct {
	t   *testing.T
	clk *manualclock.Clock
	eng *syncengine.Engine
	log *listLog
	ids []string
	a   map[string]*memory.Storage
}

func newSchedEnv(t *testing.T, opts syncengine.Options) *schedEnv {
	clk := manualclock.New(epoch)
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"), sqlitestore.SynchronousNormal())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	opts.Store, opts.Clock, opts.Logger = st, clk, quietLogger()
	eng, err := syncengine.New(opts)
	require.NoError(t, err)
	return &schedEnv{t: t, clk: clk, eng: eng, log: &listLog{}, a: map[string]*memory.Storage{}}
}

func (e *schedEnv) add(id string, files int) {
	a, b := memory.New(memory.WithClock(e.clk.Now)), memory.New(memory.WithClock(e.clk.Now))
	for i := range files {
		_, err := a.WriteFile(fmt.Sprintf("f%d.txt", i), []byte(id))
		require.NoError(e.t, err)
	}
	e.a[id] = a
	require.NoError(e.t, e.eng.AddPair(syncengine.Pair{ID: id, A: loggedStorage{plainStorage{a}, id, e.log},
		B: plainStorage{b}, Initial: syncengine.InitialStandard, Interval: 5 * time.Minute}))
	e.ids = append(e.ids, id)
}

func (e *schedEnv) runs(id string) []syncengine.Run {
	runs, err := e.eng.History(context.Background(), id, syncengine.Page{})
	require.NoError(e.t, err)
	slices.Reverse(runs)
	return runs
}

// idle waits until no run is in progress and the scheduler waits for a
// timer after now.
func (e *schedEnv) idle() {
	e.t.Helper()
	stable := 0
	waitFor(e.t, "the scheduler to be idle", func() bool {
		if !e.quiet() {
			stable = 0
			return false
		}
		stable++
		time.Sleep(10 * time.Millisecond)
		return stable >= 3
	})
}

// quiet reports whether no run is in progress and the scheduler waits for
// a timer after now. Only a pair's latest run can be in progress (its runs
// follow one another), so it reads that one, not the whole history that
// grows with every step.
func (e *schedEnv) quiet() bool {
	for _, id := range e.ids {
		last, err := e.eng.History(context.Background(), id, syncengine.Page{Limit: 1})
		require.NoError(e.t, err)
		if len(last) > 0 && last[0].Status == syncengine.RunRunning {
			return false
		}
	}
	next, ok := e.clk.Next()
	return ok && next.After(e.clk.Now())
}

func (e *schedEnv) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.eng.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// TestScheduleWokenBeforeInitial: with one slot, a woken pair that has
// synced before runs ahead of new projects' initial syncs, even those due
// longer; the initial syncs then take turns.
func TestScheduleWokenBeforeInitial(t *testing.T) {
	e := newSchedEnv(t, syncengine.Options{MaxConcurrentPairs: 1, WakeDelay: -1})
	e.add("inc", 1)
	_, err := e.eng.RunOnce(context.Background(), "inc", syncengine.RunOptions{})
	require.NoError(t, err)
	e.log = &listLog{}
	for i := range 3 {
		e.add(fmt.Sprintf("new%d", i), 2)
	}
	e.clk.Advance(time.Minute) // the new pairs have been due for a minute
	_, err = e.a["inc"].WriteFile("changed.txt", []byte("x"))
	require.NoError(t, err)
	e.eng.Wake("inc")
	// Rebuild the engine's storages' log: only the scheduled runs count.
	for _, id := range e.ids {
		p, _ := e.eng.Pair(id)
		p.A = loggedStorage{plainStorage{e.a[id]}, id, e.log}
		require.NoError(t, e.eng.UpdatePair(p))
	}
	e.start()
	e.idle()
	got := e.log.get()
	require.Equal(t, []string{"inc", "new0", "new1", "new2"}, got, "the woken pair first, then the initial syncs")
	for _, id := range e.ids {
		runs := e.runs(id)
		require.NotEmpty(t, runs)
		require.Equal(t, syncengine.RunSucceeded, runs[len(runs)-1].Status, id)
	}
}

// TestScheduleReconcileDaily: with webhooks healthy and a budget too small
// for the pairs, each pair is reconciled about once a day (never more than
// a day apart) instead of every 5-minute Interval; when the webhooks fail,
// the Interval applies again.
func TestScheduleReconcileDaily(t *testing.T) {
	var mu sync.Mutex
	healthy := true
	// 6 pairs × 2 calls / (10 calls an hour × 5%) = 24 hours between
	// reconciliations. Under the race detector, where every scheduler step
	// costs several times more, half the pairs with half the budget keep
	// the 24 hours with half the runs and history reads per step.
	pairs, budget := 6, 10.0
	if raceDetector {
		pairs, budget = 3, 5
	}
	pol := &syncengine.Reconcile{BudgetPerHour: budget, CallsPerRun: 2, Healthy: func() bool {
		mu.Lock()
		defer mu.Unlock()
		return healthy
	}}
	e := newSchedEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, Reconcile: pol})
	for i := range pairs {
		e.add(fmt.Sprintf("p%d", i), 1)
	}
	e.start()
	end := epoch.Add(4 * 24 * time.Hour)
	for {
		e.idle()
		next, ok := e.clk.Next()
		require.True(t, ok)
		if next.After(end) {
			break
		}
		e.clk.Set(next)
	}
	for _, id := range e.ids {
		runs := e.runs(id)
		require.GreaterOrEqual(t, len(runs), 4, "%s: the initial sync and a reconciliation a day", id)
		require.LessOrEqual(t, len(runs), 6, "%s: not every Interval", id)
		for i := 1; i < len(runs); i++ {
			gap := runs[i].Started.Sub(runs[i-1].Ended)
			require.LessOrEqual(t, gap, 24*time.Hour, "%s: run %d came %v after the previous one", id, i, gap)
			require.GreaterOrEqual(t, gap, 18*time.Hour, "%s: run %d came %v after the previous one", id, i, gap)
		}
	}

	// Webhooks down: the pairs fall back to their Interval once their
	// next reconciliation has run.
	mu.Lock()
	healthy = false
	mu.Unlock()
	before := len(e.runs("p0"))
	stop := e.clk.Now().Add(26 * time.Hour)
	for e.clk.Now().Before(stop) {
		e.idle()
		next, _ := e.clk.Next()
		e.clk.Set(next)
	}
	e.idle()
	require.Greater(t, len(e.runs("p0"))-before, 12, "polled every Interval again")
}

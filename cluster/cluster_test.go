package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// span is one run of a pair on a worker.
type span struct {
	worker     string
	start, end time.Time
}

// recorder keeps every run's span per pair.
type recorder struct {
	mu    sync.Mutex
	spans map[string][]span
	open  map[string]int // pair -> index of its open span (-1: none)
	bad   []string
	start chan string // receives the pair of every run start (non-blocking)
}

func newRecorder() *recorder {
	return &recorder{spans: map[string][]span{}, open: map[string]int{}, start: make(chan string, 1024)}
}

func (r *recorder) hook(worker string) func(pairID string, start bool) {
	return func(pairID string, start bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		now := time.Now()
		if start {
			if i, ok := r.open[pairID]; ok && i >= 0 {
				r.bad = append(r.bad, fmt.Sprintf("pair %s started on %s while running on %s", pairID, worker, r.spans[pairID][i].worker))
			}
			r.spans[pairID] = append(r.spans[pairID], span{worker: worker, start: now})
			r.open[pairID] = len(r.spans[pairID]) - 1
			select {
			case r.start <- pairID:
			default:
			}
			return
		}
		if i, ok := r.open[pairID]; ok && i >= 0 {
			r.spans[pairID][i].end = now
		}
		r.open[pairID] = -1
	}
}

func (r *recorder) runs(pairID string) []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]span(nil), r.spans[pairID]...)
}

// noOverlap asserts that no pair ever ran on two workers at once.
func (r *recorder) noOverlap(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Empty(t, r.bad)
	for p, ss := range r.spans {
		for i := 1; i < len(ss); i++ {
			prevEnd := ss[i-1].end
			if prevEnd.IsZero() { // a crashed run: its worker's process is gone
				continue
			}
			require.Falsef(t, ss[i].start.Before(prevEnd), "pair %s: run %d started before run %d ended", p, i, i-1)
		}
	}
}

// env is a PostgreSQL schema shared by a test's workers.
type env struct {
	t     testing.TB
	dsn   string
	store *pgstore.Store
	pairs map[string]syncengine.Pair
	rec   *recorder
}

func newEnv(t testing.TB) *env {
	dsn := testservices.Postgres(t)
	ctx := context.Background()
	store, err := pgstore.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	pool := newPool(t, dsn)
	require.NoError(t, Migrate(ctx, pool))
	return &env{t: t, dsn: dsn, store: store, pairs: map[string]syncengine.Pair{}, rec: newRecorder()}
}

func newPool(t testing.TB, dsn string) *pgxpool.Pool {
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// addPair registers a pair with files on A and an empty B whose uploads
// take putLatency each.
func (e *env) addPair(id string, files int, putLatency time.Duration) (a, b *memory.Storage) {
	a, b = memory.New(), memory.New()
	for i := range files {
		_, err := a.WriteFile(fmt.Sprintf("Drawings/%s-%03d.pdf", id, i), []byte("%PDF "+id))
		require.NoError(e.t, err)
	}
	b.SetLatency(memory.OpPut, putLatency)
	e.pairs[id] = syncengine.Pair{ID: id, A: a, B: b, Initial: syncengine.InitialStandard, Interval: time.Hour, Concurrency: 1}
	pool := newPool(e.t, e.dsn)
	require.NoError(e.t, Register(context.Background(), pool, id, time.Hour))
	return a, b
}

type testWorker struct {
	*Worker
	pool   *pgxpool.Pool
	cancel context.CancelFunc
	done   chan error
}

// start starts a worker with its own pool and River client.
func (e *env) start(id string, tune func(*Config)) *testWorker {
	pool := newPool(e.t, e.dsn)
	cfg := Config{
		Pool: pool, Store: e.store, ID: id, MaxRuns: 4,
		Pairs: func(_ context.Context, pairID string) (syncengine.Pair, error) {
			p, ok := e.pairs[pairID]
			if !ok {
				return syncengine.Pair{}, errors.New("no such pair")
			}
			return p, nil
		},
		Engine:            syncengine.Options{Logger: slog.New(slog.DiscardHandler)},
		LeaseTTL:          2 * time.Second,
		Tick:              300 * time.Millisecond,
		BusySnooze:        200 * time.Millisecond,
		DrainTimeout:      30 * time.Second,
		FetchPollInterval: 200 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	}
	if tune != nil {
		tune(&cfg)
	}
	w, err := New(cfg)
	require.NoError(e.t, err)
	w.onRun = e.rec.hook(id)
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWorker{Worker: w, pool: pool, cancel: cancel, done: make(chan error, 1)}
	go func() { tw.done <- w.Run(ctx) }()
	e.t.Cleanup(func() { tw.stop(e.t) })
	return tw
}

// stop drains the worker (once).
func (w *testWorker) stop(t testing.TB) {
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		t.Errorf("worker %s did not stop", w.cfg.ID)
	}
	w.done <- nil // a second stop returns at once
}

// kill stops the worker as a crash would: its runs are cut off without
// releasing their leases or recording their end, its River client stops
// without draining and its pool closes.
func (w *testWorker) kill(t testing.TB) {
	w.crash()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, w.river.StopAndCancel(ctx))
	w.pool.Close()
}

// converged reports whether b holds every file of a.
func converged(a, b *memory.Storage, id string, files int) bool {
	for i := range files {
		if _, err := b.ReadFile(fmt.Sprintf("Drawings/%s-%03d.pdf", id, i)); err != nil {
			return false
		}
	}
	_ = a
	return true
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWorkersConvergeWithoutOverlap(t *testing.T) {
	e := newEnv(t)
	const pairs, files = 12, 3
	sides := map[string][2]*memory.Storage{}
	for i := range pairs {
		id := fmt.Sprintf("p%02d", i)
		a, b := e.addPair(id, files, 20*time.Millisecond)
		sides[id] = [2]*memory.Storage{a, b}
	}
	var ws []*testWorker
	for i := range 3 {
		ws = append(ws, e.start(fmt.Sprintf("w%d", i), nil))
	}
	// Wakes from every worker while the schedule also enqueues the pairs.
	for i := range pairs {
		id := fmt.Sprintf("p%02d", i)
		require.NoError(t, ws[i%3].Wake(context.Background(), id))
	}
	waitFor(t, time.Minute, "every pair to converge", func() bool {
		for id, s := range sides {
			if !converged(s[0], s[1], id, files) {
				return false
			}
		}
		return true
	})
	used := map[string]bool{}
	for id := range sides {
		for _, s := range e.rec.runs(id) {
			used[s.worker] = true
		}
	}
	require.Greater(t, len(used), 1, "runs were spread over the workers")
	e.rec.noOverlap(t)
	require.ErrorIs(t, ws[0].Wake(context.Background(), "nope"), ErrUnknownPair)
}

func TestWakesCoalesceAndWakeDuringRunGivesOneMore(t *testing.T) {
	e := newEnv(t)
	a, b := e.addPair("tower", 2, 0)
	// Wakes before any worker runs: one waiting job.
	ctx := context.Background()
	insertOnly := e.start("ingress", func(c *Config) { c.MaxRuns = 1 })
	insertOnly.stop(t) // drained; its client still inserts
	for range 5 {
		require.NoError(t, insertOnly.Wake(ctx, "tower"))
	}
	depth, err := QueueDepth(insertOnly.pool)(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), depth[DefaultQueue], "five wakes of a waiting pair give one job")

	b.SetLatency(memory.OpPut, 400*time.Millisecond)
	w := e.start("w1", func(c *Config) { c.Tick = time.Hour })
	pair := <-e.rec.start
	require.Equal(t, "tower", pair)
	// During the run: a change and three wakes give exactly one more run.
	_, err = a.WriteFile("Drawings/late.pdf", []byte("late"))
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, w.Wake(ctx, "tower"))
	}
	waitFor(t, 30*time.Second, "the late file", func() bool {
		_, err := b.ReadFile("Drawings/late.pdf")
		return err == nil
	})
	waitFor(t, 30*time.Second, "the runs to end", func() bool {
		d, err := QueueDepth(w.pool)(ctx)
		rs := e.rec.runs("tower")
		return err == nil && d[DefaultQueue] == 0 && len(rs) >= 2 && !rs[len(rs)-1].end.IsZero()
	})
	time.Sleep(500 * time.Millisecond) // nothing else comes
	require.Len(t, e.rec.runs("tower"), 2, "one run for the waiting wakes, one for the wakes during it")
	e.rec.noOverlap(t)
}

func TestKilledWorkersPairResumesElsewhere(t *testing.T) {
	e := newEnv(t)
	const files = 30
	a, b := e.addPair("big", files, 100*time.Millisecond)
	w1 := e.start("w1", nil)
	require.Equal(t, "big", <-e.rec.start)
	waitFor(t, 30*time.Second, "some uploads", func() bool { return b.CallCount(memory.OpPut) >= 3 })
	w2 := e.start("w2", nil)
	killed := time.Now()
	w1.kill(t)
	require.Equal(t, "big", <-e.rec.start)
	resumed := time.Since(killed)
	rs := e.rec.runs("big")
	require.Equal(t, "w2", rs[len(rs)-1].worker)
	waitFor(t, time.Minute, "the pair to converge", func() bool { return converged(a, b, "big", files) })
	t.Logf("killed worker's pair resumed on another after %s (lease TTL %s, tick %s)", resumed.Round(time.Millisecond),
		w2.cfg.LeaseTTL, w2.cfg.Tick)
	e.rec.noOverlap(t)
	// Nothing was uploaded twice under another name and nothing is missing.
	got := 0
	for _, entry := range mustList(t, b, "Drawings") {
		got++
		_ = entry
	}
	require.Equal(t, files, got)
}

func mustList(t *testing.T, s *memory.Storage, dir string) []string {
	t.Helper()
	var names []string
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if !e.IsDir && strings.HasPrefix(e.Path, dir+"/") {
			names = append(names, e.Path)
		}
	}
	return names
}

func TestDrainLetsARunFinish(t *testing.T) {
	e := newEnv(t)
	const files = 5
	a, b := e.addPair("drain", files, 200*time.Millisecond)
	w := e.start("w1", nil)
	require.Equal(t, "drain", <-e.rec.start)
	w.cancel() // graceful stop while the run uploads
	select {
	case err := <-w.done:
		require.NoError(t, err)
		w.done <- nil
	case <-time.After(time.Minute):
		t.Fatal("drain did not end")
	}
	require.True(t, converged(a, b, "drain", files), "the run finished before the worker stopped")
	rs := e.rec.runs("drain")
	require.Len(t, rs, 1)
	require.False(t, rs[0].end.IsZero())
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{})
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.Equal(t, "a_b-c_1", sanitizeID("a.b-c/1"))
}

// BenchmarkThroughput runs 12 pairs of 4 files each, every upload taking
// 50 ms (transfer-bound work), on 1, 2 and 3 workers of 2 runs each, and
// reports files per second from the first run start to convergence.
func BenchmarkThroughput(b *testing.B) {
	const pairs, files, latency = 12, 4, 50 * time.Millisecond
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var total time.Duration
			b.StopTimer()
			for range b.N {
				e := newEnv(b)
				sides := map[string][2]*memory.Storage{}
				for i := range pairs {
					id := fmt.Sprintf("p%02d", i)
					a, s := e.addPair(id, files, latency)
					sides[id] = [2]*memory.Storage{a, s}
				}
				b.StartTimer()
				began := time.Now()
				var ws []*testWorker
				for i := range n {
					ws = append(ws, e.start(fmt.Sprintf("w%d", i), func(c *Config) { c.MaxRuns = 2 }))
				}
				waitFor(b, 5*time.Minute, "convergence", func() bool {
					for id, s := range sides {
						if !converged(s[0], s[1], id, files) {
							return false
						}
					}
					return true
				})
				total += time.Since(began)
				b.StopTimer()
				e.rec.noOverlap(b)
				for _, w := range ws {
					w.stop(b)
				}
			}
			b.ReportMetric(float64(pairs*files*b.N)/total.Seconds(), "files/s")
		})
	}
}

// TestRunLogsNameWorkerPairAndRun: the records of a run on a worker carry
// the worker, the job, the pair and the run; a storage finds them in its
// context.
func TestRunLogsNameWorkerPairAndRun(t *testing.T) {
	e := newEnv(t)
	a, b := e.addPair("logged", 2, 0)
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen []slog.Attr
	p := e.pairs["logged"]
	p.B = ctxSpy{Storage: b, seen: func(attrs []slog.Attr) { mu.Lock(); seen = attrs; mu.Unlock() }}
	e.pairs["logged"] = p
	w := e.start("w-logs", func(c *Config) { c.Logger = log; c.Engine.Logger = nil })
	waitFor(t, 30*time.Second, "the pair to converge", func() bool { return converged(a, b, "logged", 2) })
	waitFor(t, 30*time.Second, "the run to end", func() bool {
		rs := e.rec.runs("logged")
		return len(rs) > 0 && !rs[0].end.IsZero()
	})
	w.stop(t)
	mu.Lock()
	defer mu.Unlock()
	runs := 0
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var r map[string]any
		require.NoError(t, json.Unmarshal(line, &r))
		require.Equal(t, "w-logs", r["worker"], "%s", line)
		if _, ok := r["run"]; !ok {
			continue
		}
		runs++
		pair := r["pair"]
		if g, ok := pair.(map[string]any); ok {
			pair = g["id"]
		}
		require.Equal(t, "logged", pair, "%s", line)
		require.NotNil(t, r["job"], "%s", line)
	}
	require.Positive(t, runs)
	keys := map[string]bool{}
	for _, a := range seen {
		keys[a.Key] = true
	}
	require.Equal(t, map[string]bool{"worker": true, "job": true, "pair": true, "run": true}, keys)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ctxSpy reports the log attributes of its Put calls' context.
type ctxSpy struct {
	storage.Storage
	seen func([]slog.Attr)
}

func (c ctxSpy) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	c.seen(syncengine.LogAttrs(ctx))
	return c.Storage.Put(ctx, parent, name, r, size, opt)
}

package syncengine_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	se "github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

const (
	benchFolders = 1000
	benchPerDir  = 1000 // 1,000,000 files (and 1,000 folders)
)

var bench struct {
	once sync.Once
	f    *fixture
	err  error
	dir  string // the fixture's SQLite folder, removed by TestMain
}

// TestMain removes the benchmark fixture's SQLite folder (about 400 MB
// for 1,000,000 items) once every test and benchmark has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.f != nil {
		_ = bench.f.store.Close()
	}
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// benchFixture builds, once per process, two in-memory storages holding
// the same 1,000,000 files and a SQLite baseline linking them.
func benchFixture(b *testing.B) *fixture {
	bench.once.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "plan-bench")
		if err != nil {
			bench.err = err
			return
		}
		bench.dir = dir
		st, err := sqlitestore.Open(filepath.Join(dir, "meta.db"), sqlitestore.SynchronousNormal())
		if err != nil {
			bench.err = err
			return
		}
		f := &fixture{a: memory.New(), b: memory.New(), store: st}
		f.p = &se.Pair{ID: "bench", A: f.a, B: f.b}
		data := []byte("x")
		var items []se.Item
		for d := range benchFolders {
			da, err1 := f.a.Mkdirs(fmt.Sprintf("folder-%04d", d))
			db, err2 := f.b.Mkdirs(fmt.Sprintf("folder-%04d", d))
			if err1 != nil || err2 != nil {
				bench.err = fmt.Errorf("mkdirs: %v %v", err1, err2)
				return
			}
			items = append(items, se.Item{IsDir: true, A: se.StateOf(da), B: se.StateOf(db)})
			for i := range benchPerDir {
				p := fmt.Sprintf("folder-%04d/file-%04d.dat", d, i)
				ea, err1 := f.a.WriteFile(p, data)
				eb, err2 := f.b.WriteFile(p, data)
				if err1 != nil || err2 != nil {
					bench.err = fmt.Errorf("write: %v %v", err1, err2)
					return
				}
				items = append(items, se.Item{A: se.StateOf(ea), B: se.StateOf(eb)})
			}
			if len(items) >= 20000 || d == benchFolders-1 {
				if err := st.PutItems(ctx, f.p.ID, items, nil); err != nil {
					bench.err = err
					return
				}
				items = items[:0]
			}
		}
		ra, _ := f.a.Stat(ctx, "")
		rb, _ := f.b.Stat(ctx, "")
		f.ps = se.PairState{Initialized: true, RootA: ra.ID, RootB: rb.ID}
		bench.f = f
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.f
}

// peakSampler samples HeapAlloc while a run goes on.
func peakSampler() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// readMetric returns the value of a uint64 runtime metric.
func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		panic("runtime metric " + name + " is not supported")
	}
	return s[0].Value.Uint64()
}

// liveSampler measures the peak live heap of a run: sample collects the
// garbage and notes the heap that survives. The run calls it as its
// working set grows and where it is largest (see sampledStore and
// sampledStorage), so that the peak is neither hidden by garbage nor
// missed. It is safe for concurrent use (Detect lists both sides at once).
type liveSampler struct {
	mu      sync.Mutex
	peak    uint64
	samples int
}

// sample forces a collection and notes the live heap.
func (l *liveSampler) sample() {
	l.mu.Lock()
	defer l.mu.Unlock()
	runtime.GC()
	l.peak = max(l.peak, readMetric("/gc/heap/live:bytes"))
	l.samples++
}

// scanStore is a store that reads its baseline in key ranges, and shows
// nothing else of what sqlitestore can do: Detect scans its baseline
// every time instead of reading a saved index.
type scanStore interface {
	se.MetadataStore
	se.BaselineRangeScanner
}

// sampledStore samples the live heap every `every` rows of ScanBaseline
// and at its end.
type sampledStore struct {
	scanStore
	l     *liveSampler
	every int
}

// ScanBaseline scans the baseline, sampling the live heap as it goes.
func (s *sampledStore) ScanBaseline(ctx context.Context, pairID string, fn func(*se.BaselineRow) error) error {
	n := 0
	err := s.scanStore.ScanBaseline(ctx, pairID, func(r *se.BaselineRow) error {
		if n++; n%s.every == 0 {
			s.l.sample()
		}
		return fn(r)
	})
	s.l.sample()
	return err
}

// ScanBaselineRange scans a range of the baseline (Detect reads a large
// baseline in ranges at once), sampling the live heap as it goes.
func (s *sampledStore) ScanBaselineRange(ctx context.Context, pairID string, from, to int64, fn func(*se.BaselineRow) error) error {
	n := 0
	err := s.scanStore.ScanBaselineRange(ctx, pairID, from, to, func(r *se.BaselineRow) error {
		if n++; n%s.every == 0 {
			s.l.sample()
		}
		return fn(r)
	})
	s.l.sample()
	return err
}

// sampledStorage samples the live heap every `every` listed entries and
// once the listing is done.
type sampledStorage struct {
	*memory.Storage
	l     *liveSampler
	every int
}

// List lists the storage, sampling the live heap as it goes.
func (s *sampledStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		n := 0
		for e, err := range s.Storage.List(ctx) {
			if n++; n%s.every == 0 {
				s.l.sample()
			}
			if !yield(e, err) {
				return
			}
		}
		s.l.sample()
	}
}

// measureLive runs Detect and BuildPlan once with the live heap sampled
// during the baseline scan (never a saved index) and the listings and after each step, and
// returns the peak growth of the live heap over what it was before.
func measureLive(b *testing.B, f *fixture) (peak uint64, samples int) {
	ctx := context.Background()
	l := &liveSampler{}
	const every = 500_000
	p := *f.p
	p.A = &sampledStorage{Storage: f.a, l: l, every: every}
	p.B = &sampledStorage{Storage: f.b, l: l, every: every}
	store := &sampledStore{scanStore: f.store, l: l, every: every}
	runtime.GC()
	before := readMetric("/gc/heap/live:bytes")
	in, _, err := se.Detect(ctx, &p, store, f.ps, se.DetectOptions{Now: now, Full: true})
	if err != nil {
		b.Fatal(err)
	}
	l.sample()
	pl := se.BuildPlan(in)
	l.sample()
	runtime.KeepAlive(in)
	runtime.KeepAlive(pl)
	if len(pl.Actions) != 0 || pl.Refused != "" {
		b.Fatalf("unexpected plan: %d actions, refused %q", len(pl.Actions), pl.Refused)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peak - min(l.peak, before), l.samples
}

// BenchmarkPlanFull1M plans a pair of 1,000,000 unchanged files from full
// listings of both sides against a SQLite baseline. Per item, it reports:
//
//   - alloc-B/item: the bytes allocated during Detect and BuildPlan;
//   - peak-B/item: the largest heap growth sampled (HeapAlloc, every
//     100 ms) during the run, garbage not yet collected included, which
//     depends on when the collector happens to run;
//   - peak-live-B/item: the largest growth of the live heap (what survives
//     a collection) during an untimed run after the first timed one, which
//     collects and samples every 500,000 rows and entries and at the end of
//     each step: the planner's working set;
//   - retained-B/item: the heap still held by the plan input and plan
//     after a collection.
//
// and s/run and best-s/run, the mean and the shortest wall time of Detect
// and BuildPlan over the timed runs. The first timed run scans the SQLite
// baseline and saves its index (sqlitestore is a BaselineIndexCache); the
// baseline does not change, so the later runs read the saved index. The
// log gives the time of each run. With PLAN_CPUPROFILE=file set, run n
// writes a CPU profile of its timed part to file.n.
func BenchmarkPlanFull1M(b *testing.B) {
	planFull1M(b, benchFixture(b).store)
}

// BenchmarkPlanFull1MScan is BenchmarkPlanFull1M on a store that has no
// saved index to offer: every run scans the baseline, as the first full
// listing after a change of the baseline does.
func BenchmarkPlanFull1MScan(b *testing.B) {
	planFull1M(b, struct{ scanStore }{benchFixture(b).store})
}

// planFull1M runs the timed Detect and BuildPlan of BenchmarkPlanFull1M
// against store.
func planFull1M(b *testing.B, store se.MetadataStore) {
	f := benchFixture(b)
	ctx := context.Background()
	items := float64(benchFolders * (benchPerDir + 1))
	var total, best time.Duration
	var times []string
	var live uint64 // measured once, on the first iteration
	runs := 0
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		allocs := readMetric("/gc/heap/allocs:bytes")
		stop := peakSampler()
		stopProfile := profileTimed(b, runs)
		start := time.Now()
		in, _, err := se.Detect(ctx, f.p, store, f.ps, se.DetectOptions{Now: now, Full: true})
		if err != nil {
			b.Fatal(err)
		}
		pl := se.BuildPlan(in)
		el := time.Since(start)
		stopProfile()
		allocs = readMetric("/gc/heap/allocs:bytes") - allocs
		peak := stop()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(pl)
		if len(pl.Actions) != 0 || pl.Refused != "" {
			b.Fatalf("unexpected plan: %d actions, refused %q", len(pl.Actions), pl.Refused)
		}
		runtime.KeepAlive(in)
		total += el
		runs++
		if best == 0 || el < best {
			best = el
		}
		times = append(times, fmt.Sprintf("%.2f", el.Seconds()))
		if runs == 1 {
			b.StopTimer()
			gcStart := time.Now()
			runtime.GC()
			gcTime := time.Since(gcStart)
			var samples int
			live, samples = measureLive(b, f)
			b.StartTimer()
			b.Logf("run 1: %.2f s, heap before the run %d MB, a forced collection %.2f s, %d live-heap samples",
				el.Seconds(), before.HeapAlloc>>20, gcTime.Seconds(), samples)
		}
		b.ReportMetric(float64(allocs)/items, "alloc-B/item")
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/items, "retained-B/item")
		b.ReportMetric(float64(int64(peak)-int64(before.HeapAlloc))/items, "peak-B/item")
		b.ReportMetric(float64(live)/items, "peak-live-B/item")
		b.ReportMetric(total.Seconds()/float64(runs), "s/run")
		b.ReportMetric(best.Seconds(), "best-s/run")
	}
	b.Logf("seconds per run: %s", strings.Join(times, " "))
}

// profileTimed writes a CPU profile of the timed part of run n (Detect
// and BuildPlan only, without the collections and samples around it) to
// $PLAN_CPUPROFILE.n when that variable is set; the returned func stops it.
func profileTimed(b *testing.B, n int) (stop func()) {
	name := os.Getenv("PLAN_CPUPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", name, n))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanIncremental100 plans 100 changes on a 1,000,000-item pair
// whose storages have change feeds: Detect reads the feeds and looks items
// up by ID, never scanning the baseline.
func BenchmarkPlanIncremental100(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	ps := f.ps
	var err error
	if ps.CursorA, err = f.a.LatestCursor(ctx); err != nil {
		b.Fatal(err)
	}
	if ps.CursorB, err = f.b.LatestCursor(ctx); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		p := fmt.Sprintf("folder-%04d/file-%04d.dat", i*7, i)
		if _, err := f.a.WriteFile(p, []byte(fmt.Sprint("changed ", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		in, _, err := se.Detect(ctx, f.p, f.store, ps, se.DetectOptions{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		pl := se.BuildPlan(in)
		if len(pl.Actions) != 100 {
			b.Fatalf("want 100 actions, got %d", len(pl.Actions))
		}
	}
}

package syncengine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkPlanFull1M plans a pair of 1,000,000 unchanged files from full
// listings of both sides against a SQLite baseline. It reports the heap
// still held by the plan input and plan per item after a GC
// (retained-B/item), the largest heap growth sampled during the run per
// item, garbage not yet collected included (peak-B/item), and seconds.
func BenchmarkPlanFull1M(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	items := float64(benchFolders * (benchPerDir + 1))
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := peakSampler()
		start := time.Now()
		in, _, err := se.Detect(ctx, f.p, f.store, f.ps, se.DetectOptions{Now: now, Full: true})
		if err != nil {
			b.Fatal(err)
		}
		pl := se.BuildPlan(in)
		el := time.Since(start)
		peak := stop()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(pl)
		if len(pl.Actions) != 0 || pl.Refused != "" {
			b.Fatalf("unexpected plan: %d actions, refused %q", len(pl.Actions), pl.Refused)
		}
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/items, "retained-B/item")
		b.ReportMetric(float64(int64(peak)-int64(before.HeapAlloc))/items, "peak-B/item")
		b.ReportMetric(el.Seconds(), "s/run")
		runtime.KeepAlive(in)
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

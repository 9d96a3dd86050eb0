package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// planning builds two in-memory storages holding the same n files (in
// folders of 1,000) and their SQLite baseline, then times the pair's
// DryRun (both sides listed in full, every item compared with the
// baseline, the plan built) and samples the heap meanwhile.
func planning(ctx context.Context, n int) ([]Row, error) {
	dir, err := os.MkdirTemp("", "procoresync-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := sqlitestore.Open(filepath.Join(dir, "meta.db"), sqlitestore.SynchronousNormal())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	a, b := memory.New(), memory.New()
	p := &syncengine.Pair{ID: "plan", A: a, B: b}
	data := []byte("x")
	const perDir = 1000
	var items []syncengine.Item
	total := 0
	for d := 0; total < n; d++ {
		da, err1 := a.Mkdirs(fmt.Sprintf("folder-%04d", d))
		db, err2 := b.Mkdirs(fmt.Sprintf("folder-%04d", d))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mkdirs: %v %v", err1, err2)
		}
		items = append(items, syncengine.Item{IsDir: true, A: syncengine.StateOf(da), B: syncengine.StateOf(db)})
		total++
		for i := 0; i < perDir && total < n; i++ {
			name := fmt.Sprintf("folder-%04d/file-%04d.dat", d, i)
			ea, err1 := a.WriteFile(name, data)
			eb, err2 := b.WriteFile(name, data)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("write: %v %v", err1, err2)
			}
			items = append(items, syncengine.Item{A: syncengine.StateOf(ea), B: syncengine.StateOf(eb)})
			total++
		}
		if len(items) >= 20000 || total >= n {
			if err := st.PutItems(ctx, p.ID, items, nil); err != nil {
				return nil, err
			}
			items = items[:0]
		}
	}
	ra, _ := a.Stat(ctx, "")
	rb, _ := b.Stat(ctx, "")
	ps := syncengine.PairState{Initialized: true, RootA: ra.ID, RootB: rb.ID}
	if err := st.SavePair(ctx, p.ID, ps); err != nil {
		return nil, err
	}
	eng, err := syncengine.New(syncengine.Options{Store: st})
	if err != nil {
		return nil, err
	}
	if err := eng.AddPair(*p); err != nil {
		return nil, err
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := peakSampler()
	start := time.Now()
	pl, err := eng.DryRun(ctx, p.ID)
	el := time.Since(start)
	peak := stop()
	if err != nil {
		return nil, err
	}
	if len(pl.Actions) != 0 || pl.Refused != "" {
		return nil, fmt.Errorf("unexpected plan: %d actions, refused %q", len(pl.Actions), pl.Refused)
	}
	extra := int64(peak) - int64(before.HeapAlloc)
	return []Row{
		{fmt.Sprintf("listing + plan (DryRun) of %d items: time", total), fmt.Sprintf("%.2f s", el.Seconds()), ""},
		{fmt.Sprintf("listing + plan (DryRun) of %d items: peak heap above the storages", total),
			fmt.Sprintf("%d MiB (%.0f B/item)", extra>>20, float64(extra)/float64(total)), ""},
	}, nil
}

// peakSampler samples HeapAlloc every 50 ms until stopped.
func peakSampler() (stop func() uint64) {
	var peak atomic.Uint64
	done, finished := make(chan struct{}), make(chan struct{})
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
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

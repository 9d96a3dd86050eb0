package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// benchItem returns a realistic baseline item number i: a file four levels
// deep with IDs, versions and a hash on each side.
func benchItem(i int) syncengine.Item {
	p := fmt.Sprintf("Project %03d/Drawings/Level %02d/sheet-%07d.pdf", i/100000, i/1000%100, i)
	mt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	return syncengine.Item{
		A: syncengine.SideState{ID: fmt.Sprint(100000000 + i), ParentID: fmt.Sprint(90000 + i/1000), Path: p,
			Version: mt.Format(time.RFC3339), Size: int64(i) * 37, ModTime: mt,
			Hashes: storage.Hashes{storage.HashSHA256: fmt.Sprintf("%064x", i)}},
		B: syncengine.SideState{ID: fmt.Sprintf("01ABCDEFGHIJKLMN%010d", i), ParentID: fmt.Sprintf("01PARENT%010d", i/1000),
			Path: p, Version: fmt.Sprintf("\"{%08X-0000-0000-0000-000000000000},1\"", i), Size: int64(i) * 37, ModTime: mt,
			Hashes: storage.Hashes{storage.HashQuickXor: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
	}
}

const items1M = 1_000_000

var (
	bigOnce  sync.Once
	bigStore *sqlitestore.Store
	bigErr   error
)

// bigDB returns a store holding items1M items in pair "big", built once per
// process (in a temporary directory removed by TestMain).
func bigDB(b *testing.B) *sqlitestore.Store {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sqlitestore-bench")
		if err != nil {
			bigErr = err
			return
		}
		benchDirs = append(benchDirs, dir)
		s, err := sqlitestore.Open(filepath.Join(dir, "big.db"), sqlitestore.SynchronousNormal())
		if err != nil {
			bigErr = err
			return
		}
		start := time.Now()
		batch := make([]syncengine.Item, 0, 10000)
		for i := 0; i < items1M; i++ {
			batch = append(batch, benchItem(i))
			if len(batch) == cap(batch) {
				if bigErr = s.PutItems(context.Background(), "big", batch, nil); bigErr != nil {
					return
				}
				batch = batch[:0]
			}
		}
		b.Logf("inserted %d items in %s", items1M, time.Since(start).Round(time.Millisecond))
		bigStore = s
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore
}

var benchDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	if bigStore != nil {
		bigStore.Close()
	}
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// BenchmarkItems1M streams the baseline of a pair of 1,000,000 items.
func BenchmarkItems1M(b *testing.B) {
	s := bigDB(b)
	ctx := context.Background()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for range b.N {
		n := 0
		for _, err := range s.Items(ctx, "big") {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != items1M {
			b.Fatalf("got %d items", n)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	perItem := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(b.N) / items1M
	b.ReportMetric(float64(items1M)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(perItem, "B/item")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/items1M, "allocs/item")
}

// BenchmarkScanBaseline1M scans the lean baseline of a pair of 1,000,000
// items, as Detect does before comparing full listings with it.
func BenchmarkScanBaseline1M(b *testing.B) {
	s := bigDB(b)
	ctx := context.Background()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for range b.N {
		n := 0
		var bytes int
		err := s.ScanBaseline(ctx, "big", func(r *syncengine.BaselineRow) error {
			n++
			bytes += len(r.A.ID) + len(r.B.Path) + len(r.A.Version)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n != items1M || bytes == 0 {
			b.Fatalf("got %d items", n)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	perItem := float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(b.N) / items1M
	b.ReportMetric(float64(items1M)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(perItem, "B/item")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N)/items1M, "allocs/item")
}

// BenchmarkPutItems inserts batches of 10,000 new items.
func BenchmarkPutItems(b *testing.B) {
	s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "put.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const batch = 10000
	next := 0
	items := make([]syncengine.Item, batch)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range items {
			items[i] = benchItem(next)
			next++
		}
		b.StartTimer()
		if err := s.PutItems(ctx, "p", items, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkItemByID looks items up by their side-B ID in the 1M-item pair.
func BenchmarkItemByID(b *testing.B) {
	s := bigDB(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		id := benchItem(i * 7919 % items1M).B.ID
		it, err := s.ItemByID(ctx, "big", syncengine.SideB, id)
		if err != nil {
			b.Fatal(err)
		}
		if it.B.ID != id {
			b.Fatalf("got %q", it.B.ID)
		}
	}
}

package redislimit_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/syncengine"
)

// BenchmarkWait measures granted Waits per second on one shared budget
// (two windows, never the limit: the cost of the decision itself), with 1
// and 4 limiter instances, each with its own Redis client, and 4
// goroutines per instance per GOMAXPROCS.
func BenchmarkWait(b *testing.B) {
	budget := syncengine.BudgetConfig{Windows: []syncengine.Window{
		{Limit: 1 << 30, Per: time.Hour}, {Limit: 1 << 30, Per: 10 * time.Second}}}
	for _, instances := range []int{1, 4} {
		b.Run(fmt.Sprintf("instances=%d", instances), func(b *testing.B) {
			r := testservices.NewRedis(b)
			lims := newLimiters(b, r, instances, map[string]syncengine.BudgetConfig{"k": budget})
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(4 * instances) // 4 goroutines per instance per GOMAXPROCS
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				l := lims[int(next.Add(1))%instances]
				for pb.Next() {
					if err := l.Wait(ctx, "k", 1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "waits/s")
		})
	}
}

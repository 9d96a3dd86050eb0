package syncengine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/memory"
)

// noStore is a MetadataStore whose methods restoreSchedule never calls.
type noStore struct{ MetadataStore }

// BenchmarkRestoreSchedule measures what a restart under a healthy
// Reconcile policy makes due, for fleets of pairs that all synced before
// (their last run in the store): how many pairs run at once, within the
// first hour, in the busiest hour of the first day, and when the last
// overdue one catches up. Before, every such pair ran at the restart.
// (The time per operation includes adding the pairs; one-by-one places
// the restored pairs again each time one is loaded.)
//
//	go test -run '^$' -bench BenchmarkRestoreSchedule -benchtime 3x ./syncengine/
func BenchmarkRestoreSchedule(b *testing.B) {
	for _, sc := range []struct {
		pairs    int
		budget   float64
		down     time.Duration // how long the engine was stopped
		oneByOne bool          // the scheduler loads the pairs one at a time
	}{
		{3000, 600, 10 * time.Minute, false},
		{3000, 600, 72 * time.Hour, false},
		{3000, 3600, 72 * time.Hour, false},
		{1000, 3600, 10 * time.Minute, false},
		{3000, 600, 10 * time.Minute, true},
	} {
		name := fmt.Sprintf("pairs=%d/budget=%.0f/down=%v/one-by-one=%v", sc.pairs, sc.budget, sc.down, sc.oneByOne)
		b.Run(name, func(b *testing.B) {
			now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
			var atOnce, firstHour, busiest, overdue int
			var calls float64
			var last time.Duration
			for b.Loop() {
				e, err := New(Options{Store: noStore{}, Reconcile: &Reconcile{BudgetPerHour: sc.budget}})
				if err != nil {
					b.Fatal(err)
				}
				for i := range sc.pairs {
					if err := e.AddPair(Pair{ID: fmt.Sprintf("p%05d", i), A: memory.New(), B: memory.New()}); err != nil {
						b.Fatal(err)
					}
				}
				period, _ := e.reconcilePeriod()
				rng := rand.New(rand.NewPCG(1, 2))
				var slots []*pairSlot
				for _, id := range e.order {
					s := e.pairs[id]
					s.initialized = 2
					// Before the engine stopped, each pair's last run fell
					// anywhere in the period before the stop.
					s.lastRun = now.Add(-sc.down - time.Duration(rng.Int64N(int64(period))))
					slots = append(slots, s)
				}
				if sc.oneByOne {
					for i := range slots {
						e.restoreSchedule(nil, slots[i:i+1], now)
					}
				} else {
					e.restoreSchedule(slices.Clone(slots), slots, now)
				}
				atOnce, firstHour, overdue, last = 0, 0, 0, 0
				hours := map[int]int{}
				for _, s := range slots {
					d := s.next.Sub(now)
					if d <= 0 {
						atOnce++
					}
					if d < time.Hour {
						firstHour++
					}
					if !s.lastRun.Add(spread(s.cur().ID, period)).After(now) {
						overdue++
						last = max(last, d)
					}
					hours[int(d/time.Hour)]++
				}
				busiest = 0
				for h, n := range hours {
					if h < 24 {
						busiest = max(busiest, n)
					}
				}
				calls = float64(busiest) * e.opts.Reconcile.withDefaults().CallsPerRun
			}
			b.ReportMetric(float64(atOnce), "at-once")
			b.ReportMetric(float64(firstHour), "first-hour")
			b.ReportMetric(float64(busiest), "busiest-hour")
			b.ReportMetric(calls/sc.budget*100, "busiest-hour-%budget")
			b.ReportMetric(float64(overdue), "overdue")
			b.ReportMetric(last.Hours(), "catch-up-h")
		})
	}
}

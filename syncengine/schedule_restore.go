package syncengine

import (
	"cmp"
	"slices"
	"time"
)

// restoreSchedule sets when the pairs just loaded from the store (loaded)
// that synced before next run, under a healthy Reconcile policy: the
// start of the pair's last run in the store plus its point in the period
// (spread), so that a restart, or pairs that synced before added to a
// running engine, keeps each pair's period instead of running every pair
// at once. Pairs overdue (or with no run recorded) catch up one after the
// other, most overdue first, catchUpGap apart (e.catchUpAt is the end of
// that queue). It returns the candidates of pick still due at now (or
// woken). Without a healthy policy nothing changes: pairs run every
// Interval and the first run after a restart comes at once, as those
// pairs fall due within an Interval anyway. e.mu is held.
func (e *Engine) restoreSchedule(cands, loaded []*pairSlot, now time.Time) []*pairSlot {
	period, ok := e.reconcilePeriod()
	if !ok {
		return cands
	}
	var overdue []*pairSlot
	for _, s := range loaded {
		if s.initialized != 2 || !s.next.IsZero() || s.busy || s.removed {
			continue
		}
		if !s.lastRun.IsZero() {
			if at := s.lastRun.Add(spread(s.cur().ID, period)); at.After(now) {
				// Never later than a period from now (a clock that
				// went back).
				s.next = minTime(at, now.Add(period))
				continue
			}
		}
		overdue = append(overdue, s)
	}
	slices.SortStableFunc(overdue, func(a, b *pairSlot) int {
		return cmp.Or(a.lastRun.Compare(b.lastRun), cmp.Compare(a.cur().ID, b.cur().ID))
	})
	gap := e.catchUpGap(period)
	for _, s := range overdue {
		at := now
		if e.catchUpAt.After(at) {
			at = e.catchUpAt
		}
		s.next = at
		e.catchUpAt = at.Add(gap)
	}
	return slices.DeleteFunc(cands, func(s *pairSlot) bool {
		return !e.wakeDue(s, now) && s.next.After(now)
	})
}

// catchUpGap returns the time between two overdue reconciliations that
// catch up: one reconciliation's calls at Reconcile.CatchUpShare of the
// budget, yet never so long that catching up every pair would take more
// than period. e.mu is held; a healthy Reconcile policy is set.
func (e *Engine) catchUpGap(period time.Duration) time.Duration {
	r := e.opts.Reconcile.withDefaults()
	gap := time.Duration(r.CallsPerRun / (r.BudgetPerHour * r.CatchUpShare) * float64(time.Hour))
	if n := len(e.pairs); n > 0 {
		gap = min(gap, period/time.Duration(n))
	}
	return max(gap, 0)
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

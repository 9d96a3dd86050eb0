package syncengine

import (
	"cmp"
	"slices"
	"time"
)

// restoreSchedule sets when the pairs that synced before and were just
// loaded from the store (loaded) next run, under a healthy Reconcile
// policy: the start of the pair's last run in the store plus its point in
// the period (spread), so that a restart, or pairs that synced before
// added to a running engine, keeps each pair's period instead of running
// every pair at once. Pairs overdue (or with no run recorded) catch up one
// after the other, most overdue first, one reconciliation's calls at
// Reconcile.CatchUpShare of the budget apart, yet never so far apart that
// catching up takes longer than one period.
//
// The period depends on how many pairs the engine has, and a Manager adds
// its pairs one by one, maybe to a running engine: until they run, the
// restored pairs (e.restoredQ) are placed again whenever pairs are loaded,
// with the period of the pairs there are then. Pairs overdue and already
// due keep their turn (they wait for a slot).
//
// It returns the candidates of pick still due at now (or woken). Without
// a healthy policy nothing changes: pairs run every Interval and the first
// run after a restart comes at once, as those pairs fall due within an
// Interval anyway. e.mu is held.
func (e *Engine) restoreSchedule(cands, loaded []*pairSlot, now time.Time) []*pairSlot {
	period, ok := e.reconcilePeriod()
	if !ok {
		return cands
	}
	for _, s := range loaded {
		if s.initialized == 2 && s.next.IsZero() && !s.busy && !s.removed && !s.restored {
			s.restored = true
			e.restoredQ = append(e.restoredQ, s)
		}
	}
	var q, waiting, overdue []*pairSlot
	for _, s := range e.restoredQ {
		if !s.restored || s.removed {
			continue // ran (pick took it off) or removed
		}
		q = append(q, s)
		if s.busy {
			continue
		}
		if s.overdue && !s.next.After(now) {
			waiting = append(waiting, s) // its turn came; it waits for a slot
			continue
		}
		if !s.lastRun.IsZero() {
			if at := s.lastRun.Add(spread(s.cur().ID, period)); at.After(now) {
				// Never later than a period from now (a clock that
				// went back).
				s.next, s.overdue = minTime(at, now.Add(period)), false
				continue
			}
		}
		overdue = append(overdue, s)
	}
	e.restoredQ = q
	slices.SortStableFunc(overdue, func(a, b *pairSlot) int {
		return cmp.Or(a.lastRun.Compare(b.lastRun), cmp.Compare(a.cur().ID, b.cur().ID))
	})
	if n := len(waiting) + len(overdue); n > 0 {
		r := e.opts.Reconcile.withDefaults()
		gap := time.Duration(r.CallsPerRun / (r.BudgetPerHour * r.CatchUpShare) * float64(time.Hour))
		gap = max(0, min(gap, period/time.Duration(n)))
		at := now
		if !e.catchUpRan.IsZero() {
			at = maxTime(at, e.catchUpRan.Add(gap))
		}
		for _, s := range waiting {
			at = maxTime(at, s.next.Add(gap))
		}
		for _, s := range overdue {
			s.next, s.overdue = at, true
			at = at.Add(gap)
		}
	}
	in := map[*pairSlot]bool{}
	for _, s := range cands {
		in[s] = true
	}
	for _, s := range q {
		if !s.busy && !in[s] && !s.next.After(now) {
			e.signal() // due now, not among the candidates: pick again
			break
		}
	}
	return slices.DeleteFunc(cands, func(s *pairSlot) bool {
		return !e.wakeDue(s, now) && s.next.After(now)
	})
}

// caughtUp records that pick runs s now: a restored pair leaves the
// queue of restored pairs. e.mu is held.
func (e *Engine) caughtUp(s *pairSlot, now time.Time) {
	if !s.restored {
		return
	}
	if s.overdue {
		e.catchUpRan = now
	}
	s.restored, s.overdue = false, false
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// maxTime returns the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

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
// at once. Pairs overdue (or with no run recorded) join the catch-up
// queue (catchUp). It returns the candidates of pick still due at now (or
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
	e.catchUp(overdue, period, now)
	return slices.DeleteFunc(cands, func(s *pairSlot) bool {
		return !e.wakeDue(s, now) && s.next.After(now)
	})
}

// catchUp adds the overdue pairs to the queue of pairs catching up and
// spaces the queue out again: one after the other, most overdue first,
// one reconciliation's calls at Reconcile.CatchUpShare of the budget
// apart, yet never so far apart that the queue takes longer than one
// period; the first as soon as that spacing after the last one started.
// Pairs of the queue already due keep their place (they wait for a slot);
// pairs that ran (pick takes them off) or were removed leave it. e.mu is
// held; a healthy Reconcile policy is set.
func (e *Engine) catchUp(overdue []*pairSlot, period time.Duration, now time.Time) {
	var q []*pairSlot
	for _, s := range e.catchUpQ {
		if s.catchingUp && !s.removed {
			q = append(q, s)
		}
	}
	for _, s := range overdue {
		s.catchingUp = true
		q = append(q, s)
	}
	e.catchUpQ = q
	if len(q) == 0 {
		return
	}
	r := e.opts.Reconcile.withDefaults()
	gap := time.Duration(r.CallsPerRun / (r.BudgetPerHour * r.CatchUpShare) * float64(time.Hour))
	gap = max(0, min(gap, period/time.Duration(len(q))))
	at := now
	if !e.catchUpRan.IsZero() {
		at = maxTime(at, e.catchUpRan.Add(gap))
	}
	for _, s := range q {
		if !s.next.IsZero() && !s.next.After(now) {
			at = maxTime(at, s.next.Add(gap)) // due, waiting for a slot
			continue
		}
		s.next = at
		at = at.Add(gap)
	}
}

// caughtUp records that pick runs s now: a pair catching up leaves the
// queue. e.mu is held.
func (e *Engine) caughtUp(s *pairSlot, now time.Time) {
	if s.catchingUp {
		s.catchingUp = false
		e.catchUpRan = now
	}
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

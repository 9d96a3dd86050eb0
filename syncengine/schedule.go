package syncengine

import (
	"cmp"
	"hash/fnv"
	"math"
	"time"
)

// Reconcile is the safety-net schedule of pairs whose changes arrive by
// webhooks and change notifications: while Healthy reports true, a pair is
// not polled every Interval but reconciled (one ordinary run, reading both
// change feeds) once per ReconcilePeriod, a period derived from the budget
// so that the reconciliations of all pairs together spend at most Share of
// it, and never longer than MaxPeriod (every pair at least daily). A pair
// woken by its storages runs as before. While Healthy reports false (a
// webhook path down), pairs run every Interval again.
type Reconcile struct {
	// BudgetPerHour is the calls per hour of the budget the pairs share
	// (e.g. a Procore app's 3,600, or 600). Required.
	BudgetPerHour float64
	// Share is the fraction of the budget reconciliations may spend
	// (default 0.05).
	Share float64
	// CallsPerRun is what one reconciliation of an idle pair costs in
	// calls of that budget (default 2).
	CallsPerRun float64
	// MinPeriod and MaxPeriod bound the period (defaults 15 minutes and
	// 24 hours).
	MinPeriod, MaxPeriod time.Duration
	// Healthy reports whether changes arrive by webhooks (nil: always).
	Healthy func() bool
	// CatchUpShare is the fraction of the budget that the catching up of
	// overdue reconciliations may spend (default 0.25, at least Share).
	// When the scheduler first sees a pair that synced before (after a
	// restart, or added to a running engine), the pair's next
	// reconciliation is its last run in the store plus its point in the
	// period; pairs already overdue (or with no run recorded) are
	// reconciled one after the other, most overdue first, at most this
	// share of the budget apart and all within one period, rather than
	// all at once.
	CatchUpShare float64
}

// ReconcilePeriod returns how often each of pairs pairs is reconciled
// when one reconciliation costs callsPerRun calls and reconciliations may
// spend share of budgetPerHour calls an hour: pairs × callsPerRun /
// (budgetPerHour × share) hours, within [minPeriod, maxPeriod]. maxPeriod
// wins over the share: with too many pairs for the budget, each is still
// reconciled every maxPeriod and the share is exceeded. A zero or negative
// budget gives maxPeriod.
func ReconcilePeriod(budgetPerHour, share, callsPerRun float64, pairs int, minPeriod, maxPeriod time.Duration) time.Duration {
	if budgetPerHour <= 0 || share <= 0 || math.IsNaN(budgetPerHour) || math.IsNaN(share) {
		return maxPeriod
	}
	hours := float64(max(pairs, 0)) * max(callsPerRun, 0) / (budgetPerHour * share)
	if hours*float64(time.Hour) >= float64(maxPeriod) {
		return maxPeriod
	}
	return max(minPeriod, min(maxPeriod, time.Duration(hours*float64(time.Hour))))
}

// withDefaults fills the zero fields.
func (r Reconcile) withDefaults() Reconcile {
	if r.Share <= 0 {
		r.Share = 0.05
	}
	if r.CallsPerRun <= 0 {
		r.CallsPerRun = 2
	}
	if r.MinPeriod <= 0 {
		r.MinPeriod = 15 * time.Minute
	}
	if r.MaxPeriod <= 0 {
		r.MaxPeriod = 24 * time.Hour
	}
	if r.CatchUpShare <= 0 {
		r.CatchUpShare = 0.25
	}
	r.CatchUpShare = max(r.CatchUpShare, r.Share)
	return r
}

// spread places a pair's reconciliation in the last quarter of the period,
// at a point fixed by its ID, so that pairs added together do not all
// reconcile at once, and none waits longer than the period.
func spread(pairID string, period time.Duration) time.Duration {
	h := fnv.New32a()
	_, _ = h.Write([]byte(pairID))
	frac := float64(h.Sum32()) / float64(math.MaxUint32)
	return period - time.Duration(frac*float64(period)/4)
}

// nextInterval returns when the scheduler runs s again after a run that
// ended now: its Interval, or under a healthy Reconcile policy its
// reconciliation period. e.mu is held.
func (e *Engine) nextInterval(s *pairSlot) time.Duration {
	period, ok := e.reconcilePeriod()
	if !ok {
		return s.cur().Interval
	}
	return spread(s.cur().ID, period)
}

// reconcilePeriod returns the reconciliation period of the engine's pairs,
// and false when no healthy Reconcile policy applies (pairs run every
// Interval). e.mu is held.
func (e *Engine) reconcilePeriod() (time.Duration, bool) {
	r := e.opts.Reconcile
	if r == nil || r.BudgetPerHour <= 0 || (r.Healthy != nil && !r.Healthy()) {
		return 0, false
	}
	rr := r.withDefaults()
	return ReconcilePeriod(rr.BudgetPerHour, rr.Share, rr.CallsPerRun, len(e.pairs), rr.MinPeriod, rr.MaxPeriod), true
}

// Scheduling classes, in the order pick serves them.
const (
	classWoken   = iota // an initialized pair woken by a change, or overdue
	classDue            // an initialized pair whose interval came
	classInitial        // a pair that has not finished its initial sync
)

// overdue is how late an interval-due pair may be before it ranks with
// woken pairs, so that a stream of wake-ups never holds back a pair's
// reconciliation for long.
const overdue = time.Hour

// class returns the scheduling class of s at now. e.mu is held.
func (e *Engine) class(s *pairSlot, now time.Time) int {
	switch {
	case s.initialized != 2:
		return classInitial
	case e.wakeDue(s, now) || now.Sub(s.next) >= overdue:
		return classWoken
	}
	return classDue
}

// schedOrder orders the candidates of pick (which keeps a slot for each
// kind of work while both wait): woken (or overdue) pairs first, then
// pairs whose interval came, then initial syncs; within a
// class the pair due for longest first, then the one that ran least
// recently. Initial syncs are served round-robin instead: the one that
// ran least recently (never first), so that new projects share what is
// left rather than wait for each other in arrival order. e.mu is held.
func (e *Engine) schedOrder(now time.Time) func(a, b *pairSlot) int {
	return func(a, b *pairSlot) int {
		ca, cb := e.class(a, now), e.class(b, now)
		if c := cmp.Compare(ca, cb); c != 0 {
			return c
		}
		if ca == classInitial {
			return cmp.Or(cmp.Compare(a.lastSeq, b.lastSeq), e.dueSince(a, now).Compare(e.dueSince(b, now)))
		}
		return cmp.Or(e.dueSince(a, now).Compare(e.dueSince(b, now)), cmp.Compare(a.lastSeq, b.lastSeq), a.next.Compare(b.next))
	}
}

// initialSlots returns how many initial syncs, and how many incremental
// runs while initial syncs wait, may run at once: all slots but one when
// there are several, so that a change woken during long initial syncs
// still finds a slot, and new projects still progress while changes keep
// the other pairs busy.
func (e *Engine) initialSlots() int {
	if n := e.opts.MaxConcurrentPairs; n > 1 {
		return n - 1
	}
	return 1
}

// runningInitial counts the running pairs that have not finished their
// initial sync. e.mu is held.
func (e *Engine) runningInitial() int {
	n := 0
	for _, s := range e.pairs {
		if s.busy && s.initialized != 2 {
			n++
		}
	}
	return n
}

// runningIncremental counts the running pairs that have finished their
// initial sync. e.mu is held.
func (e *Engine) runningIncremental() int {
	n := 0
	for _, s := range e.pairs {
		if s.busy && s.initialized == 2 {
			n++
		}
	}
	return n
}

// initialWaiting reports whether an initial sync among cands may run now
// (its budgets are not low). e.mu is held.
func (e *Engine) initialWaiting(cands []*pairSlot, now time.Time) bool {
	if e.opts.MaxConcurrentPairs < 2 {
		return false
	}
	for _, s := range cands {
		if s.initialized != 2 && !s.removed && !e.budgetLow(s, now) {
			return true
		}
	}
	return false
}

package syncengine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// yieldNote starts the line of Run.Undone of an initial sync that yielded
// its slot to other initial syncs (see Options.InitialChunk).
const yieldNote = "initial sync yielded its slot to other new projects"

// yielder lets a scheduled initial sync stop cleanly between actions once
// it applied Options.InitialChunk actions while other initial syncs wait
// for a slot: the run ends as a partial run that the next run resumes. A
// nil yielder never yields.
type yielder struct {
	limit   int64                    // actions before the run may yield
	waiting func(now time.Time) bool // other initial syncs wait for a slot
	now     func() time.Time

	stopped atomic.Bool // the run yielded (written under mu)

	mu         sync.Mutex
	started    int64         // actions started in this run
	applyStart time.Time     // when the first pass began applying (zero: not yet)
	minApply   time.Duration // how long the run applies before it may yield
}

// yieldKey is the context key of a scheduled run's yielder.
type yieldKey struct{}

// withYielder returns ctx carrying y for runPair.
func withYielder(ctx context.Context, y *yielder) context.Context {
	if y == nil {
		return ctx
	}
	return context.WithValue(ctx, yieldKey{}, y)
}

// yielderFrom returns the yielder ctx carries (nil: none).
func yielderFrom(ctx context.Context) *yielder {
	y, _ := ctx.Value(yieldKey{}).(*yielder)
	return y
}

// newYielder returns the yielder of a scheduled run of s, nil when
// Options.InitialChunk turns yielding off. runPair uses it only for an
// initial sync.
func (e *Engine) newYielder(s *pairSlot) *yielder {
	if e.opts.InitialChunk <= 0 {
		return nil
	}
	return &yielder{limit: int64(e.opts.InitialChunk), now: e.clock.Now,
		waiting: func(now time.Time) bool { return e.initialsWaiting(s, now) }}
}

// begin records that the run, started at runStart, begins applying at
// now: the run yields only after it applied for at least four times as
// long as it took to get there (recovery, listing, planning), so that the
// next run's reading again costs at most a quarter more. It returns y.
func (y *yielder) begin(runStart, now time.Time) *yielder {
	if y == nil {
		return nil
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.applyStart.IsZero() {
		y.applyStart = now
		y.minApply = 4 * now.Sub(runStart)
	}
	return y
}

// yieldCheckEvery is how often, past the limit, an action start asks
// whether other initial syncs wait (a look at every pair).
const yieldCheckEvery = 16

// next reports whether one more action may start; false once the run
// yields (for good). The workers of a pass call it before each action.
func (y *yielder) next() bool {
	if y == nil {
		return true
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	if y.stopped.Load() {
		return false
	}
	if n := y.started - y.limit; n >= 0 && n%yieldCheckEvery == 0 {
		now := y.now()
		if !y.applyStart.IsZero() && now.Sub(y.applyStart) >= y.minApply && y.waiting(now) {
			y.stopped.Store(true)
			return false
		}
	}
	y.started++
	return true
}

// yielded reports whether the run yielded its slot.
func (y *yielder) yielded() bool { return y != nil && y.stopped.Load() }

// note says in Run.Undone that the run yielded.
func (y *yielder) note() string {
	y.mu.Lock()
	defer y.mu.Unlock()
	return fmt.Sprintf("%s after %d actions; its next run resumes it", yieldNote, y.started)
}

// yieldedChunk reports whether run is an initial sync that yielded its
// slot: one chunk of the initial sync, not a run of its own for the
// pair's StopPolicy.
func yieldedChunk(run Run) bool {
	return run.Initial && run.Status == RunPartial && strings.Contains(run.Undone, yieldNote)
}

// initialsWaiting reports whether more initial syncs than there are free
// initial slots wait to run at now, besides s: then the initial sync of s
// yields. Pairs not loaded yet count as initial syncs; pairs found paused
// by their last scheduled run do not, until a wake-up (Resume wakes).
func (e *Engine) initialsWaiting(s *pairSlot, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	free := e.initialSlots() - e.runningInitial()
	waiting := 0
	for _, o := range e.pairs {
		if o == s || o.busy || o.removed || o.initialized == 2 || (o.paused && !o.woken) {
			continue
		}
		if !(e.wakeDue(o, now) || !o.next.After(now)) || e.budgetLow(o, now) {
			continue
		}
		if waiting++; waiting > free {
			return true
		}
	}
	return false
}

package syncengine

import (
	"sync"
	"time"
)

// defaultMaxConcurrency is the upper bound of a pair's adaptive concurrency
// when the pair sets neither Concurrency nor MaxConcurrency.
const defaultMaxConcurrency = 16

// concurrency bounds the actions a pass runs at once and adapts the bound
// between 1 and its maximum: it starts at the pair's Concurrency, climbs
// (by half the bound until the first step back, then by one) while the completed actions per second rise and the
// pair's budgets have room (on a slow network, more calls in flight hide
// the latency), steps back when the rate falls (a local disk or the CPU is
// saturated), and halves on throttling (a 429 or 503 with Retry-After, or
// a budget blocked or running low).
type concurrency struct {
	mu    sync.Mutex
	cond  *sync.Cond
	max   int
	lim   int // current bound, 1..max
	inUse int

	// The current measuring period.
	done  int
	start time.Time
	// The rate of the previous period and the direction of the last step
	// (+1 grow, -1 shrink, 0 none yet).
	lastRate float64
	lastStep int
	// slowStart is true until the first step back: steps up are by half
	// the bound (as TCP's slow start) instead of one.
	slowStart bool

	room func(lim int) bool // whether the budgets allow more calls at once
}

// newConcurrency returns a bound starting at start (≥ 1), adapting up to
// max (a max not above start keeps it fixed). room reports whether the
// budgets allow lim calls at once; nil means always.
func newConcurrency(start, max int, room func(lim int) bool) *concurrency {
	start = maxInt(start, 1)
	c := &concurrency{max: maxInt(max, start), lim: start, room: room, start: time.Now(), slowStart: true}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// maxInt returns the larger of a and b.
func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// workers returns how many goroutines a pass needs: the largest bound.
func (c *concurrency) workers() int { return c.max }

// limit returns the current bound.
func (c *concurrency) limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lim
}

// run runs fn once fewer than the bound are running, then measures.
func (c *concurrency) run(fn func()) {
	c.mu.Lock()
	for c.inUse >= c.lim {
		c.cond.Wait()
	}
	c.inUse++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inUse--
		c.done++
		c.adapt(time.Now())
		c.cond.Broadcast()
		c.mu.Unlock()
	}()
	fn()
}

// throttled halves the bound: the service asked for fewer calls.
func (c *concurrency) throttled() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lim = maxInt(c.lim/2, 1)
	c.lastStep, c.lastRate, c.slowStart = -1, 0, false
	c.done, c.start = 0, time.Now()
}

// adapt ends a measuring period once enough actions completed and takes a
// step. Caller holds mu.
func (c *concurrency) adapt(now time.Time) {
	if c.max <= 1 {
		return
	}
	el := now.Sub(c.start)
	if c.done < maxInt(c.lim, 8) || el < 20*time.Millisecond {
		return
	}
	rate := float64(c.done) / el.Seconds()
	step := 0
	switch {
	case c.lastRate == 0:
		step = 1
	case rate > c.lastRate*1.05:
		step = c.lastStep // it helped: again
		if step == 0 {
			step = 1
		}
	case rate < c.lastRate*0.95:
		step = -c.lastStep // it hurt: back
	default:
		step = 0 // no difference: stay
	}
	if step > 0 && c.room != nil && !c.room(c.lim+1) {
		step = -1 // the budgets are running low: fewer calls at once
		if c.room(c.lim) {
			step = 0
		}
	}
	if step < 0 {
		c.slowStart = false
	}
	if step != 0 {
		c.lastStep = step
	}
	if step > 0 && c.slowStart {
		step = maxInt(c.lim/2, 1)
	}
	c.lim = min(max(c.lim+step, 1), c.max)
	c.lastRate = rate
	c.done, c.start = 0, now
}

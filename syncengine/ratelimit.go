package syncengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrExceedsBudget is returned (wrapped) by RateLimiter.Wait when n calls
// can never be granted at once because n is larger than a window's limit
// or pacing burst.
var ErrExceedsBudget = errors.New("syncengine: calls exceed the rate-limit budget")

// Window is one rate-limit window: at most Limit calls in any interval of
// length Per.
type Window struct {
	// Limit is the number of calls allowed per window. A limit the service
	// reports in its feedback replaces it (see RateLimiter).
	Limit int
	// Per is the window's length.
	Per time.Duration
	// Burst, when positive, also paces the window's calls through a token
	// bucket (golang.org/x/time/rate) refilled at Limit per Per and holding
	// at most Burst tokens, so that calls are spread over the window
	// instead of spending it in one burst. Zero: no pacing, calls go as
	// fast as the window allows.
	Burst int
}

// BudgetConfig is the local budget of a key: a call must fit in every
// window. No windows: the key is not limited locally (feedback from the
// service still applies).
type BudgetConfig struct {
	Windows []Window
}

// ProcoreBudget returns Procore's documented budget per app and token:
// 3,600 calls per hour and 100 calls per 10-second spike window. Procore
// asks clients not to rely on these numbers; the RateLimiter replaces them
// with the limits the X-Rate-Limit-* headers report as soon as Observe
// sees one.
func ProcoreBudget() BudgetConfig {
	return BudgetConfig{Windows: []Window{
		{Limit: 3600, Per: time.Hour},
		{Limit: 100, Per: 10 * time.Second},
	}}
}

// RateLimiterOptions configures a RateLimiter.
type RateLimiterOptions struct {
	// Clock is the source of time for all decisions and waits
	// (default SystemClock{}).
	Clock Clock
	// Budgets maps keys to their budget. A map key is either an exact
	// budget key ("procore:app1:token9") or a prefix followed by "*"
	// ("procore:*"). An exact key wins over prefixes, a longer prefix over
	// a shorter one. Every budget key has its own state: a prefix entry is
	// a template, not a budget shared by all keys it matches.
	Budgets map[string]BudgetConfig
	// Default, when set, is the budget of keys that Budgets does not
	// match. Nil: such keys are unlimited until the service's feedback
	// says otherwise.
	Default *BudgetConfig
}

// RateLimiter is the engine's embedded, in-process Limiter. It keeps a
// budget per key made of one or more windows and of what the service said
// in its responses, and grants a call only when every part of the budget
// allows it.
//
// Guarantees and their limits:
//
//   - Windows are exact sliding-window logs, not token buckets: at the
//     moments calls are granted, no interval of length Per (wherever it
//     starts) holds more than Limit granted calls. So a service counting
//     in fixed windows of that length, however they are aligned, never
//     sees more than Limit calls from this limiter in one window, provided
//     this limiter is the only client of the budget, the call reaches the
//     service in the order and spacing it was granted (variable network
//     latency can shift a call into the next window) and the limit is
//     right. Memory is one entry per Wait in the last Per.
//   - Window.Burst adds smoothing with an x/time/rate token bucket.
//   - Observe makes the budget more conservative, never less than the
//     windows: Remaining and Reset (for example Procore's X-Rate-Limit-*
//     headers) cap the calls granted until Reset to Remaining, counted down
//     as calls are granted (so Remaining 0 blocks until Reset whatever the
//     windows allow); a reported Limit replaces the limit of the window it
//     describes, so configured numbers are only a starting point; and
//     RetryAfter blocks the key for that long. Calls already granted but
//     not yet seen by the service when the response was produced are not
//     subtracted again, so a budget shared with other clients may still
//     draw the odd 429, which its Retry-After or Remaining then corrects.
//   - Waiters are not served in FIFO order: when room appears, whoever
//     wins the key's lock first takes it. Waiting uses Clock.After, never
//     polling, and returns as soon as ctx is done.
//
// Feedback describes one window, and Procore reports whichever of its
// hourly and spike windows is closer to running out. The limiter
// attributes feedback to the configured window whose limit equals the
// reported Limit, else to the shortest window whose length is at least
// half the time left until Reset (which absorbs clock skew), else to the
// longest window; without a Reset, to the longest window. Remaining is
// taken as known whenever Limit or Reset is set (Feedback's zero values
// otherwise mean unknown). For a key without windows, Remaining and Reset
// still cap calls until Reset, but a reported Limit has no window to
// replace and is ignored.
//
// A RateLimiter is safe for concurrent use.
type RateLimiter struct {
	clock    Clock
	exact    map[string]BudgetConfig
	prefixes []prefixBudget // longest first
	def      *BudgetConfig

	mu   sync.Mutex
	keys map[string]*keyState
}

type prefixBudget struct {
	prefix string
	cfg    BudgetConfig
}

var _ Limiter = (*RateLimiter)(nil)

// ErrInvalidWindow is returned by NewRateLimiter for a window with a
// non-positive Limit or Per or a negative Burst.
var ErrInvalidWindow = errors.New("syncengine: invalid rate-limit window")

// NewRateLimiter returns a RateLimiter configured by opts. It fails with an
// error wrapping ErrInvalidWindow if a window has a non-positive Limit or
// Per or a negative Burst.
func NewRateLimiter(opts RateLimiterOptions) (*RateLimiter, error) {
	rl := &RateLimiter{
		clock: opts.Clock,
		exact: make(map[string]BudgetConfig),
		keys:  make(map[string]*keyState),
	}
	if rl.clock == nil {
		rl.clock = SystemClock{}
	}
	for k, cfg := range opts.Budgets {
		cfg, err := checkBudget(k, cfg)
		if err != nil {
			return nil, err
		}
		if p, ok := strings.CutSuffix(k, "*"); ok {
			rl.prefixes = append(rl.prefixes, prefixBudget{prefix: p, cfg: cfg})
		} else {
			rl.exact[k] = cfg
		}
	}
	slices.SortFunc(rl.prefixes, func(a, b prefixBudget) int {
		return cmp.Or(cmp.Compare(len(b.prefix), len(a.prefix)), strings.Compare(a.prefix, b.prefix))
	})
	if opts.Default != nil {
		def, err := checkBudget("default", *opts.Default)
		if err != nil {
			return nil, err
		}
		rl.def = &def
	}
	return rl, nil
}

func checkBudget(name string, cfg BudgetConfig) (BudgetConfig, error) {
	for _, w := range cfg.Windows {
		if w.Limit <= 0 || w.Per <= 0 || w.Burst < 0 {
			return BudgetConfig{}, fmt.Errorf("%w %+v in budget %q", ErrInvalidWindow, w, name)
		}
	}
	return BudgetConfig{Windows: slices.Clone(cfg.Windows)}, nil
}

// config returns the configured budget for key.
func (rl *RateLimiter) config(key string) (BudgetConfig, bool) {
	if cfg, ok := rl.exact[key]; ok {
		return cfg, true
	}
	for _, p := range rl.prefixes {
		if strings.HasPrefix(key, p.prefix) {
			return p.cfg, true
		}
	}
	if rl.def != nil {
		return *rl.def, true
	}
	return BudgetConfig{}, false
}

// state returns key's state. Keys without a configured budget get one only
// when create is set (on feedback), so unlimited keys cost nothing.
func (rl *RateLimiter) state(key string, create bool) *keyState {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if st := rl.keys[key]; st != nil {
		return st
	}
	cfg, ok := rl.config(key)
	if !ok && !create {
		return nil
	}
	st := &keyState{key: key, changed: make(chan struct{})}
	for _, w := range cfg.Windows {
		win := &window{limit: w.Limit, per: w.Per}
		if w.Burst > 0 {
			win.bucket = rate.NewLimiter(bucketRate(w.Limit, w.Per), w.Burst)
			// A bucket starts full at its first use.
		}
		st.windows = append(st.windows, win)
	}
	rl.keys[key] = st
	return st
}

func bucketRate(limit int, per time.Duration) rate.Limit {
	return rate.Limit(float64(limit) / per.Seconds())
}

// Wait blocks until n calls may be made on key, or ctx is done, in which
// case it returns ctx's error. It returns an error wrapping
// ErrExceedsBudget if n can never fit. n <= 0 returns at once.
func (rl *RateLimiter) Wait(ctx context.Context, key string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	for {
		st := rl.state(key, false)
		if st == nil {
			return nil // unlimited
		}
		st.mu.Lock()
		now := rl.clock.Now()
		at, err := st.readyAt(now, n)
		if err != nil {
			st.mu.Unlock()
			return err
		}
		if !at.After(now) {
			st.commit(now, n)
			st.mu.Unlock()
			return nil
		}
		changed := st.changed
		st.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-rl.clock.After(at.Sub(now)):
		}
	}
}

// Observe takes a response's feedback for key (see RateLimiter for how).
// Feedback for a key without a configured budget is kept too.
func (rl *RateLimiter) Observe(key string, fb Feedback) {
	st := rl.state(key, true)
	st.mu.Lock()
	defer st.mu.Unlock()
	now := rl.clock.Now()
	if fb.RetryAfter > 0 {
		if until := now.Add(fb.RetryAfter); until.After(st.blockedUntil) {
			st.blockedUntil = until
		}
	}
	if fb.Limit <= 0 && fb.Reset.IsZero() {
		return // Remaining unknown
	}
	loosened := false
	w := st.match(now, fb)
	if w != nil && fb.Limit > 0 && fb.Limit != w.limit {
		loosened = fb.Limit > w.limit
		w.setLimit(now, fb.Limit)
	}
	reset := fb.Reset
	srv := &st.srv
	if w != nil {
		srv = &w.srv
		if reset.IsZero() {
			reset = now.Add(w.per)
		}
	}
	if reset.After(now) && srv.update(now, max(fb.Remaining, 0), reset) {
		loosened = true
	}
	if loosened {
		// Waiters may go earlier than they planned: let them look again.
		close(st.changed)
		st.changed = make(chan struct{})
	}
}

// Budget reports what is known of key's budget: Remaining is the fewest
// calls any part of the budget still allows now (-1 when nothing limits the
// key), Reset is when that part next frees room (for a window: when its
// oldest counted call leaves it; for service feedback: the reported
// Reset), and BlockedUntil is set while a RetryAfter is in force.
func (rl *RateLimiter) Budget(key string) Budget {
	st := rl.state(key, false)
	if st == nil {
		return Budget{Remaining: -1}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.budget(rl.clock.Now())
}

// keyState is one key's budget. mu guards everything.
type keyState struct {
	key          string
	mu           sync.Mutex
	windows      []*window
	srv          serverState // feedback for keys without windows
	blockedUntil time.Time
	// changed is closed and replaced when feedback loosens the budget.
	changed chan struct{}
}

// window is a sliding-window log with an optional pacing bucket and the
// service's latest feedback about it.
type window struct {
	limit  int
	per    time.Duration
	log    []grant // oldest first; log[head:] are live
	head   int
	count  int // calls in log[head:]
	bucket *rate.Limiter
	srv    serverState
}

type grant struct {
	at time.Time
	n  int
}

// serverState is what the service last said: remaining calls until reset.
// It is in force while reset is after now.
type serverState struct {
	remaining int
	reset     time.Time
}

// resetTolerance is how far apart two Reset times may be and still name
// the same window (headers carry whole seconds).
const resetTolerance = time.Second

func (s *serverState) active(now time.Time) bool { return s.reset.After(now) }

// update takes feedback and reports whether it allows more than before.
// Feedback about the window already known can only lower what remains, so
// that responses arriving out of order never raise it.
func (s *serverState) update(now time.Time, remaining int, reset time.Time) bool {
	if s.active(now) {
		if d := reset.Sub(s.reset); d <= resetTolerance && d >= -resetTolerance {
			s.remaining = min(s.remaining, remaining)
			return false
		}
		loosened := remaining > s.remaining || reset.Before(s.reset)
		s.remaining, s.reset = remaining, reset
		return loosened
	}
	s.remaining, s.reset = remaining, reset
	return false
}

// match picks the window feedback describes (see RateLimiter), or nil.
func (st *keyState) match(now time.Time, fb Feedback) *window {
	if len(st.windows) == 0 {
		return nil
	}
	if fb.Limit > 0 {
		for _, w := range st.windows {
			if w.limit == fb.Limit {
				return w
			}
		}
	}
	longest := st.windows[0]
	for _, w := range st.windows[1:] {
		if w.per > longest.per {
			longest = w
		}
	}
	if fb.Reset.IsZero() {
		return longest
	}
	left := fb.Reset.Sub(now)
	var best *window
	for _, w := range st.windows {
		if left <= 2*w.per && (best == nil || w.per < best.per) {
			best = w
		}
	}
	if best == nil {
		return longest
	}
	return best
}

func (w *window) setLimit(now time.Time, limit int) {
	w.limit = limit
	if w.bucket != nil {
		w.bucket.SetLimitAt(now, bucketRate(limit, w.per))
		if w.bucket.Burst() > limit {
			w.bucket.SetBurstAt(now, limit)
		}
	}
}

// prune drops calls that left the window by now.
func (w *window) prune(now time.Time) {
	cutoff := now.Add(-w.per)
	for w.head < len(w.log) && !w.log[w.head].at.After(cutoff) {
		w.count -= w.log[w.head].n
		w.head++
	}
	if w.head == len(w.log) {
		w.log, w.head = w.log[:0], 0
	} else if w.head > 64 && w.head*2 > len(w.log) {
		w.log = append(w.log[:0], w.log[w.head:]...)
		w.head = 0
	}
}

// ready returns when n more calls fit in the sliding window; w must be
// pruned and n <= w.limit.
func (w *window) ready(now time.Time, n int) time.Time {
	excess := w.count + n - w.limit
	for i := w.head; excess > 0 && i < len(w.log); i++ {
		excess -= w.log[i].n
		if excess <= 0 {
			return w.log[i].at.Add(w.per)
		}
	}
	return now
}

// bucketSlack absorbs float rounding when a waiter wakes exactly when the
// bucket should hold n tokens.
const bucketSlack = 1e-6

// readyAt returns the earliest time n calls may go, as far as is known now.
func (st *keyState) readyAt(now time.Time, n int) (time.Time, error) {
	at := now
	later := func(t time.Time) {
		if t.After(at) {
			at = t
		}
	}
	later(st.blockedUntil)
	if st.srv.active(now) && st.srv.remaining < n {
		later(st.srv.reset)
	}
	for _, w := range st.windows {
		if n > w.limit {
			return time.Time{}, fmt.Errorf("%w: %d calls on %q, limit %d per %s", ErrExceedsBudget, n, st.key, w.limit, w.per)
		}
		w.prune(now)
		later(w.ready(now, n))
		if w.srv.active(now) && w.srv.remaining < n {
			later(w.srv.reset)
		}
		if w.bucket != nil {
			if n > w.bucket.Burst() {
				return time.Time{}, fmt.Errorf("%w: %d calls on %q, burst %d", ErrExceedsBudget, n, st.key, w.bucket.Burst())
			}
			if deficit := float64(n) - w.bucket.TokensAt(now); deficit > bucketSlack {
				secs := deficit / float64(w.bucket.Limit())
				later(now.Add(time.Duration(math.Ceil(secs * float64(time.Second)))))
			}
		}
	}
	return at, nil
}

// commit records n calls granted at now.
func (st *keyState) commit(now time.Time, n int) {
	if st.srv.active(now) {
		st.srv.remaining -= n
	}
	for _, w := range st.windows {
		w.log = append(w.log, grant{at: now, n: n})
		w.count += n
		if w.srv.active(now) {
			w.srv.remaining -= n
		}
		if w.bucket != nil {
			w.bucket.ReserveN(now, n) // may dip a hair below zero (bucketSlack)
		}
	}
}

func (st *keyState) budget(now time.Time) Budget {
	b := Budget{Remaining: -1}
	if st.blockedUntil.After(now) {
		b.BlockedUntil = st.blockedUntil
	}
	consider := func(remaining int, reset time.Time) {
		remaining = max(remaining, 0)
		if b.Remaining < 0 || remaining < b.Remaining {
			b.Remaining, b.Reset = remaining, reset
		}
	}
	if st.srv.active(now) {
		consider(st.srv.remaining, st.srv.reset)
	}
	for _, w := range st.windows {
		w.prune(now)
		var reset time.Time
		if w.head < len(w.log) {
			reset = w.log[w.head].at.Add(w.per)
		}
		consider(w.limit-w.count, reset)
		if w.srv.active(now) {
			consider(w.srv.remaining, w.srv.reset)
		}
		if w.bucket != nil {
			tokens := w.bucket.TokensAt(now)
			whole := math.Floor(tokens + bucketSlack)
			var reset time.Time // when the next token arrives, if not full
			if int(whole) < w.bucket.Burst() {
				secs := (whole + 1 - tokens) / float64(w.bucket.Limit())
				reset = now.Add(time.Duration(math.Ceil(secs * float64(time.Second))))
			}
			consider(int(whole), reset)
		}
	}
	return b
}

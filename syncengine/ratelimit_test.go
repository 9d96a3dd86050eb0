package syncengine_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
)

var rlStart = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// failAfter bounds how long a test waits for goroutines to block or
// return; it is a failure deadline, never part of an assertion.
func failAfter(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTestLimiter(clk *manualclock.Clock, budgets map[string]syncengine.BudgetConfig) *syncengine.RateLimiter {
	rl, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{Clock: clk, Budgets: budgets})
	if err != nil {
		panic(err)
	}
	return rl
}

// waitAsync starts Wait in a goroutine.
func waitAsync(ctx context.Context, rl *syncengine.RateLimiter, key string, n int) <-chan error {
	done := make(chan error, 1)
	go func() { done <- rl.Wait(ctx, key, n) }()
	return done
}

// tryWait reports whether Wait(key, n) is granted at the current clock
// time: it returns true if Wait returns, false if Wait blocks on the clock
// (the blocked Wait is then cancelled).
func tryWait(t *testing.T, rl *syncengine.RateLimiter, clk *manualclock.Clock, key string, n int) bool {
	t.Helper()
	deadline := failAfter(t)
	before := clk.Waiters()
	ctx, cancel := context.WithCancel(deadline)
	defer cancel()
	done := waitAsync(ctx, rl, key, n)
	blocked := make(chan error, 1)
	go func() { blocked <- clk.BlockUntilContext(ctx, before+1) }()
	select {
	case err := <-done:
		require.NoError(t, err)
		return true
	case err := <-blocked:
		require.NoError(t, err, "neither returned nor blocked")
		cancel()
		require.ErrorIs(t, <-done, context.Canceled)
		return false
	}
}

// grant asserts that n single calls are granted now and, if full, that
// the next one is not.
func grant(t *testing.T, rl *syncengine.RateLimiter, clk *manualclock.Clock, key string, n int, full bool) {
	t.Helper()
	for i := range n {
		require.True(t, tryWait(t, rl, clk, key, 1), "call %d of %d at %s", i+1, n, clk.Now().Sub(rlStart))
	}
	if full {
		require.False(t, tryWait(t, rl, clk, key, 1), "call %d at %s", n+1, clk.Now().Sub(rlStart))
	}
}

// grantN asserts that n single calls are granted now and the next is not.
func grantN(t *testing.T, rl *syncengine.RateLimiter, clk *manualclock.Clock, key string, n int) {
	t.Helper()
	grant(t, rl, clk, key, n, true)
}

func requirePending(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Wait returned early: %v", err)
	default:
	}
}

func requireReturns(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-failAfter(t).Done():
		t.Fatal("Wait did not return")
		return nil
	}
}

func TestRateLimiterWindows(t *testing.T) {
	type step struct {
		at    time.Duration // clock offset from rlStart
		grant int           // calls granted
		full  bool          // whether the next call then blocks
	}
	tests := []struct {
		name    string
		windows []syncengine.Window
		steps   []step
	}{
		{
			name:    "single window",
			windows: []syncengine.Window{{Limit: 3, Per: time.Minute}},
			steps:   []step{{0, 3, true}, {59 * time.Second, 0, true}, {time.Minute, 3, true}},
		},
		{
			name:    "sliding, not fixed",
			windows: []syncengine.Window{{Limit: 4, Per: time.Minute}},
			steps:   []step{{0, 2, false}, {30 * time.Second, 2, true}, {time.Minute, 2, true}, {89 * time.Second, 0, true}, {90 * time.Second, 2, true}},
		},
		{
			name:    "hourly and spike windows",
			windows: []syncengine.Window{{Limit: 5, Per: time.Minute}, {Limit: 3, Per: 10 * time.Second}},
			steps: []step{
				{0, 3, true},                 // spike window full
				{10 * time.Second, 2, true},  // minute window full
				{20 * time.Second, 0, true},  // still full
				{59 * time.Second, 0, true},  // first three leave at 60s
				{60 * time.Second, 3, true},  // spike again
				{70 * time.Second, 2, true},  // the two from 10s left at 70s
				{130 * time.Second, 3, true}, // everything left
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"k": {Windows: tt.windows}})
			for _, s := range tt.steps {
				clk.Set(rlStart.Add(s.at))
				grant(t, rl, clk, "k", s.grant, s.full)
			}
		})
	}
}

func TestRateLimiterWaitReleasedAtWindowEdge(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
		{Limit: 5, Per: time.Minute}, {Limit: 3, Per: 10 * time.Second},
	}}})
	ctx := failAfter(t)
	grantN(t, rl, clk, "k", 3)
	clk.Advance(10 * time.Second)
	grantN(t, rl, clk, "k", 2)

	before := clk.Waiters() // grantN leaves cancelled waits behind
	done := waitAsync(ctx, rl, "k", 2)
	require.NoError(t, clk.BlockUntilContext(ctx, before+1))
	clk.Advance(50*time.Second - time.Nanosecond)
	requirePending(t, done)
	clk.Advance(time.Nanosecond)
	require.NoError(t, requireReturns(t, done))
}

func TestRateLimiterNExceedsBudget(t *testing.T) {
	tests := []struct {
		name    string
		windows []syncengine.Window
		n       int
	}{
		{"over limit", []syncengine.Window{{Limit: 3, Per: time.Minute}}, 4},
		{"over burst", []syncengine.Window{{Limit: 60, Per: time.Minute, Burst: 2}}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"k": {Windows: tt.windows}})
			require.ErrorIs(t, rl.Wait(failAfter(t), "k", tt.n), syncengine.ErrExceedsBudget)
		})
	}
}

func TestRateLimiterBurstPacing(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
		{Limit: 60, Per: time.Minute, Burst: 2},
	}}})
	grantN(t, rl, clk, "k", 2)
	require.Equal(t, 0, rl.Budget("k").Remaining)
	clk.Advance(time.Second)
	grantN(t, rl, clk, "k", 1)
	clk.Advance(10 * time.Second)
	grantN(t, rl, clk, "k", 2)

	// A learned limit slows the pacing too: 30 a minute is one call per 2 s.
	rl.Observe("k", syncengine.Feedback{Limit: 30, Remaining: 30, Reset: clk.Now().Add(time.Second)})
	clk.Advance(2 * time.Second)
	grantN(t, rl, clk, "k", 1)
	clk.Advance(time.Second)
	grantN(t, rl, clk, "k", 0)
	clk.Advance(time.Second)
	grantN(t, rl, clk, "k", 1)
}

func TestRateLimiterFeedbackRemaining(t *testing.T) {
	tests := []struct {
		name     string
		feedback []syncengine.Feedback // Reset given as offsets below
		resets   []time.Duration
		grant    int // calls granted before Reset
		reset    time.Duration
	}{
		{
			name:     "zero remaining blocks until reset",
			feedback: []syncengine.Feedback{{Limit: 3600, Remaining: 0}},
			resets:   []time.Duration{30 * time.Minute},
			grant:    0, reset: 30 * time.Minute,
		},
		{
			name:     "fewer remaining than the windows allow",
			feedback: []syncengine.Feedback{{Limit: 3600, Remaining: 4}},
			resets:   []time.Duration{20 * time.Minute},
			grant:    4, reset: 20 * time.Minute,
		},
		{
			name:     "stale response cannot raise remaining",
			feedback: []syncengine.Feedback{{Limit: 3600, Remaining: 2}, {Limit: 3600, Remaining: 50}},
			resets:   []time.Duration{20 * time.Minute, 20 * time.Minute},
			grant:    2, reset: 20 * time.Minute,
		},
		{
			name:     "spike window report",
			feedback: []syncengine.Feedback{{Limit: 25, Remaining: 1}},
			resets:   []time.Duration{7 * time.Second},
			grant:    1, reset: 7 * time.Second,
		},
		{
			name:     "remaining zero without limit but with reset",
			feedback: []syncengine.Feedback{{Remaining: 0}},
			resets:   []time.Duration{time.Hour},
			grant:    0, reset: time.Hour,
		},
	}
	for _, tt := range tests {
		for _, key := range []string{"procore", "unconfigured"} {
			t.Run(tt.name+"/"+key, func(t *testing.T) {
				clk := manualclock.New(rlStart)
				rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"procore": syncengine.ProcoreBudget()})
				for i, fb := range tt.feedback {
					fb.Reset = rlStart.Add(tt.resets[i])
					rl.Observe(key, fb)
				}
				b := rl.Budget(key)
				require.Equal(t, tt.grant, b.Remaining)
				require.Equal(t, rlStart.Add(tt.reset), b.Reset)
				grantN(t, rl, clk, key, tt.grant)

				ctx := failAfter(t)
				before := clk.Waiters() // grantN leaves cancelled waits behind
				done := waitAsync(ctx, rl, key, 1)
				require.NoError(t, clk.BlockUntilContext(ctx, before+1))
				clk.Set(rlStart.Add(tt.reset - time.Nanosecond))
				requirePending(t, done)
				clk.Set(rlStart.Add(tt.reset))
				require.NoError(t, requireReturns(t, done))
			})
		}
	}
}

func TestRateLimiterLearnsLimits(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"procore:*": syncengine.ProcoreBudget()})
	const key = "procore:app:token"
	// The hourly window is 200, not 3,600, and the spike window 25, not 100.
	rl.Observe(key, syncengine.Feedback{Limit: 200, Remaining: 200, Reset: rlStart.Add(40 * time.Minute)})
	rl.Observe(key, syncengine.Feedback{Limit: 25, Remaining: 25, Reset: rlStart.Add(10 * time.Second)})
	for i := range 8 {
		clk.Set(rlStart.Add(time.Duration(i) * 10 * time.Second))
		grantN(t, rl, clk, key, 25)
	}
	// 200 granted within the hour: nothing more, although the service's
	// reported window reset at 40 minutes, until the first calls are an
	// hour old.
	clk.Set(rlStart.Add(59 * time.Minute))
	grantN(t, rl, clk, key, 0)
	clk.Set(rlStart.Add(time.Hour))
	grantN(t, rl, clk, key, 25)
}

func TestRateLimiterFeedbackAttribution(t *testing.T) {
	tests := []struct {
		name  string
		fb    syncengine.Feedback
		reset time.Duration // Feedback.Reset from now; 0: none
		burst int           // calls granted in one go 41 minutes later
		next  int           // and ten seconds after that
	}{
		{"spike report", syncengine.Feedback{Limit: 25, Remaining: 25}, 7 * time.Second, 25, 25},
		{"spike report, skewed clock", syncengine.Feedback{Limit: 25, Remaining: 25}, 15 * time.Second, 25, 25},
		{"hourly report", syncengine.Feedback{Limit: 50, Remaining: 50}, 40 * time.Minute, 50, 0},
		{"hourly report without reset", syncengine.Feedback{Limit: 50, Remaining: 50}, 0, 50, 0},
		{"known limit near the end of its window", syncengine.Feedback{Limit: 3600, Remaining: 10}, 5 * time.Second, 100, 100},
		{"remaining alone is unknown", syncengine.Feedback{Remaining: 0}, 0, 100, 100},
		{"only retry-after", syncengine.Feedback{RetryAfter: time.Minute}, 0, 100, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"procore": syncengine.ProcoreBudget()})
			fb := tt.fb
			if tt.reset > 0 {
				fb.Reset = rlStart.Add(tt.reset)
			}
			rl.Observe("procore", fb)
			clk.Set(rlStart.Add(41 * time.Minute))
			grantN(t, rl, clk, "procore", tt.burst)
			clk.Advance(10 * time.Second)
			grantN(t, rl, clk, "procore", tt.next)
		})
	}
}

func TestRateLimiterRetryAfter(t *testing.T) {
	for _, key := range []string{"configured", "unconfigured"} {
		t.Run(key, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"configured": {Windows: []syncengine.Window{{Limit: 100, Per: time.Minute}}}})
			ctx := failAfter(t)
			rl.Observe(key, syncengine.Feedback{RetryAfter: 2 * time.Minute})
			// A shorter Retry-After never shortens the block.
			rl.Observe(key, syncengine.Feedback{RetryAfter: time.Second})
			require.Equal(t, rlStart.Add(2*time.Minute), rl.Budget(key).BlockedUntil)

			const waiters = 5
			var dones []<-chan error
			for range waiters {
				dones = append(dones, waitAsync(ctx, rl, key, 1))
			}
			require.NoError(t, clk.BlockUntilContext(ctx, waiters))
			clk.Advance(2*time.Minute - time.Nanosecond)
			for _, done := range dones {
				requirePending(t, done)
			}
			clk.Advance(time.Nanosecond)
			for _, done := range dones {
				require.NoError(t, requireReturns(t, done))
			}
			require.True(t, rl.Budget(key).BlockedUntil.IsZero())
		})
	}
}

func TestRateLimiterContextCancel(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, nil)
	rl.Observe("k", syncengine.Feedback{RetryAfter: time.Hour})

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, rl.Wait(cancelled, "free", 1), context.Canceled, "a done context fails even on an unlimited key")

	ctx, cancel := context.WithCancel(failAfter(t))
	done := waitAsync(ctx, rl, "k", 1)
	require.NoError(t, clk.BlockUntilContext(failAfter(t), 1))
	cancel()
	require.ErrorIs(t, requireReturns(t, done), context.Canceled)

	ctx, cancel = context.WithDeadlineCause(failAfter(t), time.Now().Add(-time.Second), fmt.Errorf("late"))
	defer cancel()
	require.ErrorIs(t, rl.Wait(ctx, "k", 1), context.DeadlineExceeded)
}

func TestRateLimiterLooserFeedbackWakesWaiters(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, nil)
	ctx := failAfter(t)
	rl.Observe("k", syncengine.Feedback{Limit: 100, Remaining: 0, Reset: rlStart.Add(time.Hour)})
	done := waitAsync(ctx, rl, "k", 1)
	require.NoError(t, clk.BlockUntilContext(ctx, 1))
	// Another worker sharing the token learned that a new window began.
	rl.Observe("k", syncengine.Feedback{Limit: 100, Remaining: 99, Reset: rlStart.Add(time.Minute)})
	require.NoError(t, requireReturns(t, done))
	require.Equal(t, rlStart, clk.Now())
}

func TestRateLimiterKeys(t *testing.T) {
	def := syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: 1, Per: time.Hour}}}
	budgets := map[string]syncengine.BudgetConfig{
		"procore:*":        {Windows: []syncengine.Window{{Limit: 2, Per: time.Hour}}},
		"procore:sandbox*": {Windows: []syncengine.Window{{Limit: 3, Per: time.Hour}}},
		"procore:special":  {Windows: []syncengine.Window{{Limit: 4, Per: time.Hour}}},
		"graph:*":          {},
	}
	tests := []struct {
		name       string
		withDef    bool
		key        string
		wantGrants int // -1: unlimited
	}{
		{"unknown key unlimited", false, "dropbox:acct", -1},
		{"unknown key takes default", true, "dropbox:acct", 1},
		{"prefix", false, "procore:app:tok", 2},
		{"longest prefix", false, "procore:sandbox:tok", 3},
		{"exact beats prefix", false, "procore:special", 4},
		{"configured without windows", true, "graph:tenant", -1},
		{"prefixes do not share state", false, "procore:other", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			opts := syncengine.RateLimiterOptions{Clock: clk, Budgets: budgets}
			if tt.withDef {
				opts.Default = &def
			}
			rl, err := syncengine.NewRateLimiter(opts)
			require.NoError(t, err)
			// Spend another key under the same prefix first.
			_ = rl.Wait(failAfter(t), "procore:app:tok0", 2)
			if tt.wantGrants >= 0 {
				grantN(t, rl, clk, tt.key, tt.wantGrants)
				return
			}
			ctx := failAfter(t)
			for range 10_000 {
				require.NoError(t, rl.Wait(ctx, tt.key, 1))
			}
			require.NoError(t, rl.Wait(ctx, tt.key, 1_000_000))
			require.Equal(t, syncengine.Budget{Remaining: -1}, rl.Budget(tt.key))
		})
	}
}

func TestRateLimiterBudget(t *testing.T) {
	clk := manualclock.New(rlStart)
	rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
		{Limit: 10, Per: time.Minute}, {Limit: 4, Per: 10 * time.Second},
	}}})
	ctx := failAfter(t)
	require.Equal(t, syncengine.Budget{Remaining: 4}, rl.Budget("k"))
	require.NoError(t, rl.Wait(ctx, "k", 3))
	require.Equal(t, syncengine.Budget{Remaining: 1, Reset: rlStart.Add(10 * time.Second)}, rl.Budget("k"))
	clk.Advance(10 * time.Second)
	require.Equal(t, syncengine.Budget{Remaining: 4}, rl.Budget("k"))
	require.NoError(t, rl.Wait(ctx, "k", 4))
	clk.Advance(10 * time.Second)
	require.Equal(t, syncengine.Budget{Remaining: 3, Reset: rlStart.Add(time.Minute)}, rl.Budget("k"))
	rl.Observe("k", syncengine.Feedback{Limit: 10, Remaining: 2, Reset: rlStart.Add(45 * time.Second), RetryAfter: time.Second})
	require.Equal(t, syncengine.Budget{
		Remaining:    2,
		Reset:        rlStart.Add(45 * time.Second),
		BlockedUntil: rlStart.Add(21 * time.Second),
	}, rl.Budget("k"))
}

func TestNewRateLimiterRejectsBadWindows(t *testing.T) {
	for _, w := range []syncengine.Window{{Limit: 0, Per: time.Second}, {Limit: 1}, {Limit: 1, Per: time.Second, Burst: -1}} {
		rl, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{Budgets: map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{w}}}})
		require.ErrorIs(t, err, syncengine.ErrInvalidWindow)
		require.Nil(t, rl)
		def := syncengine.BudgetConfig{Windows: []syncengine.Window{w}}
		_, err = syncengine.NewRateLimiter(syncengine.RateLimiterOptions{Default: &def})
		require.ErrorIs(t, err, syncengine.ErrInvalidWindow)
	}
}

// fakeProcore counts calls in fixed hourly windows aligned on origin, as a
// service would, answers with X-Rate-Limit-* style feedback and refuses
// calls over its limit with a 429.
type fakeProcore struct {
	mu      sync.Mutex
	limit   int
	origin  time.Time
	counts  map[int64]int
	tooMany int
}

func (f *fakeProcore) call(now time.Time) syncengine.Feedback {
	f.mu.Lock()
	defer f.mu.Unlock()
	idx := int64(now.Sub(f.origin) / time.Hour)
	reset := f.origin.Add(time.Duration(idx+1) * time.Hour)
	if f.counts[idx] >= f.limit {
		f.tooMany++
		return syncengine.Feedback{Limit: f.limit, Remaining: 0, Reset: reset, RetryAfter: reset.Sub(now)}
	}
	f.counts[idx]++
	return syncengine.Feedback{Limit: f.limit, Remaining: f.limit - f.counts[idx], Reset: reset}
}

func TestRateLimiterHourlyBudgetUnderContention(t *testing.T) {
	const (
		limit   = 200
		workers = 20
		calls   = 30 // per worker: 600 in all, three hours' worth
	)
	tests := []struct {
		name   string
		budget syncengine.BudgetConfig
		offset time.Duration // the service's windows start this long before rlStart
	}{
		{"limit learned from headers", syncengine.ProcoreBudget(), 17 * time.Minute},
		{"limit configured", syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: limit, Per: time.Hour}}}, 59 * time.Minute},
		{"paced", syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: limit, Per: time.Hour, Burst: 10}}}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := manualclock.New(rlStart)
			rl := newTestLimiter(clk, map[string]syncengine.BudgetConfig{"procore": tt.budget})
			fake := &fakeProcore{limit: limit, origin: rlStart.Add(-tt.offset), counts: map[int64]int{}}
			ctx := failAfter(t)

			var (
				mu       sync.Mutex
				grants   []time.Time
				finished atomic.Int64
				wg       sync.WaitGroup
			)
			const parked = 1000 * time.Hour
			for range workers {
				wg.Go(func() {
					for range calls {
						if err := rl.Wait(ctx, "procore", 1); err != nil {
							t.Error(err)
							break
						}
						now := clk.Now() // the clock cannot move until this worker blocks again
						mu.Lock()
						grants = append(grants, now)
						mu.Unlock()
						rl.Observe("procore", fake.call(now))
					}
					// Park in the clock, so that every worker is always
					// either running or counted by Waiters.
					finished.Add(1)
					<-clk.After(parked)
				})
			}
			for finished.Load() < workers {
				// Move on only once every worker is blocked in After.
				require.NoError(t, clk.BlockUntilContext(ctx, workers))
				require.Equal(t, workers, clk.Waiters(), "no stray waits")
				if finished.Load() == workers {
					break
				}
				next, ok := clk.Next()
				require.True(t, ok)
				clk.Set(next)
			}
			clk.Advance(parked)
			wg.Wait()

			require.Len(t, grants, workers*calls)
			require.Zero(t, fake.tooMany, "429s")
			sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
			for i, g := range grants { // any hour-long interval, wherever it starts
				j := sort.Search(len(grants), func(j int) bool { return !grants[j].Before(g.Add(time.Hour)) })
				require.LessOrEqual(t, j-i, limit, "calls in the hour from %s", g.Sub(rlStart))
			}
			for idx, n := range fake.counts {
				require.LessOrEqual(t, n, limit, "service window %d", idx)
			}
			last := grants[len(grants)-1]
			require.True(t, last.Before(rlStart.Add(3*time.Hour)), "finished at %s", last.Sub(rlStart))
		})
	}
}

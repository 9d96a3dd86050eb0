package redislimit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/redislimit"
)

// newLimiters returns n limiters on the test Redis, each with a client of
// its own (as separate workers have), sharing the test's key prefix.
func newLimiters(t testing.TB, r testservices.Redis, n int, budgets map[string]syncengine.BudgetConfig) []*redislimit.Limiter {
	t.Helper()
	var out []*redislimit.Limiter
	for range n {
		l, err := redislimit.New(redislimit.Options{Client: r.NewClient(t), Prefix: r.Prefix, Budgets: budgets,
			MaxSleep: 50 * time.Millisecond})
		require.NoError(t, err)
		out = append(out, l)
	}
	return out
}

// violation returns a description of the first interval [t, t+w.Per)
// that holds more than w.Limit of the grant times, or "".
func violation(times []time.Time, w syncengine.Window) string {
	ts := slices.Clone(times)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	j := 0
	for i := range ts {
		for j < len(ts) && ts[j].Sub(ts[i]) < w.Per {
			j++
		}
		if j-i > w.Limit {
			return fmt.Sprintf("%d grants in [%s, +%s), limit %d", j-i, ts[i].Format("15:04:05.000000"), w.Per, w.Limit)
		}
	}
	return ""
}

// hammer runs goroutines per waiter, each calling wait until d has passed,
// and returns the grant times that wait reported.
func hammer(t *testing.T, waiters []func(ctx context.Context) (time.Time, error), goroutines int, d time.Duration) []time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	errs := make(chan error, len(waiters)*goroutines)
	for _, wait := range waiters {
		for range goroutines {
			wg.Go(func() {
				for {
					at, err := wait(ctx)
					if err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
					mu.Lock()
					times = append(times, at)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return times
}

var testBudget = syncengine.BudgetConfig{Windows: []syncengine.Window{
	{Limit: 40, Per: 2 * time.Second}, // the "hourly" window, scaled down
	{Limit: 15, Per: 500 * time.Millisecond},
}}

// TestSharedBudgetNeverExceeded: four workers (four limiters, four Redis
// clients), four goroutines each, hammer one budget for 5 s. The grant
// times, on Redis's clock, never have more than a window's limit in any
// interval of the window's length, summed over all workers, while the
// budget is used (not starved).
func TestSharedBudgetNeverExceeded(t *testing.T) {
	r := testservices.NewRedis(t)
	lims := newLimiters(t, r, 4, map[string]syncengine.BudgetConfig{"procore:*": testBudget})
	var waiters []func(ctx context.Context) (time.Time, error)
	for _, l := range lims {
		waiters = append(waiters, func(ctx context.Context) (time.Time, error) {
			g, err := l.Acquire(ctx, "procore:app1", 1)
			return g.At, err
		})
	}
	const d = 5 * time.Second
	times := hammer(t, waiters, 4, d)
	for _, w := range testBudget.Windows {
		require.Empty(t, violation(times, w), "window %+v", w)
	}
	// 5 s of a 40-per-2-s budget: at least two full windows were used.
	require.GreaterOrEqual(t, len(times), 80, "the budget was used")

	// Redis-side truth: the grants in the hourly window's log are within
	// its limit.
	c := r.NewClient(t)
	keys, err := c.Keys(context.Background(), r.Prefix+"*w:2000000").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	n, err := c.ZCard(context.Background(), keys[0]).Result()
	require.NoError(t, err)
	require.LessOrEqual(t, n, int64(40))
}

// TestInMemoryLimitersOverrun is the control of the test above: the same
// hammer on four in-process limiters (each keeping the budget alone)
// exceeds the budget, which the checker reports. So the check can fail.
func TestInMemoryLimitersOverrun(t *testing.T) {
	var waiters []func(ctx context.Context) (time.Time, error)
	for range 4 {
		l, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
			Budgets: map[string]syncengine.BudgetConfig{"procore:*": testBudget}})
		require.NoError(t, err)
		waiters = append(waiters, func(ctx context.Context) (time.Time, error) {
			err := l.Wait(ctx, "procore:app1", 1)
			return time.Now(), err
		})
	}
	times := hammer(t, waiters, 2, 1200*time.Millisecond)
	require.NotEmpty(t, violation(times, testBudget.Windows[1]), "four separate budgets overrun one")
}

// redisNow returns the Redis server's time.
func redisNow(t *testing.T, c *redis.Client) time.Time {
	t.Helper()
	now, err := c.Time(context.Background()).Result()
	require.NoError(t, err)
	return now
}

// TestFeedbackPausesAll: a 429 with Retry-After seen by one worker holds
// back every worker for that long; Remaining 0 until Reset does too; a
// Limit the service reports replaces the configured one for all.
func TestFeedbackPausesAll(t *testing.T) {
	r := testservices.NewRedis(t)
	c := r.NewClient(t)
	budget := syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: 100, Per: 10 * time.Second}}}
	lims := newLimiters(t, r, 2, map[string]syncengine.BudgetConfig{"k": budget})
	a, b := lims[0], lims[1]
	ctx := context.Background()

	t.Run("Retry-After", func(t *testing.T) {
		before := redisNow(t, c)
		require.NoError(t, a.ObserveContext(ctx, "k", storage.Feedback{RetryAfter: 700 * time.Millisecond}))
		bud, err := b.BudgetContext(ctx, "k")
		require.NoError(t, err)
		require.False(t, bud.BlockedUntil.IsZero(), "the other worker sees the block")
		g, err := b.Acquire(ctx, "k", 1)
		require.NoError(t, err)
		require.GreaterOrEqual(t, g.At.Sub(before), 700*time.Millisecond, "the other worker waited")
	})
	t.Run("Remaining 0 until Reset", func(t *testing.T) {
		before := redisNow(t, c)
		require.NoError(t, a.ObserveContext(ctx, "k", storage.Feedback{Limit: 100, Remaining: 0,
			Reset: time.Now().Add(600 * time.Millisecond)}))
		bud, err := b.BudgetContext(ctx, "k")
		require.NoError(t, err)
		require.Zero(t, bud.Remaining)
		g, err := b.Acquire(ctx, "k", 1)
		require.NoError(t, err)
		require.GreaterOrEqual(t, g.At.Sub(before), 550*time.Millisecond, "held until the reset (clock rule: 50ms slack for the round trip)")
	})
	t.Run("Limit replaces the configured one", func(t *testing.T) {
		r := testservices.NewRedis(t)
		lims := newLimiters(t, r, 2, map[string]syncengine.BudgetConfig{"k": budget})
		require.NoError(t, lims[0].ObserveContext(ctx, "k", storage.Feedback{Limit: 3, Remaining: 3}))
		for range 3 {
			require.NoError(t, lims[1].Wait(ctx, "k", 1))
		}
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, lims[1].Wait(cctx, "k", 1), context.DeadlineExceeded, "the fourth call waits for the window")
		bud, err := lims[0].BudgetContext(ctx, "k")
		require.NoError(t, err)
		require.Zero(t, bud.Remaining)
		require.ErrorIs(t, lims[1].Wait(ctx, "k", 4), syncengine.ErrExceedsBudget)
	})
	t.Run("unconfigured key", func(t *testing.T) {
		// A key without a budget is limited by feedback alone, shared too.
		before := redisNow(t, c)
		a.Observe("free", storage.Feedback{RetryAfter: 300 * time.Millisecond})
		g, err := b.Acquire(ctx, "free", 1)
		require.NoError(t, err)
		require.GreaterOrEqual(t, g.At.Sub(before), 300*time.Millisecond)
		require.Equal(t, -1, b.Budget("free").Remaining)
	})
}

func TestBudgetAcrossWorkers(t *testing.T) {
	r := testservices.NewRedis(t)
	lims := newLimiters(t, r, 2, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
		{Limit: 10, Per: time.Minute}, {Limit: 5, Per: 30 * time.Second}}}})
	ctx := context.Background()
	require.Equal(t, 5, lims[1].Budget("k").Remaining)
	require.NoError(t, lims[0].Wait(ctx, "k", 2))
	b := lims[1].Budget("k")
	require.Equal(t, 3, b.Remaining)
	require.WithinDuration(t, time.Now().Add(30*time.Second), b.Reset, 5*time.Second, "the 30-s window is the tighter one")
	require.True(t, b.BlockedUntil.IsZero())
	require.Equal(t, -1, lims[1].Budget("unlimited").Remaining)
}

func TestBurstPacesAllWorkers(t *testing.T) {
	r := testservices.NewRedis(t)
	// 20 per second in a bucket of 2: after the first two, one call per 50 ms.
	lims := newLimiters(t, r, 3, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
		{Limit: 20, Per: time.Second, Burst: 2}}}})
	var waiters []func(ctx context.Context) (time.Time, error)
	for _, l := range lims {
		waiters = append(waiters, func(ctx context.Context) (time.Time, error) {
			g, err := l.Acquire(ctx, "k", 1)
			return g.At, err
		})
	}
	times := hammer(t, waiters, 2, 1500*time.Millisecond)
	require.Empty(t, violation(times, syncengine.Window{Limit: 20, Per: time.Second}))
	// In any 200 ms at most 2 (burst) + 4 (refill) calls.
	require.Empty(t, violation(times, syncengine.Window{Limit: 6, Per: 200 * time.Millisecond}))
	require.GreaterOrEqual(t, len(times), 20)
	_, err := lims[0].Acquire(context.Background(), "k", 3)
	require.ErrorIs(t, err, syncengine.ErrExceedsBudget)
}

func TestBadConfigAndUnreachable(t *testing.T) {
	_, err := redislimit.New(redislimit.Options{})
	require.ErrorIs(t, err, redislimit.ErrNoClient)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	for _, w := range []syncengine.Window{{Limit: 0, Per: time.Second}, {Limit: 1, Per: 0}, {Limit: 1, Per: time.Second, Burst: -1}} {
		_, err := redislimit.New(redislimit.Options{Client: c, Budgets: map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{w}}}})
		require.ErrorIs(t, err, syncengine.ErrInvalidWindow)
		_, err = redislimit.New(redislimit.Options{Client: c, Budgets: map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{
			{Limit: 5, Per: time.Second}, {Limit: 9, Per: time.Second}}}}})
		require.ErrorIs(t, err, syncengine.ErrInvalidWindow)
		_, err = redislimit.New(redislimit.Options{Client: c, Default: &syncengine.BudgetConfig{Windows: []syncengine.Window{w}}})
		require.ErrorIs(t, err, syncengine.ErrInvalidWindow)
	}

	// An unreachable Redis is an error, soon, never a hang.
	var reported []string
	l, err := redislimit.New(redislimit.Options{Client: c, Timeout: 500 * time.Millisecond,
		OnError: func(op, key string, err error) { reported = append(reported, op+" "+key) }})
	require.NoError(t, err)
	start := time.Now()
	err = l.Wait(context.Background(), "k", 1)
	require.Error(t, err)
	require.False(t, errors.Is(err, context.Canceled))
	require.Less(t, time.Since(start), 5*time.Second)
	l.Observe("k", storage.Feedback{RetryAfter: time.Second})
	require.Equal(t, -1, l.Budget("k").Remaining)
	require.Equal(t, []string{"observe k", "budget k"}, reported)
}

func TestWaitCancelled(t *testing.T) {
	r := testservices.NewRedis(t)
	l := newLimiters(t, r, 1, map[string]syncengine.BudgetConfig{"k": {Windows: []syncengine.Window{{Limit: 1, Per: time.Hour}}}})[0]
	ctx := context.Background()
	require.NoError(t, l.Wait(ctx, "k", 1))
	require.NoError(t, l.Wait(ctx, "k", 0), "n <= 0 returns at once")
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, l.Wait(cctx, "k", 1), context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second, "waiting obeys the context")
	cancel()
	require.ErrorIs(t, l.Wait(cctx, "k", 1), context.DeadlineExceeded)
}

// TestOddKeys: keys with hash-tag braces or of any length are budgets of
// their own.
func TestOddKeys(t *testing.T) {
	r := testservices.NewRedis(t)
	def := &syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: 1, Per: time.Hour}}}
	l, err := redislimit.New(redislimit.Options{Client: r.NewClient(t), Prefix: r.Prefix, Default: def})
	require.NoError(t, err)
	ctx := context.Background()
	long := string(make([]byte, 300))
	for _, k := range []string{"a{b}", "a{c}", "}{", long, long + "x", ""} {
		require.NoError(t, l.Wait(ctx, k, 1), "%q", k)
		require.Zero(t, l.Budget(k).Remaining, "%q", k)
	}
}

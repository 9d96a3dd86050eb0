// Package redislimit is a syncengine.Limiter (and so a storage.Pacer)
// whose budgets live in Redis, so that any number of workers share them:
// a Procore budget belongs to the app and token, not to one process.
//
// It keeps the same budgets as syncengine.RateLimiter (windows of Limit
// calls per Per, optionally paced with a Burst) and learns from the same
// feedback (X-Rate-Limit-Limit, -Remaining and -Reset; Retry-After), but
// every decision is one Lua script run atomically by the Redis server over
// the shared state: the windows are sliding-window logs (a sorted set of
// grant times per window), so N workers together never have more than
// Limit calls granted in any interval of length Per; feedback that one
// worker observes (a 429 with Retry-After, Remaining 0 until Reset, a new
// Limit) holds back every worker.
//
// Clock rule: all times that decide are the Redis server's (TIME, in
// microseconds); the workers' clocks never are. Retry-After is already a
// duration. Feedback.Reset, an absolute time, is turned into a duration by
// the observing worker (Reset minus its own clock's now) and added to the
// server's time in the script, so a worker's clock error only shifts that
// one reset by the error. Times that Budget returns are the local clock's,
// converted from the server's by the offset seen in the same call.
//
// Waiting polls: a waiter sleeps until the time the script said the call
// would fit (at most Options.MaxSleep), then asks again. Each Wait costs
// one round trip to Redis when the budget has room.
//
// All Redis keys of a budget share one hash tag, so the scripts also run
// on Redis Cluster.
package redislimit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Options configures a Limiter.
type Options struct {
	// Client is the Redis connection (a *redis.Client, *redis.ClusterClient
	// or anything else that runs scripts). Required.
	Client redis.Scripter
	// Prefix starts every key the limiter writes (default
	// "procoresync:ratelimit"). Workers sharing budgets must use the same.
	Prefix string
	// Budgets maps keys to their budget, as in
	// syncengine.RateLimiterOptions: an exact budget key, or a prefix
	// followed by "*"; an exact key wins over prefixes, a longer prefix
	// over a shorter one. Every worker should configure the same budgets:
	// windows are shared by their length, so a worker that configures
	// other limits applies its own limits to the shared grants.
	Budgets map[string]syncengine.BudgetConfig
	// Default, when set, is the budget of keys that Budgets does not
	// match. Nil: such keys are limited only by the services' feedback.
	Default *syncengine.BudgetConfig
	// Timeout bounds each call to Redis (default 2 s).
	Timeout time.Duration
	// MaxSleep bounds each sleep of a waiter before it asks Redis again
	// (default 1 s), so that feedback loosening a budget is noticed.
	MaxSleep time.Duration
	// Clock is the local clock: for sleeping, for turning Feedback.Reset
	// into a duration and for the times Budget reports (default
	// syncengine.SystemClock{}).
	Clock syncengine.Clock
	// OnError, when set, is told of Redis failures in Observe and Budget,
	// which cannot return them (ObserveContext and BudgetContext do).
	OnError func(op, key string, err error)
}

// Limiter is a syncengine.Limiter whose state is in Redis. It is safe for
// concurrent use, and any number of Limiters, in any number of processes,
// may share budgets through one Redis.
type Limiter struct {
	opts     Options
	exact    map[string]syncengine.BudgetConfig
	prefixes []prefixBudget // longest first
}

type prefixBudget struct {
	prefix string
	cfg    syncengine.BudgetConfig
}

var _ syncengine.Limiter = (*Limiter)(nil)
var _ storage.Pacer = (*Limiter)(nil)

// ErrNoClient is returned by New without Options.Client.
var ErrNoClient = errors.New("redislimit: no Redis client")

// New returns a Limiter configured by opts. It fails with an error
// wrapping syncengine.ErrInvalidWindow for a window with a non-positive
// Limit, a Per under a microsecond, a negative Burst, or the same Per as
// another window of its budget.
func New(opts Options) (*Limiter, error) {
	if opts.Client == nil {
		return nil, ErrNoClient
	}
	if opts.Prefix == "" {
		opts.Prefix = "procoresync:ratelimit"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.MaxSleep <= 0 {
		opts.MaxSleep = time.Second
	}
	if opts.Clock == nil {
		opts.Clock = syncengine.SystemClock{}
	}
	l := &Limiter{opts: opts, exact: map[string]syncengine.BudgetConfig{}}
	for k, cfg := range opts.Budgets {
		if err := check(k, cfg); err != nil {
			return nil, err
		}
		if p, ok := strings.CutSuffix(k, "*"); ok {
			l.prefixes = append(l.prefixes, prefixBudget{p, cfg})
		} else {
			l.exact[k] = cfg
		}
	}
	slices.SortFunc(l.prefixes, func(a, b prefixBudget) int {
		return cmp.Or(cmp.Compare(len(b.prefix), len(a.prefix)), strings.Compare(a.prefix, b.prefix))
	})
	if opts.Default != nil {
		if err := check("default", *opts.Default); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// check validates the windows of budget name. Windows are kept in Redis by
// their length, so two windows of one budget cannot have the same.
func check(name string, cfg syncengine.BudgetConfig) error {
	seen := map[int64]bool{}
	for _, w := range cfg.Windows {
		per := w.Per.Microseconds()
		if w.Limit <= 0 || per <= 0 || w.Burst < 0 || seen[per] {
			return fmt.Errorf("%w %+v in budget %q", syncengine.ErrInvalidWindow, w, name)
		}
		seen[per] = true
	}
	return nil
}

// windows returns the configured windows of key.
func (l *Limiter) windows(key string) []syncengine.Window {
	if cfg, ok := l.exact[key]; ok {
		return cfg.Windows
	}
	for _, p := range l.prefixes {
		if strings.HasPrefix(key, p.prefix) {
			return p.cfg.Windows
		}
	}
	if l.opts.Default != nil {
		return l.opts.Default.Windows
	}
	return nil
}

// keys returns the Redis keys of budget key (the state hash, then one
// sorted set per window) and the windows' script arguments.
func (l *Limiter) keys(key string) (keys []string, args []any) {
	tag := key
	if strings.ContainsAny(key, "{}") || len(key) > 200 {
		sum := sha256.Sum256([]byte(key))
		tag = "sha256:" + hex.EncodeToString(sum[:16])
	}
	base := l.opts.Prefix + ":{" + tag + "}:"
	ws := l.windows(key)
	keys = append(keys, base+"state")
	args = append(args, len(ws))
	for _, w := range ws {
		per := w.Per.Microseconds()
		keys = append(keys, base+"w:"+strconv.FormatInt(per, 10))
		args = append(args, w.Limit, per, w.Burst)
	}
	return keys, args
}

// run runs a script with the call timeout and returns its integer results.
func (l *Limiter) run(ctx context.Context, s *redis.Script, keys []string, args ...any) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	v, err := s.Run(ctx, l.opts.Client, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("redislimit: %w", err)
	}
	return v, nil
}

// Grant is what Acquire granted.
type Grant struct {
	// At is when the calls were granted, on the Redis server's clock.
	At time.Time
}

// Wait blocks until n calls may be made on key, or ctx is done, in which
// case it returns ctx's error. It returns an error wrapping
// syncengine.ErrExceedsBudget if n can never fit, and an error from Redis
// if it cannot be reached (never waiting longer than Options.Timeout for
// it). n <= 0 returns at once.
func (l *Limiter) Wait(ctx context.Context, key string, n int) error {
	_, err := l.Acquire(ctx, key, n)
	return err
}

// Acquire is Wait, and also says when the calls were granted on the Redis
// server's clock (zero for n <= 0).
func (l *Limiter) Acquire(ctx context.Context, key string, n int) (Grant, error) {
	if err := ctx.Err(); err != nil {
		return Grant{}, err
	}
	if n <= 0 {
		return Grant{}, nil
	}
	keys, wargs := l.keys(key)
	args := append([]any{n}, wargs...)
	for {
		v, err := l.run(ctx, acquireScript, keys, args...)
		if err != nil {
			if ctx.Err() != nil {
				return Grant{}, ctx.Err()
			}
			return Grant{}, err
		}
		if len(v) != 3 {
			return Grant{}, fmt.Errorf("redislimit: unexpected script result %v", v)
		}
		switch v[0] {
		case 1:
			return Grant{At: time.UnixMicro(v[2])}, nil
		case -1:
			return Grant{}, fmt.Errorf("%w: %d calls on %q, limit %d in window %d", syncengine.ErrExceedsBudget, n, key, v[2], v[1])
		case -2:
			return Grant{}, fmt.Errorf("%w: %d calls on %q, burst %d in window %d", syncengine.ErrExceedsBudget, n, key, v[2], v[1])
		}
		d := min(time.Duration(v[1])*time.Microsecond, l.opts.MaxSleep)
		select {
		case <-ctx.Done():
			return Grant{}, ctx.Err()
		case <-l.opts.Clock.After(d):
		}
	}
}

// Observe takes a response's feedback for key, for every worker sharing
// the budget (see the package comment for how Reset is converted). A
// Redis failure is reported to Options.OnError.
func (l *Limiter) Observe(key string, fb storage.Feedback) {
	if err := l.ObserveContext(context.Background(), key, fb); err != nil && l.opts.OnError != nil {
		l.opts.OnError("observe", key, err)
	}
}

// ObserveContext is Observe, returning Redis's error.
func (l *Limiter) ObserveContext(ctx context.Context, key string, fb storage.Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keys, wargs := l.keys(key)
	hasReset, resetIn := 0, int64(0)
	if !fb.Reset.IsZero() {
		hasReset = 1
		resetIn = clampMicros(fb.Reset.Sub(l.opts.Clock.Now()))
	}
	args := append([]any{clampMicros(fb.RetryAfter), max(fb.Limit, 0), fb.Remaining, hasReset, resetIn}, wargs...)
	_, err := l.run(ctx, observeScript, keys, args...)
	return err
}

// clampMicros converts d to microseconds, within what the scripts' numbers
// hold exactly.
func clampMicros(d time.Duration) int64 {
	const lim = 1 << 50
	return min(max(d.Microseconds(), -lim), lim)
}

// Budget reports what is known of key's budget across all workers, as
// syncengine.RateLimiter.Budget does, in the local clock's time. When
// Redis cannot be reached it reports an unknown budget (Remaining -1) and
// tells Options.OnError.
func (l *Limiter) Budget(key string) syncengine.Budget {
	b, err := l.BudgetContext(context.Background(), key)
	if err != nil {
		if l.opts.OnError != nil {
			l.opts.OnError("budget", key, err)
		}
		return syncengine.Budget{Remaining: -1}
	}
	return b
}

// BudgetContext is Budget, returning Redis's error.
func (l *Limiter) BudgetContext(ctx context.Context, key string) (syncengine.Budget, error) {
	if err := ctx.Err(); err != nil {
		return syncengine.Budget{}, err
	}
	keys, wargs := l.keys(key)
	v, err := l.run(ctx, budgetScript, keys, wargs...)
	if err != nil {
		return syncengine.Budget{}, err
	}
	if len(v) != 3 {
		return syncengine.Budget{}, fmt.Errorf("redislimit: unexpected script result %v", v)
	}
	now := l.opts.Clock.Now()
	b := syncengine.Budget{Remaining: int(min(v[0], math.MaxInt32))}
	if v[1] >= 0 && v[0] >= 0 {
		b.Reset = now.Add(time.Duration(v[1]) * time.Microsecond)
	}
	if v[2] > 0 {
		b.BlockedUntil = now.Add(time.Duration(v[2]) * time.Microsecond)
	}
	return b, nil
}

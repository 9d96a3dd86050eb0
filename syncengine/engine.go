package syncengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// Errors of the Engine. Test for them with errors.Is.
var (
	// ErrUnknownPair: no pair of that ID was added to the engine.
	ErrUnknownPair = errors.New("syncengine: unknown pair")
	// ErrPaused: the pair is paused; Resume it first.
	ErrPaused = errors.New("syncengine: pair is paused")
	// ErrInvalidPair: AddPair was given a pair it cannot run.
	ErrInvalidPair = errors.New("syncengine: invalid pair")
	// ErrEngineRunning: Run was called while the engine's scheduler runs.
	ErrEngineRunning = errors.New("syncengine: the scheduler is already running")
	// ErrActionTimeout: an action took longer than Options.ActionTimeout;
	// it was cancelled and is retried later.
	ErrActionTimeout = errors.New("syncengine: action timed out")
	// ErrSpoolTooLarge: a file whose source does not list its size yielded
	// more than Options.MaxSpoolSize bytes; it was not copied.
	ErrSpoolTooLarge = errors.New("syncengine: file of unknown size larger than Options.MaxSpoolSize")
	// ErrRunTimeout: a run took longer than Options.RunTimeout; it was
	// cancelled (its unfinished actions are resolved by the next run).
	ErrRunTimeout = errors.New("syncengine: run timed out")
)

// Defaults applied by New and AddPair.
const (
	defaultInterval        = 5 * time.Minute
	defaultConcurrency     = 4
	defaultMassDeleteShare = 0.5
	defaultReplacement     = "-"
	defaultMaxAttempts     = 5
	defaultRetryBackoff    = time.Minute
	defaultMaxRetryBackoff = 6 * time.Hour
	defaultConcurrentPairs = 4
	defaultLowBudget       = 50
	defaultWakeDelay       = time.Second
	defaultLockedBackoff   = 15 * time.Minute
	defaultActionTimeout   = 30 * time.Minute
	defaultMinTransferRate = 128 << 10
	defaultRunTimeout      = 12 * time.Hour
	defaultMaxPasses       = 3
	defaultMaxSpoolSize    = 2 << 30
	defaultInitialChunk    = 1000
)

// Options configure an Engine. Only Store is required.
type Options struct {
	// Store keeps baselines, cursors, journal, history and logs (required;
	// sqlitestore is the embedded default).
	Store MetadataStore
	// Limiter paces calls per budget key (default: a RateLimiter without
	// configured budgets, which only follows what services report).
	Limiter Limiter
	// Notifier receives events (default: a slog notifier on Logger).
	Notifier Notifier
	// Clock is the source of time (default SystemClock).
	Clock Clock
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
	// DefaultInterval is the run interval of pairs that set none (default
	// 5 minutes).
	DefaultInterval time.Duration
	// MaxAttempts is how many consecutive failures of an item are retried
	// before it is quarantined (default 5).
	MaxAttempts int
	// RetryBackoff is the wait after an item's first failure, doubled after
	// each further failure up to MaxRetryBackoff (defaults 1 minute and 6
	// hours).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// MaxConcurrentPairs bounds how many pairs Run syncs at once (default 4).
	MaxConcurrentPairs int
	// LowBudget is the Remaining count of a budget below which Run holds
	// back initial syncs (bulk work) so that incremental runs of other
	// pairs keep going (default 50).
	LowBudget int
	// WakeDelay coalesces the wake-ups of a pair (Wake, and signals of a
	// storage that is a storage.Watcher) under Run: a wake-up of an idle
	// pair whose last run ended at least WakeDelay ago runs the pair at
	// once, so the first change after a quiet period is synced without
	// added latency; wake-ups during a run or within WakeDelay of its end
	// (a burst of webhooks, or the change notifications caused by the
	// run's own writes) give a single run, WakeDelay after that end. Runs
	// due to the Interval are not delayed. Default 1 second; a negative
	// value turns coalescing off (every wake-up runs the pair as soon as
	// it is idle).
	WakeDelay time.Duration
	// LockedBackoff is the wait before an item that its storage reports
	// checked out or locked (storage.ErrLocked, e.g. SharePoint's 423) is
	// tried again. Locked is a person's state, not the item's fault: it
	// does not count towards MaxAttempts, so such an item is never
	// quarantined for it and syncs once it is checked in (default 15
	// minutes).
	LockedBackoff time.Duration
	// ActionTimeout bounds one action (a move, a delete, a folder
	// creation, with the reads that confirm it; for a transfer, see
	// MinTransferRate): a storage call stuck longer is cancelled and the
	// item is recorded as a failure to retry (default 30 minutes; a
	// negative value turns it off).
	ActionTimeout time.Duration
	// MinTransferRate, in bytes per second, extends the deadline of an
	// action that transfers a file by the time the file takes at that
	// rate, so that a large upload on a slow link is not cut while it
	// progresses (default 128 KiB/s: a 6 GiB file gets about 14 hours
	// more; a negative value adds nothing).
	MinTransferRate int64
	// RunTimeout bounds one run of a pair, listing included: a run still
	// going after it is cancelled, recorded as failed with ErrRunTimeout,
	// and its unfinished actions are resolved by the next run (default 12
	// hours; a negative value turns it off).
	RunTimeout time.Duration
	// MaxPasses bounds how often one run plans again when items changed
	// between the reading a plan was based on and a destructive action
	// (a delete, an overwrite or a move, which are then not done): the
	// run lists and plans again from the first pass's cursors, so that a
	// change wins over a deletion. Items still changing after MaxPasses
	// passes are retried by a later run (default 3).
	MaxPasses int
	// SpoolDir is the folder where a file whose source does not list its
	// size (storage.Entry.Size -1: Procore's PDF exports, attachments whose
	// size Procore does not give) is kept while it is copied: the engine
	// reads such a file completely first (in memory up to 4 MiB, beyond in
	// a temporary file readable only by its owner, removed afterwards) to
	// learn its size, then writes it with that exact size. Default
	// os.TempDir().
	SpoolDir string
	// MaxSpoolSize bounds the size of such a file: a source that yields
	// more is not copied and fails with ErrSpoolTooLarge (default 2 GiB; a
	// file of unknown size gets, towards ActionTimeout, the time this size
	// takes at MinTransferRate).
	MaxSpoolSize int64
	// Reconcile, when set, replaces the Interval of initialized pairs by a
	// safety-net reconciliation period derived from a budget while the
	// pairs' webhooks are healthy (see Reconcile). After a restart, or
	// when pairs that synced before are added to a running engine, each
	// such pair's next reconciliation comes from its last run in the
	// store; overdue ones catch up spread out (see Reconcile.CatchUpShare).
	Reconcile *Reconcile
	// InitialChunk is how many actions a scheduled initial sync applies
	// before it yields its slot when other initial syncs wait for one: the
	// run ends as a partial run (Run.Undone says so; it does not count
	// for the pair's StopPolicy), goes to the back of the round robin of
	// initial syncs, and its next run resumes it (reading both sides again
	// and matching what is done), so that a big project does not hold back
	// small ones. A run yields only once it has spent at least four times
	// as long applying as reading and planning, so that reading again
	// costs at most a quarter more. RunOnce never yields. Default 1000; a
	// negative value turns yielding off.
	InitialChunk int
}

// RunOptions tune one run.
type RunOptions struct {
	// Force bypasses the mass-delete guard and the retry backoff of failing
	// items (quarantined items stay quarantined; release them).
	Force bool
	// Full lists both sides completely instead of reading change feeds.
	Full bool
}

// Engine keeps many pairs in sync: on demand (RunOnce), or on a schedule
// and on wake-ups (Run). Its methods are safe for concurrent use; a pair
// never runs twice at the same time.
type Engine struct {
	opts     Options
	store    MetadataStore
	limiter  Limiter
	notifier Notifier
	clock    Clock
	log      *slog.Logger

	mu      sync.Mutex
	pairs   map[string]*pairSlot
	order   []string
	running bool
	runSeq  uint64 // counts ended runs, to tell which pair ran least recently
	// restoredQ are the pairs whose next run restoreSchedule set from
	// their last run in the store and that have not run since;
	// catchUpRan is when the last overdue one started
	// (schedule_restore.go).
	restoredQ  []*pairSlot
	catchUpRan time.Time
	changed    chan struct{} // wakes the scheduler (buffered 1)
}

// pairSlot is the engine's record of one pair.
type pairSlot struct {
	cfg     atomic.Pointer[Pair] // the pair as AddPair or UpdatePair set it; a run keeps the one it started with
	lock    chan struct{}        // held (one value inside) while a run or an admin action works on the pair
	stateMu sync.Mutex           // serialises load-modify-save of the PairState

	// Scheduler state, guarded by Engine.mu.
	woken       bool      // a wake-up is pending
	next        time.Time // when the Interval is due
	lastEnd     time.Time // when the pair's last run ended (zero: none yet)
	lastSeq     uint64    // Engine.runSeq when the pair's last run ended (0: none yet)
	wokenAt     time.Time // when the pending wake-up came
	busy        bool      // a scheduled run is in progress
	initialized int       // 0 unknown, 1 no, 2 yes
	watching    bool
	stopWatch   context.CancelFunc      // ends the watchers of the pair's storages
	runCancel   context.CancelCauseFunc // cancels the run in progress (nil: none)
	removed     bool                    // RemovePair removed the pair
	// lastRun is the start of the pair's last run as the store had it
	// when the scheduler first loaded the pair (zero: none).
	lastRun  time.Time
	restored bool // in Engine.restoredQ
	overdue  bool // restored overdue: its next is its turn to catch up
	// paused: the pair's last scheduled run found it paused, so that its
	// initial sync waiting does not make others yield (cleared by a run
	// that starts, or a wake-up such as Resume's).
	paused bool
}

// cur returns the pair's current configuration.
func (s *pairSlot) cur() *Pair { return s.cfg.Load() }

// New returns an Engine. It fails when opts.Store is nil or an option is
// out of range.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("syncengine: Options.Store is required")
	}
	// A negative WakeDelay is allowed: it turns coalescing off.
	if opts.DefaultInterval < 0 || opts.MaxAttempts < 0 || opts.RetryBackoff < 0 || opts.MaxRetryBackoff < 0 ||
		opts.MaxConcurrentPairs < 0 || opts.LowBudget < 0 || opts.LockedBackoff < 0 || opts.MaxPasses < 0 ||
		opts.MaxSpoolSize < 0 {
		return nil, errors.New("syncengine: negative engine option")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Limiter == nil {
		rl, err := NewRateLimiter(RateLimiterOptions{Clock: opts.Clock})
		if err != nil {
			return nil, err
		}
		opts.Limiter = rl
	}
	if opts.Notifier == nil {
		opts.Notifier = NewSlogNotifier(opts.Logger)
	}
	if opts.DefaultInterval == 0 {
		opts.DefaultInterval = defaultInterval
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = defaultMaxAttempts
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = defaultRetryBackoff
	}
	if opts.MaxRetryBackoff == 0 {
		opts.MaxRetryBackoff = defaultMaxRetryBackoff
	}
	opts.MaxRetryBackoff = max(opts.MaxRetryBackoff, opts.RetryBackoff)
	if opts.MaxConcurrentPairs == 0 {
		opts.MaxConcurrentPairs = defaultConcurrentPairs
	}
	if opts.LowBudget == 0 {
		opts.LowBudget = defaultLowBudget
	}
	if opts.LockedBackoff == 0 {
		opts.LockedBackoff = defaultLockedBackoff
	}
	if opts.MaxPasses == 0 {
		opts.MaxPasses = defaultMaxPasses
	}
	if opts.MaxSpoolSize == 0 {
		opts.MaxSpoolSize = defaultMaxSpoolSize
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	switch {
	case opts.MinTransferRate == 0:
		opts.MinTransferRate = defaultMinTransferRate
	case opts.MinTransferRate < 0:
		opts.MinTransferRate = 0 // no allowance
	}
	switch {
	case opts.ActionTimeout == 0:
		opts.ActionTimeout = defaultActionTimeout
	case opts.ActionTimeout < 0:
		opts.ActionTimeout = 0 // off
	}
	switch {
	case opts.RunTimeout == 0:
		opts.RunTimeout = defaultRunTimeout
	case opts.RunTimeout < 0:
		opts.RunTimeout = 0 // off
	}
	switch {
	case opts.WakeDelay == 0:
		opts.WakeDelay = defaultWakeDelay
	case opts.WakeDelay < 0:
		opts.WakeDelay = 0 // off
	}
	if opts.InitialChunk == 0 {
		opts.InitialChunk = defaultInitialChunk
	}
	return &Engine{opts: opts, store: opts.Store, limiter: opts.Limiter, notifier: opts.Notifier,
		clock: opts.Clock, log: opts.Logger, pairs: map[string]*pairSlot{}, changed: make(chan struct{}, 1)}, nil
}

// AddPair validates p, applies its defaults (Interval: the engine's
// DefaultInterval; Concurrency 4 adapting up to MaxConcurrency 16; MassDeleteShare 0.5; Replacement "-";
// Name: the ID; AName "A" and BName "B") and adds it to the engine. A
// running scheduler (Run) picks it up at once: a new pair runs right away,
// then every Interval. Under a healthy Options.Reconcile policy, a pair
// that completed its initial sync before (after a restart, say) runs
// instead when its reconciliation falls due, counted from its last run in
// the store (see Reconcile.CatchUpShare), or when it is woken.
func (e *Engine) AddPair(p Pair) error {
	p, err := e.prepare(p)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pairs[p.ID]; ok {
		return fmt.Errorf("%w %q: a pair with this ID was already added", ErrInvalidPair, p.ID)
	}
	s := &pairSlot{lock: make(chan struct{}, 1)}
	s.cfg.Store(&p)
	e.pairs[p.ID] = s
	e.order = append(e.order, p.ID)
	e.signal()
	return nil
}

// prepare validates p and applies its defaults (see AddPair).
func (e *Engine) prepare(p Pair) (Pair, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidPair, p.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case p.ID == "":
		return Pair{}, fmt.Errorf("%w: empty ID", ErrInvalidPair)
	case p.A == nil || p.B == nil:
		return Pair{}, bad("both storages must be set")
	case p.Direction > DirectionOneWayAB:
		return Pair{}, bad("unknown direction %d", p.Direction)
	case p.Conflict > ConflictKeepBoth:
		return Pair{}, bad("unknown conflict policy %d", p.Conflict)
	case p.Initial > InitialMerge:
		return Pair{}, bad("unknown initial mode %d", p.Initial)
	case p.Deletes > DeleteKeep:
		return Pair{}, bad("unknown delete policy %d", p.Deletes)
	case p.DeleteLimit < 0:
		return Pair{}, bad("negative delete limit")
	case p.Concurrency < 0 || p.MaxConcurrency < 0:
		return Pair{}, bad("negative concurrency")
	case p.Interval < 0:
		return Pair{}, bad("negative interval")
	case p.MassDeleteShare > 1:
		return Pair{}, bad("mass-delete share %v above 1", p.MassDeleteShare)
	}
	if err := e.checkStop(p); err != nil {
		return Pair{}, err
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	if p.AName == "" {
		p.AName = "A"
	}
	if p.BName == "" {
		p.BName = "B"
	}
	if p.Interval == 0 {
		p.Interval = e.opts.DefaultInterval
	}
	if p.MaxConcurrency == 0 {
		p.MaxConcurrency = p.Concurrency
		if p.Concurrency == 0 {
			p.MaxConcurrency = defaultMaxConcurrency
		}
	}
	if p.Concurrency == 0 {
		p.Concurrency = min(defaultConcurrency, p.MaxConcurrency)
	}
	p.MaxConcurrency = max(p.MaxConcurrency, p.Concurrency)
	if p.MassDeleteShare == 0 {
		p.MassDeleteShare = defaultMassDeleteShare
	}
	if p.Replacement == "" {
		p.Replacement = defaultReplacement
	}
	p.Budgets = slices.Clone(p.Budgets)
	return p, nil
}

// Pair returns the pair of that ID as AddPair stored it (with defaults).
func (e *Engine) Pair(pairID string) (Pair, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.pairs[pairID]
	if !ok {
		return Pair{}, false
	}
	return *s.cur(), true
}

// Pairs returns the IDs of the engine's pairs, in the order they were added.
func (e *Engine) Pairs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.order)
}

func (e *Engine) slot(pairID string) (*pairSlot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.pairs[pairID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownPair, pairID)
	}
	return s, nil
}

// acquire takes the pair's lock, waiting for a run in progress.
func (s *pairSlot) acquire(ctx context.Context) error {
	select {
	case s.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// acquire takes the lock of pair s for a run or an admin action, waiting
// for a run in progress; a pair removed meanwhile gives ErrUnknownPair.
func (e *Engine) acquire(ctx context.Context, s *pairSlot) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	removed := s.removed
	e.mu.Unlock()
	if removed {
		e.unlock(s)
		return fmt.Errorf("%w %q: removed", ErrUnknownPair, s.cur().ID)
	}
	return nil
}

func (s *pairSlot) tryAcquire() bool {
	select {
	case s.lock <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *pairSlot) release() { <-s.lock }

// unlock releases the pair's lock taken outside the scheduler and tells
// the scheduler, which may have a due run waiting for it.
func (e *Engine) unlock(s *pairSlot) {
	s.release()
	e.signal()
}

// signal wakes the scheduler (e.mu may or may not be held).
func (e *Engine) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// notify sends an event, filling in the pair and the time.
func (e *Engine) notify(ctx context.Context, p *Pair, ev Event) {
	ev.PairID, ev.PairName = p.ID, p.Name
	if ev.Time.IsZero() {
		ev.Time = e.clock.Now()
	}
	ev.Count = len(ev.Paths)
	ev.Paths = ev.Paths[:min(len(ev.Paths), MaxEventPaths):min(len(ev.Paths), MaxEventPaths)]
	e.notifier.Notify(context.WithoutCancel(ctx), ev)
}

// RunOnce runs pair pairID now, waiting for a run of it in progress to end.
// The Run returned describes what happened; the error is set when the run
// could not start (unknown or paused pair), was cancelled, or failed as a
// whole. A run refused by the safety guards returns a Run with Status
// RunRefused and no error.
func (e *Engine) RunOnce(ctx context.Context, pairID string, opt RunOptions) (Run, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return Run{}, err
	}
	if err := e.acquire(ctx, s); err != nil {
		return Run{}, err
	}
	defer e.unlock(s)
	run, err := e.runPair(ctx, s, opt, nil)
	e.ranAt(s, run)
	return run, err
}

// ranAt records, for the coalescing of wake-ups, that a run of s which
// started (and so may have spent API calls) ended now. The caller holds
// the pair's lock, not e.mu.
func (e *Engine) ranAt(s *pairSlot, run Run) {
	if run.Started.IsZero() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.lastEnd = e.clock.Now()
	e.runSeq++
	s.lastSeq = e.runSeq
}

// DryRun returns the plan a run of the pair would apply now, without
// applying anything or saving any state.
func (e *Engine) DryRun(ctx context.Context, pairID string) (Plan, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return Plan{}, err
	}
	ps, err := e.store.LoadPair(ctx, pairID)
	if err != nil {
		return Plan{}, err
	}
	in, _, err := detect(ctx, s.cur(), e.store, ps, detectOptions{Now: e.clock.Now(), Log: e.log})
	if err != nil {
		return Plan{}, err
	}
	return buildPlan(in), nil
}

// SyncFolderLevel runs the pair but applies only the actions for items
// directly in folder (a path on side A; "" is the pair root) and the
// folder creations leading to it. The change-feed cursors are not moved,
// so the next regular run still sees every change.
func (e *Engine) SyncFolderLevel(ctx context.Context, pairID, folder string) (Run, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return Run{}, err
	}
	folder = cleanFolder(folder)
	if err := e.acquire(ctx, s); err != nil {
		return Run{}, err
	}
	defer e.unlock(s)
	folderB := folder
	if folder != "" {
		if it, err := e.store.ItemByPath(ctx, pairID, SideA, folder); err == nil {
			folderB = it.B.Path
		} else if !errors.Is(err, ErrNoItem) {
			return Run{}, err
		}
	}
	dirs := [2]string{folder, folderB}
	only := func(a Action) bool {
		f := dirs[a.Side]
		if parentPath(a.Path) == f {
			return true
		}
		// Folders leading to it.
		return a.Kind == ActionMkdir && (f == a.Path || len(f) > len(a.Path) && f[:len(a.Path)+1] == a.Path+"/")
	}
	run, err := e.runPair(ctx, s, RunOptions{}, only)
	e.ranAt(s, run)
	return run, err
}

// cleanFolder normalises a folder path given by a caller.
func cleanFolder(f string) string {
	for len(f) > 0 && f[0] == '/' {
		f = f[1:]
	}
	for len(f) > 0 && f[len(f)-1] == '/' {
		f = f[:len(f)-1]
	}
	if f == "." {
		return ""
	}
	return f
}

// runPair runs one pair; the caller holds its lock. When only is set, only
// the actions it accepts are applied and the pair state is not saved.
func (e *Engine) runPair(ctx context.Context, s *pairSlot, opt RunOptions, only func(Action) bool) (Run, error) {
	// RemovePair cancels the run through runCancel after its grace period.
	ctx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	e.mu.Lock()
	if s.removed {
		e.mu.Unlock()
		return Run{}, fmt.Errorf("%w %q: removed", ErrUnknownPair, s.cur().ID)
	}
	s.runCancel = cancelRun
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		s.runCancel = nil
		e.mu.Unlock()
	}()
	parent := ctx
	if e.opts.RunTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, e.opts.RunTimeout, ErrRunTimeout)
		defer cancel()
	}
	p := s.cur()
	ps, err := e.store.LoadPair(ctx, p.ID)
	if err != nil {
		return Run{}, fmt.Errorf("syncengine: loading pair %s: %w", p.ID, err)
	}
	if ps.Paused {
		return Run{PairID: p.ID, Status: RunRefused, Error: ps.PauseReason},
			fmt.Errorf("%w: %s: %s", ErrPaused, p.ID, ps.PauseReason)
	}
	if err := e.waitUnblocked(ctx, p.Budgets); err != nil {
		return Run{}, err
	}
	now := e.clock.Now()
	r := &pairRun{e: e, s: s, p: p, parent: parent, opt: opt, only: only, ps: ps, now: now,
		run: Run{PairID: p.ID, Initial: !ps.Initialized, Started: now, Status: RunRunning}}
	if y := yielderFrom(ctx); y != nil && !ps.Initialized && only == nil {
		r.yield = y
	}
	if r.run.ID, err = e.store.StartRun(ctx, r.run); err != nil {
		return Run{}, fmt.Errorf("syncengine: recording run: %w", err)
	}
	r.log = e.log.With(LogKeyPair, p.ID, LogKeyRun, r.run.ID)
	ctx = ContextWithLogAttrs(ctx, slog.String(LogKeyPair, p.ID), slog.Int64(LogKeyRun, r.run.ID))
	return r.do(ctx)
}

// pairRun is one run of a pair, from its start in the run history to its
// end: recover, detect, plan, apply (in passes), record and notify.
type pairRun struct {
	e      *Engine
	s      *pairSlot
	p      *Pair
	parent context.Context // the caller's context, without the run timeout
	opt    RunOptions
	only   func(Action) bool // nil: every action; else only those it keeps
	ps     PairState         // the pair's state as the run started
	now    time.Time         // the run's start
	run    Run
	log    *slog.Logger
	yield  *yielder // set on a scheduled initial sync that may yield its slot
}

// do runs the pair: its steps, each of which may end the run.
func (r *pairRun) do(ctx context.Context) (Run, error) {
	if err := r.e.recover(ctx, r.p, r.run.ID); err != nil {
		return r.fail(ctx, err)
	}
	in, newPS, err := r.detect(ctx, r.now)
	if err != nil {
		return r.fail(ctx, err)
	}
	plan := r.plan(in)
	if plan.Refused != "" {
		return r.refuse(ctx, in, plan)
	}
	res, newPS, err := r.applyPasses(ctx, plan, newPS)
	if err != nil {
		return r.fail(ctx, err)
	}
	r.run.Counts = res.counts
	r.run.Undone = res.summary(r.p)
	status := RunSucceeded
	if c := res.counts; c.Failed > 0 || c.Held > 0 || c.Waiting > 0 || c.Skipped > 0 || len(res.undone) > 0 {
		status = RunPartial
	}
	if r.yield.yielded() {
		status = RunPartial
		r.run.Undone = strings.TrimPrefix(r.run.Undone+"\n"+r.yield.note(), "\n")
	}
	if r.only == nil {
		if err := r.saveState(ctx, &res, newPS, status); err != nil {
			return r.fail(ctx, err)
		}
	}
	r.notifyOutcome(ctx, &res)
	return r.finish(ctx, status, nil)
}

// detect reads both sides against the baseline as of now.
func (r *pairRun) detect(ctx context.Context, now time.Time) (*planInput, PairState, error) {
	dp, err := r.e.resumeInitial(ctx, r.p, r.ps)
	if err != nil {
		return nil, PairState{}, err
	}
	return detect(ctx, dp, r.e.store, r.ps, detectOptions{Now: now, Force: r.opt.Force, Full: r.opt.Full, Log: r.log})
}

// plan builds the plan for in, keeping only the actions r.only keeps.
func (r *pairRun) plan(in *planInput) Plan {
	plan := buildPlan(in)
	if r.only != nil && plan.Refused == "" {
		plan.Actions = slices.DeleteFunc(plan.Actions, func(a Action) bool { return !r.only(a) })
	}
	return plan
}

// refuse ends a run whose plan a safety guard refused: a protected root
// gone pauses the pair, a mass deletion is reported.
func (r *pairRun) refuse(ctx context.Context, in *planInput, plan Plan) (Run, error) {
	p := r.p
	if in.RootGone != "" {
		if err := r.e.setPaused(ctx, r.s, true, rootPausePrefix+plan.Refused); err != nil {
			return r.fail(ctx, err)
		}
		r.e.auditPair(WithActor(ctx, SystemActor), p, AuditPairPaused, map[string]string{"reason": rootPausePrefix + plan.Refused})
		r.e.notify(ctx, p, Event{Kind: EventPairPaused, Err: plan.Refused,
			Message: fmt.Sprintf("Sync of %s paused: %s", p.Name, plan.Refused)})
	} else {
		var paths []string
		for _, a := range plan.Actions {
			if a.Kind == ActionDelete {
				paths = append(paths, a.Side.String()+":"+a.Path)
			}
		}
		r.e.notify(ctx, p, Event{Kind: EventMassDeleteRefused, Paths: paths, Err: plan.Refused,
			Message: fmt.Sprintf("Sync of %s refused: %s", p.Name, plan.Refused)})
	}
	return r.finish(ctx, RunRefused, errors.New(plan.Refused))
}

// applyPasses applies plan, and plans and applies again (up to
// Options.MaxPasses passes) while items changed during the run. It returns
// what the passes did and the pair state to save.
func (r *pairRun) applyPasses(ctx context.Context, plan Plan, newPS PairState) (applyResult, PairState, error) {
	var res applyResult
	for pass := 1; ; pass++ {
		ap, err := r.e.newApplier(ctx, r.p, r.run.ID, r.opt.Force)
		if err != nil {
			return res, newPS, err
		}
		ap.lastPass = pass >= r.e.opts.MaxPasses
		ap.yield = r.yield.begin(r.now, r.e.clock.Now())
		got := ap.apply(ctx, plan)
		res.merge(got, pass == 1)
		r.run.Counts = res.counts
		if ctx.Err() != nil {
			return res, newPS, ctx.Err()
		}
		if len(got.changed) == 0 || ap.lastPass || r.yield.yielded() {
			return r.endPasses(ctx, ap, plan, res), newPS, nil
		}
		// Items changed between the reading this plan was based on and a
		// destructive action, which was not done: read both sides again
		// from the first pass's cursors (a feed reports the person's
		// change, and again the changes this run acted on) and plan
		// again, where a change wins over a deletion.
		r.log.Info("syncengine: items changed during the run; planning again", "pass", pass+1,
			"changed", len(got.changed))
		var in *planInput
		if in, newPS, err = r.detect(ctx, r.e.clock.Now()); err != nil {
			return res, newPS, err
		}
		if plan = r.plan(in); plan.Refused != "" {
			// Left to the next run, which refuses or pauses as usual.
			res.undone = append(res.undone, "planning again was refused: "+plan.Refused)
			res.deferred++
			r.e.Wake(r.p.ID)
			return r.endPasses(ctx, ap, plan, res), newPS, nil
		}
	}
}

// endPasses closes the last pass (applier ap, plan its plan): failures
// that no longer apply are cleared and skipped items reported.
func (r *pairRun) endPasses(ctx context.Context, ap *applier, plan Plan, res applyResult) applyResult {
	if r.only == nil {
		ap.clearObsoleteFailures(ctx, plan, r.now)
	}
	r.e.reportSkipped(ctx, r.p, r.run.ID, &res)
	return res
}

// saveState saves the pair state after a full run (not one limited to
// some actions) and notifies a completed initial sync.
func (r *pairRun) saveState(ctx context.Context, res *applyResult, newPS PairState, status RunStatus) error {
	p, ps := r.p, r.ps
	yielded := r.yield.yielded()
	if res.counts.Failed > 0 || res.deferred > 0 || yielded {
		// Keep the cursors: the next run reads these changes again, so
		// that an item that failed is looked at on both sides (items
		// applied meanwhile match their baseline and plan nothing).
		// Quarantined items do not hold the cursors back.
		newPS.CursorA, newPS.CursorB = ps.CursorA, ps.CursorB
	}
	if err := r.e.saveState(ctx, r.s, newPS, r.now, status == RunSucceeded, !yielded); err != nil {
		return err
	}
	if !ps.Initialized && !yielded {
		r.e.setInitialized(r.s)
		dir := "Two way"
		if p.Direction == DirectionOneWayAB {
			dir = "One way"
		}
		r.e.notify(ctx, p, Event{Kind: EventInitialSyncCompleted,
			Message: fmt.Sprintf("%s sync initiated for %s", dir, p.Name)})
	}
	return nil
}

// notifyOutcome sends the events of what the run held, quarantined, saw
// drift in, restored or left undone.
func (r *pairRun) notifyOutcome(ctx context.Context, res *applyResult) {
	e, p := r.e, r.p
	if len(res.held) > 0 && p.Deletes == DeletePropagate {
		e.notify(ctx, p, Event{Kind: EventDeleteLimitReached, Paths: res.held,
			Message: fmt.Sprintf("Delete limit of %s reached: %d deletions held for approval", p.Name, len(res.held))})
	}
	if len(res.quarantined) > 0 {
		e.notify(ctx, p, Event{Kind: EventItemsQuarantined, Paths: res.quarantined,
			Message: fmt.Sprintf("%d items of %s failed %d times and are no longer retried automatically",
				len(res.quarantined), p.Name, e.opts.MaxAttempts)})
	}
	if len(res.drift) > 0 {
		e.notify(ctx, p, Event{Kind: EventDrift, Paths: res.drift,
			Message: fmt.Sprintf("%d items changed on %s of one-way pair %s; they will be overwritten", len(res.drift), p.BName, p.Name)})
	}
	if len(res.heldCancelled) > 0 {
		e.notify(ctx, p, Event{Kind: EventHeldDeleteCancelled, Paths: res.heldCancelled,
			Message: fmt.Sprintf("%d items of %s whose deletion was held were changed since: the change wins, "+
				"they were restored where they had been deleted", len(res.heldCancelled), p.Name)})
	}
	if c := res.counts; c.Waiting > 0 || len(res.locked) > 0 || c.Skipped > 0 || c.Replanned > 0 || len(res.undone) > 0 {
		var paths []string
		paths = append(paths, res.waiting...)
		paths = append(paths, res.locked...)
		paths = append(paths, res.changed...)
		paths = append(paths, res.skipped...)
		e.notify(ctx, p, Event{Kind: EventRunIncomplete, Paths: paths,
			Message: fmt.Sprintf("Sync of %s left items undone: %s", p.Name, strings.ReplaceAll(r.run.Undone, "\n", "; "))})
	}
}

// fail ends the run on err: cancelled when the caller cancelled it, failed
// otherwise (its own deadline included).
func (r *pairRun) fail(ctx context.Context, err error) (Run, error) {
	if ctx.Err() != nil {
		if r.parent.Err() == nil {
			// Our own deadline, not the caller's cancellation: the
			// run failed (its pending actions are resolved next run).
			return r.finish(ctx, RunFailed, fmt.Errorf("%w after %v", ErrRunTimeout, r.e.opts.RunTimeout))
		}
		return r.finish(ctx, RunCancelled, ctx.Err())
	}
	return r.finish(ctx, RunFailed, err)
}

// finish records the run's end with status and, for a failed run, logs and
// notifies runErr. It returns the run, and runErr for a failed or
// cancelled run.
func (r *pairRun) finish(ctx context.Context, status RunStatus, runErr error) (Run, error) {
	e, p, log := r.e, r.p, r.log
	run := &r.run
	run.Status = status
	if runErr != nil {
		run.Error = runErr.Error()
	}
	run.Ended = e.clock.Now()
	if err := e.store.FinishRun(context.WithoutCancel(ctx), *run); err != nil {
		log.Warn("syncengine: recording run end", "error", err)
	}
	e.countRun(ctx, r.s, *run)
	switch status {
	case RunFailed:
		log.Error("syncengine: run failed", "error", runErr)
		if err := e.store.AddError(context.WithoutCancel(ctx), ErrorRecord{PairID: p.ID, RunID: run.ID,
			Time: run.Ended, Op: "run", Error: run.Error}); err != nil {
			log.Warn("syncengine: error log", "error", err)
		}
		e.notify(ctx, p, Event{Kind: EventRunFailed, Message: fmt.Sprintf("Sync of %s failed", p.Name),
			Err: run.Error})
	case RunCancelled:
		log.Info("syncengine: run cancelled")
	default:
		log.Info("syncengine: run finished", "status", string(status), "copied", run.Counts.FilesCopied,
			"failed", run.Counts.Failed)
	}
	if status == RunFailed || status == RunCancelled {
		return *run, runErr
	}
	return *run, nil
}

// saveState stores the pair state detect returned (its cursors), marks the
// pair initialised when complete (not after an initial sync that yielded
// its slot) and records the run times, keeping a pause set meanwhile.
func (e *Engine) saveState(ctx context.Context, s *pairSlot, ps PairState, started time.Time, success, complete bool) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	ctx = context.WithoutCancel(ctx)
	cur, err := e.store.LoadPair(ctx, s.cur().ID)
	if err != nil {
		return err
	}
	ps.Paused, ps.PauseReason = cur.Paused, cur.PauseReason
	ps.Initialized = cur.Initialized || complete
	ps.LastRun = started
	ps.LastSuccess = cur.LastSuccess
	if success {
		ps.LastSuccess = started
	}
	return e.store.SavePair(ctx, s.cur().ID, ps)
}

func (e *Engine) setInitialized(s *pairSlot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.initialized = 2
}

// setPaused pauses or resumes a pair in the store.
func (e *Engine) setPaused(ctx context.Context, s *pairSlot, paused bool, reason string) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	ps, err := e.store.LoadPair(ctx, s.cur().ID)
	if err != nil {
		return err
	}
	ps.Paused, ps.PauseReason = paused, reason
	if !paused {
		ps.PauseReason = ""
	}
	return e.store.SavePair(ctx, s.cur().ID, ps)
}

// Pause stops the pair from running until Resume; reason is reported. A
// run in progress finishes.
func (e *Engine) Pause(ctx context.Context, pairID, reason string) error {
	s, err := e.slot(pairID)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "paused by an administrator"
	}
	if err := e.setPaused(ctx, s, true, reason); err != nil {
		return err
	}
	e.auditPair(ctx, s.cur(), AuditPairPaused, map[string]string{"reason": reason})
	e.notify(ctx, s.cur(), Event{Kind: EventPairPaused, Message: fmt.Sprintf("Sync of %s paused: %s", s.cur().Name, reason)})
	return nil
}

// rootPausePrefix starts the PauseReason of a pair paused because a
// protected root is gone or was replaced.
const rootPausePrefix = "protected root: "

// Resume lets a paused pair run again and wakes it. Resuming a pair that
// was paused because a protected root disappeared or was replaced is the
// admin's statement that the root is back or that its replacement is
// right: a root that exists now is accepted as the pair's root (see
// AcceptRoot), and the next run checks both roots again (a root still
// missing pauses the pair again).
func (e *Engine) Resume(ctx context.Context, pairID string) error {
	s, err := e.slot(pairID)
	if err != nil {
		return err
	}
	ps, err := e.store.LoadPair(ctx, pairID)
	if err != nil {
		return err
	}
	if ps.Paused && strings.HasPrefix(ps.PauseReason, rootPausePrefix) {
		if _, err := e.acceptRoots(ctx, s, false); err != nil {
			return err
		}
	}
	if err := e.resumed(ctx, s, ps); err != nil {
		return err
	}
	if err := e.setPaused(ctx, s, false, ""); err != nil {
		return err
	}
	e.Wake(pairID)
	return nil
}

// ErrRootMissing: AcceptRoot found no root folder on a side.
var ErrRootMissing = errors.New("syncengine: the pair's root folder is missing")

// AcceptRoot accepts the root folders the pair's storages show now as the
// pair's protected roots: a root replaced by another folder of the same
// name (another ID) stops pausing the pair. Nothing else changes: the
// items of the new root are compared with the baseline like any others by
// the next run (the mass-delete guard still applies). A side whose root
// is missing gives an error wrapping ErrRootMissing and nothing is
// accepted. AcceptRoot does not resume a paused pair; Resume does (and
// accepts the roots itself when the pair was paused for them).
func (e *Engine) AcceptRoot(ctx context.Context, pairID string) error {
	s, err := e.slot(pairID)
	if err != nil {
		return err
	}
	if err := e.acquire(ctx, s); err != nil {
		return err
	}
	defer e.unlock(s)
	_, err = e.acceptRoots(ctx, s, true)
	return err
}

// acceptRoots stores the current root IDs of both sides as the remembered
// ones. With strict, a missing root is an error and nothing is stored;
// otherwise the sides whose root exists are accepted.
func (e *Engine) acceptRoots(ctx context.Context, s *pairSlot, strict bool) (bool, error) {
	var ids [2]string
	for side := range 2 {
		root, err := s.cur().storage(Side(side)).Stat(ctx, "")
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if strict {
				return false, fmt.Errorf("%w: side %s (%s)", ErrRootMissing, Side(side), s.cur().sideName(Side(side)))
			}
		case err != nil:
			return false, fmt.Errorf("syncengine: stat root of %s: %w", s.cur().sideName(Side(side)), err)
		default:
			ids[side] = root.ID
		}
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	ps, err := e.store.LoadPair(ctx, s.cur().ID)
	if err != nil {
		return false, err
	}
	changed := false
	for side := range 2 {
		if r := rootOf(&ps, Side(side)); ids[side] != "" && *r != ids[side] {
			if *r != "" {
				e.log.Info("syncengine: replacement root accepted", "pair", s.cur().ID, "side", Side(side).String(),
					"old", *r, "new", ids[side])
			}
			*r, changed = ids[side], true
		}
	}
	if !changed {
		return false, nil
	}
	return true, e.store.SavePair(ctx, s.cur().ID, ps)
}

// Wake asks the scheduler (Run) to run the pair soon, without waiting for
// its interval (webhook receivers call this). An idle pair whose last run
// ended at least Options.WakeDelay ago runs at once; wake-ups during a run
// or within WakeDelay of its end are coalesced into one run, WakeDelay
// after that end. Several wake-ups before the run starts give one run.
// Unknown pairs are ignored.
func (e *Engine) Wake(pairID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.pairs[pairID]; ok {
		if !s.woken {
			s.wokenAt = e.clock.Now()
		}
		s.woken = true
		e.signal()
	}
}

// Run schedules the pairs until ctx is done: each runs every Interval and
// when it is woken (Wake, or a storage that is a storage.Watcher; see
// Options.WakeDelay for how wake-ups are coalesced), one run per pair at a
// time, at most MaxConcurrentPairs at once. When a budget a pair draws on
// runs low (Remaining below LowBudget), pairs that still need their
// initial sync wait and incremental runs go first. Initial syncs take
// turns, the one that ran least recently first; one that applied
// Options.InitialChunk actions while others wait ends as a partial run
// and resumes on its next turn. When ctx is done Run
// starts no more runs, cancels the running ones (their journals stay
// pending and the next run resolves them), waits for them and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return ErrEngineRunning
	}
	e.running = true
	e.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		e.mu.Lock()
		e.running = false
		for _, s := range e.pairs {
			s.watching, s.stopWatch = false, nil
			s.busy = false
		}
		e.mu.Unlock()
	}()
	done := make(chan *pairSlot)
	active := 0
	var timerAt time.Time
	var timer <-chan time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		e.startWatchers(ctx, &wg)
		now := e.clock.Now()
		for _, s := range e.pick(ctx, now, e.opts.MaxConcurrentPairs-active) {
			active++
			wg.Go(func() {
				e.scheduledRun(ctx, s)
				select {
				case done <- s:
				case <-ctx.Done():
				}
			})
		}
		// One timer for the earliest time a pair falls due. A pair already
		// due but not started (all slots taken, or its lock held by
		// RunOnce) is started when a run ends or the lock is released,
		// which signal.
		if at, ok := e.nextDue(now); ok {
			if timer == nil || !at.Equal(timerAt) {
				timerAt, timer = at, e.clock.After(at.Sub(now))
			}
		} else {
			timer = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.changed:
		case <-done:
			active--
		case <-timer:
			timer = nil
		}
	}
}

// scheduledRun runs one pair for the scheduler; the caller set s.busy and
// holds its lock.
func (e *Engine) scheduledRun(ctx context.Context, s *pairSlot) {
	defer s.release()
	y := e.newYielder(s)
	run, err := e.runPair(withYielder(ctx, y), s, RunOptions{}, nil)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrPaused) && run.Status != RunFailed {
		e.log.Warn("syncengine: scheduled run", "pair", s.cur().ID, "error", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	s.busy = false
	s.next = now.Add(e.nextInterval(s))
	if y.yielded() {
		// An initial sync that yielded its slot is due again at once,
		// behind the initial syncs that ran less recently.
		s.next = now
	}
	s.paused = errors.Is(err, ErrPaused)
	if !run.Started.IsZero() {
		s.lastEnd = now
		e.runSeq++
		s.lastSeq = e.runSeq
	}
}

// wakeAt returns when a pending wake-up of s may run it: WakeDelay after
// its last run ended (in the past for a pair that was quiet). e.mu is
// held.
func (e *Engine) wakeAt(s *pairSlot) time.Time {
	return s.lastEnd.Add(e.opts.WakeDelay)
}

// dueSince returns since when s, due at now, has been due: its interval,
// or its wake-up (when it came, or when WakeDelay let it run), whichever
// is earlier. e.mu is held.
func (e *Engine) dueSince(s *pairSlot, now time.Time) time.Time {
	t := now
	if !s.next.After(now) {
		t = s.next
	}
	if e.wakeDue(s, now) {
		w := s.wokenAt
		if at := e.wakeAt(s); at.After(w) {
			w = at
		}
		if w.Before(t) {
			t = w
		}
	}
	return t
}

// wakeDue reports whether s has a wake-up pending that may run it at now.
// e.mu is held.
func (e *Engine) wakeDue(s *pairSlot, now time.Time) bool {
	return s.woken && !e.wakeAt(s).After(now)
}

// pick chooses up to n pairs to run now and marks them busy: pairs whose
// wake-up is due (see Options.WakeDelay) or whose interval came, in the
// order of schedOrder: woken (or overdue) pairs, then pairs whose interval
// came, each the one due for longest first, then the one that ran least
// recently, so that pairs woken over and over cannot starve the others;
// then initial syncs, round-robin. Initial runs leave one slot free for
// incremental work and wait while a budget they draw on is low. A run
// clears the pair's pending wake-up.
func (e *Engine) pick(ctx context.Context, now time.Time, n int) []*pairSlot {
	if n <= 0 {
		return nil
	}
	e.mu.Lock()
	var cands []*pairSlot
	var unknown []*pairSlot
	for _, id := range e.order {
		s := e.pairs[id]
		if s.busy || !(e.wakeDue(s, now) || !s.next.After(now)) {
			continue
		}
		cands = append(cands, s)
		if s.initialized == 0 {
			unknown = append(unknown, s)
		}
	}
	e.mu.Unlock()
	for _, s := range unknown {
		ps, err := e.store.LoadPair(ctx, s.cur().ID)
		if err != nil {
			continue
		}
		e.mu.Lock()
		s.initialized = 1
		if ps.Initialized {
			s.initialized = 2
			s.lastRun = ps.LastRun
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(unknown) > 0 {
		cands = e.restoreSchedule(cands, unknown, now)
	}
	slices.SortStableFunc(cands, e.schedOrder(now))
	var out []*pairSlot
	initial, incremental := e.runningInitial(), e.runningIncremental()
	initialWaiting := e.initialWaiting(cands, now)
	for _, s := range cands {
		if len(out) == n {
			break
		}
		if s.initialized != 2 && initial >= e.initialSlots() {
			continue // a slot stays free for incremental work
		}
		if s.initialized == 2 && initialWaiting && incremental >= e.initialSlots() {
			continue // and one for the initial syncs waiting
		}
		if s.initialized != 2 && e.budgetLow(s, now) {
			// Bulk work waits for the budget; look again in a while.
			s.next = now.Add(min(s.cur().Interval, time.Minute))
			continue
		}
		if s.removed || !s.tryAcquire() {
			continue // a RunOnce or an admin action holds it; the wake-up stays pending
		}
		s.woken, s.busy = false, true
		e.caughtUp(s, now)
		if s.initialized != 2 {
			initial++
		} else {
			incremental++
		}
		out = append(out, s)
	}
	return out
}

// resumeInitial returns the pair to plan with. An InitialStandard initial sync
// that was interrupted after it wrote to B (the baseline already holds
// items, adopted by recovery where the crash came before they were
// recorded) resumes as an InitialMerge: B is no longer empty, but what it holds is
// the sync's own work, which InitialMerge matches by path and content instead of
// refusing. An InitialStandard sync that never wrote anything still requires an
// empty B.
func (e *Engine) resumeInitial(ctx context.Context, p *Pair, ps PairState) (*Pair, error) {
	if ps.Initialized || p.Initial != InitialStandard {
		return p, nil
	}
	n, err := e.store.CountItems(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("syncengine: counting the baseline: %w", err)
	}
	if n == 0 {
		return p, nil
	}
	resumed := *p
	resumed.Initial = InitialMerge
	return &resumed, nil
}

// waitUnblocked waits while a service has blocked any of the budget keys
// (Limiter.Budget().BlockedUntil, set from a Retry-After), or until ctx is
// done. It draws nothing from the budgets: the connectors pace every call
// they make through the same limiter, so drawing here too would count each
// call twice.
func (e *Engine) waitUnblocked(ctx context.Context, keys []string) error {
	for {
		var until time.Time
		for _, key := range keys {
			if b := e.limiter.Budget(key); b.BlockedUntil.After(until) {
				until = b.BlockedUntil
			}
		}
		d := until.Sub(e.clock.Now())
		if until.IsZero() || d <= 0 {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.clock.After(d):
		}
	}
}

// budgetRoom returns whether the budgets keys allow lim calls at once: none
// is blocked and each that knows its remaining calls has more than twice lim
// left before its reset.
func (e *Engine) budgetRoom(keys []string) func(lim int) bool {
	if len(keys) == 0 {
		return nil
	}
	return func(lim int) bool {
		now := e.clock.Now()
		for _, key := range keys {
			b := e.limiter.Budget(key)
			if b.BlockedUntil.After(now) || (b.Remaining >= 0 && b.Remaining <= 2*lim) {
				return false
			}
		}
		return true
	}
}

// budgetLow reports whether a budget the pair draws on is nearly spent or
// blocked.
func (e *Engine) budgetLow(s *pairSlot, now time.Time) bool {
	for _, key := range s.cur().Budgets {
		b := e.limiter.Budget(key)
		if b.BlockedUntil.After(now) || (b.Remaining >= 0 && b.Remaining < e.opts.LowBudget && !b.Reset.IsZero() && b.Reset.After(now)) {
			return true
		}
	}
	return false
}

// nextDue returns the earliest time after now that a pair not running
// falls due: its interval, or its pending wake-up (the wake-ups of a
// running pair fall due WakeDelay after the run, which signals when it
// ends). Times not after now are left out: such pairs were due already and
// wait for a signal (a run ending, a lock released) or were deferred by
// pick to a later next.
func (e *Engine) nextDue(now time.Time) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var at time.Time
	found := false
	consider := func(t time.Time) {
		if t.After(now) && (!found || t.Before(at)) {
			at, found = t, true
		}
	}
	for _, s := range e.pairs {
		if s.busy {
			continue
		}
		consider(s.next)
		if s.woken {
			consider(e.wakeAt(s))
		}
	}
	return at, found
}

// startWatchers starts watching the storages of pairs that are not watched
// yet; a signal from a storage.Watcher wakes its pair.
func (e *Engine) startWatchers(ctx context.Context, wg *sync.WaitGroup) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.order {
		s := e.pairs[id]
		if s.watching {
			continue
		}
		s.watching = true
		wctx, stop := context.WithCancel(ctx)
		s.stopWatch = stop
		for _, st := range []storage.Storage{s.cur().A, s.cur().B} {
			w, ok := st.(storage.Watcher)
			if !ok {
				continue
			}
			wg.Go(func() {
				ch, err := w.Watch(wctx)
				if err != nil {
					if wctx.Err() == nil {
						e.log.Warn("syncengine: watching a storage failed; polling only", "pair", id, "error", err)
					}
					return
				}
				for range ch {
					e.Wake(id)
				}
			})
		}
	}
}

// actionContext returns the context of action a: ctx bounded by
// Options.ActionTimeout, plus for a transfer the time its file takes at
// Options.MinTransferRate.
func (e *Engine) actionContext(ctx context.Context, a Action) (context.Context, context.CancelFunc) {
	d := e.actionTimeout(a)
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, ErrActionTimeout)
}

// actionTimeout returns the deadline of action a (0: none).
func (e *Engine) actionTimeout(a Action) time.Duration {
	d := e.opts.ActionTimeout
	if d <= 0 {
		return 0
	}
	switch a.Kind {
	case ActionCopy, ActionUpdate, ActionConflict:
		size := a.Source.Size
		if size < 0 && !a.Source.IsDir {
			size = e.opts.MaxSpoolSize // unknown: as long as the largest file spooled
		}
		if r := e.opts.MinTransferRate; r > 0 && size > 0 {
			extra := time.Duration(float64(size) / float64(r) * float64(time.Second))
			if extra < 0 || extra > 1000*time.Hour {
				extra = 1000 * time.Hour
			}
			d += extra
		}
	}
	return d
}

// reportSkipped adds to res what the sides' listings left out (symbolic
// links, special files: storage.SkipReporter), so that the run says it
// and the activity log says why.
func (e *Engine) reportSkipped(ctx context.Context, p *Pair, runID int64, res *applyResult) {
	var acts []Activity
	for _, sd := range []Side{SideA, SideB} {
		sr, ok := p.storage(sd).(storage.SkipReporter)
		if !ok {
			continue
		}
		for _, sk := range sr.Skipped() {
			res.counts.Skipped++
			res.skipped = append(res.skipped, sd.String()+":"+sk.Path)
			acts = append(acts, Activity{PairID: p.ID, RunID: runID, Time: e.clock.Now(), Kind: ActionSkip,
				Side: sd, Path: sk.Path, Detail: "skipped: " + sk.Reason})
		}
	}
	if len(acts) > 0 {
		if err := e.store.AddActivity(context.WithoutCancel(ctx), acts); err != nil {
			e.log.Warn("syncengine: activity log", LogKeyPair, p.ID, LogKeyRun, runID, "error", err)
		}
	}
}

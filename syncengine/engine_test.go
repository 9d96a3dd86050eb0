package syncengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// events records notifications.
type events struct {
	mu  sync.Mutex
	evs []syncengine.Event
}

func (r *events) Notify(_ context.Context, ev syncengine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *events) of(k syncengine.EventKind) []syncengine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []syncengine.Event
	for _, ev := range r.evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// env is an engine over two memory storages and a SQLite store.
type env struct {
	t      *testing.T
	ctx    context.Context
	a, b   *memory.Storage
	store  *sqlitestore.Store
	dbPath string
	clk    *manualclock.Clock
	ev     *events
	eng    *syncengine.Engine
	pair   syncengine.Pair
	opts   syncengine.Options
}

var epoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// quietLogger discards the engine's log, unless SYNCDEBUG is set in the
// environment: then it writes it, debug lines included, to stderr.
func quietLogger() *slog.Logger {
	if os.Getenv("SYNCDEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newEnv makes an env; tweak adjusts the pair before it is added.
func newEnv(t *testing.T, tweak func(p *syncengine.Pair, o *syncengine.Options)) *env {
	t.Helper()
	clk := manualclock.New(epoch)
	e := &env{t: t, ctx: context.Background(), clk: clk, ev: &events{},
		a: memory.New(memory.WithClock(clk.Now)), b: memory.New(memory.WithClock(clk.Now))}
	e.dbPath = filepath.Join(t.TempDir(), "sync.db")
	st, err := sqlitestore.Open(e.dbPath, sqlitestore.SynchronousNormal())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.store.Close() })
	e.store = st
	e.pair = syncengine.Pair{ID: "p1", Name: "Tower 3 / Documents", A: e.a, B: e.b, AName: "Procore", BName: "SharePoint",
		Initial: syncengine.InitialMerge}
	e.opts = syncengine.Options{Store: st, Notifier: e.ev, Clock: clk, Logger: quietLogger(),
		MaxAttempts: 3, RetryBackoff: time.Minute, MaxRetryBackoff: time.Hour}
	if tweak != nil {
		tweak(&e.pair, &e.opts)
	}
	e.restart()
	return e
}

// restart makes a new Engine on the same store and storages, as after a
// process restart.
func (e *env) restart() {
	eng, err := syncengine.New(e.opts)
	require.NoError(e.t, err)
	require.NoError(e.t, eng.AddPair(e.pair))
	e.eng = eng
}

func (e *env) run() syncengine.Run {
	e.t.Helper()
	r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{})
	require.NoError(e.t, err)
	return r
}

// settle runs until a run plans nothing, advancing the clock past retry
// backoffs in between, and fails after 10 runs.
func (e *env) settle() {
	e.t.Helper()
	for range 10 {
		e.clk.Advance(2 * time.Hour)
		plan, err := e.eng.DryRun(e.ctx, e.pair.ID)
		require.NoError(e.t, err)
		if len(plan.Actions) == 0 {
			return
		}
		e.run()
	}
	plan, _ := e.eng.DryRun(e.ctx, e.pair.ID)
	e.t.Fatalf("not settled after 10 runs:\n%s", plan)
}

func (e *env) write(s *memory.Storage, p, content string) {
	e.t.Helper()
	_, err := s.WriteFile(p, []byte(content))
	require.NoError(e.t, err)
}

// tree returns path → content ("/" for folders) of a storage.
func tree(t *testing.T, s *memory.Storage) map[string]string {
	t.Helper()
	out := map[string]string{}
	for en, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if en.IsDir {
			out[en.Path] = "/"
			continue
		}
		b, err := s.ReadFile(en.Path)
		require.NoError(t, err)
		out[en.Path] = string(b)
	}
	return out
}

func TestInitialStandardSyncFoldersFirstAndNotifiesOnce(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Initial = syncengine.InitialStandard })
	e.write(e.a, "Drawings/Level 1/plan.pdf", "plan v1")
	e.write(e.a, "Drawings/Level 2/plan.pdf", "plan v2")
	e.write(e.a, "Specs/spec.docx", "spec")
	e.write(e.a, "readme.txt", "hello")

	r := e.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	require.True(t, r.Initial)
	require.Equal(t, 4, r.Counts.FilesCopied)
	require.Equal(t, 4, r.Counts.FoldersMade)
	require.Equal(t, tree(t, e.a), tree(t, e.b))

	// Every file's folder was made before the file was copied.
	acts, err := e.eng.Activity(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	slices.Reverse(acts) // oldest first
	made := map[string]bool{"": true}
	for _, a := range acts {
		dir := ""
		if i := strings.LastIndex(a.Path, "/"); i >= 0 {
			dir = a.Path[:i]
		}
		require.True(t, made[dir], "%s %q before its folder", a.Kind, a.Path)
		if a.Kind == syncengine.ActionMkdir {
			made[a.Path] = true
		}
	}

	require.Len(t, e.ev.of(syncengine.EventInitialSyncCompleted), 1)
	ev := e.ev.of(syncengine.EventInitialSyncCompleted)[0]
	require.Equal(t, "Two way sync initiated for Tower 3 / Documents", ev.Message)

	e.write(e.a, "Specs/spec2.docx", "spec 2")
	r = e.run()
	require.False(t, r.Initial)
	require.Equal(t, 1, r.Counts.FilesCopied)
	e.restart()
	e.run()
	require.Len(t, e.ev.of(syncengine.EventInitialSyncCompleted), 1, "the initial sync is announced once")

	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, 5, st.Files)
	require.Equal(t, 4, st.Folders)
	require.Equal(t, 5, st.FilesCopied)
	require.True(t, st.Initialized)
	require.Equal(t, syncengine.RunSucceeded, st.LastRun.Status)
	require.Equal(t, int64(len("plan v1plan v2spechellospec 2")), st.BytesInSync)
}

func TestStandardInitialSyncRefusesNonEmptyTarget(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Initial = syncengine.InitialStandard })
	e.write(e.a, "a.txt", "a")
	e.write(e.b, "b.txt", "b")
	r, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrTargetNotEmpty)
	require.Equal(t, syncengine.RunFailed, r.Status)
	require.Len(t, e.ev.of(syncengine.EventRunFailed), 1)
	require.Equal(t, map[string]string{"b.txt": "b"}, tree(t, e.b))
}

// A run holding more deletions than an event names sends one notification
// with their count and a bounded sample; Held lists them all.
func TestDeleteLimitEventCountsAndSamples(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.DeleteLimit = 3; p.MassDeleteShare = -1 })
	for i := range 40 {
		e.write(e.a, fmt.Sprintf("f%03d.txt", i), fmt.Sprint("content ", i))
	}
	e.run()
	for i := range 40 {
		require.NoError(t, e.a.Remove(fmt.Sprintf("f%03d.txt", i)))
	}
	r := e.run()
	require.Equal(t, 3, r.Counts.Deleted)
	require.Equal(t, 37, r.Counts.Held)
	evs := e.ev.of(syncengine.EventDeleteLimitReached)
	require.Len(t, evs, 1)
	require.Equal(t, 37, evs[0].Count)
	require.Len(t, evs[0].Paths, syncengine.MaxEventPaths)
	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 37)
	heldPaths := map[string]bool{}
	for _, h := range held {
		heldPaths[h.Path] = true
	}
	for _, p := range evs[0].Paths {
		require.True(t, heldPaths[p], "%q was notified but not held", p)
	}
}

func TestDeleteLimitHoldsApproveAndReject(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.DeleteLimit = 25 })
	for i := range 100 {
		e.write(e.a, fmt.Sprintf("f%03d.txt", i), fmt.Sprint("content ", i))
	}
	e.run()
	require.Len(t, tree(t, e.b), 100)

	for i := range 30 {
		require.NoError(t, e.a.Remove(fmt.Sprintf("f%03d.txt", i)))
	}
	r := e.run()
	require.Equal(t, syncengine.RunPartial, r.Status)
	require.Equal(t, 25, r.Counts.Deleted)
	require.Equal(t, 5, r.Counts.Held)
	require.Len(t, tree(t, e.b), 75)
	evs := e.ev.of(syncengine.EventDeleteLimitReached)
	require.Len(t, evs, 1)
	require.Len(t, evs[0].Paths, 5)
	require.Equal(t, 5, evs[0].Count)

	// Held deletions stay held: the next run plans nothing for them.
	r = e.run()
	require.Zero(t, r.Counts.Deleted+r.Counts.Held)
	require.Len(t, e.ev.of(syncengine.EventDeleteLimitReached), 1)

	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 5)
	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, 5, st.Held)

	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", []int64{held[0].ID, held[1].ID}))
	require.NoError(t, e.eng.RejectHeld(e.ctx, "p1", []int64{held[2].ID, held[3].ID, held[4].ID}))
	left, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, left)
	require.ErrorIs(t, e.eng.ApproveHeld(e.ctx, "p1", []int64{held[0].ID}), syncengine.ErrNoItem)

	ta, tb := tree(t, e.a), tree(t, e.b)
	require.Equal(t, ta, tb)
	require.Len(t, ta, 73)
	for _, h := range held[2:] {
		require.Contains(t, ta, h.Path, "rejected deletion restored")
	}
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

func TestProtectedRootDeletedPausesAndDeletesNothing(t *testing.T) {
	root := memory.New()
	folder, err := root.Mkdirs("Projects/Tower 3")
	require.NoError(t, err)
	sub := root.Sub(folder.ID)
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.A = sub })
	e.a = sub
	e.write(sub, "Drawings/a.pdf", "a")
	e.write(sub, "b.txt", "b")
	e.run()
	require.Len(t, tree(t, e.b), 3)

	require.NoError(t, root.Remove("Projects/Tower 3"))
	r, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Force: true})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunRefused, r.Status)
	require.Len(t, tree(t, e.b), 3, "nothing deleted on B")
	evs := e.ev.of(syncengine.EventPairPaused)
	require.Len(t, evs, 1)
	require.NotEmpty(t, evs[0].Message)

	_, err = e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrPaused)
	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.True(t, st.Paused)
	require.Len(t, tree(t, e.b), 3)
}

func TestProtectedRootRenamedIsFollowed(t *testing.T) {
	root := memory.New()
	folder, err := root.Mkdirs("Projects/Tower 3")
	require.NoError(t, err)
	sub := root.Sub(folder.ID)
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.A = sub })
	e.a = sub
	e.write(sub, "a.txt", "a")
	e.run()

	_, err = root.Rename("Projects/Tower 3", "Projects/Tower Three")
	require.NoError(t, err)
	e.write(sub, "c.txt", "c")
	r := e.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	require.Equal(t, map[string]string{"a.txt": "a", "c.txt": "c"}, tree(t, e.b))
	require.Empty(t, e.ev.of(syncengine.EventPairPaused))
}

// cancelAfter returns a hook that cancels after n storage calls (counted
// over every storage it is set on).
func cancelAfter(n int, cancel context.CancelFunc) func(memory.Op) error {
	var mu sync.Mutex
	calls := 0
	return func(memory.Op) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == n {
			cancel()
			return context.Canceled
		}
		return nil
	}
}

// calls returns the number of calls made to both storages of e.
func calls(e *env) int {
	total := 0
	for _, s := range []*memory.Storage{e.a, e.b} {
		for _, n := range s.Calls() {
			total += n
		}
	}
	return total
}

// crashAt runs the pair, cancelling the run at the k-th storage call, as a
// crash would stop it. The crash point may lie beyond the run's calls
// (their number varies a little with the order of concurrent transfers).
func (e *env) crashAt(k int) {
	ctx, cancel := context.WithCancel(context.Background())
	hook := cancelAfter(k, cancel)
	e.a.SetHook(hook)
	e.b.SetHook(hook)
	_, _ = e.eng.RunOnce(ctx, e.pair.ID, syncengine.RunOptions{})
	cancel()
	e.a.SetHook(nil)
	e.b.SetHook(nil)
}

func TestCrashMidApplyConvergesWithoutDuplicates(t *testing.T) {
	setup := func(e *env) {
		e.write(e.a, "Docs/one.txt", "one")
		e.write(e.a, "Docs/two.txt", "two")
		e.write(e.a, "Docs/Sub/three.txt", "three")
		e.write(e.b, "Photos/p1.jpg", "p1")
		e.write(e.b, "Photos/p2.jpg", "p2")
		e.write(e.a, "same.txt", "same on both")
		e.write(e.b, "same.txt", "same on both")
	}
	// How many storage calls does a full first run make?
	probe := newEnv(t, nil)
	setup(probe)
	probe.run()
	want := tree(t, probe.a)
	require.Equal(t, want, tree(t, probe.b))
	total := calls(probe)
	require.Greater(t, total, 10)

	for k := 1; k <= total; k += raceStep {
		t.Run(fmt.Sprint("crash at call ", k), func(t *testing.T) {
			e := newEnv(t, nil)
			setup(e)
			e.crashAt(k)

			e.restart()
			r := e.run()
			require.Contains(t, []syncengine.RunStatus{syncengine.RunSucceeded, syncengine.RunPartial}, r.Status)
			e.settle()
			require.Equal(t, want, tree(t, e.a))
			require.Equal(t, want, tree(t, e.b))
			runs, err := e.eng.History(e.ctx, "p1", syncengine.Page{})
			require.NoError(t, err)
			for _, r := range runs {
				require.NotEqual(t, syncengine.RunRunning, r.Status, "interrupted runs are closed")
			}
		})
	}
}

func TestQuarantineAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "good.txt", "good")
	e.write(e.a, "bad.txt", "bad")
	boom := errors.New("connection reset")
	// Fail every Put of bad.txt (memory's hook cannot see names).
	ws := &failingPuts{Storage: e.b, name: "bad.txt", err: boom}
	e.pair.B = ws
	e.restart()

	r := e.run()
	require.Equal(t, syncengine.RunPartial, r.Status)
	require.Equal(t, 1, r.Counts.Failed)
	require.Equal(t, map[string]string{"good.txt": "good"}, tree(t, e.b), "the rest of the pair carries on")

	// Not retried before its backoff.
	r = e.run()
	require.Zero(t, r.Counts.Failed)
	for i := 0; i < 5; i++ {
		e.clk.Advance(2 * time.Hour)
		e.run()
	}
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.True(t, fs[0].Quarantined)
	require.Equal(t, 3, fs[0].Attempts)
	require.Equal(t, 3, ws.count())
	qs := e.ev.of(syncengine.EventItemsQuarantined)
	require.Len(t, qs, 1)
	require.Equal(t, []string{"bad.txt"}, qs[0].Paths)
	errs, err := e.eng.Errors(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, errs, 3)
	require.Contains(t, errs[0].Error, "connection reset")

	// Released, it syncs.
	ws.setErr(nil)
	require.NoError(t, e.eng.ReleaseQuarantine(e.ctx, "p1", fs[0].Side, fs[0].Path))
	e.run()
	require.Equal(t, map[string]string{"good.txt": "good", "bad.txt": "bad"}, tree(t, e.b))
	fs, err = e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
}

// failingPuts fails every Put of a file name.
type failingPuts struct {
	*memory.Storage
	name string
	mu   sync.Mutex
	err  error
	n    int
}

func (f *failingPuts) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	f.mu.Lock()
	err := f.err
	if name == f.name && err != nil {
		f.n++
		f.mu.Unlock()
		return storage.Entry{}, err
	}
	f.mu.Unlock()
	return f.Storage.Put(ctx, parent, name, r, size, opt)
}

func (f *failingPuts) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *failingPuts) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// observingLimiter records Observe calls and never waits.
type observingLimiter struct {
	mu  sync.Mutex
	obs []syncengine.Feedback
}

func (l *observingLimiter) Wait(ctx context.Context, key string, n int) error { return ctx.Err() }
func (l *observingLimiter) Observe(key string, fb syncengine.Feedback) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.obs = append(l.obs, fb)
}
func (l *observingLimiter) Budget(string) syncengine.Budget { return syncengine.Budget{Remaining: -1} }

func TestThrottlingDoesNotQuarantine(t *testing.T) {
	lim := &observingLimiter{}
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Budgets = []string{"sharepoint:tenant"}
		o.Limiter = lim
	})
	e.write(e.a, "a.txt", "a")
	ws := &failingPuts{Storage: e.b, name: "a.txt", err: storage.Throttled(30*time.Second, nil)}
	e.pair.B = ws
	e.restart()
	for range 6 {
		r := e.run()
		require.Equal(t, 1, r.Counts.Failed)
		e.clk.Advance(time.Minute)
	}
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.False(t, fs[0].Quarantined)
	require.Zero(t, fs[0].Attempts)
	require.Empty(t, e.ev.of(syncengine.EventItemsQuarantined))
	lim.mu.Lock()
	require.Len(t, lim.obs, 6)
	require.Equal(t, 30*time.Second, lim.obs[0].RetryAfter)
	lim.mu.Unlock()

	ws.setErr(nil)
	e.run()
	require.Equal(t, map[string]string{"a.txt": "a"}, tree(t, e.b))
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) runs() []syncengine.Run {
	runs, err := e.eng.History(e.ctx, "p1", syncengine.Page{})
	require.NoError(e.t, err)
	return runs
}

func finished(runs []syncengine.Run) int {
	n := 0
	for _, r := range runs {
		if r.Status != syncengine.RunRunning {
			n++
		}
	}
	return n
}

func TestWatcherWakesWithoutWaitingForTheInterval(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) { p.Interval, o.WakeDelay = time.Hour, -1 })
	e.write(e.a, "a.txt", "a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	// The engine's own writes wake the watchers too (echo runs find
	// nothing to do), so runs are not counted here.
	waitFor(t, "the first run", func() bool { _, err := e.b.ReadFile("a.txt"); return err == nil })

	// The clock does not move: only the watcher can start the next run.
	e.write(e.a, "b.txt", "b")
	waitFor(t, "b.txt on B", func() bool { _, err := e.b.ReadFile("b.txt"); return err == nil })

	// Wake from outside (a webhook) works the same.
	e.write(e.a, "c.txt", "c")
	e.eng.Wake("p1")
	waitFor(t, "c.txt on B", func() bool { _, err := e.b.ReadFile("c.txt"); return err == nil })

	cancel()
	require.NoError(t, <-done)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

func TestIntervalRunsThePair(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) { p.Interval, o.WakeDelay = time.Hour, -1 })
	e.pair.A = plainStorage{e.a} // no watcher
	e.restart()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	waitFor(t, "the first run", func() bool { return finished(e.runs()) >= 1 })
	e.write(e.b, "x.txt", "x") // B has a watcher: that may wake it too
	waitFor(t, "x.txt on A", func() bool { _, err := e.a.ReadFile("x.txt"); return err == nil })
	waitFor(t, "the run that copied it", func() bool { return finished(e.runs()) == 2 })
	n := finished(e.runs())
	e.write(e.a, "y.txt", "y")
	require.NoError(t, e.clk.BlockUntilContext(ctxTimeout(t), 1))
	e.clk.Advance(time.Hour)
	waitFor(t, "a run after the interval", func() bool { return finished(e.runs()) > n })
	waitFor(t, "y.txt on B", func() bool { _, err := e.b.ReadFile("y.txt"); return err == nil })
	cancel()
	require.NoError(t, <-done)
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// plainStorage hides the optional capabilities of a storage.
type plainStorage struct{ storage.Storage }

func TestGracefulShutdownCancelsRunsCleanly(t *testing.T) {
	e := newEnv(t, nil)
	for i := range 5 {
		e.write(e.a, fmt.Sprintf("f%d.txt", i), fmt.Sprint("content ", i))
	}
	started := make(chan struct{})
	var once sync.Once
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpPut {
			once.Do(func() { close(started) })
		}
		return nil
	})
	e.b.SetLatency(memory.OpPut, time.Hour) // real time: only cancellation ends it
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	<-started
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	runs := e.runs()
	require.Len(t, runs, 1)
	require.Equal(t, syncengine.RunCancelled, runs[0].Status)

	e.b.ClearFaults()
	e.restart()
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

func TestResumesAnInterruptedUpload(t *testing.T) {
	e := newEnv(t, nil)
	e.b.SetChunking(64, 16)
	data := bytes.Repeat([]byte("0123456789abcdef"), 20) // 320 bytes: 20 chunks
	e.write(e.a, "big.bin", string(data))
	ctx, cancel := context.WithCancel(context.Background())
	chunks := 0
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpUploadChunk {
			chunks++
			if chunks == 12 {
				cancel()
				return context.Canceled
			}
		}
		return nil
	})
	_, err := e.eng.RunOnce(ctx, "p1", syncengine.RunOptions{})
	require.Error(t, err)
	e.b.SetHook(nil)
	e.b.ResetCalls()

	e.restart()
	r := e.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	got, err := e.b.ReadFile("big.bin")
	require.NoError(t, err)
	require.Equal(t, data, got)
	calls := e.b.Calls()
	require.Equal(t, 1, calls[memory.OpResumeUpload], "resumed")
	require.Zero(t, calls[memory.OpPut], "not uploaded again")
	require.Less(t, calls[memory.OpUploadChunk], 20)
	e.settle()
}

func TestPauseResume(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "a.txt", "a")
	require.NoError(t, e.eng.Pause(e.ctx, "p1", "maintenance"))
	_, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrPaused)
	require.Len(t, e.ev.of(syncengine.EventPairPaused), 1)
	require.NoError(t, e.eng.Resume(e.ctx, "p1"))
	e.run()
	require.Equal(t, map[string]string{"a.txt": "a"}, tree(t, e.b))
}

func TestAddPairValidates(t *testing.T) {
	e := newEnv(t, nil)
	require.ErrorIs(t, e.eng.AddPair(e.pair), syncengine.ErrInvalidPair, "duplicate ID")
	require.ErrorIs(t, e.eng.AddPair(syncengine.Pair{ID: "x", A: e.a}), syncengine.ErrInvalidPair)
	require.ErrorIs(t, e.eng.AddPair(syncengine.Pair{A: e.a, B: e.b}), syncengine.ErrInvalidPair)
	require.ErrorIs(t, e.eng.AddPair(syncengine.Pair{ID: "y", A: e.a, B: e.b, DeleteLimit: -1}), syncengine.ErrInvalidPair)
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "z", A: e.a, B: e.b}))
	p, ok := e.eng.Pair("z")
	require.True(t, ok)
	require.Equal(t, 4, p.Concurrency)
	require.Equal(t, 5*time.Minute, p.Interval)
	require.Equal(t, 0.5, p.MassDeleteShare)
	require.Equal(t, "-", p.Replacement)
	require.Equal(t, "A", p.AName)
	_, err := e.eng.RunOnce(e.ctx, "nope", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrUnknownPair)
	_, err = syncengine.New(syncengine.Options{})
	require.Error(t, err)
}

// budgetLimiter reports a settable Remaining for every key and never waits.
type budgetLimiter struct {
	remaining atomic.Int64
	reset     time.Time
}

func (l *budgetLimiter) Wait(ctx context.Context, key string, n int) error { return ctx.Err() }
func (l *budgetLimiter) Observe(string, syncengine.Feedback)               {}
func (l *budgetLimiter) Budget(string) syncengine.Budget {
	return syncengine.Budget{Remaining: int(l.remaining.Load()), Reset: l.reset}
}

func TestSchedulerPrefersIncrementalRunsWhenTheBudgetIsLow(t *testing.T) {
	lim := &budgetLimiter{reset: epoch.Add(time.Hour)}
	lim.remaining.Store(-1)
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Budgets = []string{"procore:app:token"}
		p.Interval = time.Hour
		o.Limiter = lim
	})
	e.write(e.a, "a.txt", "a")
	e.run() // p1 is initialised
	fresh := memory.New(memory.WithClock(e.clk.Now))
	_, err := fresh.WriteFile("bulk.txt", []byte("bulk"))
	require.NoError(t, err)
	target := memory.New(memory.WithClock(e.clk.Now))
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "p2", A: fresh, B: target, Interval: time.Hour,
		Budgets: []string{"procore:app:token"}}))

	lim.remaining.Store(3) // nearly spent until the reset
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	waitFor(t, "p1's incremental run", func() bool { return finished(e.runs()) == 2 })
	require.NoError(t, e.clk.BlockUntilContext(ctxTimeout(t), 1))
	runs2, err := e.eng.History(e.ctx, "p2", syncengine.Page{})
	require.NoError(t, err)
	require.Empty(t, runs2, "the initial sync waits for the budget")

	lim.remaining.Store(-1) // the window reset
	e.clk.Advance(time.Minute)
	waitFor(t, "p2's initial sync", func() bool { _, err := target.ReadFile("bulk.txt"); return err == nil })
	cancel()
	require.NoError(t, <-done)
}

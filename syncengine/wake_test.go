package syncengine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// The scheduler's clock never moves on its own in these tests, so a run
// can only start when the test wakes the pair or advances the clock. The
// sync points are "the scheduler armed its timer for time X"
// (waitArmed) and "the pair has n finished runs" (waitRuns); waitFor only
// bounds how long a broken engine can make a test hang.

// wakeEnv is an env whose pair has no watchers (so that only the test
// wakes it), an interval of an hour and a WakeDelay of 2 s, and whose
// engine runs its scheduler until the test ends.
func wakeEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) { p.Interval, o.WakeDelay = time.Hour, 2*time.Second })
	e.pair.A, e.pair.B = plainStorage{e.a}, plainStorage{e.b}
	e.restart()
	return e
}

// start runs the scheduler until the returned stop is called (also at the
// end of the test); stop returns Run's error.
func (e *env) start() (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				e.t.Error("Run did not return after cancellation")
			}
		})
		return err
	}
	e.t.Cleanup(func() { _ = stop() })
	return stop
}

// history returns the runs of a pair, oldest first.
func (e *env) history(pairID string) []syncengine.Run {
	e.t.Helper()
	runs, err := e.eng.History(e.ctx, pairID, syncengine.Page{})
	require.NoError(e.t, err)
	out := make([]syncengine.Run, 0, len(runs))
	for i := len(runs) - 1; i >= 0; i-- {
		out = append(out, runs[i])
	}
	return out
}

// waitRuns waits until the pair has n finished runs and returns its runs.
func (e *env) waitRuns(pairID string, n int) []syncengine.Run {
	e.t.Helper()
	waitFor(e.t, fmt.Sprintf("%d finished runs of %s", n, pairID), func() bool {
		return finished(e.history(pairID)) >= n
	})
	runs := e.history(pairID)
	require.Equal(e.t, n, finished(runs), "finished runs of %s", pairID)
	return runs
}

// waitArmed waits until the earliest pending timer of the clock is at.
func (e *env) waitArmed(at time.Time) {
	e.t.Helper()
	waitFor(e.t, "a timer at "+at.Format(time.TimeOnly), func() bool {
		next, ok := e.clk.Next()
		return ok && next.Equal(at)
	})
}

// blockFirstPut makes the first Put on s block until release is closed;
// started is closed when it begins.
func blockFirstPut(s *memory.Storage) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.SetHook(func(op memory.Op) error {
		if op != memory.OpPut {
			return nil
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(started)
			<-release
		}
		return nil
	})
	return started, release
}

func TestWakeBurstDuringAndAfterARunGivesOneFollowUpRun(t *testing.T) {
	e := wakeEnv(t)
	e.write(e.a, "a.txt", "a")
	started, release := blockFirstPut(e.b)
	e.start()

	<-started // the initial run is copying a.txt
	e.clk.Advance(10 * time.Second)
	for range 25 {
		e.eng.Wake("p1")
	}
	e.write(e.a, "b.txt", "b") // the change the wake-ups announce
	close(release)
	runs := e.waitRuns("p1", 1)
	end := runs[0].Ended
	require.Equal(t, epoch.Add(10*time.Second), end)
	for range 25 {
		e.eng.Wake("p1") // right after the run: within WakeDelay
	}

	// One follow-up run is scheduled, WakeDelay after the run's end.
	e.waitArmed(end.Add(2 * time.Second))
	require.Equal(t, 1, finished(e.history("p1")))
	_, err := e.b.ReadFile("b.txt")
	require.Error(t, err, "not synced before the follow-up run")
	e.clk.Advance(2*time.Second - time.Nanosecond)
	require.Len(t, e.history("p1"), 1)

	e.clk.Advance(time.Nanosecond)
	runs = e.waitRuns("p1", 2)
	require.Equal(t, end.Add(2*time.Second), runs[1].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))

	// Then the scheduler waits for the interval only: no wake-up is left.
	e.waitArmed(runs[1].Ended.Add(time.Hour))
	require.Len(t, e.history("p1"), 2)
}

func TestWakeAfterAQuietPeriodRunsAtOnce(t *testing.T) {
	e := wakeEnv(t)
	e.write(e.a, "a.txt", "a")
	e.start()
	runs := e.waitRuns("p1", 1)
	e.waitArmed(runs[0].Ended.Add(time.Hour))

	// Exactly WakeDelay after the end is quiet enough.
	e.clk.Advance(2 * time.Second)
	e.write(e.a, "b.txt", "b")
	e.eng.Wake("p1") // the clock does not move: only an immediate run syncs it
	runs = e.waitRuns("p1", 2)
	require.Equal(t, epoch.Add(2*time.Second), runs[1].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))

	e.clk.Advance(time.Minute)
	e.write(e.a, "c.txt", "c")
	e.eng.Wake("p1")
	runs = e.waitRuns("p1", 3)
	require.Equal(t, epoch.Add(time.Minute+2*time.Second), runs[2].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

func TestWakeAfterARunOnceIsCoalesced(t *testing.T) {
	e := wakeEnv(t)
	e.write(e.a, "a.txt", "a")
	e.start()
	runs := e.waitRuns("p1", 1)
	e.waitArmed(runs[0].Ended.Add(time.Hour))

	// A manual run spends API calls too: a wake-up right after it waits.
	e.clk.Advance(5 * time.Second)
	e.write(e.a, "b.txt", "b")
	e.run()
	e.write(e.a, "c.txt", "c")
	e.eng.Wake("p1")
	e.waitArmed(epoch.Add(7 * time.Second))
	require.Len(t, e.history("p1"), 2)
	e.clk.Advance(2 * time.Second)
	runs = e.waitRuns("p1", 3)
	require.Equal(t, epoch.Add(7*time.Second), runs[2].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

func TestWakeCoalescingIsPerPair(t *testing.T) {
	e := wakeEnv(t)
	a2, b2 := memory.New(memory.WithClock(e.clk.Now)), memory.New(memory.WithClock(e.clk.Now))
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "p2", A: plainStorage{a2}, B: plainStorage{b2},
		Interval: time.Hour, Initial: syncengine.InitialMerge}))
	e.write(e.a, "a.txt", "a")
	e.write(a2, "x.txt", "x")
	e.start()
	e.waitRuns("p1", 1)
	e.waitRuns("p2", 1)
	e.waitArmed(epoch.Add(time.Hour))

	e.clk.Advance(5 * time.Second)
	e.eng.Wake("p1") // quiet for 5 s: runs at once
	r1 := e.waitRuns("p1", 2)
	require.Equal(t, epoch.Add(5*time.Second), r1[1].Started)

	// p1 ran just now, p2 not for 5 s: p1's wake-up waits, p2's does not.
	e.write(e.a, "b.txt", "b")
	e.write(a2, "y.txt", "y")
	e.eng.Wake("p1")
	e.eng.Wake("p2")
	r2 := e.waitRuns("p2", 2)
	require.Equal(t, epoch.Add(5*time.Second), r2[1].Started)
	require.Equal(t, tree(t, a2), tree(t, b2))
	e.waitArmed(epoch.Add(7 * time.Second))
	require.Len(t, e.history("p1"), 2)

	e.clk.Advance(2 * time.Second)
	r1 = e.waitRuns("p1", 3)
	require.Equal(t, epoch.Add(7*time.Second), r1[2].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	require.Len(t, e.history("p2"), 2)
}

// signalStorage is a storage.Watcher whose signals the test sends.
type signalStorage struct {
	storage.Storage
	signals chan struct{}
}

func (s signalStorage) Watch(ctx context.Context) (<-chan struct{}, error) {
	out := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.signals:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func TestWatcherWakeUpsAreCoalescedLikeWake(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) { p.Interval, o.WakeDelay = time.Hour, 2*time.Second })
	w := signalStorage{Storage: plainStorage{e.a}, signals: make(chan struct{})}
	e.pair.A, e.pair.B = w, plainStorage{e.b}
	e.restart()
	e.write(e.a, "a.txt", "a")
	e.start()
	runs := e.waitRuns("p1", 1)
	e.waitArmed(runs[0].Ended.Add(time.Hour))

	// After a quiet period a signal runs the pair at once.
	e.clk.Advance(3 * time.Second)
	e.write(e.a, "b.txt", "b")
	w.signals <- struct{}{}
	runs = e.waitRuns("p1", 2)
	require.Equal(t, epoch.Add(3*time.Second), runs[1].Started)
	_, err := e.b.ReadFile("b.txt")
	require.NoError(t, err)

	// A burst right after it gives one run, WakeDelay after its end.
	e.write(e.a, "c.txt", "c")
	for range 50 {
		w.signals <- struct{}{}
	}
	e.waitArmed(epoch.Add(5 * time.Second))
	require.Len(t, e.history("p1"), 2)
	e.clk.Advance(2 * time.Second)
	runs = e.waitRuns("p1", 3)
	require.Equal(t, epoch.Add(5*time.Second), runs[2].Started)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	// (A signal still on its way is due at 7 s, which the clock never
	// reaches: the count stays 3.)
	require.Len(t, e.history("p1"), 3)
}

func TestShutdownIsPromptWithWakeUpsPending(t *testing.T) {
	t.Run("idle with a coalesced run pending", func(t *testing.T) {
		e := wakeEnv(t)
		e.write(e.a, "a.txt", "a")
		stop := e.start()
		runs := e.waitRuns("p1", 1)
		for range 50 {
			e.eng.Wake("p1")
		}
		e.waitArmed(runs[0].Ended.Add(2 * time.Second))
		require.NoError(t, stop())
		require.Len(t, e.history("p1"), 1)
	})
	t.Run("run in progress with wake-ups during it", func(t *testing.T) {
		e := wakeEnv(t)
		e.write(e.a, "a.txt", "a")
		started := make(chan struct{})
		var once sync.Once
		e.b.SetHook(func(op memory.Op) error {
			if op == memory.OpPut {
				once.Do(func() { close(started) })
			}
			return nil
		})
		e.b.SetLatency(memory.OpPut, time.Hour) // real time: only cancellation ends the run
		stop := e.start()
		<-started
		for range 50 {
			e.eng.Wake("p1")
		}
		require.NoError(t, stop())
		runs := e.history("p1")
		require.Len(t, runs, 1)
		require.Equal(t, syncengine.RunCancelled, runs[0].Status)
	})
}

func TestWakeDelayOption(t *testing.T) {
	e := newEnv(t, func(_ *syncengine.Pair, o *syncengine.Options) { o.WakeDelay = -1 })
	e.pair.A, e.pair.B = plainStorage{e.a}, plainStorage{e.b}
	e.pair.Interval = time.Hour
	e.restart()
	e.write(e.a, "a.txt", "a")
	e.start()
	e.waitRuns("p1", 1)
	// Coalescing is off: a wake-up right after a run runs the pair again
	// without the clock moving.
	e.write(e.a, "b.txt", "b")
	e.eng.Wake("p1")
	e.waitRuns("p1", 2)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

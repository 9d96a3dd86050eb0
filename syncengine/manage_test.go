package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// managed is a pair of the management tests: two memory storages (with
// watchers, so that writes wake the pair).
type managed struct {
	id   string
	a, b *memory.Storage
}

func (e *env) addManaged(t *testing.T, id string, tweak func(p *syncengine.Pair)) managed {
	t.Helper()
	m := managed{id: id, a: memory.New(memory.WithClock(e.clk.Now)), b: memory.New(memory.WithClock(e.clk.Now))}
	p := syncengine.Pair{ID: id, A: m.a, B: m.b, Initial: syncengine.InitialMerge, Interval: time.Hour}
	if tweak != nil {
		tweak(&p)
	}
	require.NoError(t, e.eng.AddPair(p))
	return m
}

func (e *env) storeRuns(t *testing.T, id string) []syncengine.Run {
	t.Helper()
	runs, err := e.store.Runs(e.ctx, id, syncengine.Page{})
	require.NoError(t, err)
	return runs
}

func onB(t *testing.T, m managed, p, want string) {
	t.Helper()
	waitFor(t, m.id+": "+p+" on B", func() bool { b, err := m.b.ReadFile(p); return err == nil && string(b) == want })
}

// load writes files into the A sides of pairs until stop is closed.
func load(t *testing.T, e *env, ms []managed, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Millisecond):
				}
				_, err := m.a.WriteFile(fmt.Sprintf("load/%d.txt", i%20), []byte(fmt.Sprint("load ", i)))
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	return &wg
}

// AddPair, UpdatePair and RemovePair while Run schedules several pairs
// that are busy syncing.
func TestManagePairsWhileRunning(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Interval, o.WakeDelay, o.MaxConcurrentPairs = time.Hour, -1, 3
		o.MaxAttempts = 1000 // files rewritten during their copy fail and are retried, never quarantined
	})
	var busy []managed
	for i := range 4 {
		busy = append(busy, e.addManaged(t, fmt.Sprint("busy", i), nil))
	}
	e.start()
	stop := make(chan struct{})
	wg := load(t, e, busy, stop)
	defer func() { close(stop); wg.Wait() }()

	t.Run("AddPair schedules the new pair", func(t *testing.T) {
		m := e.addManaged(t, "added", nil)
		m.a.WriteFile("x.txt", []byte("x"))
		onB(t, m, "x.txt", "x")
	})

	t.Run("UpdatePair keeps the state and applies from the next run", func(t *testing.T) {
		m := e.addManaged(t, "updated", nil)
		m.a.WriteFile("keep.txt", []byte("keep"))
		onB(t, m, "keep.txt", "keep")
		before := len(e.storeRuns(t, m.id))
		// New options and new storage values (same folders).
		require.NoError(t, e.eng.UpdatePair(syncengine.Pair{ID: m.id, A: plainStorage{m.a}, B: m.b,
			Initial: syncengine.InitialMerge, Interval: time.Hour, Filter: syncengine.Filter{Exclude: []string{"*.tmp"}}}))
		got, ok := e.eng.Pair(m.id)
		require.True(t, ok)
		require.Equal(t, []string{"*.tmp"}, got.Filter.Exclude)
		// The new options apply from the next run: a run that took the old
		// ones before UpdatePair (B's watcher, after keep.txt) ends first.
		// RunOnce waits for it (runs of a pair never overlap) and runs once
		// with the new options.
		_, err := e.eng.RunOnce(e.ctx, m.id, syncengine.RunOptions{})
		require.NoError(t, err)
		m.a.WriteFile("new.txt", []byte("new"))
		m.a.WriteFile("scratch.tmp", []byte("tmp"))
		e.eng.Wake(m.id) // A no longer has a watcher; B's watcher runs again
		onB(t, m, "new.txt", "new")
		_, err = m.b.ReadFile("scratch.tmp")
		require.Error(t, err, "the new filter applies")
		runs := e.storeRuns(t, m.id)
		require.Greater(t, len(runs), before, "history kept")
		require.False(t, runs[0].Initial, "not an initial sync again")
		for _, r := range runs[:len(runs)-before] {
			require.LessOrEqual(t, r.Counts.FilesCopied, 1, "keep.txt is not copied again")
		}
		require.ErrorIs(t, e.eng.UpdatePair(syncengine.Pair{ID: "nope", A: m.a, B: m.b}), syncengine.ErrUnknownPair)
		require.ErrorIs(t, e.eng.UpdatePair(syncengine.Pair{ID: m.id, A: m.a}), syncengine.ErrInvalidPair)
	})

	t.Run("RemovePair waits for the run in progress", func(t *testing.T) {
		m := e.addManaged(t, "removed-waits", nil)
		for i := range 10 {
			m.a.WriteFile(fmt.Sprintf("f%d.txt", i), []byte("f"))
		}
		m.b.SetLatency(memory.OpPut, 30*time.Millisecond)
		waitFor(t, "a run in progress", func() bool {
			runs := e.storeRuns(t, m.id)
			return len(runs) > 0 && runs[0].Status == syncengine.RunRunning
		})
		require.NoError(t, e.eng.RemovePair(e.ctx, m.id, syncengine.RemoveOptions{Grace: 24 * time.Hour}))
		runs := e.storeRuns(t, m.id)
		require.Equal(t, syncengine.RunSucceeded, runs[0].Status, "ended on its own within the grace period")
		n := len(runs)
		_, err := e.eng.RunOnce(e.ctx, m.id, syncengine.RunOptions{})
		require.ErrorIs(t, err, syncengine.ErrUnknownPair)
		m.a.WriteFile("after.txt", []byte("after"))
		e.eng.Wake(m.id)
		time.Sleep(100 * time.Millisecond)
		require.Len(t, e.storeRuns(t, m.id), n, "no run after the removal")
		_, err = m.b.ReadFile("after.txt")
		require.Error(t, err)
		require.NotContains(t, e.eng.Pairs(), m.id)
	})

	t.Run("RemovePair cancels after the grace period and keeps the state", func(t *testing.T) {
		m := e.addManaged(t, "removed-cancelled", nil)
		m.a.WriteFile("first.txt", []byte("first"))
		onB(t, m, "first.txt", "first")
		for i := range 50 {
			m.a.WriteFile(fmt.Sprintf("slow%d.txt", i), []byte("slow"))
		}
		m.b.SetLatency(memory.OpPut, 200*time.Millisecond)
		e.eng.Wake(m.id)
		// The run copying the slow files (not one that began before they
		// were written and ends at once): one of them is on B already.
		waitFor(t, "a run in progress copying the slow files", func() bool {
			runs := e.storeRuns(t, m.id)
			if len(runs) < 2 || runs[0].Status != syncengine.RunRunning {
				return false
			}
			for i := range 50 {
				if _, err := m.b.ReadFile(fmt.Sprintf("slow%d.txt", i)); err == nil {
					return true
				}
			}
			return false
		})
		require.NoError(t, e.eng.RemovePair(e.ctx, m.id, syncengine.RemoveOptions{Grace: -1}))
		runs := e.storeRuns(t, m.id)
		require.Equal(t, syncengine.RunCancelled, runs[0].Status)
		n, err := e.store.CountItems(e.ctx, m.id)
		require.NoError(t, err)
		require.Positive(t, n, "baseline kept")

		// Added again under the same ID: it carries on (no initial sync).
		m.b.SetLatency(memory.OpPut, 0)
		require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: m.id, A: m.a, B: m.b, Initial: syncengine.InitialMerge, Interval: time.Hour}))
		onB(t, m, "slow49.txt", "slow")
		waitFor(t, "a finished run", func() bool {
			r := e.storeRuns(t, m.id)
			return r[0].Status != syncengine.RunRunning && len(r) > len(runs)
		})
		require.False(t, e.storeRuns(t, m.id)[0].Initial)
	})

	t.Run("RemovePair with ForgetState", func(t *testing.T) {
		m := e.addManaged(t, "forgotten", nil)
		m.a.WriteFile("x.txt", []byte("x"))
		onB(t, m, "x.txt", "x")
		require.NoError(t, e.eng.RemovePair(e.ctx, m.id, syncengine.RemoveOptions{ForgetState: true}))
		n, err := e.store.CountItems(e.ctx, m.id)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Empty(t, e.storeRuns(t, m.id))
		ps, err := e.store.LoadPair(e.ctx, m.id)
		require.NoError(t, err)
		require.False(t, ps.Initialized)
		require.ErrorIs(t, e.eng.RemovePair(e.ctx, m.id, syncengine.RemoveOptions{}), syncengine.ErrUnknownPair)
	})

	// The busy pairs kept syncing throughout.
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	wg = &sync.WaitGroup{}
	for _, m := range busy {
		e.eng.Wake(m.id)
		defer func() {
			if t.Failed() {
				r := e.storeRuns(t, m.id)[0]
				t.Logf("%s: last run %s %+v %s; A %v B %v", m.id, r.Status, r.Counts, r.Undone, tree(t, m.a), tree(t, m.b))
			}
		}()
		waitFor(t, m.id+" converged", func() bool {
			ta, tb := tree(t, m.a), tree(t, m.b)
			same := len(ta) == len(tb)
			for k, v := range ta {
				same = same && tb[k] == v
			}
			if !same {
				// Files rewritten while they were copied failed and
				// wait for their retry time: let it come.
				e.clk.Advance(2 * time.Hour)
				e.eng.Wake(m.id)
			}
			return same
		})
	}
}

// RemovePair with ForgetState on a store that cannot forget removes the
// pair and says the state is kept.
func TestRemovePairForgetUnsupported(t *testing.T) {
	e := newEnv(t, nil)
	e.opts.Store = noForget{e.store}
	e.restart()
	e.write(e.a, "a.txt", "a")
	e.run()
	err := e.eng.RemovePair(e.ctx, "p1", syncengine.RemoveOptions{ForgetState: true})
	require.ErrorIs(t, err, syncengine.ErrCannotForget)
	require.True(t, errors.Is(err, errors.ErrUnsupported))
	n, err := e.store.CountItems(e.ctx, "p1")
	require.NoError(t, err)
	require.Positive(t, n)
	_, err = e.eng.RunOnce(context.Background(), "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrUnknownPair)
}

// noForget hides the store's ForgetPair.
type noForget struct{ syncengine.MetadataStore }

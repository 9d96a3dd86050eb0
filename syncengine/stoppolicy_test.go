package syncengine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// plainStore hides the optional roles of a store: only MetadataStore.
type plainStore struct{ syncengine.MetadataStore }

// audit returns the store's audit entries f selects.
func (e *env) audit(f syncengine.AuditFilter) []syncengine.AuditEntry {
	e.t.Helper()
	got, err := e.eng.AuditLog(e.ctx, f)
	require.NoError(e.t, err)
	return got
}

func (e *env) stopCounts() syncengine.StopCounts {
	e.t.Helper()
	c, err := e.eng.StopCounts(e.ctx, e.pair.ID)
	require.NoError(e.t, err)
	return c
}

// A pair that stops after 2 successful runs is paused after its second,
// notified and audited; the counters survive a restart; Resume starts
// them again.
func TestStopPolicyAfterSuccesses(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.Stop = syncengine.StopPolicy{AfterSuccesses: 2}
	})
	e.write(e.a, "a.txt", "a")
	require.Equal(t, syncengine.RunSucceeded, e.run().Status)
	require.Equal(t, syncengine.StopCounts{Runs: 1, Successes: 1, LastRunID: 1}, e.stopCounts())

	e.restart() // the counters are in the store
	e.write(e.a, "b.txt", "b")
	r := e.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status, "the run that reaches the limit completes")
	require.Equal(t, map[string]string{"a.txt": "a", "b.txt": "b"}, tree(t, e.b))

	evs := e.ev.of(syncengine.EventPairPaused)
	require.Len(t, evs, 1)
	require.Equal(t, "Sync of Tower 3 / Documents paused: stop policy: stopped after 2 successful runs", evs[0].Message)
	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.True(t, st.Paused)
	_, err = e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrPaused)
	require.Equal(t, 2, e.stopCounts().Runs, "a run refused because the pair is paused does not count")

	fired := e.audit(syncengine.AuditFilter{Kinds: []syncengine.AuditKind{syncengine.AuditStopPolicyFired}})
	require.Len(t, fired, 1)
	require.Equal(t, syncengine.SystemActor, fired[0].Actor)
	require.Equal(t, "p1", fired[0].PairID)
	require.Equal(t, epoch, fired[0].Time)
	require.Equal(t, map[string]string{"reason": "stopped after 2 successful runs", "run": "2", "status": "succeeded",
		"runs": "2", "successes": "2", "failures": "0", "consecutive_failures": "0"}, fired[0].Details)

	// Resumed (after a restart: the pause is in the store), it runs again
	// and counts from zero.
	e.restart()
	require.NoError(t, e.eng.Resume(syncengine.WithActor(e.ctx, "alice@example.com"), "p1"))
	require.Zero(t, e.stopCounts())
	resumed := e.audit(syncengine.AuditFilter{Kinds: []syncengine.AuditKind{syncengine.AuditPairResumed}})
	require.Len(t, resumed, 1)
	require.Equal(t, "alice@example.com", resumed[0].Actor)
	require.Equal(t, "stop policy: stopped after 2 successful runs", resumed[0].Details["paused_for"])
	e.write(e.a, "c.txt", "c")
	e.run()
	require.Equal(t, 1, e.stopCounts().Successes)
	st, err = e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.False(t, st.Paused)
}

// Failures stop a pair in total or in a row; a success ends a streak.
func TestStopPolicyAfterFailures(t *testing.T) {
	boom := func(memory.Op) error { return errors.New("listing refused: 503") }
	for _, tc := range []struct {
		name     string
		policy   syncengine.StopPolicy
		outcomes []bool // true: the run fails
		pausedAt int    // index of the run after which the pair is paused (-1: never)
	}{
		{"consecutive", syncengine.StopPolicy{AfterConsecutiveFailures: 2}, []bool{true, false, true, false, true, true}, 5},
		{"total", syncengine.StopPolicy{AfterFailures: 3}, []bool{true, false, true, false, true}, 4},
		{"executions", syncengine.StopPolicy{AfterRuns: 3}, []bool{true, false, true}, 2},
		{"not reached", syncengine.StopPolicy{AfterConsecutiveFailures: 2, AfterRuns: 10}, []bool{true, false, true, false}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Stop = tc.policy })
			for i, fail := range tc.outcomes {
				if fail {
					e.a.SetHook(boom)
				}
				r, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
				e.a.SetHook(nil)
				if fail {
					require.Error(t, err)
					require.Equal(t, syncengine.RunFailed, r.Status)
				} else {
					require.NoError(t, err)
					require.Equal(t, syncengine.RunSucceeded, r.Status)
				}
				paused := len(e.ev.of(syncengine.EventPairPaused)) > 0
				require.Equal(t, i >= tc.pausedAt && tc.pausedAt >= 0, paused, "after run %d", i)
				if paused {
					break
				}
			}
			fired := e.audit(syncengine.AuditFilter{PairID: "p1", Kinds: []syncengine.AuditKind{syncengine.AuditStopPolicyFired}})
			if tc.pausedAt < 0 {
				require.Empty(t, fired)
				return
			}
			require.Len(t, fired, 1)
			_, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
			require.ErrorIs(t, err, syncengine.ErrPaused)
		})
	}
}

// A run cancelled (a shutdown) does not count.
func TestStopPolicyCancelledRunDoesNotCount(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Stop = syncengine.StopPolicy{AfterRuns: 1} })
	for i := range 20 {
		e.write(e.a, "f"+string(rune('a'+i))+".txt", "x")
	}
	e.crashAt(5)
	require.Zero(t, e.stopCounts().Runs)
	require.Empty(t, e.ev.of(syncengine.EventPairPaused))
	e.run()
	require.Equal(t, 1, e.stopCounts().Runs)
	require.Len(t, e.ev.of(syncengine.EventPairPaused), 1)
}

func TestStopPolicyValidation(t *testing.T) {
	e := newEnv(t, nil)
	bad := e.pair
	bad.ID, bad.Stop = "neg", syncengine.StopPolicy{AfterFailures: -1}
	require.ErrorIs(t, e.eng.AddPair(bad), syncengine.ErrInvalidPair)

	// A store that cannot keep the counters refuses a policy, not a pair
	// without one.
	opts := e.opts
	opts.Store = plainStore{e.store}
	eng, err := syncengine.New(opts)
	require.NoError(t, err)
	p := e.pair
	p.Stop = syncengine.StopPolicy{AfterRuns: 1}
	require.ErrorIs(t, eng.AddPair(p), syncengine.ErrInvalidPair)
	p.Stop = syncengine.StopPolicy{}
	require.NoError(t, eng.AddPair(p))
	p.Stop = syncengine.StopPolicy{AfterRuns: 1}
	require.ErrorIs(t, eng.UpdatePair(p), syncengine.ErrInvalidPair)
	c, err := eng.StopCounts(context.Background(), "p1")
	require.NoError(t, err)
	require.Zero(t, c)
}

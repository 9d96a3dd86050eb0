package syncengine_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

// Consecutive moves are journalled together and run one after the other,
// each on the paths the moves before it left (a file renamed inside a
// folder that was renamed first, a folder moved into a folder that was
// moved itself). A crash at any storage call of such a run, before or
// after the call takes effect, leaves journalled moves done, half done or
// never started; after a restart the sides converge on the person's
// changes, with every file once and a baseline that matches both sides.
func TestCrashDuringDependentMovesConverges(t *testing.T) {
	files := map[string]string{"X/f.txt": "f", "X/sub/g.txt": "g", "a.txt": "a", "b.txt": "b",
		"P/q.txt": "q", "R/r.txt": "r", "S/s.txt": "s"}
	synced := func(t *testing.T) *env {
		e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Concurrency = 1 })
		for p, c := range files {
			e.write(e.a, p, c)
		}
		e.run()
		require.Equal(t, tree(t, e.a), tree(t, e.b))
		// The person's changes on A.
		for _, m := range [][2]string{
			{"X", "Y"},               // a folder renamed,
			{"Y/f.txt", "Y/h.txt"},   // a file renamed inside it,
			{"Y/sub", "Y/sub2"},      // a folder inside it renamed,
			{"P", "R/P"},             // a folder moved into another,
			{"R", "S/R"},             // which then moves too,
			{"a.txt", "tmp.txt"},     // and two files swap names.
			{"b.txt", "a.txt"},       //
			{"tmp.txt", "b.txt"},     //
			{"S/s.txt", "S/R/s.txt"}, // a file moved into a moved folder
		} {
			_, err := e.a.Rename(m[0], m[1])
			require.NoError(t, err, "%s → %s", m[0], m[1])
		}
		return e
	}
	probe := synced(t)
	before := calls(probe)
	r := probe.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	require.NotZero(t, r.Counts.Moved)
	want := tree(t, probe.a)
	require.Equal(t, want, tree(t, probe.b))
	total := calls(probe) - before
	require.Greater(t, total, 5)

	for _, after := range []bool{false, true} {
		for k := 1; k <= total; k += raceStep {
			t.Run(fmt.Sprintf("took effect %v/crash at call %d", after, k), func(t *testing.T) {
				e := synced(t)
				e.runCrashingAt(k, after)
				e.restart()
				// One run converges: nothing waits for a retry backoff.
				e.run()
				plan, err := e.eng.DryRun(e.ctx, e.pair.ID)
				require.NoError(t, err)
				require.Empty(t, plan.Actions, "%s", plan)
				require.Equal(t, want, tree(t, e.a))
				require.Equal(t, want, tree(t, e.b))
				requireBaselineTrue(t, e)
			})
		}
	}
}

package syncengine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A folder moved on B while, on A, a person renames it right after A was
// listed (the run sees it under its old name) and a new folder inside it
// syncs: whatever the run does when it finds the folder elsewhere than
// the plan expected (move it anyway, or not and plan again), the baseline
// records only where items really are: a folder created on B for A's new
// folder records A's real path, never the path a Move that was not done
// would have given it.
func TestFolderMovedDuringTheRunKeepsTheBaselineTrue(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "y/f.txt", "f")
	e.run()
	e.clk.Advance(time.Minute)
	_, err := e.b.Rename("y", "z2")
	require.NoError(t, err)
	_, err = e.a.Mkdirs("y/y")
	require.NoError(t, err)
	e.clk.Advance(time.Minute)
	pa := newPaged(e.a, 10)
	e.pair.A = pa
	e.restart()
	pa.between = once(func(page int) bool { return page == 1 }, func() {
		_, err := e.a.Rename("y", "z3")
		require.NoError(t, err)
	})
	e.run()
	pa.between = nil
	requireBaselineTrue(t, e)
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	requireBaselineTrue(t, e)
}

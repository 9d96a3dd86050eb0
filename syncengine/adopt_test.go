package syncengine_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
)

// A folder x new on A and a folder y/x new on B: the plan makes x on B
// and y/x on A. A person on B moves y/x to x after the engine read B and
// before it makes x there, so the Mkdir finds a folder at x. That folder
// is B's y/x, which the same plan makes on A: it must not be adopted as
// A's x too, which would record B's one folder for two items and leave
// A's x unsynced for good. The Mkdir is not done; the run reads the sides
// again and syncs the two folders as the two items they are, each under
// its own name on its own side.
func TestFolderMovedOntoAPlannedMkdirIsNotAdoptedTwice(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.a.Mkdirs("y")
	require.NoError(t, err)
	e.run()
	e.run() // the change feeds move past the first run's own writes
	xa, err := e.a.Mkdirs("x")
	require.NoError(t, err)
	xb, err := e.b.Mkdirs("y/x")
	require.NoError(t, err)
	var once sync.Once
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpMakeDir {
			once.Do(func() {
				_, err := e.b.Rename("y/x", "x")
				require.NoError(t, err)
			})
		}
		return nil
	})
	e.run()
	e.b.SetHook(nil)
	e.settle()
	ta, tb := tree(t, e.a), tree(t, e.b)
	require.Len(t, ta, 3, "A: %v", ta)
	require.Equal(t, ta, tb)
	requireBaselineTrue(t, e)
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
	require.Equal(t, "/", ta["x"])
	require.Equal(t, "/", ta["y"])
	// Each side keeps its own folder at x; the other side's is beside it.
	got, err := e.a.Stat(e.ctx, "x")
	require.NoError(t, err)
	require.Equal(t, xa.ID, got.ID)
	got, err = e.b.Stat(e.ctx, "x")
	require.NoError(t, err)
	require.Equal(t, xb.ID, got.ID)
	ids := map[string]bool{}
	n := 0
	for it, err := range e.store.Items(e.ctx, e.pair.ID) {
		require.NoError(t, err)
		n++
		ids[it.B.ID] = true
	}
	require.Equal(t, 3, n, "every folder in the baseline once")
	require.Len(t, ids, 3, "no folder of B recorded for two items")
}

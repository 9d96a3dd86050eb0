package syncengine_test

import (
	"errors"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// folderRecordsSharingX sets up the scenario of the tests below: files
// x/a.txt and w/f.txt (and each of more, holding its base name's first
// letter) synced; then folder x renamed to z2 on A and to y on B while w
// takes the name x on both sides, and the run that would bring x's two
// new names together fails on its Move (a partial run), so that the
// baseline records two folders at x on both sides.
func folderRecordsSharingX(t *testing.T, more ...string) *env {
	t.Helper()
	e := newEnv(t, nil)
	e.write(e.a, "x/a.txt", "a")
	e.write(e.a, "w/f.txt", "f")
	for _, p := range more {
		e.write(e.a, p, path.Base(p)[:1])
	}
	e.run()
	require.Equal(t, tree(t, e.a), tree(t, e.b))

	for _, mv := range []struct {
		s        *memory.Storage
		from, to string
	}{{e.a, "x", "z2"}, {e.a, "w", "x"}, {e.b, "x", "y"}, {e.b, "w", "x"}} {
		_, err := mv.s.Rename(mv.from, mv.to)
		require.NoError(t, err)
	}
	injected := errors.New("injected: 503 service unavailable")
	e.a.FailNext(memory.OpMove, 1, injected)
	e.b.FailNext(memory.OpMove, 1, injected)
	r := e.run()
	e.a.ClearFaults()
	e.b.ClearFaults()
	require.Equal(t, syncengine.RunPartial, r.Status)
	return e
}

// requireRetrySettles runs e's pair once more (from the change feeds)
// and requires it to succeed with both sides holding want and a true
// baseline, before and after settling.
func requireRetrySettles(t *testing.T, e *env, want map[string]string) {
	t.Helper()
	r := e.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	requireBaselineTrue(t, e)
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
	e.settle()
	requireBaselineTrue(t, e)
}

// Folder x renamed differently on each side (z2 on A, y on B) while
// folder w takes its old name x on both sides. The first run records w at
// x, and its file below it; the Move that would bring x's two new names
// together fails, so the baseline still records the old folder at x too,
// on both sides. When that Move succeeds, only the old folder's own
// records follow it: w's file stays at x/f.txt, where it is on both sides.
func TestFolderMoveLeavesAnotherFoldersItemsAtTheSamePath(t *testing.T) {
	e := folderRecordsSharingX(t)
	for _, s := range []syncengine.Side{syncengine.SideA, syncengine.SideB} {
		n := 0
		for it, err := range e.store.Items(e.ctx, e.pair.ID) {
			require.NoError(t, err)
			if it.IsDir && it.Side(s).Path == "x" {
				n++
			}
		}
		require.Equal(t, 2, n, "folder records at x on %s", s)
	}

	// The retry, in a full reconciliation.
	e.clk.Advance(2 * time.Hour)
	r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	requireBaselineTrue(t, e)
	want := map[string]string{"x": "/", "x/f.txt": "f", "z2": "/", "z2/a.txt": "a"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
	e.settle()
	requireBaselineTrue(t, e)
}

// As above, but the retry reads the change feeds: the old folder's move is
// observed (x to z2 on A), while w, recorded at x as well, is unchanged and
// not re-read, and neither is its file on A. The file does not follow the
// old folder's move: the baseline goes on recording it at x/f.txt, where
// it is, and nothing is planned against z2/f.txt.
func TestFolderMoveFromFeedLeavesAnotherFoldersUnchangedItemsAtTheSamePath(t *testing.T) {
	e := folderRecordsSharingX(t)

	// The retry, from the change feeds.
	e.clk.Advance(2 * time.Hour)
	plan, err := e.eng.DryRun(e.ctx, e.pair.ID)
	require.NoError(t, err)
	for _, a := range plan.Actions {
		require.NotEqual(t, "z2/f.txt", a.Path, "planned: %s", plan)
		require.NotEqual(t, "z2/f.txt", a.Target.Path, "planned: %s", plan)
	}
	requireRetrySettles(t, e, map[string]string{"x": "/", "x/f.txt": "f", "z2": "/", "z2/a.txt": "a"})
}

// As above, with w's file moved on B (into v) before the retry: the Move
// that brings it there on A takes it from x/f.txt, where it is on A, not
// from below the old folder's new name.
func TestFileMovedOutOfAFolderSharingAMovedFoldersPathMovesFromWhereItIs(t *testing.T) {
	e := folderRecordsSharingX(t, "v/k.txt")
	_, err := e.b.Rename("x/f.txt", "v/f.txt")
	require.NoError(t, err)

	// The retry, from the change feeds.
	e.clk.Advance(2 * time.Hour)
	plan, err := e.eng.DryRun(e.ctx, e.pair.ID)
	require.NoError(t, err)
	var moved bool
	for _, a := range plan.Actions {
		if a.Kind == syncengine.ActionMove && a.Side == syncengine.SideA && a.Path == "v/f.txt" {
			moved = true
			require.Equal(t, "x/f.txt", a.Target.Path, "planned: %s", plan)
		}
	}
	require.True(t, moved, "planned: %s", plan)
	requireRetrySettles(t, e, map[string]string{"v": "/", "v/f.txt": "f", "v/k.txt": "k", "x": "/", "z2": "/", "z2/a.txt": "a"})
}

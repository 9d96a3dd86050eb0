package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// A folder moved on both sides: on A into a new folder x, on B to x itself.
// B's x holds the moved folder, so A's new x is made on B under a
// disambiguated name, and the moved folder, whose folder on B is only made
// in that run, is skipped: the baseline still has it at its old path on B,
// which B's change feed, having reported the move, no longer mentions. A
// is listed in full and shows the folder moved, so the next run moves it
// on B from the path the baseline has, where it is no longer. That move
// fails; when its failure is due, B is read again for the folder (it is
// found where it is now), and the move is planned from there, so that the
// pair converges instead of planning the same failing move in every run.
func TestFolderMovedIntoDisambiguatedFolderFoundOnFeedSide(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.A = listOnly{Storage: p.A}
	})
	e.pair.B = withoutStatID{Storage: e.b, ChangeFeed: e.b}
	e.restart()
	moveOnBothSidesOntoX(t, e)
	e.run()
	alt := storage.Disambiguate("x", "x") // "x (~…)"
	require.Equal(t, map[string]string{"x": "/", alt: "/", alt + "/b.txt": "b"}, tree(t, e.b),
		"A's x is made on B under another name; B's x (the moved folder) waits")

	e.settle()
	fs, err := e.eng.Failures(e.ctx, e.pair.ID)
	require.NoError(t, err)
	require.Empty(t, fs)
	require.Equal(t, map[string]string{"x": "/", "x/b.txt": "b", "x/y": "/"}, tree(t, e.a))
	require.Equal(t, map[string]string{alt: "/", alt + "/b.txt": "b", alt + "/y": "/"}, tree(t, e.b))
	requireBaselineTrue(t, e)
}

// The same moves with both sides read through change feeds: the run that
// skips the moved folder, whose folder on B is only made in that run,
// keeps both feeds' cursors, so that the next run reads the folder's move
// again and places it, rather than leaving the sides apart until a full
// reconciliation.
func TestFolderMovedIntoDisambiguatedFolderBothSidesOnFeeds(t *testing.T) {
	e := newEnv(t, nil)
	moveOnBothSidesOntoX(t, e)
	r := e.run()
	require.Equal(t, syncengine.RunPartial, r.Status, "the moved folder waits for its folder on B")
	e.run()
	e.settle()
	alt := storage.Disambiguate("x", "x")
	require.Equal(t, map[string]string{"x": "/", "x/b.txt": "b", "x/y": "/"}, tree(t, e.a))
	require.Equal(t, map[string]string{alt: "/", alt + "/b.txt": "b", alt + "/y": "/"}, tree(t, e.b))
	requireBaselineTrue(t, e)
}

// moveOnBothSidesOntoX syncs a folder y made on B, then moves it on both
// sides: on A into a new folder x (holding b.txt), on B to x itself.
func moveOnBothSidesOntoX(t *testing.T, e *env) {
	t.Helper()
	_, err := e.b.Mkdirs("y")
	require.NoError(t, err)
	e.run()
	e.run() // B's change feed moves past the first run's own writes
	require.Equal(t, map[string]string{"y": "/"}, tree(t, e.a))

	e.write(e.a, "x/b.txt", "b")
	_, err = e.a.Rename("y", "x/y")
	require.NoError(t, err)
	_, err = e.b.Rename("y", "x")
	require.NoError(t, err)
}

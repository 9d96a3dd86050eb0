package syncengine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// A folder that a person renames on B while B is listed (offset pages,
// no change feed, no lookup by ID) while another person deletes it on A
// while A is listed: B's listing holds the folder and its subfolder under
// the old name and the files under the new one. The rename is a change on
// B, so it wins over the deletion on A: the folder and everything in it
// are restored on A, and the pair settles (found by the property test,
// seed 3702072892137779423).
func TestFolderDeletedOnAWhileRenamedOnBDuringTheListings(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Conflict = syncengine.ConflictPreferA
		p.Concurrency = 4
	})
	e.a = memory.New(memory.WithClock(e.clk.Now), memory.WithVersionHistory(true))
	e.b = memory.New(memory.WithClock(e.clk.Now), memory.WithVersionHistory(true))
	pa, pb := newPaged(e.a, 2), newPaged(e.b, 3)
	e.pair.A = pagedFeed{pagedStorage: pa, ChangeFeed: e.a}
	e.pair.B = pb
	e.restart()
	e.write(e.a, "a.txt", "a")
	e.write(e.a, "y/x/b.txt", "b")
	e.write(e.a, "y/x/c.doc", "c")
	e.run()
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	e.clk.Advance(time.Minute)
	e.write(e.a, "y/x/b.txt", "b edited")
	// A's pages: a.txt, y | (y deleted) nothing more. B's pages: a.txt, y,
	// y/x | (y renamed z9) z9/x/b.txt, z9/x/c.doc.
	pa.between = once(func(page int) bool { return page == 1 }, func() {
		require.NoError(t, e.a.Remove("y"))
	})
	pb.between = once(func(page int) bool { return page == 1 }, func() {
		_, err := e.b.Rename("y", "z9")
		require.NoError(t, err)
	})
	r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	t.Logf("run: %s %+v", r.Status, r.Counts)
	pa.between, pb.between = nil, nil
	for it, err := range e.store.Items(e.ctx, e.pair.ID) {
		require.NoError(t, err)
		t.Logf("baseline %d: A %q %s | B %q %s", it.Key, it.A.Path, it.A.ID, it.B.Path, it.B.ID)
	}
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	require.Equal(t, map[string]string{"a.txt": "a", "z9": "/", "z9/x": "/", "z9/x/b.txt": "b", "z9/x/c.doc": "c"}, tree(t, e.b))
	requireBaselineTrue(t, e)
}

package syncengine_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// A folder renamed on each side while that side is being listed: A's
// listing holds the folder under its old name and its file under the new
// one (an inconsistency Detect resolves by looking the folder up again);
// then B's listing holds the folder and its file under the old name
// (stale, but consistent: the next run sees the rename). The engine must end with
// both sides alike and a baseline that records where every item really
// is, after every run.
func TestFolderRenamedDuringListingsOnBothSides(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "x/a.txt", "a")
	e.clk.Advance(time.Minute) // B's copy of the folder is newer than A's
	pa, pb := newPaged(e.a, 1), newPaged(e.b, 1)
	e.pair.A = pagedFeed{pagedStorage: pa, ChangeFeed: e.a}
	e.pair.B = pb
	e.restart()
	pa.between = once(func(page int) bool { return page == 1 }, func() {
		_, err := e.a.Rename("x", "z3")
		require.NoError(t, err)
	})
	e.run()
	pa.between = nil
	requireBaselineTrue(t, e) // A's folder is where it is now, not where the listing saw it
	require.Equal(t, map[string]string{"z3": "/", "z3/a.txt": "a"}, tree(t, e.b))
	e.clk.Advance(time.Minute)
	pb.between = once(func(page int) bool { return page == 1 }, func() {
		_, err := e.b.Rename("z3", "z4")
		require.NoError(t, err)
	})
	e.run()
	pb.between = nil
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	requireBaselineTrue(t, e)
}

// requireBaselineTrue checks that every baseline item is, on both sides,
// at the path the baseline records, with the ID it records.
func requireBaselineTrue(t *testing.T, e *env) {
	t.Helper()
	for it, err := range e.store.Items(e.ctx, e.pair.ID) {
		require.NoError(t, err)
		for s, st := range []*memory.Storage{e.a, e.b} {
			ss := it.Side(syncengine.Side(s))
			got, err := st.Stat(e.ctx, ss.Path)
			require.NoError(t, err, "baseline path %q on %s", ss.Path, syncengine.Side(s))
			require.Equal(t, ss.ID, got.ID, "baseline path %q on %s", ss.Path, syncengine.Side(s))
		}
	}
}

// A folder renamed while it is listed, with a new file listed in it under
// the old name and an old file under the new one: the folder is looked up
// again, and the new file is taken in at the path it has now, so that the
// baseline records where it really is.
func TestItemsListedUnderAFolderRenamedDuringTheListing(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.b, "x/old.txt", "old")
	e.run()
	e.write(e.b, "x/n.txt", "new")
	pb := newPaged(e.b, 2)
	e.pair.B = pb
	e.restart()
	// Page 1 is x, x/n.txt; x becomes z4 before page 2 (z4/old.txt).
	pb.between = once(func(page int) bool { return page == 1 }, func() {
		_, err := e.b.Rename("x", "z4")
		require.NoError(t, err)
	})
	e.run()
	pb.between = nil
	requireBaselineTrue(t, e)
	want := map[string]string{"z4": "/", "z4/old.txt": "old", "z4/n.txt": "new"}
	require.Equal(t, want, tree(t, e.a))
	e.settle()
	require.Equal(t, want, tree(t, e.b))
}

// missOnce lists a memory storage, leaving out the items at the given
// paths in its first listing.
type missOnce struct {
	storage.Storage
	mem  *memory.Storage
	miss map[string]bool
	done bool
}

func (m *missOnce) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	miss := m.miss
	if m.done {
		miss = nil
	}
	m.done = true
	return func(yield func(storage.Entry, error) bool) {
		for e, err := range m.mem.List(ctx) {
			if err == nil && miss[e.Path] {
				continue
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// A synced item whose folder the baseline does not know (both sides'
// folders were missed by the listings of the run that synced the item):
// when that folder moves, the item's new path is read from the listing
// and recorded, as no baseline record follows the folder.
func TestItemInAFolderTheBaselineDoesNotKnow(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.a.Mkdirs("x")
	require.NoError(t, err)
	_, err = e.b.Mkdirs("x/x")
	require.NoError(t, err)
	e.pair.A = &missOnce{Storage: e.a, mem: e.a, miss: map[string]bool{"x": true}}
	e.pair.B = &missOnce{Storage: e.b, mem: e.b, miss: map[string]bool{"x": true}}
	e.restart()
	e.run()
	require.Equal(t, map[string]string{"x": "/", "x/x": "/"}, tree(t, e.a))
	_, err = e.a.Rename("x", "z5")
	require.NoError(t, err)
	e.run()
	requireBaselineTrue(t, e)
	e.settle()
	requireBaselineTrue(t, e)
}

package syncengine_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// pagedStorage lists a memory storage as an offset-paged index does
// (Procore's /documents): every page is a fresh read of the sorted tree at
// an offset, so a deletion between two pages shifts an item off the next
// page and a rename between two pages lists an item twice. It hides the
// memory storage's optional capabilities (no change feed: every run lists
// it in full).
type pagedStorage struct {
	storage.Storage
	mem      *memory.Storage
	pageSize int
	mu       sync.Mutex
	between  func(page int) // a person acting before page (page ≥ 1); nil: nobody
	lists    int
}

func newPaged(mem *memory.Storage, pageSize int) *pagedStorage {
	return &pagedStorage{Storage: mem, mem: mem, pageSize: pageSize}
}

// sortedList is the memory storage's whole tree, sorted by path.
func sortedList(ctx context.Context, mem *memory.Storage) ([]storage.Entry, error) {
	var all []storage.Entry
	for e, err := range mem.List(ctx) {
		if err != nil {
			return nil, err
		}
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b storage.Entry) int { return strings.Compare(a.Path, b.Path) })
	return all, nil
}

func (p *pagedStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	p.mu.Lock()
	p.lists++
	between := p.between
	p.mu.Unlock()
	return func(yield func(storage.Entry, error) bool) {
		for page, off := 0, 0; ; page, off = page+1, off+p.pageSize {
			if page > 0 && between != nil {
				between(page)
			}
			all, err := sortedList(ctx, p.mem)
			if err != nil {
				yield(storage.Entry{}, err)
				return
			}
			if off >= len(all) {
				return
			}
			for _, e := range all[off:min(off+p.pageSize, len(all))] {
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

func (p *pagedStorage) listings() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lists
}

// walkStorage lists a memory storage folder by folder, as a walk of a
// folder tree does (a Graph children walk): every folder's children are
// read when the walk reaches it, so an item moved from a folder not yet
// walked into one already walked is missed.
type walkStorage struct {
	storage.Storage
	mem     *memory.Storage
	mu      sync.Mutex
	between func(dir string) // a person acting before folder dir is read; nil: nobody
	lists   int
}

func (w *walkStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	w.mu.Lock()
	w.lists++
	between := w.between
	w.mu.Unlock()
	return func(yield func(storage.Entry, error) bool) {
		type dir struct{ id, path string }
		queue := []dir{{w.mem.RootID(), ""}}
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			if between != nil {
				between(d.path)
			}
			all, err := sortedList(ctx, w.mem)
			if err != nil {
				yield(storage.Entry{}, err)
				return
			}
			for _, e := range all {
				if e.ParentID != d.id {
					continue
				}
				if e.IsDir {
					queue = append(queue, dir{e.ID, e.Path})
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

func (w *walkStorage) listings() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lists
}

// statByID adds storage.IDStater to a wrapper: the item of that ID as the
// memory storage holds it now.
type statByID struct {
	storage.Storage
	mem   *memory.Storage
	mu    sync.Mutex
	stats int
	walks bool // Features().StatIDWalks, as storage/local says
}

func (s *statByID) Features() storage.Features {
	f := s.Storage.Features()
	f.StatIDWalks = s.walks
	return f
}

func (s *statByID) StatID(ctx context.Context, id string) (storage.Entry, error) {
	s.mu.Lock()
	s.stats++
	s.mu.Unlock()
	all, err := sortedList(ctx, s.mem)
	if err != nil {
		return storage.Entry{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return storage.Entry{}, storage.NewError("statid", id, storage.ErrNotFound, nil)
}

// once returns f wrapped to run only on its first call for which
// when(arg) is true.
func once[T any](when func(T) bool, f func()) func(T) {
	var done sync.Once
	return func(v T) {
		if when(v) {
			done.Do(f)
		}
	}
}

// withIDLookup returns s as the engine sees it: with StatID when byID.
func withIDLookup(s storage.Storage, mem *memory.Storage, byID bool) (storage.Storage, *statByID) {
	if !byID {
		return s, nil
	}
	w := &statByID{Storage: s, mem: mem}
	return w, w
}

// An item a person moves from a folder the walk has not reached yet into
// one it has already read is missing from the listing. It must not be
// deleted on the other side: its absence is confirmed by ID (one StatID)
// or, where the storage cannot look items up by ID, by one more listing.
func TestMovedDuringWalkIsNotDeleted(t *testing.T) {
	for _, byID := range []bool{true, false} {
		t.Run(map[bool]string{true: "StatID", false: "relist"}[byID], func(t *testing.T) {
			e := newEnv(t, nil)
			e.write(e.a, "x/keep.txt", "keep")
			e.write(e.a, "y/f.txt", "precious")
			e.run()
			require.Equal(t, "precious", tree(t, e.b)["y/f.txt"])

			walk := &walkStorage{Storage: e.a, mem: e.a}
			e.pair.A, _ = withIDLookup(walk, e.a, byID)
			var stats func() int
			if byID {
				st := e.pair.A.(*statByID)
				stats = func() int { st.mu.Lock(); defer st.mu.Unlock(); return st.stats }
			}
			e.restart()
			// The walk reads x before y: the person moves y/f.txt into x
			// after x was read and before y is.
			walk.between = once(func(dir string) bool { return dir == "y" }, func() {
				_, err := e.a.Rename("y/f.txt", "x/f.txt")
				require.NoError(t, err)
			})
			e.b.ResetCalls()
			e.run()
			require.Zero(t, e.b.Calls()[memory.OpDelete], "nothing is deleted on B")
			require.Equal(t, "precious", tree(t, e.b)["x/f.txt"], "the move is replayed on B")
			if byID {
				require.Equal(t, 1, stats(), "one lookup by ID confirms the missing item")
				require.Equal(t, 1, walk.listings(), "no second listing")
			} else {
				require.Equal(t, 2, walk.listings(), "one more listing confirms the missing item")
			}
			walk.between = nil
			e.settle()
			require.Equal(t, tree(t, e.a), tree(t, e.b))
			require.Equal(t, map[string]string{"x": "/", "y": "/", "x/keep.txt": "keep", "x/f.txt": "precious"}, tree(t, e.b))
		})
	}
}

// A deletion between two pages of an offset-paged listing shifts the first
// item of the next page onto the page already read: the listing misses it.
// It must not be deleted on the other side.
func TestOffsetPageShiftIsNotDeleted(t *testing.T) {
	for _, byID := range []bool{true, false} {
		t.Run(map[bool]string{true: "StatID", false: "relist"}[byID], func(t *testing.T) {
			e := newEnv(t, nil)
			for _, n := range []string{"a", "b", "c", "d"} {
				e.write(e.a, n+".txt", "content of "+n)
			}
			e.run()
			paged := newPaged(e.a, 2)
			e.pair.A, _ = withIDLookup(paged, e.a, byID)
			e.restart()
			// Page 1 is a.txt, b.txt; a person deletes a.txt before page 2
			// is read, which then starts at d.txt: c.txt is never listed.
			paged.between = once(func(page int) bool { return page == 1 }, func() {
				require.NoError(t, e.a.Remove("a.txt"))
			})
			e.b.ResetCalls()
			e.run()
			require.Zero(t, e.b.Calls()[memory.OpDelete], "nothing is deleted on B")
			require.Equal(t, "content of c", tree(t, e.b)["c.txt"])
			want := 1
			if !byID {
				want = 2 // c.txt is confirmed by one more listing
			}
			require.Equal(t, want, paged.listings())
			paged.between = nil
			e.settle()
			// a.txt really was deleted: that deletion syncs.
			require.Equal(t, map[string]string{"b.txt": "content of b", "c.txt": "content of c", "d.txt": "content of d"}, tree(t, e.b))
			require.Equal(t, tree(t, e.a), tree(t, e.b))
		})
	}
}

// A rename between two pages of an offset-paged listing lists the item
// twice, under its old name and its new one. It must be created once on
// the other side, under the name it has now, never as a duplicate
// ("a (~18b7cb).txt").
func TestListedTwiceMakesNoDuplicate(t *testing.T) {
	for _, synced := range []bool{false, true} {
		for _, byID := range []bool{true, false} {
			name := map[bool]string{true: "synced", false: "new"}[synced] + "/" + map[bool]string{true: "StatID", false: "relist"}[byID]
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, nil)
				e.write(e.a, "m.txt", "m")
				if synced {
					e.write(e.a, "a.txt", "renamed file")
				}
				e.run()
				if !synced {
					e.write(e.a, "a.txt", "renamed file")
				}
				e.write(e.a, "b.txt", "b")
				paged := newPaged(e.a, 2)
				e.pair.A, _ = withIDLookup(paged, e.a, byID)
				e.restart()
				// Page 1 is a.txt, b.txt; a.txt becomes z.txt before page 2
				// (m.txt, z.txt) is read.
				paged.between = once(func(page int) bool { return page == 1 }, func() {
					_, err := e.a.Rename("a.txt", "z.txt")
					require.NoError(t, err)
				})
				e.run()
				tb := tree(t, e.b)
				require.NotContains(t, tb, "a.txt", "the old name is not created on B")
				require.Equal(t, "renamed file", tb["z.txt"])
				require.Equal(t, "m", tb["m.txt"], "m.txt, shifted off page 2, is not deleted")
				paged.between = nil
				e.settle()
				want := map[string]string{"b.txt": "b", "m.txt": "m", "z.txt": "renamed file"}
				require.Equal(t, want, tree(t, e.a))
				require.Equal(t, want, tree(t, e.b), "one copy, at the name it has now")
			})
		}
	}
}

// A change feed may report a deletion by ID alone (Graph's delta after a
// restart, for items its path cache has not seen; an item moved out of the
// synced folder). The engine resolves the ID against its baseline: files
// and folders (with what was inside), on either side, after a restart.
func TestFeedDeletionsByIDOnly(t *testing.T) {
	for _, side := range []syncengine.Side{syncengine.SideA, syncengine.SideB} {
		t.Run(side.String(), func(t *testing.T) {
			e := newEnv(t, nil)
			e.write(e.a, "a.txt", "a")
			e.write(e.a, "keep.txt", "keep")
			e.write(e.a, "d/sub/f.txt", "f")
			e.write(e.a, "d/g.txt", "g")
			e.run()
			src, dst := e.a, e.b
			if side == syncengine.SideB {
				src, dst = e.b, e.a
			}
			bare := &bareDeletions{Storage: src}
			if side == syncengine.SideA {
				e.pair.A = bare
			} else {
				e.pair.B = bare
			}
			e.restart() // a new process: nothing but the store remembers the paths
			require.NoError(t, src.Remove("a.txt"))
			require.NoError(t, src.Remove("d"))
			e.run()
			require.Positive(t, bare.bare, "the feed reported deletions without paths")
			require.Equal(t, map[string]string{"keep.txt": "keep"}, tree(t, dst))
			e.settle()
			require.Equal(t, tree(t, e.a), tree(t, e.b))
		})
	}
}

// bareDeletions is a memory storage whose change feed reports deletions by
// ID only, with neither Path nor IsDir, and of a deleted folder only the
// folder itself (its descendants' deletions are left out, as the contract
// allows).
type bareDeletions struct {
	*memory.Storage
	bare int
}

func (b *bareDeletions) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	ch, next, err := b.Storage.Changes(ctx, cursor)
	out := ch[:0]
	for _, c := range ch {
		if c.Deleted {
			if strings.Contains(c.Entry.Path, "/") {
				continue // inside a deleted folder
			}
			c.Entry = storage.Entry{ID: c.Entry.ID}
			b.bare++
		}
		out = append(out, c)
	}
	return out, next, err
}

// An item moved out of the synced folder is, for a feed rooted at that
// folder, a deletion reported by ID alone; the engine resolves it too.
func TestFeedMoveOutOfTheRootByIDOnly(t *testing.T) {
	e := newEnv(t, nil)
	whole := memory.New()
	root, err := whole.Mkdirs("Procore/Tower 3")
	require.NoError(t, err)
	_, err = whole.Mkdirs("Archive")
	require.NoError(t, err)
	sub := whole.Sub(root.ID)
	bare := &bareDeletions{Storage: sub}
	e.pair.A = bare
	e.restart()
	e.write(sub, "plans.pdf", "plans")
	e.write(sub, "specs/s.pdf", "specs")
	e.write(sub, "keep.txt", "keep")
	e.run()
	require.Equal(t, tree(t, sub), tree(t, e.b))
	e.restart()
	_, err = whole.Rename("Procore/Tower 3/plans.pdf", "Archive/plans.pdf")
	require.NoError(t, err)
	_, err = whole.Rename("Procore/Tower 3/specs", "Archive/specs")
	require.NoError(t, err)
	e.run()
	require.Equal(t, 2, bare.bare, "the feed reported two deletions by ID")
	require.Equal(t, map[string]string{"keep.txt": "keep"}, tree(t, e.b))
	e.settle()
	require.Equal(t, tree(t, sub), tree(t, e.b))
}

// negativeSize lists file path of a memory storage with a negative size,
// as a service that answers with a corrupt entry would.
type negativeSize struct {
	storage.Storage
	mem  *memory.Storage
	path string
}

func (n *negativeSize) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		for e, err := range n.mem.List(ctx) {
			if e.Path == n.path {
				e.Size = -7
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// An entry listed with a negative size is an item error in the error log
// (the run is partial), neither a silent skip nor a copy of whatever the
// file holds; and a synced file that a listing suddenly reports so is not
// deleted or overwritten on the other side.
func TestNegativeSizeIsAnItemError(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "synced.txt", "synced")
	e.run()
	e.write(e.a, "new.txt", "new")
	e.write(e.a, "good.txt", "good")
	for _, p := range []string{"new.txt", "synced.txt"} {
		t.Run(p, func(t *testing.T) {
			e.pair.A = &negativeSize{Storage: e.a, mem: e.a, path: p}
			e.restart()
			r := e.run()
			require.Equal(t, syncengine.RunPartial, r.Status)
			require.Equal(t, 1, r.Counts.Failed)
			errs, err := e.eng.Errors(e.ctx, e.pair.ID, syncengine.Page{Limit: 1})
			require.NoError(t, err)
			require.Len(t, errs, 1)
			require.Equal(t, p, errs[0].Path)
			require.Contains(t, errs[0].Error, "negative size (-7)")
			tb := tree(t, e.b)
			require.Equal(t, "good", tb["good.txt"])
			if p == "new.txt" {
				require.NotContains(t, tb, "new.txt")
			} else {
				require.Equal(t, "synced", tb["synced.txt"], "not deleted on B")
			}
		})
	}
	e.pair.A = e.a
	e.restart()
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// Confirming absences costs little: one lookup by ID per missing item up
// to a cap, and past the cap one more listing of the side instead. Where
// a lookup of a gone item walks the tree (storage/local), one listing
// confirms two or more items, and one lookup a single one.
func TestAbsenceConfirmationIsBatched(t *testing.T) {
	for _, tc := range []struct {
		files     int
		gone      int
		walks     bool
		stats     int
		listings  int
		rationale string
	}{
		{files: 40, gone: 5, stats: 5, listings: 1, rationale: "one lookup per missing item"},
		{files: 320, gone: 120, stats: 0, listings: 2, rationale: "one more listing instead of 120 lookups"},
		{files: 40, gone: 1, walks: true, stats: 1, listings: 1, rationale: "one lookup costs no more than a listing"},
		{files: 40, gone: 5, walks: true, stats: 0, listings: 2, rationale: "one more listing instead of 5 walks"},
	} {
		t.Run(fmt.Sprintf("%d/walks=%v", tc.gone, tc.walks), func(t *testing.T) {
			e := newEnv(t, nil)
			for i := range tc.files {
				e.write(e.a, fmt.Sprintf("d%d/f%03d.txt", i%4, i), "x")
			}
			e.run()
			paged := newPaged(e.a, 1000)
			byID := &statByID{Storage: paged, mem: e.a, walks: tc.walks}
			e.pair.A = byID
			e.restart()
			for i := range tc.gone {
				require.NoError(t, e.a.Remove(fmt.Sprintf("d%d/f%03d.txt", i%4, i)))
			}
			r := e.run()
			require.Equal(t, tc.gone, r.Counts.Deleted)
			require.Len(t, tree(t, e.b), 4+tc.files-tc.gone)
			require.Equal(t, tc.stats, byID.stats, tc.rationale)
			require.Equal(t, tc.listings, paged.listings(), tc.rationale)
		})
	}
}

// pagedFeed is a pagedStorage with the memory storage's change feed.
type pagedFeed struct {
	*pagedStorage
	storage.ChangeFeed
}

// An item that a deletion during the listing shifted off its page is never
// reported by the change feed afterwards (it did not change). When the
// feed shows that something was deleted or moved while the side was
// listed, the next run lists that side in full again, which finds it.
func TestShiftedOffItemIsFoundByTheNextRun(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []string{"a", "b", "d"} {
		e.write(e.a, n+".txt", "content of "+n)
	}
	paged := newPaged(e.a, 2)
	e.pair.A = pagedFeed{pagedStorage: paged, ChangeFeed: e.a}
	e.restart()
	e.run()
	e.write(e.a, "c.txt", "content of c")
	// A full run (a periodic reconciliation) lists A: page 1 is a.txt,
	// b.txt; a person deletes a.txt before page 2, which then starts at
	// d.txt. The feed's cursor is taken before the listing, after c.txt
	// was written: the feed never reports c.txt.
	paged.between = once(func(page int) bool { return page == 1 }, func() {
		require.NoError(t, e.a.Remove("a.txt"))
	})
	r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	require.NotContains(t, tree(t, e.b), "c.txt", "the listing missed c.txt")
	paged.between = nil
	before := paged.listings()
	e.run()
	// A listing, and one more to confirm that a.txt is gone (no StatID).
	require.Equal(t, before+2, paged.listings(), "the next run lists A again")
	require.Equal(t, "content of c", tree(t, e.b)["c.txt"])
	e.settle()
	require.Equal(t, map[string]string{"b.txt": "content of b", "c.txt": "content of c", "d.txt": "content of d"}, tree(t, e.b))
	// With nothing deleted or moved during a listing, runs read the feed.
	before = paged.listings()
	e.write(e.a, "e.txt", "e")
	e.run()
	require.Equal(t, before, paged.listings())
	require.Equal(t, "e", tree(t, e.b)["e.txt"])
}

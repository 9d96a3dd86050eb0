package syncengine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	se "github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type fixture struct {
	a, b   *memory.Storage
	p      *se.Pair
	store  *sqlitestore.Store
	dbPath string // the store's database file
	ps     se.PairState
}

func newFixture(t testing.TB, opts ...func(*se.Pair)) *fixture {
	dbPath := filepath.Join(t.TempDir(), "meta.db")
	st, err := sqlitestore.Open(dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{a: memory.New(), b: memory.New(), store: st, dbPath: dbPath}
	f.p = &se.Pair{ID: "p1", A: f.a, B: f.b, AName: "Procore", BName: "SharePoint"}
	for _, o := range opts {
		o(f.p)
	}
	return f
}

func write(t testing.TB, s *memory.Storage, p, data string) storage.Entry {
	e, err := s.WriteFile(p, []byte(data))
	require.NoError(t, err)
	return e
}

// linkAll records both sides, matched by path, as the baseline, and takes
// the feeds' cursors: the state after a successful sync.
func (f *fixture) linkAll(t testing.TB) {
	ctx := context.Background()
	byPath := map[string]storage.Entry{}
	for e, err := range f.b.List(ctx) {
		require.NoError(t, err)
		byPath[e.Path] = e
	}
	var items []se.Item
	for e, err := range f.a.List(ctx) {
		require.NoError(t, err)
		b, ok := byPath[e.Path]
		require.True(t, ok, e.Path)
		items = append(items, se.Item{IsDir: e.IsDir, A: se.StateOf(e), B: se.StateOf(b)})
	}
	require.NoError(t, f.store.PutItems(ctx, f.p.ID, items, nil))
	var err error
	f.ps.Initialized = true
	f.ps.CursorA, err = f.a.LatestCursor(ctx)
	require.NoError(t, err)
	f.ps.CursorB, err = f.b.LatestCursor(ctx)
	require.NoError(t, err)
	ra, _ := f.a.Stat(ctx, "")
	rb, _ := f.b.Stat(ctx, "")
	f.ps.RootA, f.ps.RootB = ra.ID, rb.ID
}

func (f *fixture) plan(t testing.TB, opt se.DetectOptions) (se.Plan, *se.PlanInput, se.PairState) {
	if opt.Now.IsZero() {
		opt.Now = now
	}
	in, next, err := se.Detect(context.Background(), f.p, f.store, f.ps, opt)
	require.NoError(t, err)
	return se.BuildPlan(in), in, next
}

func kinds(pl se.Plan) []string {
	var out []string
	for _, a := range pl.Actions {
		s := fmt.Sprintf("%s %s %s", a.Kind, a.Side, a.Path)
		if a.Kind == se.ActionMove {
			s += " <- " + a.Target.Path
		}
		out = append(out, s)
	}
	return out
}

func TestDetectStandardInitial(t *testing.T) {
	f := newFixture(t)
	write(t, f.a, "docs/a.txt", "a")
	write(t, f.a, "top.txt", "t")
	pl, in, next := f.plan(t, se.DetectOptions{})
	require.True(t, in.Initial)
	require.Equal(t, []string{"mkdir B docs", "copy B docs/a.txt", "copy B top.txt"}, kinds(pl))
	require.True(t, next.Initialized)
	require.NotEmpty(t, next.CursorA)
	require.NotEmpty(t, next.CursorB)
	require.Equal(t, f.a.RootID(), next.RootA)
	require.Equal(t, f.b.RootID(), next.RootB)
}

func TestDetectStandardInitialTargetNotEmpty(t *testing.T) {
	f := newFixture(t)
	write(t, f.a, "a.txt", "a")
	write(t, f.b, "b.txt", "b")
	_, _, err := se.Detect(context.Background(), f.p, f.store, f.ps, se.DetectOptions{Now: now})
	require.ErrorIs(t, err, se.ErrTargetNotEmpty)
}

func TestDetectMergeInitial(t *testing.T) {
	for _, hashed := range []bool{true, false} {
		t.Run(fmt.Sprint("hashes=", hashed), func(t *testing.T) {
			f := newFixture(t, func(p *se.Pair) { p.Initial = se.InitialMerge })
			if !hashed { // no common hash: Detect compares bytes
				f.a = memory.New(memory.WithHashes(storage.HashSHA1))
				f.b = memory.New(memory.WithHashes(storage.HashQuickXor))
				f.p.A, f.p.B = f.a, f.b
			}
			write(t, f.a, "same.txt", "hello")
			write(t, f.b, "same.txt", "hello")
			write(t, f.a, "diff.txt", "from A")
			write(t, f.b, "diff.txt", "from B")
			write(t, f.a, "only-a.txt", "a")
			write(t, f.b, "dir/only-b.txt", "b")
			pl, _, _ := f.plan(t, se.DetectOptions{})
			require.Empty(t, pl.Refused)
			require.Equal(t, []string{"mkdir A dir", "conflict A diff.txt", "copy A dir/only-b.txt",
				"copy B only-a.txt", "link B same.txt"}, kinds(pl))
		})
	}
}

func TestDetectFeedAndFull(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) {
			f := newFixture(t)
			for _, s := range []*memory.Storage{f.a, f.b} {
				write(t, s, "d/x.txt", "x")
				write(t, s, "d/y.txt", "y")
				write(t, s, "keep.txt", "k")
				write(t, s, "gone.txt", "g")
			}
			f.linkAll(t)
			_, err := f.a.Rename("d", "e") // a folder move, found by ID
			require.NoError(t, err)
			write(t, f.a, "e/x.txt", "x2")
			require.NoError(t, f.a.Remove("gone.txt"))
			write(t, f.b, "new-on-b.txt", "n")
			pl, in, next := f.plan(t, se.DetectOptions{Full: full})
			require.Equal(t, []string{"move B e <- d", "update B e/x.txt", "copy A new-on-b.txt", "delete B gone.txt"}, kinds(pl))
			require.Empty(t, pl.Refused)
			require.NotEqual(t, f.ps.CursorA, next.CursorA)
			if !full {
				require.Len(t, in.Observations, 4, "a feed reports only what changed")
			}
		})
	}
}

func TestDetectExpiredCursor(t *testing.T) {
	f := newFixture(t)
	for _, s := range []*memory.Storage{f.a, f.b} {
		write(t, s, "f.txt", "1")
	}
	f.linkAll(t)
	write(t, f.b, "f.txt", "2")
	f.ps.CursorB = "expired"
	f.a.ResetCalls()
	f.b.ResetCalls()
	pl, _, next := f.plan(t, se.DetectOptions{})
	require.Equal(t, []string{"update A f.txt"}, kinds(pl))
	require.Equal(t, 0, f.a.Calls()[memory.OpList], "A keeps using its feed")
	require.Equal(t, 1, f.b.Calls()[memory.OpList], "B is listed in full")
	require.NotEqual(t, "expired", next.CursorB)
	require.Equal(t, f.ps.CursorA, next.CursorA)
}

func TestDetectProtectedRoot(t *testing.T) {
	f := newFixture(t)
	for _, s := range []*memory.Storage{f.a, f.b} {
		write(t, s, "f.txt", "1")
	}
	f.linkAll(t)
	f.ps.RootB = "another-folder"
	pl, in, next := f.plan(t, se.DetectOptions{})
	require.Contains(t, in.RootGone, "root of side B (SharePoint) was replaced")
	require.Equal(t, in.RootGone, pl.Refused)
	require.Empty(t, pl.Actions)
	require.Equal(t, f.ps, next)
}

func TestDetectMassDeleteAndFolderDelete(t *testing.T) {
	f := newFixture(t)
	for _, s := range []*memory.Storage{f.a, f.b} {
		for i := range 30 {
			write(t, s, fmt.Sprintf("d/%02d.txt", i), "x")
		}
		write(t, s, "other.txt", "o")
	}
	f.linkAll(t)
	require.NoError(t, f.a.Remove("d"))
	for _, full := range []bool{false, true} {
		pl, _, _ := f.plan(t, se.DetectOptions{Full: full})
		require.Contains(t, pl.Refused, "31 of 32 items", "full=%v", full)
		require.Equal(t, []string{"delete B d"}, kinds(pl))
		pl, _, _ = f.plan(t, se.DetectOptions{Full: full, Force: true})
		require.Empty(t, pl.Refused)
	}
}

func TestDetectDeleteLimitAndHeld(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(p *se.Pair) { p.DeleteLimit, p.MassDeleteShare = 3, -1 })
	for _, s := range []*memory.Storage{f.a, f.b} {
		for i := range 6 {
			write(t, s, fmt.Sprintf("%d.txt", i), "x")
		}
	}
	f.linkAll(t)
	for i := range 6 {
		require.NoError(t, f.a.Remove(fmt.Sprintf("%d.txt", i)))
	}
	require.NoError(t, f.store.RecordDeletes(ctx, f.p.ID, now.Add(-time.Hour), 1))
	require.NoError(t, f.store.RecordDeletes(ctx, f.p.ID, now.Add(-25*time.Hour), 100)) // outside the window
	pl, _, _ := f.plan(t, se.DetectOptions{Full: true})
	require.Equal(t, []string{"hold-delete B 5.txt", "hold-delete B 4.txt", "hold-delete B 3.txt",
		"hold-delete B 2.txt", "delete B 1.txt", "delete B 0.txt"}, kinds(pl))
	var held []se.HeldDelete
	for _, a := range pl.Actions {
		if a.Kind == se.ActionHoldDelete {
			held = append(held, se.HeldDelete{PairID: f.p.ID, Key: a.Key, DeletedOn: se.SideA, Path: a.Path, Held: now})
		}
	}
	require.NoError(t, f.store.HoldDeletes(ctx, held))
	pl, _, _ = f.plan(t, se.DetectOptions{Full: true})
	got := kinds(pl)
	slices.Sort(got)
	require.Equal(t, []string{"delete B 0.txt", "delete B 1.txt"}, got, "held keys are not planned again")
}

func TestDetectRetriesDueFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	write(t, f.a, "ok.txt", "o")
	write(t, f.b, "ok.txt", "o")
	f.linkAll(t)
	// A file created on A was reported by the feed in an earlier run whose
	// copy failed; the cursor moved on since.
	write(t, f.a, "failed.txt", "f")
	write(t, f.a, "stuck.txt", "s")
	c, err := f.a.LatestCursor(ctx)
	require.NoError(t, err)
	f.ps.CursorA = c
	require.NoError(t, f.store.PutFailure(ctx, se.Failure{PairID: f.p.ID, Side: se.SideB, Path: "failed.txt",
		Error: "boom", Attempts: 1, NextAttempt: now.Add(-time.Minute)}))
	require.NoError(t, f.store.PutFailure(ctx, se.Failure{PairID: f.p.ID, Side: se.SideB, Path: "stuck.txt",
		Error: "boom", Attempts: 9, Quarantined: true}))
	pl, _, _ := f.plan(t, se.DetectOptions{})
	require.Equal(t, []string{"copy B failed.txt", "skip B stuck.txt"}, kinds(pl))
}

// advance moves both feed cursors to now, as after a run whose actions
// failed (the feeds' reports of the failed items are not read again).
func (f *fixture) advance(t *testing.T) {
	ctx := context.Background()
	var err error
	f.ps.CursorA, err = f.a.LatestCursor(ctx)
	require.NoError(t, err)
	f.ps.CursorB, err = f.b.LatestCursor(ctx)
	require.NoError(t, err)
}

func (f *fixture) failed(t *testing.T, target se.Side, srcPath string) {
	require.NoError(t, f.store.PutFailure(context.Background(), se.Failure{PairID: f.p.ID, Side: target,
		Path: srcPath, Error: "boom", Attempts: 1, NextAttempt: now.Add(-time.Minute)}))
}

func TestDetectRetryRereadsTheTargetSide(t *testing.T) {
	noHistory := func(f *fixture) { f.b = memory.New(memory.WithVersionHistory(false)); f.p.B = f.b }
	tests := []struct {
		name  string
		pair  func(*fixture)
		setup func(t *testing.T, f *fixture) // after linkAll; then cursors advance and the failure is recorded
		side  se.Side                        // failure's target side
		path  string                         // failure's source path
		want  []string
	}{
		{"created on both sides, conflict failed: conflict again, no copy under another name", nil,
			func(t *testing.T, f *fixture) {
				write(t, f.b, "f.txt", "from B!")
				write(t, f.a, "f.txt", "from A")
			}, se.SideB, "f.txt", []string{"conflict B f.txt"}},
		{"modified on both sides, conflict failed: not an update over B's change", nil,
			func(t *testing.T, f *fixture) {
				write(t, f.b, "g.txt", "B22")
				write(t, f.a, "g.txt", "A2")
			}, se.SideB, "g.txt", []string{"conflict B g.txt"}},
		{"deleted on A, modified on B, restore failed: restored again", nil,
			func(t *testing.T, f *fixture) {
				require.NoError(t, f.a.Remove("g.txt"))
				write(t, f.b, "g.txt", "B2")
			}, se.SideA, "g.txt", []string{"copy A g.txt"}},
		{"moved on A, modified on B, update failed: found where it moved", nil,
			func(t *testing.T, f *fixture) {
				_, err := f.a.Rename("g.txt", "h.txt")
				require.NoError(t, err)
				write(t, f.b, "g.txt", "B2")
			}, se.SideA, "g.txt", []string{"move B h.txt <- g.txt", "update A h.txt"}},
		{"conflict failed, B keeps no versions: a free conflict-copy name", noHistory,
			func(t *testing.T, f *fixture) {
				write(t, f.b, "g (conflict 2026-11-22 from SharePoint).txt", "old loser")
				write(t, f.b, "g.txt", "B22")
				write(t, f.a, "g.txt", "A2")
			}, se.SideB, "g.txt", []string{"conflict B g.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.pair != nil {
				tc.pair(f)
			}
			for _, s := range []*memory.Storage{f.a, f.b} {
				write(t, s, "g.txt", "g")
			}
			f.linkAll(t)
			tc.setup(t, f)
			f.advance(t)
			f.failed(t, tc.side, tc.path)
			pl, _, _ := f.plan(t, se.DetectOptions{})
			require.Equal(t, tc.want, kinds(pl), "%s", pl)
			for _, a := range pl.Actions {
				if a.Conflict != nil && a.Conflict.LoserCopy != "" {
					require.Equal(t, "g (conflict 2026-11-22 from SharePoint) (2).txt", a.Conflict.LoserCopy)
				}
			}
		})
	}
}

func TestDetectReplacedFileIsAnUpdate(t *testing.T) {
	// An editor saves by writing a new file and renaming it over the old
	// one: a new ID at the same path, the old ID deleted.
	for _, side := range []se.Side{se.SideA, se.SideB} {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s full=%v", side, full), func(t *testing.T) {
				f := newFixture(t, func(p *se.Pair) { p.DeleteLimit = 1 })
				for _, s := range []*memory.Storage{f.a, f.b} {
					write(t, s, "d/f.txt", "v1")
				}
				f.linkAll(t)
				st := f.a
				if side == se.SideB {
					st = f.b
				}
				write(t, st, "d/.f.txt.tmp", "v2 saved")
				require.NoError(t, st.Remove("d/f.txt"))
				_, err := st.Rename("d/.f.txt.tmp", "d/f.txt")
				require.NoError(t, err)
				pl, _, _ := f.plan(t, se.DetectOptions{Full: full})
				require.Equal(t, []string{fmt.Sprintf("update %s d/f.txt", side.Other())}, kinds(pl), "%s", pl)
				require.NotZero(t, pl.Actions[0].Key, "the existing record")
			})
		}
	}
}

func TestDetectReorganiseThenDeleteFolder(t *testing.T) {
	// Items moved out of a folder that is deleted afterwards arrive moved,
	// not deleted and created again.
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) {
			f := newFixture(t)
			for _, s := range []*memory.Storage{f.a, f.b} {
				write(t, s, "old/x.txt", "x")
				write(t, s, "old/sub/y.txt", "y")
				write(t, s, "old/z.txt", "z")
				_, err := s.Mkdirs("new")
				require.NoError(t, err)
			}
			f.linkAll(t)
			_, err := f.a.Rename("old/x.txt", "new/x.txt")
			require.NoError(t, err)
			_, err = f.a.Rename("old/sub", "new/sub")
			require.NoError(t, err)
			require.NoError(t, f.a.Remove("old"))
			pl, _, _ := f.plan(t, se.DetectOptions{Full: full})
			got := slices.DeleteFunc(kinds(pl), func(k string) bool { return k == "link B new/x.txt" }) // versions change on a move
			require.Equal(t, []string{"move B new/sub <- old/sub", "move B new/x.txt <- old/x.txt", "delete B old"},
				got, "%s", pl)
			require.Contains(t, pl.Actions[len(pl.Actions)-1].Reason, "(2 items)", "the folder and z.txt")
		})
	}
}

func TestDetectNewItemInHeldDeletedFolder(t *testing.T) {
	// A folder deleted on A whose deletion is held on B: a file written
	// into it on B is not copied into a folder A no longer has (nor is the
	// folder recreated behind the admin's back): it is skipped, saying why.
	ctx := context.Background()
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) {
			f := newFixture(t, func(p *se.Pair) { p.Deletes = se.DeleteKeep })
			for _, s := range []*memory.Storage{f.a, f.b} {
				write(t, s, "d/x.txt", "x")
			}
			f.linkAll(t)
			require.NoError(t, f.a.Remove("d"))
			pl, _, next := f.plan(t, se.DetectOptions{})
			require.Equal(t, []string{"hold-delete B d"}, kinds(pl))
			require.NoError(t, f.store.HoldDeletes(ctx, []se.HeldDelete{{PairID: f.p.ID, Key: pl.Actions[0].Key,
				DeletedOn: se.SideA, Path: "d", IsDir: true, Held: now}}))
			f.ps = next
			write(t, f.b, "d/new.txt", "written after the deletion")
			pl, _, _ = f.plan(t, se.DetectOptions{Full: full})
			require.Equal(t, []string{"skip A d/new.txt"}, kinds(pl), "%s", pl)
			require.Contains(t, pl.Actions[0].Reason, "deletion is held")
		})
	}
}

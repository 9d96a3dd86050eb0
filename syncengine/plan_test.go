package syncengine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// fe returns a file entry; the ID's parent is given by parent ("" = root).
func fe(id, parent, p, ver string, size int64) *storage.Entry {
	return &storage.Entry{ID: id, ParentID: parent, Path: p, Version: ver, Size: size, ModTime: t0,
		Hashes: storage.Hashes{storage.HashSHA256: "h-" + ver}}
}

func de(id, parent, p string) *storage.Entry {
	return &storage.Entry{ID: id, ParentID: parent, Path: p, IsDir: true, Version: "d"}
}

// baseOfEntries makes a baseline record from two entries.
func baseOfEntries(key int64, a, b *storage.Entry) *Item {
	return &Item{Key: key, IsDir: a.IsDir, A: StateOf(*a), B: StateOf(*b)}
}

// unchanged is an observation of base with the given current entries;
// a nil entry with fromBase true means "as in the baseline".
func obs(base *Item, a, b *storage.Entry) observation {
	o := observation{Base: base, Entry: [2]*storage.Entry{a, b}}
	return o
}

// same returns base's side-s entry, marked as not re-read.
func same(o observation, s Side) observation {
	e := o.Base.Side(s).Entry(o.Base.IsDir)
	o.Entry[s], o.FromBase[s] = &e, true
	return o
}

func mod(e *storage.Entry, ver string, size int64, mt time.Time) *storage.Entry {
	c := *e
	c.Version, c.Size, c.ModTime = ver, size, mt
	c.Hashes = storage.Hashes{storage.HashSHA256: "h-" + ver}
	return &c
}

func moved(e *storage.Entry, parent, p string) *storage.Entry {
	c := *e
	c.ParentID, c.Path = parent, p
	return &c
}

func testPair(opts ...func(*Pair)) *Pair {
	p := &Pair{ID: "p1", AName: "Procore", BName: "SharePoint",
		A: memory.New(), B: memory.New()}
	for _, o := range opts {
		o(p)
	}
	return p
}

func oneWay(p *Pair) { p.Direction = DirectionOneWayAB }

func summary(pl Plan) []string {
	var out []string
	for _, a := range pl.Actions {
		s := fmt.Sprintf("%s %s %s", a.Kind, a.Side, a.Path)
		if a.Kind == ActionMove {
			s += " <- " + a.Target.Path
		}
		if a.Conflict != nil {
			s += fmt.Sprintf(" winner=%s copy=%q", a.Conflict.Winner, a.Conflict.LoserCopy)
		}
		out = append(out, s)
	}
	return out
}

func TestPlanReconciliationTable(t *testing.T) {
	fa, fb := fe("a1", "", "f.txt", "1", 10), fe("b1", "", "f.txt", "1", 10)
	base := baseOfEntries(1, fa, fb)
	da, db := de("ad", "", "d"), de("bd", "", "d")
	dbase := baseOfEntries(2, da, db)
	later := t0.Add(time.Hour)

	tests := []struct {
		name string
		pair []func(*Pair)
		obs  []observation
		want []string
	}{
		{"unchanged/unchanged", nil, []observation{same(same(obs(base, nil, nil), SideA), SideB)}, nil},
		{"A created file", nil, []observation{obs(nil, fe("a2", "", "n.txt", "1", 1), nil)},
			[]string{"copy B n.txt"}},
		{"A created folder", nil, []observation{obs(nil, de("a2", "", "n"), nil)},
			[]string{"mkdir B n"}},
		{"A created, one-way", []func(*Pair){oneWay}, []observation{obs(nil, fe("a2", "", "n.txt", "1", 1), nil)},
			[]string{"copy B n.txt"}},
		{"A modified", nil, []observation{same(obs(base, mod(fa, "2", 11, later), nil), SideB)},
			[]string{"update B f.txt"}},
		{"A moved file", nil, []observation{same(obs(base, moved(fa, "", "g.txt"), nil), SideB)},
			[]string{"move B g.txt <- f.txt"}},
		{"A moved folder", nil, []observation{same(obs(dbase, moved(da, "", "e"), nil), SideB)},
			[]string{"move B e <- d"}},
		{"B created file two-way", nil, []observation{obs(nil, nil, fe("b2", "", "n.txt", "1", 1))},
			[]string{"copy A n.txt"}},
		{"B created folder two-way", nil, []observation{obs(nil, nil, de("b2", "", "n"))},
			[]string{"mkdir A n"}},
		{"B created one-way: drift", []func(*Pair){oneWay}, []observation{obs(nil, nil, fe("b2", "", "n.txt", "1", 1))},
			[]string{"drift B n.txt"}},
		{"B modified two-way", nil, []observation{same(obs(base, nil, mod(fb, "2", 11, later)), SideA)},
			[]string{"update A f.txt"}},
		{"B modified one-way: drift", []func(*Pair){oneWay}, []observation{same(obs(base, nil, mod(fb, "2", 11, later)), SideA)},
			[]string{"drift B f.txt"}},
		{"B moved two-way", nil, []observation{same(obs(base, nil, moved(fb, "", "g.txt")), SideA)},
			[]string{"move A g.txt <- f.txt"}},
		{"B moved folder two-way", nil, []observation{same(obs(dbase, nil, moved(db, "", "e")), SideA)},
			[]string{"move A e <- d"}},
		{"B moved one-way: drift", []func(*Pair){oneWay}, []observation{same(obs(base, nil, moved(fb, "", "g.txt")), SideA)},
			[]string{"drift B g.txt"}},
		{"B folder moved one-way: drift", []func(*Pair){oneWay}, []observation{same(obs(dbase, nil, moved(db, "", "e")), SideA)},
			[]string{"drift B e"}},
		{"one-way: A changes after drift overwrites B", []func(*Pair){oneWay},
			[]observation{obs(base, mod(fa, "3", 12, later), mod(fb, "2", 11, later))},
			[]string{"update B f.txt"}},
		{"one-way: A moves, B drifted elsewhere: B follows", []func(*Pair){oneWay},
			[]observation{obs(base, moved(fa, "", "a.txt"), moved(fb, "", "b.txt"))},
			[]string{"move B a.txt <- b.txt"}},
		{"both modified, equal content: link", nil, []observation{func() observation {
			o := obs(base, mod(fa, "2", 11, later), mod(fb, "x", 11, later))
			o.Same = verdictEqual
			return o
		}()}, []string{"link B f.txt"}},
		{"both modified, same hash: link", nil,
			[]observation{obs(base, mod(fa, "2", 11, later), mod(fb, "2", 11, t0))},
			[]string{"link B f.txt"}},
		{"both modified: newest (B) wins, A keeps versions", nil,
			[]observation{obs(base, mod(fa, "2", 11, t0), mod(fb, "3", 12, later))},
			[]string{`conflict A f.txt winner=B copy=""`}},
		{"both modified: tie goes to A", nil,
			[]observation{obs(base, mod(fa, "2", 11, later), mod(fb, "3", 12, later))},
			[]string{`conflict B f.txt winner=A copy=""`}},
		{"both modified: loser without versions gets a conflict copy",
			[]func(*Pair){func(p *Pair) { p.B = memory.New(memory.WithVersionHistory(false)) }},
			[]observation{obs(base, mod(fa, "2", 11, later), mod(fb, "3", 12, t0))},
			[]string{`conflict B f.txt winner=A copy="f (conflict 2026-11-22 from SharePoint).txt"`}},
		{"both modified: prefer B", []func(*Pair){func(p *Pair) { p.Conflict = ConflictPreferB }},
			[]observation{obs(base, mod(fa, "2", 11, later), mod(fb, "3", 12, t0))},
			[]string{`conflict A f.txt winner=B copy=""`}},
		{"both modified: prefer A", []func(*Pair){func(p *Pair) { p.Conflict = ConflictPreferA }},
			[]observation{obs(base, mod(fa, "2", 11, t0), mod(fb, "3", 12, later))},
			[]string{`conflict B f.txt winner=A copy=""`}},
		{"both modified: keep both renames B's copy", []func(*Pair){func(p *Pair) { p.Conflict = ConflictKeepBoth }},
			[]observation{obs(base, mod(fa, "2", 11, t0), mod(fb, "3", 12, later))},
			[]string{`conflict B f.txt winner=A copy="f (conflict 2026-11-22 from SharePoint).txt"`}},
		{"created on both, same path, equal: link", nil, []observation{func() observation {
			o := obs(nil, fe("a2", "", "n.txt", "1", 1), fe("b2", "", "n.txt", "9", 1))
			o.Same = verdictEqual
			return o
		}()}, []string{"link B n.txt"}},
		{"created on both, matched by path, different: conflict", nil, []observation{
			obs(nil, fe("a2", "", "n.txt", "1", 1), nil),
			{Entry: [2]*storage.Entry{nil, mod(fe("b2", "", "n.txt", "9", 2), "9", 2, later)}, Same: verdictDifferent},
		}, []string{`conflict A n.txt winner=B copy=""`}},
		{"created folders on both: link", nil, []observation{obs(nil, de("a2", "", "n"), nil), obs(nil, nil, de("b2", "", "n"))},
			[]string{"link B n"}},
		{"A deleted, B unchanged: delete on B", nil, []observation{same(obs(base, nil, nil), SideB)},
			[]string{"delete B f.txt"}},
		{"A deleted folder, B unchanged", nil, []observation{same(obs(dbase, nil, nil), SideB)},
			[]string{"delete B d"}},
		{"B deleted, A unchanged two-way: delete on A", nil, []observation{same(obs(base, nil, nil), SideA)},
			[]string{"delete A f.txt"}},
		{"B deleted one-way: drift", []func(*Pair){oneWay}, []observation{same(obs(base, nil, nil), SideA)},
			[]string{"drift B f.txt"}},
		{"B deleted one-way then A changes: restored on B", []func(*Pair){oneWay},
			[]observation{obs(base, mod(fa, "2", 11, later), nil)}, []string{"copy B f.txt"}},
		{"A deleted, keep deletes: held", []func(*Pair){func(p *Pair) { p.Deletes = DeleteKeep }},
			[]observation{same(obs(base, nil, nil), SideB)}, []string{"hold-delete B f.txt"}},
		{"A deleted, B modified: restored on A", nil, []observation{obs(base, nil, mod(fb, "2", 11, later))},
			[]string{"copy A f.txt"}},
		{"A deleted, B modified, one-way: deleted on B", []func(*Pair){oneWay},
			[]observation{obs(base, nil, mod(fb, "2", 11, later))}, []string{"delete B f.txt"}},
		{"A moved, B modified: move on B, update A", nil,
			[]observation{obs(base, moved(fa, "", "g.txt"), mod(fb, "2", 11, later))},
			[]string{"move B g.txt <- f.txt", "update A g.txt"}},
		{"moved on both, B newer: A follows", nil, []observation{obs(base, moved(fa, "", "a.txt"),
			func() *storage.Entry { e := moved(fb, "", "b.txt"); e.ModTime = later; return e }())},
			[]string{"move A b.txt <- a.txt"}},
		{"moved on both, tie: B follows A", nil, []observation{obs(base, moved(fa, "", "a.txt"), moved(fb, "", "b.txt"))},
			[]string{"move B a.txt <- b.txt"}},
		{"deleted on both: forget", nil, []observation{obs(base, nil, nil)}, []string{"forget A f.txt"}},
		{"metadata-only change: link", nil, []observation{same(obs(base, func() *storage.Entry {
			e := *fa
			e.Version = "2"
			return &e
		}(), nil), SideB)}, []string{"link B f.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &planInput{Pair: testPair(tc.pair...), Now: t0, Observations: tc.obs}
			pl := buildPlan(in)
			require.Empty(t, pl.Refused)
			require.Equal(t, tc.want, summary(pl))
			require.Equal(t, pl, buildPlan(in), "deterministic")
		})
	}
}

func TestPlanFolderDeletedChildChanged(t *testing.T) {
	// A deleted folder d (with x and y in it); on B, x was modified and z
	// created inside d. The folder and the changed items are kept; y goes.
	da, db := de("ad", "", "d"), de("bd", "", "d")
	xa, xb := fe("ax", "ad", "d/x", "1", 1), fe("bx", "bd", "d/x", "1", 1)
	ya, yb := fe("ay", "ad", "d/y", "1", 1), fe("by", "bd", "d/y", "1", 1)
	in := &planInput{Pair: testPair(), Now: t0, Observations: []observation{
		same(obs(baseOfEntries(1, da, db), nil, nil), SideB),
		obs(baseOfEntries(2, xa, xb), nil, mod(xb, "2", 2, t0)),
		same(obs(baseOfEntries(3, ya, yb), nil, nil), SideB),
		obs(nil, nil, fe("bz", "bd", "d/z", "1", 1)),
	}}
	require.Equal(t, []string{"mkdir A d", "copy A d/x", "copy A d/z", "delete B d/y"}, summary(buildPlan(in)))
}

func TestPlanFolderDeletedTakesChildren(t *testing.T) {
	// A full listing reports the folder and its children deleted: one
	// Delete of the folder, counted for 3 items.
	da, db := de("ad", "", "d"), de("bd", "", "d")
	var o []observation
	o = append(o, same(obs(baseOfEntries(1, da, db), nil, nil), SideB))
	for i := range 2 {
		a := fe(fmt.Sprint("a", i), "ad", fmt.Sprint("d/", i), "1", 1)
		b := fe(fmt.Sprint("b", i), "bd", fmt.Sprint("d/", i), "1", 1)
		o = append(o, same(obs(baseOfEntries(int64(2+i), a, b), nil, nil), SideB))
	}
	pl := buildPlan(&planInput{Pair: testPair(), Now: t0, Observations: o})
	require.Equal(t, []string{"delete B d"}, summary(pl))
	require.Contains(t, pl.Actions[0].Reason, "3 items")
}

func TestPlanMoveThenCopyInside(t *testing.T) {
	// A renames folder d to e and creates e/new; B's unchanged child d/x is
	// addressed at its new place after the move.
	da, db := de("ad", "", "d"), de("bd", "", "d")
	xa, xb := fe("ax", "ad", "d/x", "1", 1), fe("bx", "bd", "d/x", "1", 1)
	in := &planInput{Pair: testPair(), Now: t0, Observations: []observation{
		same(obs(baseOfEntries(1, da, db), moved(da, "", "e"), nil), SideB),
		same(obs(baseOfEntries(2, xa, xb), mod(moved(xa, "ad", "e/x"), "2", 2, t0), nil), SideB),
		obs(nil, fe("an", "ad", "e/new", "1", 1), nil),
	}}
	pl := buildPlan(in)
	require.Equal(t, []string{"move B e <- d", "copy B e/new", "update B e/x"}, summary(pl))
	require.Equal(t, "e/x", pl.Actions[2].Target.Path)
	require.Equal(t, "bx", pl.Actions[2].Target.ID)
}

func manyDeletes(n int) []observation {
	var o []observation
	for i := range n {
		a := fe(fmt.Sprint("a", i), "", fmt.Sprintf("f%03d", i), "1", 1)
		b := fe(fmt.Sprint("b", i), "", fmt.Sprintf("f%03d", i), "1", 1)
		o = append(o, same(obs(baseOfEntries(int64(i+1), a, b), nil, nil), SideB))
	}
	return o
}

func count(pl Plan, k ActionKind) int {
	n := 0
	for _, a := range pl.Actions {
		if a.Kind == k {
			n++
		}
	}
	return n
}

func TestPlanDeleteLimit(t *testing.T) {
	tests := []struct {
		name               string
		limit, window, n   int
		wantDel, wantHeld  int
		firstDel, lastHeld string
	}{
		{"limit 25 of 100", 25, 0, 100, 25, 75, "f000", "f099"},
		{"10 already in the window", 25, 10, 100, 15, 85, "f000", "f099"},
		{"window exhausted", 25, 30, 5, 0, 5, "", "f004"},
		{"no limit", 0, 0, 100, 100, 0, "f000", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPair(func(p *Pair) { p.DeleteLimit, p.MassDeleteShare = tc.limit, -1 })
			in := &planInput{Pair: p, Now: t0, DeletesInWindow: tc.window, Observations: manyDeletes(tc.n)}
			pl := buildPlan(in)
			require.Empty(t, pl.Refused)
			require.Equal(t, tc.wantDel, count(pl, ActionDelete))
			require.Equal(t, tc.wantHeld, count(pl, ActionHoldDelete))
			// Deterministic choice: the first paths are deleted, the last held.
			var dels, held []string
			for _, a := range pl.Actions {
				if a.Kind == ActionDelete {
					dels = append(dels, a.Path)
				} else if a.Kind == ActionHoldDelete {
					held = append(held, a.Path)
					require.Contains(t, a.Reason, "delete limit")
				}
			}
			if tc.firstDel != "" {
				require.Contains(t, dels, tc.firstDel)
			}
			if tc.lastHeld != "" {
				require.Contains(t, held, tc.lastHeld)
			}
			for _, d := range dels {
				for _, h := range held {
					require.Less(t, d, h)
				}
			}
		})
	}
}

func TestPlanHeldKeysNotPlannedAgain(t *testing.T) {
	o := manyDeletes(3)
	pl := buildPlan(&planInput{Pair: testPair(), Now: t0, Observations: o, Held: map[int64]bool{2: true}})
	require.Equal(t, []string{"delete B f002", "delete B f000"}, summary(pl))
}

func TestPlanMassDeleteGuard(t *testing.T) {
	tests := []struct {
		name     string
		n, total int
		share    float64
		force    bool
		refused  bool
	}{
		{"20 of 30", 20, 30, 0, false, true},
		{"20 of 30 forced", 20, 30, 0, true, false},
		{"2 of 3 under the floor", 2, 3, 0, false, false},
		{"20 of 100", 20, 100, 0, false, false},
		{"20 of 100 with share 0.1", 20, 100, 0.1, false, true},
		{"guard disabled", 30, 30, -1, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPair(func(p *Pair) { p.MassDeleteShare = tc.share })
			in := &planInput{Pair: p, Now: t0, Force: tc.force, Observations: manyDeletes(tc.n),
				Count: [2]int{tc.total - tc.n, tc.total}}
			pl := buildPlan(in)
			if tc.refused {
				require.Contains(t, pl.Refused, "mass-delete guard")
				require.Equal(t, tc.n, count(pl, ActionDelete), "the refused plan still lists what would run")
			} else {
				require.Empty(t, pl.Refused)
			}
		})
	}
}

func TestPlanMassDeleteAfterMoves(t *testing.T) {
	// A renamed folder holding 50 files: a full listing sees every child
	// at a new path, but the children kept their parent: one Move, no
	// deletion, not refused.
	da, db := de("ad", "", "d"), de("bd", "", "d")
	o := []observation{same(obs(baseOfEntries(1, da, db), moved(da, "", "renamed"), nil), SideB)}
	for i := range 50 {
		a := fe(fmt.Sprint("a", i), "ad", fmt.Sprint("d/", i), "1", 1)
		b := fe(fmt.Sprint("b", i), "bd", fmt.Sprint("d/", i), "1", 1)
		o = append(o, same(obs(baseOfEntries(int64(2+i), a, b), moved(a, "ad", fmt.Sprint("renamed/", i)), nil), SideB))
	}
	pl := buildPlan(&planInput{Pair: testPair(), Now: t0, Observations: o, Count: [2]int{51, 51}})
	require.Empty(t, pl.Refused)
	require.Equal(t, []string{"move B renamed <- d"}, summary(pl))
}

func TestPlanProtectedRoot(t *testing.T) {
	in := &planInput{Pair: testPair(), Now: t0, RootGone: "root of side B (SharePoint) is gone",
		Observations: manyDeletes(5)}
	pl := buildPlan(in)
	require.Equal(t, "root of side B (SharePoint) is gone", pl.Refused)
	require.Empty(t, pl.Actions)
}

func sharePointLike() storage.NameRules {
	return storage.NameRules{InvalidChars: storage.DefaultInvalidChars, CaseInsensitive: true,
		NoTrailingPeriod: true, NoTrailingSpace: true}
}

func mapped(p *Pair) {
	p.NameMapping = true
	p.B = memory.New(memory.WithNameRules(sharePointLike()))
}

func TestPlanNameMapping(t *testing.T) {
	fa, fb := fe("a1", "", "a:b.txt", "1", 1), fe("b1", "", "a-b.txt", "1", 1)
	base := baseOfEntries(1, fa, fb)
	da, db := de("ad", "", "x:y"), de("bd", "", "x-y")
	dbase := baseOfEntries(2, da, db)
	occ := func(ps ...string) []uint64 {
		var h []uint64
		for _, p := range ps {
			h = append(h, occupiedHash(sharePointLike(), p))
		}
		slices.Sort(h)
		return h
	}
	tests := []struct {
		name string
		pair []func(*Pair)
		obs  []observation
		occB []uint64
		want []string
	}{
		{"new name is mapped", []func(*Pair){mapped}, []observation{obs(nil, fe("a2", "", "q?.txt", "1", 1), nil)}, nil,
			[]string{"copy B q-.txt"}},
		{"A modified keeps the remembered B name", []func(*Pair){mapped},
			[]observation{same(obs(base, mod(fa, "2", 2, t0), nil), SideB)}, nil, []string{"update B a-b.txt"}},
		{"B modified: A keeps its original name", []func(*Pair){mapped},
			[]observation{same(obs(base, nil, mod(fb, "2", 2, t0)), SideA)}, nil, []string{"update A a:b.txt"}},
		{"B moved into a folder: name on A stays", []func(*Pair){mapped}, []observation{
			same(same(obs(dbase, nil, nil), SideA), SideB),
			same(obs(base, nil, moved(fb, "bd", "x-y/a-b.txt")), SideA)}, nil,
			[]string{"move A x:y/a:b.txt <- a:b.txt"}},
		{"child of a mapped folder goes under its remembered path", []func(*Pair){mapped},
			[]observation{obs(nil, fe("a3", "ad", "x:y/n.txt", "1", 1), nil)}, nil,
			[]string{"copy B x-y/n.txt"}},
		{"two new names mapping to one", []func(*Pair){mapped}, []observation{
			obs(nil, fe("a2", "", "c:d.txt", "1", 1), nil), obs(nil, fe("a3", "", "c-d.txt", "1", 1), nil)}, nil,
			[]string{"copy B c-d (-0a6355).txt", "copy B c-d.txt"}},
		{"case collision between new names", []func(*Pair){mapped}, []observation{
			obs(nil, fe("a2", "", "Doc.txt", "1", 1), nil), obs(nil, fe("a3", "", "doc.txt", "1", 1), nil)}, nil,
			[]string{"copy B Doc.txt", "copy B doc (-df5451).txt"}},
		{"collision with an existing item on B", []func(*Pair){mapped},
			[]observation{obs(nil, fe("a2", "", "Report.txt", "1", 1), nil)}, occ("report.txt"),
			[]string{"copy B Report (-9d03bd).txt"}},
		{"mapping off: invalid name skipped, the rest syncs",
			[]func(*Pair){func(p *Pair) { p.B = memory.New(memory.WithNameRules(sharePointLike())) }},
			[]observation{obs(nil, fe("a2", "", "q?.txt", "1", 1), nil), obs(nil, fe("a3", "", "ok.txt", "1", 1), nil)}, nil,
			[]string{"copy B ok.txt", "skip B q?.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &planInput{Pair: testPair(tc.pair...), Now: t0, Observations: tc.obs}
			in.Occupied[SideB] = tc.occB
			in.Parents[SideA] = map[string]Item{"ad": *dbase}
			in.Parents[SideB] = map[string]Item{"bd": *dbase}
			pl := buildPlan(in)
			require.Equal(t, tc.want, summary(pl))
			for _, a := range pl.Actions {
				if a.Kind == ActionSkip {
					require.Contains(t, a.Reason, storage.InvalidName("q?.txt", `contains '?'`).Error())
					require.True(t, a.Failed, "an invalid name is a failure of the item, not a choice")
				} else {
					require.False(t, a.Failed)
				}
			}
		})
	}
}

func TestPlanFilters(t *testing.T) {
	fa, fb := fe("a1", "", "tmp/f.txt", "1", 10), fe("b1", "", "tmp/f.txt", "1", 10)
	base := baseOfEntries(1, fa, fb)
	big := fe("a3", "", "big.bin", "1", 1<<20)
	p := func(p *Pair) { p.Filter = Filter{Exclude: []string{"tmp/**", "*.log"}, MaxSize: 1000} }
	in := &planInput{Pair: testPair(p), Now: t0, Observations: []observation{
		same(obs(base, nil, nil), SideB),             // deleted on A, but excluded: B keeps it
		obs(nil, fe("a2", "", "x.log", "1", 1), nil), // excluded by name
		obs(nil, big, nil),                           // too large
		obs(nil, fe("a4", "", "ok.txt", "1", 1), nil),
	}}
	require.Equal(t, []string{"copy B ok.txt"}, summary(buildPlan(in)))
}

func TestPlanQuarantinedSkipped(t *testing.T) {
	in := &planInput{Pair: testPair(), Now: t0,
		Observations: []observation{obs(nil, fe("a2", "", "bad.txt", "1", 1), nil)},
		Quarantined:  []Failure{{PairID: "p1", Side: SideB, Path: "bad.txt", Error: "boom", Attempts: 9, Quarantined: true}}}
	pl := buildPlan(in)
	require.Equal(t, []string{"skip B bad.txt"}, summary(pl))
	require.Contains(t, pl.Actions[0].Reason, "quarantined")
}

func TestPlanStandardInitialOrder(t *testing.T) {
	in := &planInput{Pair: testPair(), Now: t0, Initial: true, Observations: []observation{
		obs(nil, fe("f2", "d2", "a/b/z.txt", "1", 1), nil),
		obs(nil, de("d2", "d1", "a/b"), nil),
		obs(nil, fe("f1", "", "top.txt", "1", 1), nil),
		obs(nil, de("d1", "", "a"), nil),
	}}
	require.Equal(t, []string{"mkdir B a", "mkdir B a/b", "copy B a/b/z.txt", "copy B top.txt"}, summary(buildPlan(in)))
}

func TestPlanReplacedFileIsAnUpdate(t *testing.T) {
	// An editor saved f.txt as a new file (new ID) on A: B's file is
	// updated in place, not deleted and copied under another name.
	fa, fb := fe("a1", "", "f.txt", "1", 10), fe("b1", "", "f.txt", "1", 10)
	in := &planInput{Pair: testPair(), Now: t0, Observations: []observation{
		same(obs(baseOfEntries(1, fa, fb), nil, nil), SideB),
		obs(nil, fe("a9", "", "f.txt", "2", 11), nil),
	}}
	in.Occupied[SideB] = []uint64{occupiedHash(storage.NameRules{}, "f.txt")}
	pl := buildPlan(in)
	require.Equal(t, []string{"update B f.txt"}, summary(pl))
	require.Equal(t, "a9", pl.Actions[0].Source.ID)
	require.Equal(t, int64(1), pl.Actions[0].Key)
}

func TestConflictName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report (conflict 2026-11-22 from SharePoint).pdf"},
		{"noext", "noext (conflict 2026-11-22 from SharePoint)"},
		{".bashrc", ".bashrc (conflict 2026-11-22 from SharePoint)"},
		{"a.tar.gz", "a.tar (conflict 2026-11-22 from SharePoint).gz"},
	} {
		require.Equal(t, tc.want, ConflictName(tc.in, t0, "SharePoint"))
	}
}

func TestPlanString(t *testing.T) {
	pl := buildPlan(&planInput{Pair: testPair(), Now: t0, Observations: []observation{obs(nil, fe("a2", "", "n.txt", "1", 1), nil)}})
	require.True(t, strings.Contains(pl.String(), `copy        B "n.txt"`), pl.String())
	require.Equal(t, "no pair to plan", buildPlan(nil).Refused)
}

// simulate applies the folder creations and moves of side s of a plan to
// a tree of paths, failing where a storage would refuse: a Move whose item
// is not at Target.Path, an item put where one is, or into a missing
// folder. It returns the tree after the plan's structural actions.
func simulate(t *testing.T, pl Plan, s Side, tree ...string) map[string]bool {
	t.Helper()
	have := map[string]bool{"": true}
	for _, p := range tree {
		have[p] = true
	}
	for _, a := range pl.Actions {
		if a.Side != s || (a.Kind != ActionMkdir && a.Kind != ActionMove) {
			continue
		}
		require.True(t, have[dirOf(a.Path)], "%s: folder %q missing\n%s", a, dirOf(a.Path), pl)
		require.False(t, have[a.Path], "%s: %q is taken\n%s", a, a.Path, pl)
		if a.Kind == ActionMkdir {
			have[a.Path] = true
			continue
		}
		require.True(t, have[a.Target.Path], "%s: nothing at %q\n%s", a, a.Target.Path, pl)
		for p := range have {
			if p == a.Target.Path || isUnder(p, a.Target.Path) {
				delete(have, p)
				have[a.Path+p[len(a.Target.Path):]] = true
			}
		}
	}
	return have
}

func TestPlanStructureOrder(t *testing.T) {
	later := t0.Add(time.Hour)
	// Folder records: A and B IDs "a"+name, "b"+name.
	dir := func(key int64, id, parent, p string) (*storage.Entry, *storage.Entry, *Item) {
		pa, pb := "", ""
		if parent != "" {
			pa, pb = "a"+parent, "b"+parent
		}
		a, b := de("a"+id, pa, p), de("b"+id, pb, p)
		return a, b, baseOfEntries(key, a, b)
	}
	file := func(key int64, id, parent, p string) (*storage.Entry, *storage.Entry, *Item) {
		pa, pb := "", ""
		if parent != "" {
			pa, pb = "a"+parent, "b"+parent
		}
		a, b := fe("a"+id, pa, p, "1", 1), fe("b"+id, pb, p, "1", 1)
		return a, b, baseOfEntries(key, a, b)
	}
	tests := []struct {
		name string
		obs  func() []observation
		tree []string // side B before the plan
		want []string // side B after it
	}{
		{"mkdir at the path a move frees", func() []observation {
			da, _, d := dir(1, "d", "", "d")
			return []observation{
				same(obs(d, moved(da, "", "e"), nil), SideB),
				obs(nil, de("anew", "", "d"), nil),
			}
		}, []string{"d"}, []string{"d", "e"}},
		{"move into a folder created where a moved one was", func() []observation {
			da, _, d := dir(1, "d", "", "d")
			xa, _, x := file(2, "x", "", "x.txt")
			return []observation{
				same(obs(d, moved(da, "", "e"), nil), SideB),
				obs(nil, de("anew", "", "d"), nil),
				same(obs(x, moved(xa, "anew", "d/x.txt"), nil), SideB),
			}
		}, []string{"d", "x.txt"}, []string{"d", "d/x.txt", "e"}},
		{"swap of two names", func() []observation {
			aa, _, a := file(1, "1", "", "a.txt")
			ba, _, b := file(2, "2", "", "b.txt")
			return []observation{
				same(obs(a, moved(aa, "", "b.txt"), nil), SideB),
				same(obs(b, moved(ba, "", "a.txt"), nil), SideB),
			}
		}, []string{"a.txt", "b.txt"}, []string{"a.txt", "b.txt"}},
		{"rotation of three folders", func() []observation {
			xa, _, x := dir(1, "x", "", "x")
			ya, _, y := dir(2, "y", "", "y")
			za, _, z := dir(3, "z", "", "z")
			return []observation{
				same(obs(x, moved(xa, "", "y"), nil), SideB),
				same(obs(y, moved(ya, "", "z"), nil), SideB),
				same(obs(z, moved(za, "", "x"), nil), SideB),
			}
		}, []string{"x", "y", "z", "x/f", "y/g"}, []string{"x", "y", "z", "y/f", "z/g"}},
		{"child moved out before its folder sorts", func() []observation {
			za, _, z := dir(1, "z", "", "z")
			zb, _, zbi := dir(2, "zb", "z", "z/b")
			xa, _, x := file(3, "x", "zb", "z/b/x")
			return []observation{
				same(same(obs(z, nil, nil), SideA), SideB),
				same(obs(zbi, moved(zb, "", "c"), nil), SideB),
				same(obs(x, moved(xa, "", "a.txt"), nil), SideB),
				same(obs(baseOfEntries(9, za, za), nil, nil), SideA), // unrelated, ignored
			}[:3]
		}, []string{"z", "z/b", "z/b/x"}, []string{"z", "c", "a.txt"}},
		{"folder moved into its own former child", func() []observation {
			aa, _, a := dir(1, "a", "", "a")
			ba, _, b := dir(2, "b", "a", "a/b")
			return []observation{
				same(obs(a, moved(aa, "ab", "b/a"), nil), SideB),
				same(obs(b, moved(ba, "", "b"), nil), SideB),
			}
		}, []string{"a", "a/b"}, []string{"b", "b/a"}},
	}
	_ = later
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &planInput{Pair: testPair(), Now: t0, Observations: tc.obs()}
			pl := buildPlan(in)
			require.Empty(t, pl.Refused)
			got := simulate(t, pl, SideB, tc.tree...)
			delete(got, "")
			var paths []string
			for p := range got {
				paths = append(paths, p)
			}
			slices.Sort(paths)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			require.Equal(t, want, paths, "%s", pl)
			require.Equal(t, pl, buildPlan(in), "deterministic")
		})
	}
}

func TestPlanLinksAndPaths(t *testing.T) {
	noHist := func(p *Pair) { p.B = memory.New(memory.WithVersionHistory(false)) }
	da, db := de("ad", "", "d"), de("bd", "", "d")
	dbase := baseOfEntries(1, da, db)
	xa, xb := fe("ax", "ad", "d/x", "1", 1), fe("bx", "bd", "d/x", "1", 1)
	xbase := baseOfEntries(2, xa, xb)
	fa, fb := fe("af", "", "f.txt", "1", 1), fe("bf", "", "f.txt", "1", 1)
	fbase := baseOfEntries(3, fa, fb)
	later := t0.Add(time.Hour)
	tests := []struct {
		name   string
		pair   []func(*Pair)
		obs    []observation
		occB   []string
		want   []string
		target map[string]string // action summary → its Target.Path
	}{
		{"folder moved to the same place on both sides: link", nil,
			[]observation{obs(dbase, moved(da, "", "e"), moved(db, "", "e"))},
			nil, []string{"link B e"}, map[string]string{"link B e": "e"}},
		{"conflict copy name taken: numbered", []func(*Pair){noHist},
			[]observation{obs(fbase, mod(fa, "2", 2, later), mod(fb, "3", 3, t0))},
			[]string{"f (conflict 2026-11-22 from SharePoint).txt"},
			[]string{`conflict B f.txt winner=A copy="f (conflict 2026-11-22 from SharePoint) (2).txt"`}, nil},
		{"update of a child of a moved folder targets its new path", nil, []observation{
			same(obs(dbase, moved(da, "", "e"), nil), SideB),
			same(obs(xbase, mod(xa, "2", 2, later), nil), SideB)},
			nil, []string{"move B e <- d", "update B e/x"}, map[string]string{"update B e/x": "e/x"}},
		{"moved and changed on both sides equal: move then link at the new path", nil, []observation{func() observation {
			o := obs(fbase, mod(moved(fa, "", "g.txt"), "2", 2, later), mod(fb, "3", 2, t0))
			o.Same = verdictEqual
			return o
		}()}, nil, []string{"move B g.txt <- f.txt", "link B g.txt"}, map[string]string{"link B g.txt": "g.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &planInput{Pair: testPair(tc.pair...), Now: t0, Observations: tc.obs}
			for _, p := range tc.occB {
				in.Occupied[SideB] = append(in.Occupied[SideB], occupiedHash(storage.NameRules{}, p))
			}
			slices.Sort(in.Occupied[SideB])
			pl := buildPlan(in)
			require.Equal(t, tc.want, summary(pl))
			for i, s := range summary(pl) {
				if want, ok := tc.target[s]; ok {
					require.Equal(t, want, pl.Actions[i].Target.Path, s)
				}
			}
		})
	}
}

func TestPlanDisambiguatedNameTakenPicksAnother(t *testing.T) {
	// A new a.txt on A: B's a.txt and its first alternative, "a (~…).txt",
	// are taken by items the plan does not observe (Occupied, as after a
	// full listing). The copy takes the next free alternative.
	in := &planInput{Pair: testPair(), Now: t0, Observations: []observation{
		obs(nil, fe("a9", "", "a.txt", "1", 10), nil),
	}}
	first := storage.Disambiguate("a.txt", "a.txt")
	second := storage.Disambiguate("a (2).txt", "a (2).txt")
	for _, p := range []string{"a.txt", first} {
		in.Occupied[SideB] = append(in.Occupied[SideB], occupiedHash(storage.NameRules{}, p))
	}
	slices.Sort(in.Occupied[SideB])
	require.Equal(t, []string{"copy B " + second}, summary(buildPlan(in)))
}

// A file restored on A (deleted there, changed on B) goes into its
// folder where the folder's own record has it on A, even when the file's
// record remembers the folder elsewhere (the folder was recreated on A
// under its new name after being deleted there in the middle of a move).
func TestRestoreFollowsTheFolderRecord(t *testing.T) {
	dirA, dirB := de("dA2", "", "z5"), de("dB", "", "z5")
	folder := baseOfEntries(1, dirA, dirB)
	fileA, fileB := fe("fA", "dA1", "x/a.txt", "1", 1), fe("fB", "dB", "z5/a.txt", "1", 1)
	file := baseOfEntries(2, fileA, fileB)
	o := []observation{obs(file, nil, mod(fileB, "2", 2, t0.Add(time.Minute)))}
	pl := buildPlan(&planInput{Pair: testPair(), Now: t0, Observations: o,
		Parents: [2]map[string]Item{SideB: {"dB": *folder}}})
	require.Equal(t, []string{"copy A z5/a.txt"}, summary(pl))
}

package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

func testPairState(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	st, err := s.LoadPair(ctx, "unknown")
	require.NoError(t, err)
	require.Equal(t, syncengine.PairState{}, st, "an unknown pair has the zero state")

	full := syncengine.PairState{Initialized: true, Paused: true, PauseReason: "root \"Documents\" vanished",
		CursorA: "2026-11-22T09:30:15Z", CursorB: "https://graph/delta?token=é%_", RootA: "123", RootB: "01ABC",
		LastRun: at(time.Hour), LastSuccess: t0}
	tests := []struct {
		name string
		st   syncengine.PairState
	}{
		{"every field", full},
		{"replaced by another", syncengine.PairState{CursorA: "c2", LastRun: at(2 * time.Hour)}},
		{"back to zero", syncengine.PairState{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, s.SavePair(ctx, "p1", tc.st))
			got, err := s.LoadPair(ctx, "p1")
			require.NoError(t, err)
			require.True(t, tc.st.LastRun.Equal(got.LastRun), "LastRun %v != %v", tc.st.LastRun, got.LastRun)
			require.True(t, tc.st.LastSuccess.Equal(got.LastSuccess), "LastSuccess %v != %v", tc.st.LastSuccess, got.LastSuccess)
			require.Equal(t, tc.st.LastRun.IsZero(), got.LastRun.IsZero())
			want := tc.st
			want.LastRun, want.LastSuccess = normTime(want.LastRun), normTime(want.LastSuccess)
			got.LastRun, got.LastSuccess = normTime(got.LastRun), normTime(got.LastSuccess)
			require.Equal(t, want, got)
		})
	}
	require.NoError(t, s.SavePair(ctx, "p2", full))
	st, err = s.LoadPair(ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, syncengine.PairState{}, st, "saving p2 must not change p1")

	// A pair that has items but no saved state still has the zero state.
	put(t, s, "p3", file("x"))
	st, err = s.LoadPair(ctx, "p3")
	require.NoError(t, err)
	require.Equal(t, syncengine.PairState{}, st)
}

func testBadInput(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	bad := syncengine.Side(7)
	tests := []struct {
		name string
		call func() error
	}{
		{"LoadPair empty pair", func() error { _, err := s.LoadPair(ctx, ""); return err }},
		{"SavePair empty pair", func() error { return s.SavePair(ctx, "", syncengine.PairState{}) }},
		{"PutItems empty pair", func() error { return s.PutItems(ctx, "", []syncengine.Item{file("a")}, nil) }},
		{"ItemByID bad side", func() error { _, err := s.ItemByID(ctx, "p", bad, "x"); return err }},
		{"ItemByPath bad side", func() error { _, err := s.ItemByPath(ctx, "p", bad, "x"); return err }},
		{"ItemsUnder bad side", func() error {
			for _, err := range s.ItemsUnder(ctx, "p", bad, "x") {
				return err
			}
			return nil
		}},
		{"MovePrefix bad side", func() error { return s.MovePrefix(ctx, "p", bad, "a", "b") }},
		{"ScanBaseline empty pair", func() error {
			return s.ScanBaseline(ctx, "", func(*syncengine.BaselineRow) error { return nil })
		}},
		{"BeginAction empty pair", func() error { _, err := s.BeginAction(ctx, syncengine.JournalRecord{}); return err }},
		{"StartRun empty pair", func() error { _, err := s.StartRun(ctx, syncengine.Run{}); return err }},
		{"Runs negative limit", func() error { _, err := s.Runs(ctx, "p", syncengine.Page{Limit: -1}); return err }},
		{"Activity negative offset", func() error { _, err := s.Activity(ctx, "p", syncengine.Page{Offset: -1}); return err }},
		{"RunActivity empty pair", func() error { _, err := s.RunActivity(ctx, "", 1, syncengine.Page{}); return err }},
		{"RunActivity negative limit", func() error { _, err := s.RunActivity(ctx, "p", 1, syncengine.Page{Limit: -1}); return err }},
		{"Errors negative limit", func() error { _, err := s.Errors(ctx, "p", syncengine.Page{Limit: -5}); return err }},
		{"AddError bad side", func() error { return s.AddError(ctx, syncengine.ErrorRecord{PairID: "p", Side: bad}) }},
		{"PutFailure bad side", func() error { return s.PutFailure(ctx, syncengine.Failure{PairID: "p", Side: bad}) }},
		{"RecordDeletes negative", func() error { return s.RecordDeletes(ctx, "p", t0, -1) }},
		{"HoldDeletes bad side", func() error {
			return s.HoldDeletes(ctx, []syncengine.HeldDelete{{PairID: "p", Key: 1, DeletedOn: bad}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.call() })
			require.Error(t, err)
		})
	}
}

func testPutItemsInsert(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	n, err := s.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, collect(t, s.Items(ctx, "p")))

	items := []syncengine.Item{dir("Docs"), file("Docs/a.pdf"), file("Docs/b.pdf")}
	require.NoError(t, s.PutItems(ctx, "p", items, nil))
	seen := map[int64]bool{}
	for _, it := range items {
		require.NotZero(t, it.Key)
		require.False(t, seen[it.Key], "keys must be distinct")
		seen[it.Key] = true
	}
	requireItemsEqual(t, items, collect(t, s.Items(ctx, "p")))
	n, err = s.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, 3, n)

	// Empty calls are no-ops.
	require.NoError(t, s.PutItems(ctx, "p", nil, nil))
	n, err = s.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, 3, n)
}

func testPutItemsReplaceDelete(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	items := put(t, s, "p", file("a"), file("b"), file("c"), file("d"))

	// Replace b, delete a and c, insert e, all in one call.
	b := items[1]
	b.A.Version, b.A.Size, b.B.Path, b.B.Hashes = "v2", 99, "b renamed", nil
	e := file("e")
	batch := []syncengine.Item{b, e}
	require.NoError(t, s.PutItems(ctx, "p", batch, []int64{items[0].Key, items[2].Key}))
	require.Equal(t, b.Key, batch[0].Key, "a replaced item keeps its Key")
	require.NotZero(t, batch[1].Key)
	require.NotEqual(t, b.Key, batch[1].Key)

	got := collect(t, s.Items(ctx, "p"))
	requireItemsEqual(t, []syncengine.Item{b, items[3], batch[1]}, got)
	_, err := s.ItemByID(ctx, "p", syncengine.SideA, "a:a")
	require.ErrorIs(t, err, syncengine.ErrNoItem)
	_, err = s.ItemByPath(ctx, "p", syncengine.SideB, "b")
	require.ErrorIs(t, err, syncengine.ErrNoItem, "the old side-B path must be gone")
	it, err := s.ItemByPath(ctx, "p", syncengine.SideB, "b renamed")
	require.NoError(t, err)
	requireItemsEqual(t, []syncengine.Item{b}, []syncengine.Item{it})

	// Deleting absent keys is not an error; deleted keys are not reused.
	require.NoError(t, s.PutItems(ctx, "p", nil, []int64{items[0].Key, 1 << 40}))
	f := put(t, s, "p", file("f"))[0]
	for _, k := range []int64{items[0].Key, items[2].Key} {
		require.NotEqual(t, k, f.Key, "a deleted Key must not be reused")
	}
	n, err := s.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, 4, n)

	// Not even the highest Key is reused after its deletion.
	require.NoError(t, s.PutItems(ctx, "p", nil, []int64{f.Key}))
	g := put(t, s, "p", file("g"))[0]
	require.NotEqual(t, f.Key, g.Key, "a deleted Key must not be reused")
}

func testPutItemsAtomic(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	items := put(t, s, "p", file("a"), file("b"))
	before := collect(t, s.Items(ctx, "p"))

	changed := items[0]
	changed.A.Version = "changed"
	missing := file("ghost")
	missing.Key = items[1].Key + 1000
	batch := []syncengine.Item{file("new"), changed, missing}
	err := s.PutItems(ctx, "p", batch, []int64{items[1].Key})
	require.ErrorIs(t, err, syncengine.ErrNoItem, "replacing a Key the pair does not have")
	requireItemsEqual(t, before, collect(t, s.Items(ctx, "p")), "a failed PutItems must write nothing")
}

func testHashesAndTimes(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	tests := []struct {
		name string
		side syncengine.SideState
	}{
		{"no hashes, zero time", syncengine.SideState{ID: "1", Path: "p1"}},
		{"empty hash map", syncengine.SideState{ID: "2", Path: "p2", Hashes: storage.Hashes{}}},
		{"every known kind", syncengine.SideState{ID: "3", Path: "p3", ModTime: t0, Hashes: storage.Hashes{
			storage.HashMD5:      "d41d8cd98f00b204e9800998ecf8427e",
			storage.HashSHA1:     "da39a3ee5e6b4b0d3255bfef95601890afd80709",
			storage.HashSHA256:   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			storage.HashQuickXor: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			storage.HashDropbox:  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		}}},
		{"non-canonical values kept as given", syncengine.SideState{ID: "4", Path: "p4", Hashes: storage.Hashes{
			storage.HashSHA1:     "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
			storage.HashMD5:      "not hex",
			storage.HashQuickXor: "AAAA AAAA",
			storage.HashSHA256:   "",
			storage.HashDropbox:  "abc",
		}}},
		{"unknown kind", syncengine.SideState{ID: "5", Path: "p5", Hashes: storage.Hashes{"crc32c": "AAAAAA==", "x-é": "☃"}}},
		{"times with nanoseconds and zones", syncengine.SideState{ID: "6", Path: "p6",
			ModTime: time.Date(2262, 1, 1, 0, 0, 0, 1, time.FixedZone("", -7*3600))}},
		{"before 1970", syncengine.SideState{ID: "7", Path: "p7", ModTime: time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)}},
		{"large sizes and odd strings", syncengine.SideState{ID: "8\x00nul", ParentID: "☃", Path: "a/%_\\/b",
			Version: "\"etag\"{1}", Size: 1 << 50}},
	}
	var items []syncengine.Item
	for _, tc := range tests {
		items = append(items, syncengine.Item{A: tc.side, B: tc.side})
	}
	require.NoError(t, s.PutItems(ctx, "p", items, nil))
	got := collect(t, s.Items(ctx, "p"))
	require.Len(t, got, len(tests))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, side := range []syncengine.Side{syncengine.SideA, syncengine.SideB} {
				w, g := *items[i].Side(side), *got[i].Side(side)
				require.True(t, w.ModTime.Equal(g.ModTime), "ModTime %v != %v", w.ModTime, g.ModTime)
				require.Equal(t, w.ModTime.IsZero(), g.ModTime.IsZero())
				require.Equal(t, normSide(w), normSide(g))
			}
			byID, err := s.ItemByID(ctx, "p", syncengine.SideB, tc.side.ID)
			require.NoError(t, err)
			requireItemsEqual(t, []syncengine.Item{items[i]}, []syncengine.Item{byID})
		})
	}
}

func testItemLookups(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	it := file("Docs/plan.pdf")
	it.B.ID, it.B.Path = "01XYZ", "Docs/plan-mapped.pdf"
	other := file("Docs/other.pdf")
	items := put(t, s, "p", it, other)
	put(t, s, "q", it) // the same IDs and paths in another pair

	tests := []struct {
		name    string
		lookup  func() (syncengine.Item, error)
		want    *syncengine.Item
		wantErr error
	}{
		{"A by ID", func() (syncengine.Item, error) { return s.ItemByID(ctx, "p", syncengine.SideA, "a:Docs/plan.pdf") }, &items[0], nil},
		{"B by ID", func() (syncengine.Item, error) { return s.ItemByID(ctx, "p", syncengine.SideB, "01XYZ") }, &items[0], nil},
		{"A by path", func() (syncengine.Item, error) { return s.ItemByPath(ctx, "p", syncengine.SideA, "Docs/plan.pdf") }, &items[0], nil},
		{"B by path", func() (syncengine.Item, error) {
			return s.ItemByPath(ctx, "p", syncengine.SideB, "Docs/plan-mapped.pdf")
		}, &items[0], nil},
		{"other item", func() (syncengine.Item, error) { return s.ItemByPath(ctx, "p", syncengine.SideB, "Docs/other.pdf") }, &items[1], nil},
		{"A ID looked up on B", func() (syncengine.Item, error) { return s.ItemByID(ctx, "p", syncengine.SideB, "a:Docs/plan.pdf") }, nil, syncengine.ErrNoItem},
		{"B path looked up on A", func() (syncengine.Item, error) {
			return s.ItemByPath(ctx, "p", syncengine.SideA, "Docs/plan-mapped.pdf")
		}, nil, syncengine.ErrNoItem},
		{"unknown ID", func() (syncengine.Item, error) { return s.ItemByID(ctx, "p", syncengine.SideA, "nope") }, nil, syncengine.ErrNoItem},
		{"folder path is not a file", func() (syncengine.Item, error) { return s.ItemByPath(ctx, "p", syncengine.SideA, "Docs") }, nil, syncengine.ErrNoItem},
		{"path prefix is not a match", func() (syncengine.Item, error) { return s.ItemByPath(ctx, "p", syncengine.SideA, "Docs/plan") }, nil, syncengine.ErrNoItem},
		{"unknown pair", func() (syncengine.Item, error) { return s.ItemByID(ctx, "none", syncengine.SideA, "a:Docs/plan.pdf") }, nil, syncengine.ErrNoItem},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.lookup()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.True(t, errors.Is(err, syncengine.ErrNoItem))
				return
			}
			require.NoError(t, err)
			requireItemsEqual(t, []syncengine.Item{*tc.want}, []syncengine.Item{got})
		})
	}
}

func testItemsOrder(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	// Paths in reverse order, several batches, replacements: Items stays in Key order.
	var all []syncengine.Item
	for batch := 0; batch < 3; batch++ {
		var b []syncengine.Item
		for i := 0; i < 20; i++ {
			b = append(b, file(string(rune('z'-i))+"/"+string(rune('0'+batch))))
		}
		all = append(all, put(t, s, "p", b...)...)
	}
	upd := all[5]
	upd.A.Path = "0 first by path"
	require.NoError(t, s.PutItems(ctx, "p", []syncengine.Item{upd}, nil))
	all[5] = upd
	got := collect(t, s.Items(ctx, "p"))
	require.Len(t, got, len(all))
	for i := 1; i < len(got); i++ {
		require.Less(t, got[i-1].Key, got[i].Key, "Items must be ordered by Key")
	}
	byKey := map[int64]syncengine.Item{}
	for _, it := range all {
		byKey[it.Key] = it
	}
	for _, g := range got {
		requireItemsEqual(t, []syncengine.Item{byKey[g.Key]}, []syncengine.Item{g})
	}
}

func testItemsNesting(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	var items []syncengine.Item
	for i := 0; i < 50; i++ {
		items = append(items, file("f"+string(rune('A'+i))))
	}
	items = put(t, s, "p", items...)

	// Stopping early releases what the iteration held.
	for range 20 {
		for _, err := range s.Items(ctx, "p") {
			require.NoError(t, err)
			break
		}
	}
	// Reading and writing while iterating.
	n := 0
	for it, err := range s.Items(ctx, "p") {
		require.NoError(t, err)
		got, err := s.ItemByID(ctx, "p", syncengine.SideA, it.A.ID)
		require.NoError(t, err)
		require.Equal(t, it.Key, got.Key)
		it.A.Version = "touched"
		require.NoError(t, s.PutItems(ctx, "p", []syncengine.Item{it}, nil))
		n++
	}
	require.Equal(t, len(items), n)
	for _, it := range collect(t, s.Items(ctx, "p")) {
		require.Equal(t, "touched", it.A.Version)
	}
}

func testItemsUnder(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	all := []string{
		"a", "a/b", "a/b/c.txt", "a/b/d", "a/b/d/e.txt",
		"a/bc", "a/bc/x.txt", "a/b c", "a/b c/y.txt", "a/b-", "a/b.txt", "a/b0",
		"100%", "100%/x", "1000/x", "1_0", "1_0/x", "1x0/x",
		"Ünïcødé", "Ünïcødé/文件.txt", "Ünïcødé/sub/ß", "Ünïcødé2/z",
		"b",
	}
	var items []syncengine.Item
	for _, p := range all {
		it := file(p)
		it.B.Path = "B/" + p // side B paths are different, to test per side
		items = append(items, it)
	}
	put(t, s, "p", items...)
	put(t, s, "other", file("a/b/other-pair.txt"))

	tests := []struct {
		prefix string
		want   []string
	}{
		{"a/b", []string{"a/b/c.txt", "a/b/d", "a/b/d/e.txt"}},
		{"a/b/", []string{"a/b/c.txt", "a/b/d", "a/b/d/e.txt"}},
		{"a/b/d", []string{"a/b/d/e.txt"}},
		{"a/bc", []string{"a/bc/x.txt"}},
		{"a/b c", []string{"a/b c/y.txt"}},
		{"a", []string{"a/b", "a/b c", "a/b c/y.txt", "a/b-", "a/b.txt", "a/b/c.txt", "a/b/d", "a/b/d/e.txt", "a/b0", "a/bc", "a/bc/x.txt"}},
		{"100%", []string{"100%/x"}},
		{"1_0", []string{"1_0/x"}},
		{"1%", nil},
		{"1_", nil},
		{"Ünïcødé", []string{"Ünïcødé/sub/ß", "Ünïcødé/文件.txt"}},
		{"Ünïcødé/sub", []string{"Ünïcødé/sub/ß"}},
		{"a/b/c.txt", nil},
		{"nothing", nil},
		{"", all},
	}
	for _, side := range []syncengine.Side{syncengine.SideA, syncengine.SideB} {
		for _, tc := range tests {
			t.Run(side.String()+" "+tc.prefix, func(t *testing.T) {
				prefix, want := tc.prefix, tc.want
				if side == syncengine.SideB {
					if prefix == "" {
						want = nil
						for _, p := range tc.want {
							want = append(want, "B/"+p)
						}
					} else {
						prefix = "B/" + prefix
						want = nil
						for _, p := range tc.want {
							want = append(want, "B/"+p)
						}
					}
				}
				got := paths(collect(t, s.ItemsUnder(ctx, "p", side, prefix)), side)
				require.ElementsMatch(t, want, got)
			})
		}
	}
	t.Run("B root", func(t *testing.T) {
		got := collect(t, s.ItemsUnder(ctx, "p", syncengine.SideB, "B"))
		require.Len(t, got, len(all))
	})
}

func testMovePrefix(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	setup := []string{"a", "a/b", "a/b/c", "a/b/c/d.txt", "a/b/e.txt", "a/bc", "a/bc/f.txt", "a/b c/g.txt",
		"a/b.txt", "x", "x/y", "Ü/ß/文", "Ü/ß2"}
	tests := []struct {
		name     string
		side     syncengine.Side
		old, new string
		want     map[string]string // old path → new path for the moved side; the rest stay
	}{
		{"rename a folder", syncengine.SideA, "a/b", "a/B2", map[string]string{
			"a/b/c": "a/B2/c", "a/b/c/d.txt": "a/B2/c/d.txt", "a/b/e.txt": "a/B2/e.txt"}},
		{"move deeper", syncengine.SideA, "a/b/c", "x/y/z/c", map[string]string{"a/b/c/d.txt": "x/y/z/c/d.txt"}},
		{"move to the top", syncengine.SideA, "a/b", "b", map[string]string{
			"a/b/c": "b/c", "a/b/c/d.txt": "b/c/d.txt", "a/b/e.txt": "b/e.txt"}},
		{"several levels", syncengine.SideA, "a", "z", map[string]string{
			"a/b": "z/b", "a/b/c": "z/b/c", "a/b/c/d.txt": "z/b/c/d.txt", "a/b/e.txt": "z/b/e.txt",
			"a/bc": "z/bc", "a/bc/f.txt": "z/bc/f.txt", "a/b c/g.txt": "z/b c/g.txt", "a/b.txt": "z/b.txt"}},
		{"into own subtree", syncengine.SideA, "x", "x/x", map[string]string{"x/y": "x/x/y"}},
		{"unicode, longer and shorter names", syncengine.SideA, "Ü/ß", "Ü/ssss", map[string]string{"Ü/ß/文": "Ü/ssss/文"}},
		{"unicode to ascii", syncengine.SideA, "Ü", "U", map[string]string{"Ü/ß/文": "U/ß/文", "Ü/ß2": "U/ß2"}},
		{"side B only", syncengine.SideB, "a/bc", "q", map[string]string{"a/bc/f.txt": "q/f.txt"}},
		{"same place", syncengine.SideA, "a/b", "a/b", map[string]string{}},
		{"nothing below", syncengine.SideA, "missing", "gone", map[string]string{}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pair := "p" + string(rune('a'+i))
			var items []syncengine.Item
			for _, p := range setup {
				items = append(items, file(p))
			}
			items = put(t, s, pair, items...)
			put(t, s, "bystander", file(tc.old+"/child"))
			require.NoError(t, s.MovePrefix(ctx, pair, tc.side, tc.old, tc.new))

			got := collect(t, s.Items(ctx, pair))
			require.Len(t, got, len(items))
			for j, it := range got {
				orig := items[j]
				require.Equal(t, orig.Key, it.Key)
				moved, other := *it.Side(tc.side), *it.Side(tc.side.Other())
				wantPath := orig.Side(tc.side).Path
				if np, ok := tc.want[wantPath]; ok {
					wantPath = np
				}
				require.Equal(t, wantPath, moved.Path, "item %q", orig.Side(tc.side).Path)
				require.Equal(t, orig.Side(tc.side.Other()).Path, other.Path, "the other side stays")
				require.Equal(t, orig.Side(tc.side).ID, moved.ID)
				require.Equal(t, orig.Side(tc.side).Version, moved.Version)
			}
			for _, np := range tc.want {
				_, err := s.ItemByPath(ctx, pair, tc.side, np)
				require.NoError(t, err, "ItemByPath of the new path %q", np)
			}
			for op := range tc.want {
				if !isTarget(tc.want, op) {
					_, err := s.ItemByPath(ctx, pair, tc.side, op)
					require.ErrorIs(t, err, syncengine.ErrNoItem, "old path %q must be gone", op)
				}
			}
			by := collect(t, s.Items(ctx, "bystander"))
			require.Equal(t, tc.old+"/child", by[len(by)-1].Side(tc.side).Path, "other pairs are untouched")
		})
	}
	require.Error(t, s.MovePrefix(ctx, "pa", syncengine.SideA, "", "x"), "the root cannot be moved")
}

// isTarget reports whether p is one of the new paths in m.
func isTarget(m map[string]string, p string) bool {
	for _, np := range m {
		if np == p {
			return true
		}
	}
	return false
}

func testPairsIsolated(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	p := put(t, s, "p", file("same"), file("only-p"))
	q := put(t, s, "q", file("same"))

	n, err := s.CountItems(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	requireItemsEqual(t, q, collect(t, s.Items(ctx, "q")))
	_, err = s.ItemByPath(ctx, "q", syncengine.SideA, "only-p")
	require.ErrorIs(t, err, syncengine.ErrNoItem)

	// Deleting or replacing p's keys through q does nothing to p.
	require.NoError(t, s.PutItems(ctx, "q", nil, []int64{p[0].Key, p[1].Key}))
	stolen := p[0]
	stolen.A.Version = "stolen"
	require.ErrorIs(t, s.PutItems(ctx, "q", []syncengine.Item{stolen}, nil), syncengine.ErrNoItem)
	requireItemsEqual(t, p, collect(t, s.Items(ctx, "p")))

	require.NoError(t, s.MovePrefix(ctx, "q", syncengine.SideA, "same", "moved"))
	requireItemsEqual(t, p, collect(t, s.Items(ctx, "p")))
	require.Empty(t, collect(t, s.ItemsUnder(ctx, "none", syncengine.SideA, "")))
	n, err = s.CountItems(ctx, "none")
	require.NoError(t, err)
	require.Zero(t, n)
}

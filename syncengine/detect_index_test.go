package syncengine

import (
	"path"
	"testing"

	"github.com/procoresync/procoresync/storage"
)

// TestFingerprintBytesAndStrings checks that a baseline row (bytes) and a
// listed entry (strings) of the same item have the same fingerprint, and
// that what the fingerprint covers changes it.
func TestFingerprintBytesAndStrings(t *testing.T) {
	paths := []string{"", "a", "a/b", "a/b/c.txt", "/", "a/", "a//b", "naïve/名前", "x\x00y"}
	for _, p := range paths {
		if p != "" {
			if got, want := fpBase(p), path.Base(p); got != want {
				t.Errorf("fpBase(%q) = %q, path.Base says %q", p, got, want)
			}
			if got, want := string(fpBase([]byte(p))), path.Base(p); got != want {
				t.Errorf("fpBase([]byte(%q)) = %q, path.Base says %q", p, got, want)
			}
		}
		for _, parent := range []string{"", "pid"} {
			for _, dir := range []bool{false, true} {
				for _, size := range []int64{0, 1, -1, 1 << 40} {
					e := storage.Entry{ParentID: parent, Path: p, IsDir: dir, Version: "v1", Size: size}
					r := BaselineSide{ParentID: []byte(parent), Path: []byte(p), Version: []byte("v1"), Size: size}
					if entryFP(&e) != rowFP(&r, dir) {
						t.Errorf("%+v: entry and row fingerprints differ", e)
					}
				}
			}
		}
	}
	base := storage.Entry{ParentID: "p", Path: "d/f", Version: "v1", Size: 10}
	for name, change := range map[string]func(e *storage.Entry){
		"parent":  func(e *storage.Entry) { e.ParentID = "q" },
		"name":    func(e *storage.Entry) { e.Path = "d/g" },
		"version": func(e *storage.Entry) { e.Version = "v2" },
		"size":    func(e *storage.Entry) { e.Size = 11 },
		"kind":    func(e *storage.Entry) { e.IsDir = true },
	} {
		e := base
		change(&e)
		if entryFP(&e) == entryFP(&base) {
			t.Errorf("changing the %s leaves the fingerprint as it was", name)
		}
	}
	// Below a known parent only the name counts, not the folder's path (a
	// folder's rename does not change its children).
	moved := base
	moved.Path = "renamed/f"
	if entryFP(&moved) != entryFP(&base) {
		t.Error("the parent's path changes the fingerprint of a child")
	}
}

// TestIDTable checks the compact index's table: look-ups, growth,
// replacement of a record with the same ID hash, and hashes that share
// their high bits (the slot tag).
func TestIDTable(t *testing.T) {
	var recs []compactRec
	tb := newIDTable(0) // grows as records come
	add := func(h uint64) int32 {
		i := int32(len(recs))
		recs = append(recs, compactRec{key: int64(i) + 1, id: [2]uint64{0, h}})
		tb.put(recs, SideB, h, i)
		return i
	}
	want := map[uint64]int32{}
	for k := range uint64(5000) {
		h := idHash(string(rune(k)) + "id")
		if k%7 == 0 {
			h = 0xABCD_0000_0000_0000 | k // same tag as the others of its kind
		}
		want[h] = add(h)
	}
	// A record with an ID hash already present replaces it.
	dup := idHash(string(rune(43)) + "id") // 43 % 7 != 0: a plain hash
	want[dup] = add(dup)
	for h, i := range want {
		if got, ok := tb.get(recs, SideB, h); !ok || got != i {
			t.Fatalf("get(%x) = %d, %v; want %d", h, got, ok, i)
		}
	}
	for _, h := range []uint64{1, 0xABCD_0000_0000_0000 | 1<<20, idHash("absent")} {
		if i, ok := tb.get(recs, SideB, h); ok {
			t.Fatalf("get(%x) found record %d of a hash never put", h, i)
		}
	}
	if tb.n != len(want) || 2*tb.n > len(tb.slots) {
		t.Fatalf("%d slots used of %d for %d records", tb.n, len(tb.slots), len(want))
	}
	var empty idTable
	if _, ok := empty.get(recs, SideA, dup); ok {
		t.Fatal("the zero table found a record")
	}
	// getNear answers as get whatever its hint: the hinted record when it
	// holds the hash, never a record a later one with that hash shadowed.
	shadowedIdx := int32(43)
	if recs[shadowedIdx].id[SideB] != dup {
		t.Fatalf("record %d does not hold the duplicated hash", shadowedIdx)
	}
	for _, tc := range []struct {
		name string
		h    uint64
		hint int32
	}{
		{"hint right", recs[10].id[SideB], 10},
		{"hint wrong", recs[10].id[SideB], 11},
		{"hint negative", recs[10].id[SideB], -1},
		{"hint past the end", recs[10].id[SideB], int32(len(recs))},
		{"hint shadowed", dup, shadowedIdx},
		{"hint on the later record", dup, want[dup]},
		{"absent hash", idHash("absent"), 10},
		{"zero hash on a side without IDs", 0, 10},
	} {
		wi, wok := tb.get(recs, SideB, tc.h)
		if gi, gok := tb.getNear(recs, SideB, tc.h, tc.hint); gi != wi || gok != wok {
			t.Errorf("%s: getNear = %d, %v; get = %d, %v", tc.name, gi, gok, wi, wok)
		}
	}
	if gi, ok := tb.getNear(recs, SideA, 0, 10); ok {
		t.Errorf("getNear found record %d for side A, which has no IDs", gi)
	}
}

// TestPathHashIsThePlainPathKeyHash checks what listSide relies on to hash
// each listed path once: where names compare as bytes, pathHash is
// pathKeyHash made non-zero; where they do not, they differ.
func TestPathHashIsThePlainPathKeyHash(t *testing.T) {
	plain := storage.NameRules{}
	folded := storage.NameRules{CaseInsensitive: true}
	for _, p := range []string{"", "a", "Docs/Plan.PDF", "naïve/名前", "a//b"} {
		if got, want := nonZero(pathKeyHash(plain, p)), pathHash(p); got != want {
			t.Errorf("%q: pathKeyHash %x, pathHash %x", p, got, want)
		}
	}
	if nonZero(pathKeyHash(folded, "Docs/Plan.PDF")) == pathHash("Docs/Plan.PDF") {
		t.Error("a case-folded key hashes as the path itself: listSide must hash the path apart")
	}
}

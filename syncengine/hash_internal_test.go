package syncengine

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The path hashes compose: a path hashed whole, or its folder's hash
// extended with the rest, gives the same value (what lets a listing
// derive an item's hash from its folder's); strings and bytes hash alike;
// and the element boundaries count ("a/bc" is not "ab/c").
func TestKeyHashComposes(t *testing.T) {
	elem := rapid.StringMatching(`[a-zA-Zé0-9 ._~()-]{0,20}`)
	rapid.Check(t, func(t *rapid.T) {
		dir := rapid.SliceOfN(elem, 1, 5).Draw(t, "dir")
		rest := rapid.SliceOfN(elem, 1, 5).Draw(t, "rest")
		d, r := strings.Join(dir, "/"), strings.Join(rest, "/")
		whole := keyHash(d + "/" + r)
		if got := keyStep(keyHash(d), r); got != whole {
			t.Fatalf("keyStep(keyHash(%q), %q) = %x, keyHash of the whole path %x", d, r, got, whole)
		}
		if got := keyHash([]byte(d + "/" + r)); got != whole {
			t.Fatalf("bytes hash to %x, the string to %x", got, whole)
		}
		if got := childPathHash(pathHash(d), r); got != pathHash(d+"/"+r) {
			t.Fatalf("childPathHash %x, pathHash %x", got, pathHash(d+"/"+r))
		}
		id := rapid.String().Draw(t, "id")
		if idHash(id) != idHash([]byte(id)) {
			t.Fatalf("idHash of %q differs for bytes", id)
		}
		v := rapid.String().Draw(t, "version")
		size := rapid.Int64().Draw(t, "size")
		if fingerprint(d, r, false, v, size) != fingerprint([]byte(d), []byte(r), false, []byte(v), size) {
			t.Fatalf("fingerprint differs for bytes")
		}
	})
}

// Values that differ in what a fingerprint or a path hash covers hash
// apart: element boundaries, lengths, zero bytes, each side of the
// fingerprint.
func TestHashesTellApart(t *testing.T) {
	paths := []string{"", "a", "b", "ab", "a/b", "ab/", "/ab", "a//b", "a\x00", "a\x00\x00", "abcdefgh",
		"abcdefghi", "abcdefgh/i", "abcdefg/hi", "Docs/Plan.PDF", "docs/plan.pdf"}
	seen := map[uint64]string{}
	for _, p := range paths {
		h := keyHash(p)
		if q, ok := seen[h]; ok {
			t.Errorf("keyHash(%q) == keyHash(%q)", p, q)
		}
		seen[h] = p
	}
	type fp struct {
		parent, path string
		dir          bool
		version      string
		size         int64
	}
	fps := []fp{
		{"p", "d/f.txt", false, "v1", 3},
		{"p", "d/f.txt", false, "v2", 3},
		{"p", "d/f.txt", false, "v1", 4},
		{"q", "d/f.txt", false, "v1", 3},
		{"p", "d/g.txt", false, "v1", 3},
		{"p", "d/f.txt", true, "", 0},
		{"", "d/f.txt", false, "v1", 3},
		{"", "e/f.txt", false, "v1", 3},
		{"pv", "d/f.txt", false, "1", 3},
	}
	seenFP := map[uint64]fp{}
	for _, f := range fps {
		h := fingerprint(f.parent, f.path, f.dir, f.version, f.size)
		if g, ok := seenFP[h]; ok {
			t.Errorf("fingerprint of %+v == fingerprint of %+v", f, g)
		}
		seenFP[h] = f
	}
}

func BenchmarkHashes(b *testing.B) {
	id, parent, p, v := "01JDX6H2Q9F0T5V8W3Y7Z4K1M2", "01JDX6H2Q9F0T5V8W3Y7Z4K1M3", "folder-0123/file-0456.dat", "v1-1732900000000000000"
	for b.Loop() {
		_ = idHash(id)
		_ = keyStep(keyHash("folder-0123"), "file-0456.dat")
		_ = fingerprint(parent, p, false, v, 1234)
	}
}

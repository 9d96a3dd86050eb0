package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// tb is what the assertion helpers need: *testing.T and *rapid.T both
// provide it.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

func eq[V any](t tb, want, got V, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%vgot  %#v\nwant %#v", prefix(msg), got, want)
	}
}

func ne[V any](t tb, a, b V, msg ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		t.Fatalf("%vboth are %#v", prefix(msg), a)
	}
}

func isTrue(t tb, cond bool, msg ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("%vcondition is false", prefix(msg))
	}
}

func noErr(t tb, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%vunexpected error: %v", prefix(msg), err)
	}
}

func errIs(t tb, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v does not match %v", err, target)
	}
}

func prefix(msg []any) string {
	if len(msg) == 0 {
		return ""
	}
	return msg[0].(string) + ": "
}

func TestHashesCommon(t *testing.T) {
	for _, tc := range []struct {
		name string
		h, o Hashes
		kind HashKind
		ok   bool
	}{
		{"both nil", nil, nil, "", false},
		{"one nil", Hashes{HashSHA1: "a"}, nil, "", false},
		{"disjoint", Hashes{HashSHA1: "a"}, Hashes{HashMD5: "a"}, "", false},
		{"empty value ignored", Hashes{HashSHA1: ""}, Hashes{HashSHA1: ""}, "", false},
		{"one shared", Hashes{HashSHA1: "a", HashMD5: "b"}, Hashes{HashSHA1: "c"}, HashSHA1, true},
		{"prefers sha256", Hashes{HashMD5: "1", HashSHA1: "2", HashSHA256: "3"},
			Hashes{HashMD5: "1", HashSHA1: "2", HashSHA256: "3"}, HashSHA256, true},
		{"prefers sha1 over quickxor", Hashes{HashQuickXor: "q", HashSHA1: "s"},
			Hashes{HashQuickXor: "q", HashSHA1: "s"}, HashSHA1, true},
		{"prefers dropbox over md5", Hashes{HashMD5: "m", HashDropbox: "d"},
			Hashes{HashMD5: "m", HashDropbox: "d"}, HashDropbox, true},
		{"unknown kind", Hashes{"crc32": "x"}, Hashes{"crc32": "y"}, "crc32", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := tc.h.Common(tc.o)
			eq(t, tc.kind, k)
			eq(t, tc.ok, ok)
			k2, ok2 := tc.o.Common(tc.h)
			eq(t, tc.kind, k2, "symmetric")
			eq(t, tc.ok, ok2, "symmetric")
		})
	}
}

func TestHashesEqual(t *testing.T) {
	for _, tc := range []struct {
		name      string
		h, o      Hashes
		equal, ok bool
	}{
		{"nothing shared", Hashes{HashSHA1: "a"}, Hashes{HashMD5: "a"}, false, false},
		{"same", Hashes{HashSHA1: "a"}, Hashes{HashSHA1: "a"}, true, true},
		{"different", Hashes{HashSHA1: "a"}, Hashes{HashSHA1: "b"}, false, true},
		{"strongest decides", Hashes{HashSHA256: "x", HashMD5: "same"},
			Hashes{HashSHA256: "y", HashMD5: "same"}, false, true},
		{"nil", nil, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			equal, ok := tc.h.Equal(tc.o)
			eq(t, tc.equal, equal)
			eq(t, tc.ok, ok)
		})
	}
}

func TestHashesClone(t *testing.T) {
	eq(t, Hashes(nil), Hashes(nil).Clone())
	h := Hashes{HashSHA1: "a", HashMD5: "b"}
	c := h.Clone()
	eq(t, h, c)
	c[HashSHA1] = "changed"
	delete(c, HashMD5)
	eq(t, Hashes{HashSHA1: "a", HashMD5: "b"}, h, "the original is untouched")
	empty := Hashes{}.Clone()
	isTrue(t, empty != nil && len(empty) == 0, "an empty map clones to an empty map")
}

func TestEntryPath(t *testing.T) {
	for _, tc := range []struct {
		name      string
		e         Entry
		base, dir string
		root      bool
	}{
		{"root", Entry{IsDir: true}, "", "", true},
		{"empty path file", Entry{}, "", "", false},
		{"top-level file", Entry{Path: "a.txt"}, "a.txt", "", false},
		{"top-level folder", Entry{Path: "Docs", IsDir: true}, "Docs", "", false},
		{"nested", Entry{Path: "Docs/Plans/a b.pdf"}, "a b.pdf", "Docs/Plans", false},
		{"dotted names", Entry{Path: "a.b/c.d"}, "c.d", "a.b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, tc.base, tc.e.Name())
			eq(t, tc.dir, tc.e.Dir())
			eq(t, tc.root, tc.e.IsRoot())
		})
	}
}

func TestEntryZeroValues(t *testing.T) {
	var e Entry
	eq(t, time.Time{}, e.ModTime)
	eq(t, Hashes(nil), e.Hashes)
	_, ok := e.Hashes.Common(Hashes{HashSHA1: "a"})
	isTrue(t, !ok, "a zero Entry shares no hash")
}

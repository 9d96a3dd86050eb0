package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"pgregory.net/rapid"
)

// sharePointRules is a SharePoint / OneDrive for Business-like rule set.
var sharePointRules = NameRules{
	InvalidChars:   `"*:<>?\|`,
	NoControlChars: true,
	ReservedNames:  []string{".lock", "desktop.ini"},
	ReservedStems: []string{"CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"},
	ReservedPrefixes:   []string{"~$"},
	ReservedSubstrings: []string{"_vti_"},
	NoLeadingSpace:     true,
	NoTrailingSpace:    true,
	NoTrailingPeriod:   true,
	MaxNameLength:      255,
	MaxPathLength:      400,
	CaseInsensitive:    true,
	Normalization:      NormNFC,
}

// procoreRules is Procore's "Special Characters" option.
var procoreRules = NameRules{InvalidChars: DefaultInvalidChars}

// tightRules has short names, NFD and rules whose repairs interact.
var tightRules = NameRules{
	InvalidChars:       DefaultInvalidChars,
	NoControlChars:     true,
	ReservedNames:      []string{".lock", "desktop.ini", "-", "ab"},
	ReservedStems:      []string{"CON", "NUL", "COM1"},
	ReservedPrefixes:   []string{"~$", "-$", ".~"},
	ReservedSubstrings: []string{"_vti_", "--x"},
	NoLeadingSpace:     true,
	NoTrailingSpace:    true,
	NoTrailingPeriod:   true,
	MaxNameLength:      8,
	CaseInsensitive:    true,
	Normalization:      NormNFD,
}

// hostileRules refuse the default replacement and "_".
var hostileRules = NameRules{
	InvalidChars:       "-_",
	ReservedSubstrings: []string{"--", "__"},
	NoTrailingPeriod:   true,
	MaxNameLength:      5,
}

var ruleSets = map[string]NameRules{
	"none":       {},
	"procore":    procoreRules,
	"sharepoint": sharePointRules,
	"tight":      tightRules,
	"hostile":    hostileRules,
	"procore-documents": {InvalidChars: DefaultInvalidChars, NoControlChars: true, NoLeadingSpace: true,
		NoTrailingSpace: true, NoSpaceBeforeExt: true, MaxNameLength: 255, CaseInsensitive: true, Normalization: NormNFC},
}

// nameGen draws arbitrary strings, including invalid UTF-8 and strings
// built from characters that the rules care about.
func nameGen() *rapid.Generator[string] {
	alphabet := []rune{' ', '.', '~', '$', '_', '-', 'v', 't', 'i', 'C', 'O', 'N', 'c', 'o',
		'n', '1', 'x', 'a', 'b', 'e', '\u0301', '\u0327', 'é', 'É', '\u212a', 'ſ', '<', ':',
		'"', '#', '/', '\\', 0, '\x1f', '\x7f', 'ﬀ', 'İ', '\u1100', '\u1161', '\u11a8'}
	return rapid.OneOf(
		rapid.String(),
		rapid.StringOf(rapid.SampledFrom(alphabet)),
		rapid.StringOfN(rapid.SampledFrom(alphabet), 0, 300, -1),
		rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) }),
		rapid.SampledFrom([]string{"", ".", "..", "...", "CON", "con.txt", "desktop.ini",
			".lock", "~$x.docx", "a_vti_b", " a ", "a.", "-", "ab", "AB.txt"}),
	)
}

func TestMapInvariants(t *testing.T) {
	for name, r := range ruleSets {
		for _, rep := range []string{"", "_", "*", "~", "x", " ", "..", "e"} {
			t.Run(fmt.Sprintf("%s/%q", name, rep), func(t *testing.T) {
				rapid.Check(t, func(t *rapid.T) {
					x := nameGen().Draw(t, "name")
					m := r.Map(x, rep)
					if err := r.Validate(m); err != nil {
						t.Fatalf("Map(%q) = %q, invalid: %v", x, m, err)
					}
					if mm := r.Map(m, rep); mm != m {
						t.Fatalf("Map(%q) = %q but Map(Map) = %q", x, m, mm)
					}
					if r.Validate(x) == nil && m != x {
						t.Fatalf("valid %q mapped to %q", x, m)
					}
				})
			})
		}
	}
}

func TestMapPathInvariants(t *testing.T) {
	for name, r := range ruleSets {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				segs := rapid.SliceOfN(nameGen(), 1, 4).Draw(t, "segments")
				p := strings.Join(segs, "/")
				m := r.MapPath(p, "")
				if p == "" {
					eq(t, "", m, "the root stays the root")
					return
				}
				eq(t, strings.Count(p, "/"), strings.Count(m, "/"))
				for _, s := range strings.Split(m, "/") {
					noErr(t, r.Validate(s))
				}
				eq(t, m, r.MapPath(m, ""))
			})
		})
	}
}

func TestMap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules NameRules
		in    string
		rep   string
		want  string
	}{
		{"spec example", procoreRules, `Site #3: "East" <Level 2>`, "", `Site -3- -East- -Level 2-`},
		{"valid unchanged", procoreRules, "Plan A.pdf", "", "Plan A.pdf"},
		{"custom replacement", procoreRules, "a:b", "_", "a_b"},
		{"invalid replacement falls back", procoreRules, "a:b", "#", "a_b"},
		{"space replacement falls back", sharePointRules, "a:b", " ", "a_b"},
		{"slash always invalid", NameRules{}, "a/b", "", "a-b"},
		{"NUL always invalid", NameRules{}, "a\x00b", "", "a-b"},
		{"control chars", sharePointRules, "a\tb\x7f", "", "a-b-"},
		{"control chars allowed", NameRules{}, "a\tb", "", "a\tb"},
		{"empty", procoreRules, "", "", "-"},
		{"dot", procoreRules, ".", "", "-"},
		{"dot dot", procoreRules, "..", "_", "__"},
		{"leading spaces", sharePointRules, "  a", "", "--a"},
		{"trailing spaces and periods", sharePointRules, "a. .", "", "a---"},
		{"only trailing period forbidden", NameRules{NoTrailingPeriod: true}, "a. .", "", "a. -"},
		{"trailing space keeps the extension", sharePointRules, "report.pdf ", "", "report-.pdf"},
		{"trailing spaces and periods keep the extension", sharePointRules, "a.tar.gz. .", "", "a.tar---.gz"},
		{"space before the extension", NameRules{NoSpaceBeforeExt: true}, "report .pdf", "", "report-.pdf"},
		{"space before the extension allowed", NameRules{}, "report .pdf", "", "report .pdf"},
		{"space before the extension and trailing", NameRules{NoSpaceBeforeExt: true, NoTrailingSpace: true}, "report .pdf ", "", "report -.pdf"},
		{"only spaces", sharePointRules, "   ", "", "---"},
		{"reserved name", sharePointRules, "desktop.ini", "", "desktop-.ini"},
		{"reserved dot name", sharePointRules, ".LOCK", "", ".LOCK-"},
		{"reserved stem", sharePointRules, "CON", "", "CON-"},
		{"reserved stem with ext", sharePointRules, "con.txt", "", "con-.txt"},
		{"reserved stem with two exts", sharePointRules, "Com1.tar.gz", "", "Com1-.tar.gz"},
		{"not a reserved stem", sharePointRules, "CONTRACT.txt", "", "CONTRACT.txt"},
		{"reserved prefix", sharePointRules, "~$x.docx", "", "-$x.docx"},
		{"reserved substring", sharePointRules, "a_VTI_b", "", "a-VTI_b"},
		{"two reserved substrings", sharePointRules, "_vti__vti_", "", "-vti_-vti_"},
		{"NFC", sharePointRules, "Cafe\u0301.txt", "", "Caf\u00e9.txt"},
		{"NFD", NameRules{Normalization: NormNFD}, "Caf\u00e9", "", "Cafe\u0301"},
		{"invalid UTF-8", procoreRules, "a\xff\xfeb", "", "a--b"},
		{"invalid UTF-8 allowed", NameRules{AllowInvalidUTF8: true}, "a\xff\xfeb", "", "a\xff\xfeb"},
		{"invalid UTF-8 kept while mapping", NameRules{AllowInvalidUTF8: true, InvalidChars: ":"}, "a\xff:b", "", "a\xff-b"},
		{"long name keeps ext", NameRules{MaxNameLength: 8}, "abcdefghij.pdf", "", "abcd.pdf"},
		{"long ext", NameRules{MaxNameLength: 4}, "a.abcdef", "", "a.ab"},
		{"long name no ext", NameRules{MaxNameLength: 3}, "abcdef", "", "abc"},
		{"no split of combining mark", NameRules{MaxNameLength: 2}, "ae\u0301e", "", "a"},
		{"reserved at max length", NameRules{MaxNameLength: 3, ReservedStems: []string{"CON"}}, "CONX", "", "CO-"},
		{"hostile falls back to x", hostileRules, "a-b", "", "axb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rules.Map(tc.in, tc.rep)
			eq(t, tc.want, got)
			noErr(t, tc.rules.Validate(got))
		})
	}
}

func TestMapPath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"a", "a"},
		{"Site #3/RFI: 12/plan?.pdf", "Site -3/RFI- 12/plan-.pdf"},
		{"a//b", "a/-/b"},
		{"./..", "-/--"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := procoreRules.MapPath(tc.in, "")
			eq(t, tc.want, got)
			noErr(t, procoreRules.ValidatePath(got))
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rules  NameRules
		in     string
		reason string // "" means valid
	}{
		{"plain", sharePointRules, "Plan A.pdf", ""},
		{"empty", NameRules{}, "", "empty name"},
		{"dot", NameRules{}, ".", "relative path element"},
		{"dot dot", NameRules{}, "..", "relative path element"},
		{"three dots", NameRules{}, "...", ""},
		{"bad UTF-8", NameRules{}, "a\xff", "not valid UTF-8"},
		{"bad UTF-8 allowed", NameRules{AllowInvalidUTF8: true}, "a\xff\xc3", ""},
		{"bad UTF-8 allowed, slash not", NameRules{AllowInvalidUTF8: true}, "a\xff/", `contains '/'`},
		{"slash", NameRules{}, "a/b", `contains '/'`},
		{"NUL", NameRules{}, "a\x00", `contains '\x00'`},
		{"invalid char", procoreRules, "a#b", `contains '#'`},
		{"control", sharePointRules, "a\nb", "contains control character U+000A"},
		{"not NFC", sharePointRules, "e\u0301", "not in Unicode normal form NFC"},
		{"not NFD", NameRules{Normalization: NormNFD}, "\u00e9", "not in Unicode normal form NFD"},
		{"leading space", sharePointRules, " a", "starts with a space"},
		{"trailing space", sharePointRules, "a ", "ends with a space"},
		{"trailing period", sharePointRules, "a.", "ends with a period"},
		{"too long", NameRules{MaxNameLength: 3}, "abcd", "longer than 3 characters"},
		{"length in characters", NameRules{MaxNameLength: 3}, "ééé", ""},
		{"reserved name", sharePointRules, "Desktop.INI", `reserved name "desktop.ini"`},
		{"reserved stem", sharePointRules, "lpt1.log", `reserved name "LPT1"`},
		{"reserved stem alone", sharePointRules, "aux", `reserved name "AUX"`},
		{"stem is before first period", sharePointRules, "a.con", ""},
		{"reserved prefix", sharePointRules, "~$doc.docx", `starts with reserved "~$"`},
		{"reserved substring", sharePointRules, "x_Vti_y", `contains reserved "_vti_"`},
		{"empty entries ignored", NameRules{ReservedNames: []string{""}, ReservedStems: []string{""},
			ReservedPrefixes: []string{""}, ReservedSubstrings: []string{""}}, ".bashrc", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rules.Validate(tc.in)
			if tc.reason == "" {
				noErr(t, err)
				return
			}
			errIs(t, err, ErrInvalidName)
			var ine *InvalidNameError
			isTrue(t, errors.As(err, &ine), "an *InvalidNameError")
			eq(t, tc.in, ine.Name)
			eq(t, tc.reason, ine.Reason)
		})
	}
}

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"root", "", true},
		{"nested", "Docs/Plans/A.pdf", true},
		{"bad segment", "Docs/CON/A.pdf", false},
		{"empty segment", "Docs//A.pdf", false},
		{"leading slash", "/Docs", false},
		{"400 characters", strings.Repeat(strings.Repeat("a", 100)+"/", 3) + strings.Repeat("a", 97), true},
		{"401 characters", strings.Repeat(strings.Repeat("a", 100)+"/", 3) + strings.Repeat("a", 98), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sharePointRules.ValidatePath(tc.in)
			if tc.ok {
				noErr(t, err)
			} else {
				errIs(t, err, ErrInvalidName)
			}
		})
	}
}

func TestSplitExt(t *testing.T) {
	for _, tc := range []struct{ in, stem, ext string }{
		{"a.txt", "a", ".txt"},
		{"a.tar.gz", "a.tar", ".gz"},
		{".bashrc", ".bashrc", ""},
		{"..x", "..x", ""},
		{".a.b", ".a", ".b"},
		{"a.", "a.", ""},
		{"a", "a", ""},
		{"", "", ""},
		{"...", "...", ""},
		{"a b.c d", "a b", ".c d"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			stem, ext := SplitExt(tc.in)
			eq(t, tc.stem, stem)
			eq(t, tc.ext, ext)
			eq(t, tc.in, stem+ext)
		})
	}
}

func TestDisambiguate(t *testing.T) {
	// The suffix is the first 6 hex digits of SHA-256("a:b.txt").
	eq(t, "a-b (~1f0f1e).txt", Disambiguate("a-b.txt", "a:b.txt"))
	eq(t, ".bashrc (~b7cf3e)", Disambiguate(".bashrc", ".bashrc"))

	rapid.Check(t, func(t *rapid.T) {
		a := nameGen().Draw(t, "a")
		b := nameGen().Draw(t, "b")
		m := procoreRules.Map(a, "")
		d := Disambiguate(m, a)
		eq(t, d, Disambiguate(m, a), "deterministic")
		ne(t, m, d)
		stem, ext := SplitExt(m)
		isTrue(t, strings.HasPrefix(d, stem+" (~"))
		isTrue(t, strings.HasSuffix(d, ")"+ext))
		eq(t, utf8.RuneCountInString(m)+10, utf8.RuneCountInString(d))
		if a != b {
			// Collisions of 24 bits are possible in principle; rapid's
			// inputs are few and deterministic enough not to hit one.
			ne(t, d, Disambiguate(m, b))
		}
	})
}

func TestDisambiguateValidUnderSharePoint(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		// Names of ordinary length: Disambiguate adds 10 characters.
		x := rapid.StringN(0, 60, -1).Draw(t, "name")
		d := Disambiguate(sharePointRules.Map(x, ""), x)
		noErr(t, sharePointRules.Validate(d))
	})
}

func TestMapDisambiguated(t *testing.T) {
	eq(t, "a-b (-1f0f1e).txt", procoreRules.MapDisambiguated("a:b.txt", ""))
	eq(t, "a-b (~1f0f1e).txt", sharePointRules.MapDisambiguated("a:b.txt", ""))
	long := strings.Repeat("x", 300) + ".pdf"
	d := sharePointRules.MapDisambiguated(long, "")
	eq(t, 255, len(d))
	isTrue(t, strings.HasSuffix(d, " (~"+Disambiguate("", long)[3:9]+").pdf"))

	for name, r := range ruleSets {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				a := nameGen().Draw(t, "a")
				b := nameGen().Draw(t, "b")
				da := r.MapDisambiguated(a, "")
				noErr(t, r.Validate(da))
				eq(t, da, r.MapDisambiguated(a, ""))
				if r.MaxNameLength == 0 || r.MaxNameLength >= 20 {
					ne(t, r.Map(a, ""), da)
					if a != b {
						ne(t, da, r.MapDisambiguated(b, ""))
					}
				}
			})
		})
	}
}

func TestKey(t *testing.T) {
	nfc, nfd := "Caf\u00e9.txt", "Cafe\u0301.txt"
	for _, tc := range []struct {
		name  string
		rules NameRules
		a, b  string
		equal bool
	}{
		{"case-sensitive", NameRules{}, "A.txt", "a.txt", false},
		{"case-insensitive", NameRules{CaseInsensitive: true}, "A.txt", "a.txt", true},
		{"full folding", NameRules{CaseInsensitive: true}, "STRASSE", "straße", true},
		{"Cherokee", NameRules{CaseInsensitive: true}, "\u13a0", "\uab70", true},
		{"Cherokee NFC", NameRules{CaseInsensitive: true, Normalization: NormNFC}, "\u13a0", "\uab70", true},
		{"kelvin sign", NameRules{CaseInsensitive: true}, "\u212a", "k", true},
		{"NFC and NFD differ without a form", NameRules{}, nfc, nfd, false},
		{"NFC and NFD differ when only case-insensitive", NameRules{CaseInsensitive: true}, nfc, nfd, false},
		{"NFC form", NameRules{Normalization: NormNFC}, nfc, nfd, true},
		{"NFD form", NameRules{Normalization: NormNFD}, nfc, nfd, true},
		{"NFC and case", NameRules{Normalization: NormNFC, CaseInsensitive: true}, "CAF\u00c9.TXT", nfd, true},
		{"NFD and case", NameRules{Normalization: NormNFD, CaseInsensitive: true}, "CAFE\u0301.TXT", nfc, true},
		{"different names", sharePointRules, "a.txt", "b.txt", false},
		{"invalid UTF-8 kept apart", NameRules{CaseInsensitive: true}, "A\x80", "a\x81", false},
		{"invalid UTF-8 folded around", NameRules{CaseInsensitive: true}, "A\x80B", "a\x80b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := tc.rules.Key(tc.a), tc.rules.Key(tc.b)
			if tc.equal {
				eq(t, ka, kb)
			} else {
				ne(t, ka, kb)
			}
		})
	}
}

func TestKeyProperties(t *testing.T) {
	for name, r := range ruleSets {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				x := nameGen().Draw(t, "name")
				k := r.Key(x)
				eq(t, k, r.Key(k), "Key is idempotent")
				if r.CaseInsensitive {
					// Not strings.ToUpper: it loses invalid UTF-8, and
					// Unicode case mapping is not case folding ('ı', 'İ').
					up := strings.Map(func(c rune) rune {
						if 'a' <= c && c <= 'z' {
							return c - 'a' + 'A'
						}
						return c
					}, x)
					if utf8.ValidString(x) {
						eq(t, k, r.Key(up), "ASCII upper case has the same key")
					}
				}
				if r.Validate(x) == nil {
					// Map never changes the key of a valid name.
					eq(t, k, r.Key(r.Map(x, "")))
				}
			})
		})
	}
}

func TestValidateNeverPanics(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := nameGen().Draw(t, "name")
		for _, r := range ruleSets {
			if err := r.Validate(x); err != nil {
				isTrue(t, errors.Is(err, ErrInvalidName))
			}
			_ = r.ValidatePath(x)
		}
	})
}

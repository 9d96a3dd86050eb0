package recordpdf

import (
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func lineText(tl textLine) string {
	var b strings.Builder
	for _, s := range tl.segs {
		if s.actual != "" {
			b.WriteString(s.actual)
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// TestWrapKeepsEveryCharacterWithinTheWidth: for any text and width, no
// line is wider than the width unless it holds a single character, and
// the lines hold every character of the text in order.
func TestWrapKeepsEveryCharacterWithinTheWidth(t *testing.T) {
	fs, pdf := testFonts(t)
	alphabet := []rune("aaaaeeeiii   WMm-/.,Øß東京タワー😀\n")
	rapid.Check(t, func(t *rapid.T) {
		rs := rapid.SliceOfN(rapid.SampledFrom(alphabet), 0, 400).Draw(t, "text")
		width := rapid.Float64Range(1, 180).Draw(t, "width")
		st := rapid.SampledFrom([]style{stValue, stTitle, stLabel}).Draw(t, "style")
		s := string(rs)
		l := newLayout(pdf, fs, Options{MaxPages: 10})
		var got strings.Builder
		for i, tl := range l.wrap(s, st, width) {
			txt := lineText(tl)
			if tl.w > width+1e-9 && len([]rune(txt)) > 1 {
				t.Fatalf("line %d %q is %.2f mm wide, width %.2f mm", i, txt, tl.w, width)
			}
			if strings.HasSuffix(txt, " ") {
				t.Fatalf("line %d %q ends with a space", i, txt)
			}
			sum := 0.0
			for _, sg := range tl.segs {
				sum += sg.w
			}
			if d := sum - tl.w; d > 1e-9 || d < -1e-9 {
				t.Fatalf("line %d: width %.3f is not the sum of its runs %.3f", i, tl.w, sum)
			}
			got.WriteString(txt)
		}
		if nospace(got.String()) != nospace(s) {
			t.Fatalf("lines hold %q, text was %q", nospace(got.String()), nospace(s))
		}
	})
}

func TestWrapBreaksAtSpacesHyphensSlashesAndCJK(t *testing.T) {
	fs, pdf := testFonts(t)
	l := newLayout(pdf, fs, Options{MaxPages: 10})
	w := func(s string) float64 { return l.wrap(s, stValue, 1000)[0].w }
	for _, tc := range []struct {
		text  string
		width float64
		want  []string
	}{
		{"alpha beta gamma", w("alpha beta") + 0.01, []string{"alpha beta", "gamma"}},
		{"alpha beta gamma", w("gamma") + 0.01, []string{"alpha", "beta", "gamma"}},
		{"cast-in-place", w("cast-in-") + 0.01, []string{"cast-in-", "place"}},
		{"https://a.example/path/to", w("https://a.example/") + 0.01, []string{"https://a.example/", "path/to"}},
		{"from -5 to 10/12", w("from -5 to 10/1") + 0.01, []string{"from -5 to", "10/12"}},
		{"abcdefghij", w("abcde") + 0.01, []string{"abcde", "fghij"}},
		{"東京タワー基礎工事", w("東京タワー") + 0.01, []string{"東京タワー", "基礎工事"}},
		{"東京タワー基礎", w("東京タワ") + 0.01, []string{"東京タ", "ワー基礎"}},
		{"予定通り。進む", w("予定通り") + 0.01, []string{"予定通", "り。進む"}},
		{"「基礎」工事", w("「基") + 0.01, []string{"「基", "礎」", "工事"}},
		{"one\ntwo\n\n\n\nthree", 1000, []string{"one", "two", "", "three"}},
		{"  indented", 1000, []string{"  indented"}},
		{"\n\nlead and trail\n\n", 1000, []string{"lead and trail"}},
	} {
		var got []string
		for _, tl := range l.wrap(tc.text, stValue, tc.width) {
			got = append(got, lineText(tl))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   "plain",
		"a\r\nb\rc\u2028d":        "a\nb\nc\nd",
		"tab\there":               "tab    here",
		"nul\x00bel\x07esc\x1b.":  "nulbelesc.",
		"bad \xff\xfe utf8":       "bad \uFFFD utf8",
		"Mu\u0308ller":            "Müller",
		"zero\u200bwidth\ufeff":   "zerowidth",
		"nb\u00a0sp ideo\u3000sp": "nb\u00a0sp ideo sp",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
	if got := line("a\nb\r\nc"); got != "a b c" {
		t.Errorf("line = %q", got)
	}
}

package recordpdf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/font/gofont/goregular"
)

func TestRenderPrintsEveryPartOfTheRecord(t *testing.T) {
	doc := rfi(10)
	text := squash(pdfText(t, mustRender(t, doc, nil)))
	want := []string{
		doc.Project, doc.Tool, doc.Number, doc.Title, "Status Open",
		"Created 2026-12-02 09:30 UTC", "Due 2026-12-07", "Closed",
		"Conversation", "Attachments (3)", "photo 1.jpg", "calc.xlsx",
		"Generated 2026-12-05 09:30 UTC",
	}
	for _, f := range doc.Fields {
		want = append(want, f.Label+" "+f.Value)
	}
	for _, e := range doc.Sections[0].Entries {
		want = append(want, e.Heading, e.Author+" · "+e.At.Format("2006-01-02 15:04 UTC"), squash(e.Body), "Official "+e.Fields[0].Value)
		want = append(want, e.Attachments...)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	// Entries are printed in order.
	last := -1
	for _, e := range doc.Sections[0].Entries {
		i := strings.Index(text, squash(e.Body))
		if i < last {
			t.Errorf("entry %q is printed before the one preceding it", e.Heading)
		}
		last = i
	}
}

func TestRenderPageNumbersAndPageBreaks(t *testing.T) {
	doc := rfi(60)
	text := pdfText(t, mustRender(t, doc, nil))
	n := pages(text)
	if n < 3 {
		t.Fatalf("60 entries fit on %d pages; want a document of several pages", n)
	}
	for i := 1; i <= n; i++ {
		if !strings.Contains(text, fmt.Sprintf("Page %d of %d", i, n)) {
			t.Errorf("page %d lacks its number \"Page %d of %d\"", i, i, n)
		}
	}
	s := squash(text)
	for _, e := range doc.Sections[0].Entries {
		// A body broken across a page still reads whole once the footer
		// lines are taken out.
		if !strings.Contains(s, squash(e.Body)) && !strings.Contains(nospace(withoutFooters(text)), nospace(e.Body)) {
			t.Errorf("body of %q is missing", e.Heading)
		}
	}
}

// withoutFooters drops the footer lines pdftotext puts at the end of every
// page.
func withoutFooters(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "Page ") && strings.Contains(l, " of ") || strings.HasPrefix(strings.TrimLeft(l, "\f"), "RFI #12 · ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestRenderLongTextWrapsWithinThePage(t *testing.T) {
	word := strings.Repeat("x", 400) // wider than a line
	url := "https://example.com/" + strings.Repeat("path/", 60) + "end"
	body := strings.Repeat("wrapping words ", 300) + word + " " + url
	doc := Document{Number: "RFI #1", Title: "Long", Sections: []Section{{Heading: "Q", Entries: []Entry{{Body: body}}}}}
	b := mustRender(t, doc, noFallbacks)
	text := pdfText(t, b, "-layout")
	if !strings.Contains(nospace(text), nospace(word+url)) {
		t.Errorf("the long word and URL are not printed whole")
	}
	// No printed line is wider than the text column: pdftotext -layout
	// keeps columns, so no line of it is much longer than the widest
	// line of ordinary text.
	for _, l := range strings.Split(text, "\n") {
		if n := len([]rune(strings.TrimSpace(l))); n > 140 {
			t.Errorf("line of %d characters runs off the page: %.60q…", n, l)
		}
	}
	// The layout itself: every line is within the column.
	fs, pdf := testFonts(t)
	l := newLayout(pdf, fs, Options{MaxPages: DefaultMaxPages})
	w := l.contentWidth() - indent
	for i, tl := range l.wrap(body, stValue, w) {
		if tl.w > w+1e-9 {
			t.Fatalf("line %d is %.2f mm wide, column %.2f mm", i, tl.w, w)
		}
	}
}

func TestRenderPageSizes(t *testing.T) {
	for _, tc := range []struct {
		opts *Options
		box  string
	}{
		{nil, "/MediaBox [0 0 595.28 841.89]"},
		{&Options{PageSize: A4}, "/MediaBox [0 0 595.28 841.89]"},
		{&Options{PageSize: Letter}, "/MediaBox [0 0 612.00 792.00]"},
	} {
		b := mustRender(t, rfi(2), tc.opts)
		if !bytes.Contains(b, []byte(tc.box)) {
			t.Errorf("options %+v: the PDF lacks %s", tc.opts, tc.box)
		}
	}
	if _, err := Render(rfi(1), &Options{PageSize: PageSize(7)}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("unknown page size: got %v, want ErrInvalidOptions", err)
	}
}

func TestRenderUnicodeLatinGreekCyrillic(t *testing.T) {
	doc := Document{
		Project: "Baustelle Straße 7",
		Number:  "RFI #7",
		Title:   "Ø 12 rebar for Müller",
		Fields:  []Field{{Label: "Greek", Value: "Καλημέρα κόσμε"}, {Label: "Cyrillic", Value: "Здравствуй, мир"}, {Label: "Decomposed", Value: "Mu\u0308ller"}},
		Sections: []Section{{Heading: "Conversation", Entries: []Entry{
			{Heading: "Answer", Author: "Jörg Müller", Body: "Ø 12 rebar at 150 mm — Straße, naïve café, ĳ, Œuvre, €100"},
		}}},
		Generated: at,
	}
	// The embedded Go fonts alone print all of it.
	text := squash(pdfText(t, mustRender(t, doc, noFallbacks)))
	for _, w := range []string{"Baustelle Straße 7", "Ø 12 rebar for Müller", "Καλημέρα κόσμε", "Здравствуй, мир", "Jörg Müller",
		"Ø 12 rebar at 150 mm — Straße, naïve café, ĳ, Œuvre, €100", "Decomposed Müller"} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	if strings.ContainsRune(text, '\uFFFD') {
		t.Errorf("a character was replaced although the Go fonts have it: %q", text)
	}
}

// cjkFont returns the first default fallback font that has CJK, failing
// in CI (which installs fonts-droid-fallback) and skipping loudly
// elsewhere.
func cjkFont(t *testing.T) string {
	t.Helper()
	fs, err := newFontSet(DefaultFallbackFonts())
	if err != nil {
		t.Fatal(err)
	}
	if c := fs.pick('東'); c > 0 {
		return DefaultFallbackFonts()[0] // any; the set found one
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no CJK font at %v: CI must install fonts-droid-fallback", DefaultFallbackFonts())
	}
	t.Skipf("SKIPPING: no CJK font at %v (apt-get install -y fonts-droid-fallback)", DefaultFallbackFonts())
	return ""
}

func TestRenderCJKWithAFallbackFont(t *testing.T) {
	cjkFont(t)
	doc := Document{
		Project: "東京タワー", Number: "RFI #8", Title: "東京タワー 基礎工事",
		Sections: []Section{{Heading: "会話", Entries: []Entry{
			{Heading: "質問", Author: "山田 太郎", Body: strings.Repeat("基礎工事は予定通り進んでいます。", 20) + " 한국어 텍스트 中文文本"},
		}}},
		Generated: at,
	}
	b := mustRender(t, doc, nil)
	text := pdfText(t, b)
	if strings.ContainsRune(text, '\uFFFD') {
		t.Errorf("CJK was replaced although a CJK font is installed")
	}
	// Long CJK text wraps between characters, without spaces.
	if !strings.Contains(nospace(text), nospace(doc.Sections[0].Entries[0].Body)) {
		t.Errorf("the CJK body is not extractable whole")
	}
	for _, w := range []string{"RFI #8 東京タワー 基礎工事", "会話", "質問", "山田 太郎"} {
		if !strings.Contains(squash(text), w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	// Only the fonts used are embedded: a Latin record carries no CJK font.
	latin := mustRender(t, rfi(2), nil)
	if len(latin) >= len(b) || bytes.Contains(latin, []byte("/utf8fb")) {
		t.Errorf("a Latin-only record embeds a fallback font (%d bytes vs %d with CJK)", len(latin), len(b))
	}
}

func TestRenderCharactersNoFontHasStayVisibleAndExtractable(t *testing.T) {
	body := "emoji 😀 private \ue000 plane16 \U00100000 and 東京 without a CJK font"
	doc := Document{Number: "RFI #9", Title: "Replacement", Sections: []Section{{Heading: "Q", Entries: []Entry{{Body: body}}}}}
	b := mustRender(t, doc, noFallbacks)
	text := squash(pdfText(t, b))
	// The original text is what extraction returns (ActualText) …
	if !strings.Contains(text, body) {
		t.Errorf("extracted %q, want the original %q", text, body)
	}
	// … and what is drawn is a visible replacement character.
	fs, pdf := testFonts(t)
	l := newLayout(pdf, fs, Options{MaxPages: 10})
	lines := l.wrap(body, stValue, 500)
	var drawn, actual strings.Builder
	for _, s := range lines[0].segs {
		drawn.WriteString(s.text)
		if s.actual != "" {
			actual.WriteString(s.actual)
			if s.w <= 0 {
				t.Errorf("replacement for %q has no width", s.actual)
			}
		}
	}
	if got := strings.Count(drawn.String(), string(fs.replacement)); got != 5 {
		t.Errorf("drawn %q: %d replacement characters, want 5", drawn.String(), got)
	}
	if actual.String() != "😀\ue000\U00100000東京" {
		t.Errorf("actual text %q", actual.String())
	}
	if fs.replacement != '\uFFFD' {
		t.Errorf("replacement is %q, want U+FFFD", fs.replacement)
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	docs := map[string]Document{"rfi": rfi(10), "unicode": unicodeDoc()}
	for name, doc := range docs {
		first := mustRender(t, doc, nil)
		for i := range 2 {
			if again := mustRender(t, doc, nil); !bytes.Equal(first, again) {
				t.Fatalf("%s: render %d differs from the first", name, i+2)
			}
		}
		// A new process has new map seeds and a new clock.
		if other := renderInChild(t, name); !bytes.Equal(first, other) {
			t.Errorf("%s: a render in another process differs", name)
		}
		if !bytes.Contains(first, []byte("/CreationDate (D:20261205093000)")) || !bytes.Contains(first, []byte("/ModDate (D:20261205093000)")) {
			t.Errorf("%s: creation/modification date is not doc.Generated", name)
		}
	}
	// The zero Generated time gives a fixed date, not the clock.
	doc := rfi(1)
	doc.Generated = time.Time{}
	b := mustRender(t, doc, nil)
	if !bytes.Contains(b, []byte("/CreationDate (D:19700101000000)")) {
		t.Errorf("zero Generated: the PDF's dates are not fixed")
	}
	// A change to the record changes the bytes.
	doc2 := rfi(10)
	doc2.Sections[0].Entries[3].Body += "!"
	if bytes.Equal(mustRender(t, doc2, nil), mustRender(t, rfi(10), nil)) {
		t.Errorf("a changed body gives the same bytes")
	}
}

// TestRenderConcurrently: renders share no state; in parallel they give the
// bytes they give one at a time.
func TestRenderConcurrently(t *testing.T) {
	docs := []Document{rfi(3), unicodeDoc(), rfi(12), {}}
	want := make([][]byte, len(docs))
	for i, d := range docs {
		want[i] = mustRender(t, d, nil)
	}
	got := make([][]byte, len(docs))
	errs := make([]error, len(docs))
	var wg sync.WaitGroup
	for i, d := range docs {
		wg.Go(func() { got[i], errs[i] = Render(d, nil) })
	}
	wg.Wait()
	for i := range docs {
		if errs[i] != nil || !bytes.Equal(got[i], want[i]) {
			t.Errorf("document %d rendered in parallel: err %v, same bytes %v", i, errs[i], bytes.Equal(got[i], want[i]))
		}
	}
}

func unicodeDoc() Document {
	d := rfi(4)
	d.Title = "Ø 12 rebar, Müller, Straße, Καλημέρα, Привет, 東京タワー 基礎工事 😀"
	d.Sections[0].Entries[1].Body = "基礎工事は予定通り。Здравствуй. Ø 12."
	return d
}

const childEnv = "RECORDPDF_RENDER_CHILD"

// renderInChild renders docs[name] in a new process of this test binary
// (see TestMain) and returns the bytes.
func renderInChild(t *testing.T, name string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "child.pdf")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+name+"="+out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child render: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMain runs the tests, or, as the child process of
// TestRenderIsDeterministic, renders one document into a file.
func TestMain(m *testing.M) {
	v := os.Getenv(childEnv)
	if v == "" {
		os.Exit(m.Run())
	}
	name, out, _ := strings.Cut(v, "=")
	docs := map[string]Document{"rfi": rfi(10), "unicode": unicodeDoc()}
	doc, ok := docs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown document %q\n", name)
		os.Exit(2)
	}
	b, err := Render(doc, nil)
	if err == nil {
		err = os.WriteFile(out, b, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestRenderHostileInput(t *testing.T) {
	mb := 1 << 20
	if raceEnabled {
		mb = 64 << 10
	}
	words := strings.Repeat("lorem ipsum dolor sit amet ", mb/27+1)[:mb]
	cases := map[string]Document{
		"empty":            {},
		"huge body":        {Number: "N1", Sections: []Section{{Entries: []Entry{{Body: words}}}}},
		"huge word":        {Number: "N2", Sections: []Section{{Entries: []Entry{{Body: strings.Repeat("a", mb)}}}}},
		"huge newlines":    {Number: "N3", Sections: []Section{{Entries: []Entry{{Body: strings.Repeat("\n", mb)}}}}},
		"huge CJK no font": {Number: "N4", Sections: []Section{{Entries: []Entry{{Body: strings.Repeat("東", mb/3)}}}}},
		"huge title":       {Number: "N5", Title: words},
		"huge label":       {Number: "N6", Fields: []Field{{Label: words[:mb/4], Value: "v"}}},
		"huge number":      {Number: strings.Repeat("N", mb), Project: words, Tool: words},
		"control chars":    {Number: "N7\x00\x07", Title: "t\x1b[31mred\x1b[0m\x7f\u0085", Fields: []Field{{Label: "a\tb", Value: "c\r\nd\re\u2028f"}}},
		"invalid UTF-8":    {Number: "N8\xff\xfe", Title: "bad \xc3\x28 seq \xed\xa0\x80 surrogate", Attachments: []string{"\x80.pdf"}},
		"format chars":     {Number: "N9", Title: "zero\u200bwidth \u202eRTL override\u202c \ufeffBOM \u00adsoft"},
		"bidi and marks":   {Number: "N10", Title: "עברית العربية a\u0301\u0327 ﷽"},
		"many fields":      {Number: "N11", Fields: manyFields(mb / 200)},
		"empty parts":      {Sections: []Section{{}, {Entries: []Entry{{}, {Attachments: []string{""}}}}}, Attachments: []string{""}, Dates: []DateField{{}}},
		"spaces only":      {Number: "   ", Title: "\t\t", Sections: []Section{{Entries: []Entry{{Body: strings.Repeat(" ", mb)}}}}},
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			b := mustRender(t, doc, noFallbacks)
			t.Logf("%s: %d bytes in %v", name, len(b), time.Since(start).Round(time.Millisecond))
		})
	}
	t.Run("cleaned text is extractable", func(t *testing.T) {
		text := squash(pdfText(t, mustRender(t, Document{Number: "N7\x00\x07", Title: "t\x1b[31mred\x1b[0m\x7f done \xc3\x28 x"}, noFallbacks)))
		if !strings.Contains(text, "N7 t[31mred[0m done \uFFFD( x") {
			t.Errorf("got %q", text)
		}
	})
	t.Run("huge body is all there", func(t *testing.T) {
		b := mustRender(t, cases["huge body"], noFallbacks)
		text := pdfText(t, b)
		if got, want := strings.Count(text, "lorem"), strings.Count(words, "lorem"); got != want {
			t.Errorf("%d words \"lorem\" extracted, want %d", got, want)
		}
		t.Logf("%d bytes of words: %d pages, %d bytes of PDF", mb, pages(text), len(b))
	})
}

func manyFields(n int) []Field {
	fs := make([]Field, n)
	for i := range fs {
		fs[i] = Field{Label: fmt.Sprintf("Label %d", i), Value: fmt.Sprintf("Value %d", i)}
	}
	return fs
}

func TestRenderLimits(t *testing.T) {
	words := 200000 // 1 MB
	if raceEnabled {
		words = 20000
	}
	doc := Document{Number: "N", Sections: []Section{{Entries: []Entry{{Body: strings.Repeat("word ", words)}}}}}
	if _, err := Render(doc, &Options{MaxTextBytes: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("text over MaxTextBytes: got %v, want ErrTooLarge", err)
	}
	if _, err := Render(doc, &Options{MaxPages: 3}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("more pages than MaxPages: got %v, want ErrTooLarge", err)
	}
	if _, err := Render(doc, nil); err != nil {
		t.Errorf("within the default limits: %v", err)
	}
}

func TestRenderSkipsUnusableFallbackFonts(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A font whose table directory is sound but whose tables are noise.
	noise := bytes.Clone(goregular.TTF)
	for i := 12 + 16*int(noise[5]); i < len(noise); i++ {
		noise[i] = byte(i * 7)
	}
	paths := []string{
		filepath.Join(dir, "missing.ttf"),
		dir, // a directory
		write("text.ttf", []byte("not a font at all")),
		write("otf.otf", append([]byte("OTTO"), make([]byte, 64)...)),
		write("ttc.ttc", append([]byte("ttcf"), make([]byte, 64)...)),
		write("truncated.ttf", goregular.TTF[:len(goregular.TTF)/2]),
		write("noise.ttf", noise),
	}
	// A font that passes every check but has a damaged head table: the
	// PDF library panics on it while writing the file.
	if dejavu, err := os.ReadFile(dejaVuSans); err == nil {
		off := binary.BigEndian.Uint32(tableRecord(t, dejavu, "head")[8:])
		for i := range 54 {
			dejavu[int(off)+i] = byte(i * 7)
		}
		damaged := write("damaged-head.ttf", dejavu)
		paths = append(paths, damaged)
		// It passes the checks before rendering: only the retry saves
		// the render.
		if fs, err := newFontSet([]string{damaged}); err != nil || fs.pick('ℵ') != 1 {
			t.Fatalf("the damaged font is not picked up before rendering (%v)", err)
		}
	} else if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing: CI must install fonts-dejavu-core", dejaVuSans)
	} else {
		t.Logf("SKIPPING the damaged-font part: %v", err)
	}
	doc := Document{Number: "RFI #3", Title: "東京 Müller ℵ ∮"}
	b := mustRender(t, doc, &Options{FallbackFonts: paths})
	if text := squash(pdfText(t, b)); !strings.Contains(text, "RFI #3 東京 Müller ℵ ∮") {
		t.Errorf("got %q", text)
	}
	if !bytes.Equal(b, mustRender(t, doc, noFallbacks)) {
		t.Errorf("unusable fallback fonts changed the output")
	}
}

const dejaVuSans = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// tableRecord returns the table directory record of tag in a TrueType file.
func tableRecord(t *testing.T, b []byte, tag string) []byte {
	t.Helper()
	n := int(binary.BigEndian.Uint16(b[4:]))
	for i := range n {
		if rec := b[12+16*i:]; string(rec[:4]) == tag {
			return rec[:16]
		}
	}
	t.Fatalf("no %s table", tag)
	return nil
}

// TestRenderFallbackFontsOption: a font named in Options.FallbackFonts is
// used for characters the Go fonts lack.
func TestRenderFallbackFontsOption(t *testing.T) {
	path := dejaVuSans
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must install fonts-dejavu-core", path)
		}
		t.Skipf("SKIPPING: %s is missing (apt-get install -y fonts-dejavu-core)", path)
	}
	doc := Document{Number: "RFI #4", Title: "ℵ ∮ ⌘ ☂"} // not in the Go fonts, in DejaVu Sans
	fs, err := newFontSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range "ℵ∮⌘☂" {
		if fs.pick(r) != noFace {
			t.Fatalf("%q is in the Go fonts; pick another test character", r)
		}
	}
	b := mustRender(t, doc, &Options{FallbackFonts: []string{path}})
	if !bytes.Contains(b, []byte("/utf8fb1")) {
		t.Errorf("the fallback font is not embedded")
	}
	fs, _ = newFontSet([]string{path})
	for _, r := range "ℵ∮⌘☂" {
		if fs.pick(r) != 1 {
			t.Errorf("%q is not printed in the fallback font", r)
		}
	}
	if text := squash(pdfText(t, b)); !strings.Contains(text, "RFI #4 ℵ ∮ ⌘ ☂") {
		t.Errorf("got %q", text)
	}
}

func TestRenderMetadata(t *testing.T) {
	bin, err := exec.LookPath("pdfinfo")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pdfinfo is not installed (Debian package poppler-utils): %v", err)
		}
		t.Skipf("SKIPPING: pdfinfo is not installed (apt-get install -y poppler-utils): %v", err)
	}
	doc := unicodeDoc()
	p := filepath.Join(t.TempDir(), "m.pdf")
	if err := os.WriteFile(p, mustRender(t, doc, &Options{PageSize: Letter}), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", p).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	info := string(out)
	for _, want := range []string{
		"Title:           RFI #12 Ø 12 rebar, Müller, Straße, Καλημέρα, Привет, 東京タワー 基礎工事 \uFFFD\n",
		"Subject:         RFIs\n",
		"Producer:        procoresync " + Version + "\n",
		"Page size:       612 x 792 pts (letter)",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
}

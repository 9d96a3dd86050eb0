package recordpdf

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
)

var at = time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)

// rfi is a typical RFI: 20 fields and n question/answer entries.
func rfi(entries int) Document {
	doc := Document{
		Project: "Harbour View Tower",
		Tool:    "RFIs",
		Number:  "RFI #12",
		Title:   "Rebar spacing at grid B/4 footing",
		Status:  "Open",
		Dates: []DateField{
			{Label: "Created", Value: at.Add(-72 * time.Hour)},
			{Label: "Due", Value: at.Add(48 * time.Hour), DateOnly: true},
			{Label: "Closed"},
		},
		Generated: at,
	}
	for i := range 20 {
		doc.Fields = append(doc.Fields, Field{Label: fmt.Sprintf("Field %02d", i), Value: fmt.Sprintf("value %02d of the RFI", i)})
	}
	conv := Section{Heading: "Conversation"}
	for i := range entries {
		kind := "Question"
		if i%2 == 1 {
			kind = "Answer"
		}
		conv.Entries = append(conv.Entries, Entry{
			Heading: fmt.Sprintf("%s %d", kind, i/2+1),
			Author:  "Anna Schmidt (Structural Engineers Ltd)",
			At:      at.Add(time.Duration(i) * time.Hour),
			Fields:  []Field{{Label: "Official", Value: fmt.Sprint(i%2 == 1)}},
			Body: fmt.Sprintf("Entry body %d: please confirm the bottom reinforcement of the footing at grid B/4. "+
				"The drawings show 12 mm bars at 150 mm centres, the schedule 16 mm bars at 200 mm.\n\n"+
				"Second paragraph of entry %d with a few more words so that it wraps across lines.", i, i),
			Attachments: []string{fmt.Sprintf("sketch-%d.pdf", i)},
		})
	}
	doc.Sections = []Section{conv}
	doc.Attachments = []string{"sketch-0.pdf", "photo 1.jpg", "calc.xlsx"}
	return doc
}

// pdfText extracts the text of a PDF with pdftotext. Without pdftotext the
// test fails in CI (CI set) and skips loudly elsewhere.
func pdfText(t testing.TB, pdf []byte, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pdftotext is not installed (Debian package poppler-utils): %v", err)
		}
		t.Skipf("SKIPPING: pdftotext is not installed (apt-get install -y poppler-utils): %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(append([]string{"-enc", "UTF-8"}, args...), in, "-")...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("pdftotext complained: %s", stderr.String())
	}
	return string(out)
}

// squash collapses every run of white space to one space.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// nospace drops all white space.
func nospace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func mustRender(t testing.TB, doc Document, opts *Options) []byte {
	t.Helper()
	b, err := Render(doc, opts)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[max(0, len(b)-64):], []byte("%%EOF")) {
		t.Fatalf("Render returned no complete PDF (%d bytes)", len(b))
	}
	return b
}

// pages counts the pages pdftotext sees (it ends each with a form feed).
func pages(text string) int { return strings.Count(text, "\f") }

// noFallbacks renders with the embedded fonts only.
var noFallbacks = &Options{FallbackFonts: []string{}}

// testFonts returns a font set of the Go fonts alone, registered in a PDF,
// for layout tests.
func testFonts(t testing.TB) (*fontSet, *fpdf.Fpdf) {
	t.Helper()
	fs, err := newFontSet([]string{})
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := newPDF(A4, fs, cleanDoc{})
	if err != nil {
		t.Fatal(err)
	}
	return fs, pdf
}

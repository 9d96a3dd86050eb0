package recordpdf

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Version identifies the renderer's output. It changes whenever the bytes
// Render produces for the same Document change (layout, fonts, library
// version), so callers that put it into a record's Version re-export every
// record after a renderer change. Installing or removing a fallback font
// changes the bytes of the records printed with it without changing
// Version.
const Version = "recordpdf-1"

// PageSize is the paper size of the PDF.
type PageSize int

const (
	// A4 is 210 × 297 mm (the default).
	A4 PageSize = iota
	// Letter is US Letter, 8.5 × 11 in.
	Letter
)

// String returns "A4" or "Letter".
func (p PageSize) String() string {
	switch p {
	case A4:
		return "A4"
	case Letter:
		return "Letter"
	}
	return fmt.Sprintf("PageSize(%d)", int(p))
}

// DefaultMaxPages bounds the length of a PDF when Options.MaxPages is zero.
// A record with 1 MB of text fills about 200 A4 pages.
const DefaultMaxPages = 5000

// DefaultMaxTextBytes bounds the text of a Document when
// Options.MaxTextBytes is zero.
const DefaultMaxTextBytes = 32 << 20

// Options change how Render lays out a Document. The zero value (or nil)
// prints A4 pages with the embedded Go fonts and the fallback fonts of
// DefaultFallbackFonts that are installed.
type Options struct {
	// PageSize is A4 (default) or Letter.
	PageSize PageSize
	// Location is the time zone dates and times are printed in (UTC when
	// nil). Dates marked DateOnly are printed as their own calendar date,
	// never converted.
	Location *time.Location
	// FallbackFonts are TrueType font files (.ttf, glyf outlines; not .otf
	// or .ttc collections) tried in order for characters the embedded Go
	// fonts lack, such as Chinese, Japanese and Korean. Nil means
	// DefaultFallbackFonts(); an empty non-nil slice means none. Files that
	// are missing, unreadable or not usable TrueType fonts are skipped.
	// The files are read, in order, only when a Document has characters
	// the fonts before them lack, and only the fonts printed from are
	// embedded (as subsets).
	FallbackFonts []string
	// MaxPages bounds the PDF's length (DefaultMaxPages when zero); a
	// Document that needs more pages gets ErrTooLarge.
	MaxPages int
	// MaxTextBytes bounds the total text of a Document
	// (DefaultMaxTextBytes when zero); a larger one gets ErrTooLarge.
	MaxTextBytes int
}

// DefaultFallbackFonts returns well-known Debian paths of TrueType fonts
// that cover what the Go fonts do not: DejaVu Sans (package
// fonts-dejavu-core: symbols, Hebrew, Arabic, Armenian, Georgian, …) and
// Droid Sans Fallback (package fonts-droid-fallback: Chinese, Japanese,
// Korean).
func DefaultFallbackFonts() []string {
	return []string{
		"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
		"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
		"/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",
	}
}

// ErrTooLarge is returned (wrapped) when a Document exceeds
// Options.MaxTextBytes or needs more than Options.MaxPages pages.
var ErrTooLarge = errors.New("recordpdf: document too large")

// ErrInvalidOptions is returned (wrapped) for Options Render cannot use.
var ErrInvalidOptions = errors.New("recordpdf: invalid options")

// ErrRender is returned (wrapped) when the PDF library fails; the wrapped
// message says why.
var ErrRender = errors.New("recordpdf: rendering failed")

// Render prints doc as a PDF and returns its bytes. opts may be nil.
//
// Layout: a header with the project, tool, number, title, status and
// dates; every field; each section with its entries in order (heading,
// author and time, the entry's fields, its body wrapped to the page and
// broken across pages, its attachments); the list of attachments; a footer
// with the record's number and "Page n of m" on every page.
//
// Text: invalid UTF-8 becomes U+FFFD, text is NFC-normalised, line breaks
// (\n, \r\n, \r) are kept, tabs become spaces, other control and format
// characters are dropped. Each character is printed in the first font
// that has it: the embedded Go fonts (Latin, Greek, Cyrillic), then
// Options.FallbackFonts. A character no font has is printed as a visible
// U+FFFD "�" whose text, as a PDF ActualText, stays the original
// character, so copying or extracting the text keeps it. Right-to-left
// scripts are printed in logical order without shaping.
//
// The output is deterministic: the same Document, Options and installed
// fallback fonts give the same bytes. The PDF's creation and modification
// dates are doc.Generated (1970-01-01 when zero), never the clock.
func Render(doc Document, opts *Options) ([]byte, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.FallbackFonts == nil {
		o.FallbackFonts = DefaultFallbackFonts()
	}
	if o.MaxPages <= 0 {
		o.MaxPages = DefaultMaxPages
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = DefaultMaxTextBytes
	}
	if o.PageSize != A4 && o.PageSize != Letter {
		return nil, fmt.Errorf("%w: unknown page size %v", ErrInvalidOptions, o.PageSize)
	}
	if n := doc.textBytes(); n > o.MaxTextBytes {
		return nil, fmt.Errorf("%w: %d bytes of text, limit %d", ErrTooLarge, n, o.MaxTextBytes)
	}

	d := clean(doc, o.Location)
	fallbacks := o.FallbackFonts
	for {
		out, used, err := render(d, o, fallbacks)
		if err == nil || errors.Is(err, ErrTooLarge) || len(used) == 0 {
			return out, err
		}
		// The PDF library failed while fallback fonts were in use: a
		// damaged font file that looked sound. Render again without
		// them, so such a file never stops a render.
		fallbacks = slices.DeleteFunc(slices.Clone(fallbacks), func(p string) bool { return slices.Contains(used, p) })
	}
}

// render lays out and prints d with the given fallback font files. It
// returns the fallback files it used.
func render(d cleanDoc, o Options, fallbacks []string) (out []byte, used []string, err error) {
	defer func() {
		// The PDF library panics on some inconsistencies (damaged fonts
		// among them); they surface as an error, never as a crash.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", ErrRender, r)
		}
	}()
	fonts, err := newFontSet(fallbacks)
	if err != nil {
		return nil, nil, err
	}
	fonts.prepare(d.allText())
	used = fonts.usedFallbacks()

	pdf, err := newPDF(o.PageSize, fonts, d)
	if err != nil {
		return nil, used, err
	}
	l := newLayout(pdf, fonts, o)
	pages, err := l.document(d)
	if err != nil {
		return nil, used, err
	}
	if err := emit(pdf, fonts, pages); err != nil {
		return nil, used, err
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, used, fmt.Errorf("%w: %v", ErrRender, err)
	}
	return buf.Bytes(), used, nil
}

// newPDF creates the fpdf document with fixed metadata and the fonts the
// Document needs registered.
func newPDF(size PageSize, fonts *fontSet, d cleanDoc) (*fpdf.Fpdf, error) {
	sz := "A4"
	if size == Letter {
		sz = "Letter"
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		SizeStr:        sz,
	})
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(marginLeft, marginTop, marginRight)
	pdf.SetCellMargin(0)
	stamp := d.generated
	if stamp.IsZero() {
		stamp = time.Unix(0, 0).UTC()
	}
	pdf.SetCreationDate(stamp)
	pdf.SetModificationDate(stamp)
	pdf.SetProducer("procoresync "+Version, false)
	pdf.SetCreator("procoresync "+Version, false)
	pdf.SetTitle(pdfTitle(d), true)
	pdf.SetSubject(metadata(d.tool), true)
	if err := fonts.register(pdf); err != nil {
		return nil, err
	}
	if pdf.Err() {
		return nil, fmt.Errorf("%w: %v", ErrRender, pdf.Error())
	}
	return pdf, nil
}

func pdfTitle(d cleanDoc) string {
	return metadata(join(" ", d.number, d.title))
}

// metadata makes s fit for the PDF's document information: at most 300
// characters, those outside the Basic Multilingual Plane (which the PDF
// library encodes wrongly there) replaced by U+FFFD.
func metadata(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFFFF {
			return '\uFFFD'
		}
		return r
	}, truncateRunes(s, 300))
}

// textBytes is the size of all the text in doc.
func (doc Document) textBytes() int {
	n := len(doc.Project) + len(doc.Tool) + len(doc.Number) + len(doc.Title) + len(doc.Status)
	for _, d := range doc.Dates {
		n += len(d.Label) + 32
	}
	for _, f := range doc.Fields {
		n += len(f.Label) + len(f.Value)
	}
	for _, s := range doc.Sections {
		n += len(s.Heading)
		for _, e := range s.Entries {
			n += len(e.Heading) + len(e.Author) + len(e.Body) + 32
			for _, f := range e.Fields {
				n += len(f.Label) + len(f.Value)
			}
			for _, a := range e.Attachments {
				n += len(a)
			}
		}
	}
	for _, a := range doc.Attachments {
		n += len(a)
	}
	return n
}

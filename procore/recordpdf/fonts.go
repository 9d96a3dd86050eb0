package recordpdf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// maxFontFileBytes bounds the size of a fallback font file that is read.
const maxFontFileBytes = 64 << 20

// noFace marks a character no font has: it is printed as the replacement
// character with its original text kept as ActualText.
const noFace = -1

// face is one font family: the embedded Go fonts (regular and bold) or a
// fallback TrueType file (regular only; bold text uses it too).
type face struct {
	family        string // fpdf family name
	path          string // file of a fallback face
	regular, bold []byte
	sf, sfBold    *sfnt.Font
	used          bool
}

// fontSet chooses, per character, the first face that has it, loading
// fallback files lazily, and measures text. It lives for one Render.
type fontSet struct {
	faces       []*face
	pending     []string // fallback paths not loaded yet, in order
	choice      map[rune]int8
	buf         sfnt.Buffer
	replacement rune
	widths      map[widthKey]float64
	ascii       [2][128]float64 // Go regular and bold widths per 1 pt, in mm
}

type widthKey struct {
	face int8
	bold bool
	r    rune
}

func newFontSet(fallbacks []string) (*fontSet, error) {
	reg, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded font: %v", ErrRender, err)
	}
	bold, err := sfnt.Parse(gobold.TTF)
	if err != nil {
		return nil, fmt.Errorf("%w: embedded font: %v", ErrRender, err)
	}
	fs := &fontSet{
		faces:   []*face{{family: "go", regular: goregular.TTF, bold: gobold.TTF, sf: reg, sfBold: bold, used: true}},
		pending: append([]string(nil), fallbacks...),
		choice:  make(map[rune]int8),
		widths:  make(map[widthKey]float64),
	}
	fs.replacement = '?'
	if fs.has(fs.faces[0].sf, '\uFFFD') && fs.has(fs.faces[0].sfBold, '\uFFFD') {
		fs.replacement = '\uFFFD'
	}
	return fs, nil
}

func (fs *fontSet) has(f *sfnt.Font, r rune) bool {
	if f == nil {
		return false
	}
	i, err := f.GlyphIndex(&fs.buf, r)
	return err == nil && i != 0
}

// pick returns the index of the first face that has r (in both styles for
// the Go fonts), or noFace.
func (fs *fontSet) pick(r rune) int {
	if r < 0x80 && r >= 0x20 {
		return 0
	}
	if c, ok := fs.choice[r]; ok {
		return int(c)
	}
	c := noFace
	if r <= 0xFFFF { // the PDF library's Unicode fonts address the BMP only
		for i := 0; ; i++ {
			if i == len(fs.faces) {
				if !fs.loadNext() {
					break
				}
			}
			f := fs.faces[i]
			if fs.has(f.sf, r) && (f.sfBold == nil || fs.has(f.sfBold, r)) {
				c = i
				break
			}
		}
	}
	fs.choice[r] = int8(c)
	return c
}

// usedFallbacks returns the files of the fallback faces in use.
func (fs *fontSet) usedFallbacks() []string {
	var out []string
	for _, f := range fs.faces[1:] {
		if f.used {
			out = append(out, f.path)
		}
	}
	return out
}

// prepare chooses a face for every character of the Document's text, so
// that only the faces it needs are embedded.
func (fs *fontSet) prepare(all func(func(string) bool)) {
	for s := range all {
		for _, r := range s {
			if r < 0x80 {
				continue // ASCII: the Go fonts; \n is no character
			}
			if c := fs.pick(r); c > 0 {
				fs.faces[c].used = true
			}
		}
	}
}

// loadNext loads the next usable fallback file; it reports false when
// none is left.
func (fs *fontSet) loadNext() bool {
	for len(fs.pending) > 0 && len(fs.faces) < 100 {
		path := fs.pending[0]
		fs.pending = fs.pending[1:]
		b, ok := readFont(path)
		if !ok {
			continue
		}
		sf, err := sfnt.Parse(b)
		if err != nil {
			continue
		}
		fam := fmt.Sprintf("fb%d", len(fs.faces))
		fs.faces = append(fs.faces, &face{family: fam, path: path, regular: b, sf: sf})
		return true
	}
	return false
}

// readFont reads a TrueType file (glyf outlines), refusing anything else
// (OpenType CFF, collections) and files larger than maxFontFileBytes.
func readFont(path string) ([]byte, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxFontFileBytes || st.Size() < 12 {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFontFileBytes))
	if err != nil || !isTrueType(b) {
		return nil, false
	}
	return b, true
}

// isTrueType reports whether b starts like a TrueType font with the tables
// the PDF library reads.
func isTrueType(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	v := binary.BigEndian.Uint32(b)
	if v != 0x00010000 && v != 0x74727565 { // 1.0 or 'true'
		return false
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if len(b) < 12+16*n {
		return false
	}
	need := map[string]bool{"head": false, "hhea": false, "hmtx": false, "maxp": false, "cmap": false, "glyf": false, "loca": false, "post": false}
	for i := range n {
		rec := b[12+16*i:]
		tag := string(rec[:4])
		off := binary.BigEndian.Uint32(rec[8:])
		size := binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(size) > uint64(len(b)) {
			return false
		}
		if _, ok := need[tag]; ok {
			need[tag] = true
		}
	}
	for _, ok := range need {
		if !ok {
			return false
		}
	}
	return true
}

// register adds the faces the Document uses to pdf.
func (fs *fontSet) register(pdf *fpdf.Fpdf) error {
	for _, f := range fs.faces {
		if !f.used {
			continue
		}
		if err := addFace(pdf, f); err != nil {
			return fmt.Errorf("%w: font %s: %v", ErrRender, f.family, err)
		}
	}
	// Fill the ASCII width tables of the Go fonts.
	for b, style := range []string{"", "B"} {
		pdf.SetFont("go", style, 1)
		for r := rune(0x20); r < 0x7f; r++ {
			fs.ascii[b][r] = unitsToMM(pdf.GetStringSymbolWidth(string(r)))
		}
	}
	if pdf.Err() {
		return fmt.Errorf("%w: font: %v", ErrRender, pdf.Error())
	}
	return nil
}

func addFace(pdf *fpdf.Fpdf, f *face) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	pdf.AddUTF8FontFromBytes(f.family, "", f.regular)
	pdf.SetFont(f.family, "", 10)
	if f.bold != nil {
		pdf.AddUTF8FontFromBytes(f.family, "B", f.bold)
		pdf.SetFont(f.family, "B", 10)
	}
	if pdf.Err() {
		return pdf.Error()
	}
	return nil
}

// style returns the fpdf style of bold text in face i: fallback faces
// have no bold variant.
func (fs *fontSet) style(i int, bold bool) string {
	if bold && fs.faces[i].bold != nil {
		return "B"
	}
	return ""
}

// width returns the advance of r in face i, for 1 pt text, in mm. pdf must
// be the document the faces are registered in.
func (fs *fontSet) width(pdf *fpdf.Fpdf, i int, bold bool, r rune) float64 {
	if i == 0 && r >= 0x20 && r < 0x7f {
		b := 0
		if bold {
			b = 1
		}
		return fs.ascii[b][r]
	}
	k := widthKey{int8(i), bold, r}
	if w, ok := fs.widths[k]; ok {
		return w
	}
	pdf.SetFont(fs.faces[i].family, fs.style(i, bold), 1)
	w := unitsToMM(pdf.GetStringSymbolWidth(string(r)))
	fs.widths[k] = w
	return w
}

// unitsToMM converts a width in 1/1000 em to mm for 1 pt text.
func unitsToMM(u int) float64 { return float64(u) / 1000 * 25.4 / 72 }

// utf16Hex is s as a PDF hex string of UTF-16BE with a byte-order mark,
// the form ActualText takes.
func utf16Hex(s string) string {
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, r := range s {
		if r > 0xFFFF {
			r -= 0x10000
			fmt.Fprintf(&b, "%04X%04X", 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		fmt.Fprintf(&b, "%04X", r)
	}
	b.WriteByte('>')
	return b.String()
}

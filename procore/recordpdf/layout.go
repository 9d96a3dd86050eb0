package recordpdf

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
)

// Page geometry, in mm.
const (
	marginLeft       = 18.0
	marginRight      = 18.0
	marginTop        = 18.0
	marginBottom     = 20.0
	footerFromBottom = 10.0
	labelWidth       = 42.0
	labelGap         = 4.0
	indent           = 5.0
	ptToMM           = 25.4 / 72
)

// layoutText is every character the layout itself prints, so the font set
// chooses faces for them before layout.
const layoutText = "StatusAttachmentsNonePageof0123456789 ·•…()"

// style is how a run of text is printed.
type style struct {
	size float64 // pt
	bold bool
	gray int // 0 black … 255 white
}

var (
	stMeta    = style{size: 9, gray: 90}
	stTitle   = style{size: 16, bold: true}
	stLabel   = style{size: 9, bold: true, gray: 70}
	stValue   = style{size: 10}
	stSection = style{size: 13, bold: true}
	stEntry   = style{size: 11, bold: true}
	stFooter  = style{size: 8, gray: 110}
)

// lineHeight is the distance between baselines of st, in mm.
func (st style) lineHeight() float64 { return st.size * ptToMM * 1.35 }

// seg is a run of one line printed in one face. A run of characters no
// face has is printed as replacement characters with the original text as
// actual.
type seg struct {
	face   int
	text   string
	actual string
	w      float64
}

type textLine struct {
	segs []seg
	w    float64
}

// op is one drawing operation on a page: a run of text at a baseline, or
// a horizontal rule.
type op struct {
	rule   bool
	x, y   float64
	x2     float64
	st     style
	face   int
	text   string
	actual string
}

type layout struct {
	pdf      *fpdf.Fpdf
	fs       *fontSet
	maxPages int
	pageW    float64
	pageH    float64
	pages    [][]op
	y        float64

	// scratch buffers reused by wrap
	runes []rune
	faces []int8
	cum   []float64
}

func newLayout(pdf *fpdf.Fpdf, fs *fontSet, o Options) *layout {
	w, h := pdf.GetPageSize()
	return &layout{pdf: pdf, fs: fs, maxPages: o.MaxPages, pageW: w, pageH: h}
}

func (l *layout) contentWidth() float64 { return l.pageW - marginLeft - marginRight }

func (l *layout) newPage() error {
	if len(l.pages) >= l.maxPages {
		return fmt.Errorf("%w: more than %d pages", ErrTooLarge, l.maxPages)
	}
	l.pages = append(l.pages, nil)
	l.y = marginTop
	return nil
}

// need starts a new page unless h mm fit above the bottom margin.
func (l *layout) need(h float64) error {
	if len(l.pages) == 0 || l.y+h > l.pageH-marginBottom {
		return l.newPage()
	}
	return nil
}

func (l *layout) gap(h float64) { l.y += h }

// drawLine adds the ops of one text line with its baseline at y to the
// current page.
func (l *layout) drawLine(tl textLine, st style, x, y float64) {
	l.drawLineOn(len(l.pages)-1, tl, st, x, y)
}

func (l *layout) drawLineOn(page int, tl textLine, st style, x, y float64) {
	p := &l.pages[page]
	for _, s := range tl.segs {
		*p = append(*p, op{x: x, y: y, st: st, face: s.face, text: s.text, actual: s.actual})
		x += s.w
	}
}

// baseline is the baseline of a line of st whose box starts at top.
func baseline(top float64, st style) float64 { return top + st.size*ptToMM*1.05 }

// para prints s wrapped to width at x, breaking pages as needed.
func (l *layout) para(s string, st style, x, width float64) error {
	lh := st.lineHeight()
	for _, tl := range l.wrap(s, st, width) {
		if err := l.need(lh); err != nil {
			return err
		}
		l.drawLine(tl, st, x, baseline(l.y, st))
		l.y += lh
	}
	return nil
}

// row prints a label and its value side by side, the label wrapped in its
// column and the value in the rest of the width.
func (l *layout) row(label, value string, x float64) error {
	vx := x + labelWidth + labelGap
	vw := marginLeft + l.contentWidth() - vx
	ll := l.wrap(label, stLabel, labelWidth)
	vl := l.wrap(value, stValue, vw)
	lh := stValue.lineHeight()
	for i := 0; i < max(len(ll), len(vl)); i++ {
		if err := l.need(lh); err != nil {
			return err
		}
		if i < len(ll) {
			l.drawLine(ll[i], stLabel, x, baseline(l.y, stValue))
		}
		if i < len(vl) {
			l.drawLine(vl[i], stValue, vx, baseline(l.y, stValue))
		}
		l.y += lh
	}
	l.y += 0.8
	return nil
}

func (l *layout) rule(x1, x2 float64) {
	p := &l.pages[len(l.pages)-1]
	*p = append(*p, op{rule: true, x: x1, x2: x2, y: l.y})
}

// document lays out d and returns its pages, footers included.
func (l *layout) document(d cleanDoc) ([][]op, error) {
	if err := l.newPage(); err != nil {
		return nil, err
	}
	left, cw := marginLeft, l.contentWidth()
	if meta := join(" · ", d.project, d.tool); meta != "" {
		if err := l.para(meta, stMeta, left, cw); err != nil {
			return nil, err
		}
		l.gap(1)
	}
	if head := join("  ", d.number, d.title); head != "" {
		if err := l.para(head, stTitle, left, cw); err != nil {
			return nil, err
		}
	}
	l.gap(3)
	if d.status != "" {
		if err := l.row("Status", d.status, left); err != nil {
			return nil, err
		}
	}
	for _, f := range d.dates {
		if err := l.row(f.label, f.value, left); err != nil {
			return nil, err
		}
	}
	for _, f := range d.fields {
		if err := l.row(f.label, f.value, left); err != nil {
			return nil, err
		}
	}
	for _, s := range d.sections {
		if err := l.section(s); err != nil {
			return nil, err
		}
	}
	if err := l.sectionHeading(fmt.Sprintf("Attachments (%d)", len(d.attachments))); err != nil {
		return nil, err
	}
	if len(d.attachments) == 0 {
		if err := l.para("None", stValue, left, cw); err != nil {
			return nil, err
		}
	}
	for _, a := range d.attachments {
		if err := l.para("• "+a, stValue, left, cw); err != nil {
			return nil, err
		}
	}
	l.footers(d)
	return l.pages, nil
}

func (l *layout) sectionHeading(h string) error {
	l.gap(5)
	if h == "" {
		return nil
	}
	// Keep the heading with at least two lines of what follows.
	if err := l.need(stSection.lineHeight() + 2 + 2*stValue.lineHeight()); err != nil {
		return err
	}
	if err := l.para(h, stSection, marginLeft, l.contentWidth()); err != nil {
		return err
	}
	l.rule(marginLeft, marginLeft+l.contentWidth())
	l.gap(2)
	return nil
}

func (l *layout) section(s cleanSection) error {
	if err := l.sectionHeading(s.heading); err != nil {
		return err
	}
	x := marginLeft + indent
	w := l.contentWidth() - indent
	for i, e := range s.entries {
		if i > 0 {
			l.gap(3)
		}
		if err := l.need(stEntry.lineHeight() + stMeta.lineHeight() + stValue.lineHeight()); err != nil {
			return err
		}
		if e.heading != "" {
			if err := l.para(e.heading, stEntry, marginLeft, l.contentWidth()); err != nil {
				return err
			}
		}
		if meta := join(" · ", e.author, e.at); meta != "" {
			if err := l.para(meta, stMeta, marginLeft, l.contentWidth()); err != nil {
				return err
			}
		}
		l.gap(1)
		for _, f := range e.fields {
			if err := l.row(f.label, f.value, x); err != nil {
				return err
			}
		}
		if e.body != "" {
			if err := l.para(e.body, stValue, x, w); err != nil {
				return err
			}
		}
		if len(e.attachments) > 0 {
			l.gap(1)
			if err := l.para("Attachments", stLabel, x, w); err != nil {
				return err
			}
			for _, a := range e.attachments {
				if err := l.para("• "+a, stValue, x, w); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// footers adds to every page the record's number, project and generation
// time on the left and "Page n of m" on the right.
func (l *layout) footers(d cleanDoc) {
	y := l.pageH - footerFromBottom
	n := len(l.pages)
	leftText := join(" · ", d.number, d.project)
	if d.generatedText != "" {
		leftText = join(" · ", leftText, "Generated "+d.generatedText)
	}
	// The widest page number leaves the rest to the left part.
	widest := l.wrap(fmt.Sprintf("Page %d of %d", n, n), stFooter, l.contentWidth())[0]
	left := l.fit(leftText, stFooter, l.contentWidth()-widest.w-6)
	for i := range l.pages {
		rl := l.wrap(fmt.Sprintf("Page %d of %d", i+1, n), stFooter, l.contentWidth())[0]
		p := &l.pages[i]
		*p = append(*p, op{rule: true, x: marginLeft, x2: marginLeft + l.contentWidth(), y: y - 4})
		l.drawLineOn(i, left, stFooter, marginLeft, y)
		l.drawLineOn(i, rl, stFooter, marginLeft+l.contentWidth()-rl.w, y)
	}
}

// fit returns s on one line no wider than width, cut with "…" if needed.
func (l *layout) fit(s string, st style, width float64) textLine {
	s = truncateRunes(s, 400) // more never fits on a line
	if lines := l.wrap(s, st, width); len(lines) <= 1 {
		if len(lines) == 0 {
			return textLine{}
		}
		return lines[0]
	}
	room := width - l.fs.width(l.pdf, 0, st.bold, '…')*st.size
	used, cut := 0.0, 0
	for i, r := range s {
		f := l.fs.pick(r)
		if f == noFace {
			f, r = 0, l.fs.replacement
		}
		if used += l.fs.width(l.pdf, f, st.bold, r) * st.size; used > room {
			break
		}
		cut = i + utf8.RuneLen(r)
	}
	return l.wrap(strings.TrimRight(s[:cut], " ")+"…", st, 1e6)[0]
}

func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// wrap breaks s into lines no wider than width: at \n, at spaces, after
// hyphens and slashes, around CJK characters, and inside a word only when
// the word alone is wider than the line. Runs of blank lines print as one.
func (l *layout) wrap(s string, st style, width float64) []textLine {
	var out []textLine
	blank := false
	for s != "" || out == nil {
		p := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			p, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if strings.TrimSpace(p) == "" {
			if !blank && out != nil {
				out = append(out, textLine{})
			}
			blank = true
			if out == nil {
				out = []textLine{}
			}
			continue
		}
		blank = false
		out = l.wrapPara(out, p, st, width)
	}
	// Drop trailing blank lines.
	for len(out) > 0 && len(out[len(out)-1].segs) == 0 {
		out = out[:len(out)-1]
	}
	return out
}

func (l *layout) wrapPara(out []textLine, p string, st style, width float64) []textLine {
	rs := l.runes[:0]
	fc := l.faces[:0]
	cum := append(l.cum[:0], 0)
	for _, r := range p {
		f := l.fs.pick(r)
		w := 0.0
		if f == noFace {
			w = l.fs.width(l.pdf, 0, st.bold, l.fs.replacement)
		} else {
			w = l.fs.width(l.pdf, f, st.bold, r)
		}
		rs = append(rs, r)
		fc = append(fc, int8(f))
		cum = append(cum, cum[len(cum)-1]+w*st.size)
	}
	l.runes, l.faces, l.cum = rs, fc, cum

	start := 0
	brk := -1 // a line may end before rs[brk]
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == ' ' || (i > start && canBreak(rs[i-1], r)) {
			brk = i
		}
		if cum[i+1]-cum[start] > width && i > start {
			end := i
			if r != ' ' && brk > start {
				end = brk
			}
			out = append(out, l.makeLine(start, end))
			start = end
			for start < len(rs) && rs[start] == ' ' {
				start++
			}
			brk = -1
			i = start - 1
		}
	}
	if start < len(rs) {
		out = append(out, l.makeLine(start, len(rs)))
	}
	return out
}

// makeLine builds the line of runes [a, b) of the scratch buffers, without
// trailing spaces, as runs of one face each.
func (l *layout) makeLine(a, b int) textLine {
	for b > a && l.runes[b-1] == ' ' {
		b--
	}
	var tl textLine
	for i := a; i < b; {
		j := i + 1
		for j < b && l.faces[j] == l.faces[i] {
			j++
		}
		s := seg{face: int(l.faces[i]), text: string(l.runes[i:j]), w: l.cum[j] - l.cum[i]}
		if s.face == noFace {
			s.actual = s.text
			s.text = strings.Repeat(string(l.fs.replacement), j-i)
			s.face = 0
		}
		tl.segs = append(tl.segs, s)
		tl.w += s.w
		i = j
	}
	return tl
}

// canBreak reports whether a line may break between a and b (neither a
// space): after a hyphen or slash followed by a letter, and around characters of scripts
// written without spaces, except before closing punctuation and small
// kana or after opening punctuation (the basic Japanese line-breaking
// rules).
func canBreak(a, b rune) bool {
	if strings.ContainsRune(noBreakBefore, b) || strings.ContainsRune(noBreakAfter, a) {
		return false
	}
	return ((a == '-' || a == '/') && unicode.IsLetter(b)) || wide(a) || wide(b)
}

const (
	noBreakBefore = ")]}!,.:;?、。，．・：；？！ー）」』】〕〉》〙〗〟’”ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〻‐゠〜"
	noBreakAfter  = "([{（「『【〔〈《〘〖〝‘“"
)

// wide reports whether r belongs to a script written without spaces, where
// a line may break before or after any character.
func wide(r rune) bool {
	if r < 0x1100 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

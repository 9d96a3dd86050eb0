package recordpdf

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// cleanDoc is a Document with every string made printable and every time
// formatted: what the layout prints.
type cleanDoc struct {
	project, tool, number, title, status string
	dates                                []cleanField
	fields                               []cleanField
	sections                             []cleanSection
	attachments                          []string
	generated                            time.Time
	generatedText                        string
}

type cleanField struct{ label, value string }

type cleanSection struct {
	heading string
	entries []cleanEntry
}

type cleanEntry struct {
	heading, author, at string
	fields              []cleanField
	body                string
	attachments         []string
}

const (
	dateTimeLayout = "2006-01-02 15:04 MST"
	dateLayout     = "2006-01-02"
)

func formatTime(t time.Time, loc *time.Location, dateOnly bool) string {
	if t.IsZero() {
		return ""
	}
	if dateOnly {
		return t.Format(dateLayout)
	}
	return t.In(loc).Format(dateTimeLayout)
}

// clean makes every string of doc printable: one-line strings (labels,
// headings, names) lose their line breaks, bodies and field values keep
// them.
func clean(doc Document, loc *time.Location) cleanDoc {
	d := cleanDoc{
		project:   line(doc.Project),
		tool:      line(doc.Tool),
		number:    line(doc.Number),
		title:     line(doc.Title),
		status:    line(doc.Status),
		generated: doc.Generated.UTC(),
	}
	if !doc.Generated.IsZero() {
		d.generatedText = formatTime(doc.Generated, loc, false)
	}
	for _, dt := range doc.Dates {
		d.dates = append(d.dates, cleanField{line(dt.Label), formatTime(dt.Value, loc, dt.DateOnly)})
	}
	d.fields = cleanFields(doc.Fields)
	for _, s := range doc.Sections {
		cs := cleanSection{heading: line(s.Heading)}
		for _, e := range s.Entries {
			cs.entries = append(cs.entries, cleanEntry{
				heading:     line(e.Heading),
				author:      line(e.Author),
				at:          formatTime(e.At, loc, false),
				fields:      cleanFields(e.Fields),
				body:        text(e.Body),
				attachments: lines(e.Attachments),
			})
		}
		d.sections = append(d.sections, cs)
	}
	d.attachments = lines(doc.Attachments)
	return d
}

func cleanFields(fs []Field) []cleanField {
	var out []cleanField
	for _, f := range fs {
		out = append(out, cleanField{line(f.Label), text(f.Value)})
	}
	return out
}

func lines(ss []string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, line(s))
	}
	return out
}

// allText calls yield with every string the layout prints, so the font set
// can find the characters the embedded fonts lack before layout starts.
func (d cleanDoc) allText() func(yield func(string) bool) {
	return func(yield func(string) bool) {
		ss := []string{layoutText, d.project, d.tool, d.number, d.title, d.status, d.generatedText}
		for _, f := range append(append([]cleanField(nil), d.dates...), d.fields...) {
			ss = append(ss, f.label, f.value)
		}
		ss = append(ss, d.attachments...)
		for _, s := range ss {
			if !yield(s) {
				return
			}
		}
		for _, s := range d.sections {
			if !yield(s.heading) {
				return
			}
			for _, e := range s.entries {
				es := []string{e.heading, e.author, e.at, e.body}
				for _, f := range e.fields {
					es = append(es, f.label, f.value)
				}
				es = append(es, e.attachments...)
				for _, s := range es {
					if !yield(s) {
						return
					}
				}
			}
		}
	}
}

// line cleans a one-line string: line breaks and tabs become spaces.
func line(s string) string {
	s = text(s)
	if strings.IndexByte(s, '\n') < 0 {
		return s
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
}

// text cleans a string: invalid UTF-8 becomes U+FFFD; \r\n, \r, U+2028 and
// U+2029 become \n; tabs and other spaces become ' ' (tabs four of them);
// control and format characters are dropped; the result is NFC.
func text(s string) string {
	if plainASCII(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				i++
			}
			b.WriteByte('\n')
		case r == '\n', r == '\u2028', r == '\u2029':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case r == '\u00a0', r == '\u202f':
			b.WriteRune(r) // no-break spaces print as themselves
		case unicode.Is(unicode.Zs, r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
			// dropped: control and invisible format characters
		default:
			b.WriteRune(r)
		}
	}
	return norm.NFC.String(b.String())
}

// plainASCII reports whether s is printable ASCII, spaces and \n only: text
// that needs no cleaning.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\n') || c >= 0x7f {
			return false
		}
	}
	return true
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Package recordpdf renders a Procore record (an RFI, a submittal, an
// inspection, a daily log, …) as a PDF that a person reads the way they read
// the record in Procore: a header with the project, tool, number, title,
// status and dates, every field, the conversation in order, and the list of
// attachments. The output is deterministic (the same Document always gives
// the same bytes), its text is extractable, and it is Unicode-safe.
//
// Render embeds the Go fonts (Latin, Greek, Cyrillic) and takes other
// scripts from fallback TrueType fonts installed on the machine
// (Options.FallbackFonts; on Debian, fonts-droid-fallback for Chinese,
// Japanese and Korean and fonts-dejavu-core for symbols). What no font has
// prints as a visible "�" that still extracts as the original text.
package recordpdf

import "time"

// Document is one record as it is printed.
type Document struct {
	// Project is the project's name, Tool the tool's name as Procore shows
	// it ("RFIs", "Submittals", "Daily Log", …).
	Project string
	Tool    string
	// Number and Title identify the record ("RFI #12", "Concrete mix").
	Number string
	Title  string
	// Status is the record's status as Procore shows it ("Open", "Closed").
	Status string
	// Dates are the record's dates in the order they are shown (created,
	// due, closed, …). Zero times are printed as empty.
	Dates []DateField
	// Fields are every other field a person sees, in order.
	Fields []Field
	// Sections group entries under a heading: the conversation (questions,
	// answers, responses, comments) or, for a daily log, one section per
	// log type. Entries are printed in order.
	Sections []Section
	// Attachments are the attachments' file names as stored beside the PDF.
	Attachments []string
	// Generated is printed in the footer; set it to a time derived from the
	// record (its updated_at), never time.Now, to keep the bytes stable.
	Generated time.Time
}

// DateField is a labelled date.
type DateField struct {
	Label string
	Value time.Time
	// DateOnly prints the date without a time of day.
	DateOnly bool
}

// Field is a labelled value.
type Field struct {
	Label string
	Value string
}

// Section is a heading followed by entries.
type Section struct {
	Heading string
	Entries []Entry
}

// Entry is one item of a section: a question, an answer, a response, a
// comment, or one row of a log.
type Entry struct {
	// Heading names the entry ("Question 1", "Answer (official)").
	Heading string
	// Author and At say who wrote it and when (either may be empty).
	Author string
	At     time.Time
	// Fields are the entry's own labelled values (a log row's columns).
	Fields []Field
	// Body is the entry's text; paragraphs are separated by blank lines.
	Body string
	// Attachments are the names of the entry's own attachments.
	Attachments []string
}

package notify

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/procoresync/procoresync/syncengine"
)

// Message is a batch rendered for people.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// RenderOptions tune Render. The zero value is usable.
type RenderOptions struct {
	// Integration names the integration in the subject ("[Tower 3 →
	// SharePoint] …"); at most 70 characters are used.
	Integration string
	// MaxPaths is how many paths an event lists before "and N more"
	// (default 50).
	MaxPaths int
	// Location is the time zone times are shown in (default UTC).
	Location *time.Location
}

// MaxIntegrationName is the longest integration name shown, in characters.
const MaxIntegrationName = 70

// maxSubject bounds a subject, in characters.
const maxSubject = 200

// Title is the heading of an event of kind k, as the message shows it.
func Title(k syncengine.EventKind) string {
	switch k {
	case syncengine.EventInitialSyncCompleted:
		return "Initial sync completed"
	case syncengine.EventDeleteLimitReached:
		return "Delete limit reached: deletions held for approval"
	case syncengine.EventMassDeleteRefused:
		return "Sync refused: it would delete too much"
	case syncengine.EventPairPaused:
		return "Sync paused"
	case syncengine.EventRunFailed:
		return "Sync failing"
	case syncengine.EventItemsQuarantined:
		return "Items quarantined"
	case syncengine.EventDrift:
		return "Changed on the target of a one-way sync"
	case syncengine.EventRunIncomplete:
		return "Sync incomplete"
	case syncengine.EventHeldDeleteCancelled:
		return "Held deletion cancelled"
	case syncengine.EventProtectedFolderRenamed:
		return "Protected folder renamed: the sync follows it"
	case syncengine.EventProtectedFolderDeleted:
		return "Protected folder deleted: sync paused"
	case syncengine.EventProtectedFolderRestored:
		return "Protected folder restored: sync resumed"
	}
	return "Sync notification (" + string(k) + ")"
}

// view is one event as the templates print it.
type view struct {
	Title   string
	Message string
	Pair    string
	Time    string
	Err     string
	Paths   []string
	More    int
	Total   int
}

// Render renders b: a single event's message is the subject; several events
// give a subject that counts them and names the first.
func Render(b Batch, opts RenderOptions) Message {
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 50
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	views := make([]view, 0, len(b.Events))
	for _, ev := range b.Events {
		views = append(views, makeView(ev, opts))
	}
	subject := subjectOf(views)
	if name := truncate(oneLine(opts.Integration), MaxIntegrationName); name != "" {
		subject = "[" + name + "] " + subject
	}
	subject = truncate(subject, maxSubject)
	var text, html bytes.Buffer
	data := struct {
		Subject string
		Events  []view
	}{subject, views}
	// The templates are fixed and their data is strings: execution cannot fail.
	_ = textTmpl.Execute(&text, data)
	_ = htmlTmpl.Execute(&html, data)
	return Message{Subject: subject, Text: text.String(), HTML: html.String()}
}

func makeView(ev syncengine.Event, opts RenderOptions) view {
	v := view{
		Title:   Title(ev.Kind),
		Message: oneLine(ev.Message),
		Pair:    oneLine(ev.PairName),
		Err:     oneLine(ev.Err),
		Total:   len(ev.Paths),
	}
	if !ev.Time.IsZero() {
		v.Time = ev.Time.In(opts.Location).Format("2006-01-02 15:04:05 MST")
	}
	n := min(len(ev.Paths), opts.MaxPaths)
	for _, p := range ev.Paths[:n] {
		v.Paths = append(v.Paths, printable(p))
	}
	v.More = len(ev.Paths) - n
	return v
}

func subjectOf(views []view) string {
	if len(views) == 0 {
		return "No notifications"
	}
	first := views[0].Message
	if first == "" {
		first = views[0].Title
		if views[0].Pair != "" {
			first += ": " + views[0].Pair
		}
	}
	if len(views) == 1 {
		return first
	}
	return fmt.Sprintf("%d sync notifications: %s, and %d more", len(views), first, len(views)-1)
}

// oneLine makes s safe for a header or a one-line field: control
// characters (line breaks included) become spaces.
func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidi(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD")))
}

// printable shows a path as it is when every character is printable, and
// quoted with escapes otherwise, so that a hostile name cannot forge lines
// or reorder text.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsGraphic(r) || isBidi(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// isBidi reports the explicit direction controls that can make text read
// differently from what it is.
func isBidi(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

var textTmpl = texttemplate.Must(texttemplate.New("text").Parse(`{{.Subject}}
{{range .Events}}
== {{.Title}} ==
{{if .Message}}{{.Message}}
{{end}}{{if .Pair}}Sync: {{.Pair}}
{{end}}{{if .Time}}When: {{.Time}}
{{end}}{{if .Err}}Error: {{.Err}}
{{end}}{{if .Total}}Items ({{.Total}}):
{{range .Paths}}  - {{.}}
{{end}}{{if .More}}  … and {{.More}} more
{{end}}{{end}}{{end}}`))

var htmlTmpl = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif">
<h2>{{.Subject}}</h2>
{{range .Events}}<section>
<h3>{{.Title}}</h3>
{{if .Message}}<p>{{.Message}}</p>
{{end}}<table>
{{if .Pair}}<tr><th align="left">Sync</th><td>{{.Pair}}</td></tr>
{{end}}{{if .Time}}<tr><th align="left">When</th><td>{{.Time}}</td></tr>
{{end}}{{if .Err}}<tr><th align="left">Error</th><td>{{.Err}}</td></tr>
{{end}}</table>
{{if .Total}}<p>Items ({{.Total}}):</p>
<ul>
{{range .Paths}}<li><code>{{.}}</code></li>
{{end}}{{if .More}}<li>… and {{.More}} more</li>
{{end}}</ul>
{{end}}</section>
{{end}}</body></html>
`))

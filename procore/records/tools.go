package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/storage"
)

// Project names the project whose tools are exported: ID for the API,
// Name for the PDFs' header.
type Project struct {
	ID   int64
	Name string
}

// ToolOptions tune the tools.
type ToolOptions struct {
	// Workers is how many records' details are read at once where a tool
	// reads each record after listing it (default 4).
	Workers int
	// PerPage is the per_page of the listings (default
	// procore.DefaultRecordPerPage).
	PerPage int
}

func (o *ToolOptions) workers() int {
	if o == nil || o.Workers <= 0 {
		return 4
	}
	return o.Workers
}

func (o *ToolOptions) list(from, to time.Time) *procore.RecordListOptions {
	lo := &procore.RecordListOptions{UpdatedFrom: from, UpdatedTo: to}
	if o != nil {
		lo.PerPage = o.PerPage
	}
	return lo
}

// Tools returns the seven one-way record tools of a project, in the order
// Procore lists them: RFIs, Submittals, Observations, Inspections,
// Incidents, Forms, Commitments.
func Tools(c *procore.Client, p Project, opts *ToolOptions) []Tool {
	return []Tool{NewRFIs(c, p, opts), NewSubmittals(c, p, opts), NewObservations(c, p, opts),
		NewInspections(c, p, opts), NewIncidents(c, p, opts), NewForms(c, p, opts), NewCommitments(c, p, opts)}
}

// errGone is the error of a record that is recycled or deleted.
func errGone(tool, id string) error {
	return storage.NewError("get", "", storage.ErrNotFound, fmt.Errorf("records: %s %s is deleted or in the recycle bin", tool, id))
}

func parseID(tool, id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, storage.NewError("get", "", storage.ErrNotFound, fmt.Errorf("records: %s: no record %q", tool, id))
	}
	return n, nil
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// signedKeys are the keys whose values change between reads without the
// record changing (signed file-host URLs).
var signedKeys = map[string]bool{"url": true, "thumbnail_url": true, "viewer_url": true, "share_url": true,
	"viewable_url": true, "large_thumbnail_url": true}

// fingerprint is v's normalized JSON: keys sorted, signed URLs left out.
func fingerprint(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprint(v))
	}
	var g any
	if json.Unmarshal(b, &g) != nil {
		return b
	}
	var strip func(any) any
	strip = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			for k, v := range t {
				if signedKeys[k] {
					delete(t, k)
					continue
				}
				t[k] = strip(v)
			}
		case []any:
			for i := range t {
				t[i] = strip(t[i])
			}
		}
		return x
	}
	out, err := json.Marshal(strip(g))
	if err != nil {
		return b
	}
	return out
}

// files collects a record's attachments under unique keys.
type files struct {
	list []File
	seen map[string]bool
	// created is the record's creation time: the ModTime of attachments
	// whose own time Procore does not give.
	created time.Time
}

// add adds attachment a under key prefix+ID (or, without an ID, the URL
// without its signature); an attachment seen before is not added again.
// at is the attachment's own time (zero: unknown); it enters the
// attachment's Version with its ID and its URL without the signature.
func (fs *files) add(prefix string, a procore.Attachment, at time.Time) string {
	if a.URL == "" {
		return ""
	}
	id := StripSignature(a.URL)
	key := prefix + "u" + shortHash(id)[:12]
	if a.ID != 0 {
		key = prefix + idString(a.ID)
		id = key
	}
	if fs.seen == nil {
		fs.seen = map[string]bool{}
	}
	if fs.seen[key] {
		return key
	}
	fs.seen[key] = true
	name := a.FileName()
	if name == "" {
		name = "attachment " + strings.TrimPrefix(key, prefix)
	}
	mod := at
	if mod.IsZero() {
		mod = fs.created
	}
	ver := id + "|" + StripSignature(a.URL)
	if !at.IsZero() {
		ver += "|" + at.UTC().Format(time.RFC3339Nano)
	}
	fs.list = append(fs.list, File{Key: key, Name: name, URL: a.URL, Size: -1, ModTime: mod, Version: ver})
	return key
}

// fillableOr is a record's PDF: Procore's fillable PDF where the record
// has one (it follows the record, so it takes the record's Version),
// otherwise doc printed.
func fillableOr(fillable *procore.Attachment, name string, created time.Time, doc func() *recordpdf.Document) File {
	if fillable != nil && fillable.URL != "" {
		pdf := files{created: created}
		pdf.add("pdf", *fillable, time.Time{})
		f := pdf.list[0]
		f.Key, f.Name, f.Export = "pdf", name, true
		return f
	}
	return File{Key: "pdf", Name: name, Document: doc()}
}

// doc helps build a recordpdf.Document.
type doc struct{ d recordpdf.Document }

func newDoc(p Project, tool, number, title, status string, updated time.Time) *doc {
	return &doc{d: recordpdf.Document{Project: p.Name, Tool: tool, Number: number, Title: title, Status: status,
		Generated: updated}}
}

func (d *doc) field(label, value string) {
	if strings.TrimSpace(value) != "" {
		d.d.Fields = append(d.d.Fields, recordpdf.Field{Label: label, Value: value})
	}
}

func (d *doc) date(label string, t time.Time, dateOnly bool) {
	if !t.IsZero() {
		d.d.Dates = append(d.d.Dates, recordpdf.DateField{Label: label, Value: t, DateOnly: dateOnly})
	}
}

func (d *doc) day(label, s string) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		d.date(label, t, true)
	} else if s != "" {
		d.field(label, s)
	}
}

func person(p *procore.Person) string {
	if p == nil {
		return ""
	}
	if p.CompanyName != "" {
		return p.Name + " (" + p.CompanyName + ")"
	}
	return p.Name
}

func named(n *procore.Named) string {
	if n == nil {
		return ""
	}
	return n.Name
}

// pdfName is "<number> - <title>.pdf".
func pdfName(number, title string) string {
	switch {
	case number != "" && title != "":
		return number + " - " + title + ".pdf"
	case number != "":
		return number + ".pdf"
	case title != "":
		return title + ".pdf"
	}
	return "record.pdf"
}

// eachLoaded reads every item's record with up to workers reads at once
// and yields them in the items' order; an item whose read says the
// record is gone (ErrNotFound: recycled since it was listed) is left out.
func eachLoaded[T any](ctx context.Context, items iter.Seq2[T, error], workers int, load func(context.Context, T) (Record, error)) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		var list []T
		for it, err := range items {
			if err != nil {
				yield(Record{}, err)
				return
			}
			list = append(list, it)
		}
		type result struct {
			rec Record
			err error
		}
		results := make([]chan result, len(list))
		for i := range results {
			results[i] = make(chan result, 1)
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		// Stop the reads still to come, then wait for those under way,
		// whenever the caller stops early or a read fails.
		defer wg.Wait()
		defer cancel()
		sem := make(chan struct{}, workers)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, it := range list {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					for _, ch := range results[i:] {
						ch <- result{err: ctx.Err()}
					}
					return
				}
				wg.Add(1)
				go func(i int, it T) {
					defer wg.Done()
					defer func() { <-sem }()
					r, err := load(ctx, it)
					results[i] <- result{r, err}
				}(i, it)
			}
		}()
		for _, ch := range results {
			res := <-ch
			if errors.Is(res.err, storage.ErrNotFound) {
				continue
			}
			if res.err != nil {
				yield(Record{}, res.err)
				return
			}
			if !yield(res.rec, nil) {
				return
			}
		}
	}
}

// notFound maps a 404 of a show to the record being gone.
func notFound(tool, id string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return errGone(tool, id)
	}
	return procore.MapStorageError("get", "", err)
}

// changes turns a listing into Changes.
func changes[T any](items iter.Seq2[T, error], id func(T) (string, bool)) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		for it, err := range items {
			if err != nil {
				yield(Change{}, err)
				return
			}
			k, deleted := id(it)
			if !yield(Change{ID: k, Deleted: deleted}, nil) {
				return
			}
		}
	}
}

// recycled yields the IDs of a recycle-bin listing deleted at or after
// since (all of them where the listing gives no deletion time).
func recycled[T any](items iter.Seq2[T, error], since time.Time, id func(T) (string, time.Time)) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for it, err := range items {
			if err != nil {
				yield("", err)
				return
			}
			k, at := id(it)
			if !at.IsZero() && at.Before(since) {
				continue
			}
			if !yield(k, nil) {
				return
			}
		}
	}
}

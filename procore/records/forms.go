package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
)

// FormsTool is a project's forms: each folder holds the form's fillable
// PDF (the filled-in form as Procore keeps it; the form printed where it
// has none) and its attachments. The list carries everything, so listing
// costs only the list's pages; deletions come from the forms recycle bin.
type FormsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*FormsTool)(nil)

// NewForms returns project p's Forms tool.
func NewForms(c *procore.Client, p Project, opts *ToolOptions) *FormsTool {
	return &FormsTool{c: c, p: p, opts: opts}
}

// Name is "Forms".
func (t *FormsTool) Name() string { return "Forms" }

// Records lists the live forms (GET /rest/v1.1/…/forms).
func (t *FormsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for f, err := range t.c.Forms.List(ctx, t.p.ID, t.opts.list(time.Time{}, time.Time{})) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			if f.Deleted {
				continue
			}
			if !yield(t.record(&f), nil) {
				return
			}
		}
	}
}

// Record reads one form (GET /rest/v1.0/…/forms/{id}).
func (t *FormsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	f, _, err := t.c.Forms.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if f.Deleted {
		return Record{}, errGone(t.Name(), id)
	}
	return t.record(f), nil
}

func (t *FormsTool) record(f *procore.Form) Record {
	at := f.UpdatedAt.Time
	number := f.FormTemplateName
	fs := files{created: f.CreatedAt.Time}
	if f.Attachment != nil {
		fs.add("a", *f.Attachment, time.Time{})
	}
	for _, a := range f.Attachments {
		fs.add("a", a, time.Time{})
	}
	rec := Record{ID: idString(f.ID), Number: number, Title: f.Name, UpdatedAt: at, Fingerprint: fingerprint(f)}
	pdf := fillableOr(f.FillablePDF, pdfName(number, f.Name), f.CreatedAt.Time, func() *recordpdf.Document {
		d := newDoc(t.p, t.Name(), number, f.Name, "", at)
		d.field("Template", f.FormTemplateName)
		d.field("Description", f.Description)
		d.field("Created by", person(f.CreatedBy))
		d.field("Private", yesNo(f.Private))
		d.date("Created", f.CreatedAt.Time, false)
		d.date("Updated", at, false)
		return &d.d
	})
	rec.Files = append([]File{pdf}, fs.list...)
	return rec
}

// Changed lists the forms updated in the window.
func (t *FormsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.Forms.List(ctx, t.p.ID, t.opts.list(since, until)), func(f procore.Form) (string, bool) {
		return idString(f.ID), f.Deleted
	})
}

// Deleted lists the forms recycle bin.
func (t *FormsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.Forms.Recycled(ctx, t.p.ID, nil), since, func(f procore.Form) (string, time.Time) {
		return idString(f.ID), f.UpdatedAt.Time
	})
}

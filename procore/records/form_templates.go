package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
)

// FormTemplatesTool is a company's form templates, the company-level tool
// that fits the record design: each template's folder holds its fillable
// PDF (the template printed where it has none) and its attachment. The
// list carries everything, so listing costs only the list's pages; an
// idle check is one filters[updated_at] call; deletions come from the
// company recycle bin. Procore sends no webhook events for templates (none
// is listed), so the engine finds changes by polling.
type FormTemplatesTool struct {
	c       *procore.Client
	company Project // the company's ID and name
	opts    *ToolOptions
}

var _ Deleter = (*FormTemplatesTool)(nil)

// NewFormTemplates returns the form templates of company (its ID and
// name).
func NewFormTemplates(c *procore.Client, company Project, opts *ToolOptions) *FormTemplatesTool {
	return &FormTemplatesTool{c: c, company: company, opts: opts}
}

// Name is "Form Templates".
func (t *FormTemplatesTool) Name() string { return "Form Templates" }

// Records lists the live templates.
func (t *FormTemplatesTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for ft, err := range t.c.FormTemplates.List(ctx, t.company.ID, t.opts.list(time.Time{}, time.Time{})) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			if !yield(t.record(&ft), nil) {
				return
			}
		}
	}
}

// Record reads one template.
func (t *FormTemplatesTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	ft, _, err := t.c.FormTemplates.Get(ctx, t.company.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	return t.record(ft), nil
}

func (t *FormTemplatesTool) record(ft *procore.FormTemplate) Record {
	at := ft.UpdatedAt.Time
	fs := files{created: ft.CreatedAt.Time}
	if ft.Attachment != nil {
		fs.add("a", *ft.Attachment, time.Time{})
	}
	rec := Record{ID: idString(ft.ID), Title: ft.Name, UpdatedAt: at, Fingerprint: fingerprint(ft)}
	pdf := fillableOr(ft.FillablePDF, pdfName("", ft.Name), ft.CreatedAt.Time, func() *recordpdf.Document {
		d := newDoc(t.company, t.Name(), "", ft.Name, "", at)
		d.field("Description", ft.Description)
		d.field("Created by", person(ft.CreatedBy))
		d.date("Created", ft.CreatedAt.Time, false)
		d.date("Updated", at, false)
		return &d.d
	})
	rec.Files = append([]File{pdf}, fs.list...)
	return rec
}

// Changed lists the templates updated in the window.
func (t *FormTemplatesTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.FormTemplates.List(ctx, t.company.ID, t.opts.list(since, until)), func(ft procore.FormTemplate) (string, bool) {
		return idString(ft.ID), false
	})
}

// Deleted lists the company's form-template recycle bin.
func (t *FormTemplatesTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.FormTemplates.Recycled(ctx, t.company.ID, nil), since, func(ft procore.FormTemplate) (string, time.Time) {
		return idString(ft.ID), ft.UpdatedAt.Time
	})
}

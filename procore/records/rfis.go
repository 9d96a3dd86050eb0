package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
)

// RFIsTool is a project's RFIs: each RFI's folder holds Procore's own PDF
// of it (…/rfis/{id}.pdf) and every attachment of its questions and
// answers. Listing reads the list and then each RFI (the list has no
// answers or attachments); deletions come from the RFI recycle bin.
type RFIsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*RFIsTool)(nil)

// NewRFIs returns project p's RFIs tool.
func NewRFIs(c *procore.Client, p Project, opts *ToolOptions) *RFIsTool {
	return &RFIsTool{c: c, p: p, opts: opts}
}

// Name is "RFIs".
func (t *RFIsTool) Name() string { return "RFIs" }

// Records lists the live RFIs and reads each one.
func (t *RFIsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return eachLoaded(ctx, t.c.RFIs.List(ctx, t.p.ID, t.opts.list(time.Time{}, time.Time{})), t.opts.workers(),
		func(ctx context.Context, r procore.RFI) (Record, error) { return t.Record(ctx, idString(r.ID)) })
}

// Record reads one RFI (GET …/rfis/{id}).
func (t *RFIsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	r, _, err := t.c.RFIs.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if r.Deleted || !r.DeletedAt.IsZero() {
		return Record{}, errGone(t.Name(), id)
	}
	return t.record(r), nil
}

func (t *RFIsTool) record(r *procore.RFI) Record {
	number := r.FullNumber
	if number == "" {
		number = r.Number.String()
	}
	rec := Record{ID: idString(r.ID), Number: number, Title: r.Subject, UpdatedAt: r.UpdatedAt.Time, Fingerprint: fingerprint(r)}
	fs := files{created: r.CreatedAt.Time}
	for _, q := range r.Questions {
		for _, a := range q.Attachments {
			fs.add("q", a, time.Time{})
		}
		for _, an := range q.Answers {
			for _, a := range an.Attachments {
				fs.add("a", a, time.Time{})
			}
		}
	}
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, r.Subject), URL: t.c.RFIs.PDFURL(t.p.ID, r.ID),
		Export: true, Size: -1}}, fs.list...)
	return rec
}

// Changed lists the RFIs updated in the window (one call when none was).
func (t *RFIsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.RFIs.List(ctx, t.p.ID, t.opts.list(since, until)), func(r procore.RFI) (string, bool) {
		return idString(r.ID), r.Deleted || !r.DeletedAt.IsZero()
	})
}

// Deleted lists the RFI recycle bin.
func (t *RFIsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.RFIs.Recycled(ctx, t.p.ID, nil), since, func(r procore.RFI) (string, time.Time) {
		return idString(r.ID), r.DeletedAt.Time
	})
}

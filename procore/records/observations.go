package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
)

// ObservationsTool is a project's observations: each folder holds
// Procore's own PDF (its URL is asked from …/items/{id}/pdf when the file
// is opened) and the observation's attachments. Listing reads the list
// and then each observation (the list has no attachments); deletions come
// from the observations recycle bin.
type ObservationsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*ObservationsTool)(nil)

// NewObservations returns project p's Observations tool.
func NewObservations(c *procore.Client, p Project, opts *ToolOptions) *ObservationsTool {
	return &ObservationsTool{c: c, p: p, opts: opts}
}

// Name is "Observations".
func (t *ObservationsTool) Name() string { return "Observations" }

// Records lists the live observations and reads each one.
func (t *ObservationsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return eachLoaded(ctx, t.c.Observations.List(ctx, t.p.ID, t.opts.list(time.Time{}, time.Time{})), t.opts.workers(),
		func(ctx context.Context, o procore.ObservationItem) (Record, error) {
			return t.Record(ctx, idString(o.ID))
		})
}

// Record reads one observation (GET /rest/v1.0/observations/items/{id}).
func (t *ObservationsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	o, _, err := t.c.Observations.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if !o.DeletedAt.IsZero() {
		return Record{}, errGone(t.Name(), id)
	}
	at := o.UpdatedAt.Time
	number := o.Number.String()
	rec := Record{ID: id, Number: number, Title: o.Name, UpdatedAt: at, Fingerprint: fingerprint(o)}
	fs := files{created: o.CreatedAt.Time}
	for _, a := range o.Attachments {
		fs.add("a", a, time.Time{})
	}
	pid, oid := t.p.ID, o.ID
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, o.Name), Export: true, Size: -1,
		Resolve: func(ctx context.Context) (string, error) {
			u, _, err := t.c.Observations.PDFURL(ctx, pid, oid)
			return u, err
		}}}, fs.list...)
	return rec, nil
}

// Changed lists the observations updated in the window.
func (t *ObservationsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.Observations.List(ctx, t.p.ID, t.opts.list(since, until)), func(o procore.ObservationItem) (string, bool) {
		return idString(o.ID), !o.DeletedAt.IsZero()
	})
}

// Deleted lists the observations recycle bin.
func (t *ObservationsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.Observations.Recycled(ctx, t.p.ID, nil), since, func(o procore.ObservationItem) (string, time.Time) {
		return idString(o.ID), o.DeletedAt.Time
	})
}

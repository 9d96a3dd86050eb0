package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
)

// IncidentsTool is a project's incidents: each folder holds the incident
// printed (Procore offers no PDF of one through the API) and its
// attachments. Listing reads the list and then each incident with
// attachments (attachments_count > 0: the others are not read again);
// deletions come from the incidents recycle bin.
type IncidentsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*IncidentsTool)(nil)

// NewIncidents returns project p's Incidents tool.
func NewIncidents(c *procore.Client, p Project, opts *ToolOptions) *IncidentsTool {
	return &IncidentsTool{c: c, p: p, opts: opts}
}

// Name is "Incidents".
func (t *IncidentsTool) Name() string { return "Incidents" }

// Records lists the live incidents and reads those with attachments.
func (t *IncidentsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return eachLoaded(ctx, t.c.Incidents.List(ctx, t.p.ID, t.opts.list(time.Time{}, time.Time{})), t.opts.workers(),
		func(ctx context.Context, in procore.Incident) (Record, error) {
			if !in.DeletedAt.IsZero() {
				return Record{}, errGone(t.Name(), idString(in.ID))
			}
			if in.AttachmentsCount == 0 {
				return t.record(&in), nil
			}
			return t.Record(ctx, idString(in.ID))
		})
}

// Record reads one incident (GET …/incidents/{id}).
func (t *IncidentsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	in, _, err := t.c.Incidents.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if !in.DeletedAt.IsZero() {
		return Record{}, errGone(t.Name(), id)
	}
	return t.record(in), nil
}

func (t *IncidentsTool) record(in *procore.Incident) Record {
	at := in.UpdatedAt.Time
	number := in.Number.String()
	fs := files{created: in.CreatedAt.Time}
	for _, a := range in.Attachments {
		fs.add("a", a, time.Time{})
	}
	d := newDoc(t.p, t.Name(), number, in.Title, in.Status, at)
	d.field("Location", named(in.Location))
	d.field("Hazard", named(in.Hazard))
	d.field("Contributing behavior", named(in.ContributingBehavior))
	d.field("Contributing condition", named(in.ContributingCondition))
	d.field("Recordable", yesNo(in.Recordable))
	d.field("Private", yesNo(in.Private))
	d.field("Description", in.Description)
	d.date("Event", in.EventDate.Time, in.TimeUnknown)
	d.date("Created", in.CreatedAt.Time, false)
	d.date("Updated", at, false)
	// The list's attachments_count is left out of the fingerprint: the
	// show does not always carry it, and the attachments themselves enter
	// the Version.
	fp := *in
	fp.AttachmentsCount = 0
	rec := Record{ID: idString(in.ID), Number: number, Title: in.Title, UpdatedAt: at, Fingerprint: fingerprint(fp)}
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, in.Title), Document: &d.d}}, fs.list...)
	return rec
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// Changed lists the incidents updated in the window.
func (t *IncidentsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.Incidents.List(ctx, t.p.ID, t.opts.list(since, until)), func(in procore.Incident) (string, bool) {
		return idString(in.ID), !in.DeletedAt.IsZero()
	})
}

// Deleted lists the incidents recycle bin.
func (t *IncidentsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.Incidents.Recycled(ctx, t.p.ID, nil), since, func(in procore.Incident) (string, time.Time) {
		return idString(in.ID), in.DeletedAt.Time
	})
}

package records

import (
	"context"
	"iter"
	"time"

	"github.com/procoresync/procoresync/procore"
)

// SubmittalsTool is a project's submittals (every revision is a record):
// each folder holds Procore's own PDF of the submittal (v1.1
// …/submittals/{id}.pdf), its attachments, its associated attachments,
// every approver's attachments and the distributed (final) attachments.
// Listing reads the list and then each submittal; deletions come from the
// submittal recycle bin.
type SubmittalsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*SubmittalsTool)(nil)

// NewSubmittals returns project p's Submittals tool.
func NewSubmittals(c *procore.Client, p Project, opts *ToolOptions) *SubmittalsTool {
	return &SubmittalsTool{c: c, p: p, opts: opts}
}

// Name is "Submittals".
func (t *SubmittalsTool) Name() string { return "Submittals" }

// Records lists the live submittals and reads each one.
func (t *SubmittalsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return eachLoaded(ctx, t.c.Submittals.List(ctx, t.p.ID, t.opts.list(time.Time{}, time.Time{})), t.opts.workers(),
		func(ctx context.Context, s procore.Submittal) (Record, error) { return t.Record(ctx, idString(s.ID)) })
}

// Record reads one submittal (GET /rest/v1.1/…/submittals/{id}).
func (t *SubmittalsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	s, _, err := t.c.Submittals.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if !s.DeletedAt.IsZero() {
		return Record{}, errGone(t.Name(), id)
	}
	return t.record(s), nil
}

func submittalNumber(s *procore.Submittal) string {
	n := s.FormattedNumber
	if n == "" {
		n = s.Number.String()
	}
	if rev := s.Revision.String(); rev != "" && rev != "0" {
		n += " Rev. " + rev
	}
	return n
}

func (t *SubmittalsTool) record(s *procore.Submittal) Record {
	number := submittalNumber(s)
	at := s.UpdatedAt.Time
	rec := Record{ID: idString(s.ID), Number: number, Title: s.Title, UpdatedAt: at, Fingerprint: fingerprint(s)}
	fs := files{created: s.CreatedAt.Time}
	for _, a := range s.Attachments {
		fs.add("a", a, time.Time{})
	}
	for _, a := range s.AssociatedAttachments {
		fs.add("a", procore.Attachment{ID: a.AttachmentID, Filename: a.Filename, URL: a.URL}, a.UpdatedAt.Time)
	}
	for _, ap := range s.Approvers {
		for _, a := range ap.Attachments {
			fs.add("r", a, time.Time{})
		}
	}
	for _, d := range s.DistributedSubmittals {
		for _, a := range d.FinalAttachments {
			fs.add("d", a, time.Time{})
		}
	}
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, s.Title), URL: t.c.Submittals.PDFURL(t.p.ID, s.ID),
		Export: true, Size: -1}}, fs.list...)
	return rec
}

// Changed lists the submittals updated in the window.
func (t *SubmittalsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return changes(t.c.Submittals.List(ctx, t.p.ID, t.opts.list(since, until)), func(s procore.Submittal) (string, bool) {
		return idString(s.ID), !s.DeletedAt.IsZero()
	})
}

// Deleted lists the submittal recycle bin.
func (t *SubmittalsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.Submittals.Recycled(ctx, t.p.ID, nil), since, func(s procore.Submittal) (string, time.Time) {
		return idString(s.ID), s.DeletedAt.Time
	})
}

package records

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/storage"
)

// CommitmentsTool is a project's commitments: work order contracts (record
// IDs "wo-<id>") and purchase order contracts ("po-<id>"). Each folder
// holds the contract printed (Procore's v2.0 contract PDF is an
// asynchronous export job, create then poll, not a download) with its
// attachments and every payment's attachments. Listing reads both lists
// and then each contract; changes and deletions come from one v2.0
// commitment_contracts listing (filters[updated_at],
// filters[include_deleted]=with), one call when idle.
type CommitmentsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Changer = (*CommitmentsTool)(nil)

// NewCommitments returns project p's Commitments tool.
func NewCommitments(c *procore.Client, p Project, opts *ToolOptions) *CommitmentsTool {
	return &CommitmentsTool{c: c, p: p, opts: opts}
}

// Name is "Commitments".
func (t *CommitmentsTool) Name() string { return "Commitments" }

var kindPrefix = map[procore.CommitmentKind]string{procore.WorkOrderContracts: "wo-", procore.PurchaseOrderContracts: "po-"}

type kinded struct {
	kind procore.CommitmentKind
	id   int64
}

// Records lists both kinds of contracts and reads each one.
func (t *CommitmentsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	all := func(yield func(kinded, error) bool) {
		for _, k := range []procore.CommitmentKind{procore.WorkOrderContracts, procore.PurchaseOrderContracts} {
			for c, err := range t.c.Commitments.List(ctx, k, t.p.ID, &procore.CommitmentListOptions{RecordListOptions: *t.opts.list(time.Time{}, time.Time{})}) {
				if err != nil {
					yield(kinded{}, err)
					return
				}
				if !c.DeletedAt.IsZero() {
					continue
				}
				if !yield(kinded{k, c.ID}, nil) {
					return
				}
			}
		}
	}
	return eachLoaded(ctx, all, t.opts.workers(), func(ctx context.Context, k kinded) (Record, error) {
		return t.Record(ctx, kindPrefix[k.kind]+idString(k.id))
	})
}

func (t *CommitmentsTool) parse(id string) (procore.CommitmentKind, int64, error) {
	for k, p := range kindPrefix {
		if rest, ok := strings.CutPrefix(id, p); ok {
			n, err := parseID(t.Name(), rest)
			return k, n, err
		}
	}
	return "", 0, storage.NewError("get", "", storage.ErrNotFound, fmt.Errorf("records: Commitments: no record %q", id))
}

// Record reads one contract (GET /rest/v1.0/{kind}/{id}?project_id=).
func (t *CommitmentsTool) Record(ctx context.Context, id string) (Record, error) {
	kind, n, err := t.parse(id)
	if err != nil {
		return Record{}, err
	}
	c, _, err := t.c.Commitments.Get(ctx, kind, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if !c.DeletedAt.IsZero() {
		return Record{}, errGone(t.Name(), id)
	}
	at := c.UpdatedAt.Time
	number := c.Number.String()
	fs := files{created: c.CreatedAt.Time}
	for _, a := range c.Attachments {
		fs.add("a", a, time.Time{})
	}
	d := newDoc(t.p, t.Name(), number, c.Title, c.Status, at)
	label := "Work order contract"
	if kind == procore.PurchaseOrderContracts {
		label = "Purchase order contract"
	}
	d.field("Type", label)
	if c.Vendor != nil {
		d.field("Vendor", c.Vendor.Company)
	}
	d.field("Executed", yesNo(c.Executed))
	d.field("Grand total", c.GrandTotal.String())
	d.field("Revised contract", c.RevisedContract.String())
	d.field("Total payments", c.TotalPayments.String())
	d.field("Retainage", c.RetainagePercent.String())
	d.field("Payment terms", c.PaymentTerms)
	d.field("Description", c.Description)
	d.field("Inclusions", c.Inclusions)
	d.field("Exclusions", c.Exclusions)
	d.day("Contract date", c.ContractDate)
	d.day("Execution date", c.ExecutionDate)
	d.day("Issued on", c.IssuedOnDate)
	d.date("Created", c.CreatedAt.Time, false)
	if len(c.PaymentsIssued) > 0 {
		sec := recordpdf.Section{Heading: "Payments"}
		for _, p := range c.PaymentsIssued {
			e := recordpdf.Entry{Heading: "Payment " + p.PaymentNumber.String(), At: p.CreatedAt.Time, Body: p.Notes,
				Fields: []recordpdf.Field{{Label: "Amount", Value: p.Amount.String()}, {Label: "Date", Value: p.Date},
					{Label: "Invoice", Value: p.InvoiceNumber}, {Label: "Check", Value: p.CheckNumber}}}
			for _, a := range p.Attachments {
				if k := fs.add("p", a, p.CreatedAt.Time); k != "" {
					e.Attachments = append(e.Attachments, k)
				}
			}
			sec.Entries = append(sec.Entries, e)
		}
		d.d.Sections = append(d.d.Sections, sec)
	}
	rec := Record{ID: id, Number: number, Title: c.Title, UpdatedAt: at, Fingerprint: fingerprint(c)}
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, c.Title), Document: &d.d}}, fs.list...)
	return rec, nil
}

// Changed lists the contracts of both kinds updated (or deleted) in the
// window in one v2.0 listing.
func (t *CommitmentsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	opts := &procore.CommitmentListOptions{RecordListOptions: *t.opts.list(since, until), IncludeDeleted: "with"}
	return func(yield func(Change, error) bool) {
		for cc, err := range t.c.Commitments.Contracts(ctx, t.p.ID, opts) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			p, ok := kindPrefix[cc.Kind()]
			if !ok {
				continue // a kind this tool does not export
			}
			if !yield(Change{ID: p + cc.ID.String(), Deleted: !cc.DeletedAt.IsZero()}, nil) {
				return
			}
		}
	}
}

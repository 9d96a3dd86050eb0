package records

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
)

// InspectionsTool is a project's inspections (checklists): each folder
// holds the inspection printed (header, fields, every item with its
// response, signatures) and its attachments: the inspection's own, every
// item's and every signature image. Procore offers no PDF of an
// inspection through the API. Listing costs three paged listings for the
// whole project (lists, list items, item attachments), never one call per
// inspection. An idle check costs two calls: the lists and the item
// attachments updated in the window (an attachment added to an item need
// not touch the inspection's updated_at).
type InspectionsTool struct {
	c    *procore.Client
	p    Project
	opts *ToolOptions
}

var _ Deleter = (*InspectionsTool)(nil)

// NewInspections returns project p's Inspections tool.
func NewInspections(c *procore.Client, p Project, opts *ToolOptions) *InspectionsTool {
	return &InspectionsTool{c: c, p: p, opts: opts}
}

// Name is "Inspections".
func (t *InspectionsTool) Name() string { return "Inspections" }

// Records reads every inspection, item and item attachment.
func (t *InspectionsTool) Records(ctx context.Context) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		all := t.opts.list(time.Time{}, time.Time{})
		var lists []procore.ChecklistList
		for l, err := range t.c.Inspections.List(ctx, t.p.ID, all) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			if !l.Deleted {
				lists = append(lists, l)
			}
		}
		if len(lists) == 0 {
			return
		}
		items := map[int64][]procore.ChecklistItem{}
		listOf := map[int64]int64{}
		for it, err := range t.c.Inspections.Items(ctx, t.p.ID, 0, all) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			items[it.ListID] = append(items[it.ListID], it)
			listOf[it.ID] = it.ListID
		}
		atts := map[int64][]procore.ChecklistItemAttachment{}
		for a, err := range t.c.Inspections.ItemAttachments(ctx, t.p.ID, nil, all) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			if l, ok := listOf[a.ItemID]; ok {
				atts[l] = append(atts[l], a)
			}
		}
		for i := range lists {
			if !yield(t.record(&lists[i], items[lists[i].ID], atts[lists[i].ID]), nil) {
				return
			}
		}
	}
}

// Record reads one inspection, its items and their attachments.
func (t *InspectionsTool) Record(ctx context.Context, id string) (Record, error) {
	n, err := parseID(t.Name(), id)
	if err != nil {
		return Record{}, err
	}
	l, _, err := t.c.Inspections.Get(ctx, t.p.ID, n)
	if err != nil {
		return Record{}, notFound(t.Name(), id, err)
	}
	if l.Deleted {
		return Record{}, errGone(t.Name(), id)
	}
	all := t.opts.list(time.Time{}, time.Time{})
	var items []procore.ChecklistItem
	var ids []int64
	for it, err := range t.c.Inspections.Items(ctx, t.p.ID, n, all) {
		if err != nil {
			return Record{}, procore.MapStorageError("get", "", err)
		}
		if it.ListID == n {
			items = append(items, it)
			ids = append(ids, it.ID)
		}
	}
	var atts []procore.ChecklistItemAttachment
	if len(ids) > 0 {
		for a, err := range t.c.Inspections.ItemAttachments(ctx, t.p.ID, ids, all) {
			if err != nil {
				return Record{}, procore.MapStorageError("get", "", err)
			}
			atts = append(atts, a)
		}
	}
	return t.record(l, items, atts), nil
}

func (t *InspectionsTool) record(l *procore.ChecklistList, items []procore.ChecklistItem, atts []procore.ChecklistItemAttachment) Record {
	at := l.UpdatedAt.Time
	number := l.Number.String()
	sort.Slice(items, func(i, j int) bool {
		return items[i].Position < items[j].Position || items[i].Position == items[j].Position && items[i].ID < items[j].ID
	})
	sort.Slice(atts, func(i, j int) bool { return atts[i].ID < atts[j].ID })
	fs := files{created: l.CreatedAt.Time}
	for _, a := range l.Attachments {
		fs.add("a", a, time.Time{})
	}
	byItem := map[int64][]string{}
	for _, a := range atts {
		att := a.Attachment
		att.ID = a.ID // the item attachment's own ID names it
		byItem[a.ItemID] = append(byItem[a.ItemID], fs.add("i", att, a.CreatedAt.Time))
	}
	d := newDoc(t.p, t.Name(), number, l.Name, l.Status, at)
	d.field("Template", l.ListTemplateName)
	d.field("Type", named(l.InspectionType))
	d.field("Location", named(l.Location))
	d.field("Trade", named(l.Trade))
	d.field("Responsible contractor", named(l.ResponsibleContractor))
	d.field("Point of contact", person(l.PointOfContact))
	d.field("Created by", person(l.CreatedBy))
	d.field("Closed by", person(l.ClosedBy))
	var inspectors []string
	for i := range l.Inspectors {
		inspectors = append(inspectors, person(&l.Inspectors[i]))
	}
	d.field("Inspectors", joinNonEmpty(inspectors))
	d.field("Description", l.Description)
	d.field("Items", fmt.Sprintf("%d (%d conforming, %d deficient)", l.ItemCount, l.ConformingItemCount, l.DeficientItemCount))
	d.day("Inspection date", l.InspectionDate)
	d.date("Due", l.DueAt.Time, false)
	d.date("Created", l.CreatedAt.Time, false)
	d.date("Closed", l.ClosedAt.Time, false)
	if len(items) > 0 {
		sec := recordpdf.Section{Heading: "Items"}
		for i, it := range items {
			e := recordpdf.Entry{Heading: fmt.Sprintf("%d. %s", i+1, it.Name), Body: it.Details, Attachments: byItem[it.ID]}
			if r := it.ItemResponse; r != nil {
				e.Author, e.At = person(r.Responder), r.RespondedAt.Time
				e.Fields = []recordpdf.Field{{Label: "Response", Value: r.Status}}
			}
			sec.Entries = append(sec.Entries, e)
		}
		d.d.Sections = append(d.d.Sections, sec)
	}
	if len(l.SignatureRequests) > 0 {
		sec := recordpdf.Section{Heading: "Signatures"}
		for _, sr := range l.SignatureRequests {
			e := recordpdf.Entry{Heading: "Signature", Author: person(sr.Signatory)}
			if sg := sr.Signature; sg != nil {
				e.At = sg.CapturedAt.Time
				if sg.Attachment != nil {
					a := *sg.Attachment
					if a.ID == 0 {
						a.ID = sg.ID
					}
					if k := fs.add("s", a, sg.CapturedAt.Time); k != "" {
						e.Attachments = []string{k}
					}
				}
			} else {
				e.Body = "Not signed yet."
			}
			sec.Entries = append(sec.Entries, e)
		}
		d.d.Sections = append(d.d.Sections, sec)
	}
	rec := Record{ID: idString(l.ID), Number: number, Title: l.Name, UpdatedAt: at,
		Fingerprint: fingerprint([]any{l, items, atts})}
	rec.Files = append([]File{{Key: "pdf", Name: pdfName(number, l.Name), Document: &d.d}}, fs.list...)
	return rec
}

func joinNonEmpty(list []string) string {
	out := ""
	for _, s := range list {
		if s == "" {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += s
	}
	return out
}

// Changed lists the inspections, and the item attachments, updated in
// the window (two calls when idle); an item attachment names its
// inspection through one more call (list items by ID).
func (t *InspectionsTool) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		win := t.opts.list(since, until)
		seen := map[string]bool{}
		for l, err := range t.c.Inspections.List(ctx, t.p.ID, win) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			seen[idString(l.ID)] = true
			if !yield(Change{ID: idString(l.ID), Deleted: l.Deleted}, nil) {
				return
			}
		}
		var itemIDs []int64
		for a, err := range t.c.Inspections.ItemAttachments(ctx, t.p.ID, nil, win) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			itemIDs = append(itemIDs, a.ItemID)
		}
		if len(itemIDs) == 0 {
			return
		}
		for it, err := range t.c.Inspections.ItemsByID(ctx, t.p.ID, itemIDs, t.opts.list(time.Time{}, time.Time{})) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			if k := idString(it.ListID); !seen[k] {
				seen[k] = true
				if !yield(Change{ID: k}, nil) {
					return
				}
			}
		}
	}
}

// Deleted lists the inspections recycle bin.
func (t *InspectionsTool) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return recycled(t.c.Inspections.Recycled(ctx, t.p.ID, nil), since, func(l procore.ChecklistList) (string, time.Time) {
		return idString(l.ID), l.UpdatedAt.Time
	})
}

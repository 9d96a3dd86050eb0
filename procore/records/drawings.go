package records

import (
	"context"
	"errors"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
)

// DrawingsOptions tune the Drawings tool.
type DrawingsOptions struct {
	// KeepSuperseded keeps superseded revisions beside the current one as
	// "<number> - <title> (Rev <n>).pdf"; by default they leave the
	// target when a new revision becomes current.
	KeepSuperseded bool
	// NoDiscipline names the folder of drawings without a discipline
	// (default "No Discipline").
	NoDiscipline string
	// PerPage is the page size of listings (default 1000).
	PerPage int
}

// Drawings is a project's Drawings as a Tool: each drawing's current
// revision is an inline record, a PDF at
// "<Area>/<Discipline>/<number> - <title>.pdf" (a project without drawing
// areas has no area level), downloaded from the revision's pdf_url. With
// KeepSuperseded, every superseded revision is a record of its own,
// "<number> - <title> (Rev <n>).pdf", beside it.
//
// A current drawing's record ID is "d<drawing id>", so a new revision is a
// new version of the same file; its Version is "<revision id>@<updated_at>".
// A kept superseded revision's record ID is "r<revision id>".
//
// Changed reads the drawing revisions updated in the window
// (filters[updated_at]) and the drawing areas: two calls when idle. A
// renamed, added or removed area moves every drawing below it: Changed then
// fails with storage.ErrCursorExpired and the engine lists the tool again.
// Deleted reads the deleted revisions (filters[deleted]=only); a drawing
// whose last revision was deleted leaves (one more call per such drawing).
type Drawings struct {
	c         *procore.Client
	projectID int64
	opts      DrawingsOptions

	mu    sync.Mutex
	areas map[int64]string // area ID → name, as last read (nil: not read yet)
}

var _ Deleter = (*Drawings)(nil)

// NewDrawings returns project projectID's Drawings tool; records.New makes
// it a storage.
func NewDrawings(c *procore.Client, projectID int64, opts *DrawingsOptions) *Drawings {
	o := DrawingsOptions{}
	if opts != nil {
		o = *opts
	}
	if o.NoDiscipline == "" {
		o.NoDiscipline = "No Discipline"
	}
	if o.PerPage <= 0 {
		o.PerPage = 1000
	}
	return &Drawings{c: c, projectID: projectID, opts: o}
}

// Name is "Drawings".
func (d *Drawings) Name() string { return "Drawings" }

// readAreas reads the drawing areas and reports whether they differ from
// the ones read before (false the first time).
func (d *Drawings) readAreas(ctx context.Context) (map[int64]string, bool, error) {
	names := map[int64]string{}
	for a, err := range d.c.Drawings.Areas(ctx, d.projectID, d.opts.PerPage) {
		if err != nil {
			return nil, false, err
		}
		names[a.ID] = a.Name
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := d.areas != nil && !sameAreas(d.areas, names)
	d.areas = names
	return names, changed, nil
}

func sameAreas(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (d *Drawings) knownAreas(ctx context.Context) (map[int64]string, error) {
	d.mu.Lock()
	names := d.areas
	d.mu.Unlock()
	if names != nil {
		return names, nil
	}
	names, _, err := d.readAreas(ctx)
	return names, err
}

// wanted reports whether a live revision is exported.
func (d *Drawings) wanted(rv *procore.DrawingRevision) bool {
	return rv.Current || d.opts.KeepSuperseded
}

// record lays a revision out as an inline record.
func (d *Drawings) record(rv *procore.DrawingRevision, areas map[int64]string) Record {
	var dir []string
	if a, ok := areas[rv.AreaID()]; ok && rv.AreaID() != 0 {
		dir = append(dir, a)
	}
	disc := d.opts.NoDiscipline
	if n := strings.TrimSpace(rv.DisciplineName()); n != "" {
		disc = n
	}
	dir = append(dir, disc)
	name := strings.TrimSpace(rv.Number)
	if t := strings.TrimSpace(rv.Title); t != "" {
		if name != "" {
			name += " - "
		}
		name += t
	}
	id := "d" + idString(rv.DrawingID)
	if !rv.Current {
		name += " (Rev " + strings.TrimSpace(rv.RevisionNumber) + ")"
		id = "r" + idString(rv.ID)
	}
	ver := idString(rv.ID) + "@" + rv.UpdatedAt.UTC().Format(time.RFC3339Nano)
	return Record{ID: id, Number: rv.Number, Title: rv.Title, Inline: true, Dir: dir, UpdatedAt: rv.UpdatedAt.Time,
		Fingerprint: []byte(ver),
		Files:       []File{{Key: "pdf", Name: name + ".pdf", Version: ver, Size: rv.PDFSize, ModTime: rv.UpdatedAt.Time, URL: rv.PDFURL}}}
}

// Records yields every exported revision (the drawing areas, then every
// page of drawing revisions).
func (d *Drawings) Records(ctx context.Context) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		areas, _, err := d.readAreas(ctx)
		if err != nil {
			yield(Record{}, err)
			return
		}
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{
			ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}, Sort: "id"}) {
			if err != nil {
				yield(Record{}, err)
				return
			}
			if d.wanted(&rv) && !yield(d.record(&rv, areas), nil) {
				return
			}
		}
	}
}

var errNoRevision = errors.New("records: no live revision")

// Record reads one record: a drawing's current revision ("d<id>", one
// listing of its revisions) or a kept superseded revision ("r<id>", one
// read).
func (d *Drawings) Record(ctx context.Context, id string) (Record, error) {
	areas, err := d.knownAreas(ctx)
	if err != nil {
		return Record{}, err
	}
	switch {
	case strings.HasPrefix(id, "d"):
		did, err := parseID("Drawings", id[1:])
		if err != nil {
			return Record{}, err
		}
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{DrawingID: did,
			ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}}) {
			if err != nil {
				return Record{}, err
			}
			if rv.Current {
				return d.record(&rv, areas), nil
			}
		}
	case strings.HasPrefix(id, "r") && d.opts.KeepSuperseded:
		rid, err := parseID("Drawings", id[1:])
		if err != nil {
			return Record{}, err
		}
		rv, _, err := d.c.Drawings.GetRevision(ctx, d.projectID, rid)
		if err != nil {
			return Record{}, err
		}
		if !rv.Current {
			return d.record(rv, areas), nil
		}
	}
	return Record{}, storage.NewError("stat", "", storage.ErrNotFound, errNoRevision)
}

// Changed yields the drawings (and kept revisions) whose revisions were
// updated in the window; a changed area fails with
// storage.ErrCursorExpired.
func (d *Drawings) Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		seen := map[string]bool{}
		emit := func(c Change) bool {
			if seen[c.ID] {
				return true
			}
			seen[c.ID] = true
			return yield(c, nil)
		}
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{
			ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}, UpdatedFrom: since, UpdatedTo: until, Sort: "id"}) {
			if err != nil {
				yield(Change{}, err)
				return
			}
			// The drawing's current file may have changed either way: a
			// new current revision, or the current one superseded.
			if !emit(Change{ID: "d" + idString(rv.DrawingID)}) {
				return
			}
			if !rv.Current && d.opts.KeepSuperseded && !emit(Change{ID: "r" + idString(rv.ID)}) {
				return
			}
		}
		if _, changed, err := d.readAreas(ctx); err != nil {
			yield(Change{}, err)
			return
		} else if changed {
			yield(Change{}, storage.NewError("changes", "", storage.ErrCursorExpired,
				errors.New("drawing areas changed: every path below them moves")))
		}
	}
}

// Deleted yields the revisions deleted since since, and each drawing left
// without a current revision.
func (d *Drawings) Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		drawings := map[int64]bool{}
		var order []int64
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{
			ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}, UpdatedFrom: since, Deleted: procore.DeletedOnly, Sort: "id"}) {
			if err != nil {
				yield("", err)
				return
			}
			if d.opts.KeepSuperseded && !yield("r"+idString(rv.ID), nil) {
				return
			}
			if !drawings[rv.DrawingID] {
				drawings[rv.DrawingID] = true
				order = append(order, rv.DrawingID)
			}
		}
		for _, did := range order {
			_, err := d.Record(ctx, "d"+idString(did))
			switch {
			case errors.Is(err, storage.ErrNotFound):
				if !yield("d"+idString(did), nil) {
					return
				}
			case err != nil:
				yield("", err)
				return
			}
		}
	}
}

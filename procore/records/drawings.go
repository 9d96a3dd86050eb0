package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
)

// DrawingsOptions tune a Drawings storage.
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
	// Overlap is how far each change check reaches back before the last
	// one, against clock skew (default one minute).
	Overlap time.Duration
}

// Drawings is a project's Drawings as a read-only storage.Storage: each
// drawing's current revision as a PDF at
// "<Area>/<Discipline>/<number> - <title>.pdf" (a project without drawing
// areas has no area level), with superseded revisions left out or kept
// (DrawingsOptions.KeepSuperseded).
//
// A current drawing's entry ID is the drawing's ("dwg:<drawing id>"), so a
// new revision is a new version of the same file; its Version is
// "<revision id>@<updated_at>". PDFs are downloaded from the revision's
// pdf_url through the client's file-host machinery.
//
// Writes are refused with an error matching storage.ErrUnsupported and
// ErrFieldToolReadOnly.
//
// Drawings is a storage.ChangeFeed: a check lists the drawing areas (one
// call) and the drawing revisions whose updated_at is after the cursor,
// live (filters[updated_at]) and deleted (filters[deleted]=only), so an
// idle check costs three calls. A renamed, added or removed area moves
// every drawing below it: the check then answers ErrCursorExpired and the
// engine lists the tool again.
type Drawings struct {
	ftNoWrites
	c         *procore.Client
	projectID int64
	opts      DrawingsOptions

	mu   sync.Mutex
	urls map[string]ftURL // entry ID → pdf_url as last listed, by Version
}

type ftURL struct{ version, url string }

// NewDrawings returns project projectID's Drawings.
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
	if o.Overlap <= 0 {
		o.Overlap = time.Minute
	}
	return &Drawings{c: c, projectID: projectID, opts: o, urls: map[string]ftURL{}}
}

var (
	_ storage.Storage    = (*Drawings)(nil)
	_ storage.ChangeFeed = (*Drawings)(nil)
)

// Features: read-only, no hashes, millisecond times.
func (d *Drawings) Features() storage.Features {
	return storage.Features{Names: procore.DocumentNameRules, ModTimePrecision: time.Millisecond}
}

func (d *Drawings) rootEntry() storage.Entry {
	return storage.Entry{ID: "dw:" + strconv.FormatInt(d.projectID, 10), IsDir: true}
}

// drawingTree is one listing's view of the tool.
type drawingTree struct {
	areaNames map[int64]string // area ID → shown name
}

func (d *Drawings) areas(ctx context.Context) (map[int64]string, *procore.Response, error) {
	var first *procore.Response
	list, resp, err := d.c.Drawings.ListAreas(ctx, d.projectID, &procore.ListOptions{Page: 1, PerPage: d.opts.PerPage})
	if err != nil {
		return nil, resp, err
	}
	first = resp
	all := list
	if len(list) == d.opts.PerPage {
		all = nil
		for a, err := range d.c.Drawings.Areas(ctx, d.projectID, d.opts.PerPage) {
			if err != nil {
				return nil, first, err
			}
			all = append(all, a)
		}
	}
	var named []ftNamed
	for _, a := range all {
		named = append(named, ftNamed{key: strconv.FormatInt(a.ID, 10), rank: a.ID, name: ftSafeName(a.Name)})
	}
	shown := ftUnique(named, nil)
	out := make(map[int64]string, len(all))
	for _, a := range all {
		out[a.ID] = shown[strconv.FormatInt(a.ID, 10)]
	}
	return out, first, nil
}

// dir returns the folder path of a revision and its folder entries.
func (d *Drawings) dir(t *drawingTree, rv *procore.DrawingRevision) (string, []storage.Entry) {
	root := d.rootEntry().ID
	var out []storage.Entry
	area := ""
	parent := root
	if id := rv.AreaID(); id != 0 {
		if n, ok := t.areaNames[id]; ok {
			area = n
			parent = "dwa:" + strconv.FormatInt(id, 10)
			out = append(out, storage.Entry{ID: parent, ParentID: root, Path: area, IsDir: true})
		}
	}
	disc := d.opts.NoDiscipline
	if n := rv.DisciplineName(); n != "" {
		disc = ftSafeName(n)
	}
	dp := ftJoin(area, disc)
	out = append(out, storage.Entry{ID: "dwd:" + strconv.FormatInt(rv.AreaID(), 10) + ":" + strings.ToLower(disc),
		ParentID: parent, Path: dp, IsDir: true})
	return dp, out
}

// drawingName is "<number> - <title>.pdf", with " (Rev <n>)" for a
// superseded revision.
func drawingName(rv *procore.DrawingRevision) string {
	n := strings.TrimSpace(rv.Number)
	if t := strings.TrimSpace(rv.Title); t != "" {
		n = ftJoinName(n, t)
	}
	if !rv.Current {
		n += " (Rev " + strings.TrimSpace(rv.RevisionNumber) + ")"
	}
	return ftSafeName(n) + ".pdf"
}

func ftJoinName(number, title string) string {
	if number == "" {
		return title
	}
	return number + " - " + title
}

// fileEntry is a revision's file entry (without its path).
func (d *Drawings) fileEntry(rv *procore.DrawingRevision) storage.Entry {
	id := "dwr:" + strconv.FormatInt(rv.ID, 10)
	if rv.Current {
		id = "dwg:" + strconv.FormatInt(rv.DrawingID, 10)
	}
	e := storage.Entry{ID: id, Size: rv.PDFSize, ModTime: rv.UpdatedAt.Time,
		Version: strconv.FormatInt(rv.ID, 10) + "@" + ftStamp(rv.UpdatedAt.Time)}
	d.mu.Lock()
	d.urls[e.ID] = ftURL{version: e.Version, url: rv.PDFURL}
	d.mu.Unlock()
	return e
}

// wanted reports whether a live revision is exported.
func (d *Drawings) wanted(rv *procore.DrawingRevision) bool {
	return rv.Current || d.opts.KeepSuperseded
}

// List yields the area and discipline folders and every exported PDF.
func (d *Drawings) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		names, _, err := d.areas(ctx)
		if err != nil {
			yield(storage.Entry{}, ftErr("list", "", err))
			return
		}
		t := &drawingTree{areaNames: names}
		var revs []procore.DrawingRevision
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{
			ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}, Sort: "id"}) {
			if err != nil {
				yield(storage.Entry{}, ftErr("list", "", err))
				return
			}
			if d.wanted(&rv) {
				revs = append(revs, rv)
			}
		}
		for _, e := range d.entries(t, revs) {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// entries lays out revisions: folders once each, file names unique per
// folder (lowest drawing ID keeps a name two drawings share).
func (d *Drawings) entries(t *drawingTree, revs []procore.DrawingRevision) []storage.Entry {
	seen := map[string]bool{}
	var out []storage.Entry
	type placed struct {
		e   storage.Entry
		dir string
	}
	byDir := map[string][]placed{}
	var named = map[string][]ftNamed{}
	for i := range revs {
		rv := &revs[i]
		dp, dirs := d.dir(t, rv)
		for _, de := range dirs {
			if !seen[de.ID] {
				seen[de.ID] = true
				out = append(out, de)
			}
		}
		e := d.fileEntry(rv)
		e.ParentID = dirs[len(dirs)-1].ID
		byDir[dp] = append(byDir[dp], placed{e, dp})
		rank := rv.DrawingID
		if !rv.Current {
			rank = rv.ID
		}
		named[dp] = append(named[dp], ftNamed{key: e.ID, rank: rank, name: drawingName(rv)})
	}
	dirs := slices.Sorted(maps.Keys(byDir))
	for _, dp := range dirs {
		shown := ftUnique(named[dp], nil)
		for _, p := range byDir[dp] {
			p.e.Path = ftJoin(dp, shown[p.e.ID])
			out = append(out, p.e)
		}
	}
	return out
}

// Stat finds an entry by path (a listing).
func (d *Drawings) Stat(ctx context.Context, p string) (storage.Entry, error) {
	return ftStatPath("stat", p, d.rootEntry(), d.List(ctx))
}

// Open downloads a drawing's PDF: from the pdf_url last listed when the
// entry's Version is the one listed, otherwise after reading the revision
// (one call).
func (d *Drawings) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	d.mu.Lock()
	cached, ok := d.urls[e.ID]
	d.mu.Unlock()
	if ok && cached.version == e.Version && cached.url != "" {
		rc, err := d.c.Download(ctx, cached.url, 0)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	revID, err := revisionOf(e)
	if err != nil {
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, err)
	}
	rv, _, err := d.c.Drawings.GetRevision(ctx, d.projectID, revID)
	if err != nil {
		return nil, ftErr("open", e.Path, err)
	}
	if strings.HasPrefix(e.ID, "dwg:") && !rv.Current {
		// A newer revision is current now: the listed one is gone.
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, errors.New("the revision is no longer current"))
	}
	rc, err := d.c.Download(ctx, rv.PDFURL, 0)
	if err != nil {
		return nil, ftErr("open", e.Path, err)
	}
	return rc, nil
}

// revisionOf reads the revision ID from an entry's Version.
func revisionOf(e storage.Entry) (int64, error) {
	s, _, _ := strings.Cut(e.Version, "@")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("no drawing revision in version %q", e.Version)
	}
	return id, nil
}

// drawingCursor is the state a change check starts from.
type drawingCursor struct {
	Since time.Time        `json:"since"`
	Areas map[int64]string `json:"areas"` // area ID → shown name
}

func (d *Drawings) encode(c drawingCursor) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// LatestCursor reads the areas (one call) and starts from the service's
// clock.
func (d *Drawings) LatestCursor(ctx context.Context) (string, error) {
	names, resp, err := d.areas(ctx)
	if err != nil {
		return "", ftErr("cursor", "", err)
	}
	return d.encode(drawingCursor{Since: ftServerTime(resp, time.Now()).Add(-d.opts.Overlap), Areas: names}), nil
}

// Changes reports the drawings whose revisions changed since the cursor:
// a new or edited current revision is the drawing's file, a revision no
// longer current leaves (or, with KeepSuperseded, appears under its
// "(Rev <n>)" name), a deleted revision leaves, and a drawing whose last
// revision was deleted leaves.
func (d *Drawings) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	var cur drawingCursor
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil || cur.Since.IsZero() {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("malformed drawings cursor"))
	}
	names, resp, err := d.areas(ctx)
	if err != nil {
		return nil, "", ftErr("changes", "", err)
	}
	now := ftServerTime(resp, time.Now())
	if !sameAreas(names, cur.Areas) {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("drawing areas changed: every path below them moves"))
	}
	t := &drawingTree{areaNames: names}
	opts := procore.DrawingRevisionListOptions{ListOptions: procore.ListOptions{PerPage: d.opts.PerPage}, UpdatedFrom: cur.Since, Sort: "id"}
	var live []procore.DrawingRevision
	var out []storage.Change
	liveDrawing := map[int64]bool{}
	for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &opts) {
		if err != nil {
			return nil, "", ftErr("changes", "", err)
		}
		if rv.Current {
			liveDrawing[rv.DrawingID] = true
		}
		if d.wanted(&rv) {
			live = append(live, rv)
		} else {
			out = append(out, storage.Change{Entry: storage.Entry{ID: "dwr:" + strconv.FormatInt(rv.ID, 10)}, Deleted: true})
		}
	}
	for _, e := range d.entries(t, live) {
		out = append(out, storage.Change{Entry: e})
	}
	opts.Deleted = procore.DeletedOnly
	orphans := map[int64]bool{}
	for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &opts) {
		if err != nil {
			return nil, "", ftErr("changes", "", err)
		}
		out = append(out, storage.Change{Entry: storage.Entry{ID: "dwr:" + strconv.FormatInt(rv.ID, 10)}, Deleted: true})
		if !liveDrawing[rv.DrawingID] {
			orphans[rv.DrawingID] = true
		}
	}
	// A drawing whose current revision was deleted has another current
	// one (listed above, its updated_at moved on) or none left.
	ids := slices.Sorted(maps.Keys(orphans))
	for _, id := range ids {
		current := false
		for rv, err := range d.c.Drawings.Revisions(ctx, d.projectID, &procore.DrawingRevisionListOptions{DrawingID: id}) {
			if err != nil {
				return nil, "", ftErr("changes", "", err)
			}
			current = current || rv.Current
		}
		if !current {
			out = append(out, storage.Change{Entry: storage.Entry{ID: "dwg:" + strconv.FormatInt(id, 10)}, Deleted: true})
		}
	}
	return out, d.encode(drawingCursor{Since: now.Add(-d.opts.Overlap), Areas: names}), nil
}

func sameAreas(a, b map[int64]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

package records

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/storage"
)

// DailyLogOptions tune a DailyLog storage.
type DailyLogOptions struct {
	// Project is the project's name, printed in every PDF.
	Project string
	// Renderer prints a log type's entries of one day (required; the
	// application passes recordpdf.Render). It must be deterministic.
	Renderer Renderer
	// RendererVersion names the renderer's output format: a new value
	// changes every PDF's Version, so that the engine re-exports them.
	RendererVersion string
	// Start is the first day (YYYY-MM-DD) a full listing reads (default:
	// 365 days before today).
	Start string
	// LookBack is how many days, today included, each change check
	// re-reads (default 14). Older days are read again only by a full
	// listing.
	LookBack int
	// Window is the most days one request asks for (default 90: Procore
	// is reported to refuse ranges much longer than 13 weeks).
	Window int
	// PerPage is the page size of listings (default 1000).
	PerPage int
	// Status is sent as filters[status] where a log type takes it
	// ("all" includes pending entries for admins; "": Procore's default).
	Status string
	// Now and Location give "today" (defaults time.Now and UTC; use the
	// project's time zone).
	Now      func() time.Time
	Location *time.Location
	// Types are the log types exported (default procore.DailyLogTypes).
	Types []procore.DailyLogType
	// NoPhotos leaves the day's Daily Log photos (images filed on the
	// day) out; by default they are listed in "<day>/Photos".
	NoPhotos bool
	// EditCheckInterval is how often a change check re-reads every log
	// type of the look-back window, which is the only way to see an entry
	// edited in place (the Daily Log has no filters[updated_at]). Between
	// such checks, a check reads only the counts by type and the day
	// photos (two calls) and re-reads the window only when they moved:
	// added and deleted entries and photos are seen at once, edits within
	// the interval. 0 (the default): every check re-reads the window.
	EditCheckInterval time.Duration
}

// PhotosFolder is the folder of a day that holds its Daily Log photos.
const PhotosFolder = "Photos"

// DailyLog is a project's Daily Log as a read-only storage.Storage: one
// folder per day ("2026-12-05"), holding one PDF per log type that has
// entries that day ("Weather.pdf", "Manpower.pdf", …, printed by
// DailyLogOptions.Renderer from DailyLogDocument), the entries' attachments
// (names unique in the day; a clash keeps the lowest attachment ID's name
// and suffixes the others " (id <n>)"), and the day's photos in
// "Photos". Deleted entries (gone from the lists, or listed with
// deleted_at) leave.
//
// A PDF's Version is a digest of the day's entries of that type, as
// Procore sends them less download URLs, their attachments' IDs and
// names, and RendererVersion: an edited entry, a new attachment (which
// leaves the entry's updated_at alone) or a deleted entry changes it.
// A day folder's Version is a digest of everything in it.
//
// The Daily Log has no filters[updated_at]: reads go by date windows
// (start_date/end_date, at most Window days each). For each window one
// daily_logs/count call says which log types have entries, and only those
// are listed; photos come from one images call (filters[log_date] over
// the window) and, when a photo is on a day not met before, one
// daily_log_headers/index call that says which day each photo is on. DailyLog is a storage.ChangeFeed over the last
// LookBack days: each check re-reads that window and reports what differs
// from the cursor; older days are left to full listings.
//
// The Daily Log is not a Tool of this package's Storage: that design reads
// changed records by filters[updated_at] and one call per changed record,
// while the Daily Log has no updated_at filter (days are re-read in date
// windows, one call per log type for all days at once), and a day's photos
// live in a sub-folder a person drops photos into (DailyLogPhotoImporter).
// It shares the framework's Renderer, read-only errors and error mapping.
//
// Writes (Put, MakeDir, Move, Delete) are refused with an error matching
// storage.ErrUnsupported and ErrFieldToolReadOnly: photos dropped on the
// target come back into Procore through DailyLogPhotoImporter.
//
// Attachments come without a size, and the engine syncs no entry without
// one: the first listing that meets an attachment reads it once from the
// file host (not counted by Procore's rate limit) and remembers its size
// by ID.
type DailyLog struct {
	ftNoWrites
	c         *procore.Client
	projectID int64
	opts      DailyLogOptions

	mu    sync.Mutex
	sizes map[string]int64       // PDF Version or "att:<id>" → size
	docs  map[string]dlCachedDoc // PDF entry ID → Document as last listed
	urls  map[string]ftURL       // attachment and photo entry IDs → URL as last listed
	heads map[int64]string       // daily log header ID → its day (a header never changes day)

	wake wake.Broadcaster
}

type dlCachedDoc struct {
	version string
	doc     recordpdf.Document
}

// ErrNoRenderer is the cause of the error of a DailyLog without
// DailyLogOptions.Renderer.
var ErrNoRenderer = errors.New("procore records: DailyLogOptions.Renderer is required")

// NewDailyLog returns project projectID's Daily Log.
func NewDailyLog(c *procore.Client, projectID int64, opts *DailyLogOptions) *DailyLog {
	o := DailyLogOptions{}
	if opts != nil {
		o = *opts
	}
	if o.LookBack <= 0 {
		o.LookBack = 14
	}
	if o.Window <= 0 {
		o.Window = 90
	}
	if o.PerPage <= 0 {
		o.PerPage = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Types == nil {
		o.Types = procore.DailyLogTypes
	}
	return &DailyLog{c: c, projectID: projectID, opts: o, sizes: map[string]int64{}, docs: map[string]dlCachedDoc{}, urls: map[string]ftURL{},
		heads: map[int64]string{}}
}

var (
	_ storage.Storage    = (*DailyLog)(nil)
	_ storage.ChangeFeed = (*DailyLog)(nil)
)

// Features: read-only, no hashes.
func (l *DailyLog) Features() storage.Features {
	return storage.Features{Names: procore.DocumentNameRules, ModTimePrecision: time.Millisecond}
}

func (l *DailyLog) rootEntry() storage.Entry {
	return storage.Entry{ID: "dl:" + strconv.FormatInt(l.projectID, 10), IsDir: true}
}

func (l *DailyLog) today() time.Time {
	n := l.opts.Now().In(l.opts.Location)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

func (l *DailyLog) start() (time.Time, error) {
	if l.opts.Start == "" {
		return l.today().AddDate(0, 0, -365), nil
	}
	return procore.ParseLogDate(l.opts.Start)
}

// dlDay is what one day holds.
type dlDay struct {
	date    string
	entries map[string][]procore.DailyLogEntry // by type resource
	photos  []procore.Image
}

// readDays reads every day of [from, to] that has entries or photos, and
// returns with them the window's signature (see quickSig).
func (l *DailyLog) readDays(ctx context.Context, from, to time.Time) (map[string]*dlDay, string, error) {
	days := map[string]*dlDay{}
	var sig []string
	day := func(d string) *dlDay {
		if days[d] == nil {
			days[d] = &dlDay{date: d, entries: map[string][]procore.DailyLogEntry{}}
		}
		return days[d]
	}
	for a := from; !a.After(to); a = a.AddDate(0, 0, l.opts.Window) {
		b := a.AddDate(0, 0, l.opts.Window-1)
		if b.After(to) {
			b = to
		}
		sa, sb := a.Format(procore.DateLayout), b.Format(procore.DateLayout)
		types, part, err := l.typesWithEntries(ctx, sa, sb)
		if err != nil {
			return nil, "", err
		}
		sig = append(sig, part)
		for _, t := range types {
			for e, err := range l.c.DailyLogs.All(ctx, l.projectID, t, &procore.DailyLogListOptions{
				ListOptions: procore.ListOptions{PerPage: l.opts.PerPage}, StartDate: sa, EndDate: sb, Status: l.opts.Status}) {
				if err != nil {
					return nil, "", err
				}
				if e.Deleted() {
					continue
				}
				d := e.Date
				if _, err := procore.ParseLogDate(d); err != nil {
					continue // an entry without a usable date cannot be placed
				}
				day(d).entries[t.Resource] = append(day(d).entries[t.Resource], e)
			}
		}
	}
	if !l.opts.NoPhotos {
		imgs, err := l.dayImages(ctx, from, to)
		if err != nil {
			return nil, "", err
		}
		sig = append(sig, imagesSig(imgs))
		if err := l.placePhotos(ctx, from, to, imgs, day); err != nil {
			return nil, "", err
		}
	}
	return days, strings.Join(sig, "|"), nil
}

// quickSig reads what the window's signature is made of: one
// daily_logs/count call per Window days and one images call. It is ""
// when the counts cannot be read (the signature then says nothing).
func (l *DailyLog) quickSig(ctx context.Context, from, to time.Time) (string, error) {
	var sig []string
	for a := from; !a.After(to); a = a.AddDate(0, 0, l.opts.Window) {
		b := a.AddDate(0, 0, l.opts.Window-1)
		if b.After(to) {
			b = to
		}
		_, part, err := l.typesWithEntries(ctx, a.Format(procore.DateLayout), b.Format(procore.DateLayout))
		if err != nil || part == "" {
			return "", err
		}
		sig = append(sig, part)
	}
	if !l.opts.NoPhotos {
		imgs, err := l.dayImages(ctx, from, to)
		if err != nil {
			return "", err
		}
		sig = append(sig, imagesSig(imgs))
	}
	return strings.Join(sig, "|"), nil
}

// imagesSig digests the images of a window (IDs, update stamps, days).
func imagesSig(imgs []procore.Image) string {
	h := sha256.New()
	for _, im := range imgs {
		fmt.Fprintf(h, "%d@%s@%d\n", im.ID, ftStamp(im.UpdatedAt.Time), im.DailyLogHeaderID)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// typesWithEntries asks daily_logs/count which types have entries in the
// window. A count call that fails with 403/404 or names a module it does
// not recognise makes every type be listed.
func (l *DailyLog) typesWithEntries(ctx context.Context, start, end string) ([]procore.DailyLogType, string, error) {
	counts, _, err := l.c.DailyLogs.Counts(ctx, l.projectID, start, end, l.opts.Status)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrPermissionDenied) {
			return l.opts.Types, "", nil
		}
		return nil, "", err
	}
	has := map[string]bool{}
	var sig []string
	for _, c := range counts {
		sig = append(sig, fmt.Sprintf("%s=%d", c.ModuleName, c.Count))
	}
	sort.Strings(sig)
	part := start + ":" + strings.Join(sig, ",")
	for _, c := range counts {
		t, ok := procore.MatchCountModule(c.ModuleName)
		if !ok {
			if c.Count > 0 {
				return l.opts.Types, part, nil // an unknown module with entries: read everything
			}
			continue
		}
		if c.Count > 0 {
			has[t.Resource] = true
		}
	}
	var out []procore.DailyLogType
	for _, t := range l.opts.Types {
		if has[t.Resource] {
			out = append(out, t)
		}
	}
	return out, part, nil
}

// dayImages reads the images filed on days of [from, to].
func (l *DailyLog) dayImages(ctx context.Context, from, to time.Time) ([]procore.Image, error) {
	rng := from.Format(procore.DateLayout) + "..." + to.Format(procore.DateLayout)
	var imgs []procore.Image
	for im, err := range l.c.Images.All(ctx, l.projectID, &procore.ImageListOptions{
		ListOptions: procore.ListOptions{PerPage: l.opts.PerPage}, LogDate: rng}) {
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, im)
	}
	return imgs, nil
}

// placePhotos puts images on their days: unless every image's header is
// known already, it reads the headers that say which day each is on.
func (l *DailyLog) placePhotos(ctx context.Context, from, to time.Time, imgs []procore.Image, day func(string) *dlDay) error {
	if len(imgs) == 0 {
		return nil
	}
	l.mu.Lock()
	known := true
	for _, im := range imgs {
		if _, ok := l.heads[im.DailyLogHeaderID]; !ok {
			known = false
		}
	}
	l.mu.Unlock()
	if !known {
		for h, err := range l.c.DailyLogs.Headers(ctx, l.projectID, from.Format(procore.DateLayout), to.Format(procore.DateLayout), l.opts.PerPage) {
			if err != nil {
				return err
			}
			l.mu.Lock()
			l.heads[h.ID] = h.LogDate
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	dates := make(map[int64]string, len(l.heads))
	for id, d := range l.heads {
		dates[id] = d
	}
	l.mu.Unlock()
	for _, im := range imgs {
		if d, ok := dates[im.DailyLogHeaderID]; ok {
			day(d).photos = append(day(d).photos, im)
		}
	}
	return nil
}

// dayPhotoNames are the names a day's photos are shown with in its Photos
// folder (unique without regard to case; the lowest image ID keeps a
// shared name).
func dayPhotoNames(photos []procore.Image) map[int64]string {
	var named []ftNamed
	for _, im := range photos {
		n := ftSafeName(im.Filename)
		if n == "_" {
			n = "image " + strconv.FormatInt(im.ID, 10)
		}
		named = append(named, ftNamed{key: strconv.FormatInt(im.ID, 10), rank: im.ID, name: n})
	}
	shown := ftUnique(named, nil)
	out := make(map[int64]string, len(photos))
	for _, im := range photos {
		out[im.ID] = shown[strconv.FormatInt(im.ID, 10)]
	}
	return out
}

// dayEntries lays a day out as entries (the folder first).
func (l *DailyLog) dayEntries(ctx context.Context, d *dlDay) ([]storage.Entry, error) {
	root := l.rootEntry().ID
	dirID := "dl:" + d.date
	var files []storage.Entry
	// Attachment names, unique in the day beside the PDFs.
	pdfNames := map[string]bool{}
	var named []ftNamed
	type att struct {
		a    procore.Attachment
		when time.Time
	}
	atts := map[string]att{}
	for _, t := range l.opts.Types {
		es := d.entries[t.Resource]
		if len(es) == 0 {
			continue
		}
		pdfNames[ftSafeName(t.Name)+".pdf"] = true
		for _, e := range es {
			for _, a := range e.Attachments {
				key := "dla:" + d.date + ":" + strconv.FormatInt(a.ID, 10)
				if _, dup := atts[key]; dup {
					continue
				}
				atts[key] = att{a, e.UpdatedAt.Time}
				named = append(named, ftNamed{key: key, rank: a.ID, name: ftSafeName(a.FileName())})
			}
		}
	}
	attNames := ftUnique(named, pdfNames)
	for _, t := range l.opts.Types {
		es := d.entries[t.Resource]
		if len(es) == 0 {
			continue
		}
		sortEntries(es)
		doc := DailyLogDocument(l.opts.Project, d.date, t, es, func(a procore.Attachment) string {
			return attNames["dla:"+d.date+":"+strconv.FormatInt(a.ID, 10)]
		})
		id := "dl:" + d.date + ":" + t.Resource
		v := l.pdfVersion(t, es, doc)
		size, err := l.pdfSize(v, doc)
		if err != nil {
			return nil, storage.NewError("list", ftJoin(d.date, ftSafeName(t.Name)+".pdf"), nil, err)
		}
		l.mu.Lock()
		l.docs[id] = dlCachedDoc{version: v, doc: doc}
		l.mu.Unlock()
		files = append(files, storage.Entry{ID: id, ParentID: dirID, Path: ftJoin(d.date, ftSafeName(t.Name)+".pdf"),
			Size: size, ModTime: doc.Generated, Version: v})
	}
	keys := slices.Sorted(maps.Keys(atts))
	for _, k := range keys {
		a := atts[k]
		p := ftJoin(d.date, attNames[k])
		size, err := l.attachmentSize(ctx, a.a)
		if err != nil {
			return nil, ftErr("list", p, err)
		}
		v := "att:" + strconv.FormatInt(a.a.ID, 10)
		l.remember(k, v, a.a.URL)
		files = append(files, storage.Entry{ID: k, ParentID: dirID, Path: p, Size: size, ModTime: a.when, Version: v})
	}
	var photoDir []storage.Entry
	if len(d.photos) > 0 {
		pid := "dlp:" + d.date
		names := dayPhotoNames(d.photos)
		var newest time.Time
		for _, im := range d.photos {
			v := strconv.FormatInt(im.ID, 10) + "@" + ftStamp(im.UpdatedAt.Time)
			id := "dli:" + strconv.FormatInt(im.ID, 10)
			l.remember(id, v, im.URL)
			files = append(files, storage.Entry{ID: id, ParentID: pid, Path: ftJoin(d.date, PhotosFolder, names[im.ID]),
				Size: im.Size, ModTime: im.UpdatedAt.Time, Version: v})
			if im.UpdatedAt.After(newest) {
				newest = im.UpdatedAt.Time
			}
		}
		photoDir = append(photoDir, storage.Entry{ID: pid, ParentID: dirID, Path: ftJoin(d.date, PhotosFolder), IsDir: true, ModTime: newest})
	}
	h := sha256.New()
	var newest time.Time
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", f.ID, f.Path, f.Version)
		if f.ModTime.After(newest) {
			newest = f.ModTime
		}
	}
	out := []storage.Entry{{ID: dirID, ParentID: root, Path: d.date, IsDir: true, ModTime: newest,
		Version: hex.EncodeToString(h.Sum(nil))[:32]}}
	out = append(out, photoDir...)
	return append(out, files...), nil
}

func (l *DailyLog) remember(id, version, url string) {
	l.mu.Lock()
	l.urls[id] = ftURL{version: version, url: url}
	l.mu.Unlock()
}

func sortEntries(es []procore.DailyLogEntry) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Position != es[j].Position {
			return es[i].Position < es[j].Position
		}
		return es[i].ID < es[j].ID
	})
}

// volatileKeys are left out of a PDF's Version: download URLs carry
// signatures that change from one read to the next.
var volatileKeys = map[string]bool{"url": true, "share_url": true, "viewable_url": true, "permissions": true}

// pdfVersion digests the day's entries of a type as sent (less download
// URLs), the attachments' stored names and RenderVersion.
func (l *DailyLog) pdfVersion(t procore.DailyLogType, es []procore.DailyLogEntry, doc recordpdf.Document) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", l.opts.RendererVersion, t.Resource)
	for _, e := range es {
		keys := make([]string, 0, len(e.Raw))
		for k := range e.Raw {
			if !volatileKeys[k] && k != "attachments" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			var buf bytes.Buffer
			if json.Compact(&buf, e.Raw[k]) != nil {
				buf.Reset()
				buf.Write(e.Raw[k])
			}
			fmt.Fprintf(h, "%s=%s\x00", k, buf.Bytes())
		}
		for _, a := range e.Attachments {
			fmt.Fprintf(h, "att=%d\x00", a.ID)
		}
		h.Write([]byte{'\n'})
	}
	fmt.Fprintf(h, "%q\x00%s", doc.Attachments, doc.Project)
	return "dl1:" + hex.EncodeToString(h.Sum(nil))[:40]
}

// pdfSize renders doc (unless its Version's size is known) for its size.
func (l *DailyLog) pdfSize(version string, doc recordpdf.Document) (int64, error) {
	l.mu.Lock()
	n, ok := l.sizes[version]
	l.mu.Unlock()
	if ok {
		return n, nil
	}
	b, err := l.render(doc)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.sizes[version] = int64(len(b))
	l.mu.Unlock()
	return int64(len(b)), nil
}

func (l *DailyLog) render(doc recordpdf.Document) ([]byte, error) {
	if l.opts.Renderer == nil {
		return nil, ErrNoRenderer
	}
	return l.opts.Renderer(doc)
}

// attachmentSize returns an attachment's size (read once, by ID).
func (l *DailyLog) attachmentSize(ctx context.Context, a procore.Attachment) (int64, error) {
	key := "att:" + strconv.FormatInt(a.ID, 10)
	l.mu.Lock()
	n, ok := l.sizes[key]
	l.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := ftDownloadSize(ctx, l.c, a.URL)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.sizes[key] = n
	l.mu.Unlock()
	return n, nil
}

// entriesOf reads [from, to] and lays every day out, in date order.
func (l *DailyLog) entriesOf(ctx context.Context, from, to time.Time) ([]storage.Entry, error) {
	es, _, err := l.entriesSig(ctx, from, to)
	return es, err
}

// entriesSig is entriesOf with the window's signature.
func (l *DailyLog) entriesSig(ctx context.Context, from, to time.Time) ([]storage.Entry, string, error) {
	days, sig, err := l.readDays(ctx, from, to)
	if err != nil {
		return nil, "", err
	}
	dates := slices.Sorted(maps.Keys(days))
	var out []storage.Entry
	for _, d := range dates {
		es, err := l.dayEntries(ctx, days[d])
		if err != nil {
			return nil, "", err
		}
		out = append(out, es...)
	}
	return out, sig, nil
}

// List reads every day from Start to today.
func (l *DailyLog) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		from, err := l.start()
		if err != nil {
			yield(storage.Entry{}, storage.NewError("list", "", nil, err))
			return
		}
		if l.opts.Renderer == nil {
			yield(storage.Entry{}, storage.NewError("list", "", nil, ErrNoRenderer))
			return
		}
		es, err := l.entriesOf(ctx, from, l.today())
		if err != nil {
			yield(storage.Entry{}, ftErr("list", "", err))
			return
		}
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Stat returns the entry at p: a day's folder and files are read with
// that day alone.
func (l *DailyLog) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return l.rootEntry(), nil
	}
	date, _, _ := strings.Cut(p, "/")
	d, err := procore.ParseLogDate(date)
	if err != nil {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, err)
	}
	es, err := l.entriesOf(ctx, d, d)
	if err != nil {
		return storage.Entry{}, ftErr("stat", p, err)
	}
	return ftStatPath("stat", p, l.rootEntry(), func(yield func(storage.Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	})
}

// Open prints a log type's PDF (from the Document last listed when the
// Version matches, else after reading the day again) or downloads an
// attachment or photo from the file host.
func (l *DailyLog) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	if strings.HasPrefix(e.ID, "dl:") {
		l.mu.Lock()
		cached, ok := l.docs[e.ID]
		l.mu.Unlock()
		if !ok || cached.version != e.Version {
			cur, err := l.fresh(ctx, e)
			if err != nil {
				return nil, err
			}
			l.mu.Lock()
			cached, ok = l.docs[cur.ID]
			l.mu.Unlock()
			if !ok {
				return nil, storage.NewError("open", e.Path, storage.ErrNotFound, nil)
			}
		}
		b, err := l.render(cached.doc)
		if err != nil {
			return nil, storage.NewError("open", e.Path, nil, err)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	l.mu.Lock()
	cached, ok := l.urls[e.ID]
	l.mu.Unlock()
	if ok && cached.version == e.Version && cached.url != "" {
		rc, err := l.c.Download(ctx, cached.url, 0)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	cur, err := l.fresh(ctx, e)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	cached = l.urls[cur.ID]
	l.mu.Unlock()
	rc, err := l.c.Download(ctx, cached.url, 0)
	if err != nil {
		return nil, ftErr("open", e.Path, err)
	}
	return rc, nil
}

// fresh reads e's day again and returns e as it is now.
func (l *DailyLog) fresh(ctx context.Context, e storage.Entry) (storage.Entry, error) {
	date, _, _ := strings.Cut(e.Path, "/")
	d, err := procore.ParseLogDate(date)
	if err != nil {
		return storage.Entry{}, storage.NewError("open", e.Path, storage.ErrNotFound, err)
	}
	es, err := l.entriesOf(ctx, d, d)
	if err != nil {
		return storage.Entry{}, ftErr("open", e.Path, err)
	}
	for _, x := range es {
		if x.ID == e.ID {
			return x, nil
		}
	}
	return storage.Entry{}, storage.NewError("open", e.Path, storage.ErrNotFound, nil)
}

// dlCursor is the look-back window as last seen: each item's path and
// Version.
type dlCursor struct {
	Items map[string]dlSeen `json:"items"` // entry ID → what was seen
	Sig   string            `json:"sig,omitempty"`
	Full  time.Time         `json:"full"`  // when the window was last read in full
	Today string            `json:"today"` // the window's last day
}

type dlSeen struct {
	Path    string `json:"p"`
	Version string `json:"v"`
	Dir     bool   `json:"d,omitempty"`
}

// windowDays is the look-back window.
func (l *DailyLog) windowDays() (from, to time.Time) {
	to = l.today()
	from = to.AddDate(0, 0, -(l.opts.LookBack - 1))
	if s, err := l.start(); err == nil && s.After(from) {
		from = s
	}
	return from, to
}

func (l *DailyLog) window(ctx context.Context) (map[string]storage.Entry, string, error) {
	from, to := l.windowDays()
	es, sig, err := l.entriesSig(ctx, from, to)
	if err != nil {
		return nil, "", err
	}
	out := make(map[string]storage.Entry, len(es))
	for _, e := range es {
		out[e.ID] = e
	}
	return out, sig, nil
}

func (l *DailyLog) encodeCursor(items map[string]storage.Entry, sig string) string {
	c := dlCursor{Items: make(map[string]dlSeen, len(items)), Sig: sig, Full: l.opts.Now().UTC(),
		Today: l.today().Format(procore.DateLayout)}
	for id, e := range items {
		c.Items[id] = dlSeen{Path: e.Path, Version: e.Version, Dir: e.IsDir}
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// LatestCursor reads the look-back window (see Changes for its cost).
func (l *DailyLog) LatestCursor(ctx context.Context) (string, error) {
	if l.opts.Renderer == nil {
		return "", storage.NewError("cursor", "", nil, ErrNoRenderer)
	}
	items, sig, err := l.window(ctx)
	if err != nil {
		return "", ftErr("cursor", "", err)
	}
	return l.encodeCursor(items, sig), nil
}

// Changes re-reads the last LookBack days and reports every item that is
// new, changed or gone since the cursor. Days that have left the window
// are forgotten without a report. An idle check costs one daily_logs/count
// call, one list call per log type that has entries in the window, and
// one images call; with EditCheckInterval, two calls (counts and images)
// between the interval's full reads.
func (l *DailyLog) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	var cur dlCursor
	if err := json.Unmarshal([]byte(cursor), &cur); err != nil || cur.Items == nil {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("malformed daily log cursor"))
	}
	if l.opts.EditCheckInterval > 0 && cur.Sig != "" && cur.Today == l.today().Format(procore.DateLayout) &&
		l.opts.Now().Sub(cur.Full) < l.opts.EditCheckInterval {
		from, to := l.windowDays()
		sig, err := l.quickSig(ctx, from, to)
		if err != nil {
			return nil, "", ftErr("changes", "", err)
		}
		if sig == cur.Sig {
			return nil, cursor, nil
		}
	}
	items, sig, err := l.window(ctx)
	if err != nil {
		return nil, "", ftErr("changes", "", err)
	}
	oldest := l.today().AddDate(0, 0, -(l.opts.LookBack - 1)).Format(procore.DateLayout)
	var out []storage.Change
	ids := slices.Sorted(maps.Keys(items))
	for _, id := range ids {
		e := items[id]
		if seen, ok := cur.Items[id]; ok && seen.Version == e.Version && seen.Path == e.Path {
			continue
		}
		out = append(out, storage.Change{Entry: e})
	}
	gone := make([]string, 0)
	for id, seen := range cur.Items {
		if _, ok := items[id]; ok {
			continue
		}
		date, _, _ := strings.Cut(seen.Path, "/")
		if date < oldest {
			continue // aged out of the window: only a full listing looks again
		}
		gone = append(gone, id)
	}
	sort.Strings(gone)
	for _, id := range gone {
		seen := cur.Items[id]
		out = append(out, storage.Change{Entry: storage.Entry{ID: id, Path: seen.Path, IsDir: seen.Dir}, Deleted: true})
	}
	return out, l.encodeCursor(items, sig), nil
}

package procore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/storage"
)

// DocumentsOptions tune a DocumentsStorage.
type DocumentsOptions struct {
	// RootFolderID roots the Storage at that folder (0: the tool's root
	// folder).
	RootFolderID int64
	// PerPage is the page size for the /documents index (default 2000,
	// the largest size Procore currently recommends).
	PerPage int
	// Overlap is how far back a change-feed query reaches before its
	// cursor, to absorb clock skew and same-second updates (default 2 min).
	Overlap time.Duration
	// ChunkThreshold is the size from which Put uses a segmented upload
	// (default 100 MiB; smaller files go in one presigned POST). Segmented
	// uploads report their state after every segment
	// (PutOptions.OnUploadState) and resume after a restart (ResumeUpload).
	ChunkThreshold int64
	// SegmentSize is the segment size of segmented uploads (default 16 MiB,
	// at least MinSegmentSize; larger when a file would need more than
	// MaxSegments segments).
	SegmentSize int64
	// SpoolDir is where Put keeps a large file that arrives as a plain
	// stream while it is uploaded (default os.TempDir()): Procore wants
	// every segment's SHA-256 before the first byte is sent, so a stream
	// is read once to a temporary file, hashed on the way, and sent from
	// there. The file is removed when Put returns.
	SpoolDir string
}

// DocumentsStorage exposes a project's or a company's Documents tool (or a
// folder of it) as a storage.Storage, with a ChangeFeed built on the
// /documents index's filters[updated_at] and a Watcher woken by Notify
// (the webhook receiver calls it).
//
// It also implements storage.IDStater (StatID) and storage.SubtreeLister
// (ListUnder), with which a caller confirms that an item missing from a
// listing is really gone.
//
// Entry.ID is the folder or file id; Version is "v<file version id>" for
// files and the updated_at stamp for folders. Procore exposes no content
// hashes. Put over an existing file adds a file version, which is how a
// conflict loser is kept.
type DocumentsStorage struct {
	c    *Client
	sc   Scope
	opts DocumentsOptions

	mu       sync.Mutex
	rootID   int64
	toolRoot int64
	rootPath string            // the root's path below the tool root ("" for the tool root)
	folders  map[int64]dirInfo // folder id → parent and name, learned from listings
	urls     map[string]cachedURL
	wake     wake.Broadcaster
}

// cachedURL is a file's current download URL as last listed, so that Open
// needs no extra call when the entry's version is the one listed.
type cachedURL struct{ version, url string }

// remember caches e's download URL.
func (d *DocumentsStorage) remember(e storage.Entry, url string) {
	if e.IsDir || url == "" || e.Version == "" {
		return
	}
	d.mu.Lock()
	d.urls[e.ID] = cachedURL{version: e.Version, url: url}
	d.mu.Unlock()
}

func docURL(doc *Document) string {
	if doc.File != nil && doc.File.CurrentVersion != nil {
		return doc.File.CurrentVersion.URL
	}
	return ""
}

func fileURL(f *File) string {
	if v := f.CurrentVersion(); v != nil {
		return v.URL
	}
	return ""
}

type dirInfo struct {
	parent int64
	name   string
}

// NewProjectDocuments returns the Documents tool of project projectID.
func NewProjectDocuments(c *Client, projectID int64, opts *DocumentsOptions) *DocumentsStorage {
	return newDocuments(c, ProjectScope(projectID), opts)
}

// NewCompanyDocuments returns the company-level Documents tool of the
// client's company.
func NewCompanyDocuments(c *Client, opts *DocumentsOptions) *DocumentsStorage {
	return newDocuments(c, CompanyScope(c.CompanyID), opts)
}

func newDocuments(c *Client, sc Scope, opts *DocumentsOptions) *DocumentsStorage {
	o := DocumentsOptions{}
	if opts != nil {
		o = *opts
	}
	if o.PerPage <= 0 {
		o.PerPage = 2000
	}
	if o.Overlap <= 0 {
		o.Overlap = 2 * time.Minute
	}
	if o.ChunkThreshold <= 0 {
		o.ChunkThreshold = 100 << 20
	}
	if o.SegmentSize < MinSegmentSize {
		o.SegmentSize = 16 << 20
	}
	return &DocumentsStorage{c: c, sc: sc, opts: o, folders: map[int64]dirInfo{}, urls: map[string]cachedURL{}}
}

var (
	_ storage.Storage       = (*DocumentsStorage)(nil)
	_ storage.ChangeFeed    = (*DocumentsStorage)(nil)
	_ storage.Watcher       = (*DocumentsStorage)(nil)
	_ storage.RangeOpener   = (*DocumentsStorage)(nil)
	_ storage.IDStater      = (*DocumentsStorage)(nil)
	_ storage.SubtreeLister = (*DocumentsStorage)(nil)
)

// DocumentNameRules are the names Procore Documents accepts: without the
// characters that Procore sync products replace (`# % * : < > ? / \ | ~ "`),
// control characters, leading or trailing spaces, or whitespace before the
// extension ("report .pdf"); names of at most 255 characters in paths of
// at most 255 characters (counted below the tool's root folder, with the
// Storage root's own path when it is a subfolder: Put, MakeDir and Move
// refuse longer paths with ErrInvalidName before calling Procore). Names
// compare without regard to case.
var DocumentNameRules = storage.NameRules{
	InvalidChars:     storage.DefaultInvalidChars,
	NoControlChars:   true,
	NoLeadingSpace:   true,
	NoTrailingSpace:  true,
	NoSpaceBeforeExt: true,
	MaxNameLength:    255,
	MaxPathLength:    255,
	CaseInsensitive:  true,
	Normalization:    storage.NormNFC,
}

// checkPath refuses a new item name in parent when its path, counted from
// the tool's root folder, would exceed DocumentNameRules.MaxPathLength.
func (d *DocumentsStorage) checkPath(ctx context.Context, op string, parent storage.Entry, name string) error {
	p := joinPath(parent.Path, name)
	if err := DocumentNameRules.Validate(name); err != nil {
		return storage.NewError(op, p, storage.ErrInvalidName, err)
	}
	if _, err := d.root(ctx); err != nil {
		return mapErr(op, p, err)
	}
	d.mu.Lock()
	full := joinPath(d.rootPath, p)
	d.mu.Unlock()
	// Procore's 255-character limit is taken to count the path below the
	// tool root, unconfirmed against a live tenant (POST /rest/v1.0/files).
	if n := utf8.RuneCountInString(full); n > DocumentNameRules.MaxPathLength {
		return storage.NewError(op, p, storage.ErrInvalidName,
			storage.InvalidName(full, fmt.Sprintf("path of %d characters, longer than %d", n, DocumentNameRules.MaxPathLength)))
	}
	return nil
}

// Features describes Procore Documents.
func (d *DocumentsStorage) Features() storage.Features {
	return storage.Features{
		Names:            DocumentNameRules,
		VersionHistory:   true,
		RecycleBin:       true,
		ModTimePrecision: time.Millisecond,
		Upload: storage.UploadConstraints{ChunkThreshold: d.opts.ChunkThreshold, MinChunk: MinSegmentSize,
			MaxChunk: 5 << 30},
	}
}

// mapErr turns client errors into storage errors for op on p.
func mapErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return storage.NewError(op, p, storage.ErrThrottled, storage.Throttled(rl.RetryAfter, err))
	}
	for _, k := range []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrPermissionDenied,
		storage.ErrTooLarge, storage.ErrThrottled, storage.ErrInvalidName} {
		if errors.Is(err, k) {
			return storage.NewError(op, p, k, err)
		}
	}
	var er *ErrorResponse
	if errors.As(err, &er) && er.StatusCode == http.StatusUnprocessableEntity && len(er.Errors["name"]) > 0 {
		return storage.NewError(op, p, storage.ErrInvalidName, err)
	}
	return storage.NewError(op, p, nil, err)
}

// root resolves the root folder id (once).
func (d *DocumentsStorage) root(ctx context.Context) (int64, error) {
	d.mu.Lock()
	id := d.rootID
	d.mu.Unlock()
	if id != 0 {
		return id, nil
	}
	tool, _, err := d.c.Folders.Root(ctx, d.sc, &FolderOptions{ExcludeFiles: true, ExcludeFolders: true})
	if err != nil {
		return 0, err
	}
	rootPath := ""
	if id := d.opts.RootFolderID; id != 0 && id != tool.ID {
		d.mu.Lock()
		d.toolRoot = tool.ID
		d.mu.Unlock()
		f, _, err := d.c.Folders.Get(ctx, d.sc, id, &FolderOptions{ExcludeFiles: true, ExcludeFolders: true})
		if err != nil {
			return 0, err
		}
		p, inside, err := d.pathOf(ctx, tool.ID, f.ParentID, f.Name, true)
		if err != nil {
			return 0, err
		}
		if !inside || f.IsDeleted || f.IsRecycleBin {
			return 0, storage.NewError("root", "", storage.ErrNotFound, fmt.Errorf("folder %d is not in the tool", id))
		}
		rootPath = p
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toolRoot = tool.ID
	d.rootID = tool.ID
	d.rootPath = rootPath
	if d.opts.RootFolderID != 0 {
		d.rootID = d.opts.RootFolderID
	}
	return d.rootID, nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func folderEntry(f *Folder, p string) storage.Entry {
	return storage.Entry{ID: itoa(f.ID), ParentID: itoa(f.ParentID), Path: p, IsDir: true,
		ModTime: f.UpdatedAt.Time, Version: f.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

func fileEntry(f *File, p string) storage.Entry {
	e := storage.Entry{ID: itoa(f.ID), ParentID: itoa(f.ParentID), Path: p, Size: f.Size, ModTime: f.UpdatedAt.Time}
	if v := f.CurrentVersion(); v != nil {
		e.Version = "v" + itoa(v.ID)
		e.Size = v.Size
		e.ModTime = v.CreatedAt.Time
		if v.CreatedBy != nil {
			e.ModifiedBy = v.CreatedBy.Name
		}
	}
	return e
}

func documentEntry(doc *Document, p string) storage.Entry {
	e := storage.Entry{ID: itoa(doc.ID), ParentID: itoa(doc.ParentID), Path: p, IsDir: doc.IsFolder(),
		ModTime: doc.UpdatedAt.Time}
	if doc.CreatedBy != nil {
		e.CreatedBy = doc.CreatedBy.Name
	}
	if e.IsDir {
		e.Version = doc.UpdatedAt.UTC().Format(time.RFC3339Nano)
		return e
	}
	if doc.File != nil && doc.File.CurrentVersion != nil {
		v := doc.File.CurrentVersion
		e.Version = "v" + itoa(v.ID)
		e.Size = v.Size
		e.ModTime = v.CreatedAt.Time
		if v.CreatedBy != nil {
			e.ModifiedBy = v.CreatedBy.Name
		}
	}
	return e
}

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("stop")

// maxScanCalls bounds one scan of the index (with MaxPages it makes every
// listing finite).
const maxScanCalls = MaxPages

// maxScanRestarts is how often a scan re-reads a range whose Total changed
// between its pages before it gives up with ErrListingUnstable.
const maxScanRestarts = 20

// ErrListingUnstable is matched by the error of a listing that kept
// shifting (items added or removed between its pages) even after being
// re-read maxScanRestarts times.
var ErrListingUnstable = errors.New("procore: the documents index kept changing while it was read")

// scan reads the /documents index (view=extended, which carries the file
// object) with base's filters and calls fn once per item ID.
//
// The index is paged by offset, so an item deleted (or added) during a
// listing would shift later items across a page boundary and one would be
// missed. scan therefore sorts by updated_at and pages by time (keyset):
// each next request asks for filters[updated_at] from the last item's
// second on, so removals before that point shift nothing, and an item
// updated during the scan moves to the end, where it is read. Items of one
// second that fill a whole page are paged by offset, and a change of the
// Total header between such pages (an item removed or added) re-reads that
// range from its first page. Items seen twice are reported once. A server
// whose pages never end stops the scan with a *PaginationError.
func (d *DocumentsStorage) scan(ctx context.Context, base DocumentListOptions, fn func(doc *Document) error) (time.Time, error) {
	var served time.Time
	perPage := d.opts.PerPage
	from := base.UpdatedFrom
	if from.IsZero() {
		from = time.Unix(0, 0).UTC()
	}
	to := base.UpdatedTo
	if to.IsZero() {
		to = d.c.opts.Now().UTC().Add(24 * time.Hour)
	}
	from = from.UTC().Truncate(time.Second)
	seen := map[int64]bool{}
	// page and total are the offset page and Total within the current
	// range (from…to); read counts the items of the range read so far;
	// reread is set once the range was read again after a shift.
	page, total, read, restarts, reread := 1, -1, 0, 0, false
	var prevIDs []int64
	for calls := 1; ; calls++ {
		if calls > maxScanCalls {
			return served, &PaginationError{Path: d.sc.documentsPath(nil), Page: page, Reason: fmt.Sprintf("more than %d requests", maxScanCalls)}
		}
		// Keyset paging with filters[updated_at] over the whole index is unconfirmed against a live tenant (GET /rest/v1.0/projects/{project_id}/documents).
		o := base
		o.ListOptions = ListOptions{Page: page, PerPage: perPage}
		o.UpdatedFrom, o.UpdatedTo, o.Sort, o.View = from, to, "updated_at", "extended"
		list, resp, err := d.c.Documents.List(ctx, d.sc, &o)
		if err != nil {
			return served, err
		}
		if calls == 1 {
			served = d.serverNow(resp)
		}
		hasTotal := resp.Header.Get("Total") != ""
		if page > 1 && hasTotal && total >= 0 && resp.Total != total {
			// Items were added or removed in this range since its first
			// page: offsets moved, so read the range again.
			if restarts++; restarts > maxScanRestarts {
				return served, fmt.Errorf("%w (%s)", ErrListingUnstable, d.sc.documentsPath(nil))
			}
			page, total, read, reread = 1, -1, 0, true
			continue
		}
		if hasTotal {
			total = resp.Total
		}
		fresh := 0
		ids := make([]int64, len(list))
		for i := range list {
			ids[i] = list[i].ID
		}
		same := page > 1 && slices.Equal(ids, prevIDs)
		prevIDs = ids
		for i := range list {
			if seen[list[i].ID] {
				continue
			}
			seen[list[i].ID] = true
			fresh++
			if err := fn(&list[i]); err != nil {
				return served, err
			}
		}
		read += len(list)
		pp := perPage
		if resp.PerPage > 0 {
			pp = resp.PerPage // the server may cap per_page
		}
		switch {
		case len(list) == 0:
			return served, nil
		case hasTotal && read >= resp.Total:
			return served, nil
		case !hasTotal && len(list) < pp:
			return served, nil
		case same && !reread:
			// Offset pages of a stable range never repeat the previous
			// page exactly: the server ignores the page parameter. (A page
			// of items seen before is otherwise possible: the keyset ranges
			// overlap by a second.)
			return served, &PaginationError{Path: resp.Request.URL.Path, Page: page, Reason: "a page with nothing new"}
		}
		// Advance by time when the page reaches past the range's start:
		// the next range starts one second before the last item's second
		// (whether Procore's range start is inclusive is unconfirmed, so
		// a second of overlap; repeats are skipped). Otherwise page on by
		// offset within the range.
		next := list[len(list)-1].UpdatedAt.UTC().Truncate(time.Second).Add(-time.Second)
		if next.After(from) {
			from, page, total, read, reread = next, 1, -1, 0, false
		} else {
			page++
		}
		if err := ctx.Err(); err != nil {
			return served, err
		}
	}
}

// List reads the flat /documents index (see scan): folders first, which it
// keeps to build paths from parent ids, then files, which it yields page by
// page as they arrive (memory grows with the number of folders, not of
// files).
func (d *DocumentsStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		rootID, err := d.root(ctx)
		if err != nil {
			yield(storage.Entry{}, mapErr("list", "", err))
			return
		}
		d.listUnder(ctx, rootID, rootID != d.toolRootID(), "list", yield)
	}
}

// ListUnder yields everything below folder dir (the index's
// filters[folder_id], which returns the folder itself and its subtree).
// A dir that is gone, in the recycle bin or outside the root gives
// ErrNotFound.
func (d *DocumentsStorage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		rootID, err := d.root(ctx)
		if err != nil {
			yield(storage.Entry{}, mapErr("list", dir.Path, err))
			return
		}
		if !dir.IsDir {
			yield(storage.Entry{}, storage.NewError("list", dir.Path, storage.ErrNotDir, nil))
			return
		}
		id := rootID
		if dir.Path != "" || dir.ID != "" {
			if id, err = parseID("list", dir); err != nil {
				yield(storage.Entry{}, err)
				return
			}
		}
		if id != rootID {
			if _, inside, err := d.pathOf(ctx, rootID, id, "", true); err != nil || !inside {
				if err == nil {
					err = storage.NewError("list", dir.Path, storage.ErrNotFound, nil)
				}
				yield(storage.Entry{}, mapErr("list", dir.Path, err))
				return
			}
		}
		d.listUnder(ctx, id, id != d.toolRootID(), "list", yield)
	}
}

func (d *DocumentsStorage) toolRootID() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.toolRoot
}

// listUnder yields the items below folder dirID (filtered by folder_id
// when filter is set), with paths relative to the Storage root.
func (d *DocumentsStorage) listUnder(ctx context.Context, dirID int64, filter bool, op string, yield func(storage.Entry, error) bool) {
	rootID, err := d.root(ctx)
	if err != nil {
		yield(storage.Entry{}, mapErr(op, "", err))
		return
	}
	no := false
	base := DocumentListOptions{InRecycleBin: &no}
	if filter {
		base.FolderID = dirID
	}
	// Pass 1: the folders.
	base.DocumentType = "folder"
	var folders []Document
	found := !filter
	_, err = d.scan(ctx, base, func(doc *Document) error {
		if doc.ID == dirID {
			found = !doc.IsDeleted && !doc.IsRecycleBin
			return nil
		}
		if doc.IsDeleted || doc.IsRecycleBin || doc.ID == rootID || !doc.IsFolder() {
			return nil
		}
		folders = append(folders, *doc)
		return nil
	})
	if err != nil {
		yield(storage.Entry{}, mapErr(op, "", err))
		return
	}
	if !found {
		// filters[folder_id] is documented to return the folder itself;
		// should it not, ask for the folder (GET /rest/v1.0/folders/{id}).
		f, _, err := d.c.Folders.Get(ctx, d.sc, dirID, &FolderOptions{ExcludeFiles: true, ExcludeFolders: true})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			yield(storage.Entry{}, mapErr(op, "", err))
			return
		}
		if err != nil || f.IsDeleted || f.IsRecycleBin {
			yield(storage.Entry{}, storage.NewError(op, "", storage.ErrNotFound, err))
			return
		}
	}
	d.mu.Lock()
	for _, doc := range folders {
		d.folders[doc.ID] = dirInfo{parent: doc.ParentID, name: doc.Name}
	}
	d.mu.Unlock()
	yielded := map[int64]bool{}
	for i := range folders {
		p, inside, err := d.pathOf(ctx, rootID, folders[i].ParentID, folders[i].Name, false)
		if err != nil {
			yield(storage.Entry{}, mapErr(op, "", err))
			return
		}
		if !inside {
			continue
		}
		yielded[folders[i].ID] = true
		if !yield(documentEntry(&folders[i], p), nil) {
			return
		}
	}
	folders = nil
	// Pass 2: the files, streamed.
	base.DocumentType = "file"
	stopped := false
	_, err = d.scan(ctx, base, func(doc *Document) error {
		if doc.IsDeleted || doc.IsFolder() {
			return nil
		}
		var learned []Folder
		p, inside, err := d.pathOfLearning(ctx, rootID, doc.ParentID, doc.Name, &learned)
		if err != nil {
			return err
		}
		if !inside {
			return nil
		}
		// A folder created after pass 1 is yielded before its first file.
		for i := len(learned) - 1; i >= 0; i-- {
			f := &learned[i]
			if yielded[f.ID] {
				continue
			}
			fp, ok, err := d.pathOf(ctx, rootID, f.ParentID, f.Name, false)
			if err != nil {
				return err
			}
			if ok {
				yielded[f.ID] = true
				if !yield(folderEntry(f, fp), nil) {
					stopped = true
					return errStopScan
				}
			}
		}
		e := documentEntry(doc, p)
		d.remember(e, docURL(doc))
		if !yield(e, nil) {
			stopped = true
			return errStopScan
		}
		return nil
	})
	if err != nil && !stopped {
		yield(storage.Entry{}, mapErr(op, "", err))
	}
}

// StatID returns the folder or file with that id as it is now (GET
// /files/{id}, else GET /folders/{id}); items in the recycle bin or outside
// the root give ErrNotFound.
func (d *DocumentsStorage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, fmt.Errorf("bad id %q", id))
	}
	rootID, err := d.root(ctx)
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	if n == rootID {
		return d.Stat(ctx, "")
	}
	notFound := storage.NewError("stat", "", storage.ErrNotFound, fmt.Errorf("no item %s below the root", id))
	// Procore numbers files and folders in separate tables: a file id is
	// tried first, then a folder id (GET /rest/v1.0/files/{id}, /folders/{id}).
	f, _, err := d.c.Files.Get(ctx, d.sc, n)
	if err == nil {
		if f.IsDeleted {
			return storage.Entry{}, notFound
		}
		p, inside, err := d.pathOf(ctx, rootID, f.ParentID, f.Name, true)
		if err != nil {
			return storage.Entry{}, mapErr("stat", "", err)
		}
		if !inside {
			return storage.Entry{}, notFound
		}
		e := fileEntry(f, p)
		d.remember(e, fileURL(f))
		return e, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	fo, _, err := d.c.Folders.Get(ctx, d.sc, n, &FolderOptions{ExcludeFiles: true, ExcludeFolders: true})
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, notFound
	}
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	if fo.IsDeleted || fo.IsRecycleBin {
		return storage.Entry{}, notFound
	}
	p, inside, err := d.pathOf(ctx, rootID, fo.ParentID, fo.Name, true)
	if err != nil {
		return storage.Entry{}, mapErr("stat", "", err)
	}
	if !inside {
		return storage.Entry{}, notFound
	}
	d.mu.Lock()
	d.folders[fo.ID] = dirInfo{parent: fo.ParentID, name: fo.Name}
	d.mu.Unlock()
	return folderEntry(fo, p), nil
}

// pathOf builds the path of an item named name in folder parent, relative
// to rootID, from the folder cache; unknown ancestors are fetched (and
// cached) when fetch is true. inside is false when the chain does not reach
// rootID.
func (d *DocumentsStorage) pathOf(ctx context.Context, rootID, parent int64, name string, fetch bool) (string, bool, error) {
	if fetch {
		return d.pathOfLearning(ctx, rootID, parent, name, new([]Folder))
	}
	return d.pathOfLearning(ctx, rootID, parent, name, nil)
}

// pathOfLearning is pathOf that fetches unknown ancestors when learned is
// not nil, and appends the folders it fetched to *learned (nearest first).
func (d *DocumentsStorage) pathOfLearning(ctx context.Context, rootID, parent int64, name string, learned *[]Folder) (string, bool, error) {
	fetch := learned != nil
	parts := []string{name}
	for id, hops := parent, 0; ; hops++ {
		if id == rootID {
			break
		}
		if id == 0 || hops > 1000 {
			return "", false, nil
		}
		d.mu.Lock()
		info, ok := d.folders[id]
		tool := d.toolRoot
		d.mu.Unlock()
		if id == tool {
			return "", false, nil
		}
		if !ok {
			if !fetch {
				return "", false, nil
			}
			f, _, err := d.c.Folders.Get(ctx, d.sc, id, &FolderOptions{ExcludeFiles: true, ExcludeFolders: true})
			if errors.Is(err, storage.ErrNotFound) {
				return "", false, nil
			}
			if err != nil {
				return "", false, err
			}
			if f.IsDeleted || f.IsRecycleBin {
				return "", false, nil
			}
			info = dirInfo{parent: f.ParentID, name: f.Name}
			*learned = append(*learned, *f)
			d.mu.Lock()
			d.folders[id] = info
			d.mu.Unlock()
		}
		parts = append(parts, info.name)
		id = info.parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/"), true, nil
}

// Stat walks the path one folder listing per segment.
func (d *DocumentsStorage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	rootID, err := d.root(ctx)
	if err != nil {
		return storage.Entry{}, mapErr("stat", p, err)
	}
	f, _, err := d.c.Folders.Get(ctx, d.sc, rootID, &FolderOptions{LatestVersionOnly: true})
	if err != nil {
		return storage.Entry{}, mapErr("stat", p, err)
	}
	if f.IsDeleted || f.IsRecycleBin {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
	}
	if p == "" {
		e := folderEntry(f, "")
		e.ParentID = ""
		return e, nil
	}
	segs := strings.Split(p, "/")
	cur := ""
	for i, seg := range segs {
		last := i == len(segs)-1
		var next *Folder
		for j := range f.Folders {
			if sameName(f.Folders[j].Name, seg) {
				next = &f.Folders[j]
			}
		}
		if next == nil && last {
			for j := range f.Files {
				if sameName(f.Files[j].Name, seg) && !f.Files[j].IsDeleted {
					e := fileEntry(&f.Files[j], joinPath(cur, f.Files[j].Name))
					d.remember(e, fileURL(&f.Files[j]))
					return e, nil
				}
			}
		}
		if next == nil || next.IsRecycleBin {
			return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
		}
		cur = joinPath(cur, next.Name)
		d.mu.Lock()
		d.folders[next.ID] = dirInfo{parent: next.ParentID, name: next.Name}
		d.mu.Unlock()
		if last {
			return folderEntry(next, cur), nil
		}
		if f, _, err = d.c.Folders.Get(ctx, d.sc, next.ID, &FolderOptions{LatestVersionOnly: true}); err != nil {
			return storage.Entry{}, mapErr("stat", p, err)
		}
	}
	return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
}

func sameName(a, b string) bool {
	return DocumentNameRules.Key(a) == DocumentNameRules.Key(b)
}

func parseID(op string, e storage.Entry) (int64, error) {
	id, err := strconv.ParseInt(e.ID, 10, 64)
	if err != nil || id <= 0 {
		return 0, storage.NewError(op, e.Path, storage.ErrNotFound, fmt.Errorf("bad id %q", e.ID))
	}
	return id, nil
}

// Open downloads the file's current version. When the entry's version is
// the one last listed, the listed URL is used: no API call, one call on
// the Procore file host, which redirects to the storage host. Otherwise,
// or when the listed URL fails (it may have expired), the file is read
// first (one API call). A file deleted in Procore since it was listed may
// still open from its listed URL.
func (d *DocumentsStorage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return d.OpenAt(ctx, e, 0)
}

// OpenAt opens the file's current version from offset.
func (d *DocumentsStorage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	id, err := parseID("open", e)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	cached, ok := d.urls[e.ID]
	d.mu.Unlock()
	if ok && cached.version == e.Version && e.Version != "" {
		if e.Size == 0 || (offset > 0 && offset >= e.Size) {
			return io.NopCloser(strings.NewReader("")), nil
		}
		rc, err := d.c.Download(ctx, cached.url, offset)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The URL may have expired or the file changed: look it up again.
		d.mu.Lock()
		delete(d.urls, e.ID)
		d.mu.Unlock()
	}
	f, _, err := d.c.Files.Get(ctx, d.sc, id)
	if err != nil {
		return nil, mapErr("open", e.Path, err)
	}
	v := f.CurrentVersion()
	if f.IsDeleted || v == nil {
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, nil)
	}
	if v.Size == 0 || (offset > 0 && offset >= v.Size) {
		return io.NopCloser(strings.NewReader("")), nil
	}
	rc, err := d.c.Download(ctx, v.URL, offset)
	if err != nil {
		return nil, mapErr("open", e.Path, err)
	}
	return rc, nil
}

// Put uploads a new file, or a new version of the file of that name. A new
// small file costs two API calls (upload, file creation).
func (d *DocumentsStorage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	p := joinPath(parent.Path, name)
	if err := d.checkPath(ctx, "put", parent, name); err != nil {
		return storage.Entry{}, err
	}
	if !parent.IsDir {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotDir, nil)
	}
	parentID, err := parseID("put", parent)
	if err != nil {
		return storage.Entry{}, err
	}
	var existing *File
	if opt.ExpectedVersion != "" {
		// Procore has no conditional write: check as closely as we can.
		f, err := d.child(ctx, parentID, name)
		if err != nil {
			return storage.Entry{}, mapErr("put", p, err)
		}
		if f == nil || f.file == nil || fileEntry(f.file, "").Version != opt.ExpectedVersion {
			return storage.Entry{}, storage.NewError("put", p, storage.ErrPreconditionFailed, nil)
		}
		existing = f.file
	}
	if size < 0 {
		// Unknown size: spool the stream to a temporary file first, so
		// that memory stays bounded and the size is known.
		f, n, err := d.spool(ctx, r)
		if err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		defer func() {
			f.Close()
			os.Remove(f.Name())
		}()
		r, size = io.NewSectionReader(f, 0, n), n
	}
	d.mu.Lock()
	threshold := d.opts.ChunkThreshold
	d.mu.Unlock()
	if size >= threshold && size > MinSegmentSize {
		if ra, ok := r.(io.ReaderAt); ok {
			if err := checkReaderAtSize(ra, size); err != nil {
				return storage.Entry{}, storage.NewError("put", p, nil, err)
			}
			return d.putSegmented(ctx, parent, parentID, name, ra, size, opt, existing, nil)
		}
		return d.putSpooled(ctx, parent, parentID, name, r, size, opt, existing)
	}
	uuid, err := d.c.Uploads.Send(ctx, d.sc, name, "", r, size)
	if err != nil {
		if errors.Is(err, ErrShortBody) {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		return storage.Entry{}, mapErr("put", p, err)
	}
	return d.associate(ctx, parent.Path, parentID, name, uuid, opt.NoOverwrite, existing)
}

// associate turns a completed upload into a new file in parentID, or a new
// version of existing (or of the file of that name, unless noOverwrite).
func (d *DocumentsStorage) associate(ctx context.Context, parentPath string, parentID int64, name, uuid string, noOverwrite bool, existing *File) (storage.Entry, error) {
	p := joinPath(parentPath, name)
	if existing == nil {
		f, _, err := d.c.Files.Create(ctx, d.sc, FileCreate{ParentID: parentID, Name: name, UploadUUID: uuid})
		if err == nil {
			e := fileEntry(f, joinPath(parentPath, f.Name))
			d.remember(e, fileURL(f))
			return e, nil
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Entry{}, mapErr("put", p, err)
		}
		if noOverwrite {
			return storage.Entry{}, storage.NewError("put", p, storage.ErrAlreadyExists, err)
		}
		c, cerr := d.child(ctx, parentID, name)
		if cerr != nil {
			return storage.Entry{}, mapErr("put", p, cerr)
		}
		switch {
		case c == nil:
			return storage.Entry{}, mapErr("put", p, err)
		case c.folder != nil:
			return storage.Entry{}, storage.NewError("put", p, storage.ErrIsDir, err)
		}
		existing = c.file
	}
	v, _, err := d.c.FileVersions.Create(ctx, d.sc, existing.ID, FileVersionCreate{UploadUUID: uuid})
	if err != nil {
		return storage.Entry{}, mapErr("put", p, err)
	}
	e := fileEntry(existing, joinPath(parentPath, existing.Name))
	e.Version, e.Size, e.ModTime = "v"+itoa(v.ID), v.Size, v.CreatedAt.Time
	d.remember(e, v.URL)
	return e, nil
}

type child struct {
	folder *Folder
	file   *File
}

// child finds the item named name in folder parentID (nil if none).
func (d *DocumentsStorage) child(ctx context.Context, parentID int64, name string) (*child, error) {
	f, _, err := d.c.Folders.Get(ctx, d.sc, parentID, &FolderOptions{LatestVersionOnly: true})
	if err != nil {
		return nil, err
	}
	for i := range f.Folders {
		if sameName(f.Folders[i].Name, name) {
			return &child{folder: &f.Folders[i]}, nil
		}
	}
	for i := range f.Files {
		if sameName(f.Files[i].Name, name) {
			return &child{file: &f.Files[i]}, nil
		}
	}
	return nil, nil
}

// MakeDir creates a folder; an existing folder of that name is returned
// with ErrAlreadyExists.
func (d *DocumentsStorage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	p := joinPath(parent.Path, name)
	if err := d.checkPath(ctx, "mkdir", parent, name); err != nil {
		return storage.Entry{}, err
	}
	if !parent.IsDir {
		return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrNotDir, nil)
	}
	parentID, err := parseID("mkdir", parent)
	if err != nil {
		return storage.Entry{}, err
	}
	f, _, err := d.c.Folders.Create(ctx, d.sc, FolderCreate{ParentID: parentID, Name: name})
	if err == nil {
		d.mu.Lock()
		d.folders[f.ID] = dirInfo{parent: f.ParentID, name: f.Name}
		d.mu.Unlock()
		return folderEntry(f, joinPath(parent.Path, f.Name)), nil
	}
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return storage.Entry{}, mapErr("mkdir", p, err)
	}
	c, cerr := d.child(ctx, parentID, name)
	if cerr != nil {
		return storage.Entry{}, mapErr("mkdir", p, cerr)
	}
	if c != nil && c.folder != nil {
		return folderEntry(c.folder, joinPath(parent.Path, c.folder.Name)), storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
	}
	return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
}

// Move renames and/or moves a folder or file (one PATCH).
func (d *DocumentsStorage) Move(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	np := joinPath(newParent.Path, newName)
	if err := d.checkPath(ctx, "move", newParent, newName); err != nil {
		return storage.Entry{}, err
	}
	if e.Path == "" {
		return storage.Entry{}, storage.NewError("move", e.Path, storage.ErrUnsupported, errors.New("cannot move the root"))
	}
	id, err := parseID("move", e)
	if err != nil {
		return storage.Entry{}, err
	}
	pid, err := parseID("move", newParent)
	if err != nil {
		return storage.Entry{}, err
	}
	if !newParent.IsDir {
		return storage.Entry{}, storage.NewError("move", np, storage.ErrNotDir, nil)
	}
	up := Update{ParentID: pid, Name: newName}
	if e.IsDir {
		f, _, err := d.c.Folders.Update(ctx, d.sc, id, up)
		if err != nil {
			return storage.Entry{}, mapErr("move", np, err)
		}
		d.mu.Lock()
		d.folders[f.ID] = dirInfo{parent: f.ParentID, name: f.Name}
		d.mu.Unlock()
		return folderEntry(f, joinPath(newParent.Path, f.Name)), nil
	}
	f, _, err := d.c.Files.Update(ctx, d.sc, id, up)
	if err != nil {
		return storage.Entry{}, mapErr("move", np, err)
	}
	e = fileEntry(f, joinPath(newParent.Path, f.Name))
	d.remember(e, fileURL(f))
	return e, nil
}

// Delete moves the item to Procore's recycle bin.
func (d *DocumentsStorage) Delete(ctx context.Context, e storage.Entry) error {
	id, err := parseID("delete", e)
	if err != nil {
		return err
	}
	if e.Path == "" {
		return storage.NewError("delete", "", storage.ErrUnsupported, errors.New("cannot delete the root"))
	}
	if e.IsDir {
		_, err = d.c.Folders.Delete(ctx, d.sc, id)
	} else {
		d.mu.Lock()
		delete(d.urls, e.ID)
		d.mu.Unlock()
		_, err = d.c.Files.Delete(ctx, d.sc, id)
	}
	return mapErr("delete", e.Path, err)
}

// ---- change feed ----

const cursorPrefix = "procore-docs-v1:"

// LatestCursor returns a cursor for now, taken from the server's clock
// (the Date header of one cheap index call).
func (d *DocumentsStorage) LatestCursor(ctx context.Context) (string, error) {
	if _, err := d.root(ctx); err != nil {
		return "", mapErr("changes", "", err)
	}
	_, resp, err := d.c.Documents.List(ctx, d.sc, &DocumentListOptions{ListOptions: ListOptions{PerPage: 1}, Sort: "-updated_at", View: "extended"})
	if err != nil {
		return "", mapErr("changes", "", err)
	}
	return cursorPrefix + d.serverNow(resp).Format(time.RFC3339Nano), nil
}

func (d *DocumentsStorage) serverNow(resp *Response) time.Time {
	if resp != nil {
		if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
			return t.UTC()
		}
	}
	return d.c.opts.Now().UTC()
}

// Changes lists what changed since cursor with the /documents index and
// filters[updated_at] (one call when nothing changed; see scan for the
// paging). The query reaches Overlap before the cursor to absorb index lag
// and same-second updates; the states already reported within that window
// are remembered in the cursor (up to 500; beyond that they are reported
// again, which is safe) and not reported again. A state is keyed on the
// item's id, updated_at, current file version, parent, name and
// recycle-bin flag, so two versions saved within one updated_at are both
// reported. Deletions: items in Procore's recycle bin carry
// is_deleted (and their updated_at moves when they are deleted), so the
// query deliberately includes the recycle bin and reports such items as
// deleted; an item moved out of the root is reported as deleted too.
// Items purged from the recycle bin were reported when they were deleted.
func (d *DocumentsStorage) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	since, seen, err := parseCursor(cursor)
	if err != nil {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, err)
	}
	rootID, err := d.root(ctx)
	if err != nil {
		return nil, "", mapErr("changes", "", err)
	}
	now := d.c.opts.Now().UTC()
	base := DocumentListOptions{UpdatedFrom: since.Add(-d.opts.Overlap), UpdatedTo: maxTime(now, since).Add(24 * time.Hour)}
	var docs []Document
	next, err := d.scan(ctx, base, func(doc *Document) error {
		docs = append(docs, *doc)
		return nil
	})
	if err != nil {
		return nil, "", mapErr("changes", "", err)
	}
	if next.Before(since) {
		next = since
	}
	// Learn renamed and moved folders first, so paths below them are right.
	d.mu.Lock()
	for _, doc := range docs {
		if doc.IsFolder() && !doc.IsDeleted && !doc.IsRecycleBin {
			d.folders[doc.ID] = dirInfo{parent: doc.ParentID, name: doc.Name}
		} else if doc.IsFolder() {
			delete(d.folders, doc.ID)
		}
	}
	d.mu.Unlock()
	var out []storage.Change
	remember := map[string]bool{}
	for i := range docs {
		doc := &docs[i]
		if doc.ID == rootID || doc.IsRecycleBin {
			continue
		}
		key := changeKey(doc)
		if !doc.UpdatedAt.Before(next.Add(-d.opts.Overlap)) {
			remember[key] = true
		}
		if seen[key] {
			continue
		}
		gone := storage.Change{Entry: storage.Entry{ID: itoa(doc.ID), IsDir: doc.IsFolder()}, Deleted: true}
		if doc.IsDeleted {
			out = append(out, gone)
			continue
		}
		p, inside, err := d.pathOf(ctx, rootID, doc.ParentID, doc.Name, true)
		if err != nil {
			return nil, "", mapErr("changes", "", err)
		}
		if !inside {
			out = append(out, gone)
			continue
		}
		e := documentEntry(doc, p)
		d.remember(e, docURL(doc))
		out = append(out, storage.Change{Entry: e})
	}
	return out, formatCursor(next, remember), nil
}

// changeKey identifies one state of an item for the change feed's
// overlap window: its id with a digest of everything a change can alter
// (updated_at, the current file version, parent, name, recycle-bin state).
// Two versions saved within one second (or one updated_at) differ by their
// file version id, so neither is skipped.
func changeKey(doc *Document) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d|%d|%s|%t|%s", doc.UpdatedAt.UnixNano(), doc.ParentID, doc.Name, doc.IsDeleted, doc.DocumentType)
	if doc.File != nil && doc.File.CurrentVersion != nil {
		fmt.Fprintf(h, "|v%d", doc.File.CurrentVersion.ID)
	}
	return itoa(doc.ID) + "@" + hex.EncodeToString(h.Sum(nil)[:6])
}

// A cursor is the server time of the last query and the items (id and
// updated_at) it saw within the overlap window.
func formatCursor(t time.Time, seen map[string]bool) string {
	c := cursorPrefix + t.UTC().Format(time.RFC3339Nano)
	if len(seen) > 0 && len(seen) <= 500 {
		keys := make([]string, 0, len(seen))
		for k := range seen {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c += "|" + strings.Join(keys, ",")
	}
	return c
}

func parseCursor(c string) (time.Time, map[string]bool, error) {
	raw, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return time.Time{}, nil, errors.New("unrecognised cursor")
	}
	ts, list, _ := strings.Cut(raw, "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, nil, errors.New("unrecognised cursor")
	}
	seen := map[string]bool{}
	if list != "" {
		for _, k := range strings.Split(list, ",") {
			seen[k] = true
		}
	}
	return t, seen, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// ---- watcher ----

// Watch returns a channel that receives a signal whenever Notify is
// called (by the webhook receiver, for this tool's project or company).
func (d *DocumentsStorage) Watch(ctx context.Context) (<-chan struct{}, error) {
	return d.wake.Watch(ctx), nil
}

// Notify wakes every watcher (coalesced: a pending signal absorbs more).
func (d *DocumentsStorage) Notify() { d.wake.Notify() }

// Scope returns the tool's scope (project or company).
func (d *DocumentsStorage) Scope() Scope { return d.sc }

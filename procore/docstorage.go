package procore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// when the reader is an io.ReaderAt (default 100 MiB; smaller files,
	// and readers that cannot be read twice, go in one presigned POST).
	ChunkThreshold int64
	// SegmentSize is the segment size of segmented uploads (default 16 MiB,
	// at least MinSegmentSize).
	SegmentSize int64
}

// DocumentsStorage exposes a project's or a company's Documents tool (or a
// folder of it) as a storage.Storage, with a ChangeFeed built on the
// /documents index's filters[updated_at] and a Watcher woken by Notify
// (the webhook receiver calls it).
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
	folders  map[int64]dirInfo // folder id → parent and name, learned from listings
	urls     map[string]cachedURL
	wake     wakers
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
	_ storage.Storage     = (*DocumentsStorage)(nil)
	_ storage.ChangeFeed  = (*DocumentsStorage)(nil)
	_ storage.Watcher     = (*DocumentsStorage)(nil)
	_ storage.RangeOpener = (*DocumentsStorage)(nil)
)

// DocumentNameRules are the names Procore Documents accepts: the research
// notes say Procore Documents already sanitises the characters that sync
// products replace (`# % * : < > ? / \ | ~ "`), so they are invalid here;
// names compare without regard to case (the fake's 409 on name clashes
// follows this; UNCERTAIN for the real service).
var DocumentNameRules = storage.NameRules{
	InvalidChars:    storage.DefaultInvalidChars,
	NoControlChars:  true,
	NoLeadingSpace:  true,
	NoTrailingSpace: true,
	MaxNameLength:   255,
	CaseInsensitive: true,
	Normalization:   storage.NormNFC,
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
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toolRoot = tool.ID
	d.rootID = tool.ID
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

// List reads the flat /documents index in large pages (one call per
// PerPage items) and rebuilds paths from parent ids.
func (d *DocumentsStorage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		rootID, err := d.root(ctx)
		if err != nil {
			yield(storage.Entry{}, mapErr("list", "", err))
			return
		}
		no := false
		opts := &DocumentListOptions{ListOptions: ListOptions{PerPage: d.opts.PerPage}, InRecycleBin: &no}
		if rootID != d.toolRoot {
			opts.FolderID = rootID
		}
		var docs []Document
		for doc, err := range d.c.Documents.All(ctx, d.sc, opts) {
			if err != nil {
				yield(storage.Entry{}, mapErr("list", "", err))
				return
			}
			if doc.IsDeleted || doc.IsRecycleBin || doc.ID == rootID {
				continue
			}
			docs = append(docs, doc)
		}
		d.mu.Lock()
		for _, doc := range docs {
			if doc.IsFolder() {
				d.folders[doc.ID] = dirInfo{parent: doc.ParentID, name: doc.Name}
			}
		}
		d.mu.Unlock()
		for i := range docs {
			p, inside, err := d.pathOf(ctx, rootID, docs[i].ParentID, docs[i].Name, false)
			if err != nil {
				yield(storage.Entry{}, mapErr("list", "", err))
				return
			}
			if !inside {
				continue
			}
			e := documentEntry(&docs[i], p)
			d.remember(e, docURL(&docs[i]))
			if !yield(e, nil) {
				return
			}
		}
	}
}

// pathOf builds the path of an item named name in folder parent, relative
// to rootID, from the folder cache; unknown ancestors are fetched (and
// cached) when fetch is true. inside is false when the chain does not reach
// rootID.
func (d *DocumentsStorage) pathOf(ctx context.Context, rootID, parent int64, name string, fetch bool) (string, bool, error) {
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
	if err := DocumentNameRules.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrInvalidName, err)
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
	if ra, ok := r.(io.ReaderAt); ok && size >= d.opts.ChunkThreshold && size > MinSegmentSize {
		return d.putSegmented(ctx, parent, parentID, name, ra, size, opt, existing)
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
	if err := DocumentNameRules.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrInvalidName, err)
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
	if err := DocumentNameRules.Validate(newName); err != nil {
		return storage.Entry{}, storage.NewError("move", np, storage.ErrInvalidName, err)
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
	_, resp, err := d.c.Documents.List(ctx, d.sc, &DocumentListOptions{ListOptions: ListOptions{PerPage: 1}, Sort: "-updated_at"})
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
// filters[updated_at] (one call when nothing changed). The query reaches
// Overlap before the cursor to absorb index lag; items already reported
// within that window are remembered in the cursor (up to 500) and not
// reported again. Deletions: items in Procore's recycle bin carry
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
	opts := &DocumentListOptions{ListOptions: ListOptions{PerPage: d.opts.PerPage},
		UpdatedFrom: since.Add(-d.opts.Overlap), UpdatedTo: maxTime(now, since).Add(24 * time.Hour), Sort: "updated_at"}
	var docs []Document
	var next time.Time
	for page := 1; ; {
		opts.Page = page
		list, resp, err := d.c.Documents.List(ctx, d.sc, opts)
		if err != nil {
			return nil, "", mapErr("changes", "", err)
		}
		if page == 1 {
			next = d.serverNow(resp)
		}
		docs = append(docs, list...)
		if resp.NextPage <= page || len(list) == 0 {
			break
		}
		page = resp.NextPage
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
		key := itoa(doc.ID) + "@" + strconv.FormatInt(doc.UpdatedAt.UnixNano(), 36)
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
	return d.wake.watch(ctx), nil
}

// Notify wakes every watcher (coalesced: a pending signal absorbs more).
func (d *DocumentsStorage) Notify() { d.wake.notify() }

// Scope returns the tool's scope (project or company).
func (d *DocumentsStorage) Scope() Scope { return d.sc }

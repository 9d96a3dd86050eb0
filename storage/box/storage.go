package box

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
)

// Options configure a Storage.
type Options struct {
	// RootID is the folder the Storage is rooted at (default "0", the
	// account's root, "All Files").
	RootID string
	// RootPath, when set, is a slash path below RootID to root the
	// Storage at instead; it must exist.
	RootPath string
	// ChunkThreshold is the size from which Put uploads through a chunked
	// upload session (default and minimum 20,000,000 bytes, Box's
	// smallest session).
	ChunkThreshold int64
	// CursorMaxAge is how long a change-feed cursor stays usable (default
	// 14 days, the shortest retention Box states for user events): an
	// older one gives storage.ErrCursorExpired.
	CursorMaxAge time.Duration
	// Webhooks, when set, makes Watch signal on the receiver's verified
	// webhook deliveries instead of long-polling the events stream.
	Webhooks *WebhookReceiver
	// WebApp is the address of Box's web app, for WebURL (default
	// DefaultWebApp; an enterprise's custom domain such as
	// "https://acme.app.box.com" works too).
	WebApp string
}

// DefaultWebApp is the address of Box's web app.
const DefaultWebApp = "https://app.box.com"

// MinChunked is the smallest file Box accepts in an upload session.
const MinChunked = 20_000_000

// MaxDirect is the largest direct (multipart) upload.
const MaxDirect = 50_000_000

// Names are Box's name rules: at most 255 characters, no "/" or "\", no
// non-printable ASCII, no leading or trailing spaces, not "." or "..",
// unique in a folder without regard to case.
var Names = storage.NameRules{
	InvalidChars:    `\`,
	NoControlChars:  true,
	ReservedNames:   []string{".", ".."},
	NoLeadingSpace:  true,
	NoTrailingSpace: true,
	MaxNameLength:   255,
	CaseInsensitive: true,
}

// Storage is a storage.Storage on a Box folder. It implements
// storage.ChangeFeed (the events stream), storage.Watcher (long-poll or
// webhooks), storage.ResumableUploader, storage.RangeOpener,
// storage.Copier, storage.IDStater and storage.SubtreeLister.
type Storage struct {
	c      *Client
	rootID string
	opt    Options
	maxUp  int64

	mu        sync.Mutex
	threshold int64
	sub       *changefeed.Sub[StreamEvent] // the user's shared events feed (nil: own reads)

	idxMu sync.Mutex
	idx   map[string]known // items seen, by ID (see remember)
}

var (
	_ storage.Storage           = (*Storage)(nil)
	_ storage.ChangeFeed        = (*Storage)(nil)
	_ storage.Watcher           = (*Storage)(nil)
	_ storage.ResumableUploader = (*Storage)(nil)
	_ storage.RangeOpener       = (*Storage)(nil)
	_ storage.Copier            = (*Storage)(nil)
	_ storage.IDStater          = (*Storage)(nil)
	_ storage.SubtreeLister     = (*Storage)(nil)
)

// New returns a Storage rooted at opt.RootID / opt.RootPath. It reads
// max_upload_size from GET /users/me.
func New(ctx context.Context, c *Client, opt Options) (*Storage, error) {
	if opt.RootID == "" {
		opt.RootID = "0"
	}
	if opt.ChunkThreshold < MinChunked {
		opt.ChunkThreshold = MinChunked
	}
	if opt.CursorMaxAge <= 0 {
		opt.CursorMaxAge = 14 * 24 * time.Hour
	}
	s := &Storage{c: c, rootID: opt.RootID, opt: opt, threshold: opt.ChunkThreshold}
	me, err := c.Me(ctx)
	if err != nil {
		return nil, err
	}
	s.maxUp = int64(me.MaxUploadSize)
	if p := strings.Trim(opt.RootPath, "/"); p != "" {
		e, err := s.Stat(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("box: the root path %q: %w", p, err)
		}
		if !e.IsDir {
			return nil, fmt.Errorf("box: the root path %q: %w", p, storage.ErrNotDir)
		}
		s.rootID = e.ID
	}
	return s, nil
}

// Client returns the Storage's client.
func (s *Storage) Client() *Client { return s.c }

// RootID returns the ID of the root folder.
func (s *Storage) RootID() string { return s.rootID }

// SetChunking sets the size from which Put uses an upload session (tests
// use it with a fake that accepts small sessions; Box itself refuses
// sessions below 20,000,000 bytes).
func (s *Storage) SetChunking(threshold int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.threshold = max(threshold, 1)
}

func (s *Storage) chunkThreshold() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.threshold
}

// Features describes Box: SHA-1 hashes, etag If-Match on new versions,
// moves and deletes, the trash, content_modified_at kept to the second.
func (s *Storage) Features() storage.Features {
	return storage.Features{
		Hashes:            []storage.HashKind{storage.HashSHA1},
		Names:             Names,
		MaxFileSize:       s.maxUp,
		VersionHistory:    true,
		RecycleBin:        true,
		ConditionalPut:    true,
		ConditionalDelete: true,
		ConditionalMove:   true,
		SetModTime:        true,
		ModTimePrecision:  time.Second,
		Upload:            storage.UploadConstraints{ChunkThreshold: s.chunkThreshold()},
	}
}

// entry converts an item at path p.
func (s *Storage) entry(it Item, p string) storage.Entry {
	e := storage.Entry{ID: it.ID, Path: p, IsDir: it.Type == "folder", Version: it.ETag}
	if it.Parent != nil {
		e.ParentID = it.Parent.ID
	}
	if !e.IsDir {
		e.Size = int64(it.Size)
		if it.SHA1 != "" {
			e.Hashes = storage.Hashes{storage.HashSHA1: strings.ToLower(it.SHA1)}
		}
	}
	switch {
	case it.ContentModifiedAt != nil:
		e.ModTime = *it.ContentModifiedAt
	case it.ModifiedAt != nil:
		e.ModTime = *it.ModifiedAt
	}
	if it.CreatedBy != nil {
		e.CreatedBy = it.CreatedBy.Name
	}
	if it.ModifiedBy != nil {
		e.ModifiedBy = it.ModifiedBy.Name
	}
	return e
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// usable reports whether a listed item is a live file or folder (web
// links and trashed items are left out).
func usable(it Item) bool {
	return (it.Type == "file" || it.Type == "folder") && (it.ItemStatus == "" || it.ItemStatus == "active")
}

// walk yields every item below folder id (at path p), breadth first.
func (s *Storage) walk(ctx context.Context, id, p string) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		type dir struct{ id, path string }
		queue := []dir{{id, p}}
		for len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			for it, err := range s.c.ListFolder(ctx, d.id) {
				if err != nil {
					yield(storage.Entry{}, wrap("list", d.path, err))
					return
				}
				if !usable(it) {
					continue
				}
				e := s.entry(it, join(d.path, it.Name))
				e.ParentID = d.id
				s.remember(e)
				if e.IsDir {
					queue = append(queue, dir{e.ID, e.Path})
				}
				if !yield(e, nil) {
					return
				}
			}
		}
	}
}

// List yields every item below the root (GET /folders/{id}/items per
// folder, marker paging).
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return s.walk(ctx, s.rootID, "")
}

// ListUnder yields every item below folder dir.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	if dir.Path == "" && dir.ID == "" {
		dir.ID = s.rootID
	}
	return s.walk(ctx, dir.ID, dir.Path)
}

// wrap makes err a *storage.Error of op on p, keeping its kind.
func wrap(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	for _, k := range []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrPreconditionFailed, storage.ErrThrottled,
		storage.ErrTooLarge, storage.ErrInvalidName, storage.ErrQuotaExceeded, storage.ErrPermissionDenied, storage.ErrLocked,
		storage.ErrNotEmpty, storage.ErrCursorExpired, storage.ErrUnsupported, storage.ErrIsDir, storage.ErrNotDir} {
		if errors.Is(err, k) {
			if k == storage.ErrThrottled {
				return err // keeps its Retry-After
			}
			return storage.NewError(op, p, k, err)
		}
	}
	return err
}

// rootEntry returns the root's entry (GET /folders/{root}).
func (s *Storage) rootEntry(ctx context.Context) (storage.Entry, error) {
	it, err := s.c.GetItem(ctx, s.rootID, true)
	if err != nil {
		return storage.Entry{}, wrap("stat", "", err)
	}
	e := s.entry(it, "")
	e.ParentID = ""
	return e, nil
}

// child finds the live child of folder id named name (Box compares names
// without regard to case).
func (s *Storage) child(ctx context.Context, id, name string) (Item, bool, error) {
	k := Names.Key(name)
	for it, err := range s.c.ListFolder(ctx, id) {
		if err != nil {
			return Item{}, false, err
		}
		if usable(it) && Names.Key(it.Name) == k {
			return it, true, nil
		}
	}
	return Item{}, false, nil
}

// Stat returns the entry at p, found by listing each folder on the way
// (Box has no path addressing).
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.rootEntry(ctx)
	}
	id, cur := s.rootID, ""
	els := strings.Split(p, "/")
	for i, el := range els {
		it, ok, err := s.child(ctx, id, el)
		if err != nil {
			return storage.Entry{}, wrap("stat", p, err)
		}
		if !ok || (i < len(els)-1 && it.Type != "folder") {
			return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
		}
		cur = join(cur, it.Name)
		if i == len(els)-1 {
			e := s.entry(it, cur)
			e.ParentID = id
			s.remember(e)
			return e, nil
		}
		id = it.ID
	}
	panic("unreachable")
}

// relPath returns it's path below the root from its path_collection, and
// whether it lies below the root.
func (s *Storage) relPath(it Item) (string, bool) {
	if it.ID == s.rootID {
		return "", true
	}
	if it.Paths == nil {
		return "", false
	}
	var names []string
	found := false
	for _, a := range it.Paths.Entries {
		if found {
			names = append(names, a.Name)
		} else if a.ID == s.rootID {
			found = true
		}
	}
	if !found {
		return "", false
	}
	return path.Join(append(names, it.Name)...), true
}

// WebURL returns e's address in Box's web app: <WebApp>/file/<id> or
// <WebApp>/folder/<id>. It makes no call; ErrUnsupported for an entry
// without an ID.
func (s *Storage) WebURL(_ context.Context, e storage.Entry) (string, error) {
	if e.ID == "" {
		return "", storage.NewError("weburl", e.Path, storage.ErrUnsupported, nil)
	}
	web := strings.TrimSuffix(s.opt.WebApp, "/")
	if web == "" {
		web = DefaultWebApp
	}
	kind := "/file/"
	if e.IsDir {
		kind = "/folder/"
	}
	return web + kind + url.PathEscape(e.ID), nil
}

// StatID returns item id as it is now (GET /files/{id}, else GET
// /folders/{id}); trashed or outside the root gives ErrNotFound.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if id == s.rootID {
		return s.rootEntry(ctx)
	}
	it, err := s.c.GetItem(ctx, id, false)
	if errors.Is(err, storage.ErrNotFound) {
		it, err = s.c.GetItem(ctx, id, true)
	}
	if err != nil {
		return storage.Entry{}, wrap("statid", id, err)
	}
	p, ok := s.relPath(it)
	if !usable(it) || !ok {
		return storage.Entry{}, storage.NewError("statid", id, storage.ErrNotFound, nil)
	}
	return s.entry(it, p), nil
}

// Open streams file e.
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return s.OpenAt(ctx, e, 0)
}

// OpenAt streams file e from offset (a Range request).
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	if offset < 0 {
		return nil, fmt.Errorf("box: open %q: negative offset %d", e.Path, offset)
	}
	rc, err := s.c.Download(ctx, e.ID, offset)
	if err != nil {
		return nil, wrap("open", e.Path, err)
	}
	return rc, nil
}

func (s *Storage) parentID(parent storage.Entry) string {
	if parent.ID == "" && parent.Path == "" {
		return s.rootID
	}
	return parent.ID
}

// MakeDir creates folder name in parent (POST /folders). A folder of that
// name already there is returned with an error matching ErrAlreadyExists.
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := Names.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrInvalidName, err)
	}
	pid := s.parentID(parent)
	it, err := s.c.CreateFolder(ctx, pid, name)
	if err == nil {
		e := s.entry(it, join(parent.Path, it.Name))
		e.ParentID = pid
		s.remember(e)
		return e, nil
	}
	var be *Error
	if errors.As(err, &be) && errors.Is(err, storage.ErrAlreadyExists) {
		for _, c := range be.Conflicts {
			if c.Type == "folder" {
				ex, serr := s.StatID(ctx, c.ID)
				if serr == nil {
					return ex, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
				}
			}
		}
		if it, ok, lerr := s.child(ctx, pid, name); lerr == nil && ok && it.Type == "folder" {
			e := s.entry(it, join(parent.Path, it.Name))
			e.ParentID = pid
			return e, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
		}
	}
	return storage.Entry{}, wrap("mkdir", p, err)
}

// Move renames and/or moves e (PUT /files/{id} or /folders/{id}), with
// If-Match e.Version when set.
func (s *Storage) Move(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	p := join(newParent.Path, newName)
	if e.ID == "" || e.ID == s.rootID {
		return storage.Entry{}, fmt.Errorf("box: move %q: the root cannot be moved", e.Path)
	}
	if err := Names.Validate(newName); err != nil {
		return storage.Entry{}, storage.NewError("move", p, storage.ErrInvalidName, err)
	}
	pid := s.parentID(newParent)
	it, err := s.c.UpdateItem(ctx, e.ID, e.IsDir, pid, newName, e.Version)
	if err != nil {
		return storage.Entry{}, wrap("move", e.Path, err)
	}
	out := s.entry(it, join(newParent.Path, it.Name))
	out.ParentID = pid
	s.remember(out)
	return out, nil
}

// Delete moves e to the trash (DELETE /files/{id}, DELETE
// /folders/{id}?recursive=true), with If-Match e.Version when set.
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error {
	if e.ID == "" || e.ID == s.rootID {
		return fmt.Errorf("box: delete %q: the root cannot be deleted", e.Path)
	}
	return wrap("delete", e.Path, s.c.DeleteItem(ctx, e.ID, e.IsDir, e.Version))
}

// Copy copies file e into newParent as newName (POST /files/{id}/copy).
func (s *Storage) Copy(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	p := join(newParent.Path, newName)
	if e.IsDir {
		return storage.Entry{}, storage.NewError("copy", e.Path, storage.ErrIsDir, nil)
	}
	// Box removes invalid characters from a copy's name silently: refuse
	// them here instead.
	if err := Names.Validate(newName); err != nil {
		return storage.Entry{}, storage.NewError("copy", p, storage.ErrInvalidName, err)
	}
	pid := s.parentID(newParent)
	it, err := s.c.CopyFile(ctx, e.ID, pid, newName)
	if err != nil {
		return storage.Entry{}, wrap("copy", p, err)
	}
	out := s.entry(it, join(newParent.Path, it.Name))
	out.ParentID = pid
	s.remember(out)
	return out, nil
}

// spool holds a source of unknown size: in memory up to limit bytes,
// else in a temporary file.
func spool(r io.Reader, limit int64) (data []byte, f *os.File, size int64, err error) {
	buf, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, nil, 0, err
	}
	if int64(len(buf)) <= limit {
		return buf, nil, int64(len(buf)), nil
	}
	f, err = os.CreateTemp("", "box-upload-*")
	if err != nil {
		return nil, nil, 0, err
	}
	os.Remove(f.Name())
	n, err := f.Write(buf)
	if err == nil {
		var m int64
		m, err = io.Copy(f, r)
		size = int64(n) + m
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return nil, f, size, nil
}

package drivefs

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
)

func (f *FS) remember(it *msgraph.DriveItem) {
	if it == nil || it.ID == "" || it.Deleted != nil {
		return
	}
	parent := ""
	if it.ParentReference != nil {
		parent = it.ParentReference.ID
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idx[it.ID] = node{name: it.Name, parent: parent, isDir: it.IsDir()}
}

func (f *FS) forget(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.idx, id)
}

// cachedPath builds the path of id from the index: ok is false when an
// ancestor is unknown; inside is false when the item is not below the root.
// A parent chain that comes back to an item already on it (two folders
// naming each other as parent) gives errParentCycle.
func (f *FS) cachedPath(id string) (p string, inside, ok bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var segs []string
	seen := map[string]bool{}
	for cur := id; ; {
		if cur == f.rootID {
			for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
				segs[i], segs[j] = segs[j], segs[i]
			}
			return strings.Join(segs, "/"), true, true, nil
		}
		if cur == f.driveRoot || cur == "" {
			return "", false, true, nil
		}
		if seen[cur] || len(seen) > maxDepth {
			return "", false, false, errParentCycle
		}
		seen[cur] = true
		n, known := f.idx[cur]
		if !known {
			return "", false, false, nil
		}
		segs = append(segs, n.name)
		cur = n.parent
	}
}

// firstUnknown returns the first ancestor of id (or id itself) that the
// index does not know.
func (f *FS) firstUnknown(id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for cur := id; ; {
		n, known := f.idx[cur]
		if !known {
			return cur, nil
		}
		if seen[cur] || len(seen) > maxDepth {
			return "", errParentCycle
		}
		seen[cur] = true
		cur = n.parent
	}
}

// forgetChain drops id and its ancestors from the index.
func (f *FS) forgetChain(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for cur, n := id, 0; n <= maxDepth; n++ {
		nd, known := f.idx[cur]
		if !known {
			return
		}
		delete(f.idx, cur)
		cur = nd.parent
	}
}

// pathOf builds the path of id, fetching unknown ancestors by ID.
func (f *FS) pathOf(ctx context.Context, id string) (string, bool, error) {
	refreshed := false
	for range maxDepth {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		p, inside, ok, err := f.cachedPath(id)
		if err == errParentCycle && !refreshed {
			// The index may hold a stale parent: read the chain afresh.
			f.forgetChain(id)
			refreshed = true
			continue
		}
		if err != nil {
			return "", false, err
		}
		if ok {
			return p, inside, nil
		}
		missing, err := f.firstUnknown(id)
		if err != nil {
			return "", false, err
		}
		it, err := f.c.GetItem(ctx, f.driveID, missing)
		if err != nil {
			return "", false, err
		}
		if it.ID != missing {
			return "", false, &msgraph.Error{StatusCode: http.StatusOK, Code: "invalidResponse", Op: "GET item", Message: "the service answered with another item"}
		}
		f.remember(it)
	}
	return "", false, errors.New("graph: folder tree too deep")
}

// entry converts a driveItem at path p to an Entry.
func (f *FS) entry(it *msgraph.DriveItem, p string) storage.Entry {
	e := storage.Entry{ID: it.ID, Path: p, IsDir: it.IsDir(), Version: it.ETag}
	if it.ParentReference != nil {
		e.ParentID = it.ParentReference.ID
	}
	if !e.IsDir {
		e.Size = it.SizeOrZero()
		if it.File != nil && it.File.Hashes != nil && it.File.Hashes.QuickXorHash != "" {
			e.Hashes = storage.Hashes{storage.HashQuickXor: it.File.Hashes.QuickXorHash}
		}
	}
	switch {
	case it.FileSystemInfo != nil && it.FileSystemInfo.LastModifiedDateTime != nil:
		e.ModTime = it.FileSystemInfo.LastModifiedDateTime.UTC()
	case it.LastModifiedDateTime != nil:
		e.ModTime = it.LastModifiedDateTime.UTC()
	}
	e.CreatedBy = it.CreatedBy.Name()
	e.ModifiedBy = it.LastModifiedBy.Name()
	if it.ID == f.rootID {
		e.Path, e.ParentID = "", ""
	}
	return e
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (f *FS) parentID(parent storage.Entry) string {
	if parent.ID == "" && parent.Path == "" {
		return f.rootID
	}
	return parent.ID
}

// List yields every item below the root. Rooted at the drive root it reads
// the drive's delta (about one call per thousand items); rooted at a
// folder it walks the folders' children.
func (f *FS) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		if f.rootID == f.driveRoot {
			f.listDelta(ctx, yield)
			return
		}
		f.listChildren(ctx, f.rootID, "", map[string]bool{f.rootID: true}, yield)
	}
}

// ListUnder yields every item below folder dir, walking its children. The
// folder is first looked up by ID, so that the paths are where it is now.
func (f *FS) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		id, p := dir.ID, dir.Path
		switch {
		case id == "" && p == "", id == f.rootID:
			id, p = f.rootID, ""
		case id == "":
			cur, err := f.Stat(ctx, p)
			if err != nil {
				yield(storage.Entry{}, err)
				return
			}
			id = cur.ID
			if !cur.IsDir {
				yield(storage.Entry{}, storage.NewError("list", p, storage.ErrNotDir, nil))
				return
			}
		default:
			cur, err := f.StatID(ctx, id)
			if err != nil {
				yield(storage.Entry{}, err)
				return
			}
			if !cur.IsDir {
				yield(storage.Entry{}, storage.NewError("list", cur.Path, storage.ErrNotDir, nil))
				return
			}
			p = cur.Path
		}
		f.listChildren(ctx, id, p, map[string]bool{id: true}, yield)
	}
}

// listChildren walks folder id (at path p) depth-first. seen holds the IDs
// already yielded or walked: an item met twice (moved during the walk) is
// yielded once, and a folder met twice (a cycle) is not walked again.
func (f *FS) listChildren(ctx context.Context, id, p string, seen map[string]bool, yield func(storage.Entry, error) bool) bool {
	var dirs []storage.Entry
	for it, err := range f.c.Children(ctx, f.driveID, id) {
		if err != nil {
			yield(storage.Entry{}, Wrap("list", p, err))
			return false
		}
		if seen[it.ID] || it.ID == "" || it.ID == f.rootID {
			continue
		}
		seen[it.ID] = true
		f.remember(&it)
		e := f.entry(&it, join(p, it.Name))
		if !yield(e, nil) {
			return false
		}
		if e.IsDir {
			dirs = append(dirs, e)
		}
	}
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			yield(storage.Entry{}, Wrap("list", d.Path, err))
			return false
		}
		if !f.listChildren(ctx, d.ID, d.Path, seen, yield) {
			return false
		}
	}
	return true
}

func (f *FS) listDelta(ctx context.Context, yield func(storage.Entry, error) bool) {
	items, _, err := f.c.DeltaAll(ctx, f.c.DeltaURL(f.driveID, ""))
	if err != nil {
		yield(storage.Entry{}, Wrap("list", "", err))
		return
	}
	for i := range items {
		f.remember(&items[i])
	}
	for i := range items {
		it := &items[i]
		if it.Deleted != nil || it.ID == f.rootID || it.Root != nil {
			continue
		}
		p, inside, err := f.pathOf(ctx, it.ID)
		if err != nil {
			yield(storage.Entry{}, Wrap("list", "", err))
			return
		}
		if inside && !yield(f.entry(it, p), nil) {
			return
		}
	}
}

// LatestCursor returns the delta link for "now" (the shared feed's, when
// the FS uses one).
func (f *FS) LatestCursor(ctx context.Context) (string, error) {
	if sub := f.feedSub(); sub != nil {
		c, err := sub.Latest(ctx)
		if err != nil {
			return "", Wrap("changes", "", err)
		}
		return c, nil
	}
	p, err := f.c.Delta(ctx, f.c.DeltaURL(f.driveID, "latest"))
	if err != nil {
		return "", Wrap("changes", "", err)
	}
	if p.DeltaLink == "" {
		return "", storage.NewError("changes", "", nil, errors.New("graph: token=latest gave no delta link"))
	}
	return p.DeltaLink, nil
}

// Changes reads the drive's delta from cursor (a delta link) and returns
// what changed below the root, with paths built from IDs. A link the
// service no longer honours (410) gives storage.ErrCursorExpired: only
// this drive must be listed again.
//
// The delta covers the whole drive and names no paths, and the FS knows
// only the items it has seen since it was made (after a restart: none).
// So a deletion, or an item now outside the root, is reported by ID
// (with its old path where the FS knows it) unless the FS knows the item
// was outside the root before: the caller resolves the ID against what it
// synced and ignores IDs it never had.
func (f *FS) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	if cursor == "" {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("empty cursor"))
	}
	items, next, err := f.readDelta(ctx, cursor)
	if err != nil {
		return nil, "", Wrap("changes", "", err)
	}
	// Paths as they were before this batch, for deletions and moves out;
	// outside holds the items known to have been outside the root.
	before := map[string]string{}
	outside := map[string]bool{}
	for _, it := range items {
		p, inside, ok, err := f.cachedPath(it.ID)
		switch {
		case err != nil:
			// A cycle in the index: nothing is known of the item.
		case ok && inside:
			before[it.ID] = p
		case ok:
			outside[it.ID] = true
		}
	}
	for i := range items {
		f.remember(&items[i])
	}
	var out []storage.Change
	for i := range items {
		if err := ctx.Err(); err != nil {
			return nil, "", Wrap("changes", "", err)
		}
		it := &items[i]
		if it.ID == f.rootID || it.ID == f.driveRoot || it.Root != nil {
			continue
		}
		if it.Deleted != nil {
			old, known := before[it.ID]
			f.forget(it.ID)
			if !known && f.rootID != f.driveRoot && (outside[it.ID] || f.parentOutside(it)) {
				continue // known never to have been below our root
			}
			out = append(out, storage.Change{Deleted: true, Entry: storage.Entry{ID: it.ID, Path: old, IsDir: it.Folder != nil}})
			continue
		}
		p, inside, err := f.pathOf(ctx, it.ID)
		if err != nil {
			return nil, "", Wrap("changes", "", err)
		}
		if !inside {
			if outside[it.ID] {
				continue // it was outside before and still is
			}
			// Moved out of the root (or never in it, which the caller
			// cannot tell from a move out after a restart either).
			out = append(out, storage.Change{Deleted: true, Entry: storage.Entry{ID: it.ID, Path: before[it.ID], IsDir: it.IsDir()}})
			continue
		}
		out = append(out, storage.Change{Entry: f.entry(it, p)})
	}
	return out, next, nil
}

// parentOutside reports whether a deleted item's parent is known to lie
// outside the root.
func (f *FS) parentOutside(it *msgraph.DriveItem) bool {
	if it.ParentReference == nil || it.ParentReference.ID == "" {
		return false
	}
	_, inside, ok, err := f.cachedPath(it.ParentReference.ID)
	return err == nil && ok && !inside
}

// StatID returns the item with ID id as it is now. The item and each of
// its ancestors are read afresh (GET /drives/{id}/items/{id}) up to the
// root: an item deleted, or now outside the root, gives ErrNotFound.
func (f *FS) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if id == "" {
		return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, errors.New("empty ID"))
	}
	it, err := f.c.GetItem(ctx, f.driveID, id)
	if err != nil {
		return storage.Entry{}, Wrap("stat", "", err)
	}
	if it.Deleted != nil || it.ID != id {
		return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, nil)
	}
	if it.ID == f.rootID {
		return f.entry(it, ""), nil
	}
	segs := []string{it.Name}
	seen := map[string]bool{it.ID: true}
	cur := ""
	if it.ParentReference != nil {
		cur = it.ParentReference.ID
	}
	for cur != f.rootID {
		if err := ctx.Err(); err != nil {
			return storage.Entry{}, Wrap("stat", "", err)
		}
		if cur == "" || cur == f.driveRoot {
			return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, errors.New("the item is outside the root"))
		}
		if seen[cur] || len(seen) > maxDepth {
			return storage.Entry{}, Wrap("stat", "", errParentCycle)
		}
		seen[cur] = true
		anc, err := f.c.GetItem(ctx, f.driveID, cur)
		if err != nil {
			return storage.Entry{}, Wrap("stat", "", err)
		}
		if anc.Deleted != nil {
			return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, nil)
		}
		f.remember(anc)
		segs = append(segs, anc.Name)
		cur = ""
		if anc.ParentReference != nil {
			cur = anc.ParentReference.ID
		}
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	f.remember(it)
	return f.entry(it, strings.Join(segs, "/")), nil
}

// Stat returns the entry at path p.
func (f *FS) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		it, err := f.c.GetItem(ctx, f.driveID, f.rootID)
		if err != nil {
			return storage.Entry{}, Wrap("stat", p, err)
		}
		if it.Deleted != nil {
			return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
		}
		return f.entry(it, ""), nil
	}
	for _, seg := range strings.Split(p, "/") {
		if err := f.rules.Validate(seg); err != nil {
			// The service cannot hold such a name, so nothing is there.
			return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, err)
		}
	}
	it, err := f.c.GetByPath(ctx, f.driveID, f.rootID, p)
	if err != nil {
		return storage.Entry{}, Wrap("stat", p, err)
	}
	f.remember(it)
	canonical := p
	if cp, inside, ok, err := f.cachedPath(it.ID); err == nil && ok && inside {
		canonical = cp
	} else {
		canonical = join(path.Dir("/" + p)[1:], it.Name)
	}
	return f.entry(it, canonical), nil
}

// Open streams file e.
func (f *FS) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return f.OpenAt(ctx, e, 0)
}

// OpenAt streams file e from offset on (Range on the download URL).
func (f *FS) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	if e.ID == "" {
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, errors.New("entry has no ID"))
	}
	rc, err := f.c.Download(ctx, f.driveID, e.ID, offset)
	if err != nil {
		var ge *msgraph.Error
		if errors.As(err, &ge) && ge.StatusCode == http.StatusBadRequest {
			return nil, storage.NewError("open", e.Path, storage.ErrIsDir, err)
		}
		return nil, Wrap("open", e.Path, err)
	}
	return rc, nil
}

// MakeDir creates folder name in parent (conflict behaviour fail).
func (f *FS) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := f.validate(p, name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrInvalidName, err)
	}
	it, err := f.c.CreateFolder(ctx, f.driveID, f.parentID(parent), name, msgraph.ConflictFail)
	if err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			ex, serr := f.c.GetByPath(ctx, f.driveID, f.parentID(parent), name)
			if serr == nil && ex.IsDir() {
				f.remember(ex)
				return f.entry(ex, join(parent.Path, ex.Name)), Wrap("mkdir", p, err)
			}
		}
		return storage.Entry{}, Wrap("mkdir", p, err)
	}
	f.remember(it)
	return f.entry(it, join(parent.Path, it.Name)), nil
}

func (f *FS) validate(p, name string) error {
	if err := f.rules.Validate(name); err != nil {
		return err
	}
	return f.rules.ValidatePath(p)
}

// Move renames e and/or moves it into newParent (PATCH; the ID stays).
// With e.Version set, the PATCH carries it as If-Match: an item changed
// since gives storage.ErrPreconditionFailed and stays where it is.
func (f *FS) Move(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	p := join(newParent.Path, newName)
	if err := f.validate(p, newName); err != nil {
		return storage.Entry{}, storage.NewError("move", p, storage.ErrInvalidName, err)
	}
	if e.ID == "" || e.ID == f.rootID {
		return storage.Entry{}, storage.NewError("move", e.Path, storage.ErrUnsupported, errors.New("cannot move the root"))
	}
	patch := msgraph.ItemPatch{Name: newName, ParentReference: &msgraph.ItemReference{ID: f.parentID(newParent)}}
	// If-Match: the move happens only if the item still has e.Version.
	it, err := f.c.Update(ctx, f.driveID, e.ID, e.Version, patch)
	if err != nil {
		return storage.Entry{}, Wrap("move", e.Path, err)
	}
	f.remember(it)
	return f.entry(it, join(newParent.Path, it.Name)), nil
}

// Delete moves e (with its contents) to the recycle bin. With e.Version
// set, the DELETE carries it as If-Match: an item changed since gives
// storage.ErrPreconditionFailed and nothing is deleted.
func (f *FS) Delete(ctx context.Context, e storage.Entry) error {
	if e.ID == "" || e.ID == f.rootID {
		return storage.NewError("delete", e.Path, storage.ErrUnsupported, errors.New("cannot delete the root"))
	}
	if err := f.c.Delete(ctx, f.driveID, e.ID, e.Version); err != nil {
		return Wrap("delete", e.Path, err)
	}
	// The index keeps the item until the change feed reports the deletion,
	// so that the deletion gets its path.
	return nil
}

// Put writes r as file name in parent. A file with a modification time to
// record goes through an upload session whose item.fileSystemInfo carries
// it, so that the upload makes one version (a PATCH of fileSystemInfo
// after a simple PUT makes a second one on SharePoint): two calls for a
// small file. Without a time, a file up to the simple-upload limit is one
// simple PUT. Zero-byte files always use a simple PUT (sessions reject
// them), followed by a PATCH when a time is given. The conflict behaviour
// is explicit: replace (a new version), or fail with PutOptions.NoOverwrite;
// ExpectedVersion is sent as If-Match. r must yield exactly size bytes and
// then end: otherwise nothing is committed (an open session is cancelled).
// A file of unknown size (-1) larger than the simple-upload limit is
// spooled to a temporary file, then sent through a session. Office
// documents are re-read after the upload, so the returned entry carries
// the size, hash and version of the bytes SharePoint keeps.
func (f *FS) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := f.validate(p, name); err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrInvalidName, err)
	}
	if opt.NoOverwrite && opt.ExpectedVersion != "" {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrPreconditionFailed, errors.New("NoOverwrite with ExpectedVersion"))
	}
	if size < 0 {
		return f.putUnknown(ctx, parent, name, r, opt)
	}
	if size > msgraph.MaxFileSize {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrTooLarge, nil)
	}
	simple, _ := f.chunking()
	cb := msgraph.ConflictReplace
	if opt.NoOverwrite {
		cb = msgraph.ConflictFail
	}
	var it *msgraph.DriveItem
	var sum string
	if size == 0 || (size <= simple && opt.ModTime.IsZero()) {
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("reading the content: %w", err))
		}
		if err := atEOF(r, size); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		sum = quickxorhash.Base64(data)
		var err error
		it, err = f.c.PutSmall(ctx, f.driveID, f.parentID(parent), name, "", data, cb, opt.ExpectedVersion)
		if err != nil {
			return storage.Entry{}, Wrap("put", p, err)
		}
		if !opt.ModTime.IsZero() {
			// Only zero-byte files get here: upload sessions reject them.
			mt := opt.ModTime.UTC().Truncate(time.Second)
			it2, err := f.c.Update(ctx, f.driveID, it.ID, it.ETag, msgraph.ItemPatch{FileSystemInfo: &msgraph.FileSystemInfo{LastModifiedDateTime: &mt}})
			if err != nil {
				return storage.Entry{}, Wrap("put", p, err)
			}
			it = it2
		}
	} else {
		// The session's item.fileSystemInfo sets the time with the content.
		// Unconfirmed against a live tenant: that POST …:/{name}:/createUploadSession with fileSystemInfo makes one SharePoint version.
		sess, err := f.c.CreateUploadSession(ctx, f.driveID, f.parentID(parent), name, "",
			msgraph.SessionOptions{Conflict: cb, FileSize: size, ModTime: opt.ModTime, IfMatch: opt.ExpectedVersion})
		if err != nil {
			return storage.Entry{}, Wrap("put", p, err)
		}
		st := storage.UploadState{ParentID: f.parentID(parent), Name: name, Size: size}
		if sess.ExpirationDateTime != nil {
			st.Expires = *sess.ExpirationDateTime
		}
		st.Token = encodeToken(sessionToken{URL: sess.UploadURL, Drive: f.driveID, ParentPath: parent.Path})
		h := quickxorhash.New()
		it, err = f.upload(ctx, sess.UploadURL, io.TeeReader(r, h), 0, st, opt, true)
		if err != nil {
			err = Wrap("put", p, err)
			if opt.OnUploadState == nil || !storage.IsRetryable(err) {
				// Nobody can resume it: the service need not keep the bytes.
				f.cancel(ctx, sess.UploadURL)
			}
			return storage.Entry{}, err
		}
		sum = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}
	return f.finish(ctx, it, parent.Path, p, size, sum)
}

// atEOF checks that r has nothing after the size bytes read from it: a
// source that grew, or fails at its end, must not become a version.
func atEOF(r io.Reader, size int64) error {
	var b [1]byte
	for range 100 {
		n, err := r.Read(b[:])
		if n > 0 {
			return fmt.Errorf("graph: the content has more than the %d bytes declared", size)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the content after %d bytes: %w", size, err)
		}
	}
	return fmt.Errorf("graph: the content did not end after the %d bytes declared", size)
}

// putUnknown writes a file of unknown size: in memory up to the
// simple-upload limit, else spooled to a temporary file whose size then
// opens an upload session (a session needs the total size in every
// Content-Range).
func (f *FS) putUnknown(ctx context.Context, parent storage.Entry, name string, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	p := join(parent.Path, name)
	simple, _ := f.chunking()
	head := make([]byte, simple+1)
	n, err := io.ReadFull(httpclient.ContextReader(ctx, r), head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return f.Put(ctx, parent, name, bytes.NewReader(head[:n]), int64(n), opt)
	case err != nil:
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("reading the content: %w", err))
	}
	f.mu.Lock()
	dir := f.spoolDir
	f.mu.Unlock()
	tmp, err := os.CreateTemp(dir, "procoresync-graph-*.part")
	if err != nil {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("spooling a file of unknown size: %w", err))
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if _, err := tmp.Write(head); err != nil {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("spooling a file of unknown size: %w", err))
	}
	rest, err := io.Copy(tmp, io.LimitReader(httpclient.ContextReader(ctx, r), msgraph.MaxFileSize-int64(len(head))+1))
	if err != nil {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("reading the content: %w", err))
	}
	size := int64(len(head)) + rest
	if size > msgraph.MaxFileSize {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrTooLarge, nil)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return storage.Entry{}, storage.NewError("put", p, nil, err)
	}
	return f.Put(ctx, parent, name, tmp, size, opt)
}

// finish takes the server's view of an uploaded file as the baseline: an
// Office file SharePoint rewrote is re-read; any other file must carry the
// size and hash that was sent.
func (f *FS) finish(ctx context.Context, it *msgraph.DriveItem, parentPath, p string, size int64, sum string) (storage.Entry, error) {
	if isOffice(it.Name) {
		if again, err := f.c.GetItem(ctx, f.driveID, it.ID); err == nil {
			it = again
		} else {
			return storage.Entry{}, Wrap("put", p, err)
		}
	} else {
		got := ""
		if it.File != nil && it.File.Hashes != nil {
			got = it.File.Hashes.QuickXorHash
		}
		if it.SizeOrZero() != size || (sum != "" && got != "" && got != sum) {
			return storage.Entry{}, storage.NewError("put", p, nil,
				fmt.Errorf("graph: the service holds %d bytes (quickXorHash %s) after sending %d bytes (%s)", it.SizeOrZero(), got, size, sum))
		}
	}
	f.remember(it)
	return f.entry(it, join(parentPath, it.Name)), nil
}

func isOffice(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".doc", ".xls", ".ppt", ".vsdx", ".one":
		return true
	}
	return false
}

// sessionToken is the UploadState.Token of an upload session. URL is the
// pre-authenticated session URL: a secret.
type sessionToken struct {
	URL        string `json:"u"`
	Drive      string `json:"d"`
	ParentPath string `json:"p"`
}

func encodeToken(t sessionToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (sessionToken, error) {
	var t sessionToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err == nil && t.URL == "" {
		err = errors.New("no session URL")
	}
	return t, err
}

// upload sends r (the file's bytes from offset on) to a session in
// fragments, reporting each confirmed fragment through opt.OnUploadState.
// fresh is true for a session just created (its 404s are the service's
// eventual consistency and are retried).
func (f *FS) upload(ctx context.Context, uploadURL string, r io.Reader, offset int64, st storage.UploadState, opt storage.PutOptions, fresh bool) (*msgraph.DriveItem, error) {
	_, fragment := f.chunking()
	size := st.Size
	buf := make([]byte, min(fragment, max(size-offset, 1)))
	bufStart, bufLen := offset, int64(0) // buf holds [bufStart, bufStart+bufLen)
	tries404, tries416 := 0, 0
	for {
		if offset >= bufStart+bufLen {
			// Read the next fragment.
			n := min(int64(len(buf)), size-offset)
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				f.cancel(ctx, uploadURL)
				return nil, fmt.Errorf("reading the content at offset %d: %w", offset, err)
			}
			if offset+n == size {
				// The last fragment commits: the source must end here.
				if err := atEOF(r, size); err != nil {
					f.cancel(ctx, uploadURL)
					return nil, err
				}
			}
			bufStart, bufLen = offset, n
		}
		data := buf[offset-bufStart : bufLen]
		res, err := f.c.PutFragment(ctx, uploadURL, offset, size, data)
		var ge *msgraph.Error
		switch {
		case err == nil:
		case errors.As(err, &ge) && ge.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			if tries416++; tries416 > 8 {
				return nil, fmt.Errorf("graph: the upload session keeps refusing the range at offset %d: %w", offset, err)
			}
			// The service has more (or other) bytes than we thought: ask it.
			s, serr := f.c.SessionStatus(ctx, uploadURL)
			if serr != nil {
				return nil, serr
			}
			next, nerr := msgraph.NextOffset(s)
			if nerr != nil {
				return nil, nerr
			}
			if next < bufStart || next > bufStart+bufLen || next == offset {
				return nil, fmt.Errorf("graph: the upload session expects offset %d, which cannot be resent: %w", next, err)
			}
			offset = next
			continue
		case errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound && fresh && tries404 < f.retry404:
			// A just-created session may not be visible yet.
			tries404++
			if serr := f.c.Sleep(ctx, time.Duration(tries404)*time.Second); serr != nil {
				return nil, serr
			}
			continue
		default:
			return nil, err
		}
		fresh, tries416 = false, 0
		if res.Item != nil {
			if opt.OnUploadState != nil {
				// The last fragment is confirmed too; the file exists now,
				// so an error from the callback can no longer abort.
				st.Offset = size
				_ = opt.OnUploadState(st)
			}
			return res.Item, nil
		}
		offset += int64(len(data))
		if res.Session != nil && len(res.Session.NextExpectedRanges) > 0 {
			if next, nerr := msgraph.NextOffset(res.Session); nerr == nil && next != offset {
				if next < bufStart || next > bufStart+bufLen {
					return nil, fmt.Errorf("graph: the upload session jumped to offset %d", next)
				}
				offset = next
			}
		}
		if offset >= size {
			return nil, errors.New("graph: every byte was sent but the upload session did not complete")
		}
		st.Offset = offset
		if res.Session != nil && res.Session.ExpirationDateTime != nil {
			st.Expires = *res.Session.ExpirationDateTime
		}
		if opt.OnUploadState != nil {
			if err := opt.OnUploadState(st); err != nil {
				// The session stays open: the caller may have saved the
				// state to resume from.
				return nil, err
			}
		}
	}
}

// cancel cancels an upload session that must not commit (DELETE on the
// session URL), even when ctx is done, within a minute.
func (f *FS) cancel(ctx context.Context, uploadURL string) {
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer stop()
	_ = f.c.CancelSession(cctx, uploadURL)
}

// ResumeUpload continues an upload from its saved state; r yields the
// file's bytes from st.Offset on. A session the service forgot gives
// storage.ErrNotFound.
func (f *FS) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	p := st.Name
	tok, err := decodeToken(st.Token)
	if err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, fmt.Errorf("malformed upload state: %w", err))
	}
	p = join(tok.ParentPath, st.Name)
	if tok.Drive != f.driveID {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, errors.New("the upload belongs to another drive"))
	}
	s, err := f.c.SessionStatus(ctx, tok.URL)
	if err != nil {
		return storage.Entry{}, Wrap("put", p, err)
	}
	next, err := msgraph.NextOffset(s)
	if err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, err)
	}
	if next < st.Offset {
		return storage.Entry{}, storage.NewError("put", p, nil, fmt.Errorf("the session expects offset %d before the saved offset %d", next, st.Offset))
	}
	if next > st.Offset {
		if _, err := io.CopyN(io.Discard, r, next-st.Offset); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
	}
	it, err := f.upload(ctx, tok.URL, r, next, st, opt, false)
	if err != nil {
		return storage.Entry{}, Wrap("put", p, err)
	}
	return f.finish(ctx, it, tok.ParentPath, p, st.Size, "")
}

var _ hash.Hash = quickxorhash.New()

// maxCopyPolls bounds how often Copy reads a copy's monitor URL (with the
// waits between reads growing to 5 s, about 20 minutes in all).
const maxCopyPolls = 250

// Copy copies file e into newParent as newName on the server (POST
// …/copy, then the monitor URL until the copy completes, within ctx). An
// item of that name already there gives storage.ErrAlreadyExists.
func (f *FS) Copy(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	p := join(newParent.Path, newName)
	if err := f.validate(p, newName); err != nil {
		return storage.Entry{}, storage.NewError("copy", p, storage.ErrInvalidName, err)
	}
	if e.IsDir {
		return storage.Entry{}, storage.NewError("copy", e.Path, storage.ErrIsDir, nil)
	}
	if e.ID == "" {
		return storage.Entry{}, storage.NewError("copy", e.Path, storage.ErrNotFound, errors.New("entry has no ID"))
	}
	monitor, err := f.c.Copy(ctx, f.driveID, e.ID, f.parentID(newParent), newName, msgraph.ConflictFail)
	if err != nil {
		return storage.Entry{}, Wrap("copy", p, err)
	}
	wait := 250 * time.Millisecond
	for range maxCopyPolls {
		st, err := f.c.CopyStatus(ctx, monitor)
		if err != nil {
			return storage.Entry{}, Wrap("copy", p, err)
		}
		switch st.Status {
		case "completed":
			if st.ResourceID == "" {
				return storage.Entry{}, storage.NewError("copy", p, nil, errors.New("graph: the copy completed without a resourceId"))
			}
			it, err := f.c.GetItem(ctx, f.driveID, st.ResourceID)
			if err != nil {
				return storage.Entry{}, Wrap("copy", p, err)
			}
			f.remember(it)
			return f.entry(it, join(newParent.Path, it.Name)), nil
		case "failed", "deleteFailed":
			ge := &msgraph.Error{StatusCode: http.StatusOK, Code: st.ErrorCode, Op: "GET copy monitor", Message: "the copy failed"}
			// Unconfirmed against a live tenant: how GET {monitor URL} names a taken destination (a 409 to POST …/copy is handled by Wrap).
			if strings.EqualFold(st.ErrorCode, "nameAlreadyExists") {
				return storage.Entry{}, storage.NewError("copy", p, storage.ErrAlreadyExists, ge)
			}
			return storage.Entry{}, storage.NewError("copy", p, nil, ge)
		}
		if err := f.c.Sleep(ctx, wait); err != nil {
			return storage.Entry{}, Wrap("copy", p, err)
		}
		wait = min(2*wait, 5*time.Second)
	}
	return storage.Entry{}, storage.NewError("copy", p, nil, fmt.Errorf("graph: the copy did not complete after %d status reads", maxCopyPolls))
}

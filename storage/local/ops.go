package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// entry builds the Entry of the item at rel.
func (s *Storage) entry(rel string, fi fs.FileInfo, id, parentID string) storage.Entry {
	e := storage.Entry{
		ID:       id,
		ParentID: parentID,
		Path:     rel,
		IsDir:    fi.IsDir(),
		ModTime:  fi.ModTime(),
		Version:  version(fi),
	}
	if rel == "" {
		e.ParentID = ""
	}
	if !e.IsDir {
		e.Size = fi.Size()
		if sum, ok := s.cachedHash(id, fi); ok {
			e.Hashes = storage.Hashes{storage.HashSHA256: sum}
		}
	}
	s.remember(id, rel)
	return e
}

// maxPaths bounds the memory of where items were last seen.
const maxPaths = 1 << 20

// remember notes that item id was last seen at rel, so that StatID looks
// there first.
func (s *Storage) remember(id, rel string) {
	if rel == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths == nil || len(s.paths) >= maxPaths {
		s.paths = map[string]string{}
	}
	s.paths[id] = rel
}

// List walks the whole tree below the root. Symbolic links, special files,
// temporary files and the storage's own hidden folders are not listed. A
// folder that cannot be read ends the listing with an error (rather than
// making its content look deleted). A complete listing keeps the ID
// attributes it read in MetaDir (see attrsFile), where a later Storage on
// the same root finds them.
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		live := map[string]bool{}
		derived := map[string]string{}
		stopped := false
		sk := &skipCollector{}
		var epoch uint32
		if s.xattr {
			s.loadAttrs()
			epoch = s.beginListing()
		}
		err := s.walkFromCollecting(ctx, "", s.rootID, sk, func(rel string, fi fs.FileInfo, id, parentID string) bool {
			if !s.xattr {
				key := s.identityKey(fi)
				live[key] = true
				if id != key && !strings.Contains(id, "@") {
					derived[key] = id
				}
			}
			if !yield(s.entry(rel, fi, id, parentID), nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil {
			if !stopped {
				yield(storage.Entry{}, wrap("list", "", err))
			}
			return
		}
		if !stopped {
			s.mu.Lock()
			s.skipped = sk.items
			s.mu.Unlock()
		}
		if !stopped && !s.xattr {
			s.walkTrashKeys(live)
			_ = s.syncIndex(live, derived) // best effort: a stale entry only risks a reused inode
		}
		if !stopped && s.xattr {
			_ = s.saveAttrs(epoch) // best effort: a missing entry only costs a read
		}
	}
}

// walk calls fn for every item below the root, folders before their
// content, until fn returns false. Hard links share an inode, hence an ID;
// the second and later paths get the derived ID "<id>@<n>" so that every
// item walked has its own.
func (s *Storage) walk(ctx context.Context, fn func(rel string, fi fs.FileInfo, id, parentID string) bool) error {
	return s.walkFrom(ctx, "", s.rootID, fn)
}

// skipCollector gathers the items a walk leaves out (nil: not gathered).
type skipCollector struct{ items []storage.SkippedItem }

func (c *skipCollector) add(rel, reason string) {
	if c != nil {
		c.items = append(c.items, storage.SkippedItem{Path: rel, Reason: reason})
	}
}

// skipReason says why walkDir leaves out an entry of type t, or "".
func skipReason(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "symbolic link: not followed"
	case !t.IsRegular() && !t.IsDir():
		return "not a regular file or folder (" + t.Type().String() + ")"
	}
	return ""
}

// Skipped returns the symbolic links and special files that the most
// recent complete List left out (storage.SkipReporter).
func (s *Storage) Skipped() []storage.SkippedItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.skipped)
}

// walkFrom is walk for the items below folder dir (ID dirID).
func (s *Storage) walkFrom(ctx context.Context, dir, dirID string, fn func(rel string, fi fs.FileInfo, id, parentID string) bool) error {
	return s.walkFromCollecting(ctx, dir, dirID, nil, fn)
}

// walkFromCollecting is walkFrom that also gathers the items left out in sk.
func (s *Storage) walkFromCollecting(ctx context.Context, dir, dirID string, sk *skipCollector, fn func(rel string, fi fs.FileInfo, id, parentID string) bool) error {
	seen := map[string]int{}
	_, err := s.walkDir(ctx, dir, dirID, sk, func(rel string, fi fs.FileInfo, id, parentID string) bool {
		if !fi.IsDir() {
			if _, _, nlink, _ := fileKey(fi); nlink > 1 {
				if n := seen[id]; n > 0 {
					seen[id] = n + 1
					id = fmt.Sprintf("%s@%d", id, n)
				} else {
					seen[id] = 1
				}
			}
		}
		return fn(rel, fi, id, parentID)
	})
	return err
}

// StatID returns the item with ID id as it is now (storage.IDStater): at
// the path where this Storage last saw it when it is still there, else
// wherever a walk of the tree finds it (so confirming that an item is gone
// costs a walk of the tree). Items in the recycle bin, deleted ones and
// ones moved out of the root give storage.ErrNotFound.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if id == "" {
		return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, errors.New("empty ID"))
	}
	if id == s.rootID {
		return s.rootEntry("stat")
	}
	s.mu.Lock()
	hint := s.paths[id]
	s.mu.Unlock()
	rel, _, fi, fid, err := s.locate(ctx, "stat", storage.Entry{ID: id, Path: hint}, false)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.entry(rel, fi, fid, s.parentID(rel)), nil
}

// ListUnder yields every item below folder dir (storage.SubtreeLister),
// with paths relative to the root, as List does. dir is found by ID when it
// has moved. A missing dir gives storage.ErrNotFound, a file
// storage.ErrNotDir. A file with several hard links inside the subtree is
// numbered as in a walk of the subtree alone.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		rel, id, err := s.locateDir(ctx, "list", dir)
		if err != nil {
			yield(storage.Entry{}, err)
			return
		}
		stopped := false
		err = s.walkFrom(ctx, rel, id, func(r string, fi fs.FileInfo, id, parentID string) bool {
			if !yield(s.entry(r, fi, id, parentID), nil) {
				stopped = true
				return false
			}
			return true
		})
		if err != nil && !stopped {
			yield(storage.Entry{}, wrap("list", rel, err))
		}
	}
}

func (s *Storage) walkDir(ctx context.Context, dir, dirID string, sk *skipCollector, fn func(rel string, fi fs.FileInfo, id, parentID string) bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	items, err := s.readDir(ctx, dir)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		rel := join(dir, it.name)
		if it.skip != "" {
			sk.add(rel, it.skip)
			continue
		}
		if !fn(rel, it.fi, it.id, dirID) {
			return false, nil
		}
		if it.fi.IsDir() {
			more, err := s.walkDir(ctx, rel, it.id, sk, fn)
			if err != nil || !more {
				return false, err
			}
		}
	}
	return true, nil
}

// dirItem is one item of a folder as readDir found it: its FileInfo and
// ID, or why a walk leaves it out.
type dirItem struct {
	name string
	fi   fs.FileInfo
	id   string
	skip string // not "": left out (see skipReason)
}

// readDirPortable is readDir through os.Root, which opens the folder's
// path and every item in it.
func (s *Storage) readDirPortable(ctx context.Context, dir string) ([]dirItem, error) {
	d, err := s.root.Open(osPath(dir))
	if err != nil {
		return nil, wrap("list", dir, err)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, wrap("list", dir, err)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	items := make([]dirItem, 0, len(ents))
	for _, de := range ents {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := de.Name()
		if s.isOwnHidden(dir, name) {
			s.sweepTemp(dir, name) // a temporary item a killed writer left (tmpfiles.go)
			continue
		}
		if why := skipReason(de.Type()); why != "" {
			items = append(items, dirItem{name: name, skip: why})
			continue
		}
		rel := join(dir, name)
		_, fi, id, err := s.lookupPortable(rel, false)
		switch {
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, errSymlink), errors.Is(err, errIrregular):
			continue // gone or changed kind since ReadDir
		case err != nil:
			return nil, wrap("list", rel, err)
		}
		items = append(items, dirItem{name: name, fi: fi, id: id})
	}
	return items, nil
}

// Stat returns the entry at path p ("" is the root). Symbolic links are not
// items of the tree: a path naming one gives storage.ErrNotFound, a path
// leading through one out of the root storage.ErrPermissionDenied.
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, storage.NewError("stat", p, nil, err)
	}
	p, err := cleanPath("stat", p)
	if err != nil {
		return storage.Entry{}, err
	}
	if p == "" {
		return s.rootEntry("stat")
	}
	rel := s.resolve(p)
	fi, id, err := s.identify(rel)
	if err != nil {
		return storage.Entry{}, lookupErr("stat", p, err)
	}
	_, pid, err := s.identify(parentOf(rel))
	if err != nil {
		return storage.Entry{}, lookupErr("stat", p, err)
	}
	return s.entry(rel, fi, id, pid), nil
}

// rootEntry returns the root's entry, or ErrNotFound once the root folder
// has been removed.
func (s *Storage) rootEntry(op string) (storage.Entry, error) {
	fi, err := s.rootInfo(op)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.entry("", fi, s.rootID, ""), nil
}

// rootInfo returns the root folder's FileInfo with its birth stamp, or
// ErrNotFound once the root folder has been removed.
func (s *Storage) rootInfo(op string) (fs.FileInfo, error) {
	fi, err := s.root.Stat(".")
	if err != nil {
		return nil, wrap(op, "", err)
	}
	if _, _, nlink, _ := fileKey(fi); nlink == 0 {
		return nil, storage.NewError(op, "", storage.ErrNotFound, errors.New("the root folder was removed"))
	}
	return withStamp(fi, s.stampAt("")), nil
}

// lookupErr maps a failed lookup of p.
func lookupErr(op, p string, err error) error {
	switch {
	case errors.Is(err, errSymlink), errors.Is(err, errIrregular):
		return storage.NewError(op, p, storage.ErrNotFound, err)
	case errors.Is(err, fs.ErrNotExist), errKind(err) == storage.ErrNotDir:
		// A file where a folder was expected on the way: nothing there.
		return storage.NewError(op, p, storage.ErrNotFound, stripRoot(err))
	}
	return wrap(op, p, err)
}

// resolve returns the stored form of path p: p itself, or with names
// compared without regard to case when the rules say so.
func (s *Storage) resolve(p string) string {
	if p == "" || !s.rules.CaseInsensitive {
		return p
	}
	if _, err := s.root.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		return p
	}
	cur := ""
	for seg := range strings.SplitSeq(p, "/") {
		name, ok, err := s.lookupName(cur, seg)
		if err != nil || !ok {
			return p
		}
		cur = join(cur, name)
	}
	return cur
}

// lookupName finds name in folder dir: the stored name and whether there
// is one. With case-insensitive rules a name of the same Key counts.
func (s *Storage) lookupName(dir, name string) (string, bool, error) {
	return s.lookupNameIn(nil, dir, name)
}

// lookupNameIn is lookupName with folder dir open as d (nil: not open).
func (s *Storage) lookupNameIn(d *os.File, dir, name string) (string, bool, error) {
	var err error
	if d != nil {
		_, err = s.lstatIn(d, dir, name)
	} else {
		_, err = s.lstat(join(dir, name))
	}
	if err == nil {
		return name, true, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !s.rules.CaseInsensitive {
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, nil
		}
		return "", false, err
	}
	dd, err := s.root.Open(osPath(dir))
	if err != nil {
		return "", false, err
	}
	names, err := dd.Readdirnames(-1)
	dd.Close()
	if err != nil {
		return "", false, err
	}
	slices.Sort(names)
	key := s.rules.Key(name)
	for _, n := range names {
		if !s.isOwnHidden(dir, n) && s.rules.Key(n) == key {
			return n, true, nil
		}
	}
	return "", false, nil
}

// locate finds the item e names: at e.Path when the item there has e's ID
// (or e has none), else wherever the item with e.ID now is (a full walk).
// The caller closes f when it is not nil; it is nil when want is false.
func (s *Storage) locate(ctx context.Context, op string, e storage.Entry, want bool) (rel string, f *os.File, fi fs.FileInfo, id string, err error) {
	if err := ctx.Err(); err != nil {
		return "", nil, nil, "", storage.NewError(op, e.Path, nil, err)
	}
	p, err := cleanPath(op, e.Path)
	if err != nil {
		return "", nil, nil, "", err
	}
	if p == "" && (e.ID == "" || e.ID == s.rootID) {
		fi, err := s.rootInfo(op)
		if err != nil {
			return "", nil, nil, "", err
		}
		if want {
			f, err = s.root.Open(".")
			if err != nil {
				return "", nil, nil, "", wrap(op, "", err)
			}
		}
		return "", f, fi, s.rootID, nil
	}
	if p != "" {
		rel = s.resolve(p)
		f, fi, id, err = s.lookup(rel, want) // opened only when wanted
		if err == nil && (e.ID == "" || id == e.ID) {
			if !want && f != nil {
				f.Close()
				f = nil
			}
			return rel, f, fi, id, nil
		}
		if f != nil {
			f.Close()
			f = nil
		}
		if e.ID == "" {
			return "", nil, nil, "", lookupErr(op, p, err)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errSymlink) &&
			!errors.Is(err, errIrregular) && errKind(err) != storage.ErrNotDir {
			return "", nil, nil, "", wrap(op, p, err)
		}
	}
	// The item moved (or e.Path is stale): find it by ID.
	found := ""
	ok := false
	werr := s.walk(ctx, func(r string, _ fs.FileInfo, id, _ string) bool {
		s.remember(id, r) // later lookups of other moved items start there
		if id == e.ID {
			found, ok = r, true
			return false
		}
		return true
	})
	if werr != nil {
		return "", nil, nil, "", wrap(op, e.Path, werr)
	}
	if !ok {
		return "", nil, nil, "", storage.NewError(op, e.Path, storage.ErrNotFound, nil)
	}
	f, fi, id, err = s.openItem(found)
	if err == nil && id != e.ID && !strings.HasPrefix(e.ID, id+"@") {
		err = errRaced
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return "", nil, nil, "", lookupErr(op, found, err)
	}
	if !want && f != nil {
		f.Close()
		f = nil
	}
	return found, f, fi, e.ID, nil
}

// locateDir is locate for a folder that must exist and be one.
func (s *Storage) locateDir(ctx context.Context, op string, e storage.Entry) (string, string, error) {
	rel, _, fi, id, err := s.locate(ctx, op, e, false)
	if err != nil {
		return "", "", err
	}
	if !fi.IsDir() {
		return "", "", storage.NewError(op, rel, storage.ErrNotDir, nil)
	}
	return rel, id, nil
}

// parentID returns the ID of the folder holding rel.
func (s *Storage) parentID(rel string) string {
	if rel == "" {
		return ""
	}
	_, id, err := s.identify(parentOf(rel))
	if err != nil {
		return ""
	}
	return id
}

// Open streams the content of file e. The file is found by ID when it has
// moved since e was listed.
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return s.OpenAt(ctx, e, 0)
}

// OpenAt streams the content of file e from byte offset on. An offset past
// the end yields nothing; a negative one is an error.
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, storage.NewError("open", e.Path, nil, fmt.Errorf("negative offset %d", offset))
	}
	rel, f, fi, _, err := s.locate(ctx, "open", e, true)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if f != nil {
			f.Close()
		}
		return nil, storage.NewError("open", rel, storage.ErrIsDir, nil)
	}
	if f == nil {
		return nil, storage.NewError("open", rel, storage.ErrPermissionDenied, nil)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, wrap("open", rel, err)
		}
	}
	return &ctxFile{ctx: ctx, f: f, rel: rel}, nil
}

// ctxFile is a file reader that stops when its context is done.
type ctxFile struct {
	ctx context.Context
	f   *os.File
	rel string
}

func (c *ctxFile) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.f.Read(p)
	if err != nil && err != io.EOF {
		err = wrap("read", c.rel, err)
	}
	return n, err
}

func (c *ctxFile) Close() error { return c.f.Close() }

// ctxReader stops reading when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Put writes r as file name in folder parent. The content goes to a hidden
// temporary file in the same folder (TempPrefix), is synced and renamed into
// place, then the folder is synced: readers see the old content or the new,
// never a mix, and a failed or short reader leaves nothing behind. A new
// version of an existing file keeps the file's ID and permissions. Within
// a durability batch (BeginBatch), the syncs of the folder and of a new
// file's content wait for the batch's next Flush.
//
// ExpectedVersion is checked before the upload and again just before the
// rename, under a lock that serialises this Storage's puts; another
// program that writes the file in between those last two steps is not
// detected. NoOverwrite uses an atomic rename-without-replace (renameat2)
// or a hard link where the file system lacks it.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	return s.put(ctx, "put", parent, name, r, size, opt)
}

func (s *Storage) put(ctx context.Context, op string, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	if r == nil {
		return storage.Entry{}, storage.NewError(op, name, nil, errors.New("nil reader"))
	}
	if size < -1 {
		return storage.Entry{}, storage.NewError(op, name, nil, fmt.Errorf("invalid size %d", size))
	}
	prel, pid, err := s.locateDir(ctx, op, parent)
	if err != nil {
		return storage.Entry{}, err
	}
	if err := s.validateName(name); err != nil {
		return storage.Entry{}, storage.NewError(op, join(prel, name), storage.ErrInvalidName, err)
	}
	// The folder is opened once: the name's lookup, the new file's
	// creation, its rename into place and its identification after are
	// calls on it.
	dir, err := s.openDir(prel)
	if err != nil {
		return storage.Entry{}, wrap(op, join(prel, name), err)
	}
	defer dir.Close()
	actual, exists, err := s.lookupNameIn(dir, prel, name)
	if err != nil {
		return storage.Entry{}, wrap(op, join(prel, name), err)
	}
	if exists {
		name = actual
	}
	target := join(prel, name)
	var old fs.FileInfo
	id := ""
	if exists {
		if opt.NoOverwrite {
			return storage.Entry{}, storage.NewError(op, target, storage.ErrAlreadyExists, nil)
		}
		ofi, oid, err := s.identify(target)
		switch {
		case errors.Is(err, errSymlink), errors.Is(err, errIrregular):
			return storage.Entry{}, storage.NewError(op, target, storage.ErrAlreadyExists, err)
		case errors.Is(err, fs.ErrNotExist):
			exists = false
		case err != nil:
			return storage.Entry{}, wrap(op, target, err)
		case ofi.IsDir():
			return storage.Entry{}, storage.NewError(op, target, storage.ErrAlreadyExists, errors.New("a folder of that name exists"))
		default:
			old, id = ofi, oid
		}
	}
	if opt.ExpectedVersion != "" && (old == nil || version(old) != opt.ExpectedVersion) {
		return storage.Entry{}, storage.NewError(op, target, storage.ErrPreconditionFailed, nil)
	}

	tmpName := TempPrefix + newID()[:16]
	tmpRel := join(prel, tmpName)
	perm := fs.FileMode(0o666)
	if old != nil {
		perm = old.Mode().Perm()
	}
	f, err := s.createIn(dir, prel, tmpName, perm)
	if err != nil {
		return storage.Entry{}, wrap(op, target, err)
	}
	lockTemp(f) // held until closed: proves the file is not abandoned (tmpfiles.go)
	done := false
	defer func() {
		if !done {
			f.Close()
			_ = s.root.Remove(tmpRel)
		}
	}()
	h := sha256.New()
	if err := copyExact(io.MultiWriter(f, h), ctxReader{ctx, r}, size); err != nil {
		return storage.Entry{}, wrap(op, target, err)
	}
	if old != nil {
		_ = f.Chmod(old.Mode().Perm()) // the umask may have trimmed it
	}
	timesSet := false
	if !opt.ModTime.IsZero() {
		// Through the descriptor where the platform can, before the sync
		// below makes it durable with the content.
		if timesSet, err = setModTime(f, opt.ModTime); err != nil {
			return storage.Entry{}, wrap(op, target, err)
		}
	}
	// A new file's content may be synced with the batch's other new files
	// (see BeginBatch); an existing file's new content is synced before it
	// takes the name.
	deferSync := old == nil && s.batching()
	if !deferSync {
		if err := f.Sync(); err != nil {
			return storage.Entry{}, wrap(op, target, err)
		}
	}
	tfi, err := f.Stat()
	if err != nil {
		return storage.Entry{}, wrap(op, target, err)
	}
	tfi = withStamp(tfi, birthStamp(f))
	if err := s.stampID(f, tfi, id); err != nil {
		return storage.Entry{}, wrap(op, target, err)
	}
	if !opt.ModTime.IsZero() && !timesSet {
		if err := s.root.Chtimes(tmpRel, opt.ModTime, opt.ModTime); err != nil {
			return storage.Entry{}, wrap(op, target, err)
		}
	}
	if !deferSync {
		err = f.Close()
		done = true // f is closed; the clean-up below removes the temp
		if err != nil {
			_ = s.root.Remove(tmpRel)
			return storage.Entry{}, wrap(op, target, err)
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))

	s.putMu.Lock()
	err = s.commitPut(dir, tmpName, tmpRel, name, target, opt)
	s.putMu.Unlock()
	if err != nil {
		if !done {
			f.Close()
			done = true
		}
		_ = s.root.Remove(tmpRel)
		return storage.Entry{}, err
	}
	if !done {
		// In place: the batch syncs and closes it (a batch that ended
		// since leaves it to be synced here).
		unlockTemp(f)
		done = true
		dev, _, _, _ := fileKey(tfi)
		if !s.deferContent(f, target, dev) {
			err := f.Sync()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return storage.Entry{}, wrap(op, target, err)
			}
		}
	}
	s.syncDirLater(dir, prel)
	if old != nil {
		s.forgetInode(old, tfi)
	}
	fi, nid, err := s.identifyIn(dir, prel, name)
	if err != nil {
		return storage.Entry{}, wrap(op, target, err)
	}
	if sameFile(fi, tfi) { // still the file written here
		s.setHash(nid, fi, sum)
	}
	return s.entry(target, fi, nid, pid), nil
}

// commitPut renames the finished temporary file into place, re-checking the
// expected version first. Caller holds putMu.
func (s *Storage) commitPut(dir *os.File, tmpName, tmpRel, name, target string, opt storage.PutOptions) error {
	if opt.ExpectedVersion != "" {
		cur, _, err := s.identify(target)
		if err != nil || version(cur) != opt.ExpectedVersion {
			return storage.NewError("put", target, storage.ErrPreconditionFailed, nil)
		}
	}
	if !opt.NoOverwrite {
		if err := renameAt(dir, tmpName, dir, name); err != nil {
			return wrap("put", target, err)
		}
		return nil
	}
	return s.renameExcl(dir, tmpName, tmpRel, dir, name, target, false)
}

// renameExcl renames old to new without replacing anything at new: with
// renameat2(RENAME_NOREPLACE), else a hard link (files), else a check
// followed by a rename (a small race on file systems that offer neither).
func (s *Storage) renameExcl(od *os.File, oldName, oldRel string, nd *os.File, newName, target string, isDir bool) error {
	err := renameNoReplace(od, oldName, nd, newName)
	if err == nil {
		return nil
	}
	if !isNoReplaceUnsupported(err) {
		return wrap("rename", target, err)
	}
	if !isDir {
		err = linkNoReplace(od, oldName, nd, newName)
		if err == nil {
			return wrap("rename", target, s.root.Remove(oldRel))
		}
		if !isNoReplaceUnsupported(err) {
			return wrap("rename", target, err)
		}
	}
	if _, err := s.root.Lstat(target); err == nil {
		return storage.NewError("rename", target, storage.ErrAlreadyExists, nil)
	}
	return wrap("rename", target, renameAt(od, oldName, nd, newName))
}

// copyExact copies r to w: exactly size bytes when size >= 0 (fewer or more
// is an error), everything when size is -1.
func copyExact(w io.Writer, r io.Reader, size int64) error {
	if size < 0 {
		_, err := io.Copy(w, r)
		return err
	}
	n, err := io.CopyN(w, r, size)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the reader yielded %d of %d declared bytes: %w", n, size, io.ErrUnexpectedEOF)
		}
		return err
	}
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	if k > 0 {
		return fmt.Errorf("the reader yielded more than the %d declared bytes", size)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// MakeDir creates folder name in parent. An existing folder of that name is
// returned with an error matching storage.ErrAlreadyExists. The folder is
// created under a hidden name, given its ID and renamed into place, so it
// never appears without its ID.
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	prel, pid, err := s.locateDir(ctx, "mkdir", parent)
	if err != nil {
		return storage.Entry{}, err
	}
	if err := s.validateName(name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", join(prel, name), storage.ErrInvalidName, err)
	}
	existing := func() (storage.Entry, error) {
		actual, ok, err := s.lookupName(prel, name)
		if err != nil || !ok {
			return storage.Entry{}, storage.NewError("mkdir", join(prel, name), storage.ErrAlreadyExists, err)
		}
		p := join(prel, actual)
		fi, id, err := s.identify(p)
		if err != nil {
			return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
		}
		if !fi.IsDir() {
			return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrAlreadyExists, errors.New("a file of that name exists"))
		}
		return s.entry(p, fi, id, pid), storage.NewError("mkdir", p, storage.ErrAlreadyExists, nil)
	}
	if _, ok, err := s.lookupName(prel, name); err != nil {
		return storage.Entry{}, wrap("mkdir", join(prel, name), err)
	} else if ok {
		return existing()
	}
	target := join(prel, name)
	dir, err := s.openDir(prel)
	if err != nil {
		return storage.Entry{}, wrap("mkdir", target, err)
	}
	defer dir.Close()
	tmpName := TempPrefix + newID()[:16]
	tmpRel := join(prel, tmpName)
	if err := s.root.Mkdir(tmpRel, 0o777); err != nil {
		return storage.Entry{}, wrap("mkdir", target, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = s.root.Remove(tmpRel)
		}
	}()
	f, err := s.root.Open(tmpRel)
	if err != nil {
		return storage.Entry{}, wrap("mkdir", target, err)
	}
	tfi, err := f.Stat()
	if err == nil {
		err = s.stampID(f, withStamp(tfi, birthStamp(f)), "")
	}
	f.Close()
	if err != nil {
		return storage.Entry{}, wrap("mkdir", target, err)
	}
	if err := s.renameExcl(dir, tmpName, tmpRel, dir, name, target, true); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return existing()
		}
		return storage.Entry{}, err
	}
	ok = true
	s.syncDirLater(dir, prel)
	fi, id, err := s.identify(target)
	if err != nil {
		return storage.Entry{}, wrap("mkdir", target, err)
	}
	return s.entry(target, fi, id, pid), nil
}

// Move renames e and/or moves it into newParent; its ID stays. An item at
// the destination gives storage.ErrAlreadyExists (nothing is overwritten),
// a missing newParent storage.ErrNotFound, moving the root or a folder into
// itself storage.ErrUnsupported. With case-insensitive rules a change of
// case only is a rename.
func (s *Storage) Move(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	rel, _, fi, id, err := s.locate(ctx, "move", e, false)
	if err != nil {
		return storage.Entry{}, err
	}
	if rel == "" {
		return storage.Entry{}, storage.NewError("move", "", storage.ErrUnsupported, errors.New("cannot move the root"))
	}
	nprel, npid, err := s.locateDir(ctx, "move", newParent)
	if err != nil {
		return storage.Entry{}, err
	}
	target := join(nprel, newName)
	if err := s.validateName(newName); err != nil {
		return storage.Entry{}, storage.NewError("move", target, storage.ErrInvalidName, err)
	}
	if fi.IsDir() && (nprel == rel || strings.HasPrefix(nprel, rel+"/")) {
		return storage.Entry{}, storage.NewError("move", rel, storage.ErrUnsupported, errors.New("cannot move a folder into itself"))
	}
	if target == rel {
		return s.entry(rel, fi, id, npid), nil
	}
	sd, err := s.root.Open(osPath(parentOf(rel)))
	if err != nil {
		return storage.Entry{}, wrap("move", rel, err)
	}
	defer sd.Close()
	nd, err := s.root.Open(osPath(nprel))
	if err != nil {
		return storage.Entry{}, wrap("move", target, err)
	}
	defer nd.Close()
	actual, exists, err := s.lookupName(nprel, newName)
	if err != nil {
		return storage.Entry{}, wrap("move", target, err)
	}
	if exists {
		dfi, err := s.root.Lstat(join(nprel, actual))
		if err != nil || !sameFile(dfi, fi) {
			return storage.Entry{}, storage.NewError("move", target, storage.ErrAlreadyExists, err)
		}
		// The same item under another case: a plain rename.
		if err := renameAt(sd, path.Base(rel), nd, newName); err != nil {
			return storage.Entry{}, wrap("move", target, err)
		}
	} else if err := s.renameExcl(sd, path.Base(rel), rel, nd, newName, target, fi.IsDir()); err != nil {
		return storage.Entry{}, err
	}
	s.syncDirLater(sd, parentOf(rel))
	if nprel != parentOf(rel) {
		s.syncDirLater(nd, nprel)
	}
	nfi, nid, err := s.identify(target)
	if err != nil {
		return storage.Entry{}, wrap("move", target, err)
	}
	return s.entry(target, nfi, nid, npid), nil
}

// Delete moves e (a folder with everything in it) to the recycle bin, or
// removes it for good when the Storage was opened WithoutTrash. Deleting
// the root gives storage.ErrPermissionDenied.
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error {
	rel, _, fi, id, err := s.locate(ctx, "delete", e, false)
	if err != nil {
		return err
	}
	if rel == "" {
		return storage.NewError("delete", "", storage.ErrPermissionDenied, errors.New("cannot delete the root"))
	}
	if s.cfg.noTrash {
		if fi.IsDir() {
			err = s.root.RemoveAll(rel)
		} else {
			err = s.root.Remove(rel)
		}
		if err != nil {
			return wrap("delete", rel, err)
		}
		s.forgetInode(fi, nil)
	} else if err := s.toTrash(ctx, rel, fi, id); err != nil {
		return err
	}
	s.dropHash(id)
	if !s.deferSync(parentOf(rel)) {
		if d, err := s.root.Open(osPath(parentOf(rel))); err == nil {
			_ = d.Sync()
			d.Close()
		}
	}
	return nil
}

// Copy copies file e into newParent as newName (a new item with its own
// ID, the source's modification time and content). An item of that name
// gives storage.ErrAlreadyExists; a folder e storage.ErrIsDir.
func (s *Storage) Copy(ctx context.Context, e storage.Entry, newParent storage.Entry, newName string) (storage.Entry, error) {
	rel, f, fi, _, err := s.locate(ctx, "copy", e, true)
	if err != nil {
		return storage.Entry{}, err
	}
	if f != nil {
		defer f.Close()
	}
	if fi.IsDir() {
		return storage.Entry{}, storage.NewError("copy", rel, storage.ErrIsDir, nil)
	}
	if f == nil {
		return storage.Entry{}, storage.NewError("copy", rel, storage.ErrPermissionDenied, nil)
	}
	return s.put(ctx, "copy", newParent, newName, f, fi.Size(), storage.PutOptions{NoOverwrite: true, ModTime: fi.ModTime()})
}

// Hash returns file e's SHA-256 (storage.HashSHA256, lower-case hex); other
// kinds give storage.ErrUnsupported. Hashes are cached in memory by ID,
// size, modification time and inode, and Entries from List and Stat carry
// the hash while the cached one is still valid. An edit that keeps size and
// modification time (both can be set by programs) is not noticed.
func (s *Storage) Hash(ctx context.Context, e storage.Entry, k storage.HashKind) (string, error) {
	if k != storage.HashSHA256 {
		return "", storage.NewError("hash", e.Path, storage.ErrUnsupported, fmt.Errorf("hash kind %q", k))
	}
	rel, f, fi, id, err := s.locate(ctx, "hash", e, true)
	if err != nil {
		return "", err
	}
	if f != nil {
		defer f.Close()
	}
	if fi.IsDir() {
		return "", storage.NewError("hash", rel, storage.ErrIsDir, nil)
	}
	if sum, ok := s.cachedHash(id, fi); ok {
		return sum, nil
	}
	if f == nil {
		return "", storage.NewError("hash", rel, storage.ErrPermissionDenied, nil)
	}
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", wrap("hash", rel, err)
	}
	after, err := f.Stat()
	if err != nil {
		return "", wrap("hash", rel, err)
	}
	if contentKey(after) != contentKey(fi) {
		return "", storage.NewError("hash", rel, nil, errors.New("the file changed while it was hashed"))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	s.setHash(id, fi, sum)
	return sum, nil
}

func (s *Storage) cachedHash(id string, fi fs.FileInfo) (string, bool) {
	s.mu.Lock()
	h, ok := s.hash[id]
	s.mu.Unlock()
	if !ok || h.version != contentKey(fi) {
		return "", false
	}
	return h.sum, true
}

func (s *Storage) setHash(id string, fi fs.FileInfo, sum string) {
	s.mu.Lock()
	s.hash[id] = hashEntry{version: contentKey(fi), sum: sum}
	s.mu.Unlock()
}

func (s *Storage) dropHash(id string) {
	s.mu.Lock()
	delete(s.hash, id)
	s.mu.Unlock()
}

// forgetInode drops the index entry of a removed inode (index mode), so
// that a new item on a reused inode number does not inherit its ID. keep,
// when not nil, is an inode that must keep its entry.
func (s *Storage) forgetInode(gone, keep fs.FileInfo) {
	_, _, nlink, _ := fileKey(gone)
	if s.xattr || nlink > 1 || (keep != nil && sameFile(gone, keep)) {
		return
	}
	key := s.identityKey(gone)
	_ = s.updateIndex(func(m map[string]string, _ map[string]bool) bool {
		if _, ok := m[key]; !ok {
			return false
		}
		delete(m, key)
		return true
	})
}

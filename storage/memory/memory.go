package memory

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// Storage is an in-memory storage.Storage. Its methods are safe for
// concurrent use. Make one with New; Sub makes another handle on a
// sub-folder of the same tree.
type Storage struct {
	t      *tree
	rootID string
	f      *faults

	userMu sync.Mutex
	user   string
}

// Compile-time checks of the capabilities.
var (
	_ storage.Storage           = (*Storage)(nil)
	_ storage.ChangeFeed        = (*Storage)(nil)
	_ storage.Watcher           = (*Storage)(nil)
	_ storage.ResumableUploader = (*Storage)(nil)
	_ storage.RangeOpener       = (*Storage)(nil)
	_ storage.Copier            = (*Storage)(nil)
	_ storage.Hasher            = (*Storage)(nil)
	_ storage.IDStater          = (*Storage)(nil)
	_ storage.SubtreeLister     = (*Storage)(nil)
)

// New returns an empty Storage: a tree holding just its root folder.
func New(opts ...Option) *Storage {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	t := newTree(cfg)
	return &Storage{t: t, rootID: t.top.id, f: newFaults()}
}

// SetChunking changes, for the whole tree, when Put uploads in chunks and
// how large they are, as WithChunking does (a threshold of 0: never; a chunk
// size below 1 is ignored). Uploads under way keep their chunk size.
func (s *Storage) SetChunking(threshold, chunk int64) {
	s.t.chunkThreshold.Store(max(threshold, 0))
	if chunk > 0 {
		s.t.chunkSize.Store(chunk)
	}
}

// Sub returns a Storage rooted at the folder with the given ID in the same
// tree. It follows that folder by ID: renaming or moving the folder keeps
// the Sub working, and once the folder is deleted Stat(ctx, "") and every
// other operation give storage.ErrNotFound. The Sub has its own call
// counters, faults and user; it shares content, change log, recycle bin,
// upload sessions and watchers with s.
func (s *Storage) Sub(id string) *Storage {
	return &Storage{t: s.t, rootID: id, f: newFaults()}
}

// RootID returns the ID of the Storage's root folder.
func (s *Storage) RootID() string { return s.rootID }

// SetUser sets the name recorded as CreatedBy and ModifiedBy for items that
// this handle writes from now on ("" by default).
func (s *Storage) SetUser(name string) {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	s.user = name
}

func (s *Storage) currentUser() string {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	return s.user
}

// root returns the root folder. Caller holds the tree's mutex.
func (s *Storage) root(op string) (*node, error) {
	n := s.t.nodes[s.rootID]
	if n == nil || !n.isDir() {
		return nil, errorf(op, "", storage.ErrNotFound, "the storage root is gone")
	}
	return n, nil
}

// Features describes the Storage as configured.
func (s *Storage) Features() storage.Features {
	c := s.t.cfg
	return storage.Features{
		Hashes:            append([]storage.HashKind(nil), c.hashes...),
		Names:             c.rules,
		MaxFileSize:       c.maxFileSize,
		MaxDepth:          c.maxDepth,
		VersionHistory:    c.versionHistory,
		RecycleBin:        c.recycleBin,
		ConditionalPut:    true,
		ConditionalDelete: !c.noConditional,
		ConditionalMove:   !c.noConditional,
		SetModTime:        true,
		ModTimePrecision:  c.precision,
		Upload: storage.UploadConstraints{
			ChunkThreshold: s.t.chunkThreshold.Load(),
			MinChunk:       1,
			MaxChunk:       1 << 30,
		},
	}
}

// List yields every item below the root. It holds no lock while it yields:
// it reads the tree a few hundred items at a time, so items changed while a
// listing runs may or may not be seen in their new state, as with a real
// service. Entries share their Hashes map with the Storage: treat it as
// read-only (Clone it to change it).
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		if err := s.f.before(ctx, OpList); err != nil {
			yield(storage.Entry{}, err)
			return
		}
		type dirRef struct {
			n *node
			p string
		}
		t := s.t
		t.mu.RLock()
		root, err := s.root("list")
		t.mu.RUnlock()
		if err != nil {
			yield(storage.Entry{}, err)
			return
		}
		const batchSize = 512
		stack := []dirRef{{root, ""}}
		batch := make([]storage.Entry, 0, batchSize)
		for len(stack) > 0 {
			t.mu.RLock()
			for len(stack) > 0 && len(batch) < batchSize {
				d := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if d.n.deleted {
					continue
				}
				for _, c := range d.n.children {
					// The cached path, when c is still below root (the
					// tree may change between batches).
					p, ok := pathBelow(c, root)
					if !ok {
						p = join(d.p, c.name)
					}
					batch = append(batch, t.entry(c, p, root))
					if c.isDir() {
						stack = append(stack, dirRef{c, p})
					}
				}
			}
			t.mu.RUnlock()
			for _, e := range batch {
				if !yield(e, nil) {
					return
				}
			}
			clear(batch)
			batch = batch[:0]
			if err := ctx.Err(); err != nil && len(stack) > 0 {
				yield(storage.Entry{}, err)
				return
			}
		}
	}
}

// Stat returns the entry at path p ("" is the root).
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	if err := s.f.before(ctx, OpStat); err != nil {
		return storage.Entry{}, err
	}
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	root, n, rp, err := s.atPath("stat", p)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.t.entry(n, rp, root), nil
}

// Open streams the content of file e, found by e.ID (by e.Path when the ID
// is empty).
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	if err := s.f.before(ctx, OpOpen); err != nil {
		return nil, err
	}
	return s.open(ctx, "open", e, 0)
}

// OpenAt streams the content of file e from byte offset on. An offset
// beyond the end gives an error matching storage.ErrUnsupported.
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if err := s.f.before(ctx, OpOpenAt); err != nil {
		return nil, err
	}
	return s.open(ctx, "open", e, offset)
}

func (s *Storage) open(ctx context.Context, op string, e storage.Entry, offset int64) (io.ReadCloser, error) {
	s.t.mu.RLock()
	root, err := s.root(op)
	if err != nil {
		s.t.mu.RUnlock()
		return nil, err
	}
	n, p, err := s.t.lookup(op, root, e)
	if err != nil {
		s.t.mu.RUnlock()
		return nil, err
	}
	if n.isDir() {
		s.t.mu.RUnlock()
		return nil, errorf(op, p, storage.ErrIsDir, "")
	}
	data := n.blob.data
	s.t.mu.RUnlock()
	if offset < 0 || offset > int64(len(data)) {
		return nil, errorf(op, p, storage.ErrUnsupported, "offset %d outside the file's %d bytes", offset, len(data))
	}
	return s.f.wrapReader(&ctxReader{ctx: ctx, r: bytes.NewReader(data[offset:])}), nil
}

// ctxReader fails reads once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *ctxReader) Close() error { return nil }

// MakeDir creates folder name in parent (found by ID, or by path when the
// ID is empty; a zero Entry is the root).
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	if err := s.f.before(ctx, OpMakeDir); err != nil {
		return storage.Entry{}, err
	}
	user := s.currentUser()
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, err := s.root("mkdir")
	if err != nil {
		return storage.Entry{}, err
	}
	pn, pp, err := s.t.lookupDir("mkdir", root, parent)
	if err != nil {
		return storage.Entry{}, err
	}
	n, err := s.t.mkdir(pn, pp, name, user)
	if n == nil {
		return storage.Entry{}, err
	}
	rp, _ := relPath(n, root)
	return s.t.entry(n, rp, root), err
}

// Move renames e and/or moves it into newParent, keeping its ID. The
// item's Version changes. Moving a folder into itself or below itself, or
// moving the root, gives an error matching storage.ErrUnsupported. Unless
// WithConditionalDeleteMove(false) was given, an e.Version that is not
// empty and not the item's current Version gives
// storage.ErrPreconditionFailed and nothing moves.
func (s *Storage) Move(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	if err := s.f.before(ctx, OpMove); err != nil {
		return storage.Entry{}, err
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, n, p, err := s.atEntry("move", e)
	if err != nil {
		return storage.Entry{}, err
	}
	if n == root {
		return storage.Entry{}, errorf("move", "", storage.ErrUnsupported, "%v", errRoot)
	}
	if err := s.checkVersion("move", n, p, e.Version); err != nil {
		return storage.Entry{}, err
	}
	pn, pp, err := s.t.lookupDir("move", root, newParent)
	if err != nil {
		return storage.Entry{}, err
	}
	if err := s.t.move(root, n, pn, pp, newName); err != nil {
		return storage.Entry{}, err
	}
	p, _ = relPath(n, root)
	return s.t.entry(n, p, root), nil
}

// Delete removes e and everything below it, into the recycle bin when it is
// on. Deleting the root gives an error matching storage.ErrPermissionDenied.
// Unless WithConditionalDeleteMove(false) was given, an e.Version that is
// not empty and not the item's current Version gives
// storage.ErrPreconditionFailed and nothing is deleted (for a folder, its
// own Version: what was added inside does not change it).
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error {
	if err := s.f.before(ctx, OpDelete); err != nil {
		return err
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, n, p, err := s.atEntry("delete", e)
	if err != nil {
		return err
	}
	if n == root {
		return errorf("delete", "", storage.ErrPermissionDenied, "%v", errRoot)
	}
	if err := s.checkVersion("delete", n, p, e.Version); err != nil {
		return err
	}
	s.t.remove(n)
	return nil
}

// checkVersion refuses to act on n when version is set, conditional
// deletes and moves are on, and n has another Version. Caller holds mu.
func (s *Storage) checkVersion(op string, n *node, p, version string) error {
	if version == "" || s.t.cfg.noConditional || version == n.version {
		return nil
	}
	return errorf(op, p, storage.ErrPreconditionFailed, "the item changed: Version %s, not %s", n.version, version)
}

// StatID returns the item with ID id as it is now, with its path below
// this Storage's root. An item that was deleted (it may be in the recycle
// bin) or now lies outside the root gives storage.ErrNotFound.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if err := s.f.before(ctx, OpStatID); err != nil {
		return storage.Entry{}, err
	}
	if id == "" {
		return storage.Entry{}, errorf("stat", "", storage.ErrNotFound, "empty ID")
	}
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	root, n, p, err := s.atEntry("stat", storage.Entry{ID: id})
	if err != nil {
		return storage.Entry{}, err
	}
	return s.t.entry(n, p, root), nil
}

// ListUnder yields every item below folder dir (found by ID, or by path
// when the ID is empty), with paths relative to the root, in the manner of
// List. A missing dir gives storage.ErrNotFound; a file storage.ErrNotDir.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		if err := s.f.before(ctx, OpListUnder); err != nil {
			yield(storage.Entry{}, err)
			return
		}
		s.t.mu.RLock()
		var out []storage.Entry
		root, err := s.root("list")
		var d *node
		var dp string
		if err == nil {
			d, dp, err = s.t.lookupDir("list", root, dir)
		}
		if err == nil {
			var walk func(n *node, p string)
			walk = func(n *node, p string) {
				for _, c := range n.children {
					cp := join(p, c.name)
					out = append(out, s.t.entry(c, cp, root))
					if c.isDir() {
						walk(c, cp)
					}
				}
			}
			walk(d, dp)
		}
		s.t.mu.RUnlock()
		if err != nil {
			yield(storage.Entry{}, err)
			return
		}
		for _, e := range out {
			if err := ctx.Err(); err != nil {
				yield(storage.Entry{}, err)
				return
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Copy copies file e into newParent as newName. The copy shares the
// original's content (nothing is duplicated in memory) and gets a new ID.
// An item of that name in newParent gives storage.ErrAlreadyExists; a
// folder e gives storage.ErrIsDir.
func (s *Storage) Copy(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	if err := s.f.before(ctx, OpCopy); err != nil {
		return storage.Entry{}, err
	}
	user := s.currentUser()
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, n, p, err := s.atEntry("copy", e)
	if err != nil {
		return storage.Entry{}, err
	}
	if n.isDir() {
		return storage.Entry{}, errorf("copy", p, storage.ErrIsDir, "")
	}
	pn, pp, err := s.t.lookupDir("copy", root, newParent)
	if err != nil {
		return storage.Entry{}, err
	}
	c, err := s.t.commit(pn, pp, newName, n.blob, PutOptionsMemo{NoOverwrite: true, ModTime: n.modTime}, user)
	if err != nil {
		return storage.Entry{}, err
	}
	cp, _ := relPath(c, root)
	return s.t.entry(c, cp, root), nil
}

// Hash returns file e's content hash of kind k (md5, sha1 or sha256, hex),
// computing it when it is not one of the configured kinds. Other kinds give
// an error matching storage.ErrUnsupported.
func (s *Storage) Hash(ctx context.Context, e storage.Entry, k storage.HashKind) (string, error) {
	if err := s.f.before(ctx, OpHash); err != nil {
		return "", err
	}
	s.t.mu.RLock()
	root, err := s.root("hash")
	if err != nil {
		s.t.mu.RUnlock()
		return "", err
	}
	n, p, err := s.t.lookup("hash", root, e)
	if err != nil {
		s.t.mu.RUnlock()
		return "", err
	}
	if n.isDir() {
		s.t.mu.RUnlock()
		return "", errorf("hash", p, storage.ErrIsDir, "")
	}
	b := n.blob
	s.t.mu.RUnlock()
	if h := b.hashes[k]; h != "" {
		return h, nil
	}
	if newHash(k) == nil {
		return "", errorf("hash", p, storage.ErrUnsupported, "hash kind %q", k)
	}
	return newBlob(b.data, []storage.HashKind{k}).hashes[k], nil
}

// Watch returns a channel that receives a (coalesced) signal after every
// change anywhere in the tree, including changes outside a Sub's root. It
// is closed when ctx is done.
func (s *Storage) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := s.f.before(ctx, OpWatch); err != nil {
		return nil, err
	}
	return s.t.watchers.Watch(ctx), nil
}

// Version is one version of a file, as Versions reports it.
type Version struct {
	Version    string
	Size       int64
	ModTime    time.Time
	Hashes     storage.Hashes
	ModifiedBy string
	// Data is the content. It is a copy the caller may keep.
	Data []byte
}

// Versions returns the versions of the file with the given ID, oldest
// first; the last is the current content. With version history off it
// holds only the current content. A missing ID or a folder gives nil.
// Versions is a test convenience; it is not counted as a call.
func (s *Storage) Versions(id string) []Version {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	n := s.t.nodes[id]
	if n == nil || n.isDir() {
		return nil
	}
	out := make([]Version, 0, len(n.history)+1)
	for _, v := range append(n.history[:len(n.history):len(n.history)], versionOf(n)) {
		v.Data = bytes.Clone(v.Data)
		if v.Data == nil {
			v.Data = []byte{}
		}
		v.Hashes = v.Hashes.Clone()
		out = append(out, v)
	}
	return out
}

// TrashedItem is an item in the recycle bin, as Trash reports it.
type TrashedItem struct {
	// Entry is the item as it was when it was deleted; Path is its original
	// path below the root of the Storage that Trash was called on.
	Entry storage.Entry
	// Data is a file's content (a copy the caller may keep); nil for
	// folders.
	Data []byte
	// DeletedAt is when it was deleted, by the Storage's clock.
	DeletedAt time.Time
}

// Trash returns what the recycle bin holds from below this Storage's root,
// in the order of deletion (a folder's contents before the folder). Every
// deleted item is listed, descendants of a deleted folder included. With the
// recycle bin off it is empty. Trash is a test convenience; it is not
// counted as a call.
func (s *Storage) Trash() []TrashedItem {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	var out []TrashedItem
	for _, tr := range s.t.trash {
		p, ok := relFromAnc(tr.anc, tr.entry.Path, s.rootID)
		if !ok {
			continue
		}
		e := tr.entry
		e.Path = p
		e.Hashes = e.Hashes.Clone()
		var data []byte
		if !e.IsDir {
			data = bytes.Clone(tr.data)
			if data == nil {
				data = []byte{}
			}
		}
		out = append(out, TrashedItem{Entry: e, Data: data, DeletedAt: tr.deletedAt})
	}
	return out
}

// EmptyTrash removes everything from the recycle bin (of the whole tree).
func (s *Storage) EmptyTrash() {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	s.t.trash = nil
}

// errNoSession is the cause for unknown or expired upload sessions.
var errNoSession = errors.New("unknown or expired upload session")

// timeZero asks tree.now for the clock's time.
var timeZero time.Time

// atPath returns the Storage's root and the node at path p below it (with
// its path as stored). The caller holds the tree's lock.
func (s *Storage) atPath(op, p string) (root, n *node, rp string, err error) {
	if root, err = s.root(op); err != nil {
		return nil, nil, "", err
	}
	n, rp, err = s.t.resolve(op, root, p)
	return root, n, rp, err
}

// atEntry returns the Storage's root and the node e names (by ID, else by
// path) with its path. The caller holds the tree's lock.
func (s *Storage) atEntry(op string, e storage.Entry) (root, n *node, p string, err error) {
	if root, err = s.root(op); err != nil {
		return nil, nil, "", err
	}
	n, p, err = s.t.lookup(op, root, e)
	return root, n, p, err
}

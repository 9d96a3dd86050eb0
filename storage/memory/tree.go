package memory

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/procoresync/procoresync/internal/wake"

	"github.com/procoresync/procoresync/storage"
)

// treeNonce distinguishes the change cursors of different trees.
var treeNonce atomic.Uint64

// node is one file or folder. Folders have a non-nil children map; files a
// blob. Fields are guarded by the tree's mutex.
type node struct {
	id         string
	name       string
	key        string // rules.Key(name)
	parent     *node
	path       string           // below the tree's top folder, kept up to date by place
	children   map[string]*node // by key; folders only
	blob       *blob            // files only
	modTime    time.Time
	version    string
	createdBy  string
	modifiedBy string
	history    []Version // older versions, oldest first (version history on)
	deleted    bool
}

func (n *node) isDir() bool { return n.children != nil }

// place makes n a child of parent (without adding it to parent's
// children) and updates the cached paths of n and everything below it.
// Caller holds the tree's write lock.
func (n *node) place(parent *node) {
	n.parent = parent
	n.repath()
}

// repath recomputes the cached paths of n and everything below it.
func (n *node) repath() {
	n.path = join(n.parent.path, n.name)
	for _, c := range n.children {
		c.repath()
	}
}

// pathBelow returns n's path below folder root from the cached paths,
// without allocating, and whether n lies below root.
func pathBelow(n, root *node) (string, bool) {
	rp := root.path
	if rp == "" { // root is the top folder, the only one with an empty path
		return n.path, n.path != ""
	}
	if len(n.path) > len(rp) && n.path[len(rp)] == '/' && n.path[:len(rp)] == rp {
		return n.path[len(rp)+1:], true
	}
	return "", false
}

// blob is one immutable content version: its bytes and hashes, computed
// once. Blobs are shared (by Copy, by Open's readers), never modified.
type blob struct {
	data   []byte
	hashes storage.Hashes
}

func newHash(k storage.HashKind) hash.Hash {
	switch k {
	case storage.HashMD5:
		return md5.New()
	case storage.HashSHA1:
		return sha1.New()
	case storage.HashSHA256:
		return sha256.New()
	}
	return nil
}

func newBlob(data []byte, kinds []storage.HashKind) *blob {
	b := &blob{data: data}
	if len(kinds) > 0 {
		b.hashes = make(storage.Hashes, len(kinds))
		for _, k := range kinds {
			h := newHash(k)
			h.Write(data)
			b.hashes[k] = hex.EncodeToString(h.Sum(nil))
		}
	}
	return b
}

// changeKind says what a change-log record reports.
type changeKind uint8

const (
	chChange changeKind = iota // created or content changed: report as it is now
	chMove                     // moved or renamed: path and anc say where it was
	chDelete                   // deleted: path and anc say where it was
)

// logRec is one change-log record. For moves and deletions path is the
// item's former path below the tree's top folder and anc the IDs of its
// former ancestors, top first, so that a Sub storage can tell whether the
// item was in its subtree.
type logRec struct {
	id    string
	kind  changeKind
	isDir bool
	path  string
	anc   []string
}

// trashRec is one item in the recycle bin.
type trashRec struct {
	entry     storage.Entry // Path below the tree's top folder
	data      []byte
	anc       []string
	deletedAt time.Time
}

// session is an unfinished chunked upload.
type session struct {
	token    string
	parentID string
	name     string
	size     int64
	buf      []byte // confirmed bytes
	opt      PutOptionsMemo
	expires  time.Time
	busy     bool
}

// PutOptionsMemo is the part of storage.PutOptions an upload session
// remembers between Put and ResumeUpload. It is exported only so that it
// can be documented; callers never need it.
type PutOptionsMemo struct {
	ExpectedVersion string
	NoOverwrite     bool
	ModTime         time.Time
}

// tree is the state shared by a Storage and its Subs.
type tree struct {
	mu       sync.RWMutex
	cfg      config
	nonce    uint64
	nodes    map[string]*node
	top      *node
	nextID   uint64
	nextVer  uint64
	log      []logRec
	logBase  uint64 // sequence number of log[0]
	trash    []trashRec
	sessions map[string]*session
	watchers wake.Broadcaster // Watch channels

	// chunkThreshold and chunkSize can change after New (SetChunking).
	chunkThreshold, chunkSize atomic.Int64
}

func newTree(cfg config) *tree {
	t := &tree{
		cfg:      cfg,
		nonce:    treeNonce.Add(1),
		nodes:    map[string]*node{},
		sessions: map[string]*session{},
	}
	t.chunkThreshold.Store(cfg.chunkThreshold)
	t.chunkSize.Store(cfg.chunkSize)
	t.top = t.newNode("", true)
	t.top.modTime = t.now(time.Time{})
	return t
}

// now returns mt (or the clock when mt is zero) at the configured precision.
func (t *tree) now(mt time.Time) time.Time {
	if mt.IsZero() {
		mt = t.cfg.clock()
	}
	return mt.Round(0).Truncate(t.cfg.precision)
}

func (t *tree) newNode(name string, dir bool) *node {
	t.nextID++
	n := &node{id: "i" + strconv.FormatUint(t.nextID, 36), name: name, key: t.cfg.rules.Key(name)}
	if dir {
		n.children = map[string]*node{}
	}
	n.version = t.newVersion()
	t.nodes[n.id] = n
	return n
}

func (t *tree) newVersion() string {
	t.nextVer++
	return "v" + strconv.FormatUint(t.nextVer, 36)
}

// storedName returns name in the normal form the Storage stores names in.
func (t *tree) storedName(name string) string {
	switch t.cfg.rules.Normalization {
	case storage.NormNFC:
		return norm.NFC.String(name)
	case storage.NormNFD:
		return norm.NFD.String(name)
	}
	return name
}

// record appends a change and wakes the watchers. Caller holds mu.
func (t *tree) record(r logRec) {
	t.log = append(t.log, r)
	if limit := t.cfg.logSize; len(t.log) > limit+limit/4+16 {
		drop := len(t.log) - limit
		t.log = append([]logRec(nil), t.log[drop:]...)
		t.logBase += uint64(drop)
	}
	t.watchers.Notify()
}

// relPath returns n's path below root, and whether n is root or below it.
func relPath(n, root *node) (string, bool) {
	if n == root {
		return "", true
	}
	var segs []string
	for c := n; c != nil; c = c.parent {
		if c == root {
			for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
				segs[i], segs[j] = segs[j], segs[i]
			}
			return strings.Join(segs, "/"), true
		}
		segs = append(segs, c.name)
	}
	return "", false
}

// ancestors returns the IDs of n's ancestors, top first.
func ancestors(n *node) []string {
	var a []string
	for c := n.parent; c != nil; c = c.parent {
		a = append(a, c.id)
	}
	for i, j := 0, len(a)-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
	return a
}

// relFromAnc turns a former top-relative path with its former ancestors into
// a path below the folder rootID, if the item was below it.
func relFromAnc(anc []string, p, rootID string) (string, bool) {
	for i, id := range anc {
		if id != rootID {
			continue
		}
		rest := p
		for range i {
			k := strings.IndexByte(rest, '/')
			if k < 0 {
				return "", false
			}
			rest = rest[k+1:]
		}
		return rest, true
	}
	return "", false
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// entry describes n, whose path below the Storage root is p.
func (t *tree) entry(n *node, p string, root *node) storage.Entry {
	e := storage.Entry{
		ID:         n.id,
		Path:       p,
		IsDir:      n.isDir(),
		ModTime:    n.modTime,
		Version:    n.version,
		CreatedBy:  n.createdBy,
		ModifiedBy: n.modifiedBy,
	}
	if n != root && n.parent != nil {
		e.ParentID = n.parent.id
	}
	if n.blob != nil {
		e.Size = int64(len(n.blob.data))
		e.Hashes = n.blob.hashes
	}
	return e
}

// errorf builds a *storage.Error with a message as its cause.
func errorf(op, p string, kind error, format string, args ...any) error {
	var cause error
	if format != "" {
		cause = fmt.Errorf(format, args...)
	}
	return storage.NewError(op, p, kind, cause)
}

// validateName checks a new name and the path it makes below the Storage
// root (parentPath is the parent's path there).
func (t *tree) validateName(parentPath, name string) error {
	if err := t.cfg.rules.Validate(name); err != nil {
		return err
	}
	if max := t.cfg.rules.MaxPathLength; max > 0 {
		p := join(parentPath, name)
		if utf8.RuneCountInString(p) > max {
			return storage.InvalidName(p, fmt.Sprintf("path longer than %d characters", max))
		}
	}
	return nil
}

func depth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

// dirHeight returns how many folder levels n adds (1 for an empty folder).
func dirHeight(n *node) int {
	h := 0
	for _, c := range n.children {
		if c.isDir() {
			h = max(h, dirHeight(c))
		}
	}
	return h + 1
}

// resolve finds path p below root. Caller holds mu.
func (t *tree) resolve(op string, root *node, p string) (*node, string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return root, "", nil
	}
	cur := root
	rest := p
	for rest != "" {
		seg := rest
		if k := strings.IndexByte(rest, '/'); k >= 0 {
			seg, rest = rest[:k], rest[k+1:]
		} else {
			rest = ""
		}
		if seg == "" || seg == "." || seg == ".." {
			return nil, "", storage.InvalidName(p, "malformed path")
		}
		if !cur.isDir() {
			return nil, "", errorf(op, p, storage.ErrNotFound, "")
		}
		c := cur.children[t.cfg.rules.Key(seg)]
		if c == nil {
			return nil, "", errorf(op, p, storage.ErrNotFound, "")
		}
		cur = c
	}
	rp, _ := relPath(cur, root)
	return cur, rp, nil
}

// lookup finds the item e names below root: by ID when e has one, else by
// path (so a zero Entry names the root). Caller holds mu.
func (t *tree) lookup(op string, root *node, e storage.Entry) (*node, string, error) {
	if e.ID == "" {
		return t.resolve(op, root, e.Path)
	}
	n := t.nodes[e.ID]
	if n == nil {
		return nil, "", errorf(op, e.Path, storage.ErrNotFound, "")
	}
	p, ok := relPath(n, root)
	if !ok {
		return nil, "", errorf(op, e.Path, storage.ErrNotFound, "outside this storage's root")
	}
	return n, p, nil
}

// lookupDir is lookup for a parent folder.
func (t *tree) lookupDir(op string, root *node, e storage.Entry) (*node, string, error) {
	n, p, err := t.lookup(op, root, e)
	if err != nil {
		return nil, "", err
	}
	if !n.isDir() {
		return nil, "", errorf(op, p, storage.ErrNotDir, "")
	}
	return n, p, nil
}

// mkdir creates folder name in parent (path pp). Caller holds mu.
func (t *tree) mkdir(parent *node, pp, name, user string) (*node, error) {
	name = t.storedName(name)
	if err := t.validateName(pp, name); err != nil {
		return nil, err
	}
	p := join(pp, name)
	if ex := parent.children[t.cfg.rules.Key(name)]; ex != nil {
		if ex.isDir() {
			return ex, errorf("mkdir", p, storage.ErrAlreadyExists, "")
		}
		return ex, errorf("mkdir", p, storage.ErrAlreadyExists, "a file of that name exists")
	}
	if t.cfg.maxDepth > 0 && depth(p) > t.cfg.maxDepth {
		return nil, errorf("mkdir", p, storage.ErrUnsupported, "folders may nest at most %d deep", t.cfg.maxDepth)
	}
	n := t.newNode(name, true)
	n.place(parent)
	n.modTime = t.now(time.Time{})
	n.createdBy, n.modifiedBy = user, user
	parent.children[n.key] = n
	t.record(logRec{id: n.id, kind: chChange, isDir: true})
	return n, nil
}

// commit writes b as file name in parent (path pp). Caller holds mu.
func (t *tree) commit(parent *node, pp, name string, b *blob, opt PutOptionsMemo, user string) (*node, error) {
	name = t.storedName(name)
	if err := t.validateName(pp, name); err != nil {
		return nil, err
	}
	p := join(pp, name)
	if parent.deleted {
		return nil, errorf("put", p, storage.ErrNotFound, "parent folder was deleted")
	}
	if t.cfg.maxFileSize > 0 && int64(len(b.data)) > t.cfg.maxFileSize {
		return nil, errorf("put", p, storage.ErrTooLarge, "larger than %d bytes", t.cfg.maxFileSize)
	}
	mt := t.now(opt.ModTime)
	ex := parent.children[t.cfg.rules.Key(name)]
	switch {
	case ex != nil && ex.isDir():
		return nil, errorf("put", p, storage.ErrAlreadyExists, "a folder of that name exists")
	case ex != nil && opt.NoOverwrite:
		return nil, errorf("put", p, storage.ErrAlreadyExists, "")
	case ex != nil && opt.ExpectedVersion != "" && opt.ExpectedVersion != ex.version:
		return nil, errorf("put", p, storage.ErrPreconditionFailed, "")
	case ex == nil && opt.ExpectedVersion != "":
		return nil, errorf("put", p, storage.ErrPreconditionFailed, "the file does not exist")
	}
	if ex != nil {
		if t.cfg.versionHistory {
			ex.history = append(ex.history, versionOf(ex))
		}
		ex.blob = b
		ex.modTime = mt
		ex.version = t.newVersion()
		ex.modifiedBy = user
		t.record(logRec{id: ex.id, kind: chChange})
		return ex, nil
	}
	n := t.newNode(name, false)
	n.place(parent)
	n.blob = b
	n.modTime = mt
	n.createdBy, n.modifiedBy = user, user
	parent.children[n.key] = n
	t.record(logRec{id: n.id, kind: chChange})
	return n, nil
}

// move moves n into newParent as newName. root is the Storage root, used
// for depth checks; pp is newParent's path below it. Caller holds mu.
func (t *tree) move(root, n, newParent *node, pp, newName string) error {
	newName = t.storedName(newName)
	if err := t.validateName(pp, newName); err != nil {
		return err
	}
	p := join(pp, newName)
	for c := newParent; c != nil; c = c.parent {
		if c == n {
			return errorf("move", p, storage.ErrUnsupported, "cannot move a folder into itself")
		}
	}
	key := t.cfg.rules.Key(newName)
	if ex := newParent.children[key]; ex != nil && ex != n {
		return errorf("move", p, storage.ErrAlreadyExists, "")
	}
	if t.cfg.maxDepth > 0 && n.isDir() && depth(pp)+dirHeight(n) > t.cfg.maxDepth {
		return errorf("move", p, storage.ErrUnsupported, "folders may nest at most %d deep", t.cfg.maxDepth)
	}
	if n.parent == newParent && n.name == newName {
		return nil
	}
	oldPath, _ := relPath(n, t.top)
	rec := logRec{id: n.id, kind: chMove, isDir: n.isDir(), path: oldPath, anc: ancestors(n)}
	delete(n.parent.children, n.key)
	n.name, n.key = newName, key
	n.place(newParent)
	newParent.children[key] = n
	n.version = t.newVersion()
	t.record(rec)
	return nil
}

// remove deletes n and everything below it. Caller holds mu.
func (t *tree) remove(n *node) {
	delete(n.parent.children, n.key)
	p, _ := relPath(n, t.top)
	anc := ancestors(n)
	at := t.now(time.Time{})
	var walk func(n *node, p string, anc []string)
	walk = func(n *node, p string, anc []string) {
		if n.isDir() {
			sub := append(anc[:len(anc):len(anc)], n.id)
			for _, c := range n.children {
				walk(c, join(p, c.name), sub)
			}
		}
		n.deleted = true
		delete(t.nodes, n.id)
		t.record(logRec{id: n.id, kind: chDelete, isDir: n.isDir(), path: p, anc: anc})
		if t.cfg.recycleBin {
			tr := trashRec{entry: t.entry(n, p, nil), anc: anc, deletedAt: at}
			if n.blob != nil {
				tr.data = n.blob.data
			}
			t.trash = append(t.trash, tr)
		}
	}
	walk(n, p, anc)
}

func versionOf(n *node) Version {
	return Version{
		Version:    n.version,
		Size:       int64(len(n.blob.data)),
		ModTime:    n.modTime,
		Hashes:     n.blob.hashes,
		ModifiedBy: n.modifiedBy,
		Data:       n.blob.data,
	}
}

var errRoot = errors.New("the storage root cannot be changed this way")

package local

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
)

var (
	errSymlink   = errors.New("symbolic links are not followed")
	errIrregular = errors.New("not a regular file or folder")
	errRaced     = errors.New("item changed while being looked up")
)

const indexFile = "ids.json"

// initIdentity decides where IDs live (extended attributes or the inode
// index) and gives the root its ID.
func (s *Storage) initIdentity() error {
	fi, err := s.root.Stat(".")
	if err != nil {
		return storage.NewError("open", "", errKind(err), err)
	}
	dev, ino, _, ok := fileKey(fi)
	if !ok {
		return storage.NewError("open", "", storage.ErrUnsupported, errors.New("no inode numbers on this platform"))
	}
	s.rootDev, s.rootIno = dev, ino
	s.xattr = xattrSupported && !s.cfg.noXattr
	if err := s.loadIndex(); err != nil {
		return err
	}
	f, err := s.root.Open(".")
	if err != nil {
		return storage.NewError("open", "", errKind(err), err)
	}
	defer f.Close()
	fi = withStamp(fi, birthStamp(f))
	if s.xattr {
		v, err := getXattr(f)
		switch {
		case errors.Is(err, errAttrUnsupported):
			s.xattr = false
		case err == nil && validAttr(v, ino):
			// The root has its ID already.
		default:
			err := setXattr(f, attrValue(newID(), ino))
			if errors.Is(err, errAttrUnsupported) {
				s.xattr = false
			}
			// Other failures (a read-only share) leave the root with its
			// inode ID; IDs written by others are still read.
		}
		if s.xattr {
			s.rootID = s.idOf(f, fi)
			return nil
		}
	}
	s.rootID = s.idOf(nil, fi)
	return nil
}

// itemInfo is the FileInfo of an item together with its birth stamp (see
// birthStamp), which tells its inode from earlier ones of the same number.
type itemInfo struct {
	fs.FileInfo
	stamp string
}

// withStamp attaches stamp to fi.
func withStamp(fi fs.FileInfo, stamp string) fs.FileInfo {
	if fi == nil {
		return nil
	}
	return &itemInfo{FileInfo: unwrapInfo(fi), stamp: stamp}
}

// unwrapInfo returns the FileInfo the os package made.
func unwrapInfo(fi fs.FileInfo) fs.FileInfo {
	if ii, ok := fi.(*itemInfo); ok {
		return ii.FileInfo
	}
	return fi
}

// stampOf returns fi's birth stamp ("" when unknown).
func stampOf(fi fs.FileInfo) string {
	switch ii := fi.(type) {
	case *itemInfo:
		return ii.stamp
	case *statInfo:
		return ii.stamp
	}
	return ""
}

// statInfo is the FileInfo of an item read with one statx call, birth
// stamp included. Sys returns the statInfo itself (see fileKey).
type statInfo struct {
	name            string
	size            int64
	mode            fs.FileMode
	mtime           int64 // nanoseconds since the epoch
	dev, ino, nlink uint64
	stamp           string
}

func (fi *statInfo) Name() string       { return fi.name }
func (fi *statInfo) Size() int64        { return fi.size }
func (fi *statInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *statInfo) ModTime() time.Time { return time.Unix(0, fi.mtime) }
func (fi *statInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *statInfo) Sys() any           { return fi }

// sameFile reports whether a and b describe the same inode.
func sameFile(a, b fs.FileInfo) bool {
	ad, ai, _, aok := fileKey(a)
	bd, bi, _, bok := fileKey(b)
	return aok && bok && ad == bd && ai == bi
}

// identityKey names one item for its whole life: its inode (appendInodeKey),
// its birth stamp where the file system keeps birth times, and whether it
// is a folder. File systems reuse a freed inode number at once (ext4 does),
// so the inode number alone would give a new item a deleted one's identity;
// the birth time tells them apart, and the kind keeps a folder from ever
// taking a file's identity. Where birth times are not kept (some network
// file systems) the key is the inode number and kind only.
func (s *Storage) identityKey(fi fs.FileInfo) string {
	var b [80]byte
	return string(s.appendIdentityKey(b[:0], fi))
}

// appendIdentityKey appends identityKey(fi) to buf.
func (s *Storage) appendIdentityKey(buf []byte, fi fs.FileInfo) []byte {
	dev, ino, _, _ := fileKey(fi)
	buf = s.appendInodeKey(buf, dev, ino)
	if st := stampOf(fi); st != "" {
		buf = append(buf, "-b"...)
		buf = append(buf, st...)
	}
	if fi.IsDir() {
		buf = append(buf, "-d"...)
	}
	return buf
}

// attrValue is what the ID attribute holds: the ID and the inode it was
// written for, so that a copy of the attribute on another file (cp -a,
// rsync -X) is not taken for the original's identity.
func attrValue(id string, ino uint64) string {
	return id + ":" + strconv.FormatUint(ino, 10)
}

// parseAttr returns the ID of an attribute value written for inode ino.
func parseAttr(v string, ino uint64) (string, bool) {
	id, n, ok := strings.Cut(v, ":")
	if !ok || id == "" || len(id) > 64 || n != strconv.FormatUint(ino, 10) {
		return "", false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-') {
			return "", false
		}
	}
	return id, true
}

func validAttr(v string, ino uint64) bool { _, ok := parseAttr(v, ino); return ok }

// idOf returns the ID of the item open as f (nil when it could not be
// opened) with file info fi.
func (s *Storage) idOf(f *os.File, fi fs.FileInfo) string {
	if f == nil {
		return s.idFor(fi, nil)
	}
	return s.idFor(fi, func() (string, error) { return getXattr(f) })
}

// maxAttrs bounds the memory of ID attributes already read.
const maxAttrs = 1 << 20

// idFor returns the ID of the item with file info fi; readAttr (nil when
// the item cannot be read) reads its ID attribute. The attribute is read
// once per inode life: what it held is remembered by identity key (inode
// number and birth time), since the Storage writes the attribute only on
// items it has just created, before they appear under their names. Where
// the file system keeps no birth times, the attribute is read every time.
func (s *Storage) idFor(fi fs.FileInfo, readAttr func() (string, error)) string {
	var b [80]byte
	key := s.appendIdentityKey(b[:0], fi)
	if s.xattr && readAttr != nil {
		cacheable := stampOf(fi) != ""
		s.mu.Lock()
		a, known := s.attrs[string(key)]
		var id string
		if known {
			a.seen = s.attrCache.epoch
			id = a.id
		}
		s.mu.Unlock()
		if !known || !cacheable {
			_, ino, _, _ := fileKey(fi)
			s.attrReads.Add(1)
			v, err := readAttr()
			id = ""
			if err == nil {
				id, _ = parseAttr(v, ino)
			}
			if cacheable && (err == nil || errors.Is(err, errNoAttr)) {
				s.mu.Lock()
				s.noteAttr(string(key), id)
				s.mu.Unlock()
			}
		}
		if id != "" {
			return id
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.xattr {
		if id, ok := s.index[string(key)]; ok {
			return id
		}
	}
	// An inode-based ID that an update carried onto another inode stays
	// that item's: a new item on the reused inode number gets another.
	id := string(key)
	for s.carried[id] {
		id += "r"
	}
	return id
}

// isInodeID reports whether id has the form of an inode-based ID (random
// IDs are hex and never start with "i").
func isInodeID(id string) bool { return strings.HasPrefix(id, "i") }

// stampID records id as the identity of the item open as f (a file or
// folder the Storage has just created), before it is renamed into place.
// An empty id asks for a new identity: the inode-based one, or a random one
// when an update carried that inode number's ID onto another inode.
func (s *Storage) stampID(f *os.File, fi fs.FileInfo, id string) error {
	_, ino, _, _ := fileKey(fi)
	key := s.identityKey(fi)
	if id != "" && id != key && isInodeID(id) {
		if err := s.updateIndex(func(_ map[string]string, carried map[string]bool) bool {
			if carried[id] {
				return false
			}
			carried[id] = true
			return true
		}); err != nil {
			return err
		}
	}
	if s.xattr {
		if id == "" {
			id = newID()
		}
		err := setXattr(f, attrValue(id, ino))
		if errors.Is(err, errAttrUnsupported) {
			// A mount below the root without attributes: the item keeps
			// its inode ID.
			return nil
		}
		if err == nil && stampOf(fi) != "" {
			s.mu.Lock()
			s.noteAttr(key, id)
			s.mu.Unlock()
		}
		return err
	}
	return s.updateIndex(func(m map[string]string, carried map[string]bool) bool {
		if id == "" {
			if carried[key] {
				m[key] = newID() // the inode number's own ID is taken
				return true
			}
			_, stale := m[key] // an entry for a reused inode number
			delete(m, key)
			return stale
		}
		if v, ok := m[key]; ok && v == id {
			return false
		}
		m[key] = id
		return true
	})
}

// noteAttr remembers that the item of identity key held ID attribute id
// ("" for none). Caller holds mu.
func (s *Storage) noteAttr(key, id string) {
	if s.attrs == nil || len(s.attrs) >= maxAttrs {
		s.attrs = map[string]*attrEntry{}
	}
	s.attrs[key] = &attrEntry{id: id, seen: s.attrCache.epoch}
}

// openItem looks up rel without following a final symbolic link and opens
// it for reading. f is nil when the item exists but cannot be opened (no
// permission); the ID is then inode-based. Symbolic links give errSymlink
// and other special files errIrregular.
func (s *Storage) openItem(rel string) (f *os.File, fi fs.FileInfo, id string, err error) {
	return s.lookup(rel, true)
}

// lookupPortable is lookup through os.Root alone, which opens every folder
// on the way: for platforms and kernels without the fast path.
func (s *Storage) lookupPortable(rel string, open bool) (f *os.File, fi fs.FileInfo, id string, err error) {
	f, fi, id, err = s.openPortable(rel)
	if !open && f != nil {
		f.Close()
		f = nil
	}
	return f, fi, id, err
}

// openPortable is openItem through os.Root.
func (s *Storage) openPortable(rel string) (f *os.File, fi fs.FileInfo, id string, err error) {
	for range 3 {
		lfi, err := s.root.Lstat(osPath(rel))
		if err != nil {
			return nil, nil, "", err
		}
		switch m := lfi.Mode(); {
		case m&fs.ModeSymlink != 0:
			return nil, lfi, "", errSymlink
		case !m.IsRegular() && !m.IsDir():
			return nil, lfi, "", errIrregular
		}
		f, err := s.root.OpenFile(osPath(rel), os.O_RDONLY|openNoBlock, 0)
		if errors.Is(err, fs.ErrPermission) {
			lfi = withStamp(lfi, s.stampAt(rel))
			return nil, lfi, s.idOf(nil, lfi), nil
		}
		if err != nil {
			return nil, nil, "", err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, "", err
		}
		if !sameFile(lfi, fi) {
			f.Close()
			continue // replaced between the two looks: look again
		}
		fi = withStamp(fi, birthStamp(f))
		return f, fi, s.idOf(f, fi), nil
	}
	return nil, nil, "", errRaced
}

// stampAt returns the birth stamp of the item at rel without opening it
// ("" when unknown).
func (s *Storage) stampAt(rel string) string {
	if rel == "" {
		d, err := s.root.Open(".")
		if err != nil {
			return ""
		}
		defer d.Close()
		return birthStamp(d)
	}
	d, err := s.root.Open(osPath(parentOf(rel)))
	if err != nil {
		return ""
	}
	defer d.Close()
	return birthStampAt(d, path.Base(rel))
}

// identify is openItem without opening the item.
func (s *Storage) identify(rel string) (fs.FileInfo, string, error) {
	f, fi, id, err := s.lookup(rel, false)
	if f != nil {
		f.Close()
	}
	return fi, id, err
}

// indexDoc is the persistent index: inode key → ID (index mode only) and
// the inode-based IDs carried onto other inodes by updates (both modes).
type indexDoc struct {
	IDs     map[string]string `json:"ids,omitempty"`
	Carried []string          `json:"carried,omitempty"`
}

// loadIndex reads the persistent index.
func (s *Storage) loadIndex() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index, s.carried = map[string]string{}, map[string]bool{}
	b, err := s.root.ReadFile(MetaDir + "/" + indexFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return storage.NewError("open", MetaDir+"/"+indexFile, errKind(err), err)
	}
	var doc indexDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		// A damaged index costs ID stability, not data: start afresh.
		return nil
	}
	if doc.IDs != nil {
		s.index = doc.IDs
	}
	for _, c := range doc.Carried {
		s.carried[c] = true
	}
	return nil
}

// updateIndex applies fn to the index and saves it when fn reports a
// change.
func (s *Storage) updateIndex(fn func(ids map[string]string, carried map[string]bool) bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == nil {
		s.index = map[string]string{}
	}
	if s.carried == nil {
		s.carried = map[string]bool{}
	}
	if !fn(s.index, s.carried) {
		return nil
	}
	doc := indexDoc{IDs: s.index}
	for c := range s.carried {
		doc.Carried = append(doc.Carried, c)
	}
	slices.Sort(doc.Carried)
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return s.writeMeta(indexFile, b)
}

// writeMeta atomically replaces file name in the metadata folder.
func (s *Storage) writeMeta(name string, b []byte) error {
	if err := s.root.Mkdir(MetaDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp := MetaDir + "/" + TempPrefix + newID()[:16]
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, MetaDir+"/"+name)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
	}
	return err
}

// syncIndex (index mode) drops entries for inodes not in live, records
// the IDs in derived (inode key → ID) that idOf worked out, and forgets
// carried IDs that no inode holds any more.
func (s *Storage) syncIndex(live map[string]bool, derived map[string]string) error {
	return s.updateIndex(func(m map[string]string, carried map[string]bool) bool {
		changed := false
		for k := range m {
			if !live[k] {
				delete(m, k)
				changed = true
			}
		}
		for k, id := range derived {
			if m[k] != id {
				m[k] = id
				changed = true
			}
		}
		held := map[string]bool{}
		for _, id := range m {
			held[id] = true
		}
		for c := range carried {
			if !held[c] {
				delete(carried, c)
				changed = true
			}
		}
		return changed
	})
}

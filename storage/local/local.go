package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// Names of the storage's own hidden items.
const (
	// DefaultTrashDir is the recycle bin folder below the root unless
	// WithTrashDir says otherwise.
	DefaultTrashDir = ".procoresync-trash"
	// MetaDir is the hidden folder below the root that holds the persistent
	// inode→ID index where extended attributes are unavailable, and the ID
	// attributes a listing read where they are (see List).
	MetaDir = ".procoresync-meta"
	// TempPrefix starts the names of temporary files written by Put. They
	// never appear in List.
	TempPrefix = ".procoresync-tmp-"
	// MaxNameBytes is the longest name, in bytes, that Put, MakeDir and
	// Move accept (the NAME_MAX of Linux file systems and SMB mounts).
	MaxNameBytes = 255

	xattrName = "user.procoresync.id"
)

var (
	errNoAttr          = errors.New("no ID attribute")
	errAttrUnsupported = errors.New("extended attributes unsupported")
	errEscapes         = errors.New("path escapes from the root")
)

// Option configures a Storage.
type Option func(*config) error

type config struct {
	trashDir     string
	noTrash      bool
	windowsNames bool
	noXattr      bool
	retention    TrashRetention
	now          func() time.Time // the clock of the recycle bin (tests)
}

// WithTrashDir names the recycle bin folder below the root (default
// DefaultTrashDir). It must be a single valid name; a hidden name (leading
// dot) is recommended. The name becomes reserved: no item may take it.
func WithTrashDir(name string) Option {
	return func(c *config) error {
		if err := (storage.NameRules{}).Validate(name); err != nil {
			return err
		}
		if name == MetaDir || strings.HasPrefix(name, TempPrefix) {
			return storage.InvalidName(name, "reserved for the storage's own use")
		}
		c.trashDir = name
		return nil
	}
}

// WithoutTrash makes Delete remove items for good instead of moving them to
// the recycle bin. Features().RecycleBin is then false.
func WithoutTrash() Option {
	return func(c *config) error { c.noTrash = true; return nil }
}

// WithWindowsNames applies the naming rules of Windows and SMB shares served
// by Windows (invalid characters <>:"/\|?* and control characters, the
// reserved names CON, PRN, AUX, NUL, COM1-9 and LPT1-9 with or without an
// extension, no trailing space or period, names compared without regard to
// case). Use it for network shares mounted from Windows servers or NAS
// boxes that follow Windows rules.
func WithWindowsNames() Option {
	return func(c *config) error { c.windowsNames = true; return nil }
}

// WithoutXattrs makes the Storage keep IDs in its persistent inode index
// instead of extended attributes, as it does by itself on file systems
// without extended attributes. Mostly useful for tests.
func WithoutXattrs() Option {
	return func(c *config) error { c.noXattr = true; return nil }
}

// Storage is a storage.Storage over a local directory or a mounted network
// share. Its methods are safe for concurrent use. Close it when done.
type Storage struct {
	root     *os.Root
	rootPath string // absolute path of the root, for the watcher and messages
	rootDev  uint64
	rootIno  uint64
	rootID   string
	cfg      config
	rules    storage.NameRules
	xattr    bool // IDs are kept in extended attributes

	putMu sync.Mutex // serialises version checks with the renames they guard

	mu      sync.Mutex
	skipped []storage.SkippedItem // what the most recent complete List left out
	hash    map[string]hashEntry  // by ID
	index   map[string]string     // inode key → ID (index mode only)
	carried map[string]bool       // inode-based IDs now held by another inode
	paths   map[string]string     // ID → where it was last seen (a hint for StatID)
	attrs   map[string]*attrEntry // identity key → ID attribute read

	attrCache attrCache    // attrs kept in MetaDir for the next process
	attrReads atomic.Int64 // ID attributes read from items

	fast fastRoot // descriptors for lookups with few system calls

	bin bin // the recycle bin as its retention sees it

	batch batch // folders to sync at the next Flush while a batch is open
}

type hashEntry struct {
	version string
	sum     string
}

var (
	_ storage.Storage       = (*Storage)(nil)
	_ storage.Watcher       = (*Storage)(nil)
	_ storage.Hasher        = (*Storage)(nil)
	_ storage.RangeOpener   = (*Storage)(nil)
	_ storage.Copier        = (*Storage)(nil)
	_ storage.IDStater      = (*Storage)(nil)
	_ storage.SubtreeLister = (*Storage)(nil)
)

// New opens the existing directory root as a Storage. It fails with an error
// matching storage.ErrNotFound when root does not exist and
// storage.ErrNotDir when it is not a directory.
func New(root string, opts ...Option) (*Storage, error) {
	cfg := config{trashDir: DefaultTrashDir}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, storage.NewError("open", "", storage.ErrInvalidName, err)
		}
	}
	if !platformSupported {
		return nil, storage.NewError("open", root, storage.ErrUnsupported, errors.New("local storage needs a Unix-like system"))
	}
	if root == "" || strings.ContainsRune(root, 0) {
		return nil, storage.NewError("open", root, storage.ErrInvalidName, errors.New("root must be a directory path"))
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, storage.NewError("open", root, nil, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, storage.NewError("open", root, errKind(err), err)
	}
	if !fi.IsDir() {
		return nil, storage.NewError("open", root, storage.ErrNotDir, errors.New("root is not a directory"))
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, storage.NewError("open", root, errKind(err), err)
	}
	s := &Storage{root: r, rootPath: abs, cfg: cfg, hash: map[string]hashEntry{}}
	s.rules = nameRules(cfg)
	if err := s.initIdentity(); err != nil {
		r.Close()
		return nil, err
	}
	s.initFast()
	return s, nil
}

// now is the time the recycle bin records and ages deletions by.
func (s *Storage) now() time.Time {
	if s.cfg.now != nil {
		return s.cfg.now()
	}
	return time.Now()
}

// Close syncs and closes the new files an open durability batch still
// holds (see BeginBatch) and releases the root directory handle.
func (s *Storage) Close() error {
	s.batch.mu.Lock()
	files, err := s.batch.files, s.batch.err
	s.batch.files, s.batch.err = nil, nil
	s.batch.mu.Unlock()
	err = errors.Join(err, syncFiles(files))
	s.closeFast()
	return errors.Join(err, s.root.Close())
}

// Root returns the absolute path the Storage was opened on.
func (s *Storage) Root() string { return s.rootPath }

// Features describes the local Storage: SHA-256 hashes (computed on demand,
// see Hash), the configured name rules, a recycle bin unless disabled,
// conditional puts (see Put for the remaining race with other programs) and
// settable modification times.
func (s *Storage) Features() storage.Features {
	prec := time.Nanosecond
	if s.cfg.windowsNames {
		prec = 100 * time.Nanosecond
	}
	return storage.Features{
		Hashes:           []storage.HashKind{storage.HashSHA256},
		Names:            s.rules,
		RecycleBin:       !s.cfg.noTrash,
		ConditionalPut:   true,
		SetModTime:       true,
		ModTimePrecision: prec,
		StatIDWalks:      true, // see StatID
	}
}

// nameRules returns the NameRules for cfg.
func nameRules(cfg config) storage.NameRules {
	reserved := []string{MetaDir}
	if cfg.trashDir != "" {
		reserved = append(reserved, cfg.trashDir)
	}
	r := storage.NameRules{
		MaxNameLength:    MaxNameBytes,
		ReservedNames:    reserved,
		ReservedPrefixes: []string{TempPrefix},
		// Linux file systems take any bytes but '/' and NUL.
		AllowInvalidUTF8: !cfg.windowsNames,
	}
	if cfg.windowsNames {
		r.InvalidChars = `<>:"\|?*`
		r.NoControlChars = true
		r.ReservedStems = []string{"CON", "PRN", "AUX", "NUL",
			"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
			"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
		r.NoTrailingSpace = true
		r.NoTrailingPeriod = true
		r.CaseInsensitive = true
	}
	return r
}

// validateName checks a new item's name against the rules, including the
// byte limit that NameRules (which counts characters) cannot express.
func (s *Storage) validateName(name string) error {
	if err := s.rules.Validate(name); err != nil {
		return err
	}
	if len(name) > MaxNameBytes {
		return storage.InvalidName(name, fmt.Sprintf("longer than %d bytes", MaxNameBytes))
	}
	if s.cfg.windowsNames && utf16Len(name) > MaxNameBytes {
		return storage.InvalidName(name, fmt.Sprintf("longer than %d UTF-16 code units", MaxNameBytes))
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// cleanPath checks that p is a relative, slash-separated path without "."
// or ".." elements, empty elements or NUL, and returns it.
func cleanPath(op, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	bad := func(reason string) error {
		return storage.NewError(op, p, storage.ErrInvalidName, storage.InvalidName(p, reason))
	}
	switch {
	case strings.ContainsRune(p, 0):
		return "", bad("contains NUL")
	case strings.HasPrefix(p, "/") || filepath.IsAbs(p):
		return "", bad("absolute path")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "":
			return "", bad("empty path element")
		case ".", "..":
			return "", bad("relative path element")
		}
	}
	return p, nil
}

// isOwnHidden reports whether name, in the folder at dir, is one of the
// storage's own hidden items (temporary files anywhere; the recycle bin and
// metadata folder at the top level).
func (s *Storage) isOwnHidden(dir, name string) bool {
	if strings.HasPrefix(name, TempPrefix) {
		return true
	}
	return dir == "" && (name == MetaDir || name == s.cfg.trashDir)
}

// join joins a folder path and a name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// osPath turns a relative path into the name os.Root expects.
func osPath(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

// parentOf returns the folder path of rel.
func parentOf(rel string) string {
	d := path.Dir(rel)
	if d == "." {
		return ""
	}
	return d
}

// errKind maps an OS error to a storage error kind (nil when unknown).
func errKind(err error) error {
	var se *storage.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se.Kind
	case errors.Is(err, errEscapes), isEscape(err):
		return storage.ErrPermissionDenied
	case errors.Is(err, storage.ErrInvalidName):
		return storage.ErrInvalidName
	}
	if k := errnoKind(err); k != nil {
		return k
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return storage.ErrNotFound
	case errors.Is(err, fs.ErrExist):
		return storage.ErrAlreadyExists
	case errors.Is(err, fs.ErrPermission):
		return storage.ErrPermissionDenied
	}
	return nil
}

// isEscape recognises os.Root's refusal to follow a path out of the root
// (its error value is not exported).
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		return strings.Contains(pe.Err.Error(), "path escapes from parent")
	}
	return false
}

// wrap turns err into a *storage.Error for op on rel, unless it is one
// already.
func wrap(op, rel string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	var ne *storage.InvalidNameError
	if errors.As(err, &ne) {
		return storage.NewError(op, rel, storage.ErrInvalidName, err)
	}
	return storage.NewError(op, rel, errKind(err), stripRoot(err))
}

// stripRoot keeps the absolute root path out of error messages: os.Root
// errors carry relative names already, so this only unwraps path errors
// whose path is absolute.
func stripRoot(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
		return pe.Err
	}
	return err
}

// newID returns a random 128-bit ID in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// appendInodeKey appends the name of an inode to buf: "i<ino>" on the
// root's device, "i<dev>-<ino>" on another device mounted below the root.
func (s *Storage) appendInodeKey(buf []byte, dev, ino uint64) []byte {
	buf = append(buf, 'i')
	if dev != s.rootDev {
		buf = strconv.AppendUint(buf, dev, 10)
		buf = append(buf, '-')
	}
	return strconv.AppendUint(buf, ino, 10)
}

// version returns the Version token for fi: size, modification time,
// inode number and birth stamp for files; the same without the size for
// folders (whose modification time moves when an item is added, removed or
// renamed inside). A rename, a move or a change of permissions keeps the
// Version; so does an edit that restores both size and modification time.
func version(fi fs.FileInfo) string {
	var b [80]byte
	buf := b[:0]
	if fi.IsDir() {
		_, ino, _, _ := fileKey(fi)
		buf = append(buf, 'd')
		buf = strconv.AppendInt(buf, fi.ModTime().UnixNano(), 36)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, ino, 36)
	} else {
		buf = appendContentKey(buf, fi)
	}
	if st := stampOf(fi); st != "" {
		buf = append(buf, '.')
		buf = append(buf, st...)
	}
	return string(buf)
}

// contentKey identifies a file's content as far as metadata can: size,
// modification time and inode number. The hash cache is keyed by it.
func contentKey(fi fs.FileInfo) string {
	var b [64]byte
	return string(appendContentKey(b[:0], fi))
}

// appendContentKey appends contentKey(fi) to buf.
func appendContentKey(buf []byte, fi fs.FileInfo) []byte {
	_, ino, _, _ := fileKey(fi)
	buf = strconv.AppendInt(buf, fi.Size(), 36)
	buf = append(buf, '.')
	buf = strconv.AppendInt(buf, fi.ModTime().UnixNano(), 36)
	buf = append(buf, '.')
	return strconv.AppendUint(buf, ino, 36)
}

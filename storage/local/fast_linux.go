//go:build linux

package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fastRoot holds what lookups need to find items with few system calls: a
// descriptor of the root folder, whether the kernel resolves a path below
// it in one call while keeping it confined (openat2 RESOLVE_BENEATH, Linux
// 5.6), and whether /proc/self/fd lets extended attributes be read
// without opening the item.
type fastRoot struct {
	dir     *os.File // the root folder; nil when the fast path is off
	fd      int
	procFD  string // "/proc/self/fd/" when attributes can be read by path
	beneath bool
}

// errNoFast says the fast path cannot serve a request; the portable path
// (os.Root) does.
var errNoFast = errors.New("fast lookup unavailable")

// beneathResolve keeps openat2 inside the root: no absolute paths, no ".."
// above it, no symbolic link leading out of it, no /proc magic links.
const beneathResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// initFast opens the root's descriptor and probes openat2 and /proc.
// Failures leave the fast path off; every operation then goes through
// os.Root as before.
func (s *Storage) initFast() {
	d, err := s.root.Open(".")
	if err != nil {
		return
	}
	fd := int(d.Fd())
	probe, err := unix.Openat2(fd, ".", &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: beneathResolve,
	})
	if err != nil {
		d.Close() // no openat2 (old kernel, seccomp): the portable path
		return
	}
	unix.Close(probe)
	s.fast = fastRoot{dir: d, fd: fd, beneath: true}
	var st unix.Stat_t
	pfx := "/proc/self/fd/"
	if unix.Stat(pfx+strconv.Itoa(fd), &st) == nil && st.Ino == s.rootIno && st.Dev == s.rootDev {
		s.fast.procFD = pfx
	}
}

// closeFast releases the root's descriptor.
func (s *Storage) closeFast() {
	if s.fast.dir != nil {
		s.fast.dir.Close()
		s.fast.dir = nil
	}
}

// openBeneath opens folder rel ("" is the root) below the root in one
// openat2 call. A path that leads out of the root gives errEscapes.
func (s *Storage) openBeneath(rel string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_DIRECTORY | unix.O_CLOEXEC), Resolve: beneathResolve}
	for range 8 {
		fd, err := unix.Openat2(s.fast.fd, osPath(rel), &how)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			continue // a concurrent rename: the kernel asks to try again
		case errors.Is(err, unix.EXDEV):
			return -1, &fs.PathError{Op: "openat", Path: rel, Err: errEscapes}
		}
		return -1, &fs.PathError{Op: "openat", Path: rel, Err: err}
	}
	return -1, errNoFast
}

// statxAt returns the FileInfo of name in the folder open as dirfd without
// following a symbolic link, with its birth stamp: one statx call.
func statxAt(dirfd int, name, rel string) (*statInfo, error) {
	var stx unix.Statx_t
	mask := unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_NLINK | unix.STATX_INO |
		unix.STATX_SIZE | unix.STATX_MTIME | unix.STATX_BTIME
	for {
		err := unix.Statx(dirfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_STATX_DONT_SYNC, mask, &stx)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "stat", Path: rel, Err: err}
		}
		break
	}
	fi := &statInfo{
		name:  path.Base(rel),
		size:  int64(stx.Size),
		mode:  unixMode(uint32(stx.Mode)),
		mtime: stx.Mtime.Sec*1e9 + int64(stx.Mtime.Nsec),
		dev:   unix.Mkdev(stx.Dev_major, stx.Dev_minor),
		ino:   stx.Ino,
		nlink: uint64(stx.Nlink),
	}
	if stx.Mask&unix.STATX_BTIME != 0 {
		fi.stamp = strconv.FormatInt(stx.Btime.Sec*1e9+int64(stx.Btime.Nsec), 36)
	}
	return fi, nil
}

// attrAt reads the ID attribute of name in the folder open as dirfd:
// through /proc/self/fd without opening the item where /proc is mounted
// (lgetxattr does not follow a final symbolic link), else by opening it.
func (s *Storage) attrAt(dirfd int, name string) (string, error) {
	if s.fast.procFD != "" {
		var buf [128]byte
		n, err := unix.Lgetxattr(s.fast.procFD+strconv.Itoa(dirfd)+"/"+name, xattrName, buf[:])
		if err == nil {
			return string(buf[:n]), nil
		}
		return "", attrErr(err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var buf [128]byte
	n, err := unix.Fgetxattr(fd, xattrName, buf[:])
	if err != nil {
		return "", attrErr(err)
	}
	return string(buf[:n]), nil
}

// lookup finds the item at rel without following a final symbolic link
// and returns its FileInfo (with birth stamp) and ID, and the item open
// for reading when open is true (nil when it exists but cannot be opened:
// no permission). Only the folder holding rel is opened (O_PATH, resolved
// below the root in one call), none for an item at the top level.
// Symbolic links give errSymlink and other special files errIrregular.
func (s *Storage) lookup(rel string, open bool) (*os.File, fs.FileInfo, string, error) {
	if !s.fast.beneath || rel == "" {
		return s.lookupPortable(rel, open)
	}
	dirfd := s.fast.fd
	if dir := parentOf(rel); dir != "" {
		fd, err := s.openBeneath(dir, unix.O_PATH)
		if errors.Is(err, errNoFast) {
			return s.lookupPortable(rel, open)
		}
		if err != nil {
			return nil, nil, "", err
		}
		defer unix.Close(fd)
		dirfd = fd
	}
	name := path.Base(rel)
	for range 3 {
		fi, err := statxAt(dirfd, name, rel)
		if err != nil {
			return nil, nil, "", err
		}
		switch m := fi.Mode(); {
		case m&fs.ModeSymlink != 0:
			return nil, fi, "", errSymlink
		case !m.IsRegular() && !m.IsDir():
			return nil, fi, "", errIrregular
		}
		if !open {
			return nil, fi, s.idFor(fi, func() (string, error) { return s.attrAt(dirfd, name) }), nil
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		switch {
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return nil, fi, s.idFor(fi, nil), nil
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENXIO):
			continue // replaced by a link or special file: look again
		case err != nil:
			return nil, nil, "", &fs.PathError{Op: "open", Path: rel, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, nil, "", &fs.PathError{Op: "stat", Path: rel, Err: err}
		}
		if st.Ino != fi.ino || st.Dev != fi.dev {
			unix.Close(fd)
			continue // replaced between the two looks: look again
		}
		f := os.NewFile(uintptr(fd), rel)
		return f, fi, s.idFor(fi, func() (string, error) { return getXattr(f) }), nil
	}
	return nil, nil, "", errRaced
}

// readDir returns the items of folder dir, sorted by name, without the
// storage's own hidden items: the folder is opened once (resolved below
// the root in one call) and each item costs one statx, plus reading its ID
// attribute the first time this Storage sees it.
func (s *Storage) readDir(ctx context.Context, dir string) ([]dirItem, error) {
	if !s.fast.beneath {
		return s.readDirPortable(ctx, dir)
	}
	fd, err := s.openBeneath(dir, unix.O_RDONLY)
	if errors.Is(err, errNoFast) {
		return s.readDirPortable(ctx, dir)
	}
	if err != nil {
		return nil, wrap("list", dir, err)
	}
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return nil, wrap("list", dir, &fs.PathError{Op: "readdirent", Path: dir, Err: err})
	}
	slices.Sort(names)
	items := make([]dirItem, 0, len(names))
	for i, name := range names {
		if i%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if s.isOwnHidden(dir, name) {
			s.sweepTemp(dir, name) // a temporary item a killed writer left (tmpfiles.go)
			continue
		}
		rel := join(dir, name)
		fi, err := statxAt(fd, name, rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // gone since the folder was read
		case err != nil:
			return nil, wrap("list", rel, err)
		}
		if why := skipReason(fi.Mode().Type()); why != "" {
			items = append(items, dirItem{name: name, skip: why})
			continue
		}
		id := s.idFor(fi, func() (string, error) { return s.attrAt(fd, name) })
		items = append(items, dirItem{name: name, fi: fi, id: id})
	}
	return items, nil
}

// readNames returns the names in the folder open as fd (getdents64).
func readNames(fd int) ([]string, error) {
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.Getdents(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// attrErr maps a failed read of the ID attribute.
func attrErr(err error) error {
	switch {
	case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ERANGE):
		return errNoAttr // none, or too long to be an ID
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
		return errAttrUnsupported
	}
	return err
}

// unixMode converts a Unix mode to an fs.FileMode as the os package does.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// openDir opens folder rel ("" is the root) for reading: in one openat2
// call resolved below the root where the fast path is on.
func (s *Storage) openDir(rel string) (*os.File, error) {
	if s.fast.beneath {
		fd, err := s.openBeneath(rel, unix.O_RDONLY)
		if err == nil {
			return os.NewFile(uintptr(fd), rel), nil
		}
		if !errors.Is(err, errNoFast) {
			return nil, err
		}
	}
	return s.root.Open(osPath(rel))
}

// createIn creates the new file name (one path segment) in folder dir,
// open as d, failing when anything has that name (O_EXCL, which never
// follows a symbolic link): one openat call.
func (s *Storage) createIn(d *os.File, dir, name string, perm fs.FileMode) (*os.File, error) {
	var f *os.File
	err := withFd(d, func(dfd int) error {
		fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err != nil {
			return &fs.PathError{Op: "open", Path: join(dir, name), Err: err}
		}
		f = os.NewFile(uintptr(fd), join(dir, name))
		return nil
	})
	return f, err
}

// lstat returns the FileInfo of rel without following a final symbolic
// link: the folder holding it is resolved below the root in one call.
func (s *Storage) lstat(rel string) (fs.FileInfo, error) {
	if !s.fast.beneath || rel == "" {
		return s.root.Lstat(osPath(rel))
	}
	dirfd := s.fast.fd
	if dir := parentOf(rel); dir != "" {
		fd, err := s.openBeneath(dir, unix.O_PATH)
		if errors.Is(err, errNoFast) {
			return s.root.Lstat(osPath(rel))
		}
		if err != nil {
			return nil, err
		}
		defer unix.Close(fd)
		dirfd = fd
	}
	fi, err := statxAt(dirfd, path.Base(rel), rel)
	if err != nil {
		return nil, err
	}
	return fi, nil
}

// lstatIn is lstat for the item name in folder dir, open as d: one statx
// call on d.
func (s *Storage) lstatIn(d *os.File, dir, name string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := withFd(d, func(dfd int) error {
		st, err := statxAt(dfd, name, join(dir, name))
		if err == nil {
			fi = st
		}
		return err
	})
	return fi, err
}

// identifyIn is identify for the item name in folder dir, open as d: one
// statx call on d, plus reading the ID attribute the first time this
// Storage sees the item.
func (s *Storage) identifyIn(d *os.File, dir, name string) (fs.FileInfo, string, error) {
	var (
		fi fs.FileInfo
		id string
	)
	rel := join(dir, name)
	err := withFd(d, func(dfd int) error {
		st, err := statxAt(dfd, name, rel)
		if err != nil {
			return err
		}
		fi = st
		switch m := st.Mode(); {
		case m&fs.ModeSymlink != 0:
			return errSymlink
		case !m.IsRegular() && !m.IsDir():
			return errIrregular
		}
		id = s.idFor(st, func() (string, error) { return s.attrAt(dfd, name) })
		return nil
	})
	return fi, id, err
}

// setModTime sets the modification (and access) time of the open file f
// through its descriptor: utimensat(fd, NULL, …), what futimens does.
func setModTime(f *os.File, t time.Time) (bool, error) {
	t0, err := unix.TimeToTimespec(t)
	if err != nil {
		return false, nil // out of range here: the caller sets it by name
	}
	ts := [2]unix.Timespec{t0, t0}
	err = withFd(f, func(fd int) error {
		for {
			_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				return &fs.PathError{Op: "chtimes", Path: f.Name(), Err: e}
			}
			return nil
		}
	})
	return true, err
}

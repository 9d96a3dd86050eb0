//go:build unix

package local

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/procoresync/procoresync/storage"
	"golang.org/x/sys/unix"
)

// platformSupported reports whether this platform can run a local Storage.
const platformSupported = true

// fileKey returns the device and inode numbers of fi, and the number of
// hard links (0 once the item has been removed).
func fileKey(fi fs.FileInfo) (dev, ino, nlink uint64, ok bool) {
	switch st := fi.Sys().(type) {
	case *statInfo:
		return st.dev, st.ino, st.nlink, true
	case *syscall.Stat_t:
		return uint64(st.Dev), uint64(st.Ino), uint64(st.Nlink), true //nolint:unconvert // types differ between platforms
	}
	return 0, 0, 0, false
}

// withFd runs fn with f's file descriptor.
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// linkNoReplace makes newname (in newDir) a hard link to oldname (in
// oldDir); it fails with EEXIST when newname exists.
func linkNoReplace(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return withFd(oldDir, func(ofd int) error {
		return withFd(newDir, func(nfd int) error {
			return unix.Linkat(ofd, oldname, nfd, newname, 0)
		})
	})
}

// renameAt renames oldname in oldDir to newname in newDir, replacing a file
// already there.
func renameAt(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return withFd(oldDir, func(ofd int) error {
		return withFd(newDir, func(nfd int) error {
			return unix.Renameat(ofd, oldname, nfd, newname)
		})
	})
}

// errnoKind maps an errno to a storage error kind (nil when unknown).
func errnoKind(err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return nil
	}
	switch errno {
	case unix.ENOENT:
		return storage.ErrNotFound
	case unix.ELOOP:
		// A symbolic-link loop: the path leads nowhere.
		return storage.ErrNotFound
	case unix.EEXIST:
		return storage.ErrAlreadyExists
	case unix.ENOTEMPTY:
		return storage.ErrNotEmpty
	case unix.EACCES, unix.EPERM, unix.EROFS:
		return storage.ErrPermissionDenied
	case unix.ENAMETOOLONG:
		return storage.ErrInvalidName
	case unix.ENOSPC, unix.EDQUOT, unix.EFBIG:
		return storage.ErrQuotaExceeded
	case unix.ENOTDIR:
		return storage.ErrNotDir
	case unix.EISDIR:
		return storage.ErrIsDir
	case unix.EBUSY, unix.ETXTBSY:
		return storage.ErrLocked
	case unix.EXDEV, unix.ENOTSUP, unix.ENOSYS:
		return storage.ErrUnsupported
	}
	return nil
}

// isNoReplaceUnsupported reports whether err says that the file system
// cannot rename without replacing (or link), so a fallback is needed.
func isNoReplaceUnsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) ||
		errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM)
}

// openNoBlock keeps an open of a FIFO swapped in at the last moment from
// blocking.
const openNoBlock = syscall.O_NONBLOCK

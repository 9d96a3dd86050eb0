//go:build linux

package local

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldname in oldDir to newname in newDir, failing
// with EEXIST when newname exists (renameat2 RENAME_NOREPLACE). Where the
// file system lacks RENAME_NOREPLACE it returns an error for which
// isNoReplaceUnsupported is true.
func renameNoReplace(oldDir *os.File, oldname string, newDir *os.File, newname string) error {
	return withFd(oldDir, func(ofd int) error {
		return withFd(newDir, func(nfd int) error {
			return unix.Renameat2(ofd, oldname, nfd, newname, unix.RENAME_NOREPLACE)
		})
	})
}

// xattrSupported is true where this platform has extended attributes.
const xattrSupported = true

// getXattr reads the ID attribute of the open file f. It returns
// errNoAttr when the file has none and errAttrUnsupported when the file
// system keeps no extended attributes.
func getXattr(f *os.File) (string, error) {
	buf := make([]byte, 128)
	var n int
	err := withFd(f, func(fd int) error {
		var err error
		n, err = unix.Fgetxattr(fd, xattrName, buf)
		return err
	})
	if err != nil {
		return "", attrErr(err)
	}
	return string(buf[:n]), nil
}

// setXattr writes the ID attribute of the open file f.
func setXattr(f *os.File, v string) error {
	err := withFd(f, func(fd int) error {
		return unix.Fsetxattr(fd, xattrName, []byte(v), 0)
	})
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		return errAttrUnsupported
	}
	return err
}

// birthStamp returns the birth time of the item open as f (statx
// STATX_BTIME), base 36 in nanoseconds, or "" where the file system does
// not keep one. With the inode number it tells an item from an earlier one
// whose freed inode number the file system gave it.
func birthStamp(f *os.File) string {
	st := ""
	_ = withFd(f, func(fd int) error {
		st = statxBirth(fd, "", unix.AT_EMPTY_PATH)
		return nil
	})
	return st
}

// birthStampAt is birthStamp for the item name in the open folder dir,
// without following a symbolic link.
func birthStampAt(dir *os.File, name string) string {
	st := ""
	_ = withFd(dir, func(fd int) error {
		st = statxBirth(fd, name, unix.AT_SYMLINK_NOFOLLOW)
		return nil
	})
	return st
}

func statxBirth(fd int, name string, flags int) string {
	var stx unix.Statx_t
	err := unix.Statx(fd, name, flags|unix.AT_STATX_DONT_SYNC, unix.STATX_BTIME|unix.STATX_INO, &stx)
	if err != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return ""
	}
	return strconv.FormatInt(stx.Btime.Sec*1e9+int64(stx.Btime.Nsec), 36)
}

// syncFS makes durable everything written to the file system that holds
// root (syncfs), for changes whose folder cannot be named any more.
func syncFS(root *os.Root) {
	d, err := root.Open(".")
	if err != nil {
		return
	}
	defer d.Close()
	_ = withFd(d, unix.Syncfs)
}

// maxDirtyForSyncFS is the most dirty or in-flight page cache (all file
// systems, /proc/meminfo) under which syncWhole syncs whole file systems:
// below it a syncfs costs about what the files' own syncs would; above
// it another program's unwritten data would make it wait for that too.
const maxDirtyForSyncFS = 64 << 20

// syncWhole makes the contents of files durable with one syncfs per file
// system they are on, when there are several files and little else is
// waiting to be written (maxDirtyForSyncFS). It reports false, having done
// nothing that matters, when the caller should sync the files one by one:
// too few files, too much dirty data, or a syncfs that failed (the
// per-file syncs then name the files concerned).
func syncWhole(files []pendingFile) bool {
	if len(files) < 8 || dirtyBytes() > maxDirtyForSyncFS {
		return false
	}
	seen := map[uint64]bool{}
	for _, pf := range files {
		if seen[pf.dev] {
			continue
		}
		seen[pf.dev] = true
		if err := withFd(pf.f, unix.Syncfs); err != nil {
			return false
		}
	}
	return true
}

// dirtyBytes returns the page cache waiting to be written or being
// written (Dirty + Writeback in /proc/meminfo), or a huge number when it
// cannot be read.
func dirtyBytes() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 1 << 62
	}
	var total int64
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "Dirty" && name != "Writeback") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 1 << 62
		}
		total += kb << 10
		found++
	}
	if found != 2 {
		return 1 << 62
	}
	return total
}

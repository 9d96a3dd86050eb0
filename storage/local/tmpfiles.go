//go:build unix

package local

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"
)

// Temporary files left behind.
//
// Put writes to a temporary file (TempPrefix) and renames it into place.
// A writer killed before the rename (SIGKILL, a crash, power loss) leaves
// the temporary file behind. Such files are never listed (List skips the
// prefix) and are removed when a listing comes across them, but only when
// they are provably abandoned:
//
//   - the name is TempPrefix and 16 hex digits, as this package names its
//     temporary items (the prefix is reserved: no user item has it);
//   - no process holds the advisory lock (flock) that every writer takes
//     on its temporary file from its creation until it is renamed or
//     removed: the kernel drops the lock when the writer's process dies,
//     however it dies, and a live writer, in this process or another,
//     keeps it however long it stalls;
//   - it was last modified more than tempGrace ago, which covers the
//     moment between a writer's creating the file and locking it.
//
// Where the file system does not support advisory locks (some network
// mounts), a temporary file is removed only once it is older than
// tempGraceUnlocked, long past any write the engine would still be
// waiting for. Temporary folders (of a Mkdir cut off before its rename)
// are removed when they are empty and older than tempGrace.

// tempGrace and tempGraceUnlocked: see above.
var (
	tempGrace         = 2 * time.Second
	tempGraceUnlocked = 24 * time.Hour
)

// isTempName reports whether name is one Put or Mkdir gives a temporary
// item: TempPrefix and 16 lower-case hex digits.
func isTempName(name string) bool {
	rest, ok := strings.CutPrefix(name, TempPrefix)
	if !ok || len(rest) != 16 {
		return false
	}
	for _, c := range []byte(rest) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// lockTemp takes the writer's advisory lock on the temporary file f, just
// created. Where the file system has no advisory locks the file is left
// unlocked (sweepTemp then relies on its age).
func lockTemp(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB) })
}

// unlockTemp releases lockTemp's lock of f, renamed into place and kept
// open a while longer.
func unlockTemp(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) { _ = syscall.Flock(int(fd), syscall.LOCK_UN) })
}

// sweepTemp removes the temporary item name in the folder dir (a path
// below the root) when it is abandoned (see above). Failures leave it
// for a later listing: it is never listed either way.
func (s *Storage) sweepTemp(dir, name string) {
	if !isTempName(name) {
		return // the recycle bin, the metadata folder, or not one of ours
	}
	rel := join(dir, name)
	fi, err := s.root.Lstat(osPath(rel))
	if err != nil {
		return
	}
	age := time.Since(fi.ModTime()) // file times are the system clock's, whatever clock the storage ages its bin by
	switch {
	case fi.IsDir():
		if age > tempGrace {
			_ = s.root.Remove(osPath(rel)) // only when empty
		}
		return
	case !fi.Mode().IsRegular() || age <= tempGrace:
		return
	}
	f, err := s.root.OpenFile(osPath(rel), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB) }); err != nil {
		return
	}
	switch {
	case lerr == nil:
		// No writer holds it; holding the lock now, no writer can start
		// on it either (a writer only locks the file it created).
	case errors.Is(lerr, syscall.EWOULDBLOCK):
		return // a live writer
	case age <= tempGraceUnlocked:
		return // no advisory locks here: only age tells
	}
	// Still the same file under that name (not replaced since the Lstat)?
	ofi, err := f.Stat()
	if err != nil || !os.SameFile(fi, ofi) {
		return
	}
	if err := s.root.Remove(osPath(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
}

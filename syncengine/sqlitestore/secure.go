package sqlitestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// ErrLocked is matched (errors.Is) by the *LockedError that Open returns
// when another Store, in this process or another, has the file open.
var ErrLocked = errors.New("sqlitestore: the store is in use by another process")

// LockedError reports that the store's lock file is held: two engines on
// one store would run the same pairs at the same time. It matches
// ErrLocked.
type LockedError struct {
	Path     string // the database file
	LockFile string // the lock file (Path + ".lock")
	PID      int    // the process holding the lock, 0 if unknown
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("sqlitestore: %s is in use by %s (lock file %s): stop it first, or use another store file",
		e.Path, holder, e.LockFile)
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// fileMode is the permission of the files Open creates: the database holds
// resumable-upload URLs (bearer credentials) and the shape of the synced
// trees, so only its owner may read it. SQLite gives the -wal and -shm
// files the database file's permission.
const fileMode fs.FileMode = 0o600

// createPrivate creates the database file with fileMode when it does not
// exist yet (before SQLite would create it with 0644 less the umask). An
// existing database (and its -wal and -shm files) that every local user
// may read, as earlier versions created it, loses the permissions of
// "others"; its owner's and group's stay.
func createPrivate(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, name := range []string{abs, abs + "-wal", abs + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&0o007 != 0 {
			if err := os.Chmod(name, perm&^0o007); err != nil {
				return err
			}
		}
	}
	return nil
}

// storeLock is the exclusive lock on "<database>.lock", held while the
// Store is open. It is a separate file because closing any descriptor of
// the database file would drop SQLite's own POSIX locks on it. The lock
// file holds the holder's PID and is left in place on Close (removing it
// would let a third process lock a file that a second one already has
// open).
type storeLock struct {
	f *os.File
}

// acquireLock takes the lock of the database at abs, or returns a
// *LockedError naming the holder.
func acquireLock(path, abs string) (*storeLock, error) {
	name := abs + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", path, err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", path, err)
	}
	if !held {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &LockedError{Path: path, LockFile: name, PID: max(pid, 0)}
	}
	// Best effort: the PID only improves the second process's message.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &storeLock{f: f}, nil
}

// release drops the lock (closing the file releases it).
func (l *storeLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}

//go:build !linux

package local

import (
	"context"
	"io/fs"
	"os"
	"time"
)

// fastRoot is empty: lookups go through os.Root (see fast_linux.go).
type fastRoot struct{}

func (s *Storage) initFast()  {}
func (s *Storage) closeFast() {}

// lookup finds the item at rel through os.Root (see lookupPortable).
func (s *Storage) lookup(rel string, open bool) (*os.File, fs.FileInfo, string, error) {
	return s.lookupPortable(rel, open)
}

// readDir returns the items of folder dir, sorted by name, without the
// storage's own hidden items.
func (s *Storage) readDir(ctx context.Context, dir string) ([]dirItem, error) {
	return s.readDirPortable(ctx, dir)
}

// openDir opens folder rel ("" is the root) for reading.
func (s *Storage) openDir(rel string) (*os.File, error) { return s.root.Open(osPath(rel)) }

// createIn creates the new file name (one path segment) in folder dir
// (open as d), failing when anything has that name.
func (s *Storage) createIn(_ *os.File, dir, name string, perm fs.FileMode) (*os.File, error) {
	return s.root.OpenFile(osPath(join(dir, name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// lstat returns the FileInfo of rel without following a final symbolic
// link.
func (s *Storage) lstat(rel string) (fs.FileInfo, error) { return s.root.Lstat(osPath(rel)) }

// lstatIn is lstat for the item name in folder dir (open as d).
func (s *Storage) lstatIn(_ *os.File, dir, name string) (fs.FileInfo, error) {
	return s.lstat(join(dir, name))
}

// identifyIn is identify for the item name in folder dir (open as d).
func (s *Storage) identifyIn(_ *os.File, dir, name string) (fs.FileInfo, string, error) {
	return s.identify(join(dir, name))
}

// setModTime sets the modification time of the open file f when the
// platform can through the descriptor; false means the caller sets it by
// name.
func setModTime(*os.File, time.Time) (bool, error) { return false, nil }

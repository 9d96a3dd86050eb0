//go:build !linux

package local

import (
	"context"
	"io/fs"
	"os"
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

//go:build !unix

package local

import "os"

// lockTemp does nothing: New refuses to open a root on this platform.
func lockTemp(*os.File) {}

// sweepTemp does nothing: New refuses to open a root on this platform.
func (s *Storage) sweepTemp(dir, name string) {}

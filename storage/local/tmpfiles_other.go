//go:build !unix

package local

import "os"

// lockTemp does nothing: New refuses to open a root on this platform.
func lockTemp(*os.File) {}

// unlockTemp does nothing: lockTemp locks nothing on this platform.
func unlockTemp(*os.File) {}

// sweepTemp does nothing: New refuses to open a root on this platform.
func (s *Storage) sweepTemp(dir, name string) {}

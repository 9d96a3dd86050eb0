// Package atomicfile replaces small state files (import logs, connection
// and account stores, saved configurations) so that a reader or a crash
// sees the old content or the new, never a mix, and nobody but the owner
// can read them.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, with permissions 0600 whatever the
// umask: it writes a temporary file in the same folder, syncs it, renames
// it over path and syncs the folder (where the file system can), so the
// replacement survives a crash once WriteFile returns. The temporary file
// is removed on failure.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		// Makes the rename durable; not every file system can sync a
		// folder, and the file itself is synced already.
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

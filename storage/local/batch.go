package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
)

// batch holds the folders whose entries changed while a batch is open and
// are not yet synced to disk.
type batch struct {
	mu    sync.Mutex
	depth int
	dirs  map[string]struct{} // relative paths of folders to sync
}

// BeginBatch opens a durability batch (the engine's
// syncengine.DurabilityBatcher): until the matching EndBatch, Put, MakeDir,
// Move and Delete still write each file's content to disk before it takes
// its name (a file is always either its old or its new content), but sync
// the folders that gained or lost a name only at the next Flush, once for
// every change made in them, instead of once per item. Batches nest.
func (s *Storage) BeginBatch() {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	s.batch.depth++
	if s.batch.dirs == nil {
		s.batch.dirs = map[string]struct{}{}
	}
}

// EndBatch flushes (see Flush) and closes the batch BeginBatch opened.
func (s *Storage) EndBatch(ctx context.Context) error {
	err := s.Flush(ctx)
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	if s.batch.depth > 0 {
		s.batch.depth--
	}
	return err
}

// Flush syncs the folders changed in the open batch: the names that Put,
// MakeDir, Move and Delete added or removed since the last Flush are durable when
// it returns. Like the per-item folder sync outside a batch, a file system
// that refuses to sync folders (some network shares) is not an error. A
// folder moved or deleted since is covered by a sync of the whole file
// system where the platform has one.
func (s *Storage) Flush(ctx context.Context) error {
	s.batch.mu.Lock()
	dirs := s.batch.dirs
	if len(dirs) > 0 {
		s.batch.dirs = map[string]struct{}{}
	}
	s.batch.mu.Unlock()
	if len(dirs) == 0 {
		return ctx.Err()
	}
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	gone := false
	for range min(8, len(dirs)) {
		wg.Go(func() {
			for rel := range work {
				d, err := s.root.Open(osPath(rel))
				if err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						mu.Lock()
						gone = true
						mu.Unlock()
					}
					continue
				}
				_ = d.Sync() // best effort, as outside a batch
				d.Close()
			}
		})
	}
	for rel := range dirs {
		work <- rel
	}
	close(work)
	wg.Wait()
	if gone {
		syncFS(s.root)
	}
	return ctx.Err()
}

// syncDirLater syncs folder d (at rel) now, or at the next Flush while a
// batch is open.
func (s *Storage) syncDirLater(d *os.File, rel string) {
	if !s.deferSync(rel) {
		_ = d.Sync() // best effort: some network file systems refuse it
	}
}

// deferSync records folder rel for the next Flush and returns true while a
// batch is open; otherwise it returns false and the caller syncs it now.
func (s *Storage) deferSync(rel string) bool {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	if s.batch.depth == 0 {
		return false
	}
	s.batch.dirs[rel] = struct{}{}
	return true
}

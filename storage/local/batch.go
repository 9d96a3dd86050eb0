package local

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
)

// batch holds, while a batch is open, the folders whose entries changed
// and the new files whose content is not yet synced to disk.
type batch struct {
	mu    sync.Mutex
	depth int
	dirs  map[string]struct{} // relative paths of folders to sync
	files []pendingFile       // new files whose content waits for Flush
	err   error               // syncs of files that failed before Flush
}

// pendingFile is a new file, still open, whose content Flush syncs.
type pendingFile struct {
	f   *os.File
	rel string
	dev uint64 // the file system it is on
}

// maxPendingFiles bounds the new files a batch keeps open for Flush: the
// Put that reaches it syncs them at once.
const maxPendingFiles = 256

// BeginBatch opens a durability batch (the engine's
// syncengine.DurabilityBatcher). Until the matching EndBatch:
//   - Put, MakeDir, Move and Delete sync the folders that gained or lost a
//     name only at the next Flush, once for every change made in them,
//     instead of once per item;
//   - a Put that writes a new file (nothing had its name) syncs its content
//     at the next Flush too, together with the other new files, instead
//     of before the file takes its name: a power loss before that Flush
//     may leave the new file empty or short at its name (the engine's
//     recovery writes it again, see syncengine's recovery of a Copy), but
//     never touches an existing file;
//   - a Put over an existing file still syncs the new content before it
//     takes the name: an existing file is always either its old or its new
//     content.
//
// Batches nest.
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
	s.batch.mu.Lock()
	if s.batch.depth > 0 {
		s.batch.depth--
	}
	s.batch.mu.Unlock()
	return s.Flush(ctx)
}

// Flush syncs the folders changed in the open batch: the names that Put,
// MakeDir, Move and Delete added or removed since the last Flush are durable when
// it returns. Like the per-item folder sync outside a batch, a file system
// that refuses to sync folders (some network shares) is not an error. A
// folder moved or deleted since is covered by a sync of the whole file
// system where the platform has one.
func (s *Storage) Flush(ctx context.Context) error {
	s.batch.mu.Lock()
	dirs, files, err := s.batch.dirs, s.batch.files, s.batch.err
	if len(dirs) > 0 {
		s.batch.dirs = map[string]struct{}{}
	}
	s.batch.files, s.batch.err = nil, nil
	s.batch.mu.Unlock()
	// Contents first: a folder synced below must not make durable the
	// name of a file whose content is not.
	err = errors.Join(err, syncFiles(files))
	if len(dirs) == 0 {
		return errors.Join(err, ctx.Err())
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
	return errors.Join(err, ctx.Err())
}

// syncFiles syncs the contents of files, several at once (the file system
// commits their metadata together), and closes them. Its error names every
// file whose content could not be synced.
func syncFiles(files []pendingFile) error {
	if len(files) == 0 {
		return nil
	}
	if syncWhole(files) {
		for _, pf := range files {
			_ = pf.f.Close() // durable already; a close error changes nothing
		}
		return nil
	}
	work := make(chan pendingFile)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range min(8, len(files)) {
		wg.Go(func() {
			for pf := range work {
				err := pf.f.Sync()
				if cerr := pf.f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, wrap("sync", pf.rel, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, pf := range files {
		work <- pf
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// deferContent hands new file f (renamed into place at rel) to the open
// batch, which syncs its content and closes it at the next Flush, and
// returns true; without an open batch it returns false and the caller
// keeps f. A batch holding maxPendingFiles syncs them now; an error of
// theirs is the next Flush's.
func (s *Storage) deferContent(f *os.File, rel string, dev uint64) bool {
	s.batch.mu.Lock()
	if s.batch.depth == 0 {
		s.batch.mu.Unlock()
		return false
	}
	s.batch.files = append(s.batch.files, pendingFile{f, rel, dev})
	var full []pendingFile
	if len(s.batch.files) >= maxPendingFiles {
		full, s.batch.files = s.batch.files, nil
	}
	s.batch.mu.Unlock()
	if err := syncFiles(full); err != nil {
		s.batch.mu.Lock()
		s.batch.err = errors.Join(s.batch.err, err)
		s.batch.mu.Unlock()
	}
	return true
}

// batching reports whether a batch is open.
func (s *Storage) batching() bool {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return s.batch.depth > 0
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

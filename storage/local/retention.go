package local

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// TrashRetention bounds the recycle bin. Deletions beyond it are removed
// for good, oldest first, after each Delete and whenever PruneTrash runs
// (call it on a schedule, e.g. daily, to age out deletions on a share
// where nothing is deleted for a while). The zero value keeps everything
// until EmptyTrash.
type TrashRetention struct {
	// MaxAge removes deletions made longer ago than this (0: no age
	// limit).
	MaxAge time.Duration
	// MaxBytes removes the oldest deletions while the bin holds more file
	// bytes than this (0: no size limit). The most recent deletion is
	// always kept, even when it alone is larger.
	MaxBytes int64
}

func (r TrashRetention) enabled() bool { return r.MaxAge > 0 || r.MaxBytes > 0 }

// WithTrashRetention bounds the recycle bin by age and/or size (see
// TrashRetention). Negative limits are an error.
func WithTrashRetention(r TrashRetention) Option {
	return func(c *config) error {
		if r.MaxAge < 0 || r.MaxBytes < 0 {
			return errors.New("local: negative trash retention limit")
		}
		c.retention = r
		return nil
	}
}

// binEntry is one deletion in the recycle bin as the retention sees it.
type binEntry struct {
	tid       string
	deletedAt time.Time
	size      int64 // file bytes; counted only when MaxBytes is set
}

// bin is the in-memory view of the recycle bin that retention works on,
// read from disk on first use so that a Delete costs what it deletes, not
// what the bin holds. Restore and EmptyTrash drop it; it is read again.
type bin struct {
	mu      sync.Mutex
	loaded  bool
	entries []binEntry // oldest first
	total   int64
}

// trashIDTime is the deletion time a deletion ID starts with.
func trashIDTime(tid string) (time.Time, bool) {
	stamp, _, ok := strings.Cut(tid, "-")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(trashIDLayout, stamp)
	return t, err == nil
}

// trashIDLayout is the layout of the time that starts a deletion ID; IDs
// sort by it.
const trashIDLayout = "20060102T150405.000000000Z"

// treeSize returns the bytes of the files at p (a file or a folder) below
// the root, without following symbolic links.
func (s *Storage) treeSize(ctx context.Context, p string) int64 {
	fi, err := s.root.Lstat(p)
	if err != nil {
		return 0
	}
	if !fi.IsDir() {
		if fi.Mode().IsRegular() {
			return fi.Size()
		}
		return 0
	}
	d, err := s.root.Open(p)
	if err != nil {
		return 0
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0
	}
	var n int64
	for _, name := range names {
		if ctx.Err() != nil {
			return n
		}
		n += s.treeSize(ctx, p+"/"+name)
	}
	return n
}

// loadBin reads the recycle bin from disk. b.mu is held.
func (s *Storage) loadBin(ctx context.Context, b *bin) error {
	d, err := s.root.Open(s.cfg.trashDir)
	if errors.Is(err, fs.ErrNotExist) {
		b.entries, b.total, b.loaded = nil, 0, true
		return nil
	}
	if err != nil {
		return wrap("trash", s.cfg.trashDir, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return wrap("trash", s.cfg.trashDir, err)
	}
	slices.Sort(names)
	b.entries, b.total = b.entries[:0], 0
	for _, n := range names {
		tid, ok := strings.CutSuffix(n, ".json")
		if !ok {
			continue
		}
		at, ok := trashIDTime(tid)
		if !ok {
			info, err := s.trashInfo(tid)
			if err != nil {
				continue // not one of ours, or damaged: never removed here
			}
			at = info.DeletedAt
		}
		e := binEntry{tid: tid, deletedAt: at}
		if s.cfg.retention.MaxBytes > 0 {
			e.size = s.treeSize(ctx, s.cfg.trashDir+"/"+tid)
		}
		b.entries = append(b.entries, e)
		b.total += e.size
	}
	if err := ctx.Err(); err != nil {
		return storage.NewError("trash", "", nil, err)
	}
	b.loaded = true
	return nil
}

// forgetBin makes the retention read the recycle bin from disk again
// (after EmptyTrash).
func (s *Storage) forgetBin() {
	s.bin.mu.Lock()
	s.bin.loaded = false
	s.bin.mu.Unlock()
}

// trashed tells the retention about deletion tid just made, then applies
// it.
func (s *Storage) trashed(ctx context.Context, tid string, at time.Time) error {
	if !s.cfg.retention.enabled() {
		return nil
	}
	b := &s.bin
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.loaded {
		// Reading the bin finds the new deletion too.
		if err := s.loadBin(ctx, b); err != nil {
			return err
		}
	} else {
		e := binEntry{tid: tid, deletedAt: at}
		if s.cfg.retention.MaxBytes > 0 {
			e.size = s.treeSize(ctx, s.cfg.trashDir+"/"+tid)
		}
		// Deletions running side by side may arrive out of order.
		i, _ := slices.BinarySearchFunc(b.entries, tid, func(e binEntry, tid string) int { return strings.Compare(e.tid, tid) })
		b.entries = slices.Insert(b.entries, i, e)
		b.total += e.size
	}
	return s.prune(ctx, b)
}

// PruneTrash applies the Storage's TrashRetention now, removing for good
// the deletions beyond it; without a retention it does nothing. Delete
// applies it too; call PruneTrash on a schedule so that deletions age out
// while nothing is deleted.
func (s *Storage) PruneTrash(ctx context.Context) error {
	if s.cfg.noTrash || !s.cfg.retention.enabled() {
		return nil
	}
	b := &s.bin
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := s.loadBin(ctx, b); err != nil {
		return err
	}
	return s.prune(ctx, b)
}

// prune removes the oldest deletions while they are older than MaxAge or
// the bin is larger than MaxBytes, always keeping the most recent one for
// the size limit. b.mu is held.
func (s *Storage) prune(ctx context.Context, b *bin) error {
	r := s.cfg.retention
	cutoff := time.Time{}
	if r.MaxAge > 0 {
		cutoff = s.now().Add(-r.MaxAge)
	}
	n := 0
	for n < len(b.entries) {
		e := b.entries[n]
		old := !cutoff.IsZero() && e.deletedAt.Before(cutoff)
		big := r.MaxBytes > 0 && b.total > r.MaxBytes && n < len(b.entries)-1
		if !old && !big {
			break
		}
		if err := ctx.Err(); err != nil {
			b.entries = b.entries[n:]
			return storage.NewError("trash", "", nil, err)
		}
		if err := s.root.RemoveAll(s.cfg.trashDir + "/" + e.tid); err != nil {
			b.entries = b.entries[n:]
			return wrap("trash", e.tid, err)
		}
		_ = s.root.Remove(s.cfg.trashDir + "/" + e.tid + ".json")
		b.total -= e.size
		n++
	}
	b.entries = b.entries[n:]
	return nil
}

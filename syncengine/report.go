package syncengine

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// PairStats is a pair's dashboard.
type PairStats struct {
	PairID, Name string
	// Files and Folders count the items in sync (the baseline); BytesInSync
	// is the total size of those files (as on side A).
	Files, Folders int
	BytesInSync    int64
	// FilesCopied, BytesCopied, Deleted and BytesDeleted add up every run.
	FilesCopied  int
	BytesCopied  int64
	Deleted      int
	BytesDeleted int64
	// AverageBytesPerSecond is BytesCopied over the time spent transferring
	// (0 when nothing was transferred).
	AverageBytesPerSecond float64
	// Runs counts the runs recorded; LastRun is the newest (zero if none).
	Runs    int
	LastRun Run
	// LastSuccess is when the latest fully successful run started.
	LastSuccess time.Time
	Initialized bool
	Paused      bool
	PauseReason string
	// Held counts deletions waiting for approval; Failing counts items
	// waiting for a retry; Quarantined counts items no longer retried.
	Held, Failing, Quarantined int
}

// Stats returns the pair's dashboard. It reads the whole run history and
// baseline of the pair from the store.
func (e *Engine) Stats(ctx context.Context, pairID string) (PairStats, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return PairStats{}, err
	}
	st := PairStats{PairID: pairID, Name: s.cur().Name}
	ps, err := e.store.LoadPair(ctx, pairID)
	if err != nil {
		return st, err
	}
	st.Initialized, st.Paused, st.PauseReason, st.LastSuccess = ps.Initialized, ps.Paused, ps.PauseReason, ps.LastSuccess
	for it, err := range e.store.Items(ctx, pairID) {
		if err != nil {
			return st, err
		}
		if it.IsDir {
			st.Folders++
		} else {
			st.Files++
			// A side that lists files without a size (-1, spooled when
			// copied) counts with the other side's.
			size := it.A.Size
			if size < 0 {
				size = it.B.Size
			}
			st.BytesInSync += max(size, 0)
		}
	}
	runs, err := e.store.Runs(ctx, pairID, Page{})
	if err != nil {
		return st, err
	}
	st.Runs = len(runs)
	var nanos int64
	for i, r := range runs {
		if i == 0 {
			st.LastRun = r
		}
		st.FilesCopied += r.Counts.FilesCopied
		st.BytesCopied += r.Counts.BytesCopied
		st.Deleted += r.Counts.Deleted
		st.BytesDeleted += r.Counts.BytesDeleted
		nanos += r.Counts.TransferNanos
	}
	if nanos > 0 {
		st.AverageBytesPerSecond = float64(st.BytesCopied) / (float64(nanos) / float64(time.Second))
	}
	held, err := e.store.HeldDeletes(ctx, pairID)
	if err != nil {
		return st, err
	}
	st.Held = len(held)
	fs, err := e.store.Failures(ctx, pairID)
	if err != nil {
		return st, err
	}
	for _, f := range fs {
		if f.Quarantined {
			st.Quarantined++
		} else {
			st.Failing++
		}
	}
	return st, nil
}

// History returns the pair's runs, newest first.
func (e *Engine) History(ctx context.Context, pairID string, p Page) ([]Run, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.Runs(ctx, pairID, p)
}

// Activity returns the pair's activity log, newest first.
func (e *Engine) Activity(ctx context.Context, pairID string, p Page) ([]Activity, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.Activity(ctx, pairID, p)
}

// RunActivity returns what run runID of the pair did (the activity log
// entries of that run, Activity.RunID equal to runID), newest first, paged
// by p: the detail behind one line of History. An unknown run gives an
// empty list.
func (e *Engine) RunActivity(ctx context.Context, pairID string, runID int64, p Page) ([]Activity, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.RunActivity(ctx, pairID, runID, p)
}

// Errors returns the pair's error log, newest first.
func (e *Engine) Errors(ctx context.Context, pairID string, p Page) ([]ErrorRecord, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.Errors(ctx, pairID, p)
}

// Failures returns the pair's failing and quarantined items.
func (e *Engine) Failures(ctx context.Context, pairID string) ([]Failure, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.Failures(ctx, pairID)
}

// WriteHistoryCSV writes the pair's run history (newest first, bounded by
// p) as CSV with a header line, for export.
func (e *Engine) WriteHistoryCSV(ctx context.Context, w io.Writer, pairID string, p Page) error {
	runs, err := e.History(ctx, pairID, p)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"run", "pair", "initial", "started", "ended", "status", "error", "files_copied",
		"folders_made", "moved", "deleted", "linked", "conflicts", "held", "failed", "bytes_copied", "bytes_deleted",
		"waiting", "replanned", "skipped", "undone"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, r := range runs {
		c := r.Counts
		_ = cw.Write([]string{strconv.FormatInt(r.ID, 10), r.PairID, strconv.FormatBool(r.Initial), ts(r.Started),
			ts(r.Ended), string(r.Status), r.Error, strconv.Itoa(c.FilesCopied), strconv.Itoa(c.FoldersMade),
			strconv.Itoa(c.Moved), strconv.Itoa(c.Deleted), strconv.Itoa(c.Linked), strconv.Itoa(c.Conflicts),
			strconv.Itoa(c.Held), strconv.Itoa(c.Failed), strconv.FormatInt(c.BytesCopied, 10),
			strconv.FormatInt(c.BytesDeleted, 10), strconv.Itoa(c.Waiting), strconv.Itoa(c.Replanned),
			strconv.Itoa(c.Skipped), r.Undone})
	}
	cw.Flush()
	return cw.Error()
}

// SyncStatus is an entry's state in a FolderView.
type SyncStatus string

// Sync statuses.
const (
	StatusInSync      SyncStatus = "in_sync"     // on both sides, as last synced
	StatusOnlyA       SyncStatus = "only_a"      // only on side A (not synced yet, or deleted on B)
	StatusOnlyB       SyncStatus = "only_b"      // only on side B
	StatusDiffers     SyncStatus = "differs"     // on both sides, changed since the last sync
	StatusHeld        SyncStatus = "held"        // a deletion of it waits for approval
	StatusFailed      SyncStatus = "failed"      // it failed and is retried later
	StatusQuarantined SyncStatus = "quarantined" // it failed too often; released by an admin
)

// FolderViewEntry is one line of a FolderView: an item of the folder on
// either side or both.
type FolderViewEntry struct {
	// Name is the item's name on side A (on B when it is only there).
	Name  string
	IsDir bool
	// A and B are the entries on each side (nil: absent on that side).
	A, B *storage.Entry
	// Status is the item's sync status; Detail says more for failures.
	Status SyncStatus
	Detail string
}

// FolderView lays out one folder level of both sides next to each other
// with each item's sync status, folders first, then by name. folder is a
// path on side A ("" is the pair root); the matching folder on B is found
// through the baseline. It lists both storages (the Storage contract has
// no per-folder listing), so it costs a full listing of each side.
func (e *Engine) FolderView(ctx context.Context, pairID, folder string) ([]FolderViewEntry, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return nil, err
	}
	p := s.cur()
	folder = cleanFolder(folder)
	dirs := [2]string{folder, folder}
	if folder != "" {
		if it, err := e.store.ItemByPath(ctx, pairID, SideA, folder); err == nil {
			dirs[SideB] = it.B.Path
		} else if !errors.Is(err, ErrNoItem) {
			return nil, err
		}
	}
	var level [2][]storage.Entry
	for side := range 2 {
		for en, err := range p.storage(Side(side)).List(ctx) {
			if err != nil {
				return nil, fmt.Errorf("syncengine: listing side %s: %w", Side(side), err)
			}
			if en.Dir() == dirs[side] {
				level[side] = append(level[side], en)
			}
		}
	}
	held, err := e.store.HeldDeletes(ctx, pairID)
	if err != nil {
		return nil, err
	}
	heldAt := map[failKey]bool{}
	for _, h := range held {
		heldAt[failKey{h.DeletedOn.Other(), h.Path}] = true
	}
	fs, err := e.store.Failures(ctx, pairID)
	if err != nil {
		return nil, err
	}
	failAt := map[string]Failure{}
	for _, f := range fs {
		failAt[f.Path] = f
	}

	bIdx := map[string]int{} // B entries by ID
	bName := map[string]int{}
	for i, en := range level[SideB] {
		bIdx[en.ID] = i
		bName[strings.ToLower(en.Name())] = i
	}
	usedB := map[int]bool{}
	var out []FolderViewEntry
	for i := range level[SideA] {
		a := &level[SideA][i]
		v := FolderViewEntry{Name: a.Name(), IsDir: a.IsDir, A: a}
		base, err := e.store.ItemByID(ctx, pairID, SideA, a.ID)
		hasBase := err == nil
		if err != nil && !errors.Is(err, ErrNoItem) {
			return nil, err
		}
		j, ok := -1, false
		if hasBase {
			j, ok = bIdx[base.B.ID]
		}
		if !ok {
			j, ok = bName[strings.ToLower(a.Name())]
			ok = ok && !usedB[j]
		}
		if ok {
			usedB[j] = true
			v.B = &level[SideB][j]
		}
		v.Status = compareStatus(v.A, v.B, base, hasBase)
		out = append(out, v)
	}
	for j := range level[SideB] {
		if usedB[j] {
			continue
		}
		b := &level[SideB][j]
		out = append(out, FolderViewEntry{Name: b.Name(), IsDir: b.IsDir, B: b, Status: StatusOnlyB})
	}
	for i := range out {
		v := &out[i]
		for side, en := range []*storage.Entry{v.A, v.B} {
			if en == nil {
				continue
			}
			if heldAt[failKey{Side(side), en.Path}] {
				v.Status, v.Detail = StatusHeld, "deletion waits for approval"
			}
			if f, ok := failAt[en.Path]; ok {
				v.Status, v.Detail = StatusFailed, f.Error
				if f.Quarantined {
					v.Status = StatusQuarantined
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y FolderViewEntry) int {
		if x.IsDir != y.IsDir {
			if x.IsDir {
				return -1
			}
			return 1
		}
		return cmp.Compare(x.Name, y.Name)
	})
	return out, nil
}

// compareStatus says whether entries a and b of one item are in sync.
func compareStatus(a, b *storage.Entry, base Item, hasBase bool) SyncStatus {
	switch {
	case a == nil:
		return StatusOnlyB
	case b == nil:
		return StatusOnlyA
	case a.IsDir && b.IsDir:
		return StatusInSync
	case a.IsDir != b.IsDir:
		return StatusDiffers
	}
	if hasBase && base.A.ID == a.ID && base.B.ID == b.ID && base.A.Version == a.Version && base.B.Version == b.Version {
		return StatusInSync
	}
	if eq, ok := a.Hashes.Equal(b.Hashes); ok && eq && a.Size == b.Size {
		return StatusInSync
	}
	return StatusDiffers
}

// ReleaseQuarantine lets a quarantined (or failing) item be tried again at
// once: its attempts are reset and the pair is woken. side and itemPath
// identify it as Failures lists it.
func (e *Engine) ReleaseQuarantine(ctx context.Context, pairID string, side Side, itemPath string) error {
	s, err := e.slot(pairID)
	if err != nil {
		return err
	}
	fs, err := e.store.Failures(ctx, pairID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Side == side && f.Path == itemPath {
			f.Attempts, f.Quarantined, f.NextAttempt, f.Updated = 0, false, time.Time{}, e.clock.Now()
			if err := e.store.PutFailure(ctx, f); err != nil {
				return err
			}
			e.auditPair(ctx, s.cur(), AuditQuarantineReleased, map[string]string{"side": side.String(), "path": itemPath})
			e.Wake(pairID)
			return nil
		}
	}
	return fmt.Errorf("syncengine: pair %s has no failing item %s:%q: %w", pairID, side, itemPath, ErrNoItem)
}

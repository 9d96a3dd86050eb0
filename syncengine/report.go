package syncengine

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
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
	st := PairStats{PairID: pairID, Name: s.pair.Name}
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
			st.BytesInSync += it.A.Size
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

// Held returns the pair's deletions waiting for approval, oldest first.
func (e *Engine) Held(ctx context.Context, pairID string) ([]HeldDelete, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.HeldDeletes(ctx, pairID)
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
	p := &s.pair
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

// ApproveHeld applies held deletions (IDs from Held): each item is deleted
// on the side where the deletion was held (to its recycle bin), counted in
// the delete ledger and dropped from the baseline. Approval overrides the
// delete limit. Deletions that fail stay held; the others are released.
// A held deletion whose baseline record is gone since (the item was deleted
// on the side that kept it too) is released without deleting anything.
// After a folder's, the pair's next run lists both sides in full (see
// relistAfterHeld).
func (e *Engine) ApproveHeld(ctx context.Context, pairID string, ids []int64) error {
	s, hs, err := e.heldFor(ctx, pairID, ids)
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer e.unlock(s)
	ap, err := e.newApplier(ctx, &s.pair, 0, true)
	if err != nil {
		return err
	}
	var errs []error
	var done []int64
	var relist bool
	var cancelled []string
	loc := &locator{ap: ap}
	defer func() {
		if len(cancelled) > 0 {
			e.notify(ctx, &s.pair, Event{Kind: EventHeldDeleteCancelled, Paths: cancelled,
				Message: fmt.Sprintf("%d approved deletions of %s were not applied: the items changed after their "+
					"deletion was held; they are kept and restored where they were deleted", len(cancelled), s.pair.Name)})
			e.Wake(pairID)
		}
	}()
	for _, h := range hs {
		side := h.DeletedOn.Other()
		base, known, err := loc.baseline(ctx, h)
		if err == nil && !known {
			// The record is gone (the item was deleted on the other side
			// too, say): whatever is at its path now is another item,
			// which must not be deleted. Nothing is left to approve.
			done = append(done, h.ID)
			continue
		}
		relist = relist || h.IsDir
		p := h.Path
		if err == nil && base.Key != 0 {
			p = base.Side(side).Path
		}
		var en storage.Entry
		var ok, back bool
		if err == nil {
			back, err = loc.backOn(ctx, h, base)
		}
		if back {
			// The item is on the side it was deleted from again (restored
			// or linked since): there is nothing left to delete.
			done = append(done, h.ID)
			continue
		}
		if err == nil {
			en, ok, err = loc.find(ctx, side, base)
		}
		if err == nil && ok {
			// The hold is on the version that was held: a copy edited
			// since (for a folder: anything below it that the baseline
			// does not know as it is) is not deleted; the change wins and
			// the next run restores it where it was deleted.
			if cerr := ap.confirmHeld(ctx, h, base, en); errors.Is(cerr, errChanged) {
				cancelled = append(cancelled, side.String()+":"+en.Path)
				done = append(done, h.ID)
				relist = true
				ap.log.Info("syncengine: held deletion not applied: the item changed since it was held",
					"path", en.Path, "reason", cerr)
				continue
			} else if cerr != nil {
				err = cerr
			}
		}
		if err == nil && ok {
			err = preconditionChanged(s.pair.storage(side).Delete(ctx, en), side, en.Path)
			err = ignoreNotFound(err)
			if errors.Is(err, errChanged) {
				cancelled = append(cancelled, side.String()+":"+en.Path)
				done = append(done, h.ID)
				relist = true
				continue
			}
		}
		if err == nil {
			var del []int64
			del, err = loc.gone(ctx, h, p)
			if err == nil && len(del) > 0 {
				err = e.store.PutItems(ctx, pairID, nil, del)
			}
		}
		if err == nil {
			err = e.store.RecordDeletes(ctx, pairID, e.clock.Now(), 1)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("approving deletion of %q: %w", h.Path, err))
			continue
		}
		ap.activity(ctx, Action{Kind: ActionDelete, Side: side, Path: h.Path, IsDir: h.IsDir}, h.Size, "held deletion approved")
		done = append(done, h.ID)
	}
	if len(done) > 0 {
		if err := e.store.ReleaseHeld(ctx, pairID, done); err != nil {
			errs = append(errs, err)
		}
	}
	if relist {
		if err := e.relistAfterHeld(ctx, s, pairID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RejectHeld rejects held deletions (IDs from Held): each item (a folder
// with everything the baseline knows below it) is copied back from the
// side where it was kept to the side where it was deleted, and the
// baseline records the restored copies. Restorations that fail stay held.
// A held deletion whose baseline record is gone since restores nothing.
// After a folder's, the pair's next run lists both sides in full (see
// relistAfterHeld).
func (e *Engine) RejectHeld(ctx context.Context, pairID string, ids []int64) error {
	s, hs, err := e.heldFor(ctx, pairID, ids)
	if err != nil {
		return err
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer e.unlock(s)
	ap, err := e.newApplier(ctx, &s.pair, 0, true)
	if err != nil {
		return err
	}
	var errs []error
	var done []int64
	var relist bool
	for _, h := range hs {
		if err := ap.restore(ctx, h); err != nil {
			errs = append(errs, fmt.Errorf("restoring %q: %w", h.Path, err))
			continue
		}
		done = append(done, h.ID)
		relist = relist || h.IsDir
	}
	if len(done) > 0 {
		if err := e.store.ReleaseHeld(ctx, pairID, done); err != nil {
			errs = append(errs, err)
		}
	}
	if relist {
		if err := e.relistAfterHeld(ctx, s, pairID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// relistAfterHeld makes the pair's next run list both sides in full after
// an admin resolved the held deletion of a folder. While it was held, the
// items that changed in or into it were skipped (see buildPlan): items
// written into it on the side that kept it, and the other side's changes
// of items moved into it (deleted, moved or edited there). A change feed
// reported those changes once and does not report them again, so only a
// listing of both sides sees them now.
func (e *Engine) relistAfterHeld(ctx context.Context, s *pairSlot, pairID string) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	ps, err := e.store.LoadPair(ctx, pairID)
	if err != nil {
		return err
	}
	*ps.Cursor(SideA), *ps.Cursor(SideB) = "", ""
	return e.store.SavePair(ctx, pairID, ps)
}

// heldFor returns the pair and its held deletions with the given IDs; an
// unknown ID is an error.
func (e *Engine) heldFor(ctx context.Context, pairID string, ids []int64) (*pairSlot, []HeldDelete, error) {
	s, err := e.slot(pairID)
	if err != nil {
		return nil, nil, err
	}
	all, err := e.store.HeldDeletes(ctx, pairID)
	if err != nil {
		return nil, nil, err
	}
	byID := map[int64]HeldDelete{}
	for _, h := range all {
		byID[h.ID] = h
	}
	var out []HeldDelete
	for _, id := range ids {
		h, ok := byID[id]
		if !ok {
			return nil, nil, fmt.Errorf("syncengine: pair %s has no held deletion %d: %w", pairID, id, ErrNoItem)
		}
		out = append(out, h)
	}
	return s, out, nil
}

// restore copies a held item back to the side where it was deleted.
func (ap *applier) restore(ctx context.Context, h HeldDelete) error {
	from, to := h.DeletedOn.Other(), h.DeletedOn
	store := ap.e.store
	loc := &locator{ap: ap}
	root, known, err := loc.baseline(ctx, h)
	if err != nil || !known {
		// A record gone since the deletion was held (the item was deleted
		// on the side that kept it too, say) leaves nothing to restore:
		// whatever is at its path now is another item, which the planner
		// syncs as such. Copying it would make a duplicate.
		return err
	}
	if back, err := loc.backOn(ctx, h, root); err != nil || back {
		return err // already back where it was deleted
	}
	items := []Item{root}
	if h.IsDir && root.Side(from).Path != "" {
		for it, err := range store.ItemsUnder(ctx, ap.pairID, from, root.Side(from).Path) {
			if err != nil {
				return err
			}
			items = append(items, it)
		}
	}
	slices.SortStableFunc(items, func(x, y Item) int {
		return cmp.Compare(depth(x.Side(from).Path), depth(y.Side(from).Path))
	})
	renamed := map[string]string{} // restored folders that took another name
	for _, it := range items {
		if it.Key != root.Key && it.Side(to).ID != "" {
			// Below the folder, what still exists on the deleted side (say,
			// synced into a new folder of the same name) stays as it is.
			if _, ok, err := loc.find(ctx, to, it); err != nil {
				return err
			} else if ok {
				continue
			}
		}
		src, ok, err := loc.find(ctx, from, it)
		if err != nil {
			return err
		}
		if !ok {
			if it.Key != 0 {
				if err := store.PutItems(ctx, ap.pairID, nil, []int64{it.Key}); err != nil {
					return err
				}
			}
			continue
		}
		dst := it.Side(to).Path
		if dst == "" || (src.Path != it.Side(from).Path && it.Key == root.Key) {
			dst = src.Path // it moved since: restore it where it is now
		}
		for old, nw := range renamed {
			if strings.HasPrefix(dst, old+"/") {
				dst = nw + dst[len(old):]
				break
			}
		}
		if err := ap.ensureDir(ctx, to, parentPath(dst)); err != nil {
			return err
		}
		a := Action{Kind: ActionCopy, Side: to, Path: dst, IsDir: src.IsDir, Source: src, Key: it.Key,
			Reason: "held deletion rejected: restored"}
		var en storage.Entry
		// Something else may have taken the path meanwhile: then the item
		// is restored under a numbered name, which the baseline maps.
		for n := 1; ; n++ {
			p := path.Join(parentPath(dst), numbered(path.Base(dst), n))
			a.Path = p
			if src.IsDir {
				en, err = ap.mkdir(ctx, to, p)
				if err == nil {
					var ok bool
					if ok, err = ap.adoptable(ctx, to, en, it.Key); err == nil && !ok {
						err = storage.NewError("mkdir", p, storage.ErrAlreadyExists, nil)
					}
				}
			} else {
				en, _, err = ap.copyNew(ctx, a, p)
			}
			if !errors.Is(err, storage.ErrAlreadyExists) || n == 20 {
				break
			}
		}
		if err != nil {
			return err
		}
		if src.IsDir && en.Path != dst {
			renamed[dst] = en.Path
		}
		if err := ap.putItem(ctx, itemOf(it.Key, src.IsDir, to, en, src)); err != nil {
			return err
		}
		ap.activity(ctx, a, src.Size, "")
	}
	return nil
}

// locator finds the current entries of baseline items for admin actions,
// listing a side (once) when an item is no longer at its baseline path.
type locator struct {
	ap     *applier
	listed [2]map[string]storage.Entry
}

// baseline returns the baseline record of a held deletion (a record with
// only the held path when the deletion names no record). known is false
// when the record it names is gone from the baseline: the item was
// forgotten since (deleted on both sides, or with a folder deleted on the
// side that kept it), and nothing of it is left to delete or restore.
func (l *locator) baseline(ctx context.Context, h HeldDelete) (it Item, known bool, err error) {
	if h.Key != 0 {
		for it, err := range l.ap.e.store.Items(ctx, l.ap.pairID) {
			if err != nil {
				return Item{}, false, err
			}
			if it.Key == h.Key {
				return it, true, nil
			}
		}
		return Item{}, false, nil
	}
	it = Item{IsDir: h.IsDir}
	it.Side(h.DeletedOn.Other()).Path = h.Path
	it.Side(h.DeletedOn).Path = h.Path
	return it, true, nil
}

// gone returns the baseline keys to drop once held deletion h was applied
// at path p: the item's, and those of the items below a folder that are
// gone from the side the deletion came from. Items below it that exist
// there (synced into the folder after the deletion was held) keep their
// records: the next run sees them deleted on this side and decides.
func (l *locator) gone(ctx context.Context, h HeldDelete, p string) ([]int64, error) {
	var del []int64
	if h.Key != 0 {
		del = append(del, h.Key)
	}
	if !h.IsDir || p == "" {
		return del, nil
	}
	var under []Item
	for it, err := range l.ap.e.store.ItemsUnder(ctx, l.ap.pairID, h.DeletedOn.Other(), p) {
		if err != nil {
			return nil, err
		}
		under = append(under, it)
	}
	for _, it := range under {
		if it.Side(h.DeletedOn).ID != "" {
			if _, ok, err := l.find(ctx, h.DeletedOn, it); err != nil {
				return nil, err
			} else if ok {
				continue
			}
		}
		del = append(del, it.Key)
	}
	return del, nil
}

// backOn reports whether the item of held deletion h (baseline record
// base) exists again on the side it was deleted from.
func (l *locator) backOn(ctx context.Context, h HeldDelete, base Item) (bool, error) {
	if base.Key == 0 || base.Side(h.DeletedOn).ID == "" {
		return false, nil
	}
	_, ok, err := l.find(ctx, h.DeletedOn, base)
	return ok, err
}

// find returns the current entry on side s of baseline item it: at its
// baseline path, or wherever its ID is now. ok is false when it is gone.
func (l *locator) find(ctx context.Context, s Side, it Item) (storage.Entry, bool, error) {
	ss := it.Side(s)
	en, ok, err := l.ap.stat(ctx, s, ss.Path)
	if err != nil || (ok && (ss.ID == "" || en.ID == ss.ID)) || ss.ID == "" {
		return en, ok && err == nil, err
	}
	if l.listed[s] == nil {
		l.listed[s] = map[string]storage.Entry{}
		for e, err := range l.ap.p.storage(s).List(ctx) {
			if err != nil {
				l.listed[s] = nil
				return storage.Entry{}, false, err
			}
			l.listed[s][e.ID] = e
		}
	}
	en, ok = l.listed[s][ss.ID]
	return en, ok, nil
}

// mkdir creates folder p on side s, adopting a folder already there.
func (ap *applier) mkdir(ctx context.Context, s Side, p string) (storage.Entry, error) {
	parent, err := ap.dir(ctx, s, parentPath(p))
	if err != nil {
		return storage.Entry{}, err
	}
	en, err := ap.p.storage(s).MakeDir(ctx, parent, path.Base(p))
	if errors.Is(err, storage.ErrAlreadyExists) {
		en, err = ap.p.storage(s).Stat(ctx, p)
		if err == nil && !en.IsDir {
			err = storage.NewError("mkdir", p, storage.ErrAlreadyExists, errors.New("a file is in the way"))
		}
	}
	if err != nil {
		return storage.Entry{}, err
	}
	ap.rememberDir(s, en)
	return en, nil
}

// ensureDir makes sure folder p exists on side s, creating the missing
// folders top-down.
func (ap *applier) ensureDir(ctx context.Context, s Side, p string) error {
	if _, err := ap.dir(ctx, s, p); err == nil || p == "" || !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err := ap.ensureDir(ctx, s, parentPath(p)); err != nil {
		return err
	}
	_, err := ap.mkdir(ctx, s, p)
	return err
}

// ReleaseQuarantine lets a quarantined (or failing) item be tried again at
// once: its attempts are reset and the pair is woken. side and itemPath
// identify it as Failures lists it.
func (e *Engine) ReleaseQuarantine(ctx context.Context, pairID string, side Side, itemPath string) error {
	if _, err := e.slot(pairID); err != nil {
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
			e.Wake(pairID)
			return nil
		}
	}
	return fmt.Errorf("syncengine: pair %s has no failing item %s:%q: %w", pairID, side, itemPath, ErrNoItem)
}

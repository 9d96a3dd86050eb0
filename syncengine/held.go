package syncengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// Held returns the pair's deletions waiting for approval, oldest first.
func (e *Engine) Held(ctx context.Context, pairID string) ([]HeldDelete, error) {
	if _, err := e.slot(pairID); err != nil {
		return nil, err
	}
	return e.store.HeldDeletes(ctx, pairID)
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
	s, hs, ap, err := e.resolveHeld(ctx, pairID, ids)
	if err != nil {
		return err
	}
	defer e.unlock(s)
	var errs []error
	var done []int64
	var relist bool
	var cancelled []string
	loc := &locator{ap: ap}
	defer func() {
		if len(cancelled) > 0 {
			e.notify(ctx, s.cur(), Event{Kind: EventHeldDeleteCancelled, Paths: cancelled,
				Message: fmt.Sprintf("%d approved deletions of %s were not applied: the items changed after their "+
					"deletion was held; they are kept and restored where they were deleted", len(cancelled), s.cur().Name)})
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
			err = preconditionChanged(s.cur().storage(side).Delete(ctx, en), side, en.Path)
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
	e.auditHeld(ctx, s.cur(), AuditHeldApproved, hs, done)
	return e.releaseHeld(ctx, s, done, relist, errs)
}

// RejectHeld rejects held deletions (IDs from Held): each item (a folder
// with everything the baseline knows below it) is copied back from the
// side where it was kept to the side where it was deleted, and the
// baseline records the restored copies. Restorations that fail stay held.
// A held deletion whose baseline record is gone since restores nothing.
// After a folder's, the pair's next run lists both sides in full (see
// relistAfterHeld).
func (e *Engine) RejectHeld(ctx context.Context, pairID string, ids []int64) error {
	s, hs, ap, err := e.resolveHeld(ctx, pairID, ids)
	if err != nil {
		return err
	}
	defer e.unlock(s)
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
	e.auditHeld(ctx, s.cur(), AuditHeldRejected, hs, done)
	return e.releaseHeld(ctx, s, done, relist, errs)
}

// releaseHeld ends an admin's decision on held deletions: the ones done
// are released, the pair relists both sides if relist (see
// relistAfterHeld), and the errors of the decision (errs) and of these
// steps are returned joined.
func (e *Engine) releaseHeld(ctx context.Context, s *pairSlot, done []int64, relist bool, errs []error) error {
	if len(done) > 0 {
		if err := e.store.ReleaseHeld(ctx, s.cur().ID, done); err != nil {
			errs = append(errs, err)
		}
	}
	if relist {
		if err := e.relistAfterHeld(ctx, s, s.cur().ID); err != nil {
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

// resolveHeld prepares an admin's decision on held deletions: it returns
// the pair, locked (the caller unlocks it with e.unlock), its held
// deletions with the given IDs and an applier for the pair.
func (e *Engine) resolveHeld(ctx context.Context, pairID string, ids []int64) (*pairSlot, []HeldDelete, *applier, error) {
	s, hs, err := e.heldFor(ctx, pairID, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := e.acquire(ctx, s); err != nil {
		return nil, nil, nil, err
	}
	ap, err := e.newApplier(ctx, s.cur(), 0, true)
	if err != nil {
		e.unlock(s)
		return nil, nil, nil, err
	}
	return s, hs, ap, nil
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
		under, err := itemsBelow(ctx, store, ap.pairID, from, root.Key, root.Side(from).Path)
		if err != nil {
			return err
		}
		items = append(items, under...)
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
// records: the next run sees them deleted on this side and decides. So do
// the items of another folder that has path p now (see itemsBelow).
func (l *locator) gone(ctx context.Context, h HeldDelete, p string) ([]int64, error) {
	var del []int64
	if h.Key != 0 {
		del = append(del, h.Key)
	}
	if !h.IsDir || p == "" {
		return del, nil
	}
	under, err := itemsBelow(ctx, l.ap.e.store, l.ap.pairID, h.DeletedOn.Other(), h.Key, p)
	if err != nil {
		return nil, err
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

package syncengine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// errChanged marks an action that was not done because its item changed
// between the reading the plan was based on and the moment the action would
// have destroyed something (a delete, an overwrite, a move): people work
// while we sync. Such an action is not a failure: the item is planned again
// from a fresh reading, where a change wins over a deletion.
var errChanged = errors.New("syncengine: the item changed since it was read")

// changedError says what changed; it matches errChanged.
type changedError struct {
	side Side
	path string
	why  string
}

func (e *changedError) Error() string {
	return fmt.Sprintf("syncengine: item %q on side %s changed since it was read (%s): not done, planned again",
		e.path, e.side, e.why)
}

func (e *changedError) Is(target error) bool { return target == errChanged }

func changed(s Side, p, why string) error { return &changedError{side: s, path: p, why: why} }

// preconditionChanged turns a storage's ErrPreconditionFailed (the
// conditional request saw another Version) into errChanged.
func preconditionChanged(err error, s Side, p string) error {
	if errors.Is(err, storage.ErrPreconditionFailed) {
		return changed(s, p, "the storage refused the conditional request: "+err.Error())
	}
	return err
}

// current reads planned, an entry on side s that an action is about to
// destroy or move, as it is now (storage.StatCurrent: by ID where the
// storage can, else by path) and checks that it is still what the plan was
// based on: the same item at the same path and, for a file, the same
// Version. An item no longer there is reported as gone (gone true) only
// where the storage looked it up by ID (it was deleted or left the root);
// an item missing at its path on a storage without look-up by ID may have
// moved, which counts as a change.
func (ap *applier) current(ctx context.Context, s Side, planned storage.Entry) (cur storage.Entry, gone bool, err error) {
	st := ap.p.storage(s)
	cur, err = storage.StatCurrent(ctx, st, planned)
	if errors.Is(err, storage.ErrNotFound) {
		if _, byID := st.(storage.IDStater); byID && planned.ID != "" {
			return storage.Entry{}, true, nil
		}
		return storage.Entry{}, false, changed(s, planned.Path, "no longer at its path")
	}
	if err != nil {
		return storage.Entry{}, false, err
	}
	switch {
	case cur.IsDir != planned.IsDir:
		return cur, false, changed(s, planned.Path, "another kind of item is there now")
	case planned.ID != "" && cur.ID != planned.ID:
		return cur, false, changed(s, planned.Path, "another item is there now")
	case cur.Path != planned.Path:
		return cur, false, changed(s, planned.Path, "moved to "+fmt.Sprintf("%q", cur.Path))
	case !planned.IsDir && planned.Version != "" && cur.Version != planned.Version:
		return cur, false, changed(s, planned.Path, "a new version was saved")
	}
	return cur, false, nil
}

// confirmSubtree checks, right before folder dir (as it is now) on side s
// is deleted, that everything below it is what the baseline knows: an item
// the baseline does not know there (a file a person just saved into it, an
// item moved into it) or one with another Version and content means the
// folder must not be deleted. A new Version with the size and a content
// hash of the baseline's (a rename that bumped it, a metadata edit) is no
// change of content, as the planner sees it: otherwise the deletion would
// be refused and planned again in every run. Items of the baseline that
// are gone are fine: they are deleted already. A storage without
// storage.SubtreeLister is listed twice (see storage.ListUnder).
func (ap *applier) confirmSubtree(ctx context.Context, s Side, planned, dir storage.Entry) error {
	known := map[string]SideState{}
	if planned.Path != "" {
		for it, err := range ap.e.store.ItemsUnder(ctx, ap.pairID, s, planned.Path) {
			if err != nil {
				return fmt.Errorf("syncengine: baseline: %w", err)
			}
			ss := *it.Side(s)
			if ss.ID != "" {
				known[ss.ID] = ss
			}
		}
	}
	st := ap.p.storage(s)
	// Where the storage cannot list a subtree, its whole listing is read,
	// and a listing is not a snapshot (an item shifted off an offset page
	// by a deletion elsewhere is missing from it): it is read twice, so
	// that a file saved into the folder is not lost to one such miss.
	listings := 1
	if _, ok := st.(storage.SubtreeLister); !ok {
		listings = 2
	}
	for range listings {
		for e, err := range storage.ListUnder(ctx, st, dir) {
			if err != nil {
				return err
			}
			ss, ok := known[e.ID]
			switch {
			case !ok:
				return changed(s, planned.Path, fmt.Sprintf("%q is new inside it", e.Path))
			case ss.Path != e.Path:
				return changed(s, planned.Path, fmt.Sprintf("%q was moved inside it", e.Path))
			case !e.IsDir && ss.Version != e.Version && !sameFileContent(ss, e):
				return changed(s, planned.Path, fmt.Sprintf("%q inside it has a new version", e.Path))
			}
		}
	}
	return nil
}

// sameFileContent reports whether entry e holds the content its baseline
// state ss records, as far as their sizes and a hash both carry tell (no
// hash in common: false).
func sameFileContent(ss SideState, e storage.Entry) bool {
	eq, ok := e.Hashes.Equal(ss.Hashes)
	return ok && eq && e.Size == ss.Size
}

// conditional reports whether side s enforces e.Version itself on the
// destructive call of kind k (Delete, Move, or a Put with ExpectedVersion).
func (ap *applier) conditional(s Side, k ActionKind) bool {
	f := ap.p.storage(s).Features()
	switch k {
	case ActionDelete:
		return f.ConditionalDelete
	case ActionMove:
		return f.ConditionalMove
	}
	return f.ConditionalPut
}

// merge adds the result of one planning pass to r. Items a later pass
// finds waiting are those that failed or changed in an earlier pass of the
// same run: they are counted there already.
func (r *applyResult) merge(o applyResult, first bool) {
	r.counts.Add(o.counts)
	r.held = append(r.held, o.held...)
	r.quarantined = append(r.quarantined, o.quarantined...)
	r.drift = append(r.drift, o.drift...)
	r.changed = append(r.changed, o.changed...)
	r.skipped = append(r.skipped, o.skipped...)
	r.locked = append(r.locked, o.locked...)
	r.heldCancelled = append(r.heldCancelled, o.heldCancelled...)
	r.undone = append(r.undone, o.undone...)
	if first {
		r.deferred += o.deferred
		r.waiting = append(r.waiting, o.waiting...)
	} else {
		r.counts.Waiting -= o.counts.Waiting
	}
}

// summary says in words what the run left undone and why, one reason per
// line ("" when nothing).
func (r *applyResult) summary(p *Pair) string {
	var lines []string
	add := func(n int, format string) {
		if n > 0 {
			lines = append(lines, fmt.Sprintf(format, n))
		}
	}
	c := r.counts
	add(c.Failed, "%d items failed and are retried later (see the error log)")
	add(len(r.locked), "%d items are checked out or locked and are retried once they are checked in")
	add(c.Waiting, "%d items were not tried: they wait for their retry time after an earlier failure")
	if p.Deletes == DeleteKeep {
		add(c.Held, "%d deletions were not applied (deletions are kept) and wait for an admin")
	} else {
		add(c.Held, "%d deletions were held by the delete limit and wait for an admin")
	}
	add(c.Replanned, "%d items changed during the run: they were not deleted, overwritten or moved, and were planned again")
	add(len(r.heldCancelled), "%d held deletions were cancelled by a later edit")
	add(c.Skipped, "%d items were skipped (quarantined, or they cannot be synced: see the activity log)")
	lines = append(lines, r.undone...)
	return strings.Join(lines, "\n")
}

// heldOn returns the held deletion of a's item when it was deleted on
// a.Side (the side a writes to) and its deletion on the other side is held.
func (ap *applier) heldOn(a Action) (HeldDelete, bool) {
	if a.Key == 0 {
		return HeldDelete{}, false
	}
	h, ok := ap.held[a.Key]
	return h, ok && h.DeletedOn == a.Side
}

// restoreHeld copies the edited kept copy of a held item back to a.Side,
// where it was deleted.
func (ap *applier) restoreHeld(ctx context.Context, a Action, h HeldDelete) (int64, string, error) {
	e, _, err := ap.copyNew(ctx, a, a.Path)
	if err != nil {
		return 0, "", err
	}
	if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	return e.Size, fmt.Sprintf("edited on %s after its deletion was held: the hold is cancelled and the item restored",
		ap.p.sideName(h.DeletedOn.Other())), nil
}

// releaseRestoredHold releases the held deletion of a's item once a left
// the item on both sides, and notes it for the admin: a brought it back to
// the side it was deleted from (a restore that an edit of the kept copy
// caused), or wrote the kept copy from an item on that side (a file saved
// there at the item's path since, which the plan took for the item). The
// deletion no longer applies: a later deletion of either copy is a new
// one, which the planner plans as such instead of skipping it as held.
func (ap *applier) releaseRestoredHold(ctx context.Context, a Action) {
	switch a.Kind {
	case ActionCopy, ActionUpdate, ActionConflict:
	default:
		return
	}
	ap.mu.Lock()
	h, ok := ap.held[a.Key]
	ap.mu.Unlock()
	if !ok {
		return
	}
	if err := ap.e.store.ReleaseHeld(ctx, ap.pairID, []int64{h.ID}); err != nil {
		ap.log.Warn("syncengine: releasing a held deletion", "error", err)
		return
	}
	ap.mu.Lock()
	defer ap.mu.Unlock()
	delete(ap.held, a.Key)
	ap.res.heldCancelled = append(ap.res.heldCancelled, h.DeletedOn.Other().String()+":"+h.Path)
}

// confirmHeld checks, right before an approved held deletion is applied,
// that the item found at en (side h.DeletedOn.Other()) is the version that
// was held: a file with another Version, or a folder with something below
// it that the baseline does not know as it is, changed since the hold.
func (ap *applier) confirmHeld(ctx context.Context, h HeldDelete, base Item, en storage.Entry) error {
	side := h.DeletedOn.Other()
	if !en.IsDir {
		if h.Version != "" && en.Version != h.Version {
			return changed(side, en.Path, "a new version was saved after its deletion was held")
		}
		return nil
	}
	planned := base.Side(side).Entry(true)
	if planned.Path == "" {
		planned.Path = en.Path
	}
	return ap.confirmSubtree(ctx, side, planned, en)
}

// conflictCopyOnWinner resolves Conflict a where the loser (a.Target)
// cannot be renamed on a.Side: the loser's content is first copied to the
// winning side as the conflict copy (next to the winner, numbered when
// the name is taken); only once that copy is safe is the winner written
// over the loser (conditionally, as an Update is). The next run syncs the
// conflict copy back to a.Side as a new item, so the loser lives on both
// sides under the conflict copy's name.
func (ap *applier) conflictCopyOnWinner(ctx context.Context, a Action) (int64, string, error) {
	w := a.Side.Other()
	t := a.Target
	dir := a.Source.Dir()
	parent, err := ap.dir(ctx, w, dir)
	if err != nil {
		return 0, "", err
	}
	keep := Action{Kind: ActionCopy, Side: w, Source: t, Reason: "conflict loser kept"}
	var kept storage.Entry
	for n := 1; ; n++ {
		name := numbered(a.Conflict.LoserCopy, n)
		keep.Path = path.Join(dir, name)
		kept, err = ap.transfer(ctx, keep, parent, name, storage.PutOptions{NoOverwrite: true, ModTime: t.ModTime})
		if err == nil {
			break
		}
		if !errors.Is(err, storage.ErrAlreadyExists) || n == maxConflictNumber {
			return 0, "", fmt.Errorf("syncengine: keeping the conflict loser on %s: %w", ap.p.sideName(w), err)
		}
		if cur, serr := ap.p.storage(w).Stat(ctx, keep.Path); serr == nil && !cur.IsDir {
			if same, cerr := sameContent(ctx, ap.p.storage(a.Side), t, ap.p.storage(w), cur); cerr == nil && same {
				kept = cur // kept already (a retry)
				break
			}
		}
	}
	if err := ap.beforeOverwrite(ctx, a); err != nil {
		return 0, "", err
	}
	tp, err := ap.dir(ctx, a.Side, t.Dir())
	if err != nil {
		return 0, "", err
	}
	e, err := ap.transfer(ctx, a, tp, t.Name(), storage.PutOptions{ExpectedVersion: t.Version, ModTime: a.Source.ModTime})
	if err != nil {
		return 0, "", preconditionChanged(err, a.Side, t.Path)
	}
	if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	ap.count(func(c *RunCounts) { c.Conflicts++ })
	return e.Size, fmt.Sprintf("winner %s written; the loser cannot be renamed on %s, so it is kept as %q on %s",
		a.Conflict.Winner, ap.p.sideName(a.Side), kept.Path, ap.p.sideName(w)), nil
}

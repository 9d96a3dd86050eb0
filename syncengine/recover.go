package syncengine

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/procoresync/procoresync/storage"
)

// errInterrupted is the journal outcome of an intent that a crash or a
// cancellation interrupted before the storage did anything.
const errInterrupted = "interrupted before it took effect; the next plan redoes it"

// errCopyNotThere is resolveCopy's outcome for an interrupted Copy of a new
// item whose path is free: it may not have happened, or a person may have
// moved the file it wrote before the restart (findMovedCopies).
const errCopyNotThere = "interrupted; nothing at its path"

// errCopyReplaced is resolveCopy's outcome for an interrupted Copy of a new
// item whose path holds a folder or a file with other content than the
// source's: a person may have moved the file the copy wrote and put another
// item at its path before the restart (findMovedCopies).
const errCopyReplaced = "interrupted; another item at its path"

// recover resolves the pair's pending journal intents, left by a run that
// crashed or was cancelled, against what the storages show now: work the
// storage confirmed is adopted into the baseline (so that it is not done
// again, and an uploaded file is not uploaded twice); work that did not
// happen is closed as failed and left to the planner, which sees it again.
// Runs left "running" are closed as cancelled.
func (e *Engine) recover(ctx context.Context, p *Pair, runID int64) error {
	recs, err := e.store.OpenActions(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("syncengine: reading the journal: %w", err)
	}
	if len(recs) > 0 {
		ap, err := e.newApplier(ctx, p, runID, false)
		if err != nil {
			return err
		}
		standardInitial := false
		if p.Initial == InitialStandard {
			ps, err := e.store.LoadPair(ctx, p.ID)
			if err != nil {
				return fmt.Errorf("syncengine: loading pair %s: %w", p.ID, err)
			}
			standardInitial = !ps.Initialized
		}
		end := func(r JournalRecord, state JournalState, msg string, err error) error {
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				state, msg = JournalFailed, "recovery: "+err.Error()
			}
			if state == JournalDone {
				ap.log.Info("syncengine: recovered an interrupted action",
					"action", r.Action.Kind.String(), "side", r.Action.Side.String(), "path", r.Action.Path)
			}
			if err := e.store.EndAction(ctx, r.ID, state, msg); err != nil {
				return fmt.Errorf("syncengine: closing a journal record: %w", err)
			}
			return nil
		}
		var elsewhere []JournalRecord
		for _, r := range recs {
			if r.RunID == runID {
				continue
			}
			state, msg, err := ap.resolve(ctx, r.Action)
			if err == nil && state != JournalDone && standardInitial {
				state, msg, err = ap.resolveInitialCopy(ctx, r.Action, state, msg)
			}
			if err == nil && (msg == errCopyNotThere || msg == errCopyReplaced) {
				elsewhere = append(elsewhere, r)
				continue
			}
			if err := end(r, state, msg, err); err != nil {
				return err
			}
		}
		if len(elsewhere) > 0 {
			moved, err := ap.findMovedCopies(ctx, elsewhere, recs)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				ap.log.Warn("syncengine: looking for interrupted copies moved since", "error", err)
			}
			for _, r := range elsewhere {
				state, msg, err := JournalFailed, errInterrupted, error(nil)
				if m, ok := moved[r.ID]; ok {
					state, msg, err = ap.adopt(ctx, r.Action.Side, m.e, m.it)
					if err == nil && state == JournalDone {
						msg = "adopted after a restart; it was moved to " + m.e.Path + " since"
					}
				}
				if err := end(r, state, msg, err); err != nil {
					return err
				}
			}
		}
	}
	// One run per pair at a time: only the latest before this one can have
	// been left running.
	runs, err := e.store.Runs(ctx, p.ID, Page{Limit: 2})
	if err != nil {
		return fmt.Errorf("syncengine: reading the run history: %w", err)
	}
	for _, r := range runs {
		if r.Status != RunRunning || r.ID == runID {
			continue
		}
		r.Status, r.Error, r.Ended = RunCancelled, "interrupted", e.clock.Now()
		if err := e.store.FinishRun(ctx, r); err != nil {
			return fmt.Errorf("syncengine: closing an interrupted run: %w", err)
		}
	}
	return nil
}

// known reports whether the baseline already records entry e on side s at
// e's version (the action's baseline write happened).
func (ap *applier) known(ctx context.Context, s Side, e storage.Entry) (bool, error) {
	it, err := ap.e.store.ItemByID(ctx, ap.pairID, s, e.ID)
	if errors.Is(err, ErrNoItem) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return it.Side(s).Version == e.Version && it.Side(s).Path == e.Path, nil
}

// stat returns the entry at p on side s; found is false when there is none.
func (ap *applier) stat(ctx context.Context, s Side, p string) (storage.Entry, bool, error) {
	e, err := ap.p.storage(s).Stat(ctx, p)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, false, nil
	}
	if err != nil {
		return storage.Entry{}, false, err
	}
	return e, true, nil
}

// resolve decides the outcome of one interrupted action and adopts what
// the storage confirmed.
func (ap *applier) resolve(ctx context.Context, a Action) (JournalState, string, error) {
	switch a.Kind {
	case ActionMkdir:
		return ap.resolveMkdir(ctx, a)
	case ActionCopy:
		return ap.resolveCopy(ctx, a)
	case ActionUpdate:
		return ap.resolveOverwrite(ctx, a)
	case ActionConflict:
		if a.Conflict == nil || a.Conflict.LoserCopy == "" {
			return ap.resolveOverwrite(ctx, a)
		}
		return ap.resolveConflictCopy(ctx, a)
	case ActionMove:
		return ap.resolveMove(ctx, a)
	case ActionDelete:
		return ap.resolveDelete(ctx, a)
	}
	// ActionLink, ActionForget, ActionHoldDelete only write to the store: the planner sees
	// the item again and redoes them.
	return JournalFailed, errInterrupted, nil
}

// resolveMkdir adopts the folder an interrupted Mkdir made, if any.
func (ap *applier) resolveMkdir(ctx context.Context, a Action) (JournalState, string, error) {
	s := a.Side
	e, ok, err := ap.stat(ctx, s, a.Path)
	if err != nil || !ok || !e.IsDir {
		return JournalFailed, errInterrupted, err
	}
	return ap.adopt(ctx, s, e, itemOf(a.Key, true, s, e, a.Source))
}

// resolveCopy adopts the file an interrupted Copy wrote, if it is there
// with the source's content. For a Copy of a new item whose path is free
// or holds another item, it gives errCopyNotThere or errCopyReplaced: the
// file it wrote may have been moved since (findMovedCopies).
func (ap *applier) resolveCopy(ctx context.Context, a Action) (JournalState, string, error) {
	s := a.Side
	e, ok, err := ap.stat(ctx, s, a.Path)
	newItem := a.Key == 0 && a.Source.ID != ""
	if err == nil && !ok && newItem {
		return JournalFailed, errCopyNotThere, nil
	}
	if err == nil && ok && e.IsDir && newItem {
		return JournalFailed, errCopyReplaced, nil
	}
	if err != nil || !ok || e.IsDir {
		return JournalFailed, errInterrupted, err
	}
	same, err := sameContent(ctx, ap.p.storage(s.Other()), a.Source, ap.p.storage(s), e)
	if err != nil {
		return JournalFailed, errInterrupted, ignoreNotFound(err)
	}
	if !same && ap.tornCopy(a, e) {
		// Its record leaves the source's version and hashes unknown: the
		// next plan takes the source for changed and writes its content
		// over the file, as after an interrupted initial copy.
		it := itemOf(a.Key, false, s, e, a.Source)
		*it.Side(s.Other()) = SideState{ID: a.Source.ID, ParentID: a.Source.ParentID, Path: a.Source.Path}
		st, msg, err := ap.adopt(ctx, s, e, it)
		if err == nil && st == JournalDone {
			msg = "adopted after a restart with content the copy did not finish writing; it is written again"
		}
		return st, msg, err
	}
	if !same && newItem {
		return JournalFailed, errCopyReplaced, nil
	}
	if !same {
		return JournalFailed, errInterrupted, nil
	}
	return ap.adopt(ctx, s, e, itemOf(a.Key, false, s, e, a.Source))
}

// tornCopy reports whether e, found at the path of interrupted Copy a of a
// new item with content other than its source's, is the copy's own file
// with its content cut short: a storage that makes a new file's content
// durable after its name (storage/local in a durability batch) can leave
// it empty or short after a power loss. The copy gave the file its
// source's modification time; a person's edit gives it a new one, and a
// cut never makes it longer. Storages that do not keep modification times
// give false.
func (ap *applier) tornCopy(a Action, e storage.Entry) bool {
	f := featuresOf(ap.p.storage(a.Side))
	if a.Key != 0 || !f.SetModTime || a.Source.ModTime.IsZero() || e.ModTime.IsZero() || e.Size > a.Source.Size {
		return false
	}
	d := e.ModTime.Sub(a.Source.ModTime)
	if d < 0 {
		d = -d
	}
	return d == 0 || d < f.ModTimePrecision
}

// resolveInitialCopy resolves an interrupted Copy to side B of a standard
// initial sync (Pair.InitialStandard, not completed) that resolveCopy
// could not adopt, because the file it wrote can no longer be compared
// with its source: the source was edited or deleted since, and the sides
// share no content hash. B was empty when the sync started and the copy's
// path was free when it was planned, so the file there is the sync's own
// work: it is adopted (state and msg are resolveCopy's outcome
// otherwise), so that it does not count as data B held before (which
// would refuse the sync, see ErrTargetNotEmpty) nor stay as a second copy
// of a file deleted on A. Its record leaves A's version and hashes
// unknown: the next plan takes the source for changed and writes its
// content over the file (or deletes it where the source is gone), rather
// than trust content nobody could compare.
func (ap *applier) resolveInitialCopy(ctx context.Context, a Action, state JournalState, msg string) (JournalState, string, error) {
	if a.Kind != ActionCopy || a.Side != SideB || a.Source.ID == "" {
		return state, msg, nil
	}
	e, ok, err := ap.stat(ctx, a.Side, a.Path)
	if err != nil || !ok || e.IsDir {
		return state, msg, err
	}
	it := itemOf(a.Key, false, a.Side, e, a.Source)
	it.A.Version, it.A.Hashes = "", nil
	st, m, err := ap.adopt(ctx, a.Side, e, it)
	if err != nil || st != JournalDone {
		return state, msg, err
	}
	if m != "" {
		m += "; its content is written again from the source"
	}
	return st, m, nil
}

// resolveConflictCopy resolves an interrupted Conflict that renames the
// loser to a conflict copy: the winner in place is adopted; a loser
// renamed without the winner in place makes the next run copy both.
func (ap *applier) resolveConflictCopy(ctx context.Context, a Action) (JournalState, string, error) {
	s := a.Side
	e, ok, err := ap.stat(ctx, s, a.Path)
	if err != nil {
		return JournalFailed, "", err
	}
	if ok && !e.IsDir && e.ID != a.Target.ID {
		same, err := sameContent(ctx, ap.p.storage(s.Other()), a.Source, ap.p.storage(s), e)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return JournalFailed, "", err
		}
		if same {
			return ap.adopt(ctx, s, e, itemOf(a.Key, false, s, e, a.Source))
		}
	}
	if a.Target.ID == "" || a.Key == 0 {
		return JournalFailed, errInterrupted, nil
	}
	renamed, err := ap.loserRenamed(ctx, a)
	if err != nil {
		return JournalFailed, "", err
	}
	if !renamed {
		return JournalFailed, errInterrupted, nil
	}
	// The loser was renamed, the winner is not in place: forget the
	// record so that the next run copies both as new files.
	if err := ap.e.store.PutItems(ctx, ap.pairID, nil, []int64{a.Key}); err != nil {
		return JournalFailed, "", err
	}
	return JournalFailed, "interrupted after the loser was renamed; the next run copies both", nil
}

// resolveMove advances the baseline when an interrupted Move took effect.
func (ap *applier) resolveMove(ctx context.Context, a Action) (JournalState, string, error) {
	e, ok, err := ap.stat(ctx, a.Side, a.Path)
	if err != nil || !ok || e.ID != a.Target.ID {
		return JournalFailed, errInterrupted, err
	}
	if err := ap.moveBaseline(ctx, a, e); err != nil {
		return JournalFailed, "", err
	}
	return JournalDone, "", nil
}

// resolveDelete completes the baseline and the delete ledger when an
// interrupted Delete took effect.
func (ap *applier) resolveDelete(ctx context.Context, a Action) (JournalState, string, error) {
	s := a.Side
	e, ok, err := ap.stat(ctx, s, a.Target.Path)
	if err != nil {
		return JournalFailed, "", err
	}
	if ok && (e.ID == a.Target.ID || a.Target.ID == "") {
		return JournalFailed, errInterrupted, nil
	}
	if a.Target.ID != "" {
		if _, err := ap.e.store.ItemByID(ctx, ap.pairID, s, a.Target.ID); errors.Is(err, ErrNoItem) {
			return JournalDone, "", nil // the baseline was updated too
		} else if err != nil {
			return JournalFailed, "", err
		}
	}
	del, _, err := ap.subtree(ctx, s, a.Key, a.Target.Path, a.IsDir)
	if err != nil {
		return JournalFailed, "", err
	}
	if err := ap.e.store.RecordDeletes(ctx, ap.pairID, ap.e.clock.Now(), 1); err != nil {
		return JournalFailed, "", err
	}
	if len(del) > 0 {
		if err := ap.e.store.PutItems(ctx, ap.pairID, nil, del); err != nil {
			return JournalFailed, "", err
		}
	}
	return JournalDone, "", nil
}

// loserRenamed reports whether the loser of Conflict a (a.Target) was
// renamed to its conflict copy: under the planned name or, as the applier
// numbers on when that name is taken, under a numbered one.
func (ap *applier) loserRenamed(ctx context.Context, a Action) (bool, error) {
	for n := 1; n <= maxConflictNumber; n++ {
		cp, ok, err := ap.stat(ctx, a.Side, path.Join(a.Target.Dir(), numbered(a.Conflict.LoserCopy, n)))
		if err != nil {
			return false, err
		}
		if ok && cp.ID == a.Target.ID {
			return true, nil
		}
		// A gap does not end the search: the applier took the first free
		// name, but a copy below it may have been deleted since.
	}
	return false, nil
}

// resolveOverwrite resolves an Update or an in-place Conflict: the new
// version is adopted when the target now holds the source's content.
func (ap *applier) resolveOverwrite(ctx context.Context, a Action) (JournalState, string, error) {
	s := a.Side
	e, ok, err := ap.stat(ctx, s, a.Path)
	if err == nil && !ok && a.Target.Path != a.Path {
		e, ok, err = ap.stat(ctx, s, a.Target.Path)
	}
	if err != nil || !ok || e.IsDir || (a.Target.ID != "" && e.ID != a.Target.ID) || e.Version == a.Target.Version {
		return JournalFailed, errInterrupted, err
	}
	same, err := sameContent(ctx, ap.p.storage(s.Other()), a.Source, ap.p.storage(s), e)
	if err != nil || !same {
		return JournalFailed, errInterrupted, ignoreNotFound(err)
	}
	return ap.adopt(ctx, s, e, itemOf(a.Key, false, s, e, a.Source))
}

// adopt writes it into the baseline unless the baseline already records e.
func (ap *applier) adopt(ctx context.Context, s Side, e storage.Entry, it Item) (JournalState, string, error) {
	done, err := ap.known(ctx, s, e)
	if err != nil {
		return JournalFailed, "", err
	}
	if done {
		return JournalDone, "", nil
	}
	if ok, err := ap.adoptable(ctx, s, e, it.Key); err != nil || !ok {
		return JournalFailed, errInterrupted, err
	}
	if it.Key == 0 {
		// A record for the same item on the other side (written by an
		// earlier recovery or run) is replaced rather than duplicated.
		o := s.Other()
		if old, err := ap.e.store.ItemByID(ctx, ap.pairID, o, it.Side(o).ID); err == nil {
			it.Key = old.Key
		} else if !errors.Is(err, ErrNoItem) {
			return JournalFailed, "", err
		}
	}
	if err := ap.e.store.PutItems(ctx, ap.pairID, []Item{it}, nil); err != nil {
		return JournalFailed, "", err
	}
	return JournalDone, "adopted after a restart", nil
}

// ignoreNotFound treats a vanished item as "nothing to adopt".
func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// movedCopy is an interrupted Copy's file found at another path, and the
// baseline item that adopts it.
type movedCopy struct {
	e  storage.Entry
	it Item
}

// findMovedCopies looks for the files that interrupted Copies of new items
// (recs, whose paths are free now or hold another item) may have written
// before a person moved or renamed them, before the restart: where the
// copy's confirmation had not reached the baseline, nothing else tells
// that such a file is the sync's own copy, and the next plan would copy it
// back to the source's side as a new file, leaving the content twice on
// both sides. Each side concerned is listed once, and once more where a
// record found nothing: a listing is not a snapshot, and may miss a file
// (see confirmListings). A file qualifies when the baseline does not know
// it, no open journal record reads it as a source (it existed before the
// run), it is not claimed by another record, and its content equals the
// copy's source; a file of the same name is preferred. Its baseline item
// records it at the copy's path (its parent unknown), so that the next
// plan sees a person's move from there and makes the same move on the
// other side. The result maps journal record IDs to what they adopt.
//
// A Copy that never started leaves the same record, so a recovery after a
// crash during copies lists the destination side twice (on a cloud
// service, two listings' worth of calls).
func (ap *applier) findMovedCopies(ctx context.Context, recs, open []JournalRecord) (map[int64]movedCopy, error) {
	sources := make(map[Side]map[string]bool)
	for _, r := range open {
		src := r.Action.Side.Other()
		if r.Action.Source.ID == "" {
			continue
		}
		if sources[src] == nil {
			sources[src] = make(map[string]bool)
		}
		sources[src][r.Action.Source.ID] = true
	}
	out := make(map[int64]movedCopy)
	for _, s := range []Side{SideA, SideB} {
		var left []JournalRecord
		for _, r := range recs {
			if r.Action.Side == s {
				left = append(left, r)
			}
		}
		claimed := make(map[string]bool)
		for range 2 {
			if len(left) == 0 {
				break
			}
			var err error
			left, err = ap.matchMovedCopies(ctx, s, left, sources[s], claimed, out)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// matchMovedCopies lists side s once for findMovedCopies and matches its
// files to recs (interrupted Copies to s), skipping the files of sources
// and of claimed, which it extends. It adds the matches to out and
// returns the records left without one.
func (ap *applier) matchMovedCopies(ctx context.Context, s Side, recs []JournalRecord, sources, claimed map[string]bool, out map[int64]movedCopy) ([]JournalRecord, error) {
	sizes := make(map[int64]bool)
	for _, r := range recs {
		sizes[r.Action.Source.Size] = true
	}
	st := ap.p.storage(s)
	bySize := make(map[int64][]storage.Entry)
	for e, err := range st.List(ctx) {
		if err != nil {
			return recs, fmt.Errorf("syncengine: list %s: %w", ap.p.sideName(s), err)
		}
		if !e.IsDir && e.ID != "" && sizes[e.Size] && !sources[e.ID] {
			bySize[e.Size] = append(bySize[e.Size], e)
		}
	}
	var left []JournalRecord
	for _, r := range recs {
		a := r.Action
		cands := bySize[a.Source.Size]
		// Same name first, then the others in listing order.
		ordered := make([]storage.Entry, 0, len(cands))
		for _, c := range cands {
			if path.Base(c.Path) == path.Base(a.Path) {
				ordered = append(ordered, c)
			}
		}
		for _, c := range cands {
			if path.Base(c.Path) != path.Base(a.Path) {
				ordered = append(ordered, c)
			}
		}
		found := false
		for _, c := range ordered {
			if claimed[c.ID] {
				continue
			}
			if ok, err := ap.adoptable(ctx, s, c, 0); err != nil {
				return recs, err
			} else if !ok {
				continue
			}
			same, err := sameContent(ctx, ap.p.storage(s.Other()), a.Source, st, c)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return recs, err
			}
			if !same {
				continue
			}
			claimed[c.ID] = true
			it := itemOf(0, false, s, c, a.Source)
			it.Side(s).Path, it.Side(s).ParentID = a.Path, ""
			out[r.ID] = movedCopy{e: c, it: it}
			found = true
			break
		}
		if !found {
			left = append(left, r)
		}
	}
	return left, nil
}

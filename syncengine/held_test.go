package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

// heldFolderEnv syncs folder x and file f.txt, then deletes x on A: with
// deletes kept, its deletion on B is held.
func heldFolderEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Deletes = syncengine.DeleteKeep })
	_, err := e.a.Mkdirs("x")
	require.NoError(t, err)
	e.write(e.a, "f.txt", "f")
	e.run()
	require.NoError(t, e.a.Remove("x"))
	require.Equal(t, 1, e.run().Counts.Held)
	return e
}

// heldIDs returns the IDs of the pair's held deletions.
func (e *env) heldIDs() []int64 {
	e.t.Helper()
	held, err := e.eng.Held(e.ctx, e.pair.ID)
	require.NoError(e.t, err)
	var ids []int64
	for _, h := range held {
		ids = append(ids, h.ID)
	}
	return ids
}

// An item moved on B into a folder whose deletion is held, and deleted on
// A, is skipped while the deletion is held; the change feed of A does not
// report the deletion again. Rejecting the held deletion must still see
// it: the item is restored on A inside the restored folder, not moved on A
// from where the baseline had it (which failed with "not found" forever).
func TestRejectHeldFolderReplaysADeletionSkippedMeanwhile(t *testing.T) {
	e := heldFolderEnv(t)
	_, err := e.b.Rename("f.txt", "x/f.txt")
	require.NoError(t, err)
	require.NoError(t, e.a.Remove("f.txt"))
	plan, err := e.eng.DryRun(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1)
	require.Equal(t, syncengine.ActionSkip, plan.Actions[0].Kind, "%s", plan)
	e.run()

	require.NoError(t, e.eng.RejectHeld(e.ctx, "p1", e.heldIDs()))
	e.settle()
	want := map[string]string{"x": "/", "x/f.txt": "f"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
}

// Likewise, an edit on A of an item moved on B into the held folder is not
// forgotten when the deletion is approved. The folder is no longer what
// was held (a person moved an item into it since), so approval does not
// delete it: the hold is cancelled, the admin is told, and the folder
// with the moved item, now holding A's edit, is kept on both sides.
func TestApproveHeldFolderKeepsAnEditSkippedMeanwhile(t *testing.T) {
	e := heldFolderEnv(t)
	_, err := e.b.Rename("f.txt", "x/f.txt")
	require.NoError(t, err)
	e.write(e.a, "f.txt", "edited on A")
	e.run()

	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Len(t, e.ev.of(syncengine.EventHeldDeleteCancelled), 1)
	e.settle()
	require.Empty(t, e.heldIDs())
	want := map[string]string{"x": "/", "x/f.txt": "edited on A"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// heldGoneEnv holds the deletion on B of b.txt, deleted on A; then b.txt
// is deleted on B too (its record is forgotten) and a new b.txt written on
// A is synced to B. The held deletion stays, naming the forgotten record.
func heldGoneEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Deletes = syncengine.DeleteKeep })
	e.write(e.a, "b.txt", "old")
	e.run()
	require.NoError(t, e.a.Remove("b.txt"))
	require.Equal(t, 1, e.run().Counts.Held)
	require.NoError(t, e.b.Remove("b.txt"))
	// A full listing sees it gone from both sides: the record is forgotten.
	_, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	e.write(e.a, "b.txt", "new")
	e.run()
	require.Equal(t, map[string]string{"b.txt": "new"}, tree(t, e.b))
	return e
}

// Rejecting a held deletion whose item is gone since restores nothing: the
// new b.txt at its path is another item, already in sync; copying it as
// "b (2).txt" made a duplicate.
func TestRejectHeldOfAForgottenItemMakesNoDuplicate(t *testing.T) {
	e := heldGoneEnv(t)
	require.NoError(t, e.eng.RejectHeld(e.ctx, "p1", e.heldIDs()))
	require.Empty(t, e.heldIDs())
	e.settle()
	want := map[string]string{"b.txt": "new"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// Approving it deletes nothing either: the new b.txt on B is not the item
// whose deletion was held.
func TestApproveHeldOfAForgottenItemDeletesNothing(t *testing.T) {
	e := heldGoneEnv(t)
	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Empty(t, e.heldIDs())
	e.settle()
	want := map[string]string{"b.txt": "new"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// heldFileEnv holds the deletion on B of f.txt, deleted on A.
func heldFileEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Deletes = syncengine.DeleteKeep })
	e.write(e.a, "f.txt", "v1")
	e.run()
	require.NoError(t, e.a.Remove("f.txt"))
	require.Equal(t, 1, e.run().Counts.Held)
	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.NotEmpty(t, held[0].Version, "the hold is on a version")
	return e
}

// An edit of the kept copy after the hold cancels the hold: the change
// wins, the item is restored on A and the admin is told. (Before, the edit
// was planned as an update of A's deleted copy, which failed every run
// with a misleading 412 until it was quarantined.)
func TestEditAfterHoldCancelsIt(t *testing.T) {
	for _, full := range []bool{false, true} {
		name := "feed"
		if full {
			name = "full listing"
		}
		t.Run(name, func(t *testing.T) {
			e := heldFileEnv(t)
			e.write(e.b, "f.txt", "edited on B")
			r, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Full: full})
			require.NoError(t, err)
			require.Zero(t, r.Counts.Failed, "%+v", r)
			want := map[string]string{"f.txt": "edited on B"}
			require.Equal(t, want, tree(t, e.a))
			require.Equal(t, want, tree(t, e.b))
			require.Empty(t, e.heldIDs())
			require.Len(t, e.ev.of(syncengine.EventHeldDeleteCancelled), 1)
			fs, err := e.eng.Failures(e.ctx, "p1")
			require.NoError(t, err)
			require.Empty(t, fs)
			e.settle()
			require.Equal(t, want, tree(t, e.a))
			require.Equal(t, want, tree(t, e.b))
		})
	}
}

// Approval deletes only the version that was held: a copy edited since is
// not deleted, the admin is told, and the edit is restored on A.
// (Before, ApproveHeld deleted whatever was there now.)
func TestApproveHeldDeletesOnlyTheHeldVersion(t *testing.T) {
	e := heldFileEnv(t)
	e.write(e.b, "f.txt", "edited on B")
	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Equal(t, "edited on B", tree(t, e.b)["f.txt"], "the edited copy is not deleted")
	require.Len(t, e.ev.of(syncengine.EventHeldDeleteCancelled), 1)
	require.Empty(t, e.heldIDs())
	e.settle()
	want := map[string]string{"f.txt": "edited on B"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// Approving an unchanged held deletion still deletes it.
func TestApproveHeldDeletesTheUnchangedVersion(t *testing.T) {
	e := heldFileEnv(t)
	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Empty(t, tree(t, e.b))
	require.Empty(t, e.ev.of(syncengine.EventHeldDeleteCancelled))
	e.settle()
	require.Empty(t, tree(t, e.a))
	require.Empty(t, tree(t, e.b))
}

// Approving the held deletion of a folder into which a person saved a
// file since does not delete the folder: the file is kept (and synced),
// and the admin is told. (Before, approval deleted the folder with the new
// file in it.)
func TestApproveHeldFolderKeepsAFileSavedIntoItSince(t *testing.T) {
	e := heldFolderEnv(t)
	e.write(e.b, "x/new.txt", "new work")
	e.run()
	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Equal(t, "new work", tree(t, e.b)["x/new.txt"])
	require.Len(t, e.ev.of(syncengine.EventHeldDeleteCancelled), 1)
	e.settle()
	require.Equal(t, "new work", tree(t, e.b)["x/new.txt"])
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// A full listing forgets the held folder of heldRenewedEnv, gone from
// both sides. The items of the new folder lie at the held folder's paths
// but are other items: the baseline keeps their records, through the
// approval of the held deletion too. (Before, forgetting the held folder
// dropped the records of everything below its path, the new folder's file
// among them, which the next runs never took in again.)
func TestForgettingAHeldFolderKeepsTheItemsOfANewFolderOfTheSameName(t *testing.T) {
	e := heldRenewedEnv(t)
	_, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	requireBaselineComplete(t, e)

	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	require.Empty(t, e.heldIDs())
	requireBaselineComplete(t, e)
	e.settle()
	want := map[string]string{"y": "/", "y/a.txt": "new work"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
	requireBaselineComplete(t, e)
}

// Approving the held deletion of heldRenewedEnv's folder, whose record is
// still there, drops that record only: the file of the new folder, deleted
// on B since, keeps its record, and its deletion is held like any other.
// (Before, approval dropped the records of the items below the held
// folder's path that were gone from B, the new folder's file among them:
// the next run took the file on A for a new one and copied it back to B.)
func TestApproveHeldFolderKeepsTheItemsOfANewFolderOfTheSameName(t *testing.T) {
	e := heldRenewedEnv(t)
	require.NoError(t, e.b.Remove("y/a.txt"))
	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	n, err := e.store.CountItems(e.ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, 2, n, "the new folder and its file keep their records")
	r := e.run()
	require.Zero(t, r.Counts.FilesCopied, "the file deleted on B is not copied back")
	require.Equal(t, 1, r.Counts.Held)
	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.Equal(t, "y/a.txt", held[0].Path)
	require.Equal(t, map[string]string{"y": "/"}, tree(t, e.b))
}

// requireBaselineComplete checks that the baseline records every item of
// the pair, each where it is on both sides.
func requireBaselineComplete(t *testing.T, e *env) {
	t.Helper()
	requireBaselineTrue(t, e)
	n, err := e.store.CountItems(e.ctx, e.pair.ID)
	require.NoError(t, err)
	require.Equal(t, len(tree(t, e.a)), n, "every item of A in the baseline")
	require.Equal(t, len(tree(t, e.b)), n, "every item of B in the baseline")
}

// heldRenewedEnv holds the deletion on A of folder y, deleted on B; then a
// person makes a new folder y on B with a file in it and deletes the held
// folder on A, and the new folder is synced to A.
func heldRenewedEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Deletes = syncengine.DeleteKeep })
	_, err := e.b.Mkdirs("y")
	require.NoError(t, err)
	e.run()
	require.NoError(t, e.b.Remove("y"))
	require.Equal(t, 1, e.run().Counts.Held)
	_, err = e.b.Mkdirs("y")
	require.NoError(t, err)
	e.write(e.b, "y/a.txt", "new work")
	require.NoError(t, e.a.Remove("y"))
	e.run()
	want := map[string]string{"y": "/", "y/a.txt": "new work"}
	require.Equal(t, want, tree(t, e.a))
	return e
}

// A file saved on A at the path of a held item after its deletion there
// is taken for the item by a full listing and synced to the kept copy on
// B: the item is on both sides again, so the hold no longer applies and is
// released. A person on B then deleting it is a new deletion, planned
// (here held, deletions being kept) like any other; approving it deletes
// A's copy and the pair converges. (Before, the stale hold stayed: the
// planner skipped B's deletion as already held, approval found the item
// back on A and released the hold without deleting anything, and no later
// run planned anything: A kept the file, B had none.)
func TestFileSavedAtAHeldPathReleasesTheHold(t *testing.T) {
	e := heldFileEnv(t)
	e.write(e.a, "f.txt", "v2")
	_, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	want := map[string]string{"f.txt": "v2"}
	require.Equal(t, want, tree(t, e.b))
	require.Empty(t, e.heldIDs(), "the item is on both sides again")
	require.Len(t, e.ev.of(syncengine.EventHeldDeleteCancelled), 1)

	require.NoError(t, e.b.Remove("f.txt"))
	require.Equal(t, 1, e.run().Counts.Held)
	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 1)
	require.Equal(t, syncengine.SideB, held[0].DeletedOn)
	require.Equal(t, want, tree(t, e.a), "nothing deleted before approval")

	require.NoError(t, e.eng.ApproveHeld(e.ctx, "p1", e.heldIDs()))
	e.settle()
	require.Empty(t, e.heldIDs())
	require.Empty(t, tree(t, e.a))
	require.Empty(t, tree(t, e.b))
}

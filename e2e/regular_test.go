package e2e

import (
	"testing"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/syncengine"
)

// Operation name fragments of the Procore fake, for the counters (the
// target's are its service's ops).
var (
	procoreUploadOps = []string{"Uploads", "StoragePostObject", "StorageUploadPart", "FilesPost", "FileVersionsPost"}
	procoreDeleteOps = []string{"Delete"}
	procoreDownOps   = []string{"FileDownload", "StorageGetObject"}
)

// TestMergeInitialSync: identical files on both sides are linked without
// any transfer; same name with different content: the newer wins and the
// older survives as a version.
func TestMergeInitialSync(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		// Identical content on both sides.
		e.put("Specs/Same.pdf", "identical bytes")
		e.web("Specs/Same.pdf", "identical bytes")
		// Different content: Procore older, target newer.
		e.put("Specs/Older in Procore.pdf", "procore v1")
		e.put("Specs/Newer in Procore.pdf", "procore v1 (later)")
		e.tick()
		e.web("Specs/Older in Procore.pdf", "target, newer")
		e.tick()
		e.put("Specs/Newer in Procore.pdf", "procore v2, newest")
		olderTargetID := e.targetID("Specs/Older in Procore.pdf")
		e.web("Specs/Newer in Procore.pdf", "target, older") // written before the tick below
		// Make the target's copy of "Newer in Procore" the older one.
		e.tick()
		e.put("Specs/Newer in Procore.pdf", "procore v3, newest")
		newerTargetID := e.targetID("Specs/Newer in Procore.pdf")
		// Only on one side each.
		e.put("Only Procore.pdf", "p")
		e.web("Only Target.pdf", "t")

		id := e.docsPair(func(p *syncengine.Pair) { p.Initial = syncengine.InitialMerge })
		e.pc.ResetCalls()
		e.svc.resetCalls()
		r := e.runOK(id)
		t.Logf("merge run: %+v; Procore calls %v; %s calls %v", r.Counts, e.pc.Calls(), tg, e.svc.calls())

		if r.Counts.Linked < 1 {
			t.Errorf("nothing linked: %+v", r.Counts)
		}
		// Transfers: one upload to the target (Only Procore, Newer in
		// Procore) is two; one upload to Procore each for Only Target and
		// Older in Procore. Same.pdf is never uploaded.
		if n := e.targetOps(opUpload); n != 2 {
			t.Errorf("%d uploads to %s, want 2 (Only Procore.pdf, Newer in Procore.pdf)", n, tg)
		}
		if n := e.procoreOps("FilesPost", "FilesIdPatch", "FileVersionsPost"); n != 2 {
			t.Errorf("%d file creations/versions in Procore, want 2: %v", n, e.pc.Calls())
		}
		// The newer content won on both sides.
		for p, want := range map[string]string{
			"Specs/Same.pdf":             "identical bytes",
			"Specs/Older in Procore.pdf": "target, newer",
			"Specs/Newer in Procore.pdf": "procore v3, newest",
			"Only Procore.pdf":           "p",
			"Only Target.pdf":            "t",
		} {
			if got, _ := e.procoreFile(p); got != want {
				t.Errorf("Procore %s = %q, want %q", p, got, want)
			}
			if got, _ := e.targetFile(p); got != want {
				t.Errorf("%s %s = %q, want %q", tg, p, got, want)
			}
		}
		// The losers survive as versions: in Procore an added version (the
		// file had 1 version before), on the target a new version of the
		// same item (same ID: written over, not replaced).
		if n, _ := e.pc.UIVersions(e.docs, "Specs/Older in Procore.pdf"); n != 2 {
			t.Errorf("Procore keeps %d versions of the loser, want 2", n)
		}
		if id := e.targetID("Specs/Newer in Procore.pdf"); id != newerTargetID {
			t.Errorf("the target's loser was replaced (ID %s → %s), not versioned", newerTargetID, id)
		}
		if id := e.targetID("Specs/Older in Procore.pdf"); id != olderTargetID {
			t.Errorf("the target's winner changed ID")
		}
		equalPaths(t, "trees after merge", e.targetPaths(e.tpath("Documents", "")), e.procorePaths())
	})
}

// TestRegularTwoWaySync: edits become versions, renames and moves are
// replayed as renames and moves, folders travel both ways, deletes go to
// the recycle bin or are held as unsynced.
func TestRegularTwoWaySync(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		for _, p := range []string{"Drawings/A-101.pdf", "Drawings/A-102.pdf", "Specs/03 30 00.pdf", "Specs/05 12 00.pdf", "RFIs/RFI 001.pdf", "RFIs/RFI 002.pdf"} {
			e.put(p, "v1 of "+p)
		}
		id := e.docsPair(nil)
		e.runOK(id)
		spec := e.targetID("Specs/03 30 00.pdf")
		a101 := e.targetID("Drawings/A-101.pdf")

		// Edits on each side become new versions on the other.
		e.tick()
		e.web("Specs/03 30 00.pdf", "rev B from the field")
		e.put("Specs/05 12 00.pdf", "rev B from the office")
		e.pc.ResetCalls()
		e.svc.resetCalls()
		e.runOK(id)
		if got, _ := e.procoreFile("Specs/03 30 00.pdf"); got != "rev B from the field" {
			t.Errorf("Procore has %q", got)
		}
		if n, _ := e.pc.UIVersions(e.docs, "Specs/03 30 00.pdf"); n != 2 {
			t.Errorf("the edit is not a new Procore version: %d versions", n)
		}
		if got, _ := e.targetFile("Specs/05 12 00.pdf"); got != "rev B from the office" {
			t.Errorf("%s has %q", tg, got)
		}
		if id := e.targetID("Specs/03 30 00.pdf"); id != spec {
			t.Errorf("edited file changed ID on %s", tg)
		}

		// A rename and a move in Procore are replayed as a rename and a
		// move: no upload, no delete.
		e.tick()
		must(t, e.pc.UIRename(e.docs, "Drawings/A-101.pdf", "A-101 Level 1.pdf"))
		must(t, e.pc.UIMove(e.docs, "RFIs/RFI 001.pdf", "Specs"))
		e.pc.ResetCalls()
		e.svc.resetCalls()
		r := e.runOK(id)
		if r.Counts.Moved != 2 || r.Counts.FilesCopied != 0 || r.Counts.Deleted != 0 {
			t.Errorf("rename+move run: %+v", r.Counts)
		}
		if n := e.targetOps(opUpload) + e.targetOps(opRecycle) + e.targetOps(opPurge) + e.targetOps(opDownload); n != 0 {
			t.Errorf("rename/move cost %d uploads, downloads or deletes on %s: %v", n, tg, e.svc.calls())
		}
		if n := e.procoreOps(procoreDownOps...); n != 0 {
			t.Errorf("rename/move downloaded %d times from Procore", n)
		}
		if id := e.targetID("Drawings/A-101 Level 1.pdf"); id == "" || id != a101 {
			t.Errorf("rename not replayed as a rename: ID %q, was %q", id, a101)
		}
		if _, ok := e.targetFile("Specs/RFI 001.pdf"); !ok {
			t.Errorf("move not replayed")
		}

		// A rename and a move on the target go back the same way.
		e.tick()
		must(t, e.svc.rename(e.tpath("Documents", "Drawings/A-102.pdf"), "A-102 Elevations.pdf"))
		must(t, e.svc.move(e.tpath("Documents", "RFIs/RFI 002.pdf"), e.tpath("Documents", "Drawings")))
		e.pc.ResetCalls()
		e.svc.resetCalls()
		r = e.runOK(id)
		if r.Counts.Moved != 2 || r.Counts.FilesCopied != 0 {
			t.Errorf("rename+move from %s: %+v", tg, r.Counts)
		}
		if n := e.procoreOps(procoreUploadOps...) + e.procoreOps(procoreDeleteOps...) + e.targetOps(opDownload); n != 0 {
			t.Errorf("rename/move from %s cost %d transfers or deletes: %v %v", tg, n, e.pc.Calls(), e.svc.calls())
		}
		if n, _ := e.pc.UIVersions(e.docs, "Drawings/A-102 Elevations.pdf"); n != 1 {
			t.Errorf("renamed file in Procore has %d versions (want the original, renamed)", n)
		}
		if _, ok := e.procoreFile("Drawings/RFI 002.pdf"); !ok {
			t.Errorf("move from %s not replayed", tg)
		}

		// Folders made on either side appear on the other.
		e.tick()
		_, err := e.pc.UIMakeFolders(e.docs, "Closeout/Warranties")
		must(t, err)
		must(t, e.svc.mkdir(e.tpath("Documents", "Submittals/Pending")))
		e.runOK(id)
		equalPaths(t, "trees after folders", e.targetPaths(e.tpath("Documents", "")), e.procorePaths())
	})
}

// TestDeletes: with "sync deletes" on a delete goes to the other side's
// recycle bin; with it off the other copy stays and the item is reported
// unsynced.
func TestDeletes(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, syncDeletes := range []bool{true, false} {
			name := map[bool]string{true: "SyncDeletesOn", false: "SyncDeletesOff"}[syncDeletes]
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, tg, envOptions{})
				e.put("Old/Procore side.pdf", "a")
				e.put("Old/Target side.pdf", "b")
				e.put("Keep.pdf", "c")
				id := e.docsPair(func(p *syncengine.Pair) {
					if !syncDeletes {
						p.Deletes = syncengine.DeleteKeep
					}
				})
				e.runOK(id)
				e.tick()
				must(t, e.pc.UIDelete(e.docs, "Old/Procore side.pdf"))
				procoreSideID := e.targetID("Old/Procore side.pdf")
				must(t, e.svc.remove(e.tpath("Documents", "Old/Target side.pdf")))
				e.svc.resetCalls()
				e.pc.ResetCalls()
				r := e.run(id)
				if syncDeletes {
					if r.Status != syncengine.RunSucceeded || r.Counts.Deleted != 2 {
						t.Fatalf("run: %s %+v", r.Status, r.Counts)
					}
					if _, ok := e.targetFile("Old/Procore side.pdf"); ok {
						t.Errorf("still on %s", tg)
					}
					if _, ok := e.procoreFile("Old/Target side.pdf"); ok {
						t.Errorf("still in Procore")
					}
					// To the recycle bin (Box's trash, Dropbox's deleted
					// files): a recycling delete, never a permanent one.
					if e.targetOps(opPurge) != 0 || e.targetOps(opRecycle) != 1 {
						t.Errorf("%s deletes: %v", tg, e.svc.calls())
					}
					if in, known := e.svc.recycled(e.tpath("Documents", "Old/Procore side.pdf"), procoreSideID); known && !in {
						t.Errorf("the file deleted on %s is not in its recycle bin", tg)
					}
					if e.procoreOps("FilesIdDelete") != 1 {
						t.Errorf("Procore deletes: %v", e.pc.Calls())
					}
					equalPaths(t, "trees", e.targetPaths(e.tpath("Documents", "")), e.procorePaths())
					return
				}
				// Sync deletes off: both other copies stay, reported unsynced.
				if r.Counts.Deleted != 0 || r.Counts.Held != 2 {
					t.Fatalf("run: %s %+v", r.Status, r.Counts)
				}
				if _, ok := e.targetFile("Old/Procore side.pdf"); !ok {
					t.Errorf("the %s copy was deleted", tg)
				}
				if _, ok := e.procoreFile("Old/Target side.pdf"); !ok {
					t.Errorf("the Procore copy was deleted")
				}
				if e.targetOps(opRecycle)+e.targetOps(opPurge)+e.procoreOps(procoreDeleteOps...) != 0 {
					t.Errorf("delete calls made")
				}
				held, err := e.eng.Held(e.ctx, id)
				must(t, err)
				if len(held) != 2 {
					t.Fatalf("held: %+v", held)
				}
				view, err := e.eng.FolderView(e.ctx, id, "Old")
				must(t, err)
				for _, v := range view {
					if v.Status == syncengine.StatusInSync {
						t.Errorf("%s reported in sync: %+v", v.Name, v)
					}
				}
				// A later run does not delete them either.
				if r := e.run(id); r.Counts.Deleted != 0 {
					t.Errorf("second run deleted: %+v", r.Counts)
				}
			})
		}
	})
}

var _ = procoretest.HostAPI

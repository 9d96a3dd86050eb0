package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/syncengine"
)

// TestDeleteLimit: limit 25, 100 files deleted in the target: 25 are
// deleted in Procore, 75 held and reported, with one notification listing
// the 75 paths; approving applies them, rejecting restores them on the
// target.
func TestDeleteLimit(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		var all []string
		for f := range 4 {
			for i := range 50 {
				p := fmt.Sprintf("Area %d/Sheet %03d.pdf", f, i)
				e.put(p, p)
				all = append(all, p)
			}
		}
		id := e.docsPair(func(p *syncengine.Pair) { p.DeleteLimit = 25 })
		e.runOK(id)

		e.tick()
		deleted := all[:100] // Area 0 and Area 1, file by file
		for _, p := range deleted {
			must(t, e.svc.remove(e.tpath("Documents", p)))
		}
		e.rec.Reset()
		e.pc.ResetCalls()
		r := e.run(id)
		if r.Counts.Deleted != 25 || r.Counts.Held != 75 || r.Status != syncengine.RunPartial {
			t.Fatalf("run: %s %+v", r.Status, r.Counts)
		}
		if n := e.procoreOps("FilesIdDelete"); n != 25 {
			t.Errorf("%d deletes in Procore, want 25", n)
		}
		var gone, kept []string
		for _, p := range deleted {
			if _, ok := e.procoreFile(p); ok {
				kept = append(kept, p)
			} else {
				gone = append(gone, p)
			}
		}
		if len(gone) != 25 || len(kept) != 75 {
			t.Fatalf("Procore: %d gone, %d kept", len(gone), len(kept))
		}
		ev := e.rec.OfKind(syncengine.EventDeleteLimitReached)
		if len(ev) != 1 {
			t.Fatalf("%d delete-limit notifications: %+v", len(ev), e.rec.Events())
		}
		// The notification counts them all and names a sample; Held
		// lists them all.
		if ev[0].Count != len(kept) || len(ev[0].Paths) != syncengine.MaxEventPaths {
			t.Fatalf("notified %d of %d held paths, want %d of %d", len(ev[0].Paths), ev[0].Count, syncengine.MaxEventPaths, len(kept))
		}
		for _, p := range ev[0].Paths {
			if !slices.Contains(kept, p) {
				t.Errorf("notified %q, which was not held", p)
			}
		}
		held, err := e.eng.Held(e.ctx, id)
		must(t, err)
		if len(held) != 75 {
			t.Fatalf("%d held", len(held))
		}
		var heldPaths []string
		for _, h := range held {
			heldPaths = append(heldPaths, h.Path)
		}
		sort.Strings(heldPaths)
		equalPaths(t, "held paths", heldPaths, kept)
		// A second run holds nothing new and notifies nothing new.
		if r := e.run(id); r.Counts.Deleted != 0 {
			t.Errorf("second run deleted %d", r.Counts.Deleted)
		}
		if n := len(e.rec.OfKind(syncengine.EventDeleteLimitReached)); n != 1 {
			t.Errorf("%d delete-limit notifications after a second run", n)
		}

		// Approve 40: they are deleted in Procore (beyond the limit).
		// Reject 35: they are restored on the target.
		var approve, reject []int64
		approved, rejected := map[string]bool{}, map[string]bool{}
		for i, h := range held {
			if i < 40 {
				approve = append(approve, h.ID)
				approved[h.Path] = true
			} else {
				reject = append(reject, h.ID)
				rejected[h.Path] = true
			}
		}
		must(t, e.eng.ApproveHeld(e.ctx, id, approve))
		must(t, e.eng.RejectHeld(e.ctx, id, reject))
		for _, p := range kept {
			_, inProcore := e.procoreFile(p)
			content, onTarget := e.targetFile(p)
			switch {
			case approved[p] && (inProcore || onTarget):
				t.Errorf("approved %s: Procore %v, %s %v", p, inProcore, tg, onTarget)
			case rejected[p] && (!inProcore || content != p):
				t.Errorf("rejected %s: Procore %v, %s %q", p, inProcore, tg, content)
			}
		}
		if held, _ := e.eng.Held(e.ctx, id); len(held) != 0 {
			t.Errorf("%d still held", len(held))
		}
		e.runOK(id)
		equalPaths(t, "trees", e.targetPaths(e.tpath("Documents", "")), e.procorePaths())
	})
}

// TestSpecialCharacters: the album `Site #3: "East" <Level 2>` arrives as
// `Site -3- -East- -Level 2-` with the Photos "special characters" option;
// without it, on SharePoint and OneDrive (which refuse `" * : < > ? / \ |`
// and, in the engine's rules for them, `#`), the album fails with an
// invalid-name error while the rest syncs; Box and Dropbox take those
// characters (Box refuses only `/` and `\`, Dropbox only `\` and control
// characters), so there the album arrives under its own name.
func TestSpecialCharacters(t *testing.T) {
	const album = `Site #3: "East" <Level 2>`
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, on := range []bool{true, false} {
			t.Run(map[bool]string{true: "OptionOn", false: "OptionOff"}[on], func(t *testing.T) {
				e := newEnv(t, tg, envOptions{replaceSpecialChars: on})
				_, err := e.pc.UIAddPhoto(e.pc.ProjectID, album, "IMG_0001.jpg", []byte("jpeg 1"))
				must(t, err)
				_, err = e.pc.UIAddPhoto(e.pc.ProjectID, "Level 2 Deck", "IMG_0100.jpg", []byte("jpeg 100"))
				must(t, err)
				id := e.photosPair(nil)
				r := e.run(id)
				got := e.targetPaths(e.tpath("Photos", ""))
				if on {
					if r.Status != syncengine.RunSucceeded {
						t.Fatalf("run %s %+v", r.Status, r.Counts)
					}
					equalPaths(t, "Photos on "+string(tg), got, []string{"Level 2 Deck/", "Level 2 Deck/IMG_0100.jpg",
						"Site -3- -East- -Level 2-/", "Site -3- -East- -Level 2-/IMG_0001.jpg"})
					return
				}
				if rules := e.openTarget(e.tpath("Photos", "")).Features().Names; rules.Validate(album) == nil {
					// The target takes the name as it is: nothing to refuse.
					if r.Status != syncengine.RunSucceeded {
						t.Fatalf("run %s %+v", r.Status, r.Counts)
					}
					equalPaths(t, "Photos on "+string(tg), got, []string{"Level 2 Deck/", "Level 2 Deck/IMG_0100.jpg", album + "/", album + "/IMG_0001.jpg"})
					return
				}
				// The rest syncs; the album is left alone and the activity log
				// says why. (The issue wants a failure in the error log as the
				// Pair documentation promises: see TestBug_InvalidNameNotInErrorLog.)
				equalPaths(t, "Photos on "+string(tg), got, []string{"Level 2 Deck/", "Level 2 Deck/IMG_0100.jpg"})
				if r.Status == syncengine.RunFailed {
					t.Errorf("run %s %+v", r.Status, r.Counts)
				}
				acts, err := e.eng.Activity(e.ctx, id, syncengine.Page{})
				must(t, err)
				found := false
				for _, a := range acts {
					if strings.HasPrefix(a.Path, album) && strings.Contains(strings.ToLower(a.Detail), "invalid") {
						found = true
						t.Logf("activity: %s %s: %s", a.Kind, a.Path, a.Detail)
					}
				}
				if !found {
					t.Errorf("no invalid-name report for the album: %+v", acts)
				}
			})
		}
	})
}

// TestInvalidNameFailsInErrorLog: syncengine.Pair.NameMapping promises
// "When false, such items fail with an invalid-name error and the rest
// syncs", and the issue asks for "a clear invalid-name error in the error
// log": the run is partial, counts the item as failed, and Engine.Errors
// shows the album that is not synced.
func TestInvalidNameFailsInErrorLog(t *testing.T) {
	e := newEnv(t, sharePoint, envOptions{})
	_, err := e.pc.UIAddPhoto(e.pc.ProjectID, `Site #3: "East" <Level 2>`, "IMG_0001.jpg", []byte("jpeg 1"))
	must(t, err)
	id := e.photosPair(nil)
	r := e.run(id)
	errs, err := e.eng.Errors(e.ctx, id, syncengine.Page{})
	must(t, err)
	if len(errs) == 0 || r.Counts.Failed == 0 || r.Status == syncengine.RunSucceeded {
		t.Errorf("invalid name not reported as a failure: run %s %+v, error log %+v", r.Status, r.Counts, errs)
	}
}

// TestProtectedRoots: renaming the project or Documents folder on the
// target is followed and sync continues; deleting it pauses the pair,
// notifies, and deletes nothing in Procore.
func TestProtectedRoots(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		e.put("Drawings/A-101.pdf", "a")
		e.put("Specs/S.pdf", "s")
		id := e.docsPair(nil)
		e.runOK(id)

		// Rename the project folder, then the Documents folder.
		e.tick()
		must(t, e.svc.rename(rootFolder+"/"+projectName, projectName+" (renamed)"))
		must(t, e.svc.rename(rootFolder+"/"+projectName+" (renamed)/Documents", "Project Documents"))
		e.put("Drawings/A-102.pdf", "new after the rename")
		must(t, e.svc.upload(rootFolder+"/"+projectName+" (renamed)/Project Documents/Specs/From field.pdf", []byte("f")))
		r := e.runOK(id)
		if r.Counts.FilesCopied != 2 || r.Counts.Deleted != 0 {
			t.Errorf("run after renames: %+v", r.Counts)
		}
		renamed := rootFolder + "/" + projectName + " (renamed)/Project Documents"
		if b, ok := e.svc.content(renamed + "/Drawings/A-102.pdf"); !ok || string(b) != "new after the rename" {
			t.Errorf("new Procore file not in the renamed folder")
		}
		if _, ok := e.procoreFile("Specs/From field.pdf"); !ok {
			t.Errorf("file from the renamed folder not in Procore")
		}

		// Delete the Documents folder: the pair pauses, nothing is deleted.
		e.tick()
		must(t, e.svc.remove(renamed))
		before := e.procorePaths()
		e.pc.ResetCalls()
		e.rec.Reset()
		r, err := e.eng.RunOnce(e.ctx, id, syncengine.RunOptions{})
		if r.Status != syncengine.RunRefused {
			t.Fatalf("run after the root was deleted: %s %v %+v", r.Status, err, r.Counts)
		}
		equalPaths(t, "Procore after the target root was deleted", e.procorePaths(), before)
		if n := e.procoreOps(procoreDeleteOps...); n != 0 {
			t.Errorf("%d delete calls to Procore", n)
		}
		if ev := e.rec.OfKind(syncengine.EventPairPaused); len(ev) != 1 {
			t.Errorf("pause notifications: %+v", e.rec.Events())
		}
		st, err := e.eng.Stats(e.ctx, id)
		must(t, err)
		if !st.Paused || st.PauseReason == "" {
			t.Errorf("pair not paused: %+v", st)
		}
		if _, err := e.eng.RunOnce(e.ctx, id, syncengine.RunOptions{}); err == nil {
			t.Errorf("a paused pair ran")
		}
		equalPaths(t, "Procore after a second attempt", e.procorePaths(), before)
	})
}

// TestConflict: the same file edited on both sides between runs: the
// newest wins and the loser is kept as a version.
func TestConflict(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		e.put("Specs/Target wins.pdf", "v1")
		e.put("Specs/Procore wins.pdf", "v1")
		id := e.docsPair(nil)
		e.runOK(id)
		procoreWins := e.targetID("Specs/Procore wins.pdf")

		e.tick()
		e.put("Specs/Target wins.pdf", "procore edit (older)")
		e.web("Specs/Procore wins.pdf", "target edit (older)")
		e.tick()
		e.web("Specs/Target wins.pdf", "target edit (newest)")
		e.put("Specs/Procore wins.pdf", "procore edit (newest)")
		r := e.runOK(id)
		if r.Counts.Conflicts != 2 {
			t.Errorf("conflicts: %+v", r.Counts)
		}
		for p, want := range map[string]string{"Specs/Target wins.pdf": "target edit (newest)", "Specs/Procore wins.pdf": "procore edit (newest)"} {
			if got, _ := e.procoreFile(p); got != want {
				t.Errorf("Procore %s: %q, want %q", p, got, want)
			}
			if got, _ := e.targetFile(p); got != want {
				t.Errorf("%s %s: %q, want %q", tg, p, got, want)
			}
		}
		// Procore keeps v1, the losing edit and the winner: 3 versions.
		if n, _ := e.pc.UIVersions(e.docs, "Specs/Target wins.pdf"); n != 3 {
			t.Errorf("Procore keeps %d versions, want 3 (v1, the loser, the winner)", n)
		}
		// On the target the winner is a new version of the same item.
		if id := e.targetID("Specs/Procore wins.pdf"); id != procoreWins {
			t.Errorf("the loser on %s was replaced, not versioned", tg)
		}
		// No conflict copies anywhere.
		equalPaths(t, "trees", e.targetPaths(e.tpath("Documents", "")), e.procorePaths())
		for _, p := range e.procorePaths() {
			if strings.Contains(p, "conflict") {
				t.Errorf("conflict copy %s", p)
			}
		}
	})
}

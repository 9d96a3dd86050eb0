package e2e

import (
	"context"
	"io"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// orderRecorder wraps a storage and records the order of MakeDir and Put
// calls, to check that folders are created before the files in them.
type orderRecorder struct {
	storage.Storage
	mu  sync.Mutex
	ops []string
}

func (o *orderRecorder) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	e, err := o.Storage.MakeDir(ctx, parent, name)
	o.mu.Lock()
	o.ops = append(o.ops, "mkdir "+path.Join(parent.Path, name))
	o.mu.Unlock()
	return e, err
}

func (o *orderRecorder) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	o.mu.Lock()
	o.ops = append(o.ops, "put "+path.Join(parent.Path, name))
	o.mu.Unlock()
	return o.Storage.Put(ctx, parent, name, r, size, opt)
}

// TestStandardInitialSync: the target tree equals the Procore tree after
// name mapping; folders are made before files; one "initial sync
// completed" notification per pair.
func TestStandardInitialSync(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		for _, p := range []string{
			"Drawings/Architectural/A-101 Floor Plan.pdf",
			"Drawings/Structural/S-101 Foundation Plan.pdf",
			"Specifications/03 30 00 Concrete.pdf",
			"Contracts/Subcontract - Steel (Draft) .pdf",
			"Meeting Minutes/Empty.txt",
			"Geotech Report.pdf",
		} {
			content := "content of " + p
			if strings.HasSuffix(p, "Empty.txt") {
				content = ""
			}
			e.put(p, content)
		}
		_, err := e.pc.UIMakeFolders(e.docs, "Closeout/Warranties")
		must(t, err)
		_, err = e.pc.UIAddPhoto(e.pc.ProjectID, "Level 2 Deck", "IMG_0100.jpg", []byte("jpeg 100"))
		must(t, err)

		var rec *orderRecorder
		docs := e.docsPair(func(p *syncengine.Pair) {
			rec = &orderRecorder{Storage: p.B}
			p.B = rec
		})
		photos := e.photosPair(nil)
		e.runOK(docs)
		e.runOK(photos)

		// The target tree is the Procore tree after mapping names into the
		// target's rules (the trailing space before ".pdf" stays: it is
		// inside the name; a trailing space at the very end would go).
		rules := rec.Features().Names
		var want []string
		for _, p := range e.procorePaths() {
			want = append(want, rules.MapPath(strings.TrimSuffix(p, "/"), "-")+map[bool]string{true: "/"}[strings.HasSuffix(p, "/")])
		}
		equalPaths(t, "target Documents tree", e.targetPaths(e.tpath("Documents", "")), want)
		equalPaths(t, "target Photos tree", e.targetPaths(e.tpath("Photos", "")), []string{"Level 2 Deck/", "Level 2 Deck/IMG_0100.jpg"})
		if got, _ := e.targetFile("Meeting Minutes/Empty.txt"); got != "" {
			t.Errorf("zero-byte file has %q", got)
		}
		if got, _ := e.targetFile("Geotech Report.pdf"); got != "content of Geotech Report.pdf" {
			t.Errorf("content: %q", got)
		}

		// Folders before files: every put comes after the mkdir of its folder.
		made := map[string]int{}
		for i, op := range rec.ops {
			if d, ok := strings.CutPrefix(op, "mkdir "); ok {
				made[d] = i
			}
		}
		for i, op := range rec.ops {
			if f, ok := strings.CutPrefix(op, "put "); ok {
				dir := path.Dir(f)
				if dir == "." {
					dir = ""
				}
				if j, ok := made[dir]; dir != "" && (!ok || j > i) {
					t.Errorf("%s before its folder was made: %q", op, rec.ops)
				}
			}
		}
		// Folders first overall, as a standard initial sync mirrors the tree first.
		lastMkdir, firstPut := -1, len(rec.ops)
		for i, op := range rec.ops {
			if strings.HasPrefix(op, "mkdir ") {
				lastMkdir = i
			} else if i < firstPut {
				firstPut = i
			}
		}
		if lastMkdir > firstPut {
			t.Errorf("a folder was made after a file was copied: %q", rec.ops)
		}

		ev := e.rec.OfKind(syncengine.EventInitialSyncCompleted)
		if len(ev) != 2 || ev[0].PairID != docs || ev[1].PairID != photos {
			t.Fatalf("initial sync notifications: %+v", ev)
		}
		// A regular run notifies nothing more.
		e.runOK(docs)
		if n := len(e.rec.OfKind(syncengine.EventInitialSyncCompleted)); n != 2 {
			t.Errorf("%d initial sync notifications after a regular run", n)
		}
		t.Logf("notification: %s", ev[0].Message)
	})
}

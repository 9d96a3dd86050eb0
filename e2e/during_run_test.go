package e2e

import (
	"context"
	"sync"
	"testing"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// onceHook runs f the first time fire is called after arm.
type onceHook struct {
	mu    sync.Mutex
	armed bool
	f     func()
}

func (h *onceHook) arm(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed, h.f = true, f
}

func (h *onceHook) fire() {
	h.mu.Lock()
	f := h.f
	run := h.armed && f != nil
	h.armed = false
	h.mu.Unlock()
	if run {
		f()
	}
}

// deleteHooked is a target storage on which a person acts right before the
// engine's Delete reaches the service: after every check the engine makes
// itself, so only the service's conditional request stands between the
// person's edit and its loss.
type deleteHooked struct {
	storage.Storage
	before onceHook
}

func (d *deleteHooked) Delete(ctx context.Context, e storage.Entry) error {
	d.before.fire()
	return d.Storage.Delete(ctx, e)
}

// feedHooked is Procore Documents on which a person acts right after the
// engine read the change feed: between the reading and the action.
type feedHooked struct {
	*procore.DocumentsStorage
	after onceHook
}

func (f *feedHooked) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	ch, next, err := f.DocumentsStorage.Changes(ctx, cursor)
	f.after.fire()
	return ch, next, err
}

// TestEditDuringDeleteOnTarget: a file deleted in Procore is about to be
// deleted on the target when a person saves a new version of it there. The
// service refuses the stale delete (If-Match), the engine re-plans, and the
// person's version wins: it is kept on the target and restored in Procore.
func TestEditDuringDeleteOnTarget(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		e.put("Specs/03 30 00 Concrete.pdf", "rev A")
		var hooked *deleteHooked
		id := e.docsPair(func(p *syncengine.Pair) {
			hooked = &deleteHooked{Storage: p.B}
			p.B = hooked
		})
		e.runOK(id)

		e.tick()
		must(t, e.pc.UIDelete(e.docs, "Specs/03 30 00 Concrete.pdf"))
		hooked.before.arm(func() { e.web("Specs/03 30 00 Concrete.pdf", "rev B, saved during the run") })
		e.run(id)
		for range 3 {
			if got, ok := e.procoreFile("Specs/03 30 00 Concrete.pdf"); ok && got == "rev B, saved during the run" {
				break
			}
			e.tick()
			e.run(id)
		}
		if got, ok := e.targetFile("Specs/03 30 00 Concrete.pdf"); !ok || got != "rev B, saved during the run" {
			t.Fatalf("target: %q %v, want the person's version", got, ok)
		}
		if got, ok := e.procoreFile("Specs/03 30 00 Concrete.pdf"); !ok || got != "rev B, saved during the run" {
			t.Fatalf("Procore: %q %v, want the person's version restored", got, ok)
		}
	})
}

// TestEditDuringDeleteInProcore: the mirror case on a service without
// conditional deletes. A file deleted on the target is about to be deleted
// in Procore when a person saves a new version of it in Procore, after the
// engine read Procore's feed. The engine's fresh read before the delete sees
// the new version, so nothing is deleted and the version reaches the target.
func TestEditDuringDeleteInProcore(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, envOptions{})
		e.put("Specs/04 20 00 Masonry.pdf", "rev A")
		var hooked *feedHooked
		id := e.docsPair(func(p *syncengine.Pair) {
			hooked = &feedHooked{DocumentsStorage: p.A.(*procore.DocumentsStorage)}
			p.A = hooked
		})
		e.runOK(id)

		e.tick()
		must(t, e.svc.remove(e.tpath("Documents", "Specs/04 20 00 Masonry.pdf")))
		hooked.after.arm(func() {
			e.tick()
			e.put("Specs/04 20 00 Masonry.pdf", "rev B, saved during the run")
		})
		e.run(id)
		for range 3 {
			if got, ok := e.targetFile("Specs/04 20 00 Masonry.pdf"); ok && got == "rev B, saved during the run" {
				break
			}
			e.tick()
			e.run(id)
		}
		if got, ok := e.procoreFile("Specs/04 20 00 Masonry.pdf"); !ok || got != "rev B, saved during the run" {
			t.Fatalf("Procore: %q %v, want the person's version kept", got, ok)
		}
		if got, ok := e.targetFile("Specs/04 20 00 Masonry.pdf"); !ok || got != "rev B, saved during the run" {
			t.Fatalf("target: %q %v, want the person's version restored", got, ok)
		}
	})
}

package syncengine_test

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"pgregory.net/rapid"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// personDuringRunDestroys enables the person-during-run steps that race a
// destructive action of the engine: a person edits a file, moves an item
// or saves a new file (at the top level or into a folder) after the engine
// read the side and before it acts, while the plan deletes, overwrites,
// moves or copies over that item or folder, or reads the file to copy it.
// They hold because the applier confirms every destructive action against
// the item as it is now (conditional requests, or a fresh read right before
// the call) and Put refuses a source that changed under it. Turning it off
// leaves only the steps that cannot race a destruction (a person deleting
// during a run, unstable listings), to tell the two kinds of failure apart.
var personDuringRunDestroys = true

// sideKinds are the ways a side is shown to the engine: the memory storage
// with every capability (a change feed; lookup by ID), with its change
// feed but no lookup by ID (absence is then confirmed by listing again),
// or as a plain listing (every run lists it in full).
var sideKinds = []string{"full", "no-statid", "list-only"}

// unstable is a memory storage whose next listing can be perturbed, as a
// real service's listing is not a snapshot (see listPerturbation).
type unstable struct {
	*memory.Storage
	mu   sync.Mutex
	next *listPerturbation
}

// StatID looks the item up by ID: with the memory storage's own StatID
// where it has one, else by reading its whole tree (never perturbed).
func (u *unstable) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if is, ok := any(u.Storage).(storage.IDStater); ok {
		return is.StatID(ctx, id)
	}
	all, err := sortedList(ctx, u.Storage)
	if err != nil {
		return storage.Entry{}, err
	}
	for _, e := range all {
		if e.ID == id {
			return e, nil
		}
	}
	return storage.Entry{}, storage.NewError("statid", id, storage.ErrNotFound, nil)
}

func (u *unstable) arm(p *listPerturbation) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.next = p
}

func (u *unstable) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	u.mu.Lock()
	p := u.next
	u.next = nil
	u.mu.Unlock()
	if p == nil {
		return u.Storage.List(ctx)
	}
	return func(yield func(storage.Entry, error) bool) { p.list(ctx, u.Storage, yield) }
}

// withoutStatID shows a storage with its change feed but without lookup
// by ID.
type withoutStatID struct {
	storage.Storage
	storage.ChangeFeed
}

// listOnly shows a storage as a plain listing: no change feed, no lookup
// by ID.
type listOnly struct{ storage.Storage }

// listPerturbation is one unstable listing: "miss" leaves one item out
// (an item shifted off an offset page, or moved during a walk); "twice"
// reads the tree as offset pages and has a person rename an item of the
// first page before the next pages are read (it is listed twice, or
// missed, depending on where its new name sorts); "shift" has a person
// delete an item of the first page instead (the next page then misses
// the item that moved up onto the first).
type listPerturbation struct {
	kind   string
	pick   int
	size   int                   // page size for "twice" and "shift"
	person func(e storage.Entry) // the person's act on an entry of the first page
}

func (p *listPerturbation) list(ctx context.Context, mem *memory.Storage, yield func(storage.Entry, error) bool) {
	all, err := sortedList(ctx, mem)
	if err != nil {
		yield(storage.Entry{}, err)
		return
	}
	if p.kind == "miss" {
		skip := -1
		if len(all) > 0 {
			skip = p.pick % len(all)
		}
		for i, e := range all {
			if i != skip && !yield(e, nil) {
				return
			}
		}
		return
	}
	for page, off := 0, 0; ; page, off = page+1, off+p.size {
		if page == 1 && off > 0 {
			p.person(all[p.pick%min(off, len(all))])
			if all, err = sortedList(ctx, mem); err != nil {
				yield(storage.Entry{}, err)
				return
			}
		}
		if off >= len(all) {
			return
		}
		for _, e := range all[off:min(off+p.size, len(all))] {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// drawPerturbation draws an unstable listing of side s for the next run
// (nil: none).
func (w *world) drawPerturbation(t *rapid.T, s int) *listPerturbation {
	kind := rapid.SampledFrom([]string{"none", "none", "miss", "twice", "shift"}).Draw(t, "listing")
	if kind == "none" {
		return nil
	}
	p := &listPerturbation{kind: kind, pick: rapid.IntRange(0, 15).Draw(t, "listing pick"),
		size: rapid.IntRange(1, 3).Draw(t, "page size")}
	st := w.side[s]
	switch kind {
	case "twice":
		p.person = func(e storage.Entry) {
			name := w.freshName(e)
			if _, err := st.Rename(e.Path, path.Join(e.Dir(), name)); err == nil {
				w.logf("person %s during the listing: rename %q → %q", syncengine.Side(s), e.Path, name)
			}
		}
	case "shift":
		p.person = func(e storage.Entry) {
			w.discardUnder(s, e.Path)
			if err := st.Remove(e.Path); err == nil {
				w.logf("person %s during the listing: delete %q", syncengine.Side(s), e.Path)
			}
		}
	}
	return p
}

// freshName is a name that sorts after the names the people use and is
// taken nowhere.
func (w *world) freshName(e storage.Entry) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	if e.IsDir {
		return fmt.Sprintf("z%d", w.seq)
	}
	return fmt.Sprintf("z%d%s", w.seq, path.Ext(e.Path))
}

// discardUnder records that a person threw away every file at or below p
// on side s.
func (w *world) discardUnder(s int, p string) {
	all, err := sortedList(context.Background(), w.person[s])
	if err != nil {
		return
	}
	for _, f := range all {
		if !f.IsDir && (f.Path == p || strings.HasPrefix(f.Path, p+"/")) {
			w.discardFile(s, f)
		}
	}
}

// logf logs from any goroutine (rapid.T's Logf is not safe for that).
func (w *world) logf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notes = append(w.notes, fmt.Sprintf(format, args...))
}

// personStep is a person acting on side s during a run, at the at-th call
// the engine makes on that side (after it has read the side: Detect stats
// the root, then lists).
type personStep struct {
	side, at   int
	op         string
	pick, dest int
	name       string
}

// drawPerson draws a person acting during the next run (nil: nobody).
func (w *world) drawPerson(t *rapid.T) *personStep {
	ops := []string{"none", "none", "delete"}
	if personDuringRunDestroys {
		ops = append(ops, "create-top", "edit", "edit", "move", "create-in", "create-in")
	}
	op := rapid.SampledFrom(ops).Draw(t, "person during run")
	if op == "none" {
		return nil
	}
	return &personStep{side: rapid.IntRange(0, 1).Draw(t, "person side"), at: rapid.IntRange(3, 14).Draw(t, "person at"),
		op: op, pick: rapid.IntRange(0, 15).Draw(t, "person pick"), dest: rapid.IntRange(0, 15).Draw(t, "person dest"),
		name: rapid.SampledFrom(fileNames).Draw(t, "person name")}
}

// hook returns the storage hook that plays step p on its side's calls.
func (w *world) personHook(p *personStep) func(memory.Op) error {
	var calls atomic.Int64
	var fired atomic.Bool
	return func(op memory.Op) error {
		if fired.Load() || calls.Add(1) < int64(p.at) || !fired.CompareAndSwap(false, true) {
			return nil
		}
		w.act(p, op)
		return nil
	}
}

// act plays a person's step on the storage as it is now, at the start of
// the engine's call op. It runs on an engine goroutine: it reports nothing
// but notes.
//
// What a person writes at the start of a Delete lands between the
// engine's last look and its Delete: for a file, a conditional Delete
// refuses it; for a folder, whose Version does not follow what is added
// inside, nothing a client can do without an atomic subtree check stops
// it, and the recycle bin keeps it. Such content is held to the general
// invariant (kept somewhere, a recycle bin included), not to the stricter
// one for writes during a run.
func (w *world) act(p *personStep, op memory.Op) {
	ctx := context.Background()
	s, st := p.side, w.person[p.side]
	all, err := sortedList(ctx, st)
	if err != nil {
		return
	}
	var files, dirs []storage.Entry
	dirs = append(dirs, storage.Entry{ID: st.RootID(), IsDir: true})
	for _, e := range all {
		if e.IsDir {
			if depthOf(e.Path) < 2 {
				dirs = append(dirs, e)
			}
		} else {
			files = append(files, e)
		}
	}
	who := syncengine.Side(s)
	switch p.op {
	case "delete":
		if len(all) == 0 {
			return
		}
		e := all[p.pick%len(all)]
		w.discardUnder(s, e.Path)
		if st.Remove(e.Path) == nil {
			w.logf("person %s during the run (at a %s): delete %q", who, op, e.Path)
		}
	case "create-top", "create-in", "edit":
		var dir storage.Entry
		name := p.name
		switch p.op {
		case "create-top":
			dir = dirs[0]
		case "create-in":
			if len(dirs) == 1 {
				return
			}
			dir = dirs[1+p.dest%(len(dirs)-1)]
		case "edit":
			if len(files) == 0 {
				return
			}
			e := files[p.pick%len(files)]
			dir, name = storage.Entry{ID: e.ParentID, Path: e.Dir(), IsDir: true}, e.Name()
		}
		target := path.Join(dir.Path, name)
		// The person writes over what they see, and only that: a file
		// they did not see (the engine's copy landing between their look
		// and their save) refuses the save rather than being replaced
		// unseen; that would be the person's loss, not the engine's.
		opts := storage.PutOptions{NoOverwrite: true}
		for _, e := range all {
			if e.Path == target {
				if e.IsDir {
					return
				}
				if !w.history[s] {
					w.discardFile(s, e)
				}
				opts = storage.PutOptions{ExpectedVersion: e.Version}
			}
		}
		c := w.newContent(s)
		// Put into the folder by ID: a folder deleted meanwhile refuses it,
		// as the service would.
		if _, err := st.Put(ctx, dir, name, bytes.NewReader([]byte(c)), int64(len(c)), opts); err != nil {
			w.mu.Lock()
			w.discarded[c] = true // never written
			w.mu.Unlock()
			w.logf("person %s during the run: write %q failed: %v", who, target, err)
			return
		}
		if op != memory.OpDelete {
			w.mu.Lock()
			w.during[c] = true
			w.mu.Unlock()
		}
		w.logf("person %s during the run (at a %s): write %q = %q", who, op, target, c)
	case "move":
		if len(all) == 0 {
			return
		}
		e := all[p.pick%len(all)]
		dir := dirs[p.dest%len(dirs)]
		if dir.Path == e.Path || strings.HasPrefix(dir.Path, e.Path+"/") || depthOf(dir.Path)+1+height(all, e.Path) > 3 {
			return
		}
		to := path.Join(dir.Path, e.Name())
		if _, err := st.Rename(e.Path, to); err == nil {
			w.logf("person %s during the run (at a %s): move %q → %q", who, op, e.Path, to)
		}
	}
}

package memory

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// LatestCursor returns a cursor for "now".
func (s *Storage) LatestCursor(ctx context.Context) (string, error) {
	if err := s.f.before(ctx, OpLatestCursor); err != nil {
		return "", err
	}
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	if _, err := s.root("changes"); err != nil {
		return "", err
	}
	return s.t.cursor(), nil
}

func (t *tree) cursor() string {
	return fmt.Sprintf("mc%d.%d", t.nonce, t.logBase+uint64(len(t.log)))
}

// Changes reports what changed below the root after cursor: creations and
// content changes (the entry as it is now), moves and renames (the entry
// with its new path; a folder's descendants are not reported, their paths
// follow it), and deletions (ID, IsDir and last path, for every deleted
// descendant too). Items moved out of a Sub's root are reported deleted,
// with their descendants; items moved in are reported with their
// descendants. Each item is reported once, in the order of its last change.
// A cursor older than the change log keeps (see WithChangeLogSize), from
// another tree, or malformed gives storage.ErrCursorExpired.
func (s *Storage) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	if err := s.f.before(ctx, OpChanges); err != nil {
		return nil, "", err
	}
	t := s.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	root, err := s.root("changes")
	if err != nil {
		return nil, "", err
	}
	seq, ok := t.parseCursor(cursor)
	if !ok {
		return nil, "", errorf("changes", "", storage.ErrCursorExpired, "")
	}
	var out []storage.Change
	add := func(n *node, p string) {
		out = append(out, storage.Change{Entry: t.entry(n, p, root)})
	}
	addDeleted := func(id, p string, isDir bool) {
		out = append(out, storage.Change{Entry: storage.Entry{ID: id, Path: p, IsDir: isDir}, Deleted: true})
	}
	var walk func(n *node, p string, f func(c *node, p string))
	walk = func(n *node, p string, f func(c *node, p string)) {
		for _, c := range n.children {
			cp := join(p, c.name)
			f(c, cp)
			if c.isDir() {
				walk(c, cp, f)
			}
		}
	}
	for _, r := range t.log[seq-t.logBase:] {
		switch r.kind {
		case chChange:
			if n := t.nodes[r.id]; n != nil {
				if p, in := relPath(n, root); in && n != root {
					add(n, p)
				}
			}
		case chMove:
			n := t.nodes[r.id]
			if n == nil || n == root {
				continue // deleted later: its deletion follows
			}
			now, inNow := relPath(n, root)
			old, inOld := relFromAnc(r.anc, r.path, s.rootID)
			switch {
			case inNow:
				add(n, now)
				if !inOld {
					walk(n, now, add)
				}
			case inOld:
				walk(n, old, func(c *node, p string) { addDeleted(c.id, p, c.isDir()) })
				addDeleted(n.id, old, n.isDir())
			}
		case chDelete:
			if old, in := relFromAnc(r.anc, r.path, s.rootID); in {
				addDeleted(r.id, old, r.isDir)
			}
		}
	}
	return dedupe(out), t.cursor(), nil
}

// parseCursor returns the sequence number of a cursor this tree honours.
func (t *tree) parseCursor(c string) (uint64, bool) {
	rest, ok := strings.CutPrefix(c, "mc")
	if !ok {
		return 0, false
	}
	a, b, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	nonce, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || nonce != t.nonce || seq < t.logBase || seq > t.logBase+uint64(len(t.log)) {
		return 0, false
	}
	return seq, true
}

// dedupe keeps the last report of every ID, in the order of those reports.
func dedupe(in []storage.Change) []storage.Change {
	if len(in) < 2 {
		return in
	}
	last := make(map[string]int, len(in))
	for i, c := range in {
		last[c.Entry.ID] = i
	}
	out := in[:0]
	for i, c := range in {
		if last[c.Entry.ID] == i {
			out = append(out, c)
		}
	}
	return out
}

package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/procoresync/procoresync/storage"
)

// Checks of the rules that keep people's work safe while a sync runs: torn
// uploads never commit, conditional deletes and moves, finding an item by
// ID, listing one subtree.

// tornChunk returns the chunk size that makes Put upload in several chunks
// (set through Opt.SetChunkSize, or the Storage's own threshold), or 0.
func (s *suite) tornChunk(t *testing.T) int64 {
	t.Helper()
	if s.opt.SetChunkSize != nil {
		for _, c := range s.chunkSizes() {
			if 3*c > s.opt.MaxFileSize || (s.f.MaxFileSize > 0 && 3*c > s.f.MaxFileSize) {
				continue
			}
			if s.opt.SetChunkSize(s.s, c) {
				return c
			}
		}
	}
	if c := s.f.Upload.ChunkThreshold; c > 0 && 3*c <= s.opt.MaxFileSize && (s.f.MaxFileSize <= 0 || 3*c <= s.f.MaxFileSize) {
		return c
	}
	return 0
}

// checkChunkTorn: a chunked upload whose source yields fewer bytes than
// declared, more, or fails after exactly the declared bytes commits
// nothing, neither a new file nor a new version of an existing one.
func checkChunkTorn(t *testing.T, s *suite) {
	c := s.tornChunk(t)
	if c == 0 {
		logNA(t, "no chunked upload can be forced within Opt.MaxFileSize (Opt.SetChunkSize is nil and Features.Upload.ChunkThreshold is %d)", s.f.Upload.ChunkThreshold)
		return
	}
	d := s.workDir(t, "torn")
	n := 2*c + c/2 + 1
	data := content("torn", int(n+c))
	old := s.put(t, d, "existing.bin", content("existing", 100))
	cases := []struct {
		what string
		r    func() io.Reader
	}{
		{"fewer bytes than declared", func() io.Reader { return bytes.NewReader(data[:2*c+1]) }},
		{"more bytes than declared", func() io.Reader { return bytes.NewReader(data) }},
		{"an error after exactly the declared bytes", func() io.Reader { return &failingReader{data: data[:n], err: errBroken} }},
	}
	for i, tc := range cases {
		for _, name := range []string{fmt.Sprintf("new-%d.bin", i), old.Name()} {
			var err error
			s.within(t, "chunked Put of a torn source", func(ctx context.Context) {
				_, err = s.s.Put(ctx, d, name, tc.r(), n, storage.PutOptions{})
			})
			if err == nil {
				t.Errorf("chunked Put of %q (%d bytes declared, chunk %d) of a reader with %s succeeded", name, n, c, tc.what)
			}
		}
		s.wantNotFound(t, join(d.Path, fmt.Sprintf("new-%d.bin", i)))
	}
	s.wantUnchanged(t, old, content("existing", 100))
}

// staleFile makes a file and updates it, returning the entry from before
// the update (a stale Version) and the current one.
func (s *suite) staleFile(t *testing.T, d storage.Entry, name string) (stale, cur storage.Entry) {
	t.Helper()
	stale = s.put(t, d, name, content(name+"1", 10))
	cur = s.put(t, d, name, content(name+"2", 20))
	if cur.Version == stale.Version || cur.ID != stale.ID {
		t.Fatalf("an update of %q gave %+v after %+v: want the same ID and a new Version", name, cur, stale)
	}
	return stale, cur
}

func checkDeleteConditional(t *testing.T, s *suite) {
	if !s.f.ConditionalDelete {
		logNA(t, "Features.ConditionalDelete is false")
		return
	}
	d := s.workDir(t, "conditional delete")
	stale, cur := s.staleFile(t, d, "doc.txt")
	wantErr(t, "Delete with a stale Version", s.s.Delete(s.ctx, stale), storage.ErrPreconditionFailed)
	st := s.stat(t, cur.Path)
	if st.ID != cur.ID || st.Version != cur.Version {
		t.Errorf("after a refused Delete the file is %+v, want it unchanged: %+v", st, cur)
	}
	s.checkContent(t, st, content("doc.txt2", 20))
	if err := s.s.Delete(s.ctx, cur); err != nil {
		t.Errorf("Delete with the current Version: %v", err)
	}
	s.wantNotFound(t, cur.Path)

	other := s.put(t, d, "any.txt", content("any", 5))
	other.Version = ""
	if err := s.s.Delete(s.ctx, other); err != nil {
		t.Errorf("Delete with an empty Version: %v", err)
	}
	s.wantNotFound(t, other.Path)
}

func checkMoveConditional(t *testing.T, s *suite) {
	if !s.f.ConditionalMove {
		logNA(t, "Features.ConditionalMove is false")
		return
	}
	d := s.workDir(t, "conditional move")
	to := s.workDir(t, "conditional move to")
	stale, cur := s.staleFile(t, d, "doc.txt")
	_, err := s.s.Move(s.ctx, stale, to, "moved.txt")
	wantErr(t, "Move with a stale Version", err, storage.ErrPreconditionFailed)
	s.wantNotFound(t, join(to.Path, "moved.txt"))
	st := s.stat(t, cur.Path)
	if st.ID != cur.ID || st.Version != cur.Version {
		t.Errorf("after a refused Move the file is %+v, want it unchanged: %+v", st, cur)
	}
	m, err := s.s.Move(s.ctx, cur, to, "moved.txt")
	if err != nil {
		t.Fatalf("Move with the current Version: %v", err)
	}
	s.checkMoved(t, m, cur, join(to.Path, "moved.txt"), to)
	m.Version = ""
	back, err := s.s.Move(s.ctx, m, d, "back.txt")
	if err != nil {
		t.Fatalf("Move with an empty Version: %v", err)
	}
	s.checkMoved(t, back, cur, join(d.Path, "back.txt"), d)
	s.checkContent(t, back, content("doc.txt2", 20))
}

// statID returns StatID(id), retried while it does not satisfy ok.
func (s *suite) statID(t *testing.T, is storage.IDStater, id string, ok func(storage.Entry, error) error) {
	t.Helper()
	if err := s.eventually(func() error {
		var (
			e   storage.Entry
			err error
		)
		s.within(t, "StatID", func(ctx context.Context) { e, err = is.StatID(ctx, id) })
		return ok(e, err)
	}); err != nil {
		t.Error(err)
	}
}

// wantAt is a StatID check that the item is file or folder want, now at p
// in parent.
func (s *suite) wantAt(want storage.Entry, p string, parent storage.Entry) func(storage.Entry, error) error {
	return func(e storage.Entry, err error) error {
		switch {
		case err != nil:
			return fmt.Errorf("StatID(%s) of %q: %v", want.ID, p, err)
		case e.ID != want.ID || e.IsDir != want.IsDir || !samePath(s.f.Names, e.Path, p) || e.ParentID != parent.ID:
			return fmt.Errorf("StatID(%s) = %+v, want the item at %q in %s", want.ID, e, p, parent.ID)
		case !e.IsDir && e.Size != want.Size:
			return fmt.Errorf("StatID(%s) reports %d bytes, want %d", want.ID, e.Size, want.Size)
		}
		return nil
	}
}

func wantGone(what string) func(storage.Entry, error) error {
	return func(e storage.Entry, err error) error {
		switch {
		case err == nil:
			return fmt.Errorf("StatID of %s found %+v, want storage.ErrNotFound", what, e)
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("StatID of %s: %v, want an error matching storage.ErrNotFound", what, err)
		}
		return nil
	}
}

func (s *suite) idStater(t *testing.T) (storage.IDStater, bool) {
	t.Helper()
	is, ok := s.s.(storage.IDStater)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.IDStater")
	}
	return is, ok
}

// checkStatIDFollows: StatID finds an item where it is now, after a rename,
// a move, and a move of the folder that holds it.
func checkStatIDFollows(t *testing.T, s *suite) {
	is, ok := s.idStater(t)
	if !ok {
		return
	}
	a := s.workDir(t, "statid from")
	b := s.workDir(t, "statid to")
	f := s.put(t, a, "f.txt", content("f", 15))
	s.statID(t, is, f.ID, s.wantAt(f, f.Path, a))
	r, err := s.s.Move(s.ctx, f, a, "renamed.txt")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.statID(t, is, f.ID, s.wantAt(f, r.Path, a))
	m, err := s.s.Move(s.ctx, r, b, "moved.txt")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.statID(t, is, f.ID, s.wantAt(f, m.Path, b))
	if !s.canNest(t, 4) {
		return
	}
	box, kids := s.folderWithChildren(t, a, "box")
	s.statID(t, is, box.ID, s.wantAt(box, box.Path, a))
	mb, err := s.s.Move(s.ctx, box, b, "box moved")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.statID(t, is, box.ID, s.wantAt(box, mb.Path, b))
	sub := kids["sub"]
	s.statID(t, is, kids["sub/two.txt"].ID, s.wantAt(kids["sub/two.txt"], join(mb.Path, "sub/two.txt"), sub))
}

// checkStatIDDeleted: a deleted item, and one deleted with its folder, are
// not found by ID (even while they are in the recycle bin).
func checkStatIDDeleted(t *testing.T, s *suite) {
	is, ok := s.idStater(t)
	if !ok {
		return
	}
	where := "a deleted item"
	if s.f.RecycleBin {
		where = "an item in the recycle bin"
	}
	d := s.workDir(t, "statid deleted")
	f := s.put(t, d, "gone.txt", content("gone", 4))
	if err := s.s.Delete(s.ctx, f); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.statID(t, is, f.ID, wantGone(where))
	if !s.canNest(t, 3) {
		return
	}
	box, kids := s.folderWithChildren(t, d, "box")
	if err := s.s.Delete(s.ctx, box); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.statID(t, is, box.ID, wantGone(where+" (a folder)"))
	s.statID(t, is, kids["sub/two.txt"].ID, wantGone(where+" (in a deleted folder)"))
}

// checkStatIDOutsideRoot: an item moved out of the Storage's root (by
// other means, Opt.MoveOut) is not found by ID.
func checkStatIDOutsideRoot(t *testing.T, s *suite) {
	is, ok := s.idStater(t)
	if !ok {
		return
	}
	if s.opt.MoveOut == nil {
		logNA(t, "Opt.MoveOut is nil: the Storage cannot be rooted below its service's root, or the test cannot move items out")
		return
	}
	d := s.workDir(t, "statid outside")
	f := s.put(t, d, "away.txt", content("away", 4))
	s.opt.MoveOut(t, s.s, f)
	s.statID(t, is, f.ID, wantGone("an item moved out of the root"))
	s.wantNotFound(t, f.Path)
}

// listUnder collects ListUnder(dir) by path, checking for duplicates.
func (s *suite) listUnder(sl storage.SubtreeLister, dir storage.Entry) (map[string]storage.Entry, error) {
	m := map[string]storage.Entry{}
	ids := map[string]string{}
	for e, err := range sl.ListUnder(s.ctx, dir) {
		if err != nil {
			return m, err
		}
		if _, dup := m[e.Path]; dup {
			return m, fmt.Errorf("ListUnder(%q) yields %q twice", dir.Path, e.Path)
		}
		if p, dup := ids[e.ID]; dup {
			return m, fmt.Errorf("ListUnder(%q) yields ID %s twice (%q and %q)", dir.Path, e.ID, p, e.Path)
		}
		m[e.Path], ids[e.ID] = e, e.Path
	}
	return m, nil
}

// checkListUnderExact: ListUnder yields exactly the subtree, with paths
// relative to the root (not to the folder), nothing beside it (a sibling
// whose name starts with the folder's is the classic mistake).
func checkListUnderExact(t *testing.T, s *suite) {
	sl, ok := s.s.(storage.SubtreeLister)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.SubtreeLister")
		return
	}
	if !s.canNest(t, 3) {
		return
	}
	d := s.workDir(t, "subtree")
	a := s.mkdir(t, d, "a")
	b := s.mkdir(t, a, "b")
	want := map[string]storage.Entry{}
	for _, e := range []storage.Entry{
		s.put(t, a, "x.txt", content("x", 3)),
		b,
		s.put(t, b, "y.txt", content("y", 4)),
		s.mkdir(t, a, "empty"),
	} {
		want[e.Path] = e
	}
	ab := s.mkdir(t, d, "ab")
	s.put(t, ab, "q.txt", content("q", 5))
	s.put(t, d, "a.txt", content("a", 6))
	parents := map[string]string{a.Path: a.ID, b.Path: b.ID}
	err := s.eventually(func() error {
		m, err := s.listUnder(sl, a)
		if err != nil {
			return err
		}
		for p, w := range want {
			e, ok := m[p]
			switch {
			case !ok:
				return fmt.Errorf("ListUnder(%q) lacks %q; it yields %q", a.Path, p, keys(m))
			case e.ID != w.ID || e.IsDir != w.IsDir || e.ParentID != parents[w.Dir()]:
				return fmt.Errorf("ListUnder(%q) yields %+v for %q, want ID %s in %s", a.Path, e, p, w.ID, parents[w.Dir()])
			}
		}
		if len(m) != len(want) {
			return fmt.Errorf("ListUnder(%q) yields %q, want exactly %q", a.Path, keys(m), keys(want))
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func keys(m map[string]storage.Entry) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	return out
}

// checkListUnderMissing: ListUnder of a deleted folder fails with
// storage.ErrNotFound rather than yielding an empty subtree (which a caller
// would take for "nothing was added inside").
func checkListUnderMissing(t *testing.T, s *suite) {
	sl, ok := s.s.(storage.SubtreeLister)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.SubtreeLister")
		return
	}
	gone := s.workDir(t, "subtree gone")
	if err := s.s.Delete(s.ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	err := s.eventually(func() error {
		m, err := s.listUnder(sl, gone)
		switch {
		case err == nil:
			return fmt.Errorf("ListUnder of a deleted folder yields %q and no error, want storage.ErrNotFound", keys(m))
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("ListUnder of a deleted folder: %v, want an error matching storage.ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// checkResumeTorn: ResumeUpload of a source that yields fewer bytes than
// the rest of the file, more, or fails after exactly the rest commits
// nothing.
func checkResumeTorn(t *testing.T, s *suite) {
	ru, ok := s.s.(storage.ResumableUploader)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.ResumableUploader")
		return
	}
	c := s.tornChunk(t)
	if c == 0 {
		logNA(t, "no chunked upload can be forced within Opt.MaxFileSize")
		return
	}
	d := s.workDir(t, "resume torn")
	n := 3*c + c/2
	data := content("resume torn", int(n+c))
	cases := []struct {
		what string
		r    func(off int64) io.Reader
	}{
		{"fewer bytes than the rest", func(off int64) io.Reader { return bytes.NewReader(data[off : n-1]) }},
		{"more bytes than the rest", func(off int64) io.Reader { return bytes.NewReader(data[off:]) }},
		{"an error after exactly the rest", func(off int64) io.Reader { return &failingReader{data: data[off:n], err: errBroken} }},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("big-%d.bin", i)
		var saved []storage.UploadState
		_, err := s.s.Put(s.ctx, d, name, bytes.NewReader(data[:n]), n, storage.PutOptions{OnUploadState: func(st storage.UploadState) error {
			saved = append(saved, st)
			return errStop
		}})
		if err == nil || len(saved) != 1 {
			t.Fatalf("an interrupted Put gave %v after %d upload states, want an error after 1", err, len(saved))
		}
		st := saved[0]
		s.within(t, "ResumeUpload of a torn source", func(ctx context.Context) {
			_, err = ru.ResumeUpload(ctx, st, tc.r(st.Offset), storage.PutOptions{})
		})
		if err == nil {
			t.Errorf("ResumeUpload of %q (%d of %d bytes confirmed) with a reader of %s succeeded", name, st.Offset, n, tc.what)
		}
		s.wantNotFound(t, join(d.Path, name))
	}
}

package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/stretchr/testify/require"
)

// modes are the two ways IDs are kept.
var modes = []struct {
	name string
	opts []Option
}{
	{"xattr", nil},
	{"index", []Option{WithoutXattrs()}},
}

func newStorage(t *testing.T, opts ...Option) (*Storage, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func root(t *testing.T, s *Storage) storage.Entry {
	t.Helper()
	e, err := s.Stat(context.Background(), "")
	require.NoError(t, err)
	return e
}

func put(t *testing.T, s *Storage, parent storage.Entry, name, content string) storage.Entry {
	t.Helper()
	e, err := s.Put(context.Background(), parent, name, strings.NewReader(content), int64(len(content)), storage.PutOptions{})
	require.NoError(t, err)
	return e
}

func mkdir(t *testing.T, s *Storage, parent storage.Entry, name string) storage.Entry {
	t.Helper()
	e, err := s.MakeDir(context.Background(), parent, name)
	require.NoError(t, err)
	return e
}

func read(t *testing.T, s *Storage, e storage.Entry) string {
	t.Helper()
	rc, err := s.Open(context.Background(), e)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

func list(t *testing.T, s *Storage) map[string]storage.Entry {
	t.Helper()
	m := map[string]storage.Entry{}
	ids := map[string]string{}
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		_, dup := m[e.Path]
		require.False(t, dup, "listed twice: %s", e.Path)
		if other, ok := ids[e.ID]; ok {
			t.Fatalf("ID %s shared by %s and %s", e.ID, other, e.Path)
		}
		ids[e.ID] = e.Path
		m[e.Path] = e
	}
	return m
}

// rawNames lists a real directory, hidden files included.
func rawNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(d.Name(), TempPrefix), "temporary file left: %s", p)
		return nil
	})
	require.NoError(t, err)
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	tests := []struct {
		name string
		root string
		opts []Option
		kind error
	}{
		{"missing", filepath.Join(dir, "nope"), nil, storage.ErrNotFound},
		{"file", file, nil, storage.ErrNotDir},
		{"empty", "", nil, storage.ErrInvalidName},
		{"nul", "a\x00b", nil, storage.ErrInvalidName},
		{"bad trash name", dir, []Option{WithTrashDir("a/b")}, storage.ErrInvalidName},
		{"reserved trash name", dir, []Option{WithTrashDir(MetaDir)}, storage.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.root, tt.opts...)
			require.Nil(t, s)
			require.ErrorIs(t, err, tt.kind)
		})
	}
	s, err := New(dir, nil, WithTrashDir(".bin"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

func TestBasics(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStorage(t, m.opts...)
			r := root(t, s)
			require.True(t, r.IsRoot())
			require.NotEmpty(t, r.ID)
			d := mkdir(t, s, r, "docs")
			require.Equal(t, r.ID, d.ParentID)
			f := put(t, s, d, "a.txt", "hello")
			require.Equal(t, "docs/a.txt", f.Path)
			require.Equal(t, d.ID, f.ParentID)
			require.EqualValues(t, 5, f.Size)
			sum := sha256.Sum256([]byte("hello"))
			require.Equal(t, hex.EncodeToString(sum[:]), f.Hashes[storage.HashSHA256])
			require.Equal(t, "hello", read(t, s, f))

			st, err := s.Stat(ctx, "docs/a.txt")
			require.NoError(t, err)
			require.Equal(t, f, st)
			all := list(t, s)
			require.Len(t, all, 2)
			require.Equal(t, f, all["docs/a.txt"])
			require.Equal(t, d.ID, all["docs"].ID)

			_, err = s.Open(ctx, d)
			require.ErrorIs(t, err, storage.ErrIsDir)
			_, err = s.Stat(ctx, "docs/missing")
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = s.Stat(ctx, "docs/a.txt/below")
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = s.Put(ctx, f, "x", strings.NewReader(""), 0, storage.PutOptions{})
			require.ErrorIs(t, err, storage.ErrNotDir)

			again, err := s.MakeDir(ctx, r, "docs")
			require.ErrorIs(t, err, storage.ErrAlreadyExists)
			require.Equal(t, d.ID, again.ID)
			_, err = s.MakeDir(ctx, d, "a.txt")
			require.ErrorIs(t, err, storage.ErrAlreadyExists)
			_, err = s.Put(ctx, r, "docs", strings.NewReader(""), 0, storage.PutOptions{})
			require.ErrorIs(t, err, storage.ErrAlreadyExists)

			rc, err := s.OpenAt(ctx, f, 2)
			require.NoError(t, err)
			b, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			require.Equal(t, "llo", string(b))
			_, err = s.OpenAt(ctx, f, -1)
			require.Error(t, err)

			c, err := s.Copy(ctx, f, r, "copy.txt")
			require.NoError(t, err)
			require.NotEqual(t, f.ID, c.ID)
			require.Equal(t, "hello", read(t, s, c))
			require.True(t, c.ModTime.Equal(f.ModTime))
			_, err = s.Copy(ctx, f, r, "copy.txt")
			require.ErrorIs(t, err, storage.ErrAlreadyExists)
			_, err = s.Copy(ctx, d, r, "dcopy")
			require.ErrorIs(t, err, storage.ErrIsDir)

			require.Equal(t, []storage.HashKind{storage.HashSHA256}, s.Features().Hashes)
			require.True(t, s.Features().RecycleBin)
			require.False(t, s.Features().Names.CaseInsensitive)
		})
	}
}

func TestPutOptions(t *testing.T) {
	ctx := context.Background()
	s, _ := newStorage(t)
	r := root(t, s)
	f := put(t, s, r, "f.txt", "one")

	_, err := s.Put(ctx, r, "f.txt", strings.NewReader("x"), 1, storage.PutOptions{NoOverwrite: true})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.Put(ctx, r, "f.txt", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: "stale"})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
	_, err = s.Put(ctx, r, "new.txt", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: f.Version})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
	require.Equal(t, "one", read(t, s, f))

	mt := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	f2, err := s.Put(ctx, r, "f.txt", strings.NewReader("two!"), -1, storage.PutOptions{ExpectedVersion: f.Version, ModTime: mt})
	require.NoError(t, err)
	require.Equal(t, f.ID, f2.ID)
	require.NotEqual(t, f.Version, f2.Version)
	require.True(t, f2.ModTime.Equal(mt), "%v", f2.ModTime)
	require.Equal(t, "two!", read(t, s, f2))

	_, err = s.Put(ctx, r, "f.txt", strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: f.Version})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)

	n, err := s.Put(ctx, r, "n.txt", strings.NewReader("new"), 3, storage.PutOptions{NoOverwrite: true})
	require.NoError(t, err)
	require.Equal(t, "new", read(t, s, n))

	_, err = s.Put(ctx, r, "bad", strings.NewReader(""), -2, storage.PutOptions{})
	require.Error(t, err)
	_, err = s.Put(ctx, r, "bad", nil, 0, storage.PutOptions{})
	require.Error(t, err)
}

func TestPutAtomic(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"reader fails", io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom)), -1},
		{"reader fails with size", io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom)), 100},
		{"short", strings.NewReader("short"), 100},
		{"long", strings.NewReader("much longer than declared"), 4},
		{"fails after declared bytes", io.MultiReader(strings.NewReader("abcd"), iotest.ErrReader(boom)), 4},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				s, dir := newStorage(t, m.opts...)
				r := root(t, s)
				d := mkdir(t, s, r, "d")
				old := put(t, s, d, "f.txt", "old content")
				_, err := s.Put(ctx, d, "f.txt", tt.r, tt.size, storage.PutOptions{})
				require.Error(t, err)
				_, err = s.Put(ctx, d, "g.txt", io.MultiReader(strings.NewReader("x"), iotest.ErrReader(boom)), -1, storage.PutOptions{})
				require.Error(t, err)
				cur, err := s.Stat(ctx, "d/f.txt")
				require.NoError(t, err)
				require.Equal(t, old.Version, cur.Version)
				require.Equal(t, "old content", read(t, s, cur))
				_, err = s.Stat(ctx, "d/g.txt")
				require.ErrorIs(t, err, storage.ErrNotFound)
				noTemp(t, dir)
				require.Len(t, list(t, s), 2)
			})
		}
	}
}

func TestContextCancelled(t *testing.T) {
	s, dir := newStorage(t)
	r := root(t, s)
	f := put(t, s, r, "f.txt", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Stat(ctx, "f.txt")
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Open(ctx, f)
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Put(ctx, r, "g.txt", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, context.Canceled)
	for _, err := range s.List(ctx) {
		require.ErrorIs(t, err, context.Canceled)
	}
	noTemp(t, dir)
}

func TestEscapes(t *testing.T) {
	ctx := context.Background()
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	s, dir := newStorage(t)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "in"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "f"), []byte("f"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "abs")))
	rel, err := filepath.Rel(dir, outside)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(rel, filepath.Join(dir, "rel")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "in", "secret")))
	require.NoError(t, os.Symlink("loop", filepath.Join(dir, "loop")))
	require.NoError(t, os.Symlink("in", filepath.Join(dir, "inside")))

	invalid := []string{"..", "../x", "in/../../x", "/etc/passwd", "a\x00b", "a//b", "./in", "in/", "in/."}
	for _, p := range invalid {
		t.Run("invalid "+p, func(t *testing.T) {
			_, err := s.Stat(ctx, p)
			require.ErrorIs(t, err, storage.ErrInvalidName)
			_, err = s.Open(ctx, storage.Entry{Path: p})
			require.ErrorIs(t, err, storage.ErrInvalidName)
			_, err = s.Put(ctx, storage.Entry{Path: p, IsDir: true}, "x", strings.NewReader(""), 0, storage.PutOptions{})
			require.ErrorIs(t, err, storage.ErrInvalidName)
		})
	}
	denied := []string{"abs", "abs/secret", "rel/secret", "in/secret", "loop", "loop/x", "inside"}
	for _, p := range denied {
		t.Run("denied "+p, func(t *testing.T) {
			_, err := s.Stat(ctx, p)
			require.True(t, errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrPermissionDenied), "%v", err)
			_, err = s.Open(ctx, storage.Entry{Path: p})
			require.True(t, errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrPermissionDenied), "%v", err)
		})
	}
	_, err = s.Stat(ctx, "abs/secret")
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	for _, n := range []string{"../x", "a/b", "..", ".", ""} {
		_, err = s.Put(ctx, root(t, s), n, strings.NewReader(""), 0, storage.PutOptions{})
		require.ErrorIs(t, err, storage.ErrInvalidName, n)
	}

	all := list(t, s)
	require.Len(t, all, 2)
	require.Contains(t, all, "in")
	require.Contains(t, all, "in/f")
	b, err := os.ReadFile(filepath.Join(outside, "secret"))
	require.NoError(t, err)
	require.Equal(t, "secret", string(b))
	require.Equal(t, []string{"secret"}, rawNames(t, outside))
}

func TestIDStability(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			r := root(t, s)
			a := mkdir(t, s, r, "a")
			b := mkdir(t, s, r, "b")
			f := put(t, s, a, "f.txt", "v1")

			moved, err := s.Move(ctx, f, b, "g.txt")
			require.NoError(t, err)
			require.Equal(t, f.ID, moved.ID)
			require.Equal(t, b.ID, moved.ParentID)
			require.Equal(t, "b/g.txt", moved.Path)

			upd := put(t, s, b, "g.txt", "version two")
			require.Equal(t, f.ID, upd.ID)

			bm, err := s.Move(ctx, b, a, "b2")
			require.NoError(t, err)
			require.Equal(t, b.ID, bm.ID)
			st, err := s.Stat(ctx, "a/b2/g.txt")
			require.NoError(t, err)
			require.Equal(t, f.ID, st.ID)
			require.Equal(t, b.ID, st.ParentID)

			// A stale entry is found by its ID.
			require.Equal(t, "version two", read(t, s, upd))
			h, err := s.Hash(ctx, upd, storage.HashSHA256)
			require.NoError(t, err)
			require.Len(t, h, 64)

			// Reopening keeps every ID.
			before := list(t, s)
			s2, err := New(dir, m.opts...)
			require.NoError(t, err)
			defer s2.Close()
			after := list(t, s2)
			require.Equal(t, len(before), len(after))
			for p, e := range before {
				require.Equal(t, e.ID, after[p].ID, p)
			}
			require.Equal(t, r.ID, root(t, s2).ID)

			// An item that replaced the stale path is not mistaken for it.
			other := put(t, s, r, "x.txt", "other")
			require.NoError(t, os.Rename(filepath.Join(dir, "a/b2/g.txt"), filepath.Join(dir, "y.txt")))
			require.NoError(t, os.Rename(filepath.Join(dir, "x.txt"), filepath.Join(dir, "a/b2/g.txt")))
			require.NoError(t, s.Delete(ctx, st))
			got, err := s.Stat(ctx, "a/b2/g.txt")
			require.NoError(t, err)
			require.Equal(t, other.ID, got.ID)
			_, err = s.Stat(ctx, "y.txt")
			require.ErrorIs(t, err, storage.ErrNotFound)
			require.ErrorIs(t, s.Delete(ctx, st), storage.ErrNotFound)
		})
	}
}

func TestXattrCopyIsNotIdentity(t *testing.T) {
	s, dir := newStorage(t)
	if !s.xattr {
		t.Fatal("the test directory's file system must keep extended attributes")
	}
	r := root(t, s)
	f := put(t, s, r, "f.txt", "x")
	// What cp -a does: same content, same attribute, another inode.
	src, err := os.Open(filepath.Join(dir, "f.txt"))
	require.NoError(t, err)
	v, err := getXattr(src)
	src.Close()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "copy.txt"), []byte("x"), 0o644))
	dst, err := os.OpenFile(filepath.Join(dir, "copy.txt"), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, setXattr(dst, v))
	dst.Close()
	all := list(t, s)
	require.Equal(t, f.ID, all["f.txt"].ID)
	require.NotEqual(t, f.ID, all["copy.txt"].ID)
}

func TestHardLinks(t *testing.T) {
	s, dir := newStorage(t)
	put(t, s, root(t, s), "f.txt", "x")
	require.NoError(t, os.Link(filepath.Join(dir, "f.txt"), filepath.Join(dir, "g.txt")))
	all := list(t, s) // checks that IDs are distinct
	require.Len(t, all, 2)
	g, err := s.Open(context.Background(), all["g.txt"])
	require.NoError(t, err)
	g.Close()
}

func TestExternalEdits(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			r := root(t, s)
			f := put(t, s, r, "f.txt", "one")
			require.NotEmpty(t, f.Hashes[storage.HashSHA256])

			// A person edits the file in place.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("edited by hand"), 0o644))
			st, err := s.Stat(ctx, "f.txt")
			require.NoError(t, err)
			require.Equal(t, f.ID, st.ID)
			require.NotEqual(t, f.Version, st.Version)
			require.Empty(t, st.Hashes, "a stale hash must not be reported")
			h, err := s.Hash(ctx, st, storage.HashSHA256)
			require.NoError(t, err)
			sum := sha256.Sum256([]byte("edited by hand"))
			require.Equal(t, hex.EncodeToString(sum[:]), h)
			st, err = s.Stat(ctx, "f.txt")
			require.NoError(t, err)
			require.Equal(t, h, st.Hashes[storage.HashSHA256])

			// Same size, another modification time.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("EDITED BY HAND"), 0o644))
			require.NoError(t, os.Chtimes(filepath.Join(dir, "f.txt"), time.Time{}, st.ModTime.Add(-time.Hour)))
			st2, err := s.Stat(ctx, "f.txt")
			require.NoError(t, err)
			require.NotEqual(t, st.Version, st2.Version)
			require.Empty(t, st2.Hashes)
			h2, err := s.Hash(ctx, st2, storage.HashSHA256)
			require.NoError(t, err)
			require.NotEqual(t, h, h2)

			// A person creates files and folders.
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "p/q"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "p/q/new.txt"), []byte("n"), 0o644))
			all := list(t, s)
			require.Contains(t, all, "p/q/new.txt")
			require.Equal(t, all["p/q"].ID, all["p/q/new.txt"].ParentID)
			require.Equal(t, all["p"].ID, all["p/q"].ParentID)
			require.Equal(t, r.ID, all["p"].ParentID)
			n := all["p/q/new.txt"]
			require.Equal(t, "n", read(t, s, n))
			upd := put(t, s, all["p/q"], "new.txt", "updated")
			require.Equal(t, n.ID, upd.ID)

			_, err = s.Hash(ctx, n, storage.HashMD5)
			require.ErrorIs(t, err, storage.ErrUnsupported)
		})
	}
}

func TestMoveErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStorage(t)
	r := root(t, s)
	a := mkdir(t, s, r, "a")
	sub := mkdir(t, s, a, "sub")
	f := put(t, s, r, "f.txt", "f")
	g := put(t, s, r, "g.txt", "g")
	tests := []struct {
		name   string
		e, np  storage.Entry
		newNam string
		kind   error
	}{
		{"file exists", f, r, "g.txt", storage.ErrAlreadyExists},
		{"folder exists", f, r, "a", storage.ErrAlreadyExists},
		{"folder onto file", a, r, "g.txt", storage.ErrAlreadyExists},
		{"missing parent", f, storage.Entry{Path: "nope", IsDir: true}, "x", storage.ErrNotFound},
		{"parent is file", f, g, "x", storage.ErrNotDir},
		{"into itself", a, a, "x", storage.ErrUnsupported},
		{"below itself", a, sub, "x", storage.ErrUnsupported},
		{"root", r, a, "x", storage.ErrUnsupported},
		{"invalid name", f, r, "a/b", storage.ErrInvalidName},
		{"reserved name", f, r, DefaultTrashDir, storage.ErrInvalidName},
		{"missing item", storage.Entry{Path: "gone.txt"}, r, "x", storage.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Move(ctx, tt.e, tt.np, tt.newNam)
			require.ErrorIs(t, err, tt.kind)
		})
	}
	require.Equal(t, "g", read(t, s, g))
	require.Equal(t, "f", read(t, s, f))
	require.ErrorIs(t, s.Delete(ctx, r), storage.ErrPermissionDenied)
	same, err := s.Move(ctx, f, r, "f.txt")
	require.NoError(t, err)
	require.Equal(t, f.ID, same.ID)
}

func TestNames(t *testing.T) {
	tests := []struct {
		name    string
		windows bool
		ok      bool
	}{
		{strings.Repeat("a", 255), false, true},
		{strings.Repeat("a", 256), false, false},
		{strings.Repeat("é", 127), false, true},
		{strings.Repeat("é", 128), false, false},
		{`a:b<c>|?*"\`, false, true},
		{"CON.txt", false, true},
		{"trailing. ", false, true},
		{"tab\there", false, true},
		{DefaultTrashDir, false, false},
		{MetaDir, false, false},
		{TempPrefix + "x", false, false},
		{"a:b", true, false},
		{`a\b`, true, false},
		{"con", true, false},
		{"LPT1.log", true, false},
		{"x.", true, false},
		{"x ", true, false},
		{"tab\there", true, false},
		{"ok name.txt", true, true},
		{strings.Repeat("é", 128), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.windows {
				opts = append(opts, WithWindowsNames())
			}
			s, _ := newStorage(t, opts...)
			r := root(t, s)
			_, perr := s.Put(context.Background(), r, tt.name, strings.NewReader("x"), 1, storage.PutOptions{})
			_, derr := s.MakeDir(context.Background(), r, tt.name+"d")
			if tt.ok {
				require.NoError(t, perr)
				return
			}
			require.ErrorIs(t, perr, storage.ErrInvalidName)
			var ine *storage.InvalidNameError
			require.ErrorAs(t, perr, &ine)
			require.NotEmpty(t, ine.Reason)
			if !strings.HasPrefix(tt.name, TempPrefix) && tt.name != DefaultTrashDir && tt.name != MetaDir &&
				!strings.HasSuffix(tt.name, ".") && !strings.HasSuffix(tt.name, " ") && len(tt.name) > 200 {
				require.ErrorIs(t, derr, storage.ErrInvalidName)
			}
		})
	}
}

func TestWindowsCaseInsensitive(t *testing.T) {
	ctx := context.Background()
	s, _ := newStorage(t, WithWindowsNames())
	require.True(t, s.Features().Names.CaseInsensitive)
	r := root(t, s)
	f := put(t, s, r, "Doc.txt", "one")
	_, err := s.Put(ctx, r, "DOC.TXT", strings.NewReader("x"), 1, storage.PutOptions{NoOverwrite: true})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	upd, err := s.Put(ctx, r, "doc.TXT", strings.NewReader("two"), 3, storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "Doc.txt", upd.Path)
	require.Equal(t, f.ID, upd.ID)
	st, err := s.Stat(ctx, "DOC.txt")
	require.NoError(t, err)
	require.Equal(t, "Doc.txt", st.Path)

	d := mkdir(t, s, r, "Folder")
	again, err := s.MakeDir(ctx, r, "FOLDER")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	require.Equal(t, d.ID, again.ID)
	_, err = s.Move(ctx, upd, r, "folder")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	in := put(t, s, d, "In.txt", "in")
	st, err = s.Stat(ctx, "folder/in.TXT")
	require.NoError(t, err)
	require.Equal(t, in.ID, st.ID)

	renamed, err := s.Move(ctx, upd, r, "DOC.txt")
	require.NoError(t, err)
	require.Equal(t, f.ID, renamed.ID)
	require.Equal(t, "DOC.txt", renamed.Path)
	all := list(t, s)
	require.Len(t, all, 3)
	require.Contains(t, all, "DOC.txt")
}

func TestRecycleBin(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			r := root(t, s)
			d := mkdir(t, s, r, "d")
			f := put(t, s, d, "f.txt", "keep me")
			sub := mkdir(t, s, d, "sub")
			g := put(t, s, sub, "g.txt", "g")

			require.NoError(t, s.Delete(ctx, f))
			require.ErrorIs(t, s.Delete(ctx, f), storage.ErrNotFound)
			_, err := s.Stat(ctx, "d/f.txt")
			require.ErrorIs(t, err, storage.ErrNotFound)
			require.NoError(t, s.Delete(ctx, sub))
			all := list(t, s)
			require.Len(t, all, 1)
			require.Contains(t, rawNames(t, dir), DefaultTrashDir)

			items, err := s.Trash(ctx)
			require.NoError(t, err)
			require.Len(t, items, 2)
			require.Equal(t, "d/f.txt", items[0].Path)
			require.Equal(t, f.ID, items[0].ItemID)
			require.False(t, items[0].IsDir)
			require.Equal(t, "d/sub", items[1].Path)
			require.True(t, items[1].IsDir)

			// Something new took the path: no silent overwrite.
			put(t, s, d, "f.txt", "newer")
			_, err = s.Restore(ctx, items[0].ID)
			require.ErrorIs(t, err, storage.ErrAlreadyExists)
			nf, err := s.Stat(ctx, "d/f.txt")
			require.NoError(t, err)
			require.NoError(t, s.Delete(ctx, nf))

			back, err := s.Restore(ctx, items[0].ID)
			require.NoError(t, err)
			require.Equal(t, f.ID, back.ID)
			require.Equal(t, "keep me", read(t, s, back))
			sb, err := s.Restore(ctx, items[1].ID)
			require.NoError(t, err)
			require.Equal(t, sub.ID, sb.ID)
			gb, err := s.Stat(ctx, "d/sub/g.txt")
			require.NoError(t, err)
			require.Equal(t, g.ID, gb.ID)
			_, err = s.Restore(ctx, items[1].ID)
			require.ErrorIs(t, err, storage.ErrNotFound)
			_, err = s.Restore(ctx, "../../etc")
			require.ErrorIs(t, err, storage.ErrNotFound)

			items, err = s.Trash(ctx)
			require.NoError(t, err)
			require.Len(t, items, 1) // the newer d/f.txt
			require.NoError(t, s.EmptyTrash(ctx, time.Time{}))
			items, err = s.Trash(ctx)
			require.NoError(t, err)
			require.Empty(t, items)
			// Restoring the whole folder after its parent went away.
			require.NoError(t, s.Delete(ctx, sb))
			require.NoError(t, s.Delete(ctx, d))
			items, err = s.Trash(ctx)
			require.NoError(t, err)
			require.Len(t, items, 2)
			back, err = s.Restore(ctx, items[0].ID)
			require.NoError(t, err)
			require.Equal(t, "d/sub", back.Path)
			require.Equal(t, sub.ID, back.ID)
		})
	}
}

func TestNoTrash(t *testing.T) {
	ctx := context.Background()
	s, dir := newStorage(t, WithoutTrash())
	require.False(t, s.Features().RecycleBin)
	r := root(t, s)
	d := mkdir(t, s, r, "d")
	put(t, s, d, "f.txt", "x")
	require.NoError(t, s.Delete(ctx, d))
	require.Empty(t, rawNames(t, dir))
	_, err := s.Trash(ctx)
	require.ErrorIs(t, err, storage.ErrUnsupported)
	_, err = s.Restore(ctx, "x")
	require.ErrorIs(t, err, storage.ErrUnsupported)
}

func TestHiddenItems(t *testing.T) {
	s, dir := newStorage(t, WithTrashDir(".bin"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, TempPrefix+"x"), []byte("t"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".bin"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, MetaDir), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", TempPrefix+"y"), []byte("t"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d", ".bin"), 0o755)) // only the top-level one is the bin
	all := list(t, s)
	require.Len(t, all, 2)
	require.Contains(t, all, "d/.bin")
	require.True(t, s.ignored(".bin/x"))
	require.True(t, s.ignored("d/"+TempPrefix+"y"))
	require.False(t, s.ignored("d/.bin"))
}

func TestRootRemoved(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	s, err := New(dir)
	require.NoError(t, err)
	defer s.Close()
	r := root(t, s)
	require.NoError(t, os.Rename(dir, filepath.Join(parent, "moved")))
	moved, err := s.Stat(context.Background(), "")
	require.NoError(t, err)
	require.Equal(t, r.ID, moved.ID)
	require.NoError(t, os.RemoveAll(filepath.Join(parent, "moved")))
	_, err = s.Stat(context.Background(), "")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestWatch(t *testing.T) {
	s, dir := newStorage(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "b", "old.txt"), []byte("x"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx)
	require.NoError(t, err)
	wait := func(what string) {
		t.Helper()
		select {
		case _, ok := <-ch:
			require.True(t, ok)
		case <-time.After(10 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	// Each step causes exactly one kind of event, so no earlier signal can
	// satisfy a later wait.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "a", "b", "new"), 0o755))
	wait("a folder was created in a nested folder")
	require.NoError(t, os.Remove(filepath.Join(dir, "a", "b", "old.txt")))
	wait("a file was deleted in a nested folder")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "b", "new", "f.txt"), []byte("x"), 0o644))
	wait("a file was created in a new folder")
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after cancel")
		}
	}
}

func TestCopyExact(t *testing.T) {
	tests := []struct {
		in   string
		size int64
		ok   bool
	}{
		{"abc", 3, true}, {"abc", -1, true}, {"", 0, true}, {"", -1, true},
		{"ab", 3, false}, {"abcd", 3, false},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := copyExact(&buf, strings.NewReader(tt.in), tt.size)
		if tt.ok {
			require.NoError(t, err)
			require.Equal(t, tt.in, buf.String())
		} else {
			require.Error(t, err)
		}
	}
}

func TestReusedInodeNumber(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			// A file made by a person has an inode-based ID; an update
			// carries it onto the new inode.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "ext.txt"), []byte("by hand"), 0o644))
			ext, err := s.Stat(ctx, "ext.txt")
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(ext.ID, "i"), ext.ID)
			upd := put(t, s, root(t, s), "ext.txt", "updated")
			require.Equal(t, ext.ID, upd.ID)
			require.True(t, s.carried[ext.ID])

			// A new item that gets the old inode number must not take the
			// ID: pretend the next file reuses it.
			require.NoError(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("n"), 0o644))
			n, err := s.Stat(ctx, "new.txt")
			require.NoError(t, err)
			require.NoError(t, s.updateIndex(func(_ map[string]string, c map[string]bool) bool {
				c[n.ID] = true
				return true
			}))
			n2, err := s.Stat(ctx, "new.txt")
			require.NoError(t, err)
			require.Equal(t, n.ID+"r", n2.ID)
			all := list(t, s)
			require.Equal(t, n2.ID, all["new.txt"].ID)
			require.Equal(t, ext.ID, all["ext.txt"].ID)

			// The carried IDs survive a restart.
			s2, err := New(dir, m.opts...)
			require.NoError(t, err)
			defer s2.Close()
			all2 := list(t, s2)
			require.Equal(t, n2.ID, all2["new.txt"].ID)
			require.Equal(t, ext.ID, all2["ext.txt"].ID)
		})
	}
}

// Put in a subfolder sets the modification time it is given on the new
// file (through the descriptor on Linux, before the content's sync) and
// returns the entry Stat finds there afterwards.
func TestPutModTimeInSubfolder(t *testing.T) {
	ctx := context.Background()
	s, dir := newStorage(t)
	d, err := s.MakeDir(ctx, root(t, s), "sub")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		mt   time.Time
	}{
		{"none", time.Time{}},
		{"recent", time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)},
		{"before 1970", time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now().Add(-time.Second)
			e, err := s.Put(ctx, d, tc.name+".txt", strings.NewReader("content"), 7, storage.PutOptions{NoOverwrite: true, ModTime: tc.mt})
			require.NoError(t, err)
			fi, err := os.Stat(filepath.Join(dir, "sub", tc.name+".txt"))
			require.NoError(t, err)
			if tc.mt.IsZero() {
				require.True(t, fi.ModTime().After(before), "%v", fi.ModTime())
			} else {
				require.True(t, fi.ModTime().Equal(tc.mt), "%v", fi.ModTime())
				require.True(t, e.ModTime.Equal(tc.mt), "%v", e.ModTime)
			}
			st, err := s.Stat(ctx, "sub/"+tc.name+".txt")
			require.NoError(t, err)
			require.Equal(t, e.ID, st.ID)
			require.Equal(t, e.Version, st.Version)
			require.Equal(t, "sub/"+tc.name+".txt", e.Path)
			require.Equal(t, d.ID, e.ParentID)
		})
	}
}

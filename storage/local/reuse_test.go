//go:build linux

package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/stretchr/testify/require"
)

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

// reuseInode deletes items and makes new ones until a new one gets a
// freed inode number. File systems such as ext4 hand a freed inode number
// out again at once, but not always to the next folder (folders are spread
// over the disk) and another program may take it first: so each round
// frees several (victims makes them and returns them by inode number; it
// is called with the round's number) and makes a bounded number of new
// items with mk, in rounds. It returns the new item's name and the freed
// inode number it got.
func reuseInode(t *testing.T, dir string, victims func(round int) map[uint64]string, mk func(p string) error) (string, uint64) {
	t.Helper()
	const rounds, tries = 20, 300
	for round := range rounds {
		freed := victims(round)
		for _, rel := range freed {
			require.NoError(t, os.Remove(filepath.Join(dir, rel)))
		}
		for i := range tries {
			name := fmt.Sprintf("new %d-%d", round, i)
			require.NoError(t, mk(filepath.Join(dir, name)))
			if ino := inodeOf(t, filepath.Join(dir, name)); freed[ino] != "" {
				return name, ino
			}
		}
	}
	t.Fatalf("no new item reused a freed inode number in %d rounds of %d: this test needs a file system that reuses inode numbers (ext4, XFS)", rounds, tries)
	return "", 0
}

func mkFile(p string) error { return os.WriteFile(p, []byte("new content"), 0o644) }
func mkDir(p string) error  { return os.Mkdir(p, 0o755) }

// TestReusedInodeGetsNewID: a file deleted by a person and a new file or
// folder that the file system puts on the freed inode number are two
// items, never one renamed (issue 9.14).
func TestReusedInodeGetsNewID(t *testing.T) {
	for _, m := range modes {
		for _, kind := range []struct {
			name string
			mk   func(string) error
		}{{"file", mkFile}, {"folder", mkDir}} {
			for _, madeBy := range []string{"person", "storage"} {
				t.Run(m.name+"/"+kind.name+"/"+madeBy, func(t *testing.T) {
					ctx := context.Background()
					s, dir := newStorage(t, m.opts...)
					byIno := map[uint64]storage.Entry{}
					name, ino := reuseInode(t, dir, func(round int) map[uint64]string {
						freed := map[uint64]string{}
						for i := range 8 {
							vn := fmt.Sprintf("old %d-%d.txt", round, i)
							var e storage.Entry
							if madeBy == "person" {
								require.NoError(t, os.WriteFile(filepath.Join(dir, vn), []byte("old"), 0o644))
								var err error
								e, err = s.Stat(ctx, vn)
								require.NoError(t, err)
							} else {
								e = put(t, s, root(t, s), vn, "old")
							}
							ino := inodeOf(t, filepath.Join(dir, vn))
							byIno[ino], freed[ino] = e, vn
						}
						require.Contains(t, list(t, s), fmt.Sprintf("old %d-0.txt", round)) // the index (if any) has seen them
						return freed
					}, kind.mk)
					old := byIno[ino]

					n, err := s.Stat(ctx, name)
					require.NoError(t, err)
					require.NotEqual(t, old.ID, n.ID, "the new item on the reused inode took the deleted file's ID")
					_, err = s.StatID(ctx, old.ID)
					require.ErrorIs(t, err, storage.ErrNotFound)
					_, err = storage.StatCurrent(ctx, s, old)
					require.ErrorIs(t, err, storage.ErrNotFound)
					for _, e := range list(t, s) {
						require.NotEqual(t, old.ID, e.ID, "listed %q with the deleted file's ID", e.Path)
					}
					// A stale entry of the deleted file finds nothing.
					err = s.Delete(ctx, storage.Entry{ID: old.ID, Path: name})
					require.ErrorIs(t, err, storage.ErrNotFound)
					_, err = s.Stat(ctx, name)
					require.NoError(t, err, "the new item must survive a delete of the old one")

					// After a restart, too.
					s2, err := New(dir, m.opts...)
					require.NoError(t, err)
					defer s2.Close()
					n2, err := s2.Stat(ctx, name)
					require.NoError(t, err)
					require.Equal(t, n.ID, n2.ID)
				})
			}
		}
	}
}

// TestIdentityKeyKind: a folder never has a file's identity, even where
// the file system keeps no birth times.
func TestIdentityKeyKind(t *testing.T) {
	s, dir := newStorage(t, WithoutXattrs())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	f, err := os.Lstat(filepath.Join(dir, "f"))
	require.NoError(t, err)
	d, err := os.Lstat(filepath.Join(dir, "d"))
	require.NoError(t, err)
	fk, dk := s.identityKey(withStamp(f, "")), s.identityKey(withStamp(d, ""))
	require.False(t, strings.HasSuffix(fk, "-d"), fk)
	require.True(t, strings.HasSuffix(dk, "-d"), dk)
	if s.stampAt("f") == "" {
		t.Log("this file system keeps no birth times: identities are inode number and kind")
	}
}

// TestVersionKeptByRename: renaming, moving or changing the permissions
// of a file keeps its Version (a rename must not look like an edit, which
// would send every byte again); an edit changes it.
func TestVersionKeptByRename(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			r := root(t, s)
			a := mkdir(t, s, r, "a")
			f := put(t, s, r, "f.txt", "content")
			mv, err := s.Move(ctx, f, a, "g.txt")
			require.NoError(t, err)
			require.Equal(t, f.Version, mv.Version)
			st, err := s.Stat(ctx, "a/g.txt")
			require.NoError(t, err)
			require.Equal(t, f.Version, st.Version)
			require.NoError(t, os.Rename(filepath.Join(dir, "a/g.txt"), filepath.Join(dir, "h.txt")))
			require.NoError(t, os.Chmod(filepath.Join(dir, "h.txt"), 0o600))
			st, err = s.Stat(ctx, "h.txt")
			require.NoError(t, err)
			require.Equal(t, f.Version, st.Version)
			require.Equal(t, f.ID, st.ID)
			require.Equal(t, f.Hashes, st.Hashes, "the cached hash survives a rename")

			upd := put(t, s, r, "h.txt", "content 2")
			require.NotEqual(t, f.Version, upd.Version)
			// A Put with the same size and modification time writes a new
			// inode: the Version still changes.
			e1 := put(t, s, r, "same.txt", "aaaa")
			e2, err := s.Put(ctx, r, "same.txt", strings.NewReader("bbbb"), 4, storage.PutOptions{ModTime: e1.ModTime})
			require.NoError(t, err)
			require.NotEqual(t, e1.Version, e2.Version)
		})
	}
}

package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// listIDs lists s and returns the ID of every path.
func listIDs(t *testing.T, s *Storage) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		ids[e.Path] = e.ID
	}
	return ids
}

// newAttrStorage is newStorage with its root entry, skipping the test
// where the file system keeps no extended attributes.
func newAttrStorage(t *testing.T) (*Storage, string, storage.Entry) {
	t.Helper()
	s, dir := newStorage(t)
	if !s.xattr {
		t.Skip("this file system keeps no extended attributes: IDs come from the inode index instead")
	}
	root, err := s.Stat(context.Background(), "")
	require.NoError(t, err)
	return s, dir, root
}

// putNames writes a file named after its content for each name into d.
func putNames(t *testing.T, s *Storage, d storage.Entry, names ...string) {
	t.Helper()
	for _, name := range names {
		_, err := s.Put(context.Background(), d, name, strings.NewReader(name), int64(len(name)), storage.PutOptions{})
		require.NoError(t, err)
	}
}

// A complete listing keeps the ID attributes it read in MetaDir, and a new
// Storage on the same root lists the items it knows from there without
// reading their attributes, with the same IDs; a new item, or one a person
// replaced (a new inode), is read. The file holds only items that still
// exist, is rewritten only when that changes, and a damaged file costs
// only the reads.
func TestListRemembersAttributesAcrossProcesses(t *testing.T) {
	s, dir, root := newAttrStorage(t)
	ctx := context.Background()
	d, err := s.MakeDir(ctx, root, "docs")
	require.NoError(t, err)
	putNames(t, s, d, "a.txt", "b.txt", "c.txt")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "by hand.txt"), []byte("no attribute"), 0o644))
	first := listIDs(t, s)
	require.Len(t, first, 5)
	hand, _, err := s.identify("by hand.txt")
	require.NoError(t, err)
	if stampOf(hand) == "" {
		t.Skip("this file system keeps no birth times: attributes are read on every listing")
	}
	b, err := os.ReadFile(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	require.Equal(t, 5, bytes.Count(b, []byte{'\n'}), "one line per item:\n%s", b)

	st, err := os.Stat(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	saved := st.ModTime()
	time.Sleep(10 * time.Millisecond) // a rewrite would show in the modification time
	again, err := New(dir)
	require.NoError(t, err)
	defer again.Close()
	opened := again.attrReads.Load() // the root's, when the Storage is made
	require.Equal(t, first, listIDs(t, again))
	require.Equal(t, opened, again.attrReads.Load(), "no attribute read for a known item")
	st, err = os.Stat(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	require.Equal(t, saved, st.ModTime(), "nothing new: the file is not rewritten")

	// A person replaces b.txt (a new inode) and deletes c.txt; a new file
	// appears.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docs", "b.tmp"), []byte("edited"), 0o644))
	require.NoError(t, os.Rename(filepath.Join(dir, "docs", "b.tmp"), filepath.Join(dir, "docs", "b.txt")))
	require.NoError(t, os.Remove(filepath.Join(dir, "docs", "c.txt")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new"), 0o644))
	third, err := New(dir)
	require.NoError(t, err)
	defer third.Close()
	opened = third.attrReads.Load()
	ids := listIDs(t, third)
	require.Equal(t, opened+2, third.attrReads.Load(), "the replaced and the new file are read")
	require.Equal(t, first["docs/a.txt"], ids["docs/a.txt"])
	require.NotContains(t, ids, "docs/c.txt")
	b, err = os.ReadFile(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	require.Equal(t, 5, bytes.Count(b, []byte{'\n'}), "gone items dropped, new ones added:\n%s", b)

	// Nothing changed: the file is not rewritten.
	st, err = os.Stat(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	before := st.ModTime()
	time.Sleep(10 * time.Millisecond)
	listIDs(t, third)
	st, err = os.Stat(filepath.Join(dir, MetaDir, attrsFile))
	require.NoError(t, err)
	require.Equal(t, before, st.ModTime())

	// A damaged file: every attribute is read again, the IDs are the same.
	require.NoError(t, os.WriteFile(filepath.Join(dir, MetaDir, attrsFile), []byte("garbage without tabs\n\x00\x01"), 0o600))
	fourth, err := New(dir)
	require.NoError(t, err)
	defer fourth.Close()
	opened = fourth.attrReads.Load()
	require.Equal(t, ids, listIDs(t, fourth))
	require.Equal(t, opened+int64(len(ids)), fourth.attrReads.Load())
}

// The kept file holds exactly what the latest complete listing found: an
// item that one listing missed (moved out of the root for a while) and the
// next found again is written back to it, so a new Storage knows it
// without reading its attribute.
func TestListKeepsAnItemThatCameBack(t *testing.T) {
	s, dir, root := newAttrStorage(t)
	putNames(t, s, root, "a.txt", "b.txt")
	first := listIDs(t, s)
	require.Len(t, first, 2)
	hand, _, err := s.identify("b.txt")
	require.NoError(t, err)
	if stampOf(hand) == "" {
		t.Skip("this file system keeps no birth times: attributes are read on every listing")
	}
	away := filepath.Join(t.TempDir(), "b.txt") // same file system: t.TempDir
	if err := os.Rename(filepath.Join(dir, "b.txt"), away); err != nil {
		t.Skipf("cannot move a file out of the root and back on this machine: %v", err)
	}
	require.Len(t, listIDs(t, s), 1) // the file now holds a.txt alone
	require.NoError(t, os.Rename(away, filepath.Join(dir, "b.txt")))
	require.NoError(t, os.Remove(filepath.Join(dir, "a.txt")))
	require.Equal(t, map[string]string{"b.txt": first["b.txt"]}, listIDs(t, s))

	again, err := New(dir)
	require.NoError(t, err)
	defer again.Close()
	opened := again.attrReads.Load()
	require.Equal(t, map[string]string{"b.txt": first["b.txt"]}, listIDs(t, again))
	require.Equal(t, opened, again.attrReads.Load(), "b.txt is known from the kept file")
}

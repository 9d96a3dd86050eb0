package records_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// checkReadOnly is the read-only part of the storage contract (the
// storagetest suite writes and so cannot run on a record storage): List
// yields every item once, below a folder it also yields (or the root),
// with the parent's ID as ParentID; Stat and StatID agree with List;
// ListUnder lists a folder's subtree; Open gives Size bytes (where Size
// is known) and a folder gives ErrIsDir; names are single path elements;
// every write fails with ErrPermissionDenied and changes nothing.
func checkReadOnly(t *testing.T, s storage.Storage) {
	t.Helper()
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	require.True(t, root.IsRoot())
	byPath := map[string]storage.Entry{}
	byID := map[string]storage.Entry{}
	var order []storage.Entry
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		require.NotEmpty(t, e.Path)
		require.NotContains(t, byPath, e.Path, "listed twice")
		require.NotContains(t, byID, e.ID, "ID listed twice")
		require.NoError(t, s.Features().Names.Validate(e.Name()), e.Path)
		require.NotEmpty(t, e.Version, e.Path)
		byPath[e.Path], byID[e.ID] = e, e
		order = append(order, e)
	}
	ids, _ := s.(storage.IDStater)
	for _, e := range order {
		if d := e.Dir(); d != "" {
			parent, ok := byPath[d]
			require.True(t, ok, "parent of %s not listed", e.Path)
			require.True(t, parent.IsDir)
			require.Equal(t, parent.ID, e.ParentID, e.Path)
		} else {
			require.Equal(t, root.ID, e.ParentID, e.Path)
		}
		st, err := s.Stat(ctx, e.Path)
		require.NoError(t, err, e.Path)
		require.Equal(t, e, st, "Stat agrees with List")
		if ids != nil {
			st, err := ids.StatID(ctx, e.ID)
			require.NoError(t, err, e.Path)
			require.Equal(t, e, st, "StatID agrees with List")
		}
		if e.IsDir {
			_, err := s.Open(ctx, e)
			require.ErrorIs(t, err, storage.ErrIsDir)
			var under []string
			for c, err := range storage.ListUnder(ctx, s, e) {
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(c.Path, e.Path+"/"), c.Path)
				under = append(under, c.Path)
			}
			var want []string
			for p := range byPath {
				if strings.HasPrefix(p, e.Path+"/") {
					want = append(want, p)
				}
			}
			require.ElementsMatch(t, want, under, e.Path)
			continue
		}
		read(t, s, e) // checks Size where known
	}
	_, err = s.Stat(ctx, "no such record")
	require.ErrorIs(t, err, storage.ErrNotFound)
	for _, e := range append([]storage.Entry{root}, order...) {
		_, err := s.Put(ctx, e, "x.txt", strings.NewReader("x"), 1, storage.PutOptions{})
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		_, err = s.MakeDir(ctx, e, "x")
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		if e.IsRoot() {
			continue
		}
		_, err = s.Move(ctx, e, root, "moved")
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		require.ErrorIs(t, s.Delete(ctx, e), storage.ErrPermissionDenied)
	}
	again := map[string]storage.Entry{}
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		again[e.Path] = e
	}
	require.Equal(t, byPath, again, "nothing changed, the listing is stable")
}

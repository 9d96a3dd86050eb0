package storetest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

// testBaselineIndexCache checks the optional BaselineIndexCache: a blob is
// handed out only while the pair's baseline is in the state it was saved
// for; every change of the pair's items (inserted, replaced, deleted,
// moved below a folder, the pair forgotten) gives the baseline a token it
// never had, and changes of another pair do not; a save whose writer
// fails keeps the blob there was.
func testBaselineIndexCache(t *testing.T, s syncengine.MetadataStore) {
	c, ok := s.(syncengine.BaselineIndexCache)
	if !ok {
		t.Skip("the store does not implement syncengine.BaselineIndexCache (optional)")
	}
	ctx := context.Background()
	token := func(pair string) uint64 {
		t.Helper()
		tk, err := c.BaselineToken(ctx, pair)
		require.NoError(t, err)
		return tk
	}
	load := func(pair string) (string, bool) {
		t.Helper()
		r, ok, err := c.LoadBaselineIndex(ctx, pair)
		require.NoError(t, err)
		if !ok {
			require.Nil(t, r)
			return "", false
		}
		defer func() { require.NoError(t, r.Close()) }()
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		return string(b), true
	}
	save := func(pair string, tk uint64, blob string) {
		t.Helper()
		require.NoError(t, c.SaveBaselineIndex(ctx, pair, tk, func(w io.Writer) error {
			_, err := io.WriteString(w, blob)
			return err
		}))
	}
	seen := map[uint64]bool{}
	fresh := func(pair, what string) uint64 {
		t.Helper()
		tk := token(pair)
		require.NotZero(t, tk, "%s: the baseline has a token", what)
		require.False(t, seen[tk], "%s: a token the baseline had before", what)
		seen[tk] = true
		_, ok := load(pair)
		require.False(t, ok, "%s: the blob saved for the state before is handed out", what)
		return tk
	}

	require.Zero(t, token("p"), "a pair the store has not seen has no token")
	_, ok = load("p")
	require.False(t, ok)

	items := put(t, s, "p", dir("d"), file("d/a"), file("d/b"), file("top"))
	tk := fresh("p", "inserted")
	save("p", tk, "index 1")
	got, ok := load("p")
	require.True(t, ok)
	require.Equal(t, "index 1", got)
	got, _ = load("p")
	require.Equal(t, "index 1", got, "loading does not use the blob up")

	boom := errors.New("writer failed")
	err := c.SaveBaselineIndex(ctx, "p", tk, func(w io.Writer) error {
		_, _ = io.WriteString(w, "half of an ind")
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, _ = load("p")
	require.Equal(t, "index 1", got, "a failed save keeps the blob there was")

	put(t, s, "q", file("other"))
	got, ok = load("p")
	require.True(t, ok, "another pair's change leaves the pair's blob valid")
	require.Equal(t, "index 1", got)
	require.Equal(t, tk, token("p"))

	items[3].A.Version = "v2"
	require.NoError(t, s.PutItems(ctx, "p", items[3:4], nil))
	tk = fresh("p", "replaced")
	save("p", tk, "index 2")

	require.NoError(t, s.PutItems(ctx, "p", nil, []int64{items[2].Key}))
	stale := tk
	tk = fresh("p", "deleted")
	save("p", stale, "saved for the state before")
	_, ok = load("p")
	require.False(t, ok, "a blob saved for an old token is not handed out")
	save("p", tk, "index 3")

	require.NoError(t, s.MovePrefix(ctx, "p", syncengine.SideA, "d", "e"))
	fresh("p", "moved below a folder")

	if f, ok := s.(syncengine.PairForgetter); ok {
		save("p", token("p"), "index 4")
		require.NoError(t, f.ForgetPair(ctx, "p"))
		require.Zero(t, token("p"), "a forgotten pair has no token")
		_, ok := load("p")
		require.False(t, ok)
		put(t, s, "p", file("again"))
		fresh("p", "the pair added again")
	}
}

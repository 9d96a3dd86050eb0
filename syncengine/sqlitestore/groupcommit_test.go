package sqlitestore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// openAt opens the store at path, closed at the end of the test.
func openAt(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBeginAndEndActionsInOneTransaction(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	recs := []syncengine.JournalRecord{
		{PairID: "p", RunID: 1, Action: syncengine.Action{Kind: syncengine.ActionMkdir, Path: "a"}, Started: t0},
		{PairID: "p", RunID: 1, Action: syncengine.Action{Kind: syncengine.ActionCopy, Path: "a/b.txt"}, Started: t0},
		{PairID: "p", RunID: 1, Action: syncengine.Action{Kind: syncengine.ActionCopy, Path: "a/c.txt"}, Started: t0},
	}
	ids, err := s.BeginActions(ctx, recs)
	require.NoError(t, err)
	require.Len(t, ids, 3)
	require.Less(t, ids[0], ids[1])
	open, err := s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 3)
	require.Equal(t, "a/b.txt", open[1].Action.Path)

	// Deferred durability: committed and visible at once.
	lazy := syncengine.WithDeferredDurability(ctx)
	require.NoError(t, s.EndActions(lazy, ids[:2], []syncengine.Activity{
		{PairID: "p", RunID: 1, Time: t0, Kind: syncengine.ActionCopy, Side: syncengine.SideB, Path: "a/b.txt", Size: 3}}))
	open, err = s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, ids[2], open[0].ID)
	acts, err := s.Activity(ctx, "p", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, acts, 1)

	// All or nothing: an unknown ID records nothing.
	require.ErrorIs(t, s.EndActions(ctx, []int64{ids[2], ids[2] + 100}, nil), syncengine.ErrNoItem)
	open, err = s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 1)
	_, err = s.BeginActions(ctx, []syncengine.JournalRecord{recs[0], {}})
	require.ErrorIs(t, err, sqlitestore.ErrInvalidArgument)
	open, err = s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 1)
}

func TestDeferredCommitsSurviveReopen(t *testing.T) {
	path := t.TempDir() + "/state.db"
	s := openAt(t, path)
	lazy := syncengine.WithDeferredDurability(context.Background())
	items := []syncengine.Item{{A: syncengine.SideState{ID: "a1", Path: "x"}, B: syncengine.SideState{ID: "b1", Path: "x"}}}
	require.NoError(t, s.PutItems(lazy, "p", items, nil))
	require.NoError(t, s.SavePair(context.Background(), "p", syncengine.PairState{Initialized: true}))
	require.NoError(t, s.PutItems(lazy, "p", []syncengine.Item{{A: syncengine.SideState{ID: "a2", Path: "y"}, B: syncengine.SideState{ID: "b2", Path: "y"}}}, nil))
	require.NoError(t, s.Close())
	s = openAt(t, path)
	n, err := s.CountItems(context.Background(), "p")
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

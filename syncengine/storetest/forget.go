package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// testForgetPair checks syncengine.PairForgetter, for stores that
// implement it: everything of the pair goes, other pairs keep theirs, and
// the pair ID can be used again.
func testForgetPair(t *testing.T, s syncengine.MetadataStore) {
	f, ok := s.(syncengine.PairForgetter)
	if !ok {
		t.Skip("the store does not implement syncengine.PairForgetter (optional)")
	}
	ctx := context.Background()
	fill := func(pair string) {
		require.NoError(t, s.SavePair(ctx, pair, syncengine.PairState{Initialized: true, CursorA: "c"}))
		require.NoError(t, s.PutItems(ctx, pair, []syncengine.Item{{A: syncengine.SideState{ID: "a1", Path: "x"},
			B: syncengine.SideState{ID: "b1", Path: "x"}}}, nil))
		run, err := s.StartRun(ctx, syncengine.Run{PairID: pair, Started: t0, Status: syncengine.RunRunning})
		require.NoError(t, err)
		_, err = s.BeginAction(ctx, syncengine.JournalRecord{PairID: pair, RunID: run, Started: t0,
			Action: syncengine.Action{Kind: syncengine.ActionCopy, Path: "x"}})
		require.NoError(t, err)
		require.NoError(t, s.SaveUpload(ctx, pair, "k", storage.UploadState{Name: "x", Size: 9}))
		require.NoError(t, s.AddActivity(ctx, []syncengine.Activity{{PairID: pair, RunID: run, Time: t0, Path: "x"}}))
		require.NoError(t, s.AddError(ctx, syncengine.ErrorRecord{PairID: pair, RunID: run, Time: t0, Path: "x", Error: "e"}))
		require.NoError(t, s.PutFailure(ctx, syncengine.Failure{PairID: pair, Side: syncengine.SideB, Path: "x",
			Error: "e", Attempts: 1, NextAttempt: t0, Updated: t0}))
		require.NoError(t, s.RecordDeletes(ctx, pair, t0, 2))
		require.NoError(t, s.HoldDeletes(ctx, []syncengine.HeldDelete{{PairID: pair, Key: 1, DeletedOn: syncengine.SideA,
			Path: "x", Held: t0}}))
	}
	fill("p1")
	fill("p2")
	require.NoError(t, f.ForgetPair(ctx, "p1"))
	require.NoError(t, f.ForgetPair(ctx, "never-seen"))

	count := func(pair string) []int {
		st, err := s.LoadPair(ctx, pair)
		require.NoError(t, err)
		n, err := s.CountItems(ctx, pair)
		require.NoError(t, err)
		runs, err := s.Runs(ctx, pair, syncengine.Page{})
		require.NoError(t, err)
		open, err := s.OpenActions(ctx, pair)
		require.NoError(t, err)
		_, uerr := s.LoadUpload(ctx, pair, "k")
		up := 1
		if uerr != nil {
			require.ErrorIs(t, uerr, syncengine.ErrNoItem)
			up = 0
		}
		act, err := s.Activity(ctx, pair, syncengine.Page{})
		require.NoError(t, err)
		errs, err := s.Errors(ctx, pair, syncengine.Page{})
		require.NoError(t, err)
		fails, err := s.Failures(ctx, pair)
		require.NoError(t, err)
		dels, err := s.DeletesSince(ctx, pair, t0.Add(-time.Hour))
		require.NoError(t, err)
		held, err := s.HeldDeletes(ctx, pair)
		require.NoError(t, err)
		init := 0
		if st.Initialized {
			init = 1
		}
		return []int{init, n, len(runs), len(open), up, len(act), len(errs), len(fails), dels, len(held)}
	}
	require.Equal(t, []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, count("p1"), "p1 forgotten")
	require.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 1}, count("p2"), "p2 untouched")

	// The ID is usable again, as a new pair.
	fill("p1")
	require.Equal(t, []int{1, 1, 1, 1, 1, 1, 1, 1, 2, 1}, count("p1"))
}

package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// TestForgetPairAcrossWorkers: a pair run by another worker is not
// forgotten; once its lease expired it is, and the late holder's writes
// fail; a worker that had cached the pair's internal number before keeps
// writing to the right pair after it was forgotten.
func TestForgetPairAcrossWorkers(t *testing.T) {
	conn := testservices.Postgres(t)
	w1, w2 := open(t, conn), open(t, conn)
	ctx := context.Background()
	item := func() []syncengine.Item {
		return []syncengine.Item{{A: syncengine.SideState{ID: "a", Path: "x"}, B: syncengine.SideState{ID: "b", Path: "x"}}}
	}
	require.NoError(t, w2.PutItems(ctx, "p", item(), nil)) // w2 caches the pair's number
	require.NoError(t, w2.SavePair(ctx, "p", syncengine.PairState{Initialized: true, CursorA: "c1"}))

	l1, err := w1.AcquirePair(ctx, "p", "worker-1", time.Minute)
	require.NoError(t, err)
	err = w2.ForgetPair(ctx, "p")
	require.ErrorIs(t, err, pgstore.ErrPairLeased, "a pair in a run elsewhere is not forgotten")
	n, err := w2.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, 1, n, "nothing deleted")

	// The holder itself may forget the pair, through its fenced view.
	require.NoError(t, w1.Fenced(l1).ForgetPair(ctx, "p"))
	n, err = w1.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Zero(t, n)
	require.NoError(t, l1.Renew(ctx, time.Minute), "the forgetting holder keeps its lease")
	require.NoError(t, l1.Release(ctx))

	// A lease that expired is removed with the rest: its holder's late
	// writes fail.
	l3, err := w1.AcquirePair(ctx, "p", "worker-3", 5*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, w2.ForgetPair(ctx, "p"))
	require.ErrorIs(t, w1.Fenced(l3).SavePair(ctx, "p", syncengine.PairState{Initialized: true}), pgstore.ErrLeaseLost)

	// w2's cached number still names the pair: its writes after the
	// forgetting are seen by every worker.
	require.NoError(t, w2.PutItems(ctx, "p", item(), nil))
	n, err = w1.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	st, err := w1.LoadPair(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, syncengine.PairState{}, st, "the state reads as a pair never seen")

	require.ErrorIs(t, w1.ForgetPair(ctx, ""), pgstore.ErrInvalidArgument)
}

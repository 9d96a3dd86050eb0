package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// TestLeaseTwoInstances: two workers (two stores on one database) compete
// for a pair: one holds it, the other is told who; renewal keeps it;
// release or expiry hands it over; the loser's fenced writes stop.
func TestLeaseTwoInstances(t *testing.T) {
	conn := testservices.Postgres(t)
	w1, w2 := open(t, conn), open(t, conn)
	ctx := context.Background()

	l1, err := w1.AcquirePair(ctx, "p", "worker-1", time.Minute)
	require.NoError(t, err)
	require.Positive(t, l1.Token)
	require.Equal(t, "worker-1", l1.Owner)

	_, err = w2.AcquirePair(ctx, "p", "worker-2", time.Minute)
	require.ErrorIs(t, err, pgstore.ErrPairLeased)
	var le *pgstore.LeasedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "worker-1", le.Owner)
	require.True(t, le.Expires.Equal(l1.Expires))
	_, err = w1.AcquirePair(ctx, "p", "worker-1", time.Minute)
	require.ErrorIs(t, err, pgstore.ErrPairLeased, "a held lease is not acquired twice, even by its owner")

	// Other pairs are free.
	lq, err := w2.AcquirePair(ctx, "q", "worker-2", time.Minute)
	require.NoError(t, err)
	require.NotEqual(t, l1.Token, lq.Token)

	before := l1.Expires
	require.NoError(t, l1.Renew(ctx, 2*time.Minute))
	require.True(t, l1.Expires.After(before), "renewal moves the expiry")

	// Release: the other worker gets it at once; the old lease is gone.
	require.NoError(t, l1.Release(ctx))
	require.NoError(t, l1.Release(ctx), "releasing twice is not an error")
	l2, err := w2.AcquirePair(ctx, "p", "worker-2", time.Minute)
	require.NoError(t, err)
	require.Greater(t, l2.Token, l1.Token)
	require.ErrorIs(t, l1.Renew(ctx, time.Minute), pgstore.ErrLeaseLost)

	// Expiry: worker-1 takes the pair over once worker-2's lease ran out
	// (on the server's clock), here shortened to a millisecond.
	_, err = w1.AcquirePair(ctx, "p", "worker-1", time.Minute)
	require.ErrorIs(t, err, pgstore.ErrPairLeased)
	require.NoError(t, l2.Renew(ctx, time.Millisecond))
	var l3 *pgstore.Lease
	require.Eventually(t, func() bool {
		l3, err = w1.AcquirePair(ctx, "p", "worker-1", time.Minute)
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	require.Greater(t, l3.Token, l2.Token)
	require.ErrorIs(t, l2.Renew(ctx, time.Minute), pgstore.ErrLeaseLost, "a lease taken over cannot be renewed")
	require.ErrorIs(t, l2.Release(ctx), pgstore.ErrLeaseLost, "nor released")
	_, err = w2.AcquirePair(ctx, "p", "worker-2", time.Minute)
	require.ErrorIs(t, err, pgstore.ErrPairLeased, "releasing a lost lease left the new holder's alone")

	// Fencing: worker-2, which lost the pair, can no longer write through
	// its lease; worker-1 can.
	f2, f1 := w2.Fenced(l2), w1.Fenced(l3)
	err = f2.SavePair(ctx, "p", syncengine.PairState{CursorA: "stale"})
	require.ErrorIs(t, err, pgstore.ErrLeaseLost)
	require.ErrorIs(t, f2.PutItems(ctx, "p", []syncengine.Item{{}}, nil), pgstore.ErrLeaseLost)
	require.NoError(t, f1.SavePair(ctx, "p", syncengine.PairState{CursorA: "fresh"}))
	st, err := w2.LoadPair(ctx, "p")
	require.NoError(t, err)
	require.Equal(t, "fresh", st.CursorA)
	n, err := w1.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Zero(t, n, "the fenced-off PutItems wrote nothing")
	require.NoError(t, l3.Release(ctx))
	require.ErrorIs(t, f1.SavePair(ctx, "p", syncengine.PairState{}), pgstore.ErrLeaseLost, "a released lease fences too")
}

func TestLeaseBadInput(t *testing.T) {
	s := open(t, testservices.Postgres(t))
	ctx := context.Background()
	for _, tc := range []struct {
		pair, owner string
		ttl         time.Duration
	}{{"", "w", time.Second}, {"p", "", time.Second}, {"p", "w", 0}, {"p", "w", -time.Second}, {"p\x00", "w", time.Second}} {
		_, err := s.AcquirePair(ctx, tc.pair, tc.owner, tc.ttl)
		require.ErrorIs(t, err, pgstore.ErrInvalidArgument, "%+v", tc)
	}
	l, err := s.AcquirePair(ctx, "p", "w", time.Second)
	require.NoError(t, err)
	require.ErrorIs(t, l.Renew(ctx, 0), pgstore.ErrInvalidArgument)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.AcquirePair(cctx, "q", "w", time.Second)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, l.Renew(cctx, time.Second), context.Canceled)
}

// TestLeaseOneOwnerAtATime: workers on two instances race for a few pairs
// again and again, releasing them; while one holds a pair, its fenced
// writes succeed and nobody else's do, and no two workers ever hold a
// pair at once (checked by each holder marking the pair busy).
func TestLeaseOneOwnerAtATime(t *testing.T) {
	conn := testservices.Postgres(t)
	stores := []*pgstore.Store{open(t, conn), open(t, conn)}
	ctx := context.Background()
	const workers, pairs = 6, 3
	deadline := time.Now().Add(3 * time.Second)
	var busy [pairs]atomic.Int32
	var overlaps, acquired atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		s := stores[w%2]
		owner := fmt.Sprint("worker-", w)
		wg.Go(func() {
			errs <- func() error {
				for i := 0; time.Now().Before(deadline); i++ {
					p := (w + i) % pairs
					pair := fmt.Sprint("pair-", p)
					l, err := s.AcquirePair(ctx, pair, owner, 30*time.Second)
					if err != nil {
						if !errors.Is(err, pgstore.ErrPairLeased) {
							return err
						}
						continue
					}
					acquired.Add(1)
					if busy[p].Add(1) != 1 {
						overlaps.Add(1)
					}
					f := s.Fenced(l)
					if err := f.SavePair(ctx, pair, syncengine.PairState{CursorA: owner}); err != nil {
						return err
					}
					got, err := f.LoadPair(ctx, pair)
					if err != nil {
						return err
					}
					if got.CursorA != owner {
						return fmt.Errorf("%s wrote %s's state while holding it: %q", got.CursorA, owner, pair)
					}
					busy[p].Add(-1)
					if err := l.Release(ctx); err != nil {
						return err
					}
				}
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, overlaps.Load(), "two holders of one pair at once")
	require.Greater(t, acquired.Load(), int64(pairs), "the pairs changed hands")
}

package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// TestStandardInitialResumesAfterCrash: a Standard initial sync cancelled
// after it wrote some of A to B resumes on the next run (as a merge of its
// own work) and converges with nothing missing and nothing duplicated,
// while a Standard sync into a B that already held foreign data is still
// refused.
func TestStandardInitialResumesAfterCrash(t *testing.T) {
	for _, cut := range []int{1, 3, 6, 9} {
		t.Run(fmt.Sprintf("cancel after %d puts", cut), func(t *testing.T) {
			e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Initial = syncengine.InitialStandard })
			for i := range 4 {
				for j := range 3 {
					e.write(e.a, fmt.Sprintf("d%d/f%d.pdf", i, j), fmt.Sprintf("content %d/%d", i, j))
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			var puts atomic.Int32 // Puts run concurrently
			e.b.SetHook(func(op memory.Op) error {
				if op == memory.OpPut {
					if puts.Add(1) > int32(cut) {
						cancel()
						return context.Canceled
					}
				}
				return nil
			})
			_, err := e.eng.RunOnce(ctx, e.pair.ID, syncengine.RunOptions{})
			require.Error(t, err, "the first run was cancelled")
			e.b.SetHook(nil)

			e.restart()
			r, err := e.eng.RunOnce(context.Background(), e.pair.ID, syncengine.RunOptions{})
			require.NoError(t, err)
			require.Equal(t, syncengine.RunSucceeded, r.Status, r.Error)
			for i := range 4 {
				for j := range 3 {
					got, err := e.b.ReadFile(fmt.Sprintf("d%d/f%d.pdf", i, j))
					require.NoError(t, err)
					require.Equal(t, fmt.Sprintf("content %d/%d", i, j), string(got))
				}
			}
			n := 0
			for x, err := range e.b.List(context.Background()) {
				require.NoError(t, err)
				if !x.IsDir {
					n++
				}
			}
			require.Equal(t, 12, n, "no duplicates on B")
		})
	}
	t.Run("foreign data on B is still refused", func(t *testing.T) {
		e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Initial = syncengine.InitialStandard })
		e.write(e.a, "a.pdf", "a")
		e.write(e.b, "someone else's.pdf", "b")
		_, err := e.eng.RunOnce(context.Background(), e.pair.ID, syncengine.RunOptions{})
		require.True(t, errors.Is(err, syncengine.ErrTargetNotEmpty), "got %v", err)
		_, err = e.eng.RunOnce(context.Background(), e.pair.ID, syncengine.RunOptions{})
		require.True(t, errors.Is(err, syncengine.ErrTargetNotEmpty), "a refused run does not unlock merging: got %v", err)
	})
}

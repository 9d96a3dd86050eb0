package syncengine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// A conflict's loser is renamed under a numbered conflict-copy name when
// the planned one was taken meanwhile; the process dies before the winner
// is written. Recovery must find the loser under the numbered name (and
// forget the record, so that both files are copied as new ones), not take
// the rename for a user's move of the item, which moved the winner to the
// conflict-copy name on the other side too.
func TestRecoveryFindsANumberedConflictCopy(t *testing.T) {
	var cs *crashStore
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Conflict = syncengine.ConflictKeepBoth
		cs = &crashStore{MetadataStore: o.Store}
		o.Store = cs
	})
	e.write(e.a, "c.doc", "v0")
	e.run()
	e.clk.Advance(time.Minute)
	e.write(e.b, "c.doc", "from B")
	e.clk.Advance(time.Minute)
	e.write(e.a, "c.doc", "from A")
	plan, err := e.eng.DryRun(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, plan.Actions, 1, "%s", plan)
	copyName := plan.Actions[0].Conflict.LoserCopy
	require.Equal(t, "c (conflict 2026-03-01 from SharePoint).doc", copyName)

	// Someone writes the planned name just before the loser is renamed;
	// the process dies right after the rename.
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var mu sync.Mutex
	moves, crashed := 0, false
	hook := func(op memory.Op) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case crashed:
			return context.Canceled
		case op == memory.OpMove && moves == 0:
			moves++
			if _, err := e.b.WriteFile(copyName, []byte("someone's")); err != nil {
				return err
			}
		case op == memory.OpMove:
			moves++
		case moves == 2:
			crashed = true
			cs.crashed.Store(true)
			cancel()
			return context.Canceled
		}
		return nil
	}
	e.a.SetHook(hook)
	e.b.SetHook(hook)
	_, _ = e.eng.RunOnce(ctx, "p1", syncengine.RunOptions{})
	e.a.SetHook(nil)
	e.b.SetHook(nil)
	require.Equal(t, 2, moves)
	require.Equal(t, map[string]string{"c.doc": "from A"}, tree(t, e.a))
	require.Equal(t, map[string]string{copyName: "someone's", "c (conflict 2026-03-01 from SharePoint) (2).doc": "from B"},
		tree(t, e.b))

	e.opts.Store = cs.MetadataStore
	e.restart()
	e.settle()
	want := map[string]string{"c.doc": "from A", copyName: "someone's",
		"c (conflict 2026-03-01 from SharePoint) (2).doc": "from B"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

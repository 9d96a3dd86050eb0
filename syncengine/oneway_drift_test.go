package syncengine_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// A person's edit on B of a one-way pair is drift: reported, left alone
// while A does not change, and overwritten by A's next change, on every
// later run too (never stuck on a stale condition).
func TestOneWayDriftOverwrittenOnNextChangeOfA(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.Direction = syncengine.DirectionOneWayAB
		p.Initial = syncengine.InitialStandard
	})
	e.write(e.a, "Logs/daily.pdf", "v1")
	e.write(e.a, "Logs/other.pdf", "o1")
	r := e.run()
	require.True(t, r.Succeeded(), r.Undone)

	e.write(e.b, "Logs/daily.pdf", "edited by a person on B")
	r = e.run()
	require.True(t, r.Succeeded(), r.Undone)
	require.NotEmpty(t, e.ev.of(syncengine.EventDrift))
	require.Equal(t, "edited by a person on B", tree(t, e.b)["Logs/daily.pdf"])

	// A changes: A overwrites the person's edit.
	e.clk.Advance(time.Minute)
	e.write(e.a, "Logs/daily.pdf", "v2")
	r = e.run()
	require.True(t, r.Succeeded(), "%v %v", r.Error, r.Undone)
	require.Equal(t, "v2", tree(t, e.b)["Logs/daily.pdf"])
	e.settle()

	// And again: later changes of A keep flowing.
	for _, v := range []string{"v3", "v4"} {
		e.clk.Advance(time.Minute)
		e.write(e.a, "Logs/daily.pdf", v)
		r = e.run()
		require.True(t, r.Succeeded(), "%v %v", r.Error, r.Undone)
		require.Equal(t, v, tree(t, e.b)["Logs/daily.pdf"])
	}
}

// The overwrite of a drifted B file is conditional on the Version read
// right before it: an edit saved between that read and the write is not
// overwritten blindly (the Put is refused and the item planned again).
func TestOneWayDriftOverwriteStaysConditional(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.Direction = syncengine.DirectionOneWayAB
		p.Initial = syncengine.InitialStandard
	})
	e.write(e.a, "daily.pdf", "v1")
	require.True(t, e.run().Succeeded())
	e.write(e.b, "daily.pdf", "person 1")
	require.True(t, e.run().Succeeded())

	e.clk.Advance(time.Minute)
	e.write(e.a, "daily.pdf", "v2")
	var once sync.Once
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpPut {
			once.Do(func() { e.write(e.b, "daily.pdf", "person 2") })
		}
		return nil
	})
	e.b.ResetCalls()
	r := e.run()
	e.b.SetHook(nil)
	require.True(t, r.Succeeded(), "%v %v", r.Error, r.Undone)
	require.Equal(t, 1, r.Counts.Replanned, "the Put after the second edit must be refused")
	require.Equal(t, 2, e.b.CallCount(memory.OpPut))
	require.Equal(t, "v2", tree(t, e.b)["daily.pdf"])
}

package syncengine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReplacedByIdenticalFileIsLinked: a file deleted and written again
// with the same bytes at the same path (an editor's save-as, or a storage
// whose IDs changed) is linked on the other side, which keeps its item,
// its ID and its version history: no version with the same content.
func TestReplacedByIdenticalFileIsLinked(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "d/a.txt", "same bytes")
	e.run()
	before, err := e.b.Stat(e.ctx, "d/a.txt")
	require.NoError(t, err)
	e.clk.Advance(time.Minute)
	require.NoError(t, e.a.Remove("d/a.txt"))
	e.write(e.a, "d/a.txt", "same bytes")
	r := e.run()
	require.Equal(t, 1, r.Counts.Linked, "run: %+v", r.Counts)
	require.Equal(t, 0, r.Counts.FilesCopied, "run: %+v", r.Counts)
	after, err := e.b.Stat(e.ctx, "d/a.txt")
	require.NoError(t, err)
	require.Equal(t, before.ID, after.ID)
	require.Equal(t, before.Version, after.Version, "no new version on B")
	require.Empty(t, e.b.Trash())
	// And the pair is settled: the next run does nothing.
	r = e.run()
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Linked+r.Counts.Deleted, "run: %+v", r.Counts)
}

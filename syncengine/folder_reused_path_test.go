package syncengine_test

import (
	"errors"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/stretchr/testify/require"
)

// A folder y deleted on A and made again there, while B renamed its y to
// x: the new y reaches B as a new folder, and the old one's record waits
// for x to be restored on A (which fails at first). The baseline then
// holds two records at B's path y, one of a folder that moved away from
// it. A full reconciliation takes the new folder to be where it is on B,
// not where the other one went: its deletion on A reaches B, and every
// record names the path its item has on each side.
func TestFolderMadeAtTheBaselinePathOfAMovedFolderStaysThere(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.a.Mkdirs("y")
	require.NoError(t, err)
	e.run()
	require.Equal(t, map[string]string{"y": "/"}, tree(t, e.b))

	require.NoError(t, e.a.Remove("y"))
	_, err = e.a.Mkdirs("y")
	require.NoError(t, err)
	_, err = e.b.Rename("y", "x")
	require.NoError(t, err)
	e.write(e.b, "x/a.txt", "from B")
	e.a.SetHook(func(op memory.Op) error {
		if op == memory.OpMakeDir {
			return errors.New("injected: 503 service unavailable")
		}
		return nil
	})
	e.run()
	e.a.SetHook(nil)
	require.Equal(t, map[string]string{"x": "/", "x/a.txt": "from B", "y": "/"}, tree(t, e.b))

	require.NoError(t, e.a.Remove("y"))
	e.clk.Advance(2 * time.Hour) // past the failed Mkdir's retry backoff
	r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	requireBaselineTrue(t, e)
	e.settle()
	requireBaselineTrue(t, e)
	want := map[string]string{"x": "/", "x/a.txt": "from B"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

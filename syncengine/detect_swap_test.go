package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Two folders moved on A so that each ends where the other was, one inside
// the other (x → y/x, then y → x), while a new file arrives on B in the
// folder that moves twice: the file syncs, and the baseline records the
// path it has after both moves.
func TestNewFileInAFolderMovedTwiceOnTheOtherSide(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.a.Mkdirs("x")
	require.NoError(t, err)
	_, err = e.a.Mkdirs("y")
	require.NoError(t, err)
	e.run()
	_, err = e.a.Rename("x", "y/x")
	require.NoError(t, err)
	_, err = e.a.Rename("y", "x")
	require.NoError(t, err)
	e.write(e.b, "x/c.doc", "c")
	e.run()
	requireBaselineTrue(t, e)
	e.settle()
	require.Equal(t, map[string]string{"x": "/", "x/x": "/", "x/x/c.doc": "c"}, tree(t, e.b))
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

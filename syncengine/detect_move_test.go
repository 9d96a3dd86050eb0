package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A rename on B onto a name that, on A, an item the change feed does not
// report holds (an item named differently on the two sides after an
// earlier collision) must not plan a Move that fails with "already exists"
// in every run: Detect looks at the Move's target path, and the planner
// takes another name there.
func TestMoveOntoAPathTakenByAnUnreportedItem(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.b, "c.doc", "2B")
	e.run()
	e.write(e.a, "b.txt", "3A")
	_, err := e.b.Rename("c.doc", "b.txt")
	require.NoError(t, err)
	e.run()
	require.NoError(t, e.b.Remove("b.txt"))
	e.write(e.a, "c.doc", "4A")
	e.run()
	// A's b.txt is B's "b (~…).txt"; B's c.doc is renamed to b.txt.
	require.Equal(t, map[string]string{"b.txt": "3A", "c.doc": "4A"}, tree(t, e.a))
	_, err = e.b.Rename("c.doc", "b.txt")
	require.NoError(t, err)
	e.settle()
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
	ta, tb := tree(t, e.a), tree(t, e.b)
	require.Equal(t, "3A", ta["b.txt"])
	require.Equal(t, "4A", tb["b.txt"])
	require.ElementsMatch(t, []string{"3A", "4A"}, []string{ta["b.txt"], ta[other(ta, "b.txt")]})
	require.ElementsMatch(t, []string{"3A", "4A"}, []string{tb["b.txt"], tb[other(tb, "b.txt")]})
}

// other returns the key of m that is not k (m has two keys).
func other(m map[string]string, k string) string {
	for p := range m {
		if p != k {
			return p
		}
	}
	return ""
}

package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// A new item whose name is taken on the other side gets a disambiguated
// name there; when that name is taken too (here by a file a user named so
// on B, synced to A under the same name), the planner must pick another
// alternative rather than plan, in every run, a copy or move that fails
// with "already exists". Both sides are read from their change feeds, so
// Detect must look at the alternatives the planner tries.
func TestDisambiguatedNameTakenPicksAnother(t *testing.T) {
	e := newEnv(t, nil)
	taken := storage.Disambiguate("a.txt", "a.txt") // "a (~…).txt"
	e.write(e.a, "c.doc", "P")
	e.write(e.b, taken, "Y")
	e.run()
	e.run() // the change feeds move past the first run's own writes
	require.Equal(t, map[string]string{"c.doc": "P", taken: "Y"}, tree(t, e.a))
	// A renames c.doc to a.txt while B writes another a.txt: each takes
	// the other's name, whose first alternative holds Y on both sides.
	_, err := e.a.Rename("c.doc", "a.txt")
	require.NoError(t, err)
	e.write(e.b, "a.txt", "Q")
	e.settle()
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
	ta, tb := tree(t, e.a), tree(t, e.b)
	require.Equal(t, "P", ta["a.txt"])
	require.Equal(t, "Q", tb["a.txt"])
	require.Equal(t, "Y", ta[taken])
	require.Equal(t, "Y", tb[taken])
	require.Len(t, ta, 3)
	require.Len(t, tb, 3)
	require.ElementsMatch(t, []string{"P", "Q", "Y"}, values(ta))
	require.ElementsMatch(t, []string{"P", "Q", "Y"}, values(tb))
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

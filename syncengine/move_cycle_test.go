package syncengine_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Two folders, each moved into the other, one on each side: A moves y into
// x while B moves x into y. Replaying both would put each folder inside
// the other, which no storage allows, and the pair would fail in every
// run. One move is kept and the other is undone on its side: both sides
// end alike, nothing is lost and nothing fails.
func TestCrossedFolderMovesConverge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []string // which side moves first (the other moves second)
	}{
		{"A first", []string{"a", "b"}},
		{"B first", []string{"b", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			_, err := e.a.Mkdirs("x")
			require.NoError(t, err)
			_, err = e.a.Mkdirs("y")
			require.NoError(t, err)
			e.write(e.a, "x/fx.txt", "fx")
			e.write(e.a, "y/fy.txt", "fy")
			e.run()
			for _, side := range tc.order {
				if side == "a" {
					_, err = e.a.Rename("y", "x/y")
				} else {
					_, err = e.b.Rename("x", "y/x")
				}
				require.NoError(t, err)
			}
			e.write(e.a, "x/y/new-on-a.txt", "na")
			e.write(e.b, "y/x/new-on-b.txt", "nb")
			r := e.run()
			require.Zero(t, r.Counts.Failed, "no action fails")
			requireBaselineTrue(t, e)
			e.settle()
			ta, tb := tree(t, e.a), tree(t, e.b)
			require.Equal(t, ta, tb)
			files := map[string]bool{}
			for p, c := range ta {
				if c != "/" {
					files[c] = true
					_ = p
				}
			}
			require.Equal(t, map[string]bool{"fx": true, "fy": true, "na": true, "nb": true}, files, "every file is kept: %v", ta)
			r = e.run()
			require.Zero(t, r.Counts.Failed)
			require.Zero(t, r.Counts.Moved)
		})
	}
}

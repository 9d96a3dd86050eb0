package syncengine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

func TestPathHelpers(t *testing.T) {
	tests := []struct {
		p, dir, base string
		depth        int
	}{
		{"", "", "", 0},
		{"a", "", "a", 1},
		{"a/b", "a", "b", 2},
		{"a/b/c.txt", "a/b", "c.txt", 3},
	}
	for _, tc := range tests {
		require.Equal(t, tc.dir, dirOf(tc.p), tc.p)
		require.Equal(t, tc.base, baseOf(tc.p), tc.p)
		require.Equal(t, tc.depth, segDepth(tc.p), tc.p)
	}
	require.Equal(t, "a/b", joinPath("a", "b"))
	require.Equal(t, "b", joinPath("", "b"))
	require.True(t, isUnder("a/b", "a"))
	require.True(t, isUnder("a", ""))
	require.False(t, isUnder("ab", "a"))
	require.False(t, isUnder("a", "a"))
}

func TestNamer(t *testing.T) {
	sp := sharePointLike()
	tests := []struct {
		name    string
		mapping bool
		in      string
		want    string
		wantErr bool
	}{
		{"valid name unchanged", true, "report.pdf", "report.pdf", false},
		{"invalid chars mapped", true, `a:b?.txt`, "a-b-.txt", false},
		{"trailing period mapped", true, "x.", "x-", false},
		{"mapping off keeps valid", false, "report.pdf", "report.pdf", false},
		{"mapping off refuses invalid", false, "a:b", "a:b", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := namer{rules: [2]storage.NameRules{{}, sp}, mapping: tc.mapping}
			got, err := n.name(SideB, tc.in)
			require.Equal(t, tc.want, got)
			if tc.wantErr {
				require.ErrorIs(t, err, storage.ErrInvalidName)
			} else {
				require.NoError(t, err)
			}
		})
	}
	n := namer{rules: [2]storage.NameRules{{}, sp}, mapping: true}
	d := n.disambiguate(SideB, "a:b.txt")
	require.NoError(t, sp.Validate(d))
	require.Equal(t, d, n.disambiguate(SideB, "a:b.txt"), "deterministic")
	require.NotEqual(t, d, n.disambiguate(SideB, "a-b.txt"))
	require.Equal(t, n.key(SideB, "Doc.TXT"), n.key(SideB, "doc.txt"))
	require.NotEqual(t, n.key(SideA, "Doc.TXT"), n.key(SideA, "doc.txt"))
	require.Equal(t, occupiedHash(sp, "A/B"), occupiedHash(sp, "a/b"))
}

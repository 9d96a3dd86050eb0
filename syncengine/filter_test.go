package syncengine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

func TestFilterAllows(t *testing.T) {
	file := func(p string, size int64) storage.Entry { return storage.Entry{Path: p, Size: size} }
	folder := func(p string) storage.Entry { return storage.Entry{Path: p, IsDir: true} }
	tests := []struct {
		name string
		f    Filter
		e    storage.Entry
		want bool
	}{
		{"zero filter", Filter{}, file("a/b.txt", 1), true},
		{"root always", Filter{Include: []string{"x"}}, folder(""), true},
		{"exclude by name", Filter{Exclude: []string{"*.tmp"}}, file("a/b.tmp", 1), false},
		{"exclude by path", Filter{Exclude: []string{"a/b.txt"}}, file("a/b.txt", 1), false},
		{"exclude folder and below", Filter{Exclude: []string{"cache/**"}}, file("cache/x/y.bin", 1), false},
		{"exclude folder itself", Filter{Exclude: []string{"cache/**"}}, folder("cache"), false},
		{"exclude name matches a parent", Filter{Exclude: []string{"node_modules"}}, file("x/node_modules/a.js", 1), false},
		{"include matches", Filter{Include: []string{"*.pdf"}}, file("a/b.pdf", 1), true},
		{"include misses", Filter{Include: []string{"*.pdf"}}, file("a/b.txt", 1), false},
		{"include keeps leading folders", Filter{Include: []string{"docs/specs/*.pdf"}}, folder("docs"), true},
		{"include skips other folders", Filter{Include: []string{"docs/specs/*.pdf"}}, folder("photos"), false},
		{"include folder tree", Filter{Include: []string{"docs/**"}}, file("docs/a/b.txt", 1), true},
		{"exclude wins over include", Filter{Include: []string{"*.pdf"}, Exclude: []string{"secret*"}}, file("secret.pdf", 1), false},
		{"below min size", Filter{MinSize: 10}, file("a", 9), false},
		{"at min size", Filter{MinSize: 10}, file("a", 10), true},
		{"above max size", Filter{MaxSize: 10}, file("a", 11), false},
		{"folders ignore size", Filter{MinSize: 10}, folder("a"), true},
		{"malformed pattern matches nothing", Filter{Exclude: []string{"[x"}}, file("a", 1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.f.Allows(tc.e))
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Filter
		ok   bool
	}{
		{"zero", Filter{}, true},
		{"good", Filter{Include: []string{"*.pdf", "docs/**"}, Exclude: []string{"~*"}, MinSize: 1, MaxSize: 10}, true},
		{"bad pattern", Filter{Exclude: []string{"[x"}}, false},
		{"empty pattern", Filter{Include: []string{""}}, false},
		{"negative size", Filter{MinSize: -1}, false},
		{"min above max", Filter{MinSize: 10, MaxSize: 5}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
	require.True(t, Filter{}.IsZero())
	require.False(t, Filter{MaxSize: 1}.IsZero())
}

package graphspec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withSpecs bool
	}{
		{"found next to the module", true},
		{"absent, as in a user's clone", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			mod := filepath.Join(tmp, "main")
			require.NoError(t, os.MkdirAll(filepath.Join(mod, "storage", "x"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/x\n"), 0o644))
			want := filepath.Join(tmp, "shared", "specs", "graph")
			if tc.withSpecs {
				require.NoError(t, os.MkdirAll(want, 0o755))
			}
			t.Chdir(filepath.Join(mod, "storage", "x"))
			var inner *testing.T
			var got string
			t.Run("inner", func(t *testing.T) {
				inner = t
				got = Dir(t)
			})
			require.Equal(t, !tc.withSpecs, inner.Skipped())
			if tc.withSpecs {
				require.Equal(t, want, got)
			}
		})
	}
}

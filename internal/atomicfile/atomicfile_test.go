package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteFile(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	require.NoError(t, WriteFile(p, []byte("one")))
	require.NoError(t, WriteFile(p, []byte("two")))
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "two", string(b))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "0600 whatever the umask")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 1, "no temporary file left behind")

	// A folder that does not exist: an error, nothing written.
	require.Error(t, WriteFile(filepath.Join(dir, "missing", "x"), []byte("x")))
	// A folder in the way of the rename: an error, the temporary file removed.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "taken"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "taken", "f"), nil, 0o600))
	require.Error(t, WriteFile(filepath.Join(dir, "taken"), []byte("x")))
	ents, err = os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, ents, 2)
}

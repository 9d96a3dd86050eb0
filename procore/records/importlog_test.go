package records_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/records"
)

func TestFileImportLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	name := filepath.Join(dir, "import.json")
	l, err := records.OpenFileImportLog(name)
	require.NoError(t, err)
	ok, err := l.Imported(ctx, "2026-12-04/pour.jpg/9")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = os.Stat(name)
	require.ErrorIs(t, err, os.ErrNotExist, "nothing written before a mark")

	for _, k := range []string{"2026-12-04/pour.jpg/9", "2026-12-04/Müller Ø 12.jpg/3", "2026-12-05/写真.png/0", "2026-12-04/pour.jpg/9"} {
		require.NoError(t, l.MarkImported(ctx, k))
	}
	require.Equal(t, 3, l.Len())
	st, err := os.Stat(name)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")

	// Reopened (a restart): the keys are there.
	l2, err := records.OpenFileImportLog(name)
	require.NoError(t, err)
	for _, k := range []string{"2026-12-04/pour.jpg/9", "2026-12-04/Müller Ø 12.jpg/3", "2026-12-05/写真.png/0"} {
		ok, err := l2.Imported(ctx, k)
		require.NoError(t, err)
		require.True(t, ok, k)
	}
	ok, err = l2.Imported(ctx, "2026-12-04/pour.jpg/10")
	require.NoError(t, err)
	require.False(t, ok)

	// A cancelled context marks nothing.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, l2.MarkImported(cctx, "x"), context.Canceled)

	require.NoError(t, l2.Remove())
	require.Zero(t, l2.Len())
	_, err = os.Stat(name)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, l2.Remove(), "removing a removed log")
}

func TestFileImportLogBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"torn.json":    `{"version":1,"keys":["a"`,
		"text.json":    "2026-12-04/pour.jpg/9\n",
		"version.json": `{"version":2,"keys":[]}`,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		_, err := records.OpenFileImportLog(p)
		require.ErrorIs(t, err, records.ErrCorruptImportLog, name)
	}
	_, err := records.OpenFileImportLog(dir)
	require.Error(t, err, "a folder is not a log")
}

// TestFileImportLogWriteFails: a mark that cannot be written is not kept.
func TestFileImportLogWriteFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := records.OpenFileImportLog(filepath.Join(dir, "gone", "import.json"))
	require.NoError(t, err)
	require.Error(t, l.MarkImported(ctx, "a"))
	ok, err := l.Imported(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
}

package sqlitestore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// TestFilesPrivate: the database and its -wal and -shm files are created
// readable by their owner only; they hold upload URLs (bearer credentials).
func TestFilesPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.SaveUpload(ctx, "p", "k", storage.UploadState{Name: "a.pdf", Size: 10, Token: "https://x/upload"}))
	for _, name := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		fi, err := os.Stat(name)
		require.NoError(t, err)
		require.Zerof(t, fi.Mode().Perm()&0o077, "%s has mode %v", filepath.Base(name), fi.Mode().Perm())
	}
}

// TestExistingWorldReadableStoreTightened: a store that an earlier
// version created world-readable loses the permissions of others on Open;
// the group's stay (a deliberate backup group keeps working).
func TestExistingWorldReadableStoreTightened(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, os.Chmod(path, 0o644))
	s, err = sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

// TestDeletedUploadURLLeavesNoTrace: once an upload's state is deleted,
// its URL (a bearer credential: whoever has it can write the file) is not
// left in the database's free space, nor in a WAL file.
func TestDeletedUploadURLLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	const marker = "tempauth=eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0SECRET"
	url := "https://contoso.sharepoint.com/sites/Projects/_api/v2.0/drive/items/01ABC/uploadSession?guid=1&" + marker
	// Other rows on the same page keep it in use: the deleted row's bytes
	// stay on a live page.
	require.NoError(t, s.SaveUpload(ctx, "p", "keep", storage.UploadState{Name: "keep.pdf", Size: 1, Token: "opaque"}))
	require.NoError(t, s.SaveUpload(ctx, "p", "k", storage.UploadState{ParentID: "01P", Name: "big.pdf", Size: 50 << 20, Offset: 10 << 20,
		Token: url, Expires: time.Now().Add(time.Hour)}))
	require.NoError(t, s.DeleteUpload(ctx, "p", "k"))
	require.NoError(t, s.Close())
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		require.Falsef(t, bytes.Contains(b, []byte(marker)), "%s still holds the deleted upload URL", filepath.Base(name))
	}
}

// TestSecondOpenLocked: a second Store on the same file (two engines
// would run the same pairs at once) is refused with a *LockedError naming
// the holder; once the first is closed, the file opens again.
func TestSecondOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	_, err = sqlitestore.Open(path)
	require.ErrorIs(t, err, sqlitestore.ErrLocked)
	var le *sqlitestore.LockedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, os.Getpid(), le.PID)
	require.Contains(t, err.Error(), "process "+strconv.Itoa(os.Getpid()))
	require.NoError(t, s.Close())
	s2, err := sqlitestore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s2.Close())
}

// TestSecondProcessLocked: another process opening a store that this one
// holds gets the typed error with this process's PID.
func TestSecondProcessLocked(t *testing.T) {
	if p := os.Getenv("SQLITESTORE_LOCK_HELPER"); p != "" {
		_, err := sqlitestore.Open(p)
		var le *sqlitestore.LockedError
		if errors.As(err, &le) {
			os.Stdout.WriteString("locked by " + strconv.Itoa(le.PID) + "\n")
			os.Exit(0)
		}
		os.Stdout.WriteString("not locked: " + strings.ReplaceAll(errString(err), "\n", " ") + "\n")
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondProcessLocked$")
	cmd.Env = append(os.Environ(), "SQLITESTORE_LOCK_HELPER="+path)
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "locked by "+strconv.Itoa(os.Getpid()))
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

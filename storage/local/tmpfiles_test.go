//go:build unix

package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// envTempWriter names the folder a TestHelperTempWriter child writes in.
const envTempWriter = "PROCORESYNC_LOCAL_TEMP_WRITER"

// TestHelperTempWriter is the child process of TestKilledWriterTempRemoved
// (it does nothing in a normal test run): it puts a 1 GiB file into the
// folder named by envTempWriter, says "writing" on stdout once 8 MiB are
// written, and blocks there until it is killed.
func TestHelperTempWriter(t *testing.T) {
	dir := os.Getenv(envTempWriter)
	if dir == "" {
		return
	}
	s, err := New(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r, _ := s.Stat(context.Background(), "")
	_, err = s.Put(context.Background(), r, "big.bin", &stallingReader{left: 8 << 20}, 1<<30, storage.PutOptions{})
	fmt.Fprintln(os.Stderr, "put returned:", err)
	os.Exit(3)
}

// stallingReader gives left bytes, then says "writing" and blocks.
type stallingReader struct{ left int }

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		fmt.Println("writing")
		select {}
	}
	n := min(len(p), r.left)
	clear(p[:n])
	r.left -= n
	return n, nil
}

// temps lists the temporary items in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// listNames lists s through both listing paths and fails on any
// temporary item among the entries.
func listNames(t *testing.T, s *Storage) []string {
	t.Helper()
	var names []string
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		require.False(t, strings.Contains(e.Path, TempPrefix), "a temporary item listed: %s", e.Path)
		names = append(names, e.Path)
	}
	items, err := s.readDirPortable(context.Background(), "")
	require.NoError(t, err)
	for _, it := range items {
		require.False(t, strings.HasPrefix(it.name, TempPrefix), "a temporary item listed: %s", it.name)
	}
	return names
}

// TestKilledWriterTempRemoved: a process killed with SIGKILL in the middle
// of a large Put leaves its temporary file; it is never listed, and the
// next listing once it is past the grace period removes it.
func TestKilledWriterTempRemoved(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTempWriter$")
	cmd.Env = append(os.Environ(), envTempWriter+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "writing\n", line)
	left := temps(t, dir)
	require.Len(t, left, 1, "the child is writing its temporary file")
	fi, err := os.Stat(filepath.Join(dir, left[0]))
	require.NoError(t, err)
	require.EqualValues(t, 8<<20, fi.Size())

	// While the writer lives, its file is kept even past the grace period.
	s, err := New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	time.Sleep(time.Until(fi.ModTime().Add(tempGrace + 100*time.Millisecond)))
	require.Equal(t, []string{"keep.txt"}, listNames(t, s))
	require.Equal(t, left, temps(t, dir), "a live writer's file is not removed")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, cmd.Wait())
	require.Equal(t, []string{"keep.txt"}, listNames(t, s), "the killed write is not listed")
	require.Empty(t, temps(t, dir), "the killed writer's file is removed by the listing")
	_, err = os.Stat(filepath.Join(dir, "big.bin"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestTempSweepOnlyOurs: only abandoned items named as this package names
// its temporary items are removed: not a young one (its writer may not
// have locked it yet), not one another name, not a non-empty folder.
func TestTempSweepOnlyOurs(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	old := time.Now().Add(-time.Hour)
	mk := func(rel string, isDir, aged bool) {
		p := filepath.Join(dir, rel)
		if isDir {
			require.NoError(t, os.MkdirAll(p, 0o700))
		} else {
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
			require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
		}
		if aged {
			require.NoError(t, os.Chtimes(p, old, old))
		}
	}
	mk("d/"+TempPrefix+"0123456789abcdef", false, true)   // abandoned: removed
	mk("d/"+TempPrefix+"fedcba9876543210", false, false)  // young: kept
	mk("d/"+TempPrefix+"not-one-of-ours!", false, true)   // another name: kept
	mk("d/"+TempPrefix+"00000000000000dd", true, true)    // empty folder: removed
	mk("d/"+TempPrefix+"11111111111111dd/x", false, true) // not empty: kept
	require.NoError(t, os.Chtimes(filepath.Join(dir, "d", TempPrefix+"11111111111111dd"), old, old))
	mk("d/user.txt", false, true)

	require.Equal(t, []string{"d", "d/user.txt"}, listNames(t, s))
	require.ElementsMatch(t, []string{TempPrefix + "fedcba9876543210", TempPrefix + "not-one-of-ours!",
		TempPrefix + "11111111111111dd"}, temps(t, filepath.Join(dir, "d")))
	require.True(t, isTempName(TempPrefix+"0123456789abcdef"))
	require.False(t, isTempName(TempPrefix+"0123456789ABCDEF"))
	require.False(t, isTempName(DefaultTrashDir))
}

// TestLivePutKeepsItsTemp: an in-process Put that stalls past the grace
// period keeps its temporary file through listings, then finishes.
func TestLivePutKeepsItsTemp(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		r, _ := s.Stat(context.Background(), "")
		_, err := s.Put(context.Background(), r, "slow.bin", pr, 2, storage.PutOptions{})
		done <- err
	}()
	_, err = pw.Write([]byte("a"))
	require.NoError(t, err)
	var tmp string
	waitUntil(t, func() bool {
		ts := temps(t, dir)
		if len(ts) == 1 {
			tmp = ts[0]
		}
		return tmp != ""
	})
	fi, err := os.Stat(filepath.Join(dir, tmp))
	require.NoError(t, err)
	time.Sleep(time.Until(fi.ModTime().Add(tempGrace + 100*time.Millisecond)))
	require.Empty(t, listNames(t, s))
	require.Equal(t, []string{tmp}, temps(t, dir))
	_, err = pw.Write([]byte("b"))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
	require.Equal(t, []string{"slow.bin"}, listNames(t, s))
	b, err := os.ReadFile(filepath.Join(dir, "slow.bin"))
	require.NoError(t, err)
	require.Equal(t, "ab", string(b))
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("timed out"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

//go:build linux

package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/local"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
	"github.com/stretchr/testify/require"
)

// syncPair syncs two local roots with the engine.
type syncPair struct {
	t      *testing.T
	eng    *syncengine.Engine
	a, b   string // the roots' directories
	as, bs *local.Storage
}

func newSyncPair(t *testing.T, opts ...local.Option) *syncPair {
	t.Helper()
	p := &syncPair{t: t, a: t.TempDir(), b: t.TempDir()}
	var err error
	p.as, err = local.New(p.a, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.as.Close() })
	p.bs, err = local.New(p.b, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { p.bs.Close() })
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	p.eng, err = syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, p.eng.AddPair(syncengine.Pair{
		ID: "pair", A: p.as, B: p.bs, AName: "A", BName: "B",
		Initial: syncengine.InitialMerge, MassDeleteShare: -1,
	}))
	return p
}

func (p *syncPair) run() syncengine.Run {
	p.t.Helper()
	r, err := p.eng.RunOnce(context.Background(), "pair", syncengine.RunOptions{})
	require.NoError(p.t, err)
	return r
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestEngineInvalidUTF8Names: names that are not valid UTF-8 sync between
// two Linux folders unchanged, both ways (issue 9.15).
func TestEngineInvalidUTF8Names(t *testing.T) {
	p := newSyncPair(t)
	dir, name := "d\xe9p\xf4t", "plan \xff\xfe.txt"
	require.NoError(t, os.Mkdir(filepath.Join(p.a, dir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p.a, dir, name), []byte("from A"), 0o644))
	r := p.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status, "run: %+v", r)
	require.Equal(t, "from A", readString(t, filepath.Join(p.b, dir, name)))

	require.NoError(t, os.WriteFile(filepath.Join(p.b, dir, "r\xe9ponse \x80.txt"), []byte("from B"), 0o644))
	r = p.run()
	require.Equal(t, syncengine.RunSucceeded, r.Status, "run: %+v", r)
	require.Equal(t, "from B", readString(t, filepath.Join(p.a, dir, "r\xe9ponse \x80.txt")))
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestEngineReusedInode: a person deletes a file on A and makes a new file
// or folder that the file system puts on the freed inode number, while
// someone edits the old file on B. That is a delete and a create, not a
// rename: the new item is created on B, and the edit on B (deleted on A,
// modified on B: modified wins) is kept under its own name (issue 9.14).
func TestEngineReusedInode(t *testing.T) {
	for _, folder := range []bool{false, true} {
		t.Run(fmt.Sprintf("folder=%v", folder), func(t *testing.T) {
			p := newSyncPair(t)
			// Several candidates a round, many rounds: another program
			// (other test packages running beside this one, in CI) may
			// take a freed inode number first, and folders are spread over
			// the disk. The rounds end at the first reuse.
			const rounds, victims, tries = 80, 16, 300
			newName, oldName := "", ""
			for round := 0; round < rounds && newName == ""; round++ {
				for i := range victims {
					require.NoError(t, os.WriteFile(filepath.Join(p.a, fmt.Sprintf("old %d-%d.txt", round, i)), []byte("old"), 0o644))
				}
				p.run()
				byIno := map[uint64]string{}
				for i := range victims {
					name := fmt.Sprintf("old %d-%d.txt", round, i)
					require.Equal(t, "old", readString(t, filepath.Join(p.b, name)))
					byIno[inode(t, filepath.Join(p.a, name))] = name
				}
				for _, name := range byIno {
					require.NoError(t, os.Remove(filepath.Join(p.a, name)))
				}
				for i := range tries {
					n := filepath.Join(p.a, fmt.Sprintf("new %d-%d", round, i))
					if folder {
						require.NoError(t, os.Mkdir(n, 0o755))
					} else {
						require.NoError(t, os.WriteFile(n, []byte("brand new"), 0o644))
					}
					if name, ok := byIno[inode(t, n)]; ok {
						newName, oldName = filepath.Base(n), name
						break
					}
				}
			}
			require.NotEmpty(t, newName, "no new item reused a freed inode number: the test needs ext4 or XFS")
			if folder {
				require.NoError(t, os.WriteFile(filepath.Join(p.a, newName, "inside.txt"), []byte("inside"), 0o644))
			}
			require.NoError(t, os.WriteFile(filepath.Join(p.b, oldName), []byte("edited on B meanwhile"), 0o644))

			p.run()
			p.run()
			if folder {
				require.Equal(t, "inside", readString(t, filepath.Join(p.b, newName, "inside.txt")))
			} else {
				require.Equal(t, "brand new", readString(t, filepath.Join(p.b, newName)))
			}
			require.Equal(t, "edited on B meanwhile", readString(t, filepath.Join(p.b, oldName)), "the edit on B was lost")
			require.Equal(t, "edited on B meanwhile", readString(t, filepath.Join(p.a, oldName)), "modified wins: the edited file comes back on A")
		})
	}
}

// TestEngineSaysWhatItSkipped: a symbolic link and a named pipe are not
// synced, and the run says so: it is partial, its counts and its Undone
// text name the skipped items, and the activity log says why (issue 9.16).
func TestEngineSaysWhatItSkipped(t *testing.T) {
	p := newSyncPair(t)
	require.NoError(t, os.WriteFile(filepath.Join(p.a, "real.txt"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink("real.txt", filepath.Join(p.a, "link.txt")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(p.a, "pipe"), 0o644))
	r := p.run()
	require.Equal(t, syncengine.RunPartial, r.Status, "run: %+v", r)
	require.Equal(t, 2, r.Counts.Skipped, "run: %+v", r)
	require.Contains(t, r.Undone, "skipped")
	require.Equal(t, "x", readString(t, filepath.Join(p.b, "real.txt")))
	_, err := os.Lstat(filepath.Join(p.b, "link.txt"))
	require.True(t, os.IsNotExist(err), "the link must not be copied: %v", err)
	acts, err := p.eng.Activity(context.Background(), "pair", syncengine.Page{Limit: 20})
	require.NoError(t, err)
	why := map[string]string{}
	for _, a := range acts {
		if a.Kind == syncengine.ActionSkip {
			why[a.Path] = a.Detail
		}
	}
	require.Contains(t, why["link.txt"], "symbolic link")
	require.Contains(t, why["pipe"], "not a regular file")
}

// runFresh syncs folders a and b as a new process would: new Storages, a
// new engine, the state reopened from db. Nothing (no cached hash, no ID
// read before) carries over from an earlier run.
func runFresh(t *testing.T, a, b, db string) syncengine.Run {
	t.Helper()
	as, err := local.New(a)
	require.NoError(t, err)
	defer as.Close()
	bs, err := local.New(b)
	require.NoError(t, err)
	defer bs.Close()
	store, err := sqlitestore.Open(db)
	require.NoError(t, err)
	defer store.Close()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.NoError(t, eng.AddPair(syncengine.Pair{ID: "pair", A: as, B: bs, Initial: syncengine.InitialMerge}))
	r, err := eng.RunOnce(context.Background(), "pair", syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, r.Status, "run: %+v", r)
	return r
}

// statFresh returns the entry at p in root as a new Storage sees it.
func statFresh(t *testing.T, root, p string) storage.Entry {
	t.Helper()
	s, err := local.New(root)
	require.NoError(t, err)
	defer s.Close()
	e, err := s.Stat(context.Background(), p)
	require.NoError(t, err)
	return e
}

// TestEngineRenameIsAMove: a person renames a 5 MiB file and moves it to
// another folder between two runs of separate processes. The rename keeps
// the file's ID and Version, and the engine moves the file on the other
// side: no byte is sent again and the file there keeps its inode (issue
// 19).
func TestEngineRenameIsAMove(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	db := filepath.Join(t.TempDir(), "sync.db")
	big := make([]byte, 5<<20)
	_, err := rand.Read(big)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(a, "drawings", "old"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(a, "issued"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(a, "drawings", "old", "A-101.pdf"), big, 0o644))
	r := runFresh(t, a, b, db)
	require.Equal(t, int64(len(big)), r.Counts.BytesCopied, "run: %+v", r)
	inoB := inode(t, filepath.Join(b, "drawings", "old", "A-101.pdf"))

	before := statFresh(t, a, "drawings/old/A-101.pdf")
	require.NoError(t, os.Rename(filepath.Join(a, "drawings", "old", "A-101.pdf"), filepath.Join(a, "issued", "A-101 rev B.pdf")))
	after := statFresh(t, a, "issued/A-101 rev B.pdf")
	require.Equal(t, before.ID, after.ID, "a rename keeps the ID")
	require.Equal(t, before.Version, after.Version, "a rename keeps the Version")

	r = runFresh(t, a, b, db)
	require.Equal(t, 1, r.Counts.Moved, "run: %+v", r)
	require.Zero(t, r.Counts.FilesCopied, "run: %+v", r)
	require.Zero(t, r.Counts.BytesCopied, "the rename sent bytes again: %+v", r)
	got, err := os.ReadFile(filepath.Join(b, "issued", "A-101 rev B.pdf"))
	require.NoError(t, err)
	require.True(t, bytes.Equal(big, got), "content on B")
	require.Equal(t, inoB, inode(t, filepath.Join(b, "issued", "A-101 rev B.pdf")), "B's file was rewritten, not moved")
	_, err = os.Lstat(filepath.Join(b, "drawings", "old", "A-101.pdf"))
	require.True(t, os.IsNotExist(err), "the old path on B: %v", err)

	// An idle run afterwards has nothing to do.
	r = runFresh(t, a, b, db)
	require.Equal(t, syncengine.RunCounts{}, r.Counts, "run: %+v", r)
}

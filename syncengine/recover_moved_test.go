package syncengine_test

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// A crash after a Copy of a new file took effect but before its baseline
// item was written leaves only a pending journal record naming the path
// the copy was written to. When a person moves or renames that file
// before the restart, recovery finds it by its content (findMovedCopies)
// and adopts it at the copy's path, so the next plan sees the person's move
// and makes the same move on the other side, rather than copying the
// moved file back as new and the source over again: no content twice on
// either side, at any crash point, with or without a lookup by ID.
func TestInterruptedCopyMovedBeforeRestart(t *testing.T) {
	files := map[string]string{"a.txt": "alpha", "d/b.txt": "bravo", "d/e/c.txt": "charlie",
		"f.txt": "foxtrot", "g.txt": "alpha"} // g.txt: the same content as a.txt
	// move is what the person does on B to every file B holds that was
	// not there before the crash: into a new folder, or renamed in place.
	moves := map[string]func(p string) string{
		"into a folder": func(p string) string { return "moved/" + p },
		"renamed":       func(p string) string { return path.Join(path.Dir(p), "renamed "+path.Base(p)) },
	}
	for _, listOnlyB := range []bool{false, true} {
		newMerge, total, step := copyCrashPoints(t, files, listOnlyB, nil)
		require.Greater(t, total, 5)
		for how, move := range moves {
			for k := 1; k <= total; k += step {
				t.Run(fmt.Sprintf("list only %v/%s/crash at call %d", listOnlyB, how, k), func(t *testing.T) {
					e := newMerge(t)
					e.runCrashingAt(k, true)

					// The person moves every file the sync wrote to B.
					want := map[string]string{}
					for p, c := range files {
						if _, err := e.b.ReadFile(p); err == nil {
							to := move(p)
							if _, err := e.b.Mkdirs(path.Dir(to)); err != nil && path.Dir(to) != "." {
								require.NoError(t, err)
							}
							_, err := e.b.Rename(p, to)
							require.NoError(t, err)
							p = to
						}
						want[p] = c
						for d := path.Dir(p); d != "."; d = path.Dir(d) {
							want[d] = "/"
						}
					}

					e.restart()
					e.settle()
					gotA, gotB := tree(t, e.a), tree(t, e.b)
					require.Equal(t, gotA, gotB)
					// Every file once where the person left it. Folders the
					// person emptied may remain.
					for p, c := range want {
						require.Equal(t, c, gotA[p], p)
					}
					n := 0
					for _, c := range gotA {
						if c != "/" {
							n++
						}
					}
					require.Equal(t, len(want)-folders(want), n, "no file twice: %v", gotA)
					requireBaselineTrue(t, e)
				})
			}
		}
	}
}

// A crash after a Copy of a new file took effect but before its baseline
// item was written, then a person who renames that file and writes another
// file at its old path before the restart: recovery does not take the
// person's file for the copy, looks for the copy by its content
// (findMovedCopies) and adopts it at the copy's path. The next plan makes
// the person's rename on the other side and copies the person's new file,
// rather than copying the renamed file back as new and making a conflict of
// the source and the person's file: no conflict copy, and no content twice
// on either side, at any crash point.
func TestInterruptedCopyMovedAndReplacedBeforeRestart(t *testing.T) {
	files := map[string]string{"a.txt": "alpha", "d/b.txt": "bravo", "f.txt": "foxtrot"}
	for _, listOnlyB := range []bool{false, true} {
		keepBoth := func(p *syncengine.Pair) { p.Conflict = syncengine.ConflictKeepBoth }
		newMerge, total, step := copyCrashPoints(t, files, listOnlyB, keepBoth)
		for k := 1; k <= total; k += step {
			t.Run(fmt.Sprintf("list only %v/crash at call %d", listOnlyB, k), func(t *testing.T) {
				e := newMerge(t)
				e.runCrashingAt(k, true)

				// The person renames every file the sync wrote to B and
				// writes a file of their own at its old path.
				want := map[string]string{}
				for p, c := range files {
					if _, err := e.b.ReadFile(p); err == nil {
						to := path.Join(path.Dir(p), "renamed "+path.Base(p))
						_, err := e.b.Rename(p, to)
						require.NoError(t, err)
						e.write(e.b, p, "the person's "+p)
						want[p] = "the person's " + p
						p = to
					}
					want[p] = c
					for d := path.Dir(p); d != "."; d = path.Dir(d) {
						want[d] = "/"
					}
				}

				e.restart()
				e.settle()
				gotA, gotB := tree(t, e.a), tree(t, e.b)
				require.Equal(t, gotA, gotB)
				require.Equal(t, want, gotA, "every file once, no conflict copy")
				requireBaselineTrue(t, e)
			})
		}
	}
}

// A listing is not a snapshot: the listing with which recovery looks for
// an interrupted Copy's file that a person moved before the restart may
// miss it (an item shifted off an offset page). Recovery lists the side
// once more before it takes the copy for one that never happened, so the
// moved file is adopted rather than copied back as new next to a second
// copy of its source.
func TestInterruptedCopyMovedBeforeRestartMissedByAListing(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Concurrency = 1 })
	lister := &unstable{Storage: e.b}
	e.pair.B = listOnly{Storage: lister}
	e.write(e.a, "a.txt", "alpha")
	base := crashAfterFirstPutOnB(t, e)

	_, err := e.b.Rename("a.txt", "renamed a.txt")
	require.NoError(t, err)
	// The next listing of B, recovery's, misses the renamed copy.
	all, err := sortedList(e.ctx, e.b)
	require.NoError(t, err)
	pick := slices.IndexFunc(all, func(en storage.Entry) bool { return en.Path == "renamed a.txt" })
	require.GreaterOrEqual(t, pick, 0)
	lister.arm(&listPerturbation{kind: "miss", pick: pick})

	e.opts.Store = base
	e.restart()
	e.run() // recovery lists B first (a dry run would take the listing)
	e.settle()
	gotA, gotB := tree(t, e.a), tree(t, e.b)
	require.Equal(t, gotA, gotB)
	require.Equal(t, map[string]string{"renamed a.txt": "alpha"}, gotA)
	requireBaselineTrue(t, e)
}

// copyCrashPoints returns the set-up of a crash test of the initial copy
// of files from A to B (one transfer at a time, B list-only if listOnlyB,
// the pair adjusted by conf when not nil), the number of storage calls of
// a run without a crash, and the step between the crash points to try
// (every call; every third under -short or the race detector).
func copyCrashPoints(t *testing.T, files map[string]string, listOnlyB bool, conf func(*syncengine.Pair)) (newMerge func(*testing.T) *env, total, step int) {
	newMerge = func(t *testing.T) *env {
		e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
			p.Concurrency = 1
			if conf != nil {
				conf(p)
			}
		})
		if listOnlyB {
			e.pair.B = listOnly{Storage: e.b}
			e.restart()
		}
		for p, c := range files {
			e.write(e.a, p, c)
		}
		return e
	}
	probe := newMerge(t)
	probe.run()
	step = 1
	if testing.Short() || raceDetector {
		step = 3
	}
	return newMerge, calls(probe), step
}

// crashAfterFirstPutOnB runs e's pair once with a store that "crashes"
// (records nothing more) as soon as the first Put on B has taken effect,
// then cancels the run, and returns the store it had before, for the
// restart.
func crashAfterFirstPutOnB(t *testing.T, e *env) syncengine.MetadataStore {
	t.Helper()
	base := e.opts.Store
	cs := &crashStore{MetadataStore: base}
	e.opts.Store = cs
	e.restart()
	ctx, cancel := context.WithCancel(context.Background())
	puts := 0
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpPut {
			puts++
			cs.crashed.Store(true) // the Put takes effect; nothing after it is recorded
		}
		return nil
	})
	_, _ = e.eng.RunOnce(ctx, e.pair.ID, syncengine.RunOptions{})
	cancel()
	e.b.SetHook(nil)
	require.Equal(t, 1, puts)
	return base
}

// folders counts the folders of a tree.
func folders(tr map[string]string) int {
	n := 0
	for _, c := range tr {
		if c == "/" {
			n++
		}
	}
	return n
}

// After a power loss, a storage that makes a new file's content durable
// after its name (storage/local in a durability batch) may hold the copy's
// file at its path, empty or cut short, with the modification time the copy
// gave it. Recovery adopts such a file and the next run writes the source's
// content over it, leaving no conflict copy of the cut content. A file a
// person wrote at that path (a new modification time) is not taken for
// one: it is not written over.
func TestInterruptedCopyCutShortIsWrittenAgain(t *testing.T) {
	for _, tc := range []struct {
		name   string
		person bool // the file at the path is a person's, not a cut copy
	}{{"cut short", false}, {"a person's file", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.Concurrency = 1 })
			// B keeps no versions, as a local folder: a conflict there
			// keeps the losing content as a conflict copy.
			e.b = memory.New(memory.WithClock(e.clk.Now), memory.WithVersionHistory(false))
			e.pair.B = e.b
			src, err := e.a.WriteFile("docs/spec.pdf", []byte("the whole specification"))
			require.NoError(t, err)
			_, err = e.a.Mkdirs("other")
			require.NoError(t, err)
			base := crashAfterFirstPutOnB(t, e)

			// The power loss cuts the copy short; or a person replaces it.
			cut, mtime := "the whole", src.ModTime
			if tc.person {
				cut, mtime = "a person's notes", e.clk.Now().Add(time.Minute)
			}
			dir, err := e.b.Stat(e.ctx, "docs")
			require.NoError(t, err)
			_, err = e.b.Put(e.ctx, dir, "spec.pdf", strings.NewReader(cut), int64(len(cut)), storage.PutOptions{ModTime: mtime})
			require.NoError(t, err)

			e.opts.Store = base
			e.restart()
			e.settle()
			gotA, gotB := tree(t, e.a), tree(t, e.b)
			require.Equal(t, gotA, gotB)
			if !tc.person {
				require.Equal(t, map[string]string{"docs": "/", "docs/spec.pdf": "the whole specification", "other": "/"}, gotB)
				return
			}
			// The person's file is the newer side of a conflict: it stays
			// and wins; the specification it replaced on A is kept in A's
			// version history.
			require.Equal(t, "a person's notes", gotB["docs/spec.pdf"])
			ae, err := e.a.Stat(e.ctx, "docs/spec.pdf")
			require.NoError(t, err)
			kept := false
			for _, v := range e.a.Versions(ae.ID) {
				kept = kept || string(v.Data) == "the whole specification"
			}
			require.True(t, kept, "the specification is in A's version history")
			requireBaselineTrue(t, e)
		})
	}
}

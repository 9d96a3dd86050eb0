package syncengine_test

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// crashHook returns a storage hook that crashes the process at the k-th
// storage call: the store stops writing and the run is cancelled. With
// after, the call itself still goes through (the service did it, the
// process died before it heard back); else it fails.
func crashHook(k int, cs *crashStore, cancel context.CancelFunc, after bool) func(memory.Op) error {
	var mu sync.Mutex
	calls := 0
	return func(memory.Op) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < k {
			return nil
		}
		cs.crashed.Store(true)
		if after && calls == k {
			return nil
		}
		cancel()
		return context.Canceled
	}
}

// runCrashingAt runs the pair once in a process that crashes at the k-th
// storage call (see crashHook): the store stops writing and the run is
// cancelled. The storages' hooks are cleared after; the next e.restart()
// is the new process, on the store as the crash left it.
func (e *env) runCrashingAt(k int, after bool) {
	base := e.opts.Store
	cs := &crashStore{MetadataStore: base}
	e.opts.Store = cs
	e.restart()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := crashHook(k, cs, cancel, after)
	e.a.SetHook(hook)
	e.b.SetHook(hook)
	_, _ = e.eng.RunOnce(ctx, e.pair.ID, syncengine.RunOptions{})
	e.a.SetHook(nil)
	e.b.SetHook(nil)
	e.opts.Store = base
}

// A standard initial sync (side B must be empty) that a crash interrupts
// at any storage call, with or without the call taking effect, resumes
// after a restart: what the sync itself wrote to B (recorded in the
// baseline or in the journal) does not count as data that was there
// before, the sync goes on, and the sides converge without duplicates.
// Before the restart, a person may also edit or delete files on A, so
// that what the interrupted sync wrote to B no longer matches its source.
func TestInterruptedStandardInitialSyncResumes(t *testing.T) {
	type layout struct {
		name  string
		files map[string]string
		// noCommonHash shows the sides with no content hash in common and
		// no way to compute one (recovery can then only compare bytes with
		// the source as it is now).
		noCommonHash bool
	}
	folders := layout{"folders", map[string]string{"Drawings/Level 1/plan.pdf": "plan v1",
		"Drawings/Level 2/plan.pdf": "plan v2", "Specs/spec.docx": "spec", "readme.txt": "hello"}, false}
	files := layout{"files without a common hash", map[string]string{"a.txt": "a", "b.txt": "b", "c.txt": "c"}, true}
	type person struct {
		name string
		act  func(files map[string]string) // the changes to make on A before the restart ("": delete)
	}
	nobody := person{"nobody", func(map[string]string) {}}
	edits := person{"edits on A", func(f map[string]string) {
		for p, c := range f {
			f[p] = c + " edited"
		}
	}}
	deletes := person{"deletes on A", func(f map[string]string) {
		for p := range f {
			if p != "readme.txt" && p != "a.txt" {
				f[p] = ""
			}
		}
	}}
	// after: the crashing call takes effect (only a person's changes make
	// a difference then).
	cases := []struct {
		l     layout
		who   person
		after []bool
	}{
		{folders, nobody, []bool{false, true}},
		{folders, edits, []bool{true}},
		{files, nobody, []bool{false, true}},
		{files, edits, []bool{true}},
		{files, deletes, []bool{true}},
	}
	step := 1
	if testing.Short() || raceDetector {
		step = 4
	}
	for _, c := range cases {
		l, who := c.l, c.who
		newStandard := func() *env {
			e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
				p.Initial = syncengine.InitialStandard
				p.Concurrency = 1 // the same crash points in every run
			})
			if l.noCommonHash {
				e.a = memory.New(memory.WithClock(e.clk.Now), memory.WithHashes(storage.HashSHA256), memory.WithVersionHistory(false))
				e.b = memory.New(memory.WithClock(e.clk.Now), memory.WithHashes(storage.HashQuickXor))
				e.pair.A, e.pair.B = withoutStatID{Storage: e.a, ChangeFeed: e.a}, listOnly{Storage: e.b}
				e.restart()
			}
			return e
		}
		setup := func(e *env) {
			for p, c := range l.files {
				e.write(e.a, p, c)
			}
		}
		probe := newStandard()
		setup(probe)
		probe.run()
		total := calls(probe)
		require.Greater(t, total, 5)
		for _, after := range c.after {
			for k := 1; k <= total; k += step {
				t.Run(fmt.Sprintf("%s/%s/after %v/crash at call %d", l.name, who.name, after, k), func(t *testing.T) {
					e := newStandard()
					setup(e)
					e.runCrashingAt(k, after)
					changes := maps.Clone(l.files)
					who.act(changes)
					for p, c := range changes {
						switch {
						case c == "":
							require.NoError(t, e.a.Remove(p))
						case c != l.files[p]:
							e.write(e.a, p, c)
						}
					}

					e.restart()
					_, err := e.eng.DryRun(e.ctx, e.pair.ID)
					require.NoError(t, err, "the plan of the resumed sync")
					r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{})
					require.NoError(t, err)
					require.Contains(t, []syncengine.RunStatus{syncengine.RunSucceeded, syncengine.RunPartial}, r.Status)
					e.settle()
					// Every file once, with its latest content; none of the
					// deleted ones.
					want := map[string]string{}
					for p, c := range changes {
						if c == "" {
							continue
						}
						want[p] = c
						for d := path.Dir(p); d != "."; d = path.Dir(d) {
							want[d] = "/"
						}
					}
					require.Equal(t, want, tree(t, e.a))
					require.Equal(t, want, tree(t, e.b))
					requireBaselineTrue(t, e)
					st, err := e.eng.Stats(e.ctx, e.pair.ID)
					require.NoError(t, err)
					require.True(t, st.Initialized)
				})
			}
		}
	}
}

package syncengine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// bigProject writes a project of 3 areas × 2 levels × 12 sheets (72
// files in 9 folders) to a.
func bigProject(t *testing.T, a *memory.Storage) {
	for area := range 3 {
		for level := range 2 {
			for sheet := range 12 {
				p := fmt.Sprintf("Area %d/Level %d/sheet %02d.pdf", area, level, sheet)
				_, err := a.WriteFile(p, []byte("drawing "+p))
				require.NoError(t, err)
			}
		}
	}
}

// unchunked returns what an initial sync of bigProject that never yields
// leaves on its target.
func unchunked(t *testing.T) map[string]string {
	e := newSchedEnv(t, syncengine.Options{InitialChunk: -1})
	a, b := memory.New(memory.WithClock(e.clk.Now)), memory.New(memory.WithClock(e.clk.Now))
	bigProject(t, a)
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "ref", A: plainStorage{a}, B: plainStorage{b},
		Initial: syncengine.InitialStandard}))
	r, err := e.eng.RunOnce(context.Background(), "ref", syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, r.Status)
	return tree(t, b)
}

// TestScheduleInitialChunksShareTheSlot: with one slot for initial syncs,
// a big project's initial sync that started first yields the slot after
// InitialChunk actions to the small projects waiting, which all complete
// before it resumes; it then completes with exactly what an initial sync
// that never yields gives. The yielded chunk is a partial run that does
// not count for the stop policy (one run, stop after it: the pair stops
// only once its initial sync is complete).
func TestScheduleInitialChunksShareTheSlot(t *testing.T) {
	want := unchunked(t)
	e := newSchedEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, InitialChunk: 20})
	a, b := memory.New(memory.WithClock(e.clk.Now)), memory.New(memory.WithClock(e.clk.Now))
	bigProject(t, a)
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "big", A: loggedStorage{plainStorage{a}, "big", e.log},
		B: plainStorage{b}, Initial: syncengine.InitialStandard, Interval: 5 * time.Minute,
		Stop: syncengine.StopPolicy{AfterRuns: 1}}))
	e.ids = append(e.ids, "big")
	for i := range 3 {
		e.add(fmt.Sprintf("small%d", i), 3)
	}
	e.start()
	waitFor(t, "every initial sync to complete", func() bool {
		for _, id := range e.ids {
			st, err := e.eng.Stats(context.Background(), id)
			require.NoError(t, err)
			runs := e.runs(id)
			if !st.Initialized || runs[len(runs)-1].Status == syncengine.RunRunning {
				return false
			}
		}
		return true
	})

	require.Equal(t, []string{"big", "small0", "small1", "small2", "big"}, e.log.get(),
		"the small projects run while the big one waits its turn")
	runs := e.runs("big")
	require.Len(t, runs, 2)
	first := runs[0]
	require.True(t, first.Initial)
	require.Equal(t, syncengine.RunPartial, first.Status)
	require.Contains(t, first.Undone, "initial sync yielded its slot")
	require.Equal(t, 20, first.Counts.FilesCopied+first.Counts.FoldersMade, "one chunk of InitialChunk actions")
	require.True(t, runs[1].Initial, "the next run resumes the initial sync")
	require.Equal(t, syncengine.RunSucceeded, runs[1].Status)
	require.Equal(t, want, tree(t, b), "the same as an initial sync that never yields")
	require.Equal(t, tree(t, a), tree(t, b))
	for i := range 3 {
		id := fmt.Sprintf("small%d", i)
		r := e.runs(id)
		require.Len(t, r, 1, id)
		require.Equal(t, syncengine.RunSucceeded, r[0].Status, id)
	}
	var c syncengine.StopCounts
	waitFor(t, "the completed initial sync to be counted", func() bool {
		var err error
		c, err = e.eng.StopCounts(context.Background(), "big")
		require.NoError(t, err)
		return c.Runs > 0
	})
	require.Equal(t, 1, c.Runs, "the chunk does not count as a run of its own")
	st, err := e.eng.Stats(context.Background(), "big")
	require.NoError(t, err)
	require.True(t, st.Initialized)
}

// TestScheduleInitialChunkAlone: an initial sync that no other initial
// sync waits for never yields, whatever InitialChunk.
func TestScheduleInitialChunkAlone(t *testing.T) {
	e := newSchedEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, InitialChunk: 5})
	e.add("alone", 30)
	e.start()
	waitFor(t, "the initial sync", func() bool {
		runs := e.runs("alone")
		return len(runs) == 1 && runs[0].Status != syncengine.RunRunning
	})
	e.idle()
	runs := e.runs("alone")
	require.Len(t, runs, 1)
	require.Equal(t, syncengine.RunSucceeded, runs[0].Status)
	require.Equal(t, 30, runs[0].Counts.FilesCopied)
}

// TestScheduleInitialChunkCrashResumes: the process dies in the middle of
// a chunk (in the first one, and in the run that resumed the yielded
// initial sync), with or without the storage call it died in taking
// effect; the restarted engine resumes the initial sync and the target
// ends with every file once, as an initial sync that never yields gives,
// and a baseline true to both sides.
func TestScheduleInitialChunkCrashResumes(t *testing.T) {
	want := unchunked(t)
	type crash struct {
		k     int // the write to the big project's target the process dies in
		after bool
	}
	cases := []crash{{10, false}, {25, false}, {25, true}, {60, true}}
	if testing.Short() || raceDetector {
		cases = []crash{{10, false}, {25, true}}
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("write %d after %v", tc.k, tc.after), func(t *testing.T) {
			clk := manualclock.New(epoch)
			base, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"), sqlitestore.SynchronousNormal())
			require.NoError(t, err)
			t.Cleanup(func() { _ = base.Close() })
			a, b := memory.New(memory.WithClock(clk.Now)), memory.New(memory.WithClock(clk.Now))
			sa, sb := memory.New(memory.WithClock(clk.Now)), memory.New(memory.WithClock(clk.Now))
			bigProject(t, a)
			_, err = sa.WriteFile("s.txt", []byte("small"))
			require.NoError(t, err)
			pairs := []syncengine.Pair{
				{ID: "big", A: plainStorage{a}, B: plainStorage{b}, Initial: syncengine.InitialStandard},
				{ID: "small", A: plainStorage{sa}, B: plainStorage{sb}, Initial: syncengine.InitialStandard},
			}
			engine := func(st syncengine.MetadataStore) *syncengine.Engine {
				eng, err := syncengine.New(syncengine.Options{Store: st, Clock: clk, Logger: quietLogger(),
					MaxConcurrentPairs: 2, WakeDelay: -1, InitialChunk: 20})
				require.NoError(t, err)
				for _, p := range pairs {
					require.NoError(t, eng.AddPair(p))
				}
				return eng
			}

			cs := &crashStore{MetadataStore: base}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			writes := 0
			b.SetHook(func(op memory.Op) error {
				if op != memory.OpPut && op != memory.OpMakeDir {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				if writes++; writes < tc.k {
					return nil
				}
				cs.crashed.Store(true)
				cancel()
				if tc.after && writes == tc.k {
					return nil
				}
				return context.Canceled
			})
			eng := engine(cs)
			done := make(chan struct{})
			go func() { _ = eng.Run(ctx); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the process did not die")
			}
			b.SetHook(nil)

			eng = engine(base)
			for i := 0; ; i++ {
				require.Less(t, i, 3, "the initial sync completes")
				r, err := eng.RunOnce(context.Background(), "big", syncengine.RunOptions{})
				require.NoError(t, err)
				st, err := eng.Stats(context.Background(), "big")
				require.NoError(t, err)
				if st.Initialized {
					require.Equal(t, syncengine.RunSucceeded, r.Status)
					break
				}
			}
			require.Equal(t, want, tree(t, b))
			for it, err := range base.Items(context.Background(), "big") {
				require.NoError(t, err)
				for s, st := range []*memory.Storage{a, b} {
					ss := it.Side(syncengine.Side(s))
					got, err := st.Stat(context.Background(), ss.Path)
					require.NoError(t, err, "baseline path %q on %s", ss.Path, syncengine.Side(s))
					require.Equal(t, ss.ID, got.ID, "baseline path %q on %s", ss.Path, syncengine.Side(s))
				}
			}
			runs, err := base.Runs(context.Background(), "big", syncengine.Page{})
			require.NoError(t, err)
			yielded := false
			for _, r := range runs {
				yielded = yielded || strings.Contains(r.Undone, "yielded")
			}
			require.Equal(t, tc.k > 20, yielded, "a crash after the first chunk comes after the big project yielded")
		})
	}
}

// TestScheduleInitialChunkNotForPausedPairs: a new pair that is paused
// does not make a running initial sync yield each time its Interval
// comes (it could not run anyway); time passes during the big project's
// transfers, a minute a file.
func TestScheduleInitialChunkNotForPausedPairs(t *testing.T) {
	e := newSchedEnv(t, syncengine.Options{MaxConcurrentPairs: 2, WakeDelay: -1, InitialChunk: 20})
	e.add("held", 2)
	require.NoError(t, e.eng.Pause(context.Background(), "held", "waiting for approval"))
	a, b := memory.New(memory.WithClock(e.clk.Now)), memory.New(memory.WithClock(e.clk.Now))
	bigProject(t, a)
	a.SetHook(func(op memory.Op) error {
		if op == memory.OpOpen {
			e.clk.Advance(time.Minute)
		}
		return nil
	})
	require.NoError(t, e.eng.AddPair(syncengine.Pair{ID: "big", A: plainStorage{a}, B: plainStorage{b},
		Initial: syncengine.InitialStandard, Interval: 5 * time.Minute}))
	e.ids = append(e.ids, "big")
	e.start()
	waitFor(t, "the big project's initial sync", func() bool {
		st, err := e.eng.Stats(context.Background(), "big")
		require.NoError(t, err)
		runs := e.runs("big")
		return st.Initialized && runs[len(runs)-1].Status != syncengine.RunRunning
	})
	runs := e.runs("big")
	require.Len(t, runs, 1, "no yield to a paused pair")
	require.Equal(t, syncengine.RunSucceeded, runs[0].Status)
	require.Greater(t, e.clk.Now().Sub(epoch), 30*time.Minute, "the paused pair's Interval came during the run")
	require.Equal(t, tree(t, a), tree(t, b))
}

package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/local"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// The environment of a worker process started by TestThreeWorkerProcesses.
const (
	envWorker = "PROCORESYNC_CLUSTER_TEST_WORKER" // the worker's ID
	envDSN    = "PROCORESYNC_CLUSTER_TEST_DSN"
	envRoot   = "PROCORESYNC_CLUSTER_TEST_ROOT"
)

// procLatency is how long each upload takes in the worker processes (half
// before its first byte, half after).
const procLatency = 120 * time.Millisecond

func TestMain(m *testing.M) {
	if raw := os.Getenv(envFleet); raw != "" {
		os.Exit(fleetWorker(raw))
	}
	if id := os.Getenv(envWorker); id != "" {
		os.Exit(workerProcess(id, os.Getenv(envDSN), os.Getenv(envRoot)))
	}
	os.Exit(m.Run())
}

// slowUploads makes every Put of the Storage take procLatency.
type slowUploads struct{ storage.Storage }

func (s slowUploads) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	return s.Storage.Put(ctx, parent, name, &slowReader{r: r, ctx: ctx}, size, opt)
}

type slowReader struct {
	r     io.Reader
	ctx   context.Context
	reads int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.reads < 2 {
		s.reads++
		t := time.NewTimer(procLatency / 2)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
			return 0, s.ctx.Err()
		}
	}
	if len(p) > 16<<10 {
		p = p[:16<<10]
	}
	return s.r.Read(p)
}

// workerProcess is the main of a worker process: it works pairs whose
// sides are the folders root/a/<pair> and root/b/<pair>, appending
// "start|end <pair> <unix nanos>" lines to root/spans-<id>.log, until
// SIGTERM (drain).
func workerProcess(id, dsn, root string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "worker", id, err); return 2 }
	store, err := pgstore.Open(ctx, dsn)
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	spans, err := os.OpenFile(filepath.Join(root, "spans-"+id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer spans.Close()
	var mu sync.Mutex
	w, err := New(Config{
		Pool: pool, Store: store, ID: id, MaxRuns: 2,
		Pairs: func(_ context.Context, pairID string) (syncengine.Pair, error) {
			a, err := local.New(filepath.Join(root, "a", pairID))
			if err != nil {
				return syncengine.Pair{}, err
			}
			b, err := local.New(filepath.Join(root, "b", pairID))
			if err != nil {
				return syncengine.Pair{}, err
			}
			return syncengine.Pair{ID: pairID, A: a, B: slowUploads{b}, Initial: syncengine.InitialStandard,
				Interval: time.Hour, Concurrency: 1}, nil
		},
		Engine:            syncengine.Options{Logger: slog.New(slog.DiscardHandler)},
		LeaseTTL:          2 * time.Second,
		Tick:              300 * time.Millisecond,
		BusySnooze:        200 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return fail(err)
	}
	w.onRun = func(pairID string, start bool) {
		mu.Lock()
		defer mu.Unlock()
		what := "end"
		if start {
			what = "start"
		}
		fmt.Fprintf(spans, "%s %s %d\n", what, pairID, time.Now().UnixNano())
	}
	if err := w.Run(ctx); err != nil {
		return fail(err)
	}
	return 0
}

// TestThreeWorkerProcesses is the proof on local folders: three
// worker processes share 30 pairs; one is killed with SIGKILL in the
// middle of uploads; every pair converges with exactly its files, no pair
// ran on two workers at once, and the killed worker's pairs resume on the
// others.
func TestThreeWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three worker processes; not in -short")
	}
	dsn := testservices.Postgres(t)
	ctx := context.Background()
	store, err := pgstore.Open(ctx, dsn)
	require.NoError(t, err)
	store.Close()
	pool := newPool(t, dsn)
	require.NoError(t, Migrate(ctx, pool))
	root := t.TempDir()
	const pairs, files = 30, 5
	want := map[string][]string{}
	for i := range pairs {
		id := fmt.Sprintf("p%02d", i)
		require.NoError(t, os.MkdirAll(filepath.Join(root, "a", id, "Drawings"), 0o700))
		require.NoError(t, os.MkdirAll(filepath.Join(root, "b", id), 0o700))
		for f := range files {
			name := fmt.Sprintf("Drawings/%s-%d.pdf", id, f)
			require.NoError(t, os.WriteFile(filepath.Join(root, "a", id, name), []byte(strings.Repeat(id, 20000)), 0o600))
			want[id] = append(want[id], name)
		}
		require.NoError(t, Register(ctx, pool, id, time.Hour))
	}
	procs := map[string]*exec.Cmd{}
	for _, id := range []string{"w1", "w2", "w3"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envWorker+"="+id, envDSN+"="+dsn, envRoot+"="+root)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		procs[id] = cmd
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
		})
	}
	// Kill w1 once it is uploading in a run.
	waitFor(t, time.Minute, "w1 to be in the middle of a run", func() bool {
		for p, ss := range readSpans(t, root, "w1") {
			if last := ss[len(ss)-1]; last.end.IsZero() {
				entries, _ := os.ReadDir(filepath.Join(root, "b", p, "Drawings"))
				if len(entries) > 0 {
					return true
				}
			}
		}
		return false
	})
	require.NoError(t, procs["w1"].Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	_ = procs["w1"].Wait()
	missing := func() []string {
		var out []string
		for id, names := range want {
			for _, n := range names {
				if _, err := os.Stat(filepath.Join(root, "b", id, n)); err != nil {
					out = append(out, id+"/"+n)
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(3 * time.Minute)
	for len(missing()) > 0 {
		if time.Now().After(deadline) {
			for _, w := range []string{"w1", "w2", "w3"} {
				t.Logf("%s: %v", w, readSpans(t, root, w))
			}
			t.Fatalf("not converged after 3 minutes: missing %v", missing())
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, time.Minute, "the live workers' runs to end", func() bool {
		for _, w := range []string{"w2", "w3"} {
			for _, ss := range readSpans(t, root, w) {
				if ss[len(ss)-1].end.IsZero() {
					return false
				}
			}
		}
		return true
	})
	// Exactly the files, with A's bytes.
	leftovers := 0
	for id, names := range want {
		var got []string
		err := filepath.WalkDir(filepath.Join(root, "b", id), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && (d.Name() == local.MetaDir || d.Name() == local.DefaultTrashDir) {
				return filepath.SkipDir // the local folder connector's own hidden folders
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(root, "b", id), p)
			if strings.HasPrefix(d.Name(), ".procoresync-tmp-") {
				leftovers++ // the local folder connector's temporary file of the killed upload
				return nil
			}
			got = append(got, filepath.ToSlash(rel))
			return nil
		})
		require.NoError(t, err)
		sort.Strings(got)
		require.Equal(t, names, got, "pair %s: no duplicate, no leftover", id)
		for _, n := range names {
			a, _ := os.ReadFile(filepath.Join(root, "a", id, n))
			b, _ := os.ReadFile(filepath.Join(root, "b", id, n))
			require.Equal(t, a, b, "%s/%s", id, n)
		}
	}
	// No overlap; the killed worker's open runs count until the kill.
	all := map[string][]span{}
	for _, w := range []string{"w1", "w2", "w3"} {
		for p, ss := range readSpans(t, root, w) {
			for _, s := range ss {
				if s.end.IsZero() {
					require.Equal(t, "w1", w, "only the killed worker leaves runs open")
					s.end = killed
				}
				all[p] = append(all[p], s)
			}
		}
	}
	var worst time.Duration
	resumed := 0
	for p, ss := range all {
		sort.Slice(ss, func(i, j int) bool { return ss[i].start.Before(ss[j].start) })
		for i := 1; i < len(ss); i++ {
			require.Falsef(t, ss[i].start.Before(ss[i-1].end), "pair %s: run on %s overlaps run on %s", p, ss[i].worker, ss[i-1].worker)
			if ss[i-1].worker == "w1" && ss[i-1].end.Equal(killed) {
				resumed++
				worst = max(worst, ss[i].start.Sub(killed))
			}
		}
	}
	require.Positive(t, resumed)
	t.Logf("3 processes, %d pairs × %d files: %d pair(s) cut off by SIGKILL resumed on other workers, the last %s after the kill (lease TTL 2s); %d temporary file(s) of killed uploads left by the local connector",
		pairs, files, resumed, worst.Round(time.Millisecond), leftovers)
}

// readSpans reads a worker process's run log.
func readSpans(t testing.TB, root, worker string) map[string][]span {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "spans-"+worker+".log"))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]span{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 {
			continue // a line cut by the kill
		}
		n, err := strconv.ParseInt(fs[2], 10, 64)
		if err != nil {
			continue
		}
		at := time.Unix(0, n)
		ss := out[fs[1]]
		if fs[0] == "start" {
			out[fs[1]] = append(ss, span{worker: worker, start: at})
		} else if len(ss) > 0 {
			ss[len(ss)-1].end = at
		}
	}
	return out
}

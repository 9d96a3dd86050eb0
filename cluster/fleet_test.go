package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
	"github.com/procoresync/procoresync/syncengine/redislimit"
)

// envFleet carries a fleetConfig (JSON) to a worker process of the fleet
// on the Procore and Graph fakes.
const envFleet = "PROCORESYNC_CLUSTER_TEST_FLEET"

// fleetBudgetKey is the Procore budget every worker process shares.
const fleetBudgetKey = "procore:fleet-app"

// fleetConfig is what a fleet worker process needs: where the fakes, the
// database and Redis are, the shared budget, and the projects.
type fleetConfig struct {
	Worker       string           `json:"worker"`
	DSN          string           `json:"dsn"`
	Root         string           `json:"root"` // spans-<worker>.log goes here
	RedisAddr    string           `json:"redis_addr"`
	RedisPrefix  string           `json:"redis_prefix"`
	ProcoreURL   string           `json:"procore_url"`
	FileHosts    []string         `json:"file_hosts"`
	ProcoreToken string           `json:"procore_token"`
	CompanyID    int64            `json:"company_id"`
	GraphURL     string           `json:"graph_url"`
	GraphToken   string           `json:"graph_token"`
	Projects     map[string]int64 `json:"projects"` // pair ID -> Procore project
	Hourly       int              `json:"hourly"`
	Spike        int              `json:"spike"`
	MaxRuns      int              `json:"max_runs"`
}

// fleetBudget is the shared Procore budget: Hourly calls per hour and
// Spike per 10 seconds, as Procore counts them.
func (c fleetConfig) budget() syncengine.BudgetConfig {
	return syncengine.BudgetConfig{Windows: []syncengine.Window{
		{Limit: c.Hourly, Per: time.Hour}, {Limit: c.Spike, Per: 10 * time.Second}}}
}

// targetRoot is the SharePoint folder of a project's Documents.
func targetRoot(pairID string) string { return "Procore/" + pairID + "/Documents" }

// fleetWorker is the main of a worker process of the fleet: pairs are
// Procore project Documents (on the Procore fake, by URL) <-> a folder of
// a SharePoint library (on the Graph fake, by URL), every Procore call
// paced by the budget shared in Redis. It appends "start|end <pair>
// <unix nanos>" lines to root/spans-<worker>.log and works until SIGTERM.
func fleetWorker(raw string) int {
	var c fleetConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		fmt.Fprintln(os.Stderr, "fleet worker: bad config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "fleet worker", c.Worker, err); return 2 }
	store, err := pgstore.Open(ctx, c.DSN, pgstore.MaxConns(c.MaxRuns+2))
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	pcfg, err := pgxpool.ParseConfig(c.DSN)
	if err != nil {
		return fail(err)
	}
	pcfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fail(err)
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: c.RedisAddr, DialTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer rdb.Close()
	limiter, err := redislimit.New(redislimit.Options{Client: rdb, Prefix: c.RedisPrefix,
		Budgets: map[string]syncengine.BudgetConfig{fleetBudgetKey: c.budget()}, MaxSleep: 100 * time.Millisecond})
	if err != nil {
		return fail(err)
	}
	pc, err := procore.NewClient(procore.Options{
		BaseURL: c.ProcoreURL, CompanyID: c.CompanyID, FileHosts: c.FileHosts,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: c.ProcoreToken}),
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond,
		Pacer: limiter, PaceKey: fleetBudgetKey,
	})
	if err != nil {
		return fail(err)
	}
	gc, err := msgraph.NewClient(msgraph.Options{
		BaseURL:      c.GraphURL,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: c.GraphToken, Expiry: time.Now().Add(24 * time.Hour)}),
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 200 * time.Millisecond,
	})
	if err != nil {
		return fail(err)
	}
	spans, err := os.OpenFile(filepath.Join(c.Root, "spans-"+c.Worker+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer spans.Close()
	var mu sync.Mutex
	w, err := New(Config{
		Pool: pool, Store: store, ID: c.Worker, MaxRuns: c.MaxRuns,
		Pairs: func(ctx context.Context, pairID string) (syncengine.Pair, error) {
			project, ok := c.Projects[pairID]
			if !ok {
				return syncengine.Pair{}, fmt.Errorf("no project for pair %q", pairID)
			}
			lib, err := sharepoint.New(ctx, gc, sharepoint.Options{Host: graphtest.SharePointHost,
				SitePath: "sites/Projects", RootPath: targetRoot(pairID)})
			if err != nil {
				return syncengine.Pair{}, err
			}
			return syncengine.Pair{ID: pairID, Name: pairID + " / Documents",
				A: procore.NewProjectDocuments(pc, project, nil), B: lib, AName: "Procore", BName: "SharePoint",
				Initial: syncengine.InitialStandard, Interval: time.Hour, Concurrency: 2,
				Budgets: []string{fleetBudgetKey}, NameMapping: true}, nil
		},
		Engine:            syncengine.Options{Limiter: limiter, Logger: slog.New(slog.DiscardHandler)},
		LeaseTTL:          2 * time.Second,
		Tick:              300 * time.Millisecond,
		BusySnooze:        200 * time.Millisecond,
		FetchPollInterval: 100 * time.Millisecond,
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

// fleet is a test's Procore and Graph fakes, database, Redis budget and
// worker processes.
type fleet struct {
	t       testing.TB
	cfg     fleetConfig
	pc      *procoretest.Server
	gs      *graphtest.Server
	drive   string
	files   int
	procs   map[string]*exec.Cmd
	pool    *pgxpool.Pool
	started time.Time

	mu      sync.Mutex
	calls   []time.Time // every Procore API-host call, as the fake received it
	limited int         // Procore calls answered 429
	uploads map[string]int
}

// fleetOptions size a fleet.
type fleetOptions struct {
	projects, files int
	fileSize        int
	uploadLatency   time.Duration // added to every Graph upload
	hourly, spike   int           // the shared Procore budget (also the fake's limits)
	maxRuns         int           // runs per worker process
}

// newFleet starts the fakes (in this process, on loopback) with the
// projects' Documents on Procore and an empty SharePoint folder per
// project (the pairs are registered by register).
func newFleet(t testing.TB, o fleetOptions) *fleet {
	dsn := testservices.Postgres(t)
	rd := testservices.NewRedis(t)
	ctx := context.Background()
	store, err := pgstore.Open(ctx, dsn)
	require.NoError(t, err)
	store.Close()
	f := &fleet{t: t, files: o.files, procs: map[string]*exec.Cmd{}, uploads: map[string]int{}}
	f.pool = newPool(t, dsn)
	require.NoError(t, Migrate(ctx, f.pool))

	f.pc = procoretest.New(procoretest.Options{HourlyLimit: o.hourly, SpikeLimit: o.spike, TokenLifetime: 100 * time.Hour})
	t.Cleanup(f.pc.Close)
	f.gs = graphtest.New(graphtest.Options{})
	t.Cleanup(f.gs.Close)
	site := f.gs.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	f.drive = f.gs.SiteDrives(site)[0]
	f.cfg = fleetConfig{DSN: dsn, Root: t.TempDir(), RedisAddr: rd.Addr, RedisPrefix: rd.Prefix,
		ProcoreURL: f.pc.URL, FileHosts: f.pc.FileHosts(), ProcoreToken: f.pc.IssueToken(), CompanyID: f.pc.CompanyID,
		GraphURL: f.gs.BaseURL(), GraphToken: f.gs.Token(), Projects: map[string]int64{},
		Hourly: o.hourly, Spike: o.spike, MaxRuns: o.maxRuns}
	for i := range o.projects {
		id := fmt.Sprintf("proj-%03d", i)
		project := f.pc.AddProject(f.pc.CompanyID, "Project "+id)
		f.cfg.Projects[id] = project
		for n := range o.files {
			_, err := f.pc.UIPutFile(procoretest.ProjectDocs(project), f.name(id, n), f.content(id, n, o.fileSize))
			require.NoError(t, err)
		}
		_, err := f.gs.WebMkdir(f.drive, targetRoot(id))
		require.NoError(t, err)
	}
	f.pc.Observe(func(x procoretest.Exchange) {
		if x.Host != procoretest.HostAPI || strings.HasPrefix(x.Request.URL.Path, "/oauth/") {
			return
		}
		f.mu.Lock()
		f.calls = append(f.calls, time.Now())
		if x.Status == http.StatusTooManyRequests {
			f.limited++
		}
		f.mu.Unlock()
	})
	// The calls that carry a file's bytes: simple uploads and upload
	// session fragments.
	uploadOps := []string{"drives.UploadByPath", "drives.UploadNewFile", "drives.ReplaceContent", "uploadSession.PutFragment"}
	if o.uploadLatency > 0 {
		for _, op := range uploadOps {
			f.gs.Inject(graphtest.Fault{Op: op, Latency: o.uploadLatency, Times: graphtest.Forever})
		}
	}
	f.gs.Observe(func(x graphtest.Exchange) {
		if slices.Contains(uploadOps, x.Op) && x.Status < 300 {
			f.mu.Lock()
			f.uploads[x.Op]++
			f.mu.Unlock()
		}
	})
	return f
}

func (f *fleet) name(pairID string, n int) string {
	return fmt.Sprintf("Drawings/%s-A%03d.pdf", pairID, n)
}

func (f *fleet) content(pairID string, n, size int) []byte {
	head := fmt.Sprintf("%%PDF %s %d ", pairID, n)
	return []byte(head + strings.Repeat("x", max(size-len(head), 0)))
}

// register puts every project's pair on the schedule and wakes it, as a
// webhook ingress would (an insert-only River client in this process), so
// that its first run does not wait for River's leader to be elected.
// Wake (cluster.Wake) does the same one pair at a time.
func (f *fleet) register() {
	ctx := context.Background()
	ingress, err := river.NewClient(riverpgxv5.New(f.pool), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(f.t, err)
	ids := slices.Sorted(maps.Keys(f.cfg.Projects))
	// All at once (as Register does one by one), then one wake per pair
	// in one insert, so that no pair's first run starts before its wake
	// (a wake during a run asks for one more run).
	_, err = f.pool.Exec(ctx, `INSERT INTO cluster_pairs (pair_id, interval_us) SELECT unnest($1::text[]), $2`,
		ids, time.Hour.Microseconds())
	require.NoError(f.t, err)
	f.started = time.Now()
	var wakes []river.InsertManyParams
	for _, id := range ids {
		wakes = append(wakes, river.InsertManyParams{Args: runArgs{PairID: id}, InsertOpts: runInsertOpts(DefaultQueue, priorityWake)})
	}
	_, err = ingress.InsertMany(ctx, wakes)
	require.NoError(f.t, err)
}

// waitReady waits until every started worker process has opened its run
// log, which it does after connecting to PostgreSQL and Redis.
func (f *fleet) waitReady() {
	waitFor(f.t, time.Minute, "the worker processes to start", func() bool {
		for id := range f.procs {
			if _, err := os.Stat(filepath.Join(f.cfg.Root, "spans-"+id+".log")); err != nil {
				return false
			}
		}
		return true
	})
}

// start starts worker process id.
func (f *fleet) start(id string) {
	c := f.cfg
	c.Worker = id
	raw, err := json.Marshal(c)
	require.NoError(f.t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envFleet+"="+string(raw))
	cmd.Stderr = os.Stderr
	require.NoError(f.t, cmd.Start())
	f.procs[id] = cmd
	f.t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return // already waited for
		}
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

// stop stops the worker processes gracefully (SIGTERM: they drain).
func (f *fleet) stop(ids ...string) {
	for _, id := range ids {
		require.NoError(f.t, f.procs[id].Process.Signal(syscall.SIGTERM))
	}
	for _, id := range ids {
		require.NoError(f.t, f.procs[id].Wait(), "worker %s drained and exited", id)
	}
}

// waitRunsEnded waits until the workers' runs have all ended.
func (f *fleet) waitRunsEnded(workers ...string) {
	waitFor(f.t, time.Minute, "the live workers' runs to end", func() bool {
		for _, w := range workers {
			for _, ss := range readSpans(f.t, f.cfg.Root, w) {
				if ss[len(ss)-1].end.IsZero() {
					return false
				}
			}
		}
		return true
	})
}

// spans reads every worker's run log, keyed by pair.
func (f *fleet) spans() map[string][]span {
	all := map[string][]span{}
	for w := range f.procs {
		for p, ss := range readSpans(f.t, f.cfg.Root, w) {
			all[p] = append(all[p], ss...)
		}
	}
	return all
}

// targetFiles lists every file under Procore/ on SharePoint, by pair, as
// paths below the pair's folder, through the SharePoint connector.
func (f *fleet) targetFiles(ctx context.Context) map[string][]string {
	f.t.Helper()
	gc, err := msgraph.NewClient(msgraph.Options{BaseURL: f.cfg.GraphURL,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.cfg.GraphToken, Expiry: time.Now().Add(time.Hour)})})
	require.NoError(f.t, err)
	lib, err := sharepoint.New(ctx, gc, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects", RootPath: "Procore"})
	require.NoError(f.t, err)
	out := map[string][]string{}
	for e, err := range lib.List(ctx) {
		require.NoError(f.t, err)
		if e.IsDir {
			continue
		}
		pair, rest, _ := strings.Cut(e.Path, "/Documents/")
		out[pair] = append(out[pair], rest)
	}
	return out
}

// missing counts the files not yet on SharePoint (through the fake's own
// view, cheaply).
func (f *fleet) missing() int {
	n := 0
	for id := range f.cfg.Projects {
		for i := range f.files {
			if _, ok := f.gs.Stat(f.drive, targetRoot(id)+"/"+f.name(id, i)); !ok {
				n++
			}
		}
	}
	return n
}

// checkConverged asserts that every project's SharePoint folder and
// Procore Documents hold exactly the project's files with their bytes: no
// file lost, none duplicated (no conflict or numbered copies on either
// side).
func (f *fleet) checkConverged(ctx context.Context, size int) {
	t := f.t
	got := f.targetFiles(ctx)
	for id, project := range f.cfg.Projects {
		var want []string
		for i := range f.files {
			want = append(want, f.name(id, i))
		}
		have := got[id]
		sort.Strings(have)
		require.Equal(t, want, have, "SharePoint folder of %s: every file, once", id)
		for i, n := range want {
			b, ok := f.gs.FileContent(f.drive, targetRoot(id)+"/"+n)
			require.True(t, ok)
			require.Equal(t, f.content(id, i, size), b, "%s/%s", id, n)
		}
		var procoreFiles []string
		for _, p := range f.pc.UIPaths(procoretest.ProjectDocs(project)) {
			if strings.Contains(p, ".") { // files; folders have no extension here
				procoreFiles = append(procoreFiles, p)
			}
		}
		sort.Strings(procoreFiles)
		require.Equal(t, want, procoreFiles, "Procore Documents of %s: nothing added back", id)
	}
}

// noOverlap asserts that no pair ran on two workers at once; the runs left
// open by a killed worker count until its kill. It returns the pairs whose
// run the kill cut off and the longest time from the kill to such a pair's
// next run start.
func (f *fleet) noOverlap(killedWorker string, killed time.Time) (resumed int, worst time.Duration) {
	t := f.t
	for p, ss := range f.spans() {
		for i := range ss {
			if ss[i].end.IsZero() {
				require.Equal(t, killedWorker, ss[i].worker, "pair %s: only the killed worker leaves runs open", p)
				ss[i].end = killed
			}
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].start.Before(ss[j].start) })
		for i := 1; i < len(ss); i++ {
			require.Falsef(t, ss[i].start.Before(ss[i-1].end), "pair %s: run on %s at %s overlaps run on %s until %s",
				p, ss[i].worker, ss[i].start, ss[i-1].worker, ss[i-1].end)
			if killedWorker != "" && ss[i-1].worker == killedWorker && ss[i-1].end.Equal(killed) {
				resumed++
				worst = max(worst, ss[i].start.Sub(killed))
			}
		}
	}
	return resumed, worst
}

// budgetJitter is how much closer together than granted two calls may
// reach the fake: a grant at the limiter (Redis's clock) and the
// request's arrival are separated by the Redis reply, the client's work
// and the loopback hop, all subject to scheduling on a loaded machine, so
// arrivals of calls granted a window apart can be up to a few hundred
// milliseconds closer than the window (measured here: up to ~200 ms with
// three worker processes on two cores).
const budgetJitter = 500 * time.Millisecond

// checkBudget asserts that the Procore calls of all workers together, as
// the fake received them, stayed within the shared budget in every
// sliding window: at most Spike in any 10 seconds (less budgetJitter) and
// at most Hourly in any hour (the whole test is shorter). It returns the
// most calls that arrived in one exact 10-second window and the total.
func (f *fleet) checkBudget() (exact, total int) {
	f.mu.Lock()
	calls := slices.Clone(f.calls)
	f.mu.Unlock()
	slices.SortFunc(calls, func(a, b time.Time) int { return a.Compare(b) })
	require.LessOrEqual(f.t, len(calls), f.cfg.Hourly, "calls in the hour")
	peak := func(d time.Duration) int {
		p := 0
		for i, j := 0, 0; i < len(calls); i++ {
			for calls[i].Sub(calls[j]) >= d {
				j++
			}
			p = max(p, i-j+1)
		}
		return p
	}
	require.LessOrEqual(f.t, peak(10*time.Second-budgetJitter), f.cfg.Spike, "calls in a 10-second window, summed over the workers")
	return peak(10 * time.Second), len(calls)
}

// TestFleetOnFakes is the issue's proof on the Procore and Graph fakes:
// three worker processes share 300 projects (Procore Documents <-> a
// SharePoint folder each) and one Procore budget through Redis; one
// worker is killed with SIGKILL in the middle of uploads. Every project
// converges with exactly its files on both sides, no pair ran on two
// workers at once, the budget held in every window summed over the
// workers, and the killed worker's pairs resumed on the others.
// PROCORESYNC_FLEET_PROJECTS changes the number of projects (-short: 30).
func TestFleetOnFakes(t *testing.T) {
	o := fleetOptions{projects: 300, files: 3, fileSize: 4 << 10, uploadLatency: 60 * time.Millisecond,
		hourly: 3000, spike: 500, maxRuns: 8}
	if testing.Short() {
		o.projects = 30
	}
	if v := os.Getenv("PROCORESYNC_FLEET_PROJECTS"); v != "" {
		_, err := fmt.Sscan(v, &o.projects)
		require.NoError(t, err)
	}
	f := newFleet(t, o)
	ctx := context.Background()
	for _, id := range []string{"w1", "w2", "w3"} {
		f.start(id)
	}
	f.waitReady()
	f.register()
	// Kill w1 once one of its runs has uploaded some, not all, of its files.
	waitFor(t, time.Minute, "w1 to be in the middle of uploads", func() bool {
		for p, ss := range readSpans(t, f.cfg.Root, "w1") {
			if ss[len(ss)-1].end.IsZero() {
				n := 0
				for i := range f.files {
					if _, ok := f.gs.Stat(f.drive, targetRoot(p)+"/"+f.name(p, i)); ok {
						n++
					}
				}
				if n > 0 && n < f.files {
					return true
				}
			}
		}
		return false
	})
	require.NoError(t, f.procs["w1"].Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	_ = f.procs["w1"].Wait()
	waitFor(t, 3*time.Minute, "every project to converge", func() bool { return f.missing() == 0 })
	converged := time.Since(f.started)
	f.stop("w2", "w3") // drained: every run they started has ended
	f.checkConverged(ctx, o.fileSize)
	resumed, worst := f.noOverlap("w1", killed)
	require.Positive(t, resumed, "the killed worker's pairs resumed elsewhere")
	t.Logf("Procore calls by operation: %v; Graph: %v", f.pc.Calls(), f.gs.Calls())
	peak, total := f.checkBudget()
	f.mu.Lock()
	limited := f.limited
	f.mu.Unlock()
	t.Logf("3 worker processes, %d projects × %d files: converged in %s; %d pair(s) cut off by SIGKILL resumed on other workers, the last %s after the kill (lease TTL 2s, tick 300ms); Procore calls %d (budget %d/h), at most %d arrived in any 10 s (budget %d per 10 s of grants), %d answered 429",
		o.projects, o.files, converged.Round(time.Millisecond), resumed, worst.Round(time.Millisecond),
		total, o.hourly, peak, o.spike, limited)
}

// BenchmarkFleetThroughput measures transfer-bound work on the fakes with
// 1, 2 and 3 worker processes (2 runs each): 24 projects of 4 files,
// every SharePoint upload taking 500 ms, a budget that does not bind;
// files per second from the first worker's start to convergence.
func BenchmarkFleetThroughput(b *testing.B) {
	o := fleetOptions{projects: 24, files: 4, fileSize: 4 << 10, uploadLatency: 500 * time.Millisecond,
		hourly: 100000, spike: 10000, maxRuns: 2}
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				f := newFleet(b, o)
				for i := range n {
					f.start(fmt.Sprintf("w%d", i+1))
				}
				f.waitReady()
				b.StartTimer()
				f.register()
				waitFor(b, 5*time.Minute, "convergence", func() bool { return f.missing() == 0 })
				total += time.Since(f.started)
				b.StopTimer()
				f.waitRunsEnded(slices.Collect(maps.Keys(f.procs))...)
				var runs int
				var busy time.Duration
				first, last := time.Time{}, time.Time{}
				for _, ss := range f.spans() {
					for _, x := range ss {
						runs++
						busy += x.end.Sub(x.start)
						if first.IsZero() || x.start.Before(first) {
							first = x.start
						}
						if x.end.After(last) {
							last = x.end
						}
					}
				}
				b.Logf("%d workers: %d runs, mean run %s, first run start %s after registration, last end %s",
					n, runs, (busy / time.Duration(max(runs, 1))).Round(time.Millisecond),
					first.Sub(f.started).Round(time.Millisecond), last.Sub(f.started).Round(time.Millisecond))
				f.noOverlap("", time.Time{})
			}
			b.ReportMetric(float64(o.projects*o.files*b.N)/total.Seconds(), "files/s")
		})
	}
}

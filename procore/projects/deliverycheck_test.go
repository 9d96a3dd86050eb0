package projects_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

const deliveriesOp = "RestV10WebhooksHooksHookIdDeliveriesGet"

// testClock is a clock ahead of real time by an offset the test moves.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// wakes records the pairs a checker wakes.
type wakes struct {
	mu  sync.Mutex
	ids []string
}

func (w *wakes) Wake(id string) {
	w.mu.Lock()
	w.ids = append(w.ids, id)
	w.mu.Unlock()
}

func (w *wakes) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.ids
	w.ids = nil
	slices.Sort(out)
	return slices.Compact(out)
}

// hookTo registers a company hook of c's company delivering to h (nil: a
// destination that refuses connections).
func hookTo(t *testing.T, c *procore.Client, h http.Handler) *procore.Hook {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	url := hs.URL
	if h == nil {
		hs.Close()
	}
	hk, err := c.Webhooks.RegisterCompanyHook(context.Background(), "safety-net", url, "Bearer s3cret", "v2.0", nil)
	if err != nil {
		var unsub *procore.UnsubscribableError
		require.ErrorAs(t, err, &unsub)
	}
	require.NotNil(t, hk)
	return hk
}

func openStore(t *testing.T, dir string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(dir, "sync.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// TestDeliveryCheckMissedDelivery: a change whose webhook never woke its
// pair (the receiver down, answering 500, or acknowledging and losing
// it) is synced after one check: the check wakes exactly that pair
// through the Manager, the engine runs it, and the next check finds
// nothing to wake.
func TestDeliveryCheckMissedDelivery(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dest   http.Handler
		failed int
	}{
		{"receiver down", nil, 1},
		{"answers 500", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }), 1},
		// Acknowledged, but no storage was woken (a crash before the run, a
		// receiver without the project's storages).
		{"acknowledged and lost", must(procore.NewReceiver("Bearer s3cret")), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
				WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond, Attempts: 2}})
			t.Cleanup(srv.Close)
			pid := srv.AddProject(srv.CompanyID, "Tower 3")
			c := newClient(t, srv, srv.CompanyID)
			dir := t.TempDir()
			store := openStore(t, dir)
			chk, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: 600, Logger: quiet})
			require.NoError(t, err)
			eng, err := syncengine.New(syncengine.Options{Store: store, WakeDelay: -1, Logger: quiet, Reconcile: chk.Reconcile(0)})
			require.NoError(t, err)
			m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, Logger: quiet, DeliveryCheck: chk})
			require.NoError(t, err)
			target := memTarget{memory.New()}
			p := project(c, pid, target, projects.Documents, projects.Photos)
			_, err = m.Add(ctx, p)
			require.NoError(t, err)
			docID := projects.DefaultPairID(p.Key(), projects.Documents)
			hk := hookTo(t, c, tc.dest)
			require.NoError(t, chk.AddHook(projects.CompanyHook{Client: c, HookID: hk.ID}))
			require.False(t, chk.Healthy(), "not checked yet")
			rep, err := chk.Check(ctx)
			require.NoError(t, err)
			require.True(t, chk.Healthy())
			require.Empty(t, rep.Woken)

			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = eng.Run(runCtx) }()
			t.Cleanup(func() { stop(); <-done })
			waitFor(t, func() bool {
				return ranOnce(t, eng, docID) && ranOnce(t, eng, projects.DefaultPairID(p.Key(), projects.Photos))
			})

			_, err = srv.UIPutFile(procoretest.ProjectDocs(pid), "RFI-12 response.pdf", []byte("answer"))
			require.NoError(t, err)
			srv.WaitWebhooks()
			require.NotContains(t, files(t, target.m, ""), "Procore/Tower 3/Documents/RFI-12 response.pdf", "nothing woke the pair")

			rep, err = chk.Check(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{docID}, rep.Woken, "only the Documents pair")
			require.Equal(t, tc.failed*2, rep.Failed, "Project Files and Project File Versions events")
			waitFor(t, func() bool {
				return slices.Contains(files(t, target.m, ""), "Procore/Tower 3/Documents/RFI-12 response.pdf")
			})
			waitFor(t, func() bool { return !running(t, eng, docID) })
			rep, err = chk.Check(ctx)
			require.NoError(t, err)
			require.Empty(t, rep.Woken, "the pair ran since the event")
			require.True(t, chk.Healthy(), "a failing destination does not make the safety net unhealthy: it wakes the pairs")
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ranOnce(t *testing.T, e *syncengine.Engine, id string) bool {
	runs, err := e.History(context.Background(), id, syncengine.Page{Limit: 1})
	require.NoError(t, err)
	return len(runs) == 1 && runs[0].Status != syncengine.RunRunning
}

func running(t *testing.T, e *syncengine.Engine, id string) bool {
	runs, err := e.History(context.Background(), id, syncengine.Page{Limit: 1})
	require.NoError(t, err)
	return len(runs) > 0 && runs[0].Status == syncengine.RunRunning
}

// checkerEnv is a checker over a store, recording its wakes, with pairs
// "<project>/<tool>" for the projects given.
type checkerEnv struct {
	srv   *procoretest.Server
	c     *procore.Client
	store *sqlitestore.Store
	w     *wakes
	clk   *testClock
	chk   *projects.DeliveryChecker
	hook  *procore.Hook
}

func newCheckerEnv(t *testing.T, store *sqlitestore.Store, srv *procoretest.Server, c *procore.Client, hook *procore.Hook, projectIDs ...int64) *checkerEnv {
	t.Helper()
	e := &checkerEnv{srv: srv, c: c, store: store, w: &wakes{}, clk: &testClock{}, hook: hook}
	var err error
	e.chk, err = projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: 600, Logger: quiet,
		Store: e.store, Waker: e.w, Now: func() time.Time { return e.clk.Now() },
		Pairs: func(company, project int64, tool string) []string {
			if project == 0 && tool == procore.ToolDocuments {
				return []string{fmt.Sprint(company, "/company-documents")}
			}
			if slices.Contains(projectIDs, project) && company == c.CompanyID {
				return []string{fmt.Sprint(project, "/", tool)}
			}
			return nil
		}})
	require.NoError(t, err)
	require.NoError(t, e.chk.AddHook(projects.CompanyHook{Client: c, HookID: hook.ID}))
	return e
}

// ran records a run of pair id started now.
func (e *checkerEnv) ran(t *testing.T, id string) {
	t.Helper()
	ps, err := e.store.LoadPair(context.Background(), id)
	require.NoError(t, err)
	ps.LastRun = e.clk.Now()
	require.NoError(t, e.store.SavePair(context.Background(), id, ps))
}

func rawEvent(company, project int64, resource string, id int) []byte {
	return rawEventAt(time.Now(), company, project, resource, id)
}

func rawEventAt(at time.Time, company, project int64, resource string, id int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"ulid":"01JX%022d","timestamp":%q,"company_id":%d,"project_id":%d,"resource_name":%q,"resource_id":%d,"event_type":"update","api_version":"v2.0"}`,
		id, id, at.UTC().Format(time.RFC3339Nano), company, project, resource, id)
}

// TestDeliveryCheckIdleCostsOneCallPerCompany: once settled, a check of
// two companies' hooks with nothing new costs exactly one call per
// company (the hook's status is read once an hour: on the first check).
func TestDeliveryCheckIdleCostsOneCallPerCompany(t *testing.T) {
	ctx := t.Context()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	other := srv.AddCompany("Other GC")
	var pids []int64
	for i := range 5 {
		pids = append(pids, srv.AddProject(srv.CompanyID, fmt.Sprint("P", i)))
	}
	c1, c2 := newClient(t, srv, srv.CompanyID), newClient(t, srv, other)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	h1, h2 := hookTo(t, c1, ok), hookTo(t, c2, ok)
	e := newCheckerEnv(t, openStore(t, t.TempDir()), srv, c1, h1, pids...)
	require.NoError(t, e.chk.AddHook(projects.CompanyHook{Client: c2, HookID: h2.ID}))

	before := sumCalls(srv)
	rep, err := e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, sumCalls(srv)-before, "first check: each hook's status and its log")
	require.Equal(t, 4, rep.Calls)
	for range 3 {
		before = sumCalls(srv)
		rep, err = e.chk.Check(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, sumCalls(srv)-before, "one call per company")
		require.Equal(t, 2, rep.Calls)
		require.Empty(t, rep.Woken)
	}
	// An hour later the statuses are read again.
	e.clk.Advance(time.Hour)
	before = sumCalls(srv)
	_, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, sumCalls(srv)-before)

	// Events in both companies (the second company's event names a
	// project this checker has no pair for: nothing to wake).
	require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, pids[2], rawEvent(srv.CompanyID, pids[2], "Images", 1)))
	require.Equal(t, 1, srv.DeliverRaw(other, 0, rawEvent(other, 777, "Images", 2)))
	srv.WaitWebhooks()
	rep, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprint(pids[2], "/photos")}, rep.Woken)
	require.Equal(t, []string{fmt.Sprint(pids[2], "/photos")}, e.w.take())
	require.Equal(t, 2, rep.Deliveries)
}

func sumCalls(srv *procoretest.Server) int {
	n := 0
	for op, v := range srv.Calls() {
		if op != "OauthTokenPost" {
			n += v
		}
	}
	return n
}

// TestDeliveryCheckPagingAndRestart: more than a page of deliveries is
// read in one check (two calls) and wakes every pair behind; a restart
// before the pairs ran (the wakes lost with the process) wakes them
// again; once they ran and the entries are older than Grace, the cursor
// moves past them, is kept in the store, and a restarted checker reads
// nothing old again.
func TestDeliveryCheckPagingAndRestart(t *testing.T) {
	ctx := t.Context()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	var pids []int64
	for i := range 3 {
		pids = append(pids, srv.AddProject(srv.CompanyID, fmt.Sprint("P", i)))
	}
	c := newClient(t, srv, srv.CompanyID)
	hk := hookTo(t, c, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	store := openStore(t, t.TempDir())
	e := newCheckerEnv(t, store, srv, c, hk, pids...)
	_, err := e.chk.Check(ctx)
	require.NoError(t, err)

	for i := range 150 {
		pid := pids[i%3]
		res := []string{"Project Files", "Images", "RFIs"}[i%3]
		require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, pid, rawEvent(srv.CompanyID, pid, res, 100+i)))
	}
	srv.WaitWebhooks()
	want := []string{fmt.Sprint(pids[0], "/documents"), fmt.Sprint(pids[1], "/photos"), fmt.Sprint(pids[2], "/rfis")}
	slices.Sort(want)
	before := srv.CallCount(deliveriesOp)
	rep, err := e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, srv.CallCount(deliveriesOp)-before, "100 + 50")
	require.Equal(t, 150, rep.Deliveries)
	require.Equal(t, want, rep.Woken)
	require.Equal(t, 150, rep.Held)

	// Restart before any pair ran: a new checker on the same store.
	e.clk.Advance(time.Minute)
	e2 := newCheckerEnv(t, store, srv, c, hk, pids...)
	e2.clk = e.clk
	rep, err = e2.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, want, rep.Woken, "woken again after the restart")

	// Two of the pairs run; past Grace the entries of those are settled,
	// but the cursor stops at the first entry whose pair has not run.
	e2.ran(t, want[0])
	e2.ran(t, want[1])
	e.clk.Advance(5 * time.Minute)
	rep, err = e2.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprint(pids[2], "/rfis")}, rep.Woken)
	require.Equal(t, 50, rep.Held)
	e2.ran(t, want[2])
	rep, err = e2.chk.Check(ctx)
	require.NoError(t, err)
	require.Empty(t, rep.Woken)
	require.Zero(t, rep.Held)
	require.Equal(t, 148, rep.Deliveries, "the first two entries were settled at the last check")

	// Settled: a restarted checker reads from the kept cursor.
	e3 := newCheckerEnv(t, store, srv, c, hk, pids...)
	e3.clk = e.clk
	before = srv.CallCount(deliveriesOp)
	rep, err = e3.chk.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Deliveries)
	require.Equal(t, 1, srv.CallCount(deliveriesOp)-before)
	// A new event after the restart is seen.
	require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, pids[1], rawEventAt(e.clk.Now(), srv.CompanyID, pids[1], "Image Categories", 999)))
	srv.WaitWebhooks()
	rep, err = e3.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprint(pids[1], "/photos")}, rep.Woken)
}

// TestDeliveryCheckOddEntries: entries Procore (or someone) could put in
// the log that are not a readable event of the company are counted and
// skipped; they neither crash the check nor hold the cursor; the valid
// one among them wakes its pair.
func TestDeliveryCheckOddEntries(t *testing.T) {
	ctx := t.Context()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	pid := srv.AddProject(srv.CompanyID, "Tower 3")
	c := newClient(t, srv, srv.CompanyID)
	hk := hookTo(t, c, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	e := newCheckerEnv(t, openStore(t, t.TempDir()), srv, c, hk, pid)
	co := srv.CompanyID
	for _, body := range []string{
		`not json`,
		`{}`,
		`{"id":1}`,
		`[1,2,3]`,
		`{"id":2,"resource_name":"Images","company_id":"x"}`,
		fmt.Sprintf(`{"id":3,"resource_name":"Images","company_id":%d,"project_id":%d}`, co+1, pid), // another company
		fmt.Sprintf(`{"id":4,"resource_name":"Unknown Thing","company_id":%d,"project_id":%d}`, co, pid),
		fmt.Sprintf(`{"id":5,"resource_name":"Images","company_id":%d,"project_id":99999999}`, co), // no such pair
		fmt.Sprintf(`{"id":6,"resource_name":"Images","company_id":%d,"project_id":%d,"timestamp":"yesterday"}`, co, pid),
		fmt.Sprintf(`{"id":"7","resource_type":"Project Files","reason":"update","company_id":"%d","project_id":"%d","timestamp":"2020-01-01T00:00:00Z"}`, co, pid),
	} {
		require.Equal(t, 1, srv.DeliverRaw(co, pid, []byte(body)))
	}
	srv.WaitWebhooks()
	rep, err := e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 10, rep.Deliveries)
	require.Equal(t, 7, rep.Odd, "unparsable, no id or resource, bad company, another company, bad timestamp")
	require.Equal(t, []string{fmt.Sprint(pid, "/documents")}, rep.Woken, "the v4.0 event")
	e.ran(t, fmt.Sprint(pid, "/documents"))
	e.clk.Advance(time.Hour)
	rep, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Held)
	rep, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Deliveries, "the cursor moved past every entry")
}

// TestDeliveryCheckHealth: the checker is healthy only after a
// successful check; two failed checks in a row, or a disabled or deleted
// hook, make it unhealthy (the engine then polls every pair), and it
// recovers with the hook.
func TestDeliveryCheckHealth(t *testing.T) {
	ctx := t.Context()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	pid := srv.AddProject(srv.CompanyID, "Tower 3")
	c := newClient(t, srv, srv.CompanyID)
	hk := hookTo(t, c, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	var nilChecker *projects.DeliveryChecker
	require.False(t, nilChecker.Healthy())
	empty, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{})
	require.NoError(t, err)
	require.False(t, empty.Healthy(), "no hook")
	e := newCheckerEnv(t, openStore(t, t.TempDir()), srv, c, hk, pid)
	require.False(t, e.chk.Healthy())
	_, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.True(t, e.chk.Healthy())

	srv.Inject(procoretest.Fault{Op: deliveriesOp, Status: http.StatusForbidden, Times: procoretest.Forever})
	_, err = e.chk.Check(ctx)
	require.Error(t, err)
	require.True(t, e.chk.Healthy(), "one failed check is tolerated")
	_, err = e.chk.Check(ctx)
	require.Error(t, err)
	require.False(t, e.chk.Healthy())
	srv.ClearFaults()
	_, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.True(t, e.chk.Healthy())

	sc := procore.WebhookScope{CompanyID: c.CompanyID}
	_, _, err = c.Webhooks.UpdateHookV2(ctx, sc, fmt.Sprint(hk.ID), procore.HookV2Update{Status: "disabled"})
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	_, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.False(t, e.chk.Healthy(), "disabled: Procore delivers and logs nothing")
	_, _, err = c.Webhooks.UpdateHookV2(ctx, sc, fmt.Sprint(hk.ID), procore.HookV2Update{Status: "active"})
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	_, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.True(t, e.chk.Healthy())

	_, err = c.Webhooks.DeleteHookV2(ctx, sc, fmt.Sprint(hk.ID))
	require.NoError(t, err)
	e.clk.Advance(time.Hour)
	_, _ = e.chk.Check(ctx)
	require.False(t, e.chk.Healthy(), "deleted")
}

// TestDeliveryCheckBudget: the figures of the safety net for 1,000
// projects × 3 tools of one company: checks and per-pair reconciliation
// together stay within 5% of a 3,600 and of a 600 calls/h budget, every
// change is checked against the log at least hourly, and the engine's
// period follows the budget (more than a day at 600 calls/h).
func TestDeliveryCheckBudget(t *testing.T) {
	c, err := procore.NewClient(procore.Options{BaseURL: "http://127.0.0.1:1", CompanyID: 7, TokenSource: tokens{}})
	require.NoError(t, err)
	for _, tc := range []struct {
		budget          float64
		check, minRecon time.Duration
	}{
		{3600, 100 * time.Second, 24 * time.Hour},
		{600, 10 * time.Minute, 10 * 24 * time.Hour},
	} {
		t.Run(fmt.Sprint(tc.budget), func(t *testing.T) {
			chk, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: tc.budget})
			require.NoError(t, err)
			require.Equal(t, tc.check, projects.DeliveryCheckPeriod(tc.budget, 0.01, 1, time.Minute, time.Hour))
			// With the hourly status read of the hook, a little longer.
			require.Greater(t, chk.Period(), tc.check)
			require.LessOrEqual(t, chk.Period(), time.Hour)
			require.NoError(t, chk.AddHook(projects.CompanyHook{Client: c, HookID: 1}))
			checks := chk.CallsPerHour()
			require.InDelta(t, tc.budget*0.01, checks, 1e-6, "1% of the budget")
			require.InDelta(t, 1/chk.Period().Hours()+1, checks, 1e-6)
			r := chk.Reconcile(2)
			const pairs = 3000
			period := syncengine.ReconcilePeriod(r.BudgetPerHour, r.Share, r.CallsPerRun, pairs, 15*time.Minute, r.MaxPeriod)
			require.GreaterOrEqual(t, period, tc.minRecon)
			recon := pairs * r.CallsPerRun / period.Hours() // calls an hour
			require.LessOrEqual(t, (checks+recon)/tc.budget, 0.05+1e-9, "checks %.1f + reconciliation %.1f calls/h", checks, recon)
		})
	}
	require.Equal(t, time.Hour, projects.DeliveryCheckPeriod(0, 0.01, 1, time.Minute, time.Hour))
	require.Equal(t, time.Minute, projects.DeliveryCheckPeriod(1e9, 0.01, 1, time.Minute, time.Hour))
	_, err = projects.NewDeliveryChecker(projects.DeliveryCheckOptions{Share: 2})
	require.Error(t, err)
	// A budget too small for even the hourly status read: the longest
	// period.
	tiny, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: 50})
	require.NoError(t, err)
	require.Equal(t, time.Hour, tiny.Period())
}

// TestDeliveryCheckManagerRoutes: through a Manager, each event's
// resource wakes the pair of its project and tool (record tools, the
// Daily Log, company Documents), and none for a tool the project does not
// sync or a resource no tool has; the Manager's Run runs the checks.
func TestDeliveryCheckManagerRoutes(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	hk := hookTo(t, c, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	dir := t.TempDir()
	store := openStore(t, dir)
	w := &wakes{}
	chk, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{Logger: quiet, Waker: w, Period: 5 * time.Millisecond})
	require.NoError(t, err)
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: quiet})
	require.NoError(t, err)
	m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, StateDir: filepath.Join(dir, "state"), Logger: quiet,
		DeliveryCheck: chk, LayoutInterval: time.Hour})
	require.NoError(t, err)
	p := project(c, pid, memTarget{memory.New()}, projects.Documents, projects.RFIs, projects.DailyLog, projects.CompanyDocuments)
	_, err = m.Add(ctx, p)
	require.NoError(t, err)
	require.NoError(t, chk.AddHook(projects.CompanyHook{Client: c, HookID: hk.ID}))
	_, err = chk.Check(ctx)
	require.NoError(t, err)
	id := func(tool projects.Tool) string { return projects.DefaultPairID(p.Key(), tool) }
	for i, tc := range []struct {
		resource string
		want     []string
	}{
		{"RFI Replies", []string{id(projects.RFIs)}},
		{"Weather Logs", []string{id(projects.DailyLog)}},
		{"Company Files", []string{id(projects.CompanyDocuments)}},
		{"Project Folders", []string{id(projects.Documents)}},
		{"Images", nil},
		{"Projects", nil},
		{"Submittals", nil},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			require.Equal(t, 1, srv.DeliverRaw(c.CompanyID, pid, rawEvent(c.CompanyID, pid, tc.resource, 500+i)))
			srv.WaitWebhooks()
			rep, err := chk.Check(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.want, rep.Woken)
			require.Equal(t, tc.want, w.take())
			for _, id := range tc.want { // the pair runs
				ps, err := store.LoadPair(ctx, id)
				require.NoError(t, err)
				ps.LastRun = time.Now().Add(time.Second)
				require.NoError(t, store.SavePair(ctx, id, ps))
			}
		})
	}

	// Manager.Run runs the checker: a new event wakes its pair with no
	// Check called here.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx) }()
	require.Equal(t, 1, srv.DeliverRaw(c.CompanyID, pid, rawEventAt(time.Now().Add(time.Minute), c.CompanyID, pid, "RFIs", 900)))
	waitFor(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return slices.Contains(w.ids, id(projects.RFIs))
	})
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
}

// TestDeliveryCheckKeepsProgressOfAFailedCheck: a check that fails on
// its second page keeps the cursor the first page settled, and the next
// check reads only the rest.
func TestDeliveryCheckKeepsProgressOfAFailedCheck(t *testing.T) {
	ctx := t.Context()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	pid := srv.AddProject(srv.CompanyID, "Tower 3")
	c := newClient(t, srv, srv.CompanyID)
	hk := hookTo(t, c, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	e := newCheckerEnv(t, openStore(t, t.TempDir()), srv, c, hk, pid)
	for i := range 130 {
		require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, pid, rawEvent(srv.CompanyID, pid, "Images", i+1)))
	}
	srv.WaitWebhooks()
	e.clk.Advance(time.Hour)
	e.ran(t, fmt.Sprint(pid, "/photos"))
	srv.Inject(procoretest.Fault{Op: deliveriesOp, Status: http.StatusForbidden, After: 1, Times: 1})
	rep, err := e.chk.Check(ctx)
	require.Error(t, err)
	require.Equal(t, 100, rep.Deliveries)
	rep, err = e.chk.Check(ctx)
	require.NoError(t, err)
	require.Equal(t, 30, rep.Deliveries, "the first page's entries were settled")
	require.Empty(t, rep.Woken)
}

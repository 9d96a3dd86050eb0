package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// fleet is c.Projects projects × 3 tools synced into one SharePoint
// library: one company-level Procore hook, one Graph subscription and one
// shared delta feed for the library, one engine.
type fleet struct {
	pf      *procoretest.Server
	gf      *graphtest.Server
	lib     string
	eng     *syncengine.Engine
	store   *sqlitestore.Store
	feed    *msgraph.DriveFeed
	pids    []int64
	ids     []string
	chk     *projects.DeliveryChecker
	stop    func() // stops the engine and the feed; first
	closers []func()
}

func (f *fleet) close() {
	if f.stop != nil {
		f.stop()
	}
	for _, c := range slices.Backward(f.closers) {
		c()
	}
}

func projectName(i int) string { return fmt.Sprintf("Project %04d", i) }

var tools = []string{"Documents", "Photos", "RFIs"}

// idleCost measures the fleet's idle cost and change latency with the
// Procore fake's budget at budget calls an hour.
func idleCost(ctx context.Context, c Config, budget int, log *slog.Logger) ([]Row, error) {
	f := &fleet{}
	defer f.close()
	f.pf = procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	f.closers = append(f.closers, f.pf.Close)
	f.gf = graphtest.New(graphtest.Options{})
	f.closers = append(f.closers, f.gf.Close)
	site := f.gf.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	f.lib = f.gf.SiteDrives(site)[0]
	for i := range c.Projects {
		f.pids = append(f.pids, f.pf.AddProject(f.pf.CompanyID, projectName(i)))
		for _, t := range tools {
			if _, err := f.gf.WebMkdir(f.lib, path.Join("Procore", projectName(i), t)); err != nil {
				return nil, err
			}
		}
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	if err := f.start(ctx, c, budget, log); err != nil {
		return nil, err
	}
	// Every pair's initial sync (the engine runs them when Run starts).
	if err := f.waitAllRan(ctx); err != nil {
		return nil, err
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	pairs := len(f.ids)
	perPair := float64(int64(after.HeapAlloc)-int64(base.HeapAlloc)) / float64(pairs)

	// Idle: the Procore budget as configured, nothing changes.
	f.pf.SetRateLimits(budget, -1)
	p0, g0 := sum(f.pf.Calls()), sum(f.gf.Calls())
	start := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(c.IdleWindow):
	}
	win := time.Since(start)
	idleP, idleG := sum(f.pf.Calls())-p0, sum(f.gf.Calls())-g0
	pHour := float64(idleP) / win.Hours()
	gMin := float64(idleG) / win.Minutes()

	// The per-pair reconciliation: what one run of an idle pair costs,
	// measured on every pair (up to 300), times the runs per hour the
	// engine's policy gives under a healthy checker (what the checks
	// leave of 5% of the budget).
	// The sample runs without the fake's limit (its calls would otherwise
	// eat the small budget's hour); the budget then starts a new window.
	sample := f.ids[:min(len(f.ids), 300)]
	f.pf.SetRateLimits(-1, -1)
	p0 = sum(f.pf.Calls())
	for _, id := range sample {
		if _, err := f.eng.RunOnce(ctx, id, syncengine.RunOptions{}); err != nil {
			return nil, fmt.Errorf("reconciling %s: %w", id, err)
		}
	}
	perRun := float64(sum(f.pf.Calls())-p0) / float64(len(sample))
	// The safety net's delivery-log check: what one check costs (one
	// company hook), times the checks an hour the budget gives (measured
	// without the fake's limit too: the client would otherwise learn the
	// small budget from its headers and pace the sample above).
	p0 = sum(f.pf.Calls())
	rep, err := f.chk.Check(ctx)
	if err != nil {
		return nil, fmt.Errorf("delivery check: %w", err)
	}
	perCheck := sum(f.pf.Calls()) - p0
	checkPeriod := f.chk.Period()
	// Plus the hook's status, read once an hour (one call).
	checkHour := float64(perCheck)/checkPeriod.Hours() + 1/projects.DefaultStatusEvery.Hours()

	f.pf.SetRateLimits(budget, -1)
	pol := f.chk.Reconcile(perRun)
	period := syncengine.ReconcilePeriod(pol.BudgetPerHour, pol.Share, pol.CallsPerRun, pairs, 15*time.Minute, pol.MaxPeriod)
	recHour := perRun * float64(pairs) / period.Hours()

	lat, back, err := f.latency(ctx, c.Samples)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("%d projects × 3 tools, %d calls/h", c.Projects, budget)
	return []Row{
		{label + ": idle Procore calls (measured over " + win.Round(time.Second).String() + ")",
			fmt.Sprintf("%d = %.2f%% of the budget", idleP, 100*pHour/float64(budget)), "≤ 5%"},
		{label + ": delivery-log check (every " + checkPeriod.Round(time.Second).String() + fmt.Sprintf(", %d call(s) for %d deliveries, + the hook's status hourly)", perCheck, rep.Deliveries),
			fmt.Sprintf("%.1f calls/h = %.2f%% of the budget", checkHour, 100*checkHour/float64(budget)), "every pair's changes checked hourly"},
		{label + ": reconciliation (every pair every " + fmtDays(period) + fmt.Sprintf(", %.2f calls each)", perRun),
			fmt.Sprintf("%.1f calls/h = %.2f%% of the budget", recHour, 100*recHour/float64(budget)), ""},
		{label + ": safety net in all (check + reconciliation)",
			fmt.Sprintf("%.1f calls/h = %.2f%% of the budget", checkHour+recHour, 100*(checkHour+recHour)/float64(budget)), "≤ 5%"},
		{label + ": Graph calls per minute for the library (idle)", fmt.Sprintf("%.2f", gMin), "≤ 1"},
		{label + ": engine memory per idle pair", fmt.Sprintf("%.1f KiB", perPair/1024), ""},
		{label + ": change in Procore → file in SharePoint (median / max)", lat, "≤ 2 s"},
		{label + ": change in SharePoint → file in Procore (median / max)", back, "≤ 2 s"},
	}, nil
}

// start connects the clients, registers the hooks, opens the storages and
// runs the engine.
func (f *fleet) start(ctx context.Context, c Config, budget int, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	f.stop = func() { cancel(); wg.Wait() }
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{})
	if err != nil {
		return err
	}
	env := procore.Environment{Name: "fake", AuthURL: f.pf.URL, APIURL: f.pf.URL}
	pc, err := procore.NewClient(procore.Options{BaseURL: f.pf.URL, FileHosts: f.pf.FileHosts(), CompanyID: f.pf.CompanyID,
		TokenSource: procore.Config{ClientID: f.pf.ClientID, ClientSecret: f.pf.ClientSecret, Env: env}.ClientCredentials(ctx),
		Pacer:       lim, PaceKey: "procore:bench"})
	if err != nil {
		return err
	}
	gc, err := msgraph.NewClient(msgraph.Options{BaseURL: f.gf.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.gf.Token(), Expiry: time.Now().Add(24 * time.Hour)})})
	if err != nil {
		return err
	}
	// One company-level hook for every project.
	rcv, err := procore.NewReceiver("Bearer " + randomSecret())
	if err != nil {
		return err
	}
	hs := httptest.NewServer(rcv)
	f.closers = append(f.closers, hs.Close)
	hook, err := pc.Webhooks.RegisterCompanyHook(ctx, "procoresync-bench", hs.URL, rcv.Authorization, "v2.0", nil)
	var unsub *procore.UnsubscribableError
	if err != nil && !errors.As(err, &unsub) {
		return err
	}
	// One Graph subscription and one delta feed for the library.
	state := randomSecret()
	n, err := msgraph.NewNotifier(state)
	if err != nil {
		return err
	}
	ns := httptest.NewServer(n)
	f.closers = append(f.closers, ns.Close)
	if _, err := gc.Subscribe(ctx, msgraph.DriveRootResource(f.lib), ns.URL, state, time.Now().Add(72*time.Hour)); err != nil {
		return err
	}
	f.feed = msgraph.NewDriveFeed(gc, f.lib, changefeed.Options{MaxAge: c.FeedInterval, PollInterval: c.FeedInterval})
	trig, err := n.Watch(ctx)
	if err != nil {
		return err
	}
	wg.Go(func() { _ = f.feed.Run(ctx, trig) })

	dir, err := os.MkdirTemp("", "procoresync-fleet-")
	if err != nil {
		return err
	}
	f.closers = append(f.closers, func() { os.RemoveAll(dir) })
	f.store, err = sqlitestore.Open(filepath.Join(dir, "sync.db"))
	if err != nil {
		return err
	}
	f.closers = append(f.closers, func() { f.store.Close() })
	// The safety net: the company hook's delivery log, checked at a
	// period the budget gives; the engine wakes a pair whose event was not
	// handled, and reconciles each pair rarely.
	f.chk, err = projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: float64(budget), Logger: log, Store: f.store,
		Waker: engineWaker{f}, Pairs: func(company, project int64, tool string) []string {
			for _, t := range tools {
				if strings.EqualFold(t, tool) && project != 0 {
					return []string{fmt.Sprintf("%d/%s", project, t)}
				}
			}
			return nil
		}})
	if err != nil {
		return err
	}
	if err := f.chk.AddHook(projects.CompanyHook{Client: pc, HookID: hook.ID}); err != nil {
		return err
	}
	f.eng, err = syncengine.New(syncengine.Options{Store: f.store, Limiter: lim, Logger: log, MaxConcurrentPairs: 8,
		Reconcile: f.chk.Reconcile(0)})
	if err != nil {
		return err
	}
	for i, pid := range f.pids {
		name := projectName(i)
		docs := procore.NewProjectDocuments(pc, pid, nil)
		rcv.WatchDocuments(docs)
		photos := procore.NewProjectPhotos(pc, pid, &procore.PhotosOptions{ReplaceSpecialChars: true})
		rcv.WatchPhotos(photos)
		rfis, err := records.New(pc, records.NewRFIs(pc, records.Project{ID: pid, Name: name}, nil), nil)
		if err != nil {
			return err
		}
		records.WatchWebhooks(rcv, pid, rfis)
		for j, a := range []storage.Storage{docs, photos, rfis} {
			b, err := sharepoint.New(ctx, gc, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
				RootPath: path.Join("Procore", name, tools[j])})
			if err != nil {
				return err
			}
			p := syncengine.Pair{ID: fmt.Sprintf("%d/%s", pid, tools[j]), Name: name + " / " + tools[j], A: a, B: b.WithFeed(f.feed),
				AName: "Procore", BName: "SharePoint", NameMapping: true, Budgets: []string{"procore:bench"}}
			switch tools[j] {
			case "Photos":
				p.Deletes = syncengine.DeleteKeep
			case "RFIs":
				p.Direction = syncengine.DirectionOneWayAB
			}
			if err := f.eng.AddPair(p); err != nil {
				return err
			}
			f.ids = append(f.ids, p.ID)
		}
	}
	wg.Go(func() { _ = f.eng.Run(ctx) })
	wg.Go(func() { _ = f.chk.Run(ctx) })
	return nil
}

// engineWaker wakes the fleet's engine (made after the checker).
type engineWaker struct{ f *fleet }

func (w engineWaker) Wake(id string) { w.f.eng.Wake(id) }

// fmtDays writes a long period in days and hours.
func fmtDays(d time.Duration) string {
	if d < 48*time.Hour {
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// waitAllRan waits until every pair has finished a run.
func (f *fleet) waitAllRan(ctx context.Context) error {
	left := slices.Clone(f.ids)
	for len(left) > 0 {
		var still []string
		for _, id := range left {
			runs, err := f.eng.History(ctx, id, syncengine.Page{Limit: 1})
			if err != nil {
				return err
			}
			if len(runs) == 0 || runs[0].Status == syncengine.RunRunning {
				still = append(still, id)
				continue
			}
			if runs[0].Status == syncengine.RunFailed {
				return fmt.Errorf("initial sync of %s failed: %s", id, runs[0].Error)
			}
		}
		left = still
		if len(left) > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// latency times n changes each way, in projects spread over the fleet:
// a file added in Procore until it is in the library, and a file added in
// the library until it is in Procore.
func (f *fleet) latency(ctx context.Context, n int) (string, string, error) {
	data := []byte("latency\n")
	var up, down []time.Duration
	for i := range n {
		k := (i*7919 + 13) % len(f.pids)
		name := fmt.Sprintf("latency-%d.pdf", i)
		start := time.Now()
		if _, err := f.pf.UIPutFile(procoretest.ProjectDocs(f.pids[k]), name, data); err != nil {
			return "", "", err
		}
		target := path.Join("Procore", projectName(k), "Documents", name)
		if err := waitUntil(ctx, func() bool { _, ok := f.gf.Stat(f.lib, target); return ok }); err != nil {
			return "", "", fmt.Errorf("%s did not reach SharePoint: %w", target, err)
		}
		up = append(up, time.Since(start))

		back := fmt.Sprintf("back-%d.pdf", i)
		start = time.Now()
		if _, err := f.gf.WebUpload(f.lib, path.Join("Procore", projectName(k), "Documents", back), data); err != nil {
			return "", "", err
		}
		if err := waitUntil(ctx, func() bool {
			_, err := f.pf.UIFile(procoretest.ProjectDocs(f.pids[k]), back)
			return err == nil
		}); err != nil {
			return "", "", fmt.Errorf("%s did not reach Procore: %w", back, err)
		}
		down = append(down, time.Since(start))
	}
	return medMax(up), medMax(down), nil
}

// waitUntil polls cond every 5 ms for up to a minute.
func waitUntil(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out after a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func medMax(d []time.Duration) string {
	slices.Sort(d)
	return fmt.Sprintf("%.0f ms / %.0f ms", float64(d[len(d)/2].Microseconds())/1000, float64(d[len(d)-1].Microseconds())/1000)
}

package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/internal/atomicfile"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/syncengine"
)

// hookNamespace is the namespace of the service's Procore hooks.
const hookNamespace = "procoresync"

// defaultProcoreBudget is the Procore budget (calls per hour) assumed when
// neither -procore-budget nor Procore's headers give one.
const defaultProcoreBudget = 3600

// ProjectKeys returns the projects c names: -procore-project (of
// -procore-company) first, then each entry of -projects ("project" of
// -procore-company, or "company:project"), without repeats. The pair IDs of
// a project do not depend on how it was named, so a store made with
// -procore-project carries on when more projects are added with -projects.
func (c *Config) ProjectKeys() ([]projects.Key, error) {
	var out []projects.Key
	add := func(k projects.Key) error {
		if k.CompanyID <= 0 {
			return fmt.Errorf("project %d: no company: set -procore-company ($PROCORE_COMPANY_ID) or write company:project in -projects", k.ProjectID)
		}
		if k.ProjectID <= 0 {
			return fmt.Errorf("-projects: invalid project ID %d", k.ProjectID)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
		return nil
	}
	if c.ProcoreProjectID != 0 {
		if err := add(projects.Key{CompanyID: c.ProcoreCompanyID, ProjectID: c.ProcoreProjectID}); err != nil {
			return nil, err
		}
	}
	for _, f := range strings.Split(c.Projects, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k := projects.Key{CompanyID: c.ProcoreCompanyID}
		comp, proj, two := strings.Cut(f, ":")
		var err error
		if two {
			if k.CompanyID, err = strconv.ParseInt(strings.TrimSpace(comp), 10, 64); err != nil {
				return nil, fmt.Errorf("-projects: %q: want project or company:project IDs", f)
			}
		} else {
			proj = comp
		}
		if k.ProjectID, err = strconv.ParseInt(strings.TrimSpace(proj), 10, 64); err != nil {
			return nil, fmt.Errorf("-projects: %q: want project or company:project IDs", f)
		}
		if err := add(k); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no Procore project: set -procore-project ($PROCORE_PROJECT_ID) or -projects ($PROCORESYNC_PROJECTS)")
	}
	return out, nil
}

// hourlyLimit returns the limit of Procore's hourly window from a
// response's rate headers: X-Rate-Limit-Limit describes whichever window
// the app is closest to exceeding (usually the 10-second spike window), so
// it is taken only when its window resets more than a minute after now;
// 0 otherwise.
func hourlyLimit(r procore.Rate, now time.Time) int {
	if r.Limit <= 0 || r.Reset.Sub(now) <= time.Minute {
		return 0
	}
	return r.Limit
}

// procoreBudget is the limiter's budget of the Procore app: perHour calls
// an hour (0: syncengine.ProcoreBudget's 3,600) and its spike window.
func procoreBudget(perHour int) syncengine.BudgetConfig {
	b := syncengine.ProcoreBudget()
	if perHour > 0 {
		for i, w := range b.Windows {
			if w.Per == time.Hour {
				b.Windows[i].Limit = perHour
			}
		}
	}
	return b
}

// health says whether changes arrive by push: the Procore company hooks
// are registered (and re-registered every hookRefresh without error), their
// delivery logs are checked (projects.DeliveryChecker.Healthy: checked
// lately, not disabled), the target's push works (the Graph subscription
// is alive; Box's and Dropbox's own long-polls and webhooks count as
// working), and a public URL is set.
// While it holds, the engine's Reconcile policy replaces per-pair polling
// by a reconciliation sized from the budget; otherwise pairs are polled
// every interval.
type health struct {
	hooks  atomic.Bool // every company's hook is registered
	target atomic.Bool // the target's push is set up and alive
	check  func() bool // the delivery checker's health (nil: none)
}

// ok implements syncengine.Reconcile.Healthy (called under the engine's
// lock: no blocking).
func (h *health) ok() bool {
	return h.hooks.Load() && h.target.Load() && (h.check == nil || h.check())
}

// Healthy reports whether changes arrive by webhooks and notifications
// (see Serve): while they do, pairs are not polled every interval, only
// reconciled as the budget allows.
func (s *Sync) Healthy() bool { return s.health.ok() }

// hookRefresh is how often Serve registers the company hooks again: a hook
// that Procore disabled, or whose triggers someone removed, is repaired
// (about 5 calls per company).
var hookRefresh = time.Hour

// companies returns the company IDs of the projects, in order.
func (s *Sync) companies() []int64 {
	var out []int64
	for _, k := range s.Projects {
		if !slices.Contains(out, k.CompanyID) {
			out = append(out, k.CompanyID)
		}
	}
	return out
}

// registerHooks makes sure one company-level Procore hook per company
// (procore.WebhooksService.RegisterCompanyHook: namespace "procoresync",
// re-used and updated across restarts, never duplicated) delivers the
// events of project Documents, project Photos, the record tools chosen and
// company Documents of every project to publicURL with the hook secret.
// Project-level hooks that earlier versions of the service registered are
// removed once afterwards (see dropProjectHooks).
func (s *Sync) registerHooks(ctx context.Context, c *Config, publicURL string) error {
	auth := procoreHookAuthorization(c)
	resources := slices.Concat(procore.DocumentResources, procore.PhotoResources, s.recordResources(), procore.CompanyDocumentResources)
	slices.Sort(resources)
	resources = slices.Compact(resources)
	for _, cid := range s.companies() {
		wh := s.Conn.Companies[cid].Webhooks
		h, err := wh.RegisterCompanyHook(ctx, hookNamespace, publicURL+"/procore/webhook", auth, "v2.0", resources)
		if err != nil {
			// Event types a resource does not offer (a recycled inspection
			// sends no event) are skipped: the pairs' checks see those.
			var skipped *procore.UnsubscribableError
			if !errors.As(err, &skipped) || h == nil {
				return fmt.Errorf("procore company hook (company %d): %w", cid, err)
			}
			s.log.Info("procore company hook: some events cannot be subscribed", "company", cid, "err", err)
		}
		if s.checker != nil {
			if err := s.checker.AddHook(projects.CompanyHook{Client: s.Conn.Companies[cid], HookID: h.ID}); err != nil {
				return err
			}
		}
	}
	return s.dropProjectHooks(ctx, c)
}

// dropProjectHooks deletes, once per store, the project-level hooks of
// namespace "procoresync" that versions before the company hooks
// registered for each project (their deliveries would duplicate the
// company hook's). A marker file in the state folder records that it was
// done; until it is written (a crash in between), it is done again.
func (s *Sync) dropProjectHooks(ctx context.Context, c *Config) error {
	marker := filepath.Join(StateDir(c.Store), "company-hooks")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	for _, k := range s.Projects {
		wh := s.Conn.Companies[k.CompanyID].Webhooks
		sc := procore.WebhookScope{CompanyID: k.CompanyID, ProjectID: k.ProjectID}
		hooks, _, err := wh.ListHooksV2(ctx, sc, hookNamespace, "", nil)
		if err != nil {
			return fmt.Errorf("procore project hooks of %d: %w", k.ProjectID, err)
		}
		for _, h := range hooks {
			if h.Namespace != hookNamespace {
				continue
			}
			if _, err := wh.DeleteHookV2(ctx, sc, h.ID); err != nil {
				return fmt.Errorf("procore project hook of %d: %w", k.ProjectID, err)
			}
			s.log.Info("procore: project hook of an earlier version removed (the company hook covers the project)", "project", k.ProjectID)
		}
	}
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(marker, []byte("project hooks replaced by company hooks\n"))
}

// keepHooks registers the company hooks again every hookRefresh until ctx
// is done, keeping s's health.
func (s *Sync) keepHooks(ctx context.Context, c *Config, publicURL string) {
	t := time.NewTicker(hookRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.registerHooks(ctx, c, publicURL)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.log.Warn("procore hooks not registered; polling every interval until they are", "err", err)
		}
		s.health.hooks.Store(err == nil)
	}
}

// watchProcore registers every project's Procore storages with the
// webhook receiver: the company hooks deliver the events of all projects
// to one receiver, which wakes the pairs of the event's project and tool.
func (s *Sync) watchProcore(rcv *procore.Receiver) {
	seen := map[string]bool{}
	for _, info := range s.infos {
		var recs []*records.Storage
		for _, pi := range info.Pairs {
			if seen[pi.PairID] {
				continue
			}
			seen[pi.PairID] = true
			switch a := pi.Procore.(type) {
			case *procore.DocumentsStorage:
				rcv.WatchDocuments(a)
			case *procore.PhotosStorage:
				rcv.WatchPhotos(a)
			case *records.Storage:
				recs = append(recs, a)
			case *records.DailyLog:
				records.WatchDailyLogWebhooks(rcv, a)
			}
		}
		records.WatchWebhooks(rcv, info.Project.ProjectID, recs...)
	}
}

// driveFeeds holds one msgraph.DriveFeed per Graph drive, shared by every
// pair rooted in the drive: one delta query per poll, whatever the number
// of pairs.
type driveFeeds struct {
	c    *msgraph.Client
	opts changefeed.Options

	mu    sync.Mutex
	feeds map[string]*msgraph.DriveFeed
	order []string
}

// newDriveFeeds returns the feeds of c's drives, polled every interval
// without notifications (the safety net when notifications are lost).
func newDriveFeeds(c *msgraph.Client, interval time.Duration) *driveFeeds {
	return &driveFeeds{c: c, opts: changefeed.Options{PollInterval: interval}, feeds: map[string]*msgraph.DriveFeed{}}
}

// get returns the feed of drive id, made on first use.
func (d *driveFeeds) get(id string) *msgraph.DriveFeed {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.feeds[id]
	if f == nil {
		f = msgraph.NewDriveFeed(d.c, id, d.opts)
		d.feeds[id] = f
		d.order = append(d.order, id)
	}
	return f
}

// all returns the drives and their feeds, in the order they were made.
func (d *driveFeeds) all() ([]string, []*msgraph.DriveFeed) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var fs []*msgraph.DriveFeed
	for _, id := range d.order {
		fs = append(fs, d.feeds[id])
	}
	return slices.Clone(d.order), fs
}

// companyFolderRules are the characters no target takes in a folder name.
const companyFolderRules = `"*:<>?/\|#%~`

// companyFolders names the folder of each company of keys other than the
// first key's: the company's name as Procore lists it (GET
// /rest/v1.0/companies), with the characters targets refuse replaced by
// "-", or "Company <id>" when it has none or it is not listed.
func companyFolders(ctx context.Context, pc *procore.Client, keys []projects.Key) (map[int64]string, error) {
	names := map[int64]string{}
	for co, err := range pc.Companies.All(ctx) {
		if err != nil {
			return nil, fmt.Errorf("procore companies: %w", err)
		}
		names[co.ID] = co.Name
	}
	out := map[int64]string{}
	for _, k := range keys[1:] {
		if k.CompanyID == keys[0].CompanyID {
			continue
		}
		n := strings.Map(func(r rune) rune {
			if strings.ContainsRune(companyFolderRules, r) || r < ' ' {
				return '-'
			}
			return r
		}, names[k.CompanyID])
		n = strings.TrimRight(strings.TrimSpace(n), ".")
		if n == "" {
			n = fmt.Sprint("Company ", k.CompanyID)
		}
		for _, used := range out {
			if strings.EqualFold(used, n) {
				n = fmt.Sprintf("%s (%d)", n, k.CompanyID)
				break
			}
		}
		out[k.CompanyID] = n
	}
	return out, nil
}

// namesByListing is how many projects of one company make reading their
// names from the company's project listing (GET /rest/v1.0/projects, 100
// a page) cheaper than one GET /rest/v1.0/projects/{id} each.
const namesByListing = 10

// projectNames reads the names of the projects of keys from their
// companies' project listings, for each company with at least
// namesByListing of them; the listing stops once all are found. A project
// not found keeps no name (the Manager then reads it on its own).
func projectNames(ctx context.Context, conn *Conn, keys []projects.Key) (map[projects.Key]string, error) {
	want := map[int64]map[int64]bool{}
	for _, k := range keys {
		if want[k.CompanyID] == nil {
			want[k.CompanyID] = map[int64]bool{}
		}
		want[k.CompanyID][k.ProjectID] = true
	}
	out := map[projects.Key]string{}
	for cid, ids := range want {
		if len(ids) < namesByListing {
			continue
		}
		left := len(ids)
		for p, err := range conn.Companies[cid].Projects.All(ctx, cid) {
			if err != nil {
				return nil, fmt.Errorf("procore projects of company %d: %w", cid, err)
			}
			if !ids[p.ID] {
				continue
			}
			if name := strings.TrimSpace(p.Name); name != "" {
				out[projects.Key{CompanyID: cid, ProjectID: p.ID}] = name
			}
			if left--; left == 0 {
				break
			}
		}
	}
	return out, nil
}

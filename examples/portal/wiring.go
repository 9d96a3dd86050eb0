package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
)

// wiring turns the portal's connections into clients and storages and
// its project configurations into procore/projects projects: it is the
// portal.ProjectManager of the program, over a projects.Manager.
type wiring struct {
	// ctx lives as long as the program: clients refresh tokens with it.
	ctx     context.Context
	cfg     *app.Config
	conns   *connect.Manager
	limiter *syncengine.RateLimiter
	mgr     *projects.Manager
	log     *slog.Logger
	// statePath keeps the project configurations (no secret) so that a
	// restart adds them again; "" keeps them in memory only.
	statePath string

	mu      sync.Mutex
	clients map[string]*procore.Client // by connection and company
	targets map[string]*connTarget     // by connection
	configs map[projects.Key]portal.ProjectConfig
	// unrestored are saved projects that could not be added again at
	// start; they stay in the file.
	unrestored []portal.ProjectConfig
}

func newWiring(ctx context.Context, cfg *app.Config, conns *connect.Manager, lim *syncengine.RateLimiter, mgr *projects.Manager,
	statePath string, log *slog.Logger) *wiring {
	return &wiring{ctx: ctx, cfg: cfg, conns: conns, limiter: lim, mgr: mgr, log: log, statePath: statePath,
		clients: map[string]*procore.Client{}, targets: map[string]*connTarget{}, configs: map[projects.Key]portal.ProjectConfig{}}
}

// procoreClient returns the Procore client of connection id acting in
// company (0: no company header, for listing companies), one per
// connection and company.
func (w *wiring) procoreClient(ctx context.Context, id string, company int64) (*procore.Client, error) {
	key := id + "/" + strconv.FormatInt(company, 10)
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clients[key]; ok {
		return c, nil
	}
	conn, err := w.conns.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if conn.Provider != connect.Procore {
		return nil, &portal.InputError{Field: "connection", Reason: "not a Procore connection"}
	}
	ep, err := w.conns.Endpoint(conn.Provider, conn.Domain, conn.Tenant)
	if err != nil {
		return nil, err
	}
	ts, err := w.conns.TokenSource(w.ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := procore.NewClient(procore.Options{BaseURL: ep.APIURL, CompanyID: company, TokenSource: ts,
		Pacer: w.limiter, PaceKey: budgetKey(conn)})
	if err != nil {
		return nil, err
	}
	w.clients[key] = c
	return c, nil
}

// companies lists the companies the signed-in Procore user of
// connection id sees: GET /rest/v1.0/companies, which (for a user's
// token, unlike every other call) takes no Procore-Company-Id header;
// procore.Client always sends one, so this one call is made here.
func (w *wiring) companies(ctx context.Context, id string) ([]procore.Company, error) {
	conn, err := w.conns.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	ep, err := w.conns.Endpoint(conn.Provider, conn.Domain, conn.Tenant)
	if err != nil {
		return nil, err
	}
	ts, err := w.conns.TokenSource(w.ctx, id)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &oauth2.Transport{Source: ts}}
	var out []procore.Company
	for page := 1; page <= maxCompanyPages; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s/rest/v1.0/companies?page=%d&per_page=100", strings.TrimSuffix(ep.APIURL, "/"), page), nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		var got []procore.Company
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("procore: GET /rest/v1.0/companies: %s", resp.Status)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return nil, fmt.Errorf("procore: GET /rest/v1.0/companies: %w", err)
		}
		out = append(out, got...)
		if len(got) < 100 {
			break
		}
	}
	return out, nil
}

// maxCompanyPages bounds the companies listed (100 a page).
const maxCompanyPages = 20

// budgetKey is the limiter key of a Procore connection: its app's.
func budgetKey(c connect.Connection) string { return "procore:" + c.ClientID }

// target returns the target of connection id (one per connection, so
// that a project's target stays the same value across updates).
func (w *wiring) target(ctx context.Context, id string) (*connTarget, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.targets[id]; ok {
		return t, nil
	}
	conn, err := w.conns.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	ep, err := w.conns.Endpoint(conn.Provider, conn.Domain, conn.Tenant)
	if err != nil {
		return nil, err
	}
	ts, err := w.conns.TokenSource(w.ctx, id)
	if err != nil {
		return nil, err
	}
	t := &connTarget{label: string(w.cfg.Target)}
	c := w.cfg
	const ua = "ISV|procoresync|examples-portal/0.1"
	switch conn.Provider {
	case connect.Microsoft:
		gc, err := msgraph.NewClient(msgraph.Options{BaseURL: ep.APIURL, TokenSource: ts, UserAgent: ua})
		if err != nil {
			return nil, err
		}
		if c.Target == app.OneDrive {
			t.open = func(ctx context.Context, rel string) (storage.Storage, error) {
				return onedrive.New(ctx, gc, onedrive.Options{RootPath: rel})
			}
		} else {
			t.open = func(ctx context.Context, rel string) (storage.Storage, error) {
				return sharepoint.New(ctx, gc, sharepoint.Options{Host: c.SiteHost, SitePath: c.SitePath, Library: c.Library, RootPath: rel})
			}
		}
	case connect.Box:
		bc, err := box.NewClient(box.ClientOptions{BaseURL: ep.APIURL, UploadURL: c.BoxUploadURL, TokenSource: ts, UserAgent: ua})
		if err != nil {
			return nil, err
		}
		t.open = func(ctx context.Context, rel string) (storage.Storage, error) {
			return box.New(ctx, bc, box.Options{RootPath: rel})
		}
	case connect.Dropbox:
		dc, err := dropbox.NewClient(dropbox.ClientOptions{TokenSource: ts, APIURL: c.DropboxAPIURL, ContentURL: c.DropboxContentURL,
			NotifyURL: c.DropboxNotifyURL, UserAgent: ua})
		if err != nil {
			return nil, err
		}
		t.open = func(ctx context.Context, rel string) (storage.Storage, error) {
			if rel != "" {
				rel = "/" + rel
			}
			return dropbox.New(ctx, dc, dropbox.Options{RootPath: rel})
		}
	default:
		return nil, &portal.InputError{Field: "target", Reason: conn.Provider.Title() + " is not a target storage"}
	}
	w.targets[id] = t
	return t, nil
}

// connTarget is a projects.Target over a connected account.
type connTarget struct {
	label string
	open  func(ctx context.Context, rel string) (storage.Storage, error)
}

// Name implements projects.Target.
func (t *connTarget) Name() string { return t.label }

// Open implements projects.Target.
func (t *connTarget) Open(ctx context.Context, rel string) (storage.Storage, error) {
	return t.open(ctx, rel)
}

// The portal.ProjectManager.

// projectID is the portal's ID of a project: "<company>-<project>".
func projectID(k projects.Key) string { return fmt.Sprintf("%d-%d", k.CompanyID, k.ProjectID) }

func parseProjectID(id string) (projects.Key, error) {
	c, p, ok := strings.Cut(id, "-")
	ci, err1 := strconv.ParseInt(c, 10, 64)
	pi, err2 := strconv.ParseInt(p, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return projects.Key{}, fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	return projects.Key{CompanyID: ci, ProjectID: pi}, nil
}

// toolOf maps the portal's tool names (daily_log) to the package's
// (daily-log).
func toolOf(name string) projects.Tool { return projects.Tool(strings.ReplaceAll(name, "_", "-")) }

// project builds the projects.Project of configuration pc.
func (w *wiring) project(ctx context.Context, pc portal.ProjectConfig) (projects.Project, error) {
	cl, err := w.procoreClient(ctx, pc.Connection, pc.CompanyID)
	if err != nil {
		return projects.Project{}, err
	}
	t, err := w.target(ctx, pc.Target)
	if err != nil {
		return projects.Project{}, err
	}
	conn, err := w.conns.Get(ctx, pc.Connection)
	if err != nil {
		return projects.Project{}, err
	}
	p := projects.Project{Client: cl, CompanyID: pc.CompanyID, ProjectID: pc.ProcoreProjectID, Name: pc.Name,
		Target: t, Root: strings.Trim(pc.TargetFolder, "/")}
	for _, tc := range pc.Tools {
		c := projects.ToolConfig{Tool: toolOf(tc.Tool)}
		if tc.Direction == "one_way" {
			c.Direction = syncengine.DirectionOneWayAB
		}
		p.Tools = append(p.Tools, c)
	}
	o := pc.Options
	p.Options = projects.Options{IntegrationName: o.IntegrationName, KeepDeletes: !o.SyncDeletes, DeleteLimit: o.DeleteLimit,
		Replacement: o.Replacement, NoNameMapping: !o.NameMapping, Recipients: pc.Recipients, Interval: w.cfg.Interval,
		DailyLogDays: w.cfg.DailyLogDays, Budgets: []string{budgetKey(conn)},
		Filter: syncengine.Filter{Include: o.Include, Exclude: o.Exclude}}
	if o.InitialMode == "merge" {
		p.Options.Initial = syncengine.InitialMerge
	}
	return p, nil
}

// managerErr maps the projects package's errors to the portal's.
func managerErr(err error) error {
	var ce *projects.ConfigError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &portal.InputError{Field: strings.ToLower(ce.Field), Reason: ce.Reason}
	case errors.Is(err, projects.ErrProjectExists):
		return fmt.Errorf("%w: %w", portal.ErrConflict, err)
	case errors.Is(err, projects.ErrUnknownProject), errors.Is(err, connect.ErrNotFound):
		return fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	}
	return err
}

// withPairs fills in the pair IDs the manager gave the project's tools.
func (w *wiring) withPairs(pc portal.ProjectConfig, k projects.Key) portal.ProjectConfig {
	pc.ID = projectID(k)
	pc.Tools = slices.Clone(pc.Tools)
	info, ok := w.mgr.Get(k)
	if !ok {
		return pc
	}
	for i := range pc.Tools {
		for _, p := range info.Pairs {
			if p.Tool == toolOf(pc.Tools[i].Tool) {
				pc.Tools[i].PairID = p.PairID
			}
		}
	}
	return pc
}

// List implements portal.ProjectManager.
func (w *wiring) List(context.Context) ([]portal.ProjectConfig, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]portal.ProjectConfig, 0, len(w.configs))
	for k, pc := range w.configs {
		out = append(out, w.withPairs(pc, k))
	}
	slices.SortFunc(out, func(a, b portal.ProjectConfig) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Get implements portal.ProjectManager.
func (w *wiring) Get(_ context.Context, id string) (portal.ProjectConfig, error) {
	k, err := parseProjectID(id)
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	pc, ok := w.configs[k]
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %s: %w", id, portal.ErrNotFound)
	}
	return w.withPairs(pc, k), nil
}

// Add implements portal.ProjectManager: the manager makes the layout and
// adds the pairs, which the engine runs at once (the initial sync).
func (w *wiring) Add(ctx context.Context, pc portal.ProjectConfig) (portal.ProjectConfig, error) {
	p, err := w.project(ctx, pc)
	if err != nil {
		return portal.ProjectConfig{}, managerErr(err)
	}
	if _, err := w.mgr.Add(ctx, p); err != nil {
		return portal.ProjectConfig{}, managerErr(err)
	}
	w.mu.Lock()
	pc.ID = ""
	w.configs[p.Key()] = pc
	err = w.saveLocked()
	out := w.withPairs(pc, p.Key())
	w.mu.Unlock()
	return out, err
}

// Update implements portal.ProjectManager.
func (w *wiring) Update(ctx context.Context, pc portal.ProjectConfig) (portal.ProjectConfig, error) {
	k, err := parseProjectID(pc.ID)
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	w.mu.Lock()
	old, ok := w.configs[k]
	w.mu.Unlock()
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %s: %w", pc.ID, portal.ErrNotFound)
	}
	if pc.CompanyID != k.CompanyID || pc.ProcoreProjectID != k.ProjectID {
		return portal.ProjectConfig{}, &portal.InputError{Field: "procore_project_id", Reason: "a project's Procore IDs cannot change"}
	}
	if pc.Target != old.Target || strings.Trim(pc.TargetFolder, "/") != strings.Trim(old.TargetFolder, "/") {
		return portal.ProjectConfig{}, &portal.InputError{Field: "target_folder", Reason: "the target of a project cannot change: remove it and add it again"}
	}
	p, err := w.project(ctx, pc)
	if err != nil {
		return portal.ProjectConfig{}, managerErr(err)
	}
	if err := w.mgr.Update(ctx, p); err != nil {
		return portal.ProjectConfig{}, managerErr(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	pc.ID = ""
	w.configs[k] = pc
	err = w.saveLocked()
	return w.withPairs(pc, k), err
}

// Remove implements portal.ProjectManager: the pairs stop, the target's
// files stay.
func (w *wiring) Remove(ctx context.Context, id string, forget bool) error {
	k, err := parseProjectID(id)
	if err != nil {
		return err
	}
	if err := w.mgr.Remove(ctx, k, projects.RemoveOptions{ForgetState: forget}); err != nil {
		return managerErr(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.configs, k)
	return w.saveLocked()
}

// saveLocked writes the configurations to statePath (mode 0600, replaced
// atomically: a crash leaves the old file or the new one).
func (w *wiring) saveLocked() error {
	if w.statePath == "" {
		return nil
	}
	list := slices.Clone(w.unrestored)
	for _, pc := range w.configs {
		list = append(list, pc)
	}
	slices.SortFunc(list, func(a, b portal.ProjectConfig) int {
		return cmp.Or(cmp.Compare(a.CompanyID, b.CompanyID), cmp.Compare(a.ProcoreProjectID, b.ProcoreProjectID))
	})
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(w.statePath), ".projects-*.json")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(f.Name(), w.statePath)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving the projects: %w", err)
	}
	return nil
}

// restore adds the projects saved by an earlier run. A project that
// cannot be added (its connection was removed) is logged and kept in
// the file.
func (w *wiring) restore(ctx context.Context) error {
	if w.statePath == "" {
		return nil
	}
	b, err := os.ReadFile(w.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var list []portal.ProjectConfig
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%s: %w", w.statePath, err)
	}
	for _, pc := range list {
		p, err := w.project(ctx, pc)
		if err == nil {
			_, err = w.mgr.Add(ctx, p)
		}
		if err != nil {
			w.log.Error("portal: a saved project was not added again", "project", pc.Name, "err", err)
			w.mu.Lock()
			w.unrestored = append(w.unrestored, pc)
			w.mu.Unlock()
			continue
		}
		w.mu.Lock()
		w.configs[p.Key()] = pc
		w.mu.Unlock()
	}
	return nil
}

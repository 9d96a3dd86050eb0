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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/atomicfile"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/portal/managed"
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

// wiring turns the portal's connections into Procore clients and target
// storages: the managed.Connectors of the program.
type wiring struct {
	// ctx lives as long as the program: clients refresh tokens with it.
	ctx     context.Context
	cfg     *app.Config
	conns   *connect.Manager
	limiter *syncengine.RateLimiter

	mu      sync.Mutex
	clients map[string]*procore.Client // by connection and company
	targets map[string]*connTarget     // by connection
}

func newWiring(ctx context.Context, cfg *app.Config, conns *connect.Manager, lim *syncengine.RateLimiter) *wiring {
	return &wiring{ctx: ctx, cfg: cfg, conns: conns, limiter: lim, clients: map[string]*procore.Client{},
		targets: map[string]*connTarget{}}
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

// Procore implements managed.Connectors: the client of company
// companyID through Procore connection id ("": the newest).
func (w *wiring) Procore(ctx context.Context, id string, companyID int64) (*procore.Client, error) {
	if id == "" {
		var err error
		if id, err = w.newest(ctx, connect.Procore); err != nil {
			return nil, err
		}
	}
	return w.procoreClient(ctx, id, companyID)
}

// Target implements managed.Connectors: the target of connection id.
func (w *wiring) Target(ctx context.Context, id string) (projects.Target, error) {
	return w.target(ctx, id)
}

// newest returns the ID of the newest connection of provider p.
func (w *wiring) newest(ctx context.Context, p connect.Provider) (string, error) {
	cs, err := w.conns.List(ctx)
	if err != nil {
		return "", err
	}
	c, ok := newest(cs, p)
	if !ok {
		return "", fmt.Errorf("no %s connection", p.Title())
	}
	return c.ID, nil
}

// savedProjects is the program's portal.ProjectManager: managed.Projects
// (the procore/projects Manager opened through the portal's connections),
// whose configurations it keeps in a file (no secret in it) so that a
// restart adds the projects again. It also spells the tools as the
// portal's API does ("daily_log") on the way in and out, where the
// projects package spells them "daily-log".
type savedProjects struct {
	inner *managed.Projects
	log   *slog.Logger
	// path keeps the configurations; "" keeps them in memory only.
	path string

	mu sync.Mutex
	// unrestored are saved projects that could not be added again at
	// start; they stay in the file.
	unrestored []portal.ProjectConfig
}

var _ portal.ProjectManager = (*savedProjects)(nil)

// toolsIn and toolsOut translate the tool names.
func toolsIn(pc portal.ProjectConfig) portal.ProjectConfig {
	pc.Tools = slices.Clone(pc.Tools)
	for i := range pc.Tools {
		pc.Tools[i].Tool = strings.ReplaceAll(pc.Tools[i].Tool, "_", "-")
	}
	return pc
}

func toolsOut(pc portal.ProjectConfig) portal.ProjectConfig {
	pc.Tools = slices.Clone(pc.Tools)
	for i := range pc.Tools {
		pc.Tools[i].Tool = strings.ReplaceAll(pc.Tools[i].Tool, "-", "_")
	}
	return pc
}

// List implements portal.ProjectManager.
func (s *savedProjects) List(ctx context.Context) ([]portal.ProjectConfig, error) {
	list, err := s.inner.List(ctx)
	for i := range list {
		list[i] = toolsOut(list[i])
	}
	return list, err
}

// Get implements portal.ProjectManager.
func (s *savedProjects) Get(ctx context.Context, id string) (portal.ProjectConfig, error) {
	pc, err := s.inner.Get(ctx, id)
	return toolsOut(pc), err
}

// Add implements portal.ProjectManager: the Manager makes the layout and
// adds the pairs, which the engine runs at once (the initial sync).
func (s *savedProjects) Add(ctx context.Context, pc portal.ProjectConfig) (portal.ProjectConfig, error) {
	out, err := s.inner.Add(ctx, toolsIn(pc))
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	return toolsOut(out), s.save(ctx)
}

// Update implements portal.ProjectManager.
func (s *savedProjects) Update(ctx context.Context, pc portal.ProjectConfig) (portal.ProjectConfig, error) {
	out, err := s.inner.Update(ctx, toolsIn(pc))
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	return toolsOut(out), s.save(ctx)
}

// Remove implements portal.ProjectManager: the pairs stop, the target's
// files stay.
func (s *savedProjects) Remove(ctx context.Context, id string, forget bool) error {
	if err := s.inner.Remove(ctx, id, forget); err != nil {
		return err
	}
	return s.save(ctx)
}

// save writes the configurations to path (mode 0600, replaced
// atomically: a crash leaves the old file or the new one).
func (s *savedProjects) save(ctx context.Context) error {
	if s.path == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := s.inner.List(ctx)
	if err != nil {
		return err
	}
	list = append(list, s.unrestored...)
	slices.SortFunc(list, func(a, b portal.ProjectConfig) int {
		return cmp.Or(cmp.Compare(a.CompanyID, b.CompanyID), cmp.Compare(a.ProcoreProjectID, b.ProcoreProjectID))
	})
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path, b); err != nil {
		return fmt.Errorf("saving the projects: %w", err)
	}
	return nil
}

// restore adds the projects saved by an earlier run. A project that
// cannot be added (its connection was removed) is logged and kept in
// the file.
func (s *savedProjects) restore(ctx context.Context) error {
	if s.path == "" {
		return nil
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var list []portal.ProjectConfig
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	for _, pc := range list {
		if _, err := s.inner.Add(ctx, pc); err != nil {
			s.log.Error("portal: a saved project was not added again", "project", pc.Name, "err", err)
			s.mu.Lock()
			s.unrestored = append(s.unrestored, pc)
			s.mu.Unlock()
		}
	}
	return nil
}

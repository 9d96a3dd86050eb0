package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
)

// site is the server-rendered portal: pages over the portal's service
// layer (every read and change goes through portal.Service, which checks
// the caller's role and records the audit log).
type site struct {
	svc   *portal.Service
	conns *connections
	cfg   siteConfig
	pages map[string]*template.Template
	log   *slog.Logger
	// secureCookies marks the session cookie Secure even on a plain
	// listener (the portal is behind a TLS-terminating proxy).
	secureCookies bool
}

// siteConfig is what the pages need to know about the deployment.
type siteConfig struct {
	// Target labels the target storage ("SharePoint").
	Target string
	// DefaultFolder is the add-project form's target folder.
	DefaultFolder string
}

func newSite(svc *portal.Service, conns *connections, cfg siteConfig, log *slog.Logger) (*site, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &site{svc: svc, conns: conns, cfg: cfg, pages: pages, log: log}, nil
}

// routes returns the portal's pages, its static files and the JSON API
// (portal.Handler under /api/v1) on one mux.
func (s *site) routes(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/static/", staticHandler())
	mux.Handle("/api/", api)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.Handle("POST /logout", s.signedIn(s.logout))
	mux.Handle("GET /{$}", s.signedIn(s.dashboard))
	mux.Handle("GET /progress", s.signedIn(s.progress))
	mux.Handle("GET /projects", s.signedIn(s.projectsPage))
	mux.Handle("POST /projects", s.signedIn(s.addProject))
	mux.Handle("GET /projects/{id}", s.signedIn(s.projectPage))
	mux.Handle("POST /pairs/pause", s.signedIn(s.pause))
	mux.Handle("POST /pairs/resume", s.signedIn(s.resume))
	mux.Handle("GET /files", s.signedIn(s.files))
	mux.Handle("POST /files/sync-level", s.signedIn(s.syncLevel))
	mux.Handle("GET /held", s.signedIn(s.held))
	mux.Handle("POST /held/approve", s.signedIn(s.decide(true)))
	mux.Handle("POST /held/reject", s.signedIn(s.decide(false)))
	mux.Handle("GET /audit", s.signedIn(s.audit))
	mux.Handle("GET /exports", s.signedIn(s.exports))
	mux.Handle("GET /exports/{file}", s.signedIn(s.download))
	mux.Handle("GET /connections", s.signedIn(s.connectionsPage))
	mux.Handle("POST /connections/{provider}/start", s.signedIn(s.startConnection))
	mux.Handle("GET /connections/callback", s.signedIn(s.finishConnection))
	mux.Handle("POST /connections/{id}/test", s.signedIn(s.testConnection))
	mux.Handle("GET /accounts", s.signedIn(s.accounts))
	mux.Handle("POST /accounts", s.signedIn(s.addAccount))
	// Cross-origin state-changing requests are refused before any handler
	// (Sec-Fetch-Site / Origin), besides the per-session CSRF token.
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// newPage fills what every page shows about the caller.
func (s *site) newPage(r *http.Request, c portal.Caller, title, nav string, data any) *page {
	role := c.Account.Role
	p := &page{Title: title, Nav: nav, Data: data, CSRF: c.Session.CSRF,
		User:     &viewer{Email: c.Account.Email, Role: string(role)},
		CanAdmin: role.AtLeast(auth.RoleOwner), CanConfigure: role.AtLeast(auth.RoleAdmin),
		CanApprove: role.AtLeast(auth.RoleAdmin), CanExport: role.AtLeast(auth.RoleAdmin)}
	p.Flash = r.URL.Query().Get("done")
	return p
}

// fail answers a failed request with the error page, its status from the
// service's typed errors; an internal error is logged and not shown.
func (s *site) fail(w http.ResponseWriter, r *http.Request, c portal.Caller, err error) {
	status := statusOf(err)
	title, msg := http.StatusText(status), err.Error()
	switch status {
	case http.StatusForbidden:
		title, msg = "Not allowed", fmt.Sprintf("Your role (%s) cannot do this.", c.Account.Role)
		if errors.Is(err, auth.ErrBadCSRF) {
			msg = "The form expired or came from another site. Go back, reload the page and try again."
		}
	case http.StatusInternalServerError:
		s.log.Error("portal page failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong; the error is in the portal's log."
	}
	p := s.newPage(r, c, title, "", map[string]string{"Title": title, "Message": msg})
	p.Flash = ""
	render(w, s.log, s.pages, status, "error", p)
}

// back redirects to a page of the portal after a change, with a message.
func back(w http.ResponseWriter, r *http.Request, to, done string) {
	if !strings.HasPrefix(to, "/") || strings.HasPrefix(to, "//") {
		to = "/"
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"done="+url.QueryEscape(done), http.StatusSeeOther)
}

// Login and logout.

func (s *site) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionFrom(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	render(w, s.log, s.pages, http.StatusOK, "login", &page{Title: "Sign in", Data: map[string]string{"Email": ""}})
}

func (s *site) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	email := r.PostForm.Get("email")
	token, me, err := s.svc.Login(r.Context(), email, r.PostForm.Get("password"), clientOf(r))
	if err != nil {
		status, msg := http.StatusUnauthorized, "Wrong email or password."
		var rl *auth.RateLimitError
		if errors.As(err, &rl) {
			status = http.StatusTooManyRequests
			msg = fmt.Sprintf("Too many attempts: try again in %s.", rl.RetryAfter.Round(time.Second))
			w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		} else if !errors.Is(err, auth.ErrBadCredentials) {
			s.log.Error("portal login failed", "err", err)
			status, msg = http.StatusInternalServerError, "Signing in failed; the error is in the portal's log."
		}
		render(w, s.log, s.pages, status, "login", &page{Title: "Sign in", Error: msg, Data: map[string]string{"Email": email}})
		return
	}
	s.setSession(w, r, token, me.Expires)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *site) logout(w http.ResponseWriter, r *http.Request, _ portal.Caller) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.svc.Logout(r.Context(), c.Value); err != nil && !errors.Is(err, auth.ErrNoSession) {
			s.log.Error("portal logout", "err", err)
		}
	}
	s.setSession(w, r, "", time.Time{})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// The dashboard and the progress of running syncs.

type dashboardView struct {
	From, To                 string
	Projects, Files, Folders int
	Size, Synced, Deleted    int64
	Held                     int
	Rows                     []dashboardRow
	Progress                 []progressRow
}

type dashboardRow struct {
	ProjectID, Name       string
	Files, Folders        int
	Size, Synced, Deleted int64
	Speed                 float64
	LastSync              time.Time
	Status                string
}

func (s *site) dashboard(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	q := r.URL.Query()
	var rg portal.DateRange
	if t, err := time.ParseInLocation("2006-01-02", q.Get("from"), time.Local); err == nil {
		rg.From = t
	}
	if t, err := time.ParseInLocation("2006-01-02", q.Get("to"), time.Local); err == nil {
		rg.To = t.AddDate(0, 0, 1) // the whole day
	}
	d, err := s.svc.Dashboard(r.Context(), rg)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := dashboardView{From: q.Get("from"), To: q.Get("to"), Projects: len(d.Projects), Files: d.Totals.Files,
		Folders: d.Totals.Folders, Size: d.Totals.Bytes, Synced: d.Totals.BytesSynced, Deleted: d.Totals.BytesDeleted,
		Held: d.Totals.Held}
	for _, p := range d.Projects {
		for _, t := range p.Tools {
			row := dashboardRow{ProjectID: p.ProjectID, Name: p.Name + " / " + toolLabel(t.Tool), Files: t.Files,
				Folders: t.Folders, Size: t.Bytes, Synced: t.BytesSynced, Deleted: t.BytesDeleted,
				Speed: t.AverageBytesPerSecond, Status: toolStatus(t)}
			if t.LastSync != nil {
				row.LastSync = *t.LastSync
			}
			v.Rows = append(v.Rows, row)
		}
	}
	if v.Progress, err = s.progressRows(r.Context(), ""); err != nil {
		s.fail(w, r, c, err)
		return
	}
	render(w, s.log, s.pages, http.StatusOK, "dashboard", s.newPage(r, c, "Dashboard", "dashboard", v))
}

func toolStatus(t portal.ToolFigures) string {
	switch {
	case t.Paused:
		return "paused"
	case t.Running:
		return "running"
	case t.Held > 0:
		return "held"
	case t.Quarantined > 0 || t.Failing > 0:
		return "failed"
	case t.LastSync == nil:
		return "waiting"
	}
	return "ok"
}

// progressRow is one tool's progress bar.
type progressRow struct {
	Pair  string `json:"pair"`
	Name  string `json:"name"`
	State string `json:"state"` // waiting, running, done, failed, paused
	Label string `json:"label"`
	// Files counts what the current (or last) run did; Total is what it
	// had to do when known (0: not known yet).
	Files   int   `json:"files"`
	Total   int   `json:"total"`
	Bytes   int64 `json:"bytes"`
	Percent int   `json:"percent"`
	Paused  bool  `json:"paused"`
}

// progressRows returns the progress of every tool of project (""; every
// project).
func (s *site) progressRows(ctx context.Context, project string) ([]progressRow, error) {
	ps, err := s.svc.Projects(ctx)
	if err != nil {
		return nil, err
	}
	var rows []progressRow
	for _, p := range ps {
		if project != "" && p.ID != project {
			continue
		}
		for _, t := range p.Tools {
			pr, err := s.svc.Progress(ctx, t.PairID)
			if err != nil {
				return nil, err
			}
			rows = append(rows, progressOf(p.Name+" / "+toolLabel(t.Tool), t, pr))
		}
	}
	return rows, nil
}

func progressOf(name string, t portal.ToolSummary, pr portal.Progress) progressRow {
	row := progressRow{Pair: t.PairID, Name: name, Files: pr.Done, Paused: t.State == "paused"}
	switch {
	case t.State == "paused":
		row.State, row.Label = "paused", "paused"
	case pr.Running:
		row.State, row.Label = "running", "syncing"
		if pr.Run != nil && pr.Run.Initial {
			row.Label = "initial sync running"
		}
	case pr.Run == nil:
		row.State, row.Label = "waiting", "waiting for its first run"
	case pr.Run.Status == "failed" || pr.Run.Status == "refused":
		row.State, row.Label = "failed", pr.Run.Status
	default:
		row.State, row.Label, row.Percent = "done", "in sync", 100
		if !t.Initialized {
			row.State, row.Label, row.Percent = "running", "initial sync continues", 0
		} else if pr.Run.Initial {
			row.Label = "initial sync complete"
		}
	}
	if pr.Run != nil {
		row.Bytes = pr.Run.Counts.BytesCopied
	}
	return row
}

// progress answers the progress script: the rows as JSON.
func (s *site) progress(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	rows, err := s.progressRows(r.Context(), r.URL.Query().Get("project"))
	if err != nil {
		http.Error(w, http.StatusText(statusOf(err)), statusOf(err))
		return
	}
	if rows == nil {
		rows = []progressRow{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(rows)
}

// Projects.

type projectsView struct {
	Projects  []projectLine
	Connected bool
	Companies []choice
	Choices   []choice
	Tools     []toolChoice
	Folder    string
	Target    string
	ListError string
}

type projectLine struct {
	ID                   string
	Name                 string
	CompanyID, ProjectID int64
	Tools                []string
	Folder               string
	LastSync             time.Time
}

type choice struct {
	ID   int64
	Name string
}

type toolChoice struct {
	Name, Label string
	Default     bool
}

// formTools are the tools the add-project form offers, in its order.
var formTools = []toolChoice{
	{"documents", "Documents (two-way)", true}, {"photos", "Photos (two-way)", true},
	{"company_documents", "Company Documents (two-way)", false},
	{"rfis", "RFIs", true}, {"submittals", "Submittals", false}, {"drawings", "Drawings", false},
	{"forms", "Forms", false}, {"observations", "Observations", false}, {"inspections", "Inspections", false},
	{"incidents", "Incidents", false}, {"commitments", "Commitments", false}, {"daily_log", "Daily Log", false},
}

func toolLabel(tool string) string {
	for _, t := range formTools {
		if t.Name == tool {
			return strings.TrimSuffix(t.Label, " (two-way)")
		}
	}
	return tool
}

func (s *site) projectsPage(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	ps, err := s.svc.Projects(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := projectsView{Tools: formTools, Folder: s.cfg.DefaultFolder, Target: s.cfg.Target}
	for _, p := range ps {
		line := projectLine{ID: p.ID, Name: p.Name, CompanyID: p.CompanyID, ProjectID: p.ProcoreProjectID}
		if p.LastSync != nil {
			line.LastSync = *p.LastSync
		}
		for _, t := range p.Tools {
			line.Tools = append(line.Tools, toolLabel(t.Tool))
		}
		if cfg, err := s.svc.ProjectConfig(r.Context(), p.ID); err == nil {
			line.Folder = cfg.TargetFolder
		}
		v.Projects = append(v.Projects, line)
	}
	if c.Account.Role.AtLeast(auth.RoleAdmin) {
		var err error
		if v.Connected, v.Companies, v.Choices, err = s.conns.choices(r.Context()); err != nil {
			s.log.Warn("portal: listing Procore's projects", "err", err)
			v.ListError = err.Error()
		}
	}
	render(w, s.log, s.pages, http.StatusOK, "projects", s.newPage(r, c, "Projects", "projects", v))
}

func (s *site) addProject(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	// The service refuses a viewer too; checked first here so that the
	// answer does not depend on the connections.
	if !c.Account.Role.AtLeast(portal.RoleAdmin) {
		s.fail(w, r, c, portal.ErrForbidden)
		return
	}
	f := r.PostForm
	company, _ := strconv.ParseInt(f.Get("company"), 10, 64)
	project, _ := strconv.ParseInt(f.Get("project"), 10, 64)
	procoreConn, targetConn, err := s.conns.pair(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	name := s.conns.projectName(r.Context(), company, project)
	cfg := portal.ProjectConfig{Name: name, CompanyID: company, ProcoreProjectID: project, Connection: procoreConn,
		Target: targetConn, TargetFolder: strings.Trim(strings.TrimSpace(f.Get("folder")), "/"),
		Options: portal.ProjectOptions{SyncDeletes: true, DeleteLimit: s.conns.deleteLimit, NameMapping: true}}
	for _, t := range f["tools"] {
		cfg.Tools = append(cfg.Tools, portal.ToolConfig{Tool: t})
	}
	added, err := s.svc.AddProject(r.Context(), cfg)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	back(w, r, "/projects/"+url.PathEscape(added.ID), "Project added: its initial sync has started.")
}

type projectView struct {
	ID, Name             string
	CompanyID, ProjectID int64
	Target, Folder       string
	Pairs                []progressRow
	Runs                 []runLine
	Errors               []errorLine
}

type runLine struct {
	Tool                          string
	Started, Ended                time.Time
	Status, Error                 string
	Copied, Deleted, Held, Failed int
}

type errorLine struct {
	Time                time.Time
	Tool, Path, Message string
}

func (s *site) projectPage(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := s.svc.Project(ctx, id)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := projectView{ID: p.ID, Name: p.Name, CompanyID: p.CompanyID, ProjectID: p.ProcoreProjectID, Target: s.cfg.Target}
	if cfg, err := s.svc.ProjectConfig(ctx, id); err == nil {
		v.Folder = cfg.TargetFolder
	}
	if v.Pairs, err = s.progressRows(ctx, id); err != nil {
		s.fail(w, r, c, err)
		return
	}
	tools := map[string]string{}
	for _, t := range p.Tools {
		tools[t.PairID] = toolLabel(t.Tool)
		runs, err := s.svc.Runs(ctx, t.PairID, portal.Page{Limit: 20})
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		for _, run := range runs {
			line := runLine{Tool: toolLabel(t.Tool), Started: run.Started, Status: run.Status, Error: run.Error,
				Copied: run.Counts.FilesCopied, Deleted: run.Counts.Deleted, Held: run.Counts.Held, Failed: run.Counts.Failed}
			if run.Ended != nil {
				line.Ended = *run.Ended
			}
			v.Runs = append(v.Runs, line)
		}
	}
	slices.SortStableFunc(v.Runs, func(a, b runLine) int { return b.Started.Compare(a.Started) })
	errs, err := s.svc.ProjectErrors(ctx, id, portal.Page{Limit: 50})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	for _, e := range errs {
		v.Errors = append(v.Errors, errorLine{Time: e.Time, Tool: tools[e.PairID], Path: e.Path, Message: e.Error})
	}
	render(w, s.log, s.pages, http.StatusOK, "project", s.newPage(r, c, p.Name, "projects", v))
}

// projectOfPair returns the project page of a pair, for redirects.
func (s *site) projectOfPair(ctx context.Context, pairID string) string {
	ps, err := s.svc.Projects(ctx)
	if err != nil {
		return "/projects"
	}
	for _, p := range ps {
		for _, t := range p.Tools {
			if t.PairID == pairID {
				return "/projects/" + url.PathEscape(p.ID)
			}
		}
	}
	return "/projects"
}

func (s *site) pause(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	pair := r.PostForm.Get("pair")
	if err := s.svc.Pause(r.Context(), pair, "paused in the portal by "+c.Account.Email); err != nil {
		s.fail(w, r, c, err)
		return
	}
	back(w, r, s.projectOfPair(r.Context(), pair), "Paused.")
}

func (s *site) resume(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	pair := r.PostForm.Get("pair")
	if err := s.svc.Resume(r.Context(), pair); err != nil {
		s.fail(w, r, c, err)
		return
	}
	back(w, r, s.projectOfPair(r.Context(), pair), "Resumed.")
}

// The file manager.

type filesView struct {
	Pairs          []pairChoice
	Pair, PairName string
	Folder         string
	Crumbs         []crumb
	AName, BName   string
	Entries        []fileLine
}

type pairChoice struct{ ID, Name string }

type crumb struct{ Name, Path string }

type fileLine struct {
	Name, Path          string
	IsDir               bool
	A, B                bool
	AURL, BURL          string
	ASize, BSize        int64
	Status, StatusLabel string
	Detail              string
}

var statusLabels = map[string]string{"in_sync": "in sync", "differs": "differs", "only_a": "only in Procore",
	"only_b": "only on the target", "held": "deletion held", "failed": "failing", "quarantined": "quarantined"}

func (s *site) files(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	ctx := r.Context()
	ps, err := s.svc.Projects(ctx)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	v := filesView{Pair: r.URL.Query().Get("pair"), Folder: r.URL.Query().Get("folder")}
	for _, p := range ps {
		for _, t := range p.Tools {
			v.Pairs = append(v.Pairs, pairChoice{ID: t.PairID, Name: p.Name + " / " + toolLabel(t.Tool)})
			if t.PairID == v.Pair {
				v.PairName = p.Name + " / " + toolLabel(t.Tool)
			}
		}
	}
	if v.Pair != "" {
		f, err := s.svc.Folder(ctx, v.Pair, v.Folder)
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		v.Folder, v.AName, v.BName = f.Path, f.AName, f.BName
		if v.Folder != "" {
			acc := ""
			for _, el := range strings.Split(v.Folder, "/") {
				acc = path.Join(acc, el)
				v.Crumbs = append(v.Crumbs, crumb{Name: el, Path: acc})
			}
		}
		for _, e := range f.Entries {
			line := fileLine{Name: e.Name, Path: path.Join(v.Folder, e.Name), IsDir: e.IsDir, Status: e.Status,
				StatusLabel: statusLabels[e.Status], Detail: e.Detail}
			if line.StatusLabel == "" {
				line.StatusLabel = e.Status
			}
			if e.A != nil {
				line.A, line.AURL, line.ASize = true, e.A.WebURL, e.A.Size
				line.Path = e.A.Path
			}
			if e.B != nil {
				line.B, line.BURL, line.BSize = true, e.B.WebURL, e.B.Size
			}
			v.Entries = append(v.Entries, line)
		}
	}
	render(w, s.log, s.pages, http.StatusOK, "files", s.newPage(r, c, "File manager", "files", v))
}

func (s *site) syncLevel(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	pair, folder := r.PostForm.Get("pair"), r.PostForm.Get("folder")
	run, err := s.svc.SyncLevel(r.Context(), pair, folder)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	msg := fmt.Sprintf("This level was synced: %s, %d files copied, %d deleted, %d held, %d failed.", run.Status,
		run.Counts.FilesCopied, run.Counts.Deleted, run.Counts.Held, run.Counts.Failed)
	back(w, r, "/files?pair="+url.QueryEscape(pair)+"&folder="+url.QueryEscape(folder), msg)
}

// Held deletions.

type heldLine struct {
	ID              int64
	Pair, PairName  string
	Path, DeletedOn string
	Held            time.Time
	Size            int64
}

func (s *site) held(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	ctx := r.Context()
	ps, err := s.svc.Projects(ctx)
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	var lines []heldLine
	for _, p := range ps {
		for _, t := range p.Tools {
			hs, err := s.svc.Held(ctx, t.PairID)
			if err != nil {
				s.fail(w, r, c, err)
				return
			}
			for _, h := range hs {
				lines = append(lines, heldLine{ID: h.ID, Pair: t.PairID, PairName: p.Name + " / " + toolLabel(t.Tool),
					Path: h.Path, DeletedOn: h.DeletedOn, Held: h.Held, Size: h.Size})
			}
		}
	}
	render(w, s.log, s.pages, http.StatusOK, "held", s.newPage(r, c, "Held deletions", "held", map[string]any{"Held": lines}))
}

func (s *site) decide(approve bool) func(http.ResponseWriter, *http.Request, portal.Caller) {
	return func(w http.ResponseWriter, r *http.Request, c portal.Caller) {
		pair := r.PostForm.Get("pair")
		id, err := strconv.ParseInt(r.PostForm.Get("id"), 10, 64)
		if err != nil {
			s.fail(w, r, c, &portal.InputError{Field: "id", Reason: "not a number"})
			return
		}
		msg := "Deletion approved."
		if approve {
			err = s.svc.Approve(r.Context(), pair, []int64{id})
		} else {
			err, msg = s.svc.Reject(r.Context(), pair, []int64{id}), "Deletion rejected: the item is restored."
		}
		if err != nil {
			s.fail(w, r, c, err)
			return
		}
		back(w, r, "/held", msg)
	}
}

// The audit log.

type auditLine struct {
	Time                          time.Time
	Actor, Kind, Subject, Details string
}

func (s *site) audit(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	es, err := s.svc.AuditLog(r.Context(), portal.AuditQuery{Limit: 500})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	lines := make([]auditLine, 0, len(es))
	for _, e := range es {
		subject := e.Project
		if e.PairID != "" {
			subject = strings.TrimPrefix(subject+" "+e.PairID, " ")
		}
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var det []string
		for _, k := range keys {
			det = append(det, k+"="+e.Details[k])
		}
		lines = append(lines, auditLine{Time: e.Time, Actor: e.Actor, Kind: e.Kind, Subject: subject, Details: strings.Join(det, ", ")})
	}
	render(w, s.log, s.pages, http.StatusOK, "audit", s.newPage(r, c, "Audit log", "audit", map[string]any{"Entries": lines}))
}

// Exports.

type report struct{ Name, Label string }

var reports = []report{
	{portal.ExportHistory, "Sync history: every run with its start, end, result and counts"},
	{portal.ExportActivity, "Activity: every file copied, moved or deleted"},
	{portal.ExportErrors, "Errors"},
	{portal.ExportData, "Data view: every synced item with both sides' IDs, paths and versions"},
}

func (s *site) exports(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	status := http.StatusOK
	if !c.Account.Role.AtLeast(auth.RoleAdmin) {
		status = http.StatusForbidden
	}
	render(w, s.log, s.pages, status, "exports", s.newPage(r, c, "Exports", "exports", map[string]any{"Reports": reports}))
}

// download streams /exports/<kind>.<csv|xlsx> of every project.
func (s *site) download(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	kind, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok {
		s.fail(w, r, c, portal.ErrNotFound)
		return
	}
	ex, err := s.svc.Export(r.Context(), portal.ExportRequest{Kind: kind, Format: format})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	w.Header().Set("Content-Type", ex.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", ex.Filename))
	w.Header().Set("Cache-Control", "no-store")
	if err := ex.Write(r.Context(), w); err != nil {
		// The header is sent: the download ends short and the browser
		// reports it failed.
		s.log.Error("portal export failed", "kind", kind, "format", format, "err", err)
	}
}

// Accounts.

type accountLine struct {
	Email, Role string
	Created     time.Time
}

func (s *site) accounts(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	as, err := s.svc.Accounts(r.Context())
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	lines := make([]accountLine, 0, len(as))
	for _, a := range as {
		lines = append(lines, accountLine{Email: a.Email, Role: string(a.Role), Created: a.Created})
	}
	render(w, s.log, s.pages, http.StatusOK, "accounts", s.newPage(r, c, "Accounts", "accounts", map[string]any{"Accounts": lines}))
}

func (s *site) addAccount(w http.ResponseWriter, r *http.Request, c portal.Caller) {
	f := r.PostForm
	_, err := s.svc.CreateAccount(r.Context(), portal.NewAccount{Email: f.Get("email"), Role: portal.Role(f.Get("role")),
		Password: f.Get("password")})
	if err != nil {
		s.fail(w, r, c, err)
		return
	}
	back(w, r, "/accounts", "Account added.")
}

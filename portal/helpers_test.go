package portal_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"golang.org/x/time/rate"

	"github.com/procoresync/procoresync/internal/oasroute"
	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/portal/secretbox"
	"github.com/procoresync/procoresync/portal/xlsx"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func init() {
	openapi3filter.RegisterBodyDecoder(xlsxType, openapi3filter.FileBodyDecoder)
}

// fakeProjects is a ProjectManager over the engine whose tools are pairs
// of in-memory storages: what procore/projects does with real connectors.
type fakeProjects struct {
	eng   *syncengine.Engine
	mu    sync.Mutex
	n     int
	m     map[string]portal.ProjectConfig
	sides map[string][2]*memory.Storage
}

func newFakeProjects(eng *syncengine.Engine) *fakeProjects {
	return &fakeProjects{eng: eng, m: map[string]portal.ProjectConfig{}, sides: map[string][2]*memory.Storage{}}
}

func (f *fakeProjects) pair(p portal.ProjectConfig, t portal.ToolConfig) syncengine.Pair {
	sd := f.sides[t.PairID]
	dir := syncengine.DirectionTwoWay
	if t.Direction == "one_way" {
		dir = syncengine.DirectionOneWayAB
	}
	del := syncengine.DeletePropagate
	if !p.Options.SyncDeletes {
		del = syncengine.DeleteKeep
	}
	return syncengine.Pair{ID: t.PairID, Name: p.Name + " / " + t.Tool, A: sd[0], B: sd[1], AName: "Procore",
		BName: "SharePoint", Direction: dir, Deletes: del, DeleteLimit: p.Options.DeleteLimit, MassDeleteShare: -1}
}

func (f *fakeProjects) List(context.Context) ([]portal.ProjectConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []portal.ProjectConfig
	for _, p := range f.m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b portal.ProjectConfig) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (f *fakeProjects) Get(_ context.Context, id string) (portal.ProjectConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.m[id]
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	return p, nil
}

func (f *fakeProjects) Add(_ context.Context, p portal.ProjectConfig) (portal.ProjectConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	p.ID = fmt.Sprintf("proj-%d", f.n)
	for i := range p.Tools {
		t := &p.Tools[i]
		t.PairID = p.ID + "/" + t.Tool
		f.sides[t.PairID] = [2]*memory.Storage{memory.New(), memory.New()}
		if err := f.eng.AddPair(f.pair(p, *t)); err != nil {
			return portal.ProjectConfig{}, err
		}
	}
	f.m[p.ID] = p
	return p, nil
}

func (f *fakeProjects) Update(ctx context.Context, p portal.ProjectConfig) (portal.ProjectConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.m[p.ID]
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %q: %w", p.ID, portal.ErrNotFound)
	}
	keep := map[string]bool{}
	for i := range p.Tools {
		t := &p.Tools[i]
		t.PairID = p.ID + "/" + t.Tool
		keep[t.PairID] = true
		if _, ok := f.sides[t.PairID]; ok {
			if err := f.eng.UpdatePair(f.pair(p, *t)); err != nil {
				return portal.ProjectConfig{}, err
			}
			continue
		}
		f.sides[t.PairID] = [2]*memory.Storage{memory.New(), memory.New()}
		if err := f.eng.AddPair(f.pair(p, *t)); err != nil {
			return portal.ProjectConfig{}, err
		}
	}
	for _, t := range old.Tools {
		if !keep[t.PairID] {
			if err := f.eng.RemovePair(ctx, t.PairID, syncengine.RemoveOptions{}); err != nil {
				return portal.ProjectConfig{}, err
			}
			delete(f.sides, t.PairID)
		}
	}
	f.m[p.ID] = p
	return p, nil
}

func (f *fakeProjects) Remove(ctx context.Context, id string, forget bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.m[id]
	if !ok {
		return fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	for _, t := range p.Tools {
		if err := f.eng.RemovePair(ctx, t.PairID, syncengine.RemoveOptions{ForgetState: forget}); err != nil {
			return err
		}
	}
	delete(f.m, id)
	return nil
}

// Check lists each tool's target the way a connection check reads a
// folder: a failure names the tool and the error.
func (f *fakeProjects) Check(ctx context.Context, id string) ([]portal.CheckResult, error) {
	p, err := f.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []portal.CheckResult
	for _, t := range p.Tools {
		_, b := f.storages(t.PairID)
		r := portal.CheckResult{Service: "SharePoint", Step: "folder", Subject: t.Tool, OK: true, Message: "the folder can be read"}
		for _, err := range b.List(ctx) {
			if err != nil {
				r.OK, r.Message = false, "the folder cannot be read: "+err.Error()
				break
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeProjects) storages(pairID string) (*memory.Storage, *memory.Storage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sd := f.sides[pairID]
	return sd[0], sd[1]
}

// Test accounts: one per role, one password for all.
const password = "correct horse battery staple"

var roleEmails = map[portal.Role]string{
	portal.RoleOwner:  "owner@example.com",
	portal.RoleAdmin:  "admin@example.com",
	portal.RoleViewer: "viewer@example.com",
}

// testHasher keeps password hashing cheap in tests that sign in many
// times (production uses auth.DefaultHasher).
var testHasher = auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}

// newAuth returns an Authenticator with one account per role and login
// limits high enough for tests that sign in many times.
func newAuth(t testing.TB) *auth.Authenticator {
	t.Helper()
	a, err := auth.New(auth.Options{AccountRate: rate.Inf, AddressRate: rate.Inf, AccountBurst: 1, AddressBurst: 1,
		Hasher: &testHasher})
	if err != nil {
		t.Fatal(err)
	}
	for role, email := range roleEmails {
		if _, err := a.CreateAccount(context.Background(), email, string(role)+" person", role, password); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// env is a portal over an engine with one seeded project.
type env struct {
	t        testing.TB
	eng      *syncengine.Engine
	store    *sqlitestore.Store
	projects *fakeProjects
	svc      *portal.Service
	handler  *portal.Handler
	srv      *httptest.Server
	oas      *oasChecker
	auth     *auth.Authenticator
	procore  *procoretest.Server
	conns    *connect.Manager

	project portal.ProjectConfig
	pairID  string
	heldIDs []int64
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newEnv(t testing.TB, a *auth.Authenticator) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := syncengine.New(syncengine.Options{Store: st, Logger: quiet, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a == nil {
		a = newAuth(t)
	}
	e := &env{t: t, eng: eng, store: st, projects: newFakeProjects(eng), auth: a}

	e.procore = procoretest.New(procoretest.Options{})
	t.Cleanup(e.procore.Close)
	box, err := secretbox.New(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	var cbURL string
	e.srv = httptest.NewUnstartedServer(nil)
	cbURL = "http://" + e.srv.Listener.Addr().String() + "/api/v1/connections/callback"
	e.conns, err = connect.New(connect.Options{Box: box, RedirectURL: cbURL,
		Clients: map[connect.Provider]connect.Client{connect.Procore: {ID: e.procore.ClientID, Secret: e.procore.ClientSecret}},
		Endpoints: map[connect.Provider]connect.Endpoint{connect.Procore: {AuthURL: e.procore.URL + "/oauth/authorize",
			TokenURL: e.procore.URL + "/oauth/token", APIURL: e.procore.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = portal.New(portal.Options{Engine: eng, Store: st, Projects: e.projects, Auth: a, // the engine's audit log
		Connections: e.conns, XLSX: xlsx.Writer{}, Logger: quiet,
		WebURL: func(pairID string, side syncengine.Side, en storage.Entry) string {
			if side == syncengine.SideB {
				return "https://contoso.sharepoint.com/sites/Projects/Documents/" + url.PathEscape(en.Path)
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.handler, err = portal.NewHandler(e.svc, portal.HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = e.handler
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	e.oas = newOASChecker(t)

	// One project, Documents two-way, delete limit 1; an initial sync, a
	// run that deletes one file and holds a second deletion, and a run in
	// which one upload fails (an error, a quarantined item).
	owner := e.caller(portal.RoleOwner)
	e.project, err = e.svc.AddProject(owner, portal.ProjectConfig{Name: "Tower 3", CompanyID: 1, ProcoreProjectID: 10,
		Tools:      []portal.ToolConfig{{Tool: "documents"}},
		Options:    portal.ProjectOptions{SyncDeletes: true, DeleteLimit: 1},
		Recipients: []string{"pm@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	e.pairID = e.project.Tools[0].PairID
	a0, b0 := e.projects.storages(e.pairID)
	for _, f := range []string{"Drawings/A-101.pdf", "Drawings/A-102.pdf", "Specs/spec.txt", "readme.txt"} {
		if _, err := a0.WriteFile(f, []byte("content of "+f)); err != nil {
			t.Fatal(err)
		}
	}
	e.run()
	if err := a0.Remove("Drawings/A-101.pdf"); err != nil {
		t.Fatal(err)
	}
	if err := a0.Remove("Drawings/A-102.pdf"); err != nil {
		t.Fatal(err)
	}
	e.run()
	if _, err := a0.WriteFile("Specs/new.txt", []byte("new")); err != nil {
		t.Fatal(err)
	}
	b0.FailNext(memory.OpPut, 1, errors.New("disk full"))
	e.run()
	hs, err := e.eng.Held(ctx, e.pairID)
	if err != nil || len(hs) != 1 {
		t.Fatalf("held deletions after seeding: %v %v", hs, err)
	}
	e.heldIDs = []int64{hs[0].ID}
	return e
}

func (e *env) run() {
	e.t.Helper()
	if _, err := e.eng.RunOnce(context.Background(), e.pairID, syncengine.RunOptions{}); err != nil &&
		!strings.Contains(err.Error(), "disk full") {
		e.t.Fatalf("run: %v", err)
	}
}

// caller returns a context carrying the role's account (no session).
func (e *env) caller(role portal.Role) context.Context {
	acct, err := e.auth.Account(context.Background(), roleEmails[role])
	if err != nil {
		e.t.Fatal(err)
	}
	return portal.WithCaller(context.Background(), portal.Caller{Account: acct, Session: auth.Session{ID: "test-" + string(role)}})
}

// client is an API client signed in (or not) as one role.
type client struct {
	e    *env
	http *http.Client
	csrf string
	me   portal.Me
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Transport: e.oas,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in as the role through the API.
func (e *env) login(role portal.Role) *client {
	e.t.Helper()
	c := e.anon()
	st, body := c.do("POST", "/api/v1/session", map[string]string{"email": roleEmails[role], "password": password})
	if st != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", role, st, body)
	}
	if err := json.Unmarshal(body, &c.me); err != nil {
		e.t.Fatal(err)
	}
	c.csrf = c.me.CSRFToken
	return c
}

// do sends a request (a JSON body unless body is nil) with the CSRF
// token, and returns the status and body.
func (c *client) do(method, path string, body any) (int, []byte) {
	c.e.t.Helper()
	resp := c.send(method, path, body, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (c *client) send(method, path string, body any, hdr http.Header) *http.Response {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" && method != "GET" {
		req.Header.Set(portal.CSRFHeader, c.csrf)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp
}

// getJSON GETs path, expects 200 and decodes into v.
func (c *client) getJSON(path string, v any) {
	c.e.t.Helper()
	st, b := c.do("GET", path, nil)
	if st != http.StatusOK {
		c.e.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.e.t.Fatalf("GET %s: %v", path, err)
	}
}

// oasChecker validates every response against the embedded OpenAPI
// description and records which operations answered with which status.
type oasChecker struct {
	t      testing.TB
	router *oasroute.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool // operation ID -> statuses
}

var (
	docOnce sync.Once
	doc     *openapi3.T
	docErr  error
)

func loadDoc() (*openapi3.T, error) {
	docOnce.Do(func() {
		doc, docErr = openapi3.NewLoader().LoadFromData(portal.OpenAPI())
		if docErr == nil {
			docErr = doc.Validate(context.Background())
		}
	})
	return doc, docErr
}

func newOASChecker(t testing.TB) *oasChecker {
	d, err := loadDoc()
	if err != nil {
		t.Fatalf("the embedded OpenAPI description is not valid: %v", err)
	}
	return &oasChecker{t: t, router: oasroute.New(d, nil, nil), seen: map[string]map[int]bool{}}
}

func (c *oasChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	route, params := c.router.Find(req.Method, req.URL.EscapedPath())
	if route == nil {
		c.t.Errorf("%s %s: no operation in the OpenAPI description", req.Method, req.URL.Path)
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		c.t.Errorf("%s %s -> %d does not match the OpenAPI description: %v\nbody: %.500s", req.Method, req.URL.Path,
			resp.StatusCode, err, body)
	}
	c.mu.Lock()
	id := route.Operation.OperationID
	if c.seen[id] == nil {
		c.seen[id] = map[int]bool{}
	}
	c.seen[id][resp.StatusCode] = true
	c.mu.Unlock()
	return resp, nil
}

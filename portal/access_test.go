package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/portal"
)

// who is a column of the access-control matrix.
type who int

const (
	loggedOut who = iota
	asViewer
	asAdmin
	asOwner
)

var whoRole = map[who]portal.Role{asViewer: portal.RoleViewer, asAdmin: portal.RoleAdmin, asOwner: portal.RoleOwner}

func (w who) String() string {
	if w == loggedOut {
		return "logged-out"
	}
	return string(whoRole[w])
}

// request is one call of a route: prep makes what the call needs in the
// env (as the caller c) and returns the path and body.
type request func(e *env, c *client) (path string, body any)

// fixed is a request with a fixed path and body.
func fixed(path string, body any) request {
	return func(e *env, _ *client) (string, any) { return path, body }
}

// heldDeletion makes a new held deletion in the env's pair and returns
// its ID.
func heldDeletion(e *env) int64 {
	a0, _ := e.projects.storages(e.pairID)
	name := fmt.Sprintf("held-%d.txt", len(e.heldIDs))
	if _, err := a0.WriteFile(name, []byte(name)); err != nil {
		e.t.Fatal(err)
	}
	e.run()
	if err := a0.Remove(name); err != nil {
		e.t.Fatal(err)
	}
	e.run()
	hs, err := e.eng.Held(context.Background(), e.pairID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range hs {
		if h.Path == name {
			e.heldIDs = append(e.heldIDs, h.ID)
			return h.ID
		}
	}
	e.t.Fatalf("no held deletion of %s: %+v", name, hs)
	return 0
}

// TestAccessMatrix calls every route as every role and logged out, and
// checks the status against the expected table (each response is also
// validated against the OpenAPI description).
func TestAccessMatrix(t *testing.T) {
	shared := newAuth(t)
	pairPath := func(e *env, suffix string) string { return "/api/v1/pairs/" + url.PathEscape(e.pairID) + suffix }
	projPath := func(e *env, suffix string) string { return "/api/v1/projects/" + e.project.ID + suffix }
	adminConn := func(e *env) string {
		if e.conns == nil {
			e.t.Fatal("no connections")
		}
		return e.login(portal.RoleAdmin).connect("procore")
	}
	type row struct {
		method, pattern string
		req             request
		want            [4]int // logged out, viewer, admin, owner
		ownAuth         bool   // the call changes the accounts the other rows share
	}
	const (
		ok      = http.StatusOK
		created = http.StatusCreated
		none    = http.StatusNoContent
		see     = http.StatusSeeOther
		unauth  = http.StatusUnauthorized
		refused = http.StatusForbidden
	)
	rows := []row{
		{"POST", "/api/v1/session", func(e *env, c *client) (string, any) {
			email := roleEmails[portal.RoleViewer]
			if c.me.Account.Email != "" {
				email = c.me.Account.Email
			}
			return "/api/v1/session", map[string]string{"email": email, "password": password}
		}, [4]int{ok, ok, ok, ok}, false},
		{"GET", "/api/v1/session", fixed("/api/v1/session", nil), [4]int{unauth, ok, ok, ok}, false},
		{"DELETE", "/api/v1/session", fixed("/api/v1/session", nil), [4]int{unauth, none, none, none}, false},
		{"GET", "/api/v1/sessions", fixed("/api/v1/sessions", nil), [4]int{unauth, ok, ok, ok}, false},
		{"DELETE", "/api/v1/sessions/{id}", func(e *env, c *client) (string, any) {
			if c.me.Account.Email == "" {
				return "/api/v1/sessions/whatever", nil
			}
			other := e.login(c.me.Account.Role)
			return "/api/v1/sessions/" + other.me.SessionID, nil
		}, [4]int{unauth, none, none, none}, false},
		{"PUT", "/api/v1/password", fixed("/api/v1/password", map[string]string{"current_password": password,
			"new_password": "another long password"}), [4]int{unauth, none, none, none}, true},
		{"GET", "/api/v1/accounts", fixed("/api/v1/accounts", nil), [4]int{unauth, refused, refused, ok}, false},
		{"POST", "/api/v1/accounts", func(e *env, c *client) (string, any) {
			return "/api/v1/accounts", map[string]string{"email": "new-" + string(c.me.Account.Role) + "@example.com",
				"role": "viewer", "password": "a long enough password"}
		}, [4]int{unauth, refused, refused, created}, false},
		{"PATCH", "/api/v1/accounts/{email}", fixed("/api/v1/accounts/admin@example.com", map[string]string{"name": "Ada"}),
			[4]int{unauth, refused, refused, ok}, false},
		{"DELETE", "/api/v1/accounts/{email}", func(e *env, c *client) (string, any) {
			email := "target-" + string(c.me.Account.Role) + "@example.com"
			if _, err := e.auth.CreateAccount(context.Background(), email, "", portal.RoleViewer, password); err != nil {
				e.t.Fatal(err)
			}
			return "/api/v1/accounts/" + email, nil
		}, [4]int{unauth, refused, refused, none}, true},

		{"GET", "/api/v1/dashboard", fixed("/api/v1/dashboard", nil), [4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/projects", fixed("/api/v1/projects", nil), [4]int{unauth, ok, ok, ok}, false},
		{"POST", "/api/v1/projects", fixed("/api/v1/projects", portal.ProjectConfig{Name: "Clinic", CompanyID: 1,
			ProcoreProjectID: 12, Tools: []portal.ToolConfig{{Tool: "drawings"}}}), [4]int{unauth, refused, created, created}, false},
		{"GET", "/api/v1/projects/{project}", func(e *env, _ *client) (string, any) { return projPath(e, ""), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/projects/{project}/config", func(e *env, _ *client) (string, any) { return projPath(e, "/config"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"PUT", "/api/v1/projects/{project}/config", func(e *env, _ *client) (string, any) {
			cfg := e.project
			cfg.Options.DeleteLimit = 3
			return projPath(e, "/config"), cfg
		}, [4]int{unauth, refused, ok, ok}, false},
		{"DELETE", "/api/v1/projects/{project}", func(e *env, c *client) (string, any) {
			if c.me.Account.Email == "" {
				return projPath(e, ""), nil
			}
			p, err := e.svc.AddProject(e.caller(portal.RoleOwner), portal.ProjectConfig{Name: "Temp " + string(c.me.Account.Role),
				CompanyID: 1, ProcoreProjectID: 13, Tools: []portal.ToolConfig{{Tool: "rfis"}}})
			if err != nil {
				e.t.Fatal(err)
			}
			return "/api/v1/projects/" + p.ID, nil
		}, [4]int{unauth, refused, none, none}, false},
		{"POST", "/api/v1/projects/{project}/check", func(e *env, _ *client) (string, any) { return projPath(e, "/check"), nil },
			[4]int{unauth, refused, ok, ok}, false},
		{"GET", "/api/v1/projects/{project}/errors", func(e *env, _ *client) (string, any) { return projPath(e, "/errors"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/projects/{project}/recipients", func(e *env, _ *client) (string, any) { return projPath(e, "/recipients"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"PUT", "/api/v1/projects/{project}/recipients", func(e *env, _ *client) (string, any) {
			return projPath(e, "/recipients"), map[string]any{"recipients": []string{"site@example.com"}}
		}, [4]int{unauth, refused, ok, ok}, false},

		{"GET", "/api/v1/pairs/{pair}/runs", func(e *env, _ *client) (string, any) { return pairPath(e, "/runs"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/pairs/{pair}/progress", func(e *env, _ *client) (string, any) { return pairPath(e, "/progress"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/pairs/{pair}/activity", func(e *env, _ *client) (string, any) { return pairPath(e, "/activity"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/pairs/{pair}/errors", func(e *env, _ *client) (string, any) { return pairPath(e, "/errors"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/pairs/{pair}/folder", func(e *env, _ *client) (string, any) { return pairPath(e, "/folder?path=Specs"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"POST", "/api/v1/pairs/{pair}/sync-level", func(e *env, _ *client) (string, any) {
			return pairPath(e, "/sync-level"), map[string]string{"path": "Specs"}
		}, [4]int{unauth, refused, ok, ok}, false},
		{"GET", "/api/v1/pairs/{pair}/held", func(e *env, _ *client) (string, any) { return pairPath(e, "/held"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"POST", "/api/v1/pairs/{pair}/held/approve", func(e *env, c *client) (string, any) {
			return pairPath(e, "/held/approve"), map[string]any{"ids": []int64{heldDeletion(e)}}
		}, [4]int{unauth, refused, none, none}, false},
		{"POST", "/api/v1/pairs/{pair}/held/reject", func(e *env, c *client) (string, any) {
			return pairPath(e, "/held/reject"), map[string]any{"ids": []int64{heldDeletion(e)}}
		}, [4]int{unauth, refused, none, none}, false},
		{"GET", "/api/v1/pairs/{pair}/quarantine", func(e *env, _ *client) (string, any) { return pairPath(e, "/quarantine"), nil },
			[4]int{unauth, ok, ok, ok}, false},
		{"POST", "/api/v1/pairs/{pair}/quarantine/release", func(e *env, _ *client) (string, any) {
			return pairPath(e, "/quarantine/release"), map[string]string{"side": "B", "path": "Specs/new.txt"}
		}, [4]int{unauth, refused, none, none}, false},
		{"POST", "/api/v1/pairs/{pair}/pause", func(e *env, _ *client) (string, any) {
			return pairPath(e, "/pause"), map[string]string{"reason": "x"}
		}, [4]int{unauth, refused, none, none}, false},
		{"POST", "/api/v1/pairs/{pair}/resume", func(e *env, _ *client) (string, any) {
			if err := e.eng.Pause(context.Background(), e.pairID, "test"); err != nil {
				e.t.Fatal(err)
			}
			return pairPath(e, "/resume"), nil
		}, [4]int{unauth, refused, none, none}, false},
		{"POST", "/api/v1/pairs/{pair}/dry-run", func(e *env, _ *client) (string, any) { return pairPath(e, "/dry-run"), nil },
			[4]int{unauth, refused, ok, ok}, false},

		{"GET", "/api/v1/audit", fixed("/api/v1/audit", nil), [4]int{unauth, ok, ok, ok}, false},
		{"GET", "/api/v1/exports/{kind}", func(e *env, _ *client) (string, any) {
			return "/api/v1/exports/data?format=xlsx&pair=" + url.QueryEscape(e.pairID), nil
		}, [4]int{unauth, refused, ok, ok}, false},

		{"GET", "/api/v1/connections", fixed("/api/v1/connections", nil), [4]int{unauth, ok, ok, ok}, false},
		{"POST", "/api/v1/connections", fixed("/api/v1/connections", map[string]string{"provider": "procore"}),
			[4]int{unauth, refused, ok, ok}, false},
		{"GET", "/api/v1/connections/callback", func(e *env, c *client) (string, any) {
			if !c.me.Account.Role.AtLeast(portal.RoleAdmin) {
				return "/api/v1/connections/callback?state=x&code=y", nil
			}
			st, b := c.do("POST", "/api/v1/connections", map[string]string{"provider": "procore", "return_to": "/done"})
			var start struct {
				AuthorizeURL string `json:"authorize_url"`
			}
			if st != http.StatusOK || json.Unmarshal(b, &start) != nil {
				e.t.Fatalf("start: %d %s", st, b)
			}
			return allow(e.t, start.AuthorizeURL).RequestURI(), nil
		}, [4]int{unauth, refused, see, see}, false},
		{"POST", "/api/v1/connections/{id}/test", func(e *env, _ *client) (string, any) {
			return "/api/v1/connections/" + adminConn(e) + "/test", nil
		}, [4]int{unauth, refused, ok, ok}, false},
		{"DELETE", "/api/v1/connections/{id}", func(e *env, _ *client) (string, any) {
			return "/api/v1/connections/" + adminConn(e), nil
		}, [4]int{unauth, refused, none, none}, false},
	}

	// Every route of the handler has a row, and no row names a route
	// that does not exist.
	e0 := newEnv(t, shared)
	have := map[string]bool{}
	for _, r := range rows {
		have[r.method+" "+r.pattern] = true
	}
	for _, r := range e0.handler.Routes() {
		if !have[r.Method+" "+r.Pattern] {
			t.Errorf("route %s %s has no row in the access matrix", r.Method, r.Pattern)
		}
		delete(have, r.Method+" "+r.Pattern)
	}
	for k := range have {
		t.Errorf("matrix row %s names no route", k)
	}

	for _, r := range rows {
		t.Run(strings.ReplaceAll(r.method+" "+r.pattern, "/", "_"), func(t *testing.T) {
			a := shared
			if r.ownAuth {
				a = newAuth(t)
			}
			e := newEnv(t, a)
			for w := loggedOut; w <= asOwner; w++ {
				c := e.anon()
				if w != loggedOut {
					c = e.login(whoRole[w])
				}
				path, body := r.req(e, c)
				if !strings.HasPrefix(strings.SplitN(path, "?", 2)[0], strings.SplitN(r.pattern, "{", 2)[0]) {
					t.Fatalf("request path %s does not match %s", path, r.pattern)
				}
				st, b := c.do(r.method, path, body)
				if st != r.want[w] {
					t.Errorf("%s %s as %s: %d, want %d (%.300s)", r.method, path, w, st, r.want[w], b)
				}
			}
		})
	}
}

// TestCSRF checks that every state-changing route refuses a signed-in
// owner's request without the session's CSRF token, with another
// session's token, and from another origin.
func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	owner := e.login(portal.RoleOwner)
	other := e.login(portal.RoleAdmin)
	for _, r := range e.handler.Routes() {
		if r.Method == "GET" || r.Role == "" {
			continue
		}
		path := strings.NewReplacer("{pair}", url.PathEscape(e.pairID), "{project}", e.project.ID, "{id}", "x",
			"{email}", "admin@example.com").Replace(r.Pattern)
		for name, hdr := range map[string]http.Header{
			"no token":       {},
			"another token":  {portal.CSRFHeader: {other.csrf}},
			"another origin": {portal.CSRFHeader: {owner.csrf}, "Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}},
		} {
			c := *owner
			c.csrf = ""
			resp := c.send(r.Method, path, map[string]any{}, hdr)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with %s: %d, want 403", r.Method, path, name, resp.StatusCode)
			}
		}
	}
	// Nothing changed: the pair is not paused, no account or project was
	// touched.
	if st, err := e.eng.Stats(context.Background(), e.pairID); err != nil || st.Paused {
		t.Fatalf("the pair changed: %+v %v", st, err)
	}
}

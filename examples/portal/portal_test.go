package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
)

const (
	ownerEmail    = "owner@example.com"
	ownerPassword = "correct horse battery staple"
)

// startPortal starts the program on the fakes of target, listening on a
// free loopback port, with a delete limit of deleteLimit per pair.
func startPortal(t *testing.T, target app.Target, deleteLimit int) *program {
	t.Helper()
	o := options{
		cfg: app.Config{Target: target, Listen: "127.0.0.1:0", Root: "Procore", Interval: time.Hour,
			DeleteLimit: deleteLimit, DailyLogDays: 3},
		owner: ownerEmail, ownerPassword: ownerPassword,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		o.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	p, err := start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// browserless is an HTTP client with a cookie jar, as a browser without
// scripts: it follows redirects (also to the fakes' pages).
func browserless(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// post submits a form as the portal's pages do (same origin).
func post(t *testing.T, c *http.Client, base, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// signIn signs c in and returns the CSRF token of its session.
func signIn(t *testing.T, c *http.Client, base, email, password string) string {
	t.Helper()
	status, body := post(t, c, base, "/login", url.Values{"email": {email}, "password": {password}})
	if status != http.StatusOK || !strings.Contains(body, `id="who"`) {
		t.Fatalf("sign-in as %s: %d\n%s", email, status, body)
	}
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the dashboard")
	}
	return m[1]
}

// TestPagesSignedOut: every page sends a signed-out browser to the login
// page, and state-changing requests are refused.
func TestPagesSignedOut(t *testing.T) {
	p := startPortal(t, app.SharePoint, 25)
	c := browserless(t)
	for _, path := range []string{"/", "/projects", "/files", "/held", "/audit", "/exports", "/connections", "/accounts",
		"/exports/history.xlsx", "/progress"} {
		status, body := get(t, c, p.URL+path)
		if status != http.StatusOK || !strings.Contains(body, `id="login-form"`) {
			t.Errorf("GET %s signed out: %d, not the login page", path, status)
		}
	}
	for _, path := range []string{"/projects", "/held/approve", "/files/sync-level", "/accounts", "/connections/procore/start"} {
		if status, _ := post(t, c, p.URL, path, url.Values{}); status != http.StatusUnauthorized {
			t.Errorf("POST %s signed out: %d, want 401", path, status)
		}
	}
	status, body := post(t, c, p.URL, "/login", url.Values{"email": {ownerEmail}, "password": {"wrong password!!"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "Wrong email or password") {
		t.Errorf("wrong password: %d", status)
	}
}

// TestPagesCSRF: a signed-in form post without the session's token, or
// from another origin, is refused.
func TestPagesCSRF(t *testing.T) {
	p := startPortal(t, app.SharePoint, 25)
	c := browserless(t)
	signIn(t, c, p.URL, ownerEmail, ownerPassword)
	if status, _ := post(t, c, p.URL, "/accounts", url.Values{"email": {"x@example.com"}, "role": {"viewer"},
		"password": {"long enough password"}}); status != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d, want 403", status)
	}
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/logout", strings.NewReader(""))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
}

// TestPagesRoles: what a viewer may not do is refused by the pages (and
// by the service under them), and the owner may.
func TestPagesRoles(t *testing.T) {
	p := startPortal(t, app.SharePoint, 25)
	owner := browserless(t)
	csrf := signIn(t, owner, p.URL, ownerEmail, ownerPassword)
	if status, body := post(t, owner, p.URL, "/accounts", url.Values{"csrf": {csrf}, "email": {"viewer@example.com"},
		"role": {"viewer"}, "password": {"viewer password 1"}}); status != http.StatusOK || !strings.Contains(body, "Account added.") {
		t.Fatalf("adding a viewer: %d\n%s", status, body)
	}
	status, body := get(t, owner, p.URL+"/exports/history.csv")
	if status != http.StatusOK || !strings.HasPrefix(body, "pair,run,initial,started") {
		t.Errorf("the owner's CSV export: %d %q", status, body)
	}
	viewer := browserless(t)
	vcsrf := signIn(t, viewer, p.URL, "viewer@example.com", "viewer password 1")
	for _, path := range []string{"/exports", "/exports/history.xlsx", "/exports/data.csv", "/accounts"} {
		if status, _ := get(t, viewer, p.URL+path); status != http.StatusForbidden {
			t.Errorf("viewer GET %s: %d, want 403", path, status)
		}
	}
	for path, form := range map[string]url.Values{
		"/held/approve":              {"pair": {"x"}, "id": {"1"}},
		"/held/reject":               {"pair": {"x"}, "id": {"1"}},
		"/files/sync-level":          {"pair": {"x"}, "folder": {""}},
		"/pairs/pause":               {"pair": {"x"}},
		"/projects":                  {"company": {"1"}, "project": {"2"}, "tools": {"documents"}, "folder": {"Procore"}},
		"/accounts":                  {"email": {"v2@example.com"}, "role": {"owner"}, "password": {"viewer password 2"}},
		"/connections/procore/start": {},
	} {
		form.Set("csrf", vcsrf)
		if status, _ := post(t, viewer, p.URL, path, form); status != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, status)
		}
	}
	for _, path := range []string{"/", "/projects", "/files", "/held", "/audit", "/connections"} {
		if status, _ := get(t, viewer, p.URL+path); status != http.StatusOK {
			t.Errorf("viewer GET %s: %d, want 200", path, status)
		}
	}
}

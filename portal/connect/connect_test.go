package connect_test

import (
	"bytes"
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/portal/secretbox"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/graphtest"
)

const callback = "https://portal.example.com/api/v1/connections/callback"

var (
	formField  = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
)

// press opens a provider's authorization page, checks its buttons and
// submits its form with the decision ("allow" or "deny"), as a person
// would; it returns the callback the provider redirects to.
func press(t *testing.T, authorizeURL, decision string) connect.Callback {
	t.Helper()
	resp, err := noRedirect.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`name="decision" value="allow"`)) {
		t.Fatalf("authorization page %s: %d %s", authorizeURL, resp.StatusCode, page)
	}
	form := url.Values{"decision": {decision}}
	for _, m := range formField.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	u, _ := url.Parse(authorizeURL)
	target, _ := u.Parse(html.UnescapeString(formAction.FindStringSubmatch(string(page))[1]))
	resp, err = noRedirect.PostForm(target.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorization form: %d %v", resp.StatusCode, err)
	}
	if !strings.HasPrefix(loc.String(), callback+"?") {
		t.Fatalf("redirected to %s, not the callback", loc)
	}
	q := loc.Query()
	return connect.Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"),
		ErrorDescription: q.Get("error_description")}
}

// fakes starts the four providers' fakes and returns a Manager on them.
type fakes struct {
	procore *procoretest.Server
	graph   *graphtest.Server
	box     *boxtest.Server
	dropbox *dropboxtest.Server
}

func newFakes(t *testing.T, procoreLifetime time.Duration) (*fakes, connect.Options) {
	f := &fakes{procore: procoretest.New(procoretest.Options{TokenLifetime: procoreLifetime}),
		graph: graphtest.NewServer(t, graphtest.Options{}), box: boxtest.NewServer(t, boxtest.Options{}),
		dropbox: dropboxtest.NewServer(t, dropboxtest.Options{})}
	t.Cleanup(f.procore.Close)
	f.graph.AddUser(graphtest.MeUser, "adele@contoso.example")
	b, err := secretbox.New(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return f, connect.Options{Box: b, RedirectURL: callback,
		Clients: map[connect.Provider]connect.Client{
			connect.Procore:   {ID: f.procore.ClientID, Secret: f.procore.ClientSecret},
			connect.Microsoft: {ID: "graph-app", Secret: "graph-secret"},
			connect.Box:       {ID: "box-client-id", Secret: "box-client-secret"},
			connect.Dropbox:   {ID: "appkey"}, // a public client: PKCE only
		},
		Endpoints: map[connect.Provider]connect.Endpoint{
			connect.Procore: {AuthURL: f.procore.URL + "/oauth/authorize", TokenURL: f.procore.URL + "/oauth/token",
				APIURL: f.procore.URL},
			connect.Microsoft: {AuthURL: f.graph.LoginURL() + "/contoso/oauth2/v2.0/authorize",
				TokenURL: f.graph.LoginURL() + "/contoso/oauth2/v2.0/token", APIURL: f.graph.API.URL + "/v1.0"},
			connect.Box:     {AuthURL: f.box.AuthorizeURL(), TokenURL: f.box.TokenURL(), APIURL: f.box.BaseURL()},
			connect.Dropbox: {AuthURL: f.dropbox.AuthorizeURL(), TokenURL: f.dropbox.TokenURL(), APIURL: f.dropbox.API.URL + "/2"},
		}}
}

// TestConnectEveryProvider connects each provider through its fake's
// authorization page with state and PKCE, tests the connection, and
// checks the token is kept sealed.
func TestConnectEveryProvider(t *testing.T) {
	_, opt := newFakes(t, 0)
	opt.Store = connect.NewFileStore(filepath.Join(t.TempDir(), "connections.json"))
	m, err := connect.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	want := map[connect.Provider]string{connect.Procore: "", connect.Microsoft: "Adele Vance", connect.Box: "",
		connect.Dropbox: "franz@example.com"}
	for _, p := range connect.Providers {
		t.Run(string(p), func(t *testing.T) {
			u, err := m.Start(ctx, connect.StartRequest{Provider: p, Name: "Contoso " + p.Title(), ReturnTo: "/connections"}, "session-1")
			if err != nil {
				t.Fatal(err)
			}
			au, _ := url.Parse(u)
			q := au.Query()
			if len(q.Get("state")) < 40 || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
				q.Get("redirect_uri") != callback || q.Get("code_verifier") != "" {
				t.Fatalf("authorization URL: %s", u)
			}
			cb := press(t, u, "allow")
			if cb.State != q.Get("state") || cb.Code == "" {
				t.Fatalf("callback: %+v", cb)
			}
			if _, _, err := m.Finish(ctx, "session-2", cb); !errors.Is(err, connect.ErrBadState) {
				t.Fatalf("finishing from another session: %v", err)
			}
			c, returnTo, err := m.Finish(ctx, "session-1", cb)
			if err != nil || returnTo != "/connections" || c.Provider != p || c.CustomClient {
				t.Fatalf("finish: %+v %q %v", c, returnTo, err)
			}
			if _, _, err := m.Finish(ctx, "session-1", cb); !errors.Is(err, connect.ErrBadState) {
				t.Fatalf("a replayed callback: %v", err)
			}
			res, err := m.Test(ctx, c.ID)
			if err != nil || !res.OK || !strings.HasPrefix(res.Message, "Connection test succeeded") {
				t.Fatalf("test: %+v %v", res, err)
			}
			if w := want[p]; w != "" && res.Account != w {
				t.Fatalf("account %q, want %q", res.Account, w)
			}
			got, err := m.Get(ctx, c.ID)
			if err != nil || got.LastTest == nil || !got.LastTest.OK {
				t.Fatalf("the test result is not recorded: %+v %v", got, err)
			}
		})
	}
	// The store file is private and holds no token in the clear.
	fi, err := os.Stat(opt.Store.(*connect.FileStore).Path())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("store file mode: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(opt.Store.(*connect.FileStore).Path())
	cs, _ := m.List(ctx)
	if len(cs) != 4 {
		t.Fatalf("connections: %+v", cs)
	}
	for _, c := range cs {
		ts, err := m.TokenSource(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(tok.AccessToken)) || (tok.RefreshToken != "" && bytes.Contains(raw, []byte(tok.RefreshToken))) {
			t.Fatalf("%s token stored in the clear", c.Provider)
		}
	}
	// Another key cannot open the records.
	other, _ := secretbox.New(secretbox.NewKey())
	opt2 := opt
	opt2.Box = other
	m2, _ := connect.New(opt2)
	if _, err := m2.TokenSource(ctx, cs[0].ID); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
}

// TestPKCEEnforced checks that the fakes' token endpoints refuse a code
// redeemed without the verifier of its challenge, as Procore, Microsoft
// and Dropbox do.
func TestPKCEEnforced(t *testing.T) {
	f, opt := newFakes(t, 0)
	m, _ := connect.New(opt)
	ctx := context.Background()
	for _, p := range []connect.Provider{connect.Procore, connect.Microsoft, connect.Dropbox} {
		u, err := m.Start(ctx, connect.StartRequest{Provider: p}, "s")
		if err != nil {
			t.Fatal(err)
		}
		cb := press(t, u, "allow")
		c := opt.Clients[p]
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Code}, "redirect_uri": {callback},
			"client_id": {c.ID}, "code_verifier": {"a-verifier-that-does-not-match-the-challenge-at-all-0123456789"}}
		if c.Secret != "" {
			form.Set("client_secret", c.Secret)
		}
		resp, err := http.PostForm(opt.Endpoints[p].TokenURL, form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("invalid_grant")) {
			t.Errorf("%s accepted a wrong code_verifier: %d %s", p, resp.StatusCode, body)
		}
	}
	_ = f
}

func TestDeniedAndExpired(t *testing.T) {
	_, opt := newFakes(t, 0)
	now := time.Now()
	opt.Now = func() time.Time { return now }
	m, _ := connect.New(opt)
	ctx := context.Background()
	u, _ := m.Start(ctx, connect.StartRequest{Provider: connect.Box}, "s")
	cb := press(t, u, "deny")
	if _, _, err := m.Finish(ctx, "s", cb); !errors.Is(err, connect.ErrDenied) {
		t.Fatalf("denied: %v", err)
	}
	u, _ = m.Start(ctx, connect.StartRequest{Provider: connect.Box}, "s")
	cb = press(t, u, "allow")
	now = now.Add(11 * time.Minute)
	if _, _, err := m.Finish(ctx, "s", cb); !errors.Is(err, connect.ErrBadState) {
		t.Fatalf("expired flow: %v", err)
	}
	for _, req := range []connect.StartRequest{
		{Provider: "ftp"},
		{Provider: connect.Procore, Domain: "moon"},
		{Provider: connect.Procore, ReturnTo: "https://evil.example/"},
		{Provider: connect.Procore, ReturnTo: "//evil.example/"},
		{Provider: connect.Microsoft, Tenant: "a/b"},
		{Provider: connect.Procore, ClientSecret: "s"},
	} {
		if _, err := m.Start(ctx, req, "s"); !errors.Is(err, connect.ErrBadRequest) {
			t.Errorf("Start(%+v): %v", req, err)
		}
	}
	opt.Clients = nil
	m, _ = connect.New(opt)
	if _, err := m.Start(ctx, connect.StartRequest{Provider: connect.Box}, "s"); !errors.Is(err, connect.ErrNoClient) {
		t.Fatalf("no client: %v", err)
	}
}

// TestCustomClientAndRotation connects Procore with custom client
// credentials and checks that rotated refresh tokens are stored: a new
// Manager on the same store keeps working after the old refresh token was
// used up.
func TestCustomClientAndRotation(t *testing.T) {
	f, opt := newFakes(t, time.Second) // tokens always due for refresh
	opt.Clients = nil
	opt.Store = connect.NewFileStore(filepath.Join(t.TempDir(), "c.json"))
	m, _ := connect.New(opt)
	ctx := context.Background()
	u, err := m.Start(ctx, connect.StartRequest{Provider: connect.Procore, Domain: connect.DomainFederal,
		ClientID: f.procore.ClientID, ClientSecret: f.procore.ClientSecret}, "s")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := m.Finish(ctx, "s", press(t, u, "allow"))
	if err != nil || !c.CustomClient || c.Domain != connect.DomainFederal {
		t.Fatalf("finish: %+v %v", c, err)
	}
	raw, _ := os.ReadFile(opt.Store.(*connect.FileStore).Path())
	if bytes.Contains(raw, []byte(f.procore.ClientSecret)) {
		t.Fatal("the custom client secret is stored in the clear")
	}
	for i := range 3 {
		m, _ := connect.New(opt) // a restart
		ts, err := m.TokenSource(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(); err != nil {
			t.Fatalf("refresh %d after a restart: %v", i, err)
		}
	}
	// A revoked grant: the test names what is wrong.
	ts, _ := m.TokenSource(ctx, c.ID)
	tok, _ := ts.Token()
	f.procore.RevokeToken(tok.AccessToken)
	res, err := m.Test(ctx, c.ID)
	if err != nil || res.OK || res.Step != "token" || !strings.Contains(res.Message, "invalid_grant") ||
		strings.Contains(res.Message, tok.RefreshToken) {
		t.Fatalf("test of a revoked connection: %+v %v", res, err)
	}
}

func TestDefaultEndpoints(t *testing.T) {
	for _, tc := range []struct {
		p              connect.Provider
		domain, tenant string
		auth, api      string
	}{
		{connect.Procore, "", "", "https://login.procore.com/oauth/authorize", "https://api.procore.com"},
		{connect.Procore, connect.DomainSandbox, "", "https://login-sandbox.procore.com/oauth/authorize", "https://sandbox.procore.com"},
		{connect.Procore, connect.DomainFederal, "", "https://login.procoregov.com/oauth/authorize", "https://api.procoregov.com"},
		{connect.Microsoft, "", "contoso.onmicrosoft.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize", "https://graph.microsoft.com/v1.0"},
		{connect.Microsoft, connect.DomainUSGov, "", "https://login.microsoftonline.us/organizations/oauth2/v2.0/authorize", "https://graph.microsoft.us/v1.0"},
		{connect.Box, "", "", "https://account.box.com/api/oauth2/authorize", "https://api.box.com/2.0"},
		{connect.Dropbox, "", "", "https://www.dropbox.com/oauth2/authorize", "https://api.dropboxapi.com/2"},
	} {
		e, err := connect.DefaultEndpoint(tc.p, tc.domain, tc.tenant)
		if err != nil || e.AuthURL != tc.auth || e.APIURL != tc.api {
			t.Errorf("%s %s: %+v %v", tc.p, tc.domain, e, err)
		}
	}
}

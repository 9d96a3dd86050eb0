package procore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

// recordingPacer records what the client told it.
type recordingPacer struct {
	mu    sync.Mutex
	waits int
	fbs   []storage.Feedback
	keys  map[string]bool
}

func (p *recordingPacer) Wait(ctx context.Context, key string, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits += n
	if p.keys == nil {
		p.keys = map[string]bool{}
	}
	p.keys[key] = true
	return ctx.Err()
}

func (p *recordingPacer) Observe(key string, fb storage.Feedback) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fbs = append(p.fbs, fb)
}

func TestCompanyHeaderEnforcement(t *testing.T) {
	srv := procoretest.New(procoretest.Options{})
	t.Cleanup(srv.Close)
	user := srv.IssueToken()
	cc := clientCredentialsToken(t, srv)
	for _, tc := range []struct {
		name, path, token, company string
		want                       int
	}{
		// A request without Procore-Company-Id has been observed to give 404.
		{"projects without header", "/rest/v1.0/projects?company_id=" + itoa(srv.CompanyID), user, "", http.StatusNotFound},
		{"projects with header", "/rest/v1.0/projects?company_id=" + itoa(srv.CompanyID), user, itoa(srv.CompanyID), http.StatusOK},
		{"projects with unknown company", "/rest/v1.0/projects?company_id=1", user, "1", http.StatusNotFound},
		{"me user token without header", "/rest/v1.0/me", user, "", http.StatusOK},
		{"companies user token without header", "/rest/v1.0/companies", user, "", http.StatusOK},
		{"me client credentials without header", "/rest/v1.0/me", cc, "", http.StatusNotFound},
		{"me client credentials with header", "/rest/v1.0/me", cc, itoa(srv.CompanyID), http.StatusOK},
		{"no token", "/rest/v1.0/me", "", "", http.StatusUnauthorized},
		{"bad token", "/rest/v1.0/me", "nope", "", http.StatusUnauthorized},
		{"folders of another company's project", "/rest/v1.0/folders?project_id=" + itoa(srv.ProjectID), user, itoa(srv.AddCompany("Other")), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.company != "" {
				req.Header.Set("Procore-Company-Id", tc.company)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.want, resp.StatusCode, string(body))
			if tc.company == "" && tc.want == http.StatusNotFound {
				require.Contains(t, string(body), "Missing Procore-Company-Id header!")
			}
		})
	}
}

func clientCredentialsToken(t *testing.T, srv *procoretest.Server) string {
	conf := procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
	tok, err := conf.ClientCredentials(context.Background()).Token()
	require.NoError(t, err)
	require.Empty(t, tok.RefreshToken)
	return tok.AccessToken
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// failingStore fails Save while fail is set.
type failingStore struct {
	procore.MemoryTokenStore
	fail bool
}

func (f *failingStore) Save(ctx context.Context, t *oauth2.Token) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.MemoryTokenStore.Save(ctx, t)
}

func TestAuthorizationCodeRefreshRotation(t *testing.T) {
	// Tokens live 30 s, less than the refresh margin: every Token() call
	// refreshes, which exercises rotation on every request.
	srv := procoretest.New(procoretest.Options{TokenLifetime: 30 * time.Second})
	t.Cleanup(srv.Close)
	ctx := context.Background()
	conf := procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, RedirectURL: "http://localhost/cb",
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
	store := &failingStore{}
	first, err := conf.Exchange(ctx, srv.AuthorizationCode("http://localhost/cb"), store)
	require.NoError(t, err)
	require.NotEmpty(t, first.RefreshToken)
	require.WithinDuration(t, time.Now().Add(30*time.Second), first.Expiry, 5*time.Second, "expires_in honoured")

	// A code is single use.
	code := srv.AuthorizationCode("http://localhost/cb")
	_, err = conf.Exchange(ctx, code, store)
	require.NoError(t, err)
	_, err = conf.Exchange(ctx, code, store)
	var ae *procore.AuthError
	require.ErrorAs(t, err, &ae)

	ts := conf.TokenSource(ctx, store)
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID, TokenSource: ts})
	require.NoError(t, err)
	saved, _ := store.Load(ctx)
	_, _, err = c.Users.Me(ctx)
	require.NoError(t, err)
	rotated, _ := store.Load(ctx)
	require.NotEqual(t, saved.RefreshToken, rotated.RefreshToken, "the new pair is persisted")

	// The old refresh token is dead (single use).
	old := conf
	_, err = oauthRefresh(ctx, old, saved.RefreshToken)
	require.Error(t, err)

	// If the new pair cannot be saved, the token is not used…
	store.fail = true
	_, _, err = c.Users.Me(ctx)
	require.ErrorAs(t, err, &ae)
	require.NotContains(t, err.Error(), rotated.RefreshToken)
	// …and the save is retried before anything else happens.
	store.fail = false
	before := store.Saves
	tok, err := ts.Token()
	require.NoError(t, err)
	// Two saves: the pending pair first, then (as 30 s tokens are always
	// within the refresh margin) the next rotation.
	require.Equal(t, before+2, store.Saves)
	now, _ := store.Load(ctx)
	require.Equal(t, tok.RefreshToken, now.RefreshToken)
}

func oauthRefresh(ctx context.Context, conf procore.Config, refresh string) (*oauth2.Token, error) {
	store := &procore.MemoryTokenStore{}
	require.NoError(nil, store.Save(ctx, &oauth2.Token{AccessToken: "x", RefreshToken: refresh, Expiry: time.Unix(1, 0)}))
	return conf.TokenSource(ctx, store).Token()
}

func TestClientCredentials(t *testing.T) {
	srv := procoretest.New(procoretest.Options{})
	t.Cleanup(srv.Close)
	conf := procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID,
		TokenSource: conf.ClientCredentials(context.Background())})
	require.NoError(t, err)
	u, _, err := c.Users.Me(context.Background())
	require.NoError(t, err)
	require.Equal(t, srv.UserID, u.ID)

	bad := procore.Config{ClientID: srv.ClientID, ClientSecret: "wrong", Env: conf.Env}
	c2, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID,
		TokenSource: bad.ClientCredentials(context.Background())})
	require.NoError(t, err)
	_, _, err = c2.Users.Me(context.Background())
	var ae *procore.AuthError
	require.ErrorAs(t, err, &ae)
	require.NotContains(t, err.Error(), "wrong")
}

func TestEnvironmentsPaired(t *testing.T) {
	for _, env := range []procore.Environment{procore.Production, procore.Sandbox, procore.MonthlySandbox} {
		conf := procore.Config{ClientID: "id", RedirectURL: "http://localhost/cb", Env: env}
		require.True(t, strings.HasPrefix(conf.AuthCodeURL("s"), env.AuthURL+"/oauth/authorize?"), env.Name)
	}
	require.Equal(t, "https://api.procore.com", procore.Production.APIURL)
	require.Equal(t, "https://sandbox.procore.com", procore.Sandbox.APIURL)
	require.Equal(t, "https://login-sandbox-monthly.procore.com", procore.MonthlySandbox.AuthURL)
}

func TestFileTokenStore(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "token.json")
	s := &procore.FileTokenStore{Path: p}
	_, err := s.Load(ctx)
	require.ErrorIs(t, err, procore.ErrNoToken)
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, s.Save(ctx, &oauth2.Token{AccessToken: "a1", RefreshToken: "r1", TokenType: "bearer", Expiry: exp}))
	require.NoError(t, s.Save(ctx, &oauth2.Token{AccessToken: "a2", RefreshToken: "r2", TokenType: "bearer", Expiry: exp}))
	got, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, "a2", got.AccessToken)
	require.Equal(t, "r2", got.RefreshToken)
	require.True(t, exp.Equal(got.Expiry))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, _ := os.ReadDir(filepath.Dir(p))
	require.Len(t, entries, 1, "no temporary files left behind")
	require.NoError(t, os.WriteFile(p, []byte("{garbage"), 0o600))
	_, err = s.Load(ctx)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "garbage")
}

func TestRequestHeadersAndPacing(t *testing.T) {
	var seen []procoretest.Exchange
	var mu sync.Mutex
	pacer := &recordingPacer{}
	srv, c := newFake(t, procoretest.Options{OnExchange: func(e procoretest.Exchange) {
		mu.Lock()
		seen = append(seen, e)
		mu.Unlock()
	}}, func(o *procore.Options) {
		o.Pacer = pacer
		o.PaceKey = "procore:app:token"
		o.UserAgent = "test-agent/1"
	})
	_, resp, err := c.Users.Me(context.Background())
	require.NoError(t, err)
	require.Equal(t, procoretest.DefaultSpikeLimit, resp.Rate.Limit, "the spike window is the one closest to exceeding")
	require.Equal(t, 25, procoretest.DefaultSpikeLimit, "Procore's current guide shows 25 per 10 s")
	require.Equal(t, 600, procoretest.DefaultHourlyLimit, "Procore's current guide shows 600 per hour")
	require.Len(t, seen, 1)
	h := seen[0].Request.Header
	require.Equal(t, itoa(srv.CompanyID), h.Get("Procore-Company-Id"))
	require.Equal(t, "test-agent/1", h.Get("User-Agent"))
	require.True(t, strings.HasPrefix(h.Get("Authorization"), "Bearer "))
	require.Equal(t, 1, pacer.waits)
	require.Equal(t, map[string]bool{"procore:app:token": true}, pacer.keys)
	require.Len(t, pacer.fbs, 1)
	require.Equal(t, resp.Rate.Remaining, pacer.fbs[0].Remaining)
	require.False(t, pacer.fbs[0].Reset.IsZero())
}

func TestRateLimitWindows(t *testing.T) {
	clk := newClock()
	pacer := &recordingPacer{}
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: 5, SpikeLimit: 3},
		func(o *procore.Options) { o.MaxRateLimitWait = -1; o.Pacer = pacer })
	ctx := context.Background()
	var remaining []int
	for range 3 {
		_, resp, err := c.Users.Me(ctx)
		require.NoError(t, err)
		remaining = append(remaining, resp.Rate.Remaining)
	}
	require.Equal(t, []int{2, 1, 0}, remaining, "spike window reported")
	_, resp, err := c.Users.Me(ctx)
	var rl *procore.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.ErrorIs(t, err, storage.ErrThrottled)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, 10*time.Second, rl.RetryAfter, "wait until X-Rate-Limit-Reset")
	require.Equal(t, 4, srv.CallCount("RestV10MeGet"), "not retried: the wait exceeds MaxRateLimitWait")
	last := pacer.fbs[len(pacer.fbs)-1]
	require.Equal(t, 0, last.Remaining)
	require.Equal(t, clk.Now().Add(10*time.Second).Unix(), last.Reset.Unix())

	clk.Advance(10 * time.Second) // the spike window rolls over
	_, resp, err = c.Users.Me(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, resp.Rate.Limit, "hourly window now the tighter one")
	_, _, err = c.Users.Me(ctx)
	require.NoError(t, err)
	_, _, err = c.Users.Me(ctx)
	require.ErrorAs(t, err, &rl, "hourly budget spent")
	require.Equal(t, time.Hour-10*time.Second, rl.RetryAfter)
	clk.Advance(time.Hour)
	_, _, err = c.Users.Me(ctx)
	require.NoError(t, err)
}

func TestRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		op        string
		fault     procoretest.Fault
		post      bool
		wantErr   bool
		wantCalls int
	}{
		{"502 GET retried", "RestV10MeGet", procoretest.Fault{Status: 502, Times: 1}, false, false, 2},
		{"504 GET retried", "RestV10MeGet", procoretest.Fault{Status: 504, Times: 2}, false, false, 3},
		{"500 not retried", "RestV10MeGet", procoretest.Fault{Status: 500, Times: 1}, false, true, 1},
		{"connection reset GET retried", "RestV10MeGet", procoretest.Fault{Reset: true, Times: 1}, false, false, 2},
		{"truncated body GET retried", "RestV10MeGet", procoretest.Fault{Truncate: true, Times: 1}, false, false, 2},
		{"429 Retry-After retried", "RestV10MeGet", procoretest.Fault{Status: 429, RetryAfterHeader: "0", Times: 1}, false, false, 2},
		{"503 Retry-After retried", "RestV10MeGet", procoretest.Fault{Status: 503, RetryAfterHeader: "0", Times: 1}, false, false, 2},
		{"502 POST not retried", "RestV10FoldersPost", procoretest.Fault{Status: 502, Times: 1}, true, true, 1},
		{"reset POST not retried", "RestV10FoldersPost", procoretest.Fault{Reset: true, Times: 1}, true, true, 1},
		{"503 Retry-After POST retried", "RestV10FoldersPost", procoretest.Fault{Status: 503, RetryAfterHeader: "0", Times: 1}, true, false, 2},
		{"persistent 502 gives up", "RestV10MeGet", procoretest.Fault{Status: 502, Times: procoretest.Forever}, false, true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newFake(t, procoretest.Options{}, nil)
			tc.fault.Op = tc.op
			srv.Inject(tc.fault)
			var err error
			if tc.post {
				_, _, err = c.Folders.Create(context.Background(), procore.ProjectScope(srv.ProjectID), procore.FolderCreate{Name: "X"})
			} else {
				_, _, err = c.Users.Me(context.Background())
			}
			require.Equal(t, tc.wantErr, err != nil, "err = %v", err)
			require.Equal(t, tc.wantCalls, srv.CallCount(tc.op))
			if err != nil && tc.fault.Status != 0 {
				var er *procore.ErrorResponse
				require.ErrorAs(t, err, &er)
				require.Equal(t, tc.fault.Status, er.StatusCode)
			}
		})
	}
}

func TestRetryBudgetStopsStorms(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, func(o *procore.Options) { o.RetryBudget = 3; o.RetryMax = 10 })
	srv.Inject(procoretest.Fault{Op: "RestV10MeGet", Status: 502, Times: procoretest.Forever})
	_, _, err := c.Users.Me(context.Background())
	require.Error(t, err)
	require.Equal(t, 4, srv.CallCount("RestV10MeGet"), "three retries from the budget")
	_, _, err = c.Users.Me(context.Background())
	require.Error(t, err)
	require.Equal(t, 5, srv.CallCount("RestV10MeGet"), "budget empty: no retry")
}

func TestErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, body, ctype string
		status            int
		code, msg         string
		errs              map[string][]string
		is                error
	}{
		{"generic v1", `{"error":{"code":"not_found","message":"Folder not found","details":[{"code":"x","message":"y","source":"id"}]}}`, "application/json", 404, "not_found", "Folder not found", nil, storage.ErrNotFound},
		{"v2 standard", `{"error":{"code":"BAD_REQUEST","message":"bad","details":[{"source":"name"}]}}`, "application/json", 400, "BAD_REQUEST", "bad", nil, nil},
		{"numeric code", `{"code":401,"message":"Unauthorized","reason":"expired"}`, "application/json", 401, "401", "Unauthorized", nil, nil},
		{"rails errors", `{"errors":{"base":["Name has already been taken"]},"error_type":"duplicate_name","file":{"id":1}}`, "application/json", 409, "", "Name has already been taken", map[string][]string{"base": {"Name has already been taken"}}, storage.ErrAlreadyExists},
		{"rails field errors", `{"errors":{"name":["can't be blank"]}}`, "application/json", 422, "", "name can't be blank", map[string][]string{"name": {"can't be blank"}}, nil},
		{"errors string", `{"errors":"You do not have access"}`, "application/json", 403, "", "You do not have access", nil, storage.ErrPermissionDenied},
		{"error string", `{"error":"Not found"}`, "application/json", 404, "", "Not found", nil, storage.ErrNotFound},
		{"message and error", `{"message":"Invalid","error":"bad thing"}`, "application/json", 422, "", "bad thing", nil, nil},
		{"oauth", `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid"}`, "application/json", 400, "invalid_grant", "The provided authorization grant is invalid", nil, nil},
		{"plain text 429", `You have surpassed the max number of requests for an hour. Please wait until your limit resets.`, "text/plain", 429, "", "You have surpassed the max number of requests for an hour. Please wait until your limit resets.", nil, storage.ErrThrottled},
		{"malformed json", `{"error": {"code":`, "application/json", 500, "", `{"error": {"code":`, nil, nil},
		{"empty", ``, "application/json", 500, "", "Internal Server Error", nil, nil},
		{"html", `<html><body>Bad gateway</body></html>`, "text/html", 500, "", "Internal Server Error", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(ts.Close)
			c, err := procore.NewClient(procore.Options{BaseURL: ts.URL, CompanyID: 1, RetryMax: -1, MaxRateLimitWait: -1,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "secret-token"})})
			require.NoError(t, err)
			_, _, err = c.Users.Me(context.Background())
			var er *procore.ErrorResponse
			require.ErrorAs(t, err, &er)
			require.Equal(t, tc.status, er.StatusCode)
			require.Equal(t, tc.code, er.Code)
			require.Equal(t, tc.msg, er.Message)
			require.Equal(t, tc.body, string(er.Body))
			if tc.errs != nil {
				require.Equal(t, tc.errs, er.Errors)
			}
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.NotContains(t, err.Error(), "secret-token")
		})
	}
}

func TestMalformedSuccessBody(t *testing.T) {
	for _, body := range []string{`{"id": "not a number"}`, `{"id": 1`, `[`, `nul`} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, body)
		}))
		c, err := procore.NewClient(procore.Options{BaseURL: ts.URL, CompanyID: 1,
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
		require.NoError(t, err)
		_, _, err = c.Users.Me(context.Background())
		require.ErrorIs(t, err, procore.ErrMalformedResponse, body)
		ts.Close()
	}
}

func TestPaginationHeadersAndIterator(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for i := range 24 {
		_, err := srv.UIPutFile(docs, "d/f"+itoa(int64(i))+".txt", []byte("x"))
		require.NoError(t, err)
	}
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)
	no := false
	// 24 files + folder d + the tool root (named after the project) + the
	// recycle bin folder are 27 items; without the recycle bin 26.
	for _, tc := range []struct {
		page                                int
		items, next, prev, first, last, tot int
	}{
		{1, 10, 2, 0, 0, 3, 26},
		{2, 10, 3, 1, 1, 3, 26},
		{3, 6, 0, 2, 1, 0, 26},
	} {
		list, resp, err := c.Documents.List(ctx, sc, &procore.DocumentListOptions{ListOptions: procore.ListOptions{Page: tc.page, PerPage: 10}, InRecycleBin: &no})
		require.NoError(t, err)
		require.Len(t, list, tc.items)
		require.Equal(t, tc.next, resp.NextPage)
		require.Equal(t, tc.prev, resp.PrevPage)
		require.Equal(t, tc.first, resp.FirstPage)
		require.Equal(t, tc.last, resp.LastPage)
		require.Equal(t, tc.tot, resp.Total)
		require.Equal(t, 10, resp.PerPage)
	}
	srv.ResetCalls()
	n := 0
	for d, err := range c.Documents.All(ctx, sc, &procore.DocumentListOptions{ListOptions: procore.ListOptions{PerPage: 10}, InRecycleBin: &no}) {
		require.NoError(t, err)
		require.NotZero(t, d.ID)
		n++
	}
	require.Equal(t, 26, n)
	require.Equal(t, 3, srv.CallCount("RestV10ProjectsProjectIdDocumentsGet"))
}

func TestUpdatedAtFilterAndRecycleBin(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)
	_, err := srv.UIPutFile(docs, "old/a.txt", []byte("a"))
	require.NoError(t, err)
	t0 := clk.Now()
	clk.Advance(time.Hour)
	_, err = srv.UIPutFile(docs, "new.txt", []byte("b"))
	require.NoError(t, err)
	require.NoError(t, srv.UIDelete(docs, "old"))
	names := func(o *procore.DocumentListOptions) []string {
		var out []string
		for d, err := range c.Documents.All(ctx, sc, o) {
			require.NoError(t, err)
			out = append(out, strings.TrimPrefix(d.NameWithPath, "Main Street Tower/")+map[bool]string{true: " (deleted)"}[d.IsDeleted])
		}
		return out
	}
	yes, no := true, false
	require.ElementsMatch(t, []string{"new.txt", "old (deleted)", "old/a.txt (deleted)"},
		names(&procore.DocumentListOptions{UpdatedFrom: t0.Add(time.Minute), UpdatedTo: clk.Now().Add(time.Minute)}))
	require.ElementsMatch(t, []string{"new.txt"},
		names(&procore.DocumentListOptions{UpdatedFrom: t0.Add(time.Minute), UpdatedTo: clk.Now().Add(time.Minute), InRecycleBin: &no}))
	require.ElementsMatch(t, []string{"Recycle Bin", "old (deleted)", "old/a.txt (deleted)"},
		names(&procore.DocumentListOptions{InRecycleBin: &yes}))
	require.ElementsMatch(t, []string{"new.txt"}, names(&procore.DocumentListOptions{DocumentType: "file", InRecycleBin: &no}))
	// The tool's root folder is in the index, named after the project,
	// with parent_id null.
	var roots []procore.Document
	for d, err := range c.Documents.All(ctx, sc, &procore.DocumentListOptions{DocumentType: "folder", InRecycleBin: &no}) {
		require.NoError(t, err)
		if d.ParentID == 0 {
			roots = append(roots, d)
		}
	}
	require.Len(t, roots, 1)
	require.Equal(t, "Main Street Tower", roots[0].Name)
	require.Equal(t, "Main Street Tower", roots[0].NameWithPath)
	// A deleted file still reads, flagged; writes to it are 404.
	root, _, err := c.Folders.Root(ctx, sc, nil)
	require.NoError(t, err)
	var bin procore.Folder
	for _, f := range root.Folders {
		if f.IsRecycleBin {
			bin = f
		}
	}
	require.NotZero(t, bin.ID, "the recycle bin is a folder of the root")
	binView, _, err := c.Folders.Get(ctx, sc, bin.ID, nil)
	require.NoError(t, err)
	require.Len(t, binView.Folders, 1)
	require.True(t, binView.Folders[0].IsDeleted)
	_, err = c.Folders.Delete(ctx, sc, binView.Folders[0].ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestNameClashAndUniqueName(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)
	send := func() string {
		u, err := c.Uploads.Send(ctx, sc, "a.txt", "", strings.NewReader("abc"), 3)
		require.NoError(t, err)
		return u
	}
	_, _, err := c.Files.Create(ctx, sc, procore.FileCreate{Name: "a.txt", UploadUUID: send()})
	require.NoError(t, err)
	_, _, err = c.Files.Create(ctx, sc, procore.FileCreate{Name: "A.TXT", UploadUUID: send()})
	var er *procore.ErrorResponse
	require.ErrorAs(t, err, &er)
	// POST /files answers a taken name with 400 "has already been taken"
	// (409 is only documented for PATCH /files/{id}).
	require.Equal(t, http.StatusBadRequest, er.StatusCode)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, _, err = c.Folders.Create(ctx, sc, procore.FolderCreate{Name: "dir"})
	require.NoError(t, err)
	_, _, err = c.Folders.Create(ctx, sc, procore.FolderCreate{Name: "DIR"})
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusBadRequest, er.StatusCode)
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	f, _, err := c.Files.Create(ctx, sc, procore.FileCreate{Name: "a.txt", UploadUUID: send(), UniqueName: true})
	require.NoError(t, err)
	require.Equal(t, "a (1).txt", f.Name)
	_, _, err = c.Files.Create(ctx, sc, procore.FileCreate{Name: "bad:name.txt", UploadUUID: send()})
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.StatusCode)
	_, _, err = c.Files.Create(ctx, sc, procore.FileCreate{Name: "c.txt", UploadUUID: "01UNKNOWN"})
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.StatusCode)
}

func TestUploadsAndDownloadsKeepTheTokenOnProcoreHosts(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	sc := procore.ProjectScope(srv.ProjectID)

	// A short reader fails the upload and nothing is created.
	_, err := c.Uploads.Send(ctx, sc, "short.bin", "", strings.NewReader("abc"), 10)
	require.ErrorIs(t, err, procore.ErrShortBody)
	_, err = c.Uploads.Send(ctx, sc, "long.bin", "", strings.NewReader("abcdefghijkl"), 10)
	require.ErrorIs(t, err, procore.ErrShortBody)

	uuid, err := c.Uploads.Send(ctx, sc, "a.bin", "", strings.NewReader("0123456789"), 10)
	require.NoError(t, err)
	f, _, err := c.Files.Create(ctx, sc, procore.FileCreate{Name: "a.bin", UploadUUID: uuid})
	require.NoError(t, err)
	url := f.CurrentVersion().URL
	require.True(t, strings.HasPrefix(url, srv.FileURL+"/"), "file URLs live on the file host: %s", url)
	srv.ResetCalls()
	for _, tc := range []struct {
		offset int64
		want   string
	}{{0, "0123456789"}, {4, "456789"}} {
		rc, err := c.Download(ctx, url, tc.offset)
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		require.Equal(t, tc.want, string(b))
	}
	require.Equal(t, 2, srv.CallsByHost(procoretest.HostFile))
	require.Equal(t, 2, srv.CallsByHost(procoretest.HostStorage))
	require.Zero(t, srv.CallsByHost(procoretest.HostAPI), "downloads cost no API-host call")
	require.Equal(t, []string{"a.bin"}, srv.UIPaths(procoretest.ProjectDocs(srv.ProjectID)))

	// A client that (wrongly) trusts every host leaks the token to the
	// storage host, which refuses it, as S3 does; the error carries no
	// signature.
	c2, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()}),
		TrustedHost: func(string) bool { return true }})
	require.NoError(t, err)
	_, err = c2.Download(ctx, url, 0)
	var er *procore.ErrorResponse
	require.ErrorAs(t, err, &er)
	require.Equal(t, "InvalidArgument", er.Code)
	require.NotContains(t, err.Error(), "X-Amz-Signature=")
	require.NotContains(t, err.Error(), "sig=")

	// Without the token the file-host URL is refused.
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestTimestampLenient(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{`"2025-02-06T23:34:12.246562Z"`, time.Date(2025, 2, 6, 23, 34, 12, 246562000, time.UTC), false},
		{`"2025-02-06T23:34:12Z"`, time.Date(2025, 2, 6, 23, 34, 12, 0, time.UTC), false},
		{`"2025-02-06"`, time.Date(2025, 2, 6, 0, 0, 0, 0, time.UTC), false},
		{`null`, time.Time{}, false},
		{`""`, time.Time{}, false},
		{`1484786897`, time.Unix(1484786897, 0).UTC(), false},
		{`"yesterday"`, time.Time{}, true},
	} {
		var ts procore.Timestamp
		err := ts.UnmarshalJSON([]byte(tc.in))
		require.Equal(t, tc.err, err != nil, tc.in)
		if !tc.err {
			require.True(t, tc.want.Equal(ts.Time), tc.in)
		}
	}
}

// TestDownloadSendsTheTokenOnlyToProcoreHosts: the bearer token goes to
// the API host name, *.procore.com and Options.FileHosts; a presigned
// host a file host redirects to never gets it, nor does a URL on an
// unknown host. Only API-host calls are paced.
func TestDownloadSendsTheTokenOnlyToProcoreHosts(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{} // server → Authorization headers received
	record := func(name string, r *http.Request) {
		mu.Lock()
		seen[name] = append(seen[name], r.Header.Get("Authorization"))
		mu.Unlock()
	}
	presigned := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("presigned", r)
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "only one auth mechanism allowed", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "content")
	}))
	t.Cleanup(presigned.Close)
	// The presigned host goes by another name than the file host.
	presignedURL := strings.Replace(presigned.URL, "127.0.0.1", "localhost", 1) + "/obj?X-Amz-Signature=s3cr3t"
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record("file", r)
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"message":"The access token is invalid"}}`, http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, presignedURL, http.StatusFound)
	}))
	t.Cleanup(files.Close)
	fileHost := strings.TrimPrefix(files.URL, "http://")
	fileURL := files.URL + "/api/v5/files/us-east-1/pro-core.com/k?sig=abc"

	pacer := &recordingPacer{}
	newClient := func(base string, fileHosts ...string) *procore.Client {
		c, err := procore.NewClient(procore.Options{BaseURL: base, CompanyID: 1, FileHosts: fileHosts, Pacer: pacer,
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}), RetryMax: -1})
		require.NoError(t, err)
		return c
	}
	download := func(c *procore.Client, u string) (string, error) {
		rc, err := c.Download(context.Background(), u, 0)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	reset := func() {
		mu.Lock()
		seen = map[string][]string{}
		mu.Unlock()
	}

	for _, tc := range []struct {
		name      string
		c         *procore.Client
		wantToken bool
	}{
		{"listed file host", newClient("http://api.example.invalid", fileHost), true},
		{"listed file host name, any port", newClient("http://api.example.invalid", "127.0.0.1"), true},
		// A client on an https API host never sends the token over plain
		// http, not even to a listed host.
		{"listed file host over plain http", newClient("https://api.example.invalid", fileHost), false},
		{"API host name on another port", newClient("http://127.0.0.1:1"), true},
		{"unknown host", newClient("https://api.example.invalid"), false},
		{"another port listed", newClient("https://api.example.invalid", "127.0.0.1:1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			got, err := download(tc.c, fileURL)
			mu.Lock()
			defer mu.Unlock()
			for _, h := range seen["presigned"] {
				require.Empty(t, h, "the presigned host never gets the token")
			}
			if tc.wantToken {
				require.NoError(t, err)
				require.Equal(t, "content", got)
				require.Equal(t, []string{"Bearer tok"}, seen["file"])
				require.Equal(t, []string{""}, seen["presigned"])
			} else {
				require.Error(t, err)
				require.NotContains(t, err.Error(), "sig=")
				require.Equal(t, []string{""}, seen["file"], "an unknown host never gets the token")
				require.Empty(t, seen["presigned"])
			}
		})
	}

	// A URL on the presigned (unknown) host itself: no token.
	reset()
	got, err := download(newClient("http://api.example.invalid", fileHost), presignedURL)
	require.NoError(t, err)
	require.Equal(t, "content", got)
	require.Equal(t, []string{""}, seen["presigned"])

	require.Zero(t, pacer.waits, "file-host and presigned downloads are not paced")

	// By default *.procore.com (on the default port) and the API host name
	// get the token; look-alikes and AWS do not. Only the API host is paced.
	var hdrs sync.Map
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hdrs.Store(r.URL.Host, r.Header.Get("Authorization"))
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("x")), Header: http.Header{}, Request: r}, nil
	})
	pacer = &recordingPacer{}
	c, err := procore.NewClient(procore.Options{CompanyID: 1, Pacer: pacer, HTTPClient: &http.Client{Transport: rt},
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"})})
	require.NoError(t, err)
	for host, want := range map[string]bool{
		"api.procore.com": true, "storage.procore.com": true, "storage.procore.com:443": true, "procore.com": true,
		"storage.procore.com:8443": false, "procore.com.example.com": false, "evilprocore.com": false,
		"pro-core.com.s3.amazonaws.com": false,
	} {
		_, err := download(c, "https://"+host+"/api/v5/files/k?sig=abc")
		require.NoError(t, err, host)
		got, _ := hdrs.Load(host)
		require.Equal(t, want, got == "Bearer tok", host)
	}
	require.Equal(t, 1, pacer.waits, "only the API host is paced")
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

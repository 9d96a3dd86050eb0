package procore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
)

// hangGuard fails the test if done is not closed within a generous bound:
// it detects a call that blocks, it does not measure speed.
func hangGuard(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s is still blocked", what)
	}
}

// stalledLogin is an OAuth host whose token endpoint answers only when
// released.
type stalledLogin struct {
	srv     *httptest.Server
	release chan struct{}
	calls   atomic.Int32
}

func newStalledLogin(t *testing.T) *stalledLogin {
	s := &stalledLogin{release: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"fresh","token_type":"bearer","expires_in":5400,"created_at":1}`)
	}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
	})
	return s
}

// TestTokenFetchObeysTheCallersContext: with a stalled login server, a
// call whose context ends returns at once (it used to wait on a lock held
// by the fetch, ignoring its context), concurrent callers share one
// fetch, and the fetch completes for those still waiting.
func TestTokenFetchObeysTheCallersContext(t *testing.T) {
	login := newStalledLogin(t)
	conf := procore.Config{ClientID: "id", ClientSecret: "secret", Env: procore.Environment{AuthURL: login.srv.URL, APIURL: login.srv.URL}}
	src := conf.ClientCredentials(context.Background())
	cts, ok := src.(procore.ContextTokenSource)
	require.True(t, ok)

	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, errs[i] = cts.TokenContext(ctx)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	hangGuard(t, done, "a token call whose context ended")
	for _, err := range errs {
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	require.EqualValues(t, 1, login.calls.Load(), "one fetch for every caller (single-flight)")

	// A patient caller gets the token of that same fetch once it answers.
	got := make(chan string, 1)
	go func() {
		tok, err := cts.TokenContext(context.Background())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- tok.AccessToken
	}()
	close(login.release)
	select {
	case v := <-got:
		require.Equal(t, "fresh", v)
	case <-time.After(20 * time.Second):
		t.Fatal("the fetch never completed")
	}
	require.EqualValues(t, 1, login.calls.Load())
}

// TestTokenFetchHasATimeout: a call without a deadline still ends, after
// Config.Timeout, with an error; the API call through the Client obeys
// the request's context too.
func TestTokenFetchHasATimeout(t *testing.T) {
	login := newStalledLogin(t)
	conf := procore.Config{ClientID: "id", ClientSecret: "secret", Timeout: 50 * time.Millisecond,
		Env: procore.Environment{AuthURL: login.srv.URL, APIURL: login.srv.URL}}
	for name, src := range map[string]oauth2.TokenSource{
		"client credentials": conf.ClientCredentials(context.Background()),
		"authorization code": func() oauth2.TokenSource {
			st := &procore.MemoryTokenStore{}
			require.NoError(t, st.Save(context.Background(), &oauth2.Token{AccessToken: "old", RefreshToken: "r", Expiry: time.Unix(10, 0)}))
			return conf.TokenSource(context.Background(), st)
		}(),
	} {
		done := make(chan struct{})
		var err error
		go func() { _, err = src.Token(); close(done) }()
		hangGuard(t, done, name+" Token without a deadline")
		require.Error(t, err, name)
		require.ErrorIs(t, err, context.DeadlineExceeded, name)
	}

	// Through the Client: the request's context ends the wait.
	slow := procore.Config{ClientID: "id", ClientSecret: "secret", Env: procore.Environment{AuthURL: login.srv.URL, APIURL: login.srv.URL}}
	c, err := procore.NewClient(procore.Options{BaseURL: login.srv.URL, CompanyID: 1, TokenSource: slow.ClientCredentials(context.Background()), RetryMax: -1})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { _, _, err = c.Users.Me(ctx); close(done) }()
	hangGuard(t, done, "an API call with a 50 ms deadline")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestTokenEndpointErrorsAreSanitised: only the OAuth error code and a
// short printable description reach the error string; the rest of the
// body (which may echo what was sent) never does.
func TestTokenEndpointErrorsAreSanitised(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		ctype  string
		body   string
		code   string
	}{
		"json": {400, "application/json", `{"error":"invalid_grant","error_description":"The refresh token is invalid\u001b[31m` +
			strings.Repeat(" padding", 100) + `","echo":"client_secret=TOPSECRET refresh_token=RT-SECRET"}`, "invalid_grant"},
		"html": {502, "text/html", `<html><body>proxy error for client_secret=TOPSECRET refresh_token=RT-SECRET</body></html>`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			conf := procore.Config{ClientID: "id", ClientSecret: "TOPSECRET", Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}
			st := &procore.MemoryTokenStore{}
			require.NoError(t, st.Save(context.Background(), &oauth2.Token{AccessToken: "old", RefreshToken: "RT-SECRET", Expiry: time.Unix(10, 0)}))
			for _, src := range []oauth2.TokenSource{conf.ClientCredentials(context.Background()), conf.TokenSource(context.Background(), st)} {
				_, err := src.Token()
				require.Error(t, err)
				msg := err.Error()
				require.NotContains(t, msg, "TOPSECRET")
				require.NotContains(t, msg, "RT-SECRET")
				require.NotContains(t, msg, "\x1b")
				require.NotContains(t, msg, "<html>")
				require.Less(t, len(msg), 320, msg)
				var oe *procore.OAuthError
				require.ErrorAs(t, err, &oe)
				require.Equal(t, tc.status, oe.StatusCode)
				require.Equal(t, tc.code, oe.Code)
				if tc.code == "invalid_grant" {
					require.True(t, errors.Is(err, procore.ErrUnauthorized))
					require.Contains(t, msg, "The refresh token is invalid")
				}
			}
			_, err := conf.TokenInfo(context.Background(), "tok")
			require.Error(t, err)
			require.NotContains(t, err.Error(), "TOPSECRET")
		})
	}
}

// recordingTransport answers every request with 200 and records where the
// Authorization header went.
type recordingTransport struct {
	mu   sync.Mutex
	auth map[string]string // host → Authorization
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if r.auth == nil {
		r.auth = map[string]string{}
	}
	r.auth[req.URL.Scheme+"://"+req.URL.Host] = req.Header.Get("Authorization")
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
}

// TestFederalZone: the Federal Zone is a named environment, and a client
// on it sends the token to its procoregov.com file hosts (and not to
// procore.com ones); never over plain http.
func TestFederalZone(t *testing.T) {
	env, ok := procore.EnvironmentByName("federal")
	require.True(t, ok)
	require.Equal(t, procore.FederalZone, env)
	require.Equal(t, "https://login.procoregov.com", env.AuthURL)
	require.Equal(t, "https://api.procoregov.com", env.APIURL)

	for _, tc := range []struct {
		base string
		want map[string]bool // URL → token sent
	}{
		{procore.FederalZone.APIURL, map[string]bool{"https://storage.procoregov.com": true, "https://api.procoregov.com": true,
			"https://storage.procore.com": false, "http://storage.procoregov.com": false, "https://evil-procoregov.com": false}},
		{procore.Production.APIURL, map[string]bool{"https://storage.procore.com": true, "https://storage.procoregov.com": false,
			"http://api.procore.com": false}},
	} {
		rt := &recordingTransport{}
		c, err := procore.NewClient(procore.Options{BaseURL: tc.base, CompanyID: 1, HTTPClient: &http.Client{Transport: rt},
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}), RetryMax: -1})
		require.NoError(t, err)
		for u, want := range tc.want {
			rc, err := c.Download(context.Background(), u+"/file", 0)
			require.NoError(t, err, u)
			rc.Close()
			rt.mu.Lock()
			require.Equalf(t, want, rt.auth[u] == "Bearer tok", "%s on %s: %q", u, tc.base, rt.auth[u])
			rt.mu.Unlock()
		}
	}
}

// TestTokenNeverFollowsARedirectToPlainHTTP: an https file URL that
// redirects to plain http on the same host name does not get the token
// on the http hop (it used to: the host name was trusted).
func TestTokenNeverFollowsARedirectToPlainHTTP(t *testing.T) {
	var mu sync.Mutex
	var plainAuth []string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		plainAuth = append(plainAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = io.WriteString(w, "content")
	}))
	t.Cleanup(plain.Close)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, plain.URL+"/obj", http.StatusFound) // same host name, plain http
	}))
	t.Cleanup(secure.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: secure.URL, CompanyID: 1, HTTPClient: secure.Client(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok"}), RetryMax: -1})
	require.NoError(t, err)
	rc, err := c.Download(context.Background(), secure.URL+"/file", 0)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "content", string(b))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{""}, plainAuth, "the token never goes over plain http")
}

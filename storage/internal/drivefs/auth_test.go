package drivefs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// within fails the test when f has not returned after a generous guard
// (a hang detector, not a timing assertion).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10 s", what)
	}
}

// stallingLogin is a login server whose token endpoint never answers
// until the test ends; it counts the token requests.
func stallingLogin(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv, &n
}

func TestTokenFetchObeysTheCallersContext(t *testing.T) {
	login, requests := stallingLogin(t)
	fake := graphtest.NewServer(t, graphtest.Options{})
	cloud := msidentity.Cloud{Name: "stalled", Login: login.URL, Graph: fake.API.URL}
	src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", "app-secret")
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: fake.BaseURL(), TokenSource: src, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	require.NoError(t, err)

	// Several callers with short deadlines while the login server stalls:
	// each returns when its own deadline passes, none waits for the lock
	// of another, and they share one token request.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	within(t, "calls with a 200 ms deadline", func() {
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_, errs[i] = c.GetRoot(ctx, fake.MyDriveID())
			}()
		}
		wg.Wait()
	})
	for _, err := range errs {
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	require.Equal(t, int32(1), requests.Load(), "token refresh is single-flight")

	// A caller whose context is already cancelled does not wait at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "TokenContext with a cancelled context", func() {
		_, err := src.TokenContext(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestTokenFetchHasATimeout(t *testing.T) {
	login, _ := stallingLogin(t)
	cloud := msidentity.Cloud{Name: "stalled", Login: login.URL, Graph: "https://graph.microsoft.com"}
	src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", "app-secret")
	src.SetTimeout(100 * time.Millisecond)
	within(t, "Token without a deadline", func() {
		_, err := src.Token()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestDefaultTransportHasTimeouts(t *testing.T) {
	tr := msgraph.NewTransport()
	require.NotNil(t, tr.DialContext)
	require.Positive(t, tr.TLSHandshakeTimeout)
	require.Positive(t, tr.ResponseHeaderTimeout)
	require.Positive(t, tr.IdleConnTimeout)
}

func TestTokenEndpointErrorsAreSanitised(t *testing.T) {
	const secret = "app-s3cret-Value~42"
	var status int
	var body string
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(login.Close)
	cloud := msidentity.Cloud{Name: "x", Login: login.URL, Graph: "https://graph.microsoft.com"}
	for _, tc := range []struct {
		name, body string
		status     int
		want       []string
	}{
		{"oauth error", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret ` + secret +
			` provided.\r\nTrace ID: 0f1e Correlation ID: 9a8b Timestamp: 2026-12-05 06:00:00Z","error_codes":[7000215],"trace_id":"0f1e","internal":"do-not-show"}`,
			400, []string{"invalid_client", "HTTP 400", "AADSTS7000215: Invalid client secret [redacted] provided."}},
		{"html error page", `<html><body>Internal failure ` + secret + ` do-not-show</body></html>`, 500, []string{"HTTP 500"}},
		{"hostile error code", `{"error":"bad code\n` + secret + `","error_description":"x"}`, 400, []string{"HTTP 400"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body = tc.status, tc.body
			_, err := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", secret).Token()
			require.Error(t, err)
			var te *msidentity.TokenError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.status, te.StatusCode)
			require.Equal(t, tc.status < 500, errors.Is(err, storage.ErrPermissionDenied))
			msg := err.Error()
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
			for _, bad := range []string{secret, "do-not-show", "Trace ID", "Correlation", "error_codes", "<html>", "\n"} {
				require.NotContains(t, msg, bad)
			}
		})
	}
	t.Run("through the client", func(t *testing.T) {
		status, body = 401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret `+secret+`"}`
		src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", secret)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: "https://graph.microsoft.com/v1.0", TokenSource: src})
		require.NoError(t, err)
		_, err = c.GetRoot(context.Background(), "d")
		require.Error(t, err)
		require.NotContains(t, err.Error(), secret)
		require.Contains(t, err.Error(), "invalid_client")
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
	})
}

func TestTokensOnlyOverHTTPS(t *testing.T) {
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "graph-token"})
	for _, base := range []string{"http://graph.contoso.test/v1.0", "ftp://graph.microsoft.com/v1.0"} {
		_, err := msgraph.NewClient(msgraph.Options{BaseURL: base, TokenSource: src})
		require.Error(t, err, base)
	}
	for _, base := range []string{"https://graph.microsoft.com/v1.0", "http://127.0.0.1:8080/v1.0", "http://localhost/v1.0"} {
		_, err := msgraph.NewClient(msgraph.Options{BaseURL: base, TokenSource: src})
		require.NoError(t, err, base)
	}
	// Links from the service are followed only on the Graph origin.
	tr := &scripted{}
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: "https://graph.microsoft.com/v1.0", TokenSource: src, HTTPClient: &http.Client{Transport: tr}, RetryMax: -1})
	require.NoError(t, err)
	for _, link := range []string{"http://graph.microsoft.com/v1.0/drives/d/root/delta?token=x",
		"https://graph.microsoft.com.evil.example/v1.0/drives/d/root/delta?token=x"} {
		_, err = c.Delta(context.Background(), link)
		require.Error(t, err, link)
	}
	require.Empty(t, tr.hops, "no request left with the token")
}

// hop is one request seen by the scripted transport.
type hop struct{ url, auth string }

// scripted answers requests from a table of URL -> response maker and
// records every request with its Authorization header.
type scripted struct {
	mu    sync.Mutex
	hops  []hop
	serve map[string]func(*http.Request) *http.Response
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.hops = append(s.hops, hop{r.URL.String(), r.Header.Get("Authorization")})
	f := s.serve[r.URL.Scheme+"://"+r.URL.Host+r.URL.Path]
	s.mu.Unlock()
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if f == nil {
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":{"code":"itemNotFound","message":"x"}}`)), Request: r}, nil
	}
	resp := f(r)
	resp.Request = r
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, nil
}

func redirect(loc string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {loc}}}
	}
}

func content(s string) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		if r.Header.Get("Authorization") == "" {
			return &http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(`{"error":{"code":"unauthenticated","message":"no token"}}`))}
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(s))}
	}
}

func TestContentTokensStayOnTrustedHosts(t *testing.T) {
	const item = "https://graph.microsoft.com/v1.0/drives/d/items/i/content"
	newClient := func(tr *scripted, resources *[]string) *msgraph.Client {
		c, err := msgraph.NewClient(msgraph.Options{
			BaseURL:     "https://graph.microsoft.com/v1.0",
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "graph-token"}),
			HTTPClient:  &http.Client{Transport: tr}, RetryMax: -1,
			ContentTokens: func(resource string) (oauth2.TokenSource, error) {
				*resources = append(*resources, resource)
				return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "sp-token"}), nil
			},
		})
		require.NoError(t, err)
		return c
	}
	read := func(c *msgraph.Client) (string, error) {
		rc, err := c.Download(context.Background(), "d", "i", 0)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	t.Run("a URL without tempauth on the SharePoint host gets the SharePoint token", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1"),
			"https://contoso.sharepoint.com/_layouts/15/download.aspx": content("hello"),
		}}
		got, err := read(newClient(tr, &res))
		require.NoError(t, err)
		require.Equal(t, "hello", got)
		require.Equal(t, []string{"https://contoso.sharepoint.com"}, res)
		require.Equal(t, []hop{{item, "Bearer graph-token"}, {"https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1", "Bearer sp-token"}}, tr.hops)
	})
	t.Run("a URL with tempauth gets no token", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1&tempauth=v1.abc"),
			"https://contoso.sharepoint.com/_layouts/15/download.aspx": func(r *http.Request) *http.Response {
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("pre"))}
			},
		}}
		got, err := read(newClient(tr, &res))
		require.NoError(t, err)
		require.Equal(t, "pre", got)
		require.Empty(t, res)
		require.Equal(t, "", tr.hops[1].auth)
	})
	for _, tc := range []struct{ name, next string }{
		{"https to http on the same host", "http://contoso.sharepoint.com/dl"},
		{"another host", "https://contoso.sharepoint.com.evil.example/dl"},
		{"another port", "https://contoso.sharepoint.com:8443/dl"},
	} {
		t.Run("no token on a redirect to "+tc.name, func(t *testing.T) {
			var res []string
			tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
				item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1"),
				"https://contoso.sharepoint.com/_layouts/15/download.aspx": redirect(tc.next),
			}}
			_, err := read(newClient(tr, &res))
			require.Error(t, err, "the untrusted hop answers 401 without a token")
			require.Len(t, tr.hops, 3)
			require.Equal(t, "Bearer sp-token", tr.hops[1].auth)
			require.Equal(t, hop{tc.next, ""}, tr.hops[2], "no token on the redirect hop")
		})
	}
	t.Run("an untrusted content host gets no token at all", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://files.example.net/dl"),
		}}
		_, err := read(newClient(tr, &res))
		require.Error(t, err)
		require.Empty(t, res)
		require.Equal(t, "", tr.hops[1].auth)
	})
}

// contentEnv is a fake with pre-authenticated URLs switched off and a
// client whose content tokens come from tokens.
func contentFS(t *testing.T, srv *graphtest.Server, src oauth2.TokenSource, tokens msgraph.ContentTokens) *drivefs.FS {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src, RetryMax: -1,
		ContentTokens: tokens, ContentHosts: []string{strings.TrimPrefix(srv.Content.URL, "http://")}})
	require.NoError(t, err)
	f, err := drivefs.NewFS(context.Background(), c, srv.MyDriveID(), "")
	require.NoError(t, err)
	return f
}

func readAll(t *testing.T, f *drivefs.FS, name string) ([]byte, error) {
	t.Helper()
	e, err := f.Stat(context.Background(), name)
	require.NoError(t, err)
	rc, err := f.Open(context.Background(), e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestContentURLsWithoutPreAuthentication(t *testing.T) {
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
	require.NoError(t, err)
	const appID = "00000000-aaaa-bbbb-cccc-000000000001"

	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("PreAuthDisabled=%v", disabled), func(t *testing.T) {
			srv := graphtest.NewServer(t, graphtest.Options{PreAuthDisabled: disabled})
			srv.AddCertificate(appID, x509Cert)
			cloud := msidentity.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}
			_, err := srv.WebUpload(srv.MyDriveID(), "plan.pdf", []byte("the plan"))
			require.NoError(t, err)
			var urls []string
			srv.Observe(func(ex graphtest.Exchange) {
				if ex.Op == "drives.GetContent" || ex.Op == "drives.items.GetContent" {
					urls = append(urls, ex.Header.Get("Location"))
				}
			})

			// App-only with a certificate, for Graph and for SharePoint.
			graphSrc := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
			f := contentFS(t, srv, graphSrc, msidentity.AppOnlyContentTokens(context.Background(), cloud, "contoso", appID, cert))
			b, err := readAll(t, f, "plan.pdf")
			require.NoError(t, err)
			require.Equal(t, "the plan", string(b))
			require.NotEmpty(t, urls)
			require.Equal(t, !disabled, strings.Contains(urls[len(urls)-1], "tempauth="))
			want := 1 // the Graph token
			if disabled {
				want = 2 // and the SharePoint token
			}
			require.Equal(t, want, srv.CallCount("oauth2.Token"))

			// Without content tokens: works only where URLs are
			// pre-authenticated, else a clear error.
			f = contentFS(t, srv, graphSrc, nil)
			_, err = readAll(t, f, "plan.pdf")
			if !disabled {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, storage.ErrPermissionDenied)
			require.ErrorContains(t, err, "ContentTokens")

			// SharePoint refuses app-only tokens obtained with a secret.
			secretTokens := func(resource string) (oauth2.TokenSource, error) {
				cc := &clientcredentials.Config{ClientID: appID, ClientSecret: "secret", TokenURL: cloud.Endpoint("contoso").TokenURL,
					Scopes: []string{resource + "/.default"}, AuthStyle: oauth2.AuthStyleInParams}
				return cc.TokenSource(context.Background()), nil
			}
			f = contentFS(t, srv, graphSrc, secretTokens)
			_, err = readAll(t, f, "plan.pdf")
			require.ErrorIs(t, err, storage.ErrPermissionDenied)

			// A signed-in user's refresh token yields the SharePoint token.
			cfg := msidentity.DelegatedConfig(cloud, "common", appID, "secret", "http://localhost/cb")
			store := &memStore{}
			require.NoError(t, msidentity.Exchange(context.Background(), cfg, store, srv.AuthCode()))
			dsrc, err := msidentity.DelegatedSource(context.Background(), cfg, store)
			require.NoError(t, err)
			f = contentFS(t, srv, dsrc, msidentity.DelegatedContentTokens(context.Background(), cfg, store))
			b, err = readAll(t, f, "plan.pdf")
			require.NoError(t, err)
			require.Equal(t, "the plan", string(b))
		})
	}
}

func TestCertificateCredentials(t *testing.T) {
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	otherCert, otherKey, _ := graphtest.NewCertificate(t)
	const appID = "00000000-aaaa-bbbb-cccc-000000000002"
	srv := graphtest.NewServer(t, graphtest.Options{})
	srv.AddCertificate(appID, x509Cert)
	cloud := msidentity.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}

	t.Run("parsing", func(t *testing.T) {
		_, err := msidentity.ParseCertificate(certPEM, otherKey)
		require.ErrorContains(t, err, "does not belong")
		_, err = msidentity.ParseCertificate(nil, keyPEM)
		require.Error(t, err)
		_, err = msidentity.ParseCertificate(certPEM, nil)
		require.Error(t, err)
		c, err := msidentity.ParseCertificate(append(append([]byte(nil), keyPEM...), certPEM...), nil)
		require.NoError(t, err, "one combined PEM file")
		require.NotEmpty(t, c.Thumbprint())
	})
	t.Run("a registered certificate gets a Graph token", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
		require.NoError(t, err)
		src := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src})
		require.NoError(t, err)
		d, err := c.UserDrive(context.Background(), graphtest.MeUPN)
		require.NoError(t, err)
		require.Equal(t, srv.MyDriveID(), d.ID)
	})
	t.Run("an unregistered certificate is refused", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(otherCert, otherKey)
		require.NoError(t, err)
		_, err = msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph).Token()
		var te *msidentity.TokenError
		require.ErrorAs(t, err, &te)
		require.Equal(t, "invalid_client", te.Code)
		require.Contains(t, te.Description, "AADSTS700027")
		require.NotContains(t, err.Error(), "Trace ID")
	})
	t.Run("another app's assertion is refused", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
		require.NoError(t, err)
		_, err = msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", "another-app", cert, cloud.Graph).Token()
		var te *msidentity.TokenError
		require.ErrorAs(t, err, &te)
		require.Equal(t, "invalid_client", te.Code)
	})
	t.Run("a refused token is not retried", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(otherCert, otherKey)
		require.NoError(t, err)
		src := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		require.NoError(t, err)
		srv.ResetCalls()
		_, err = c.UserDrive(context.Background(), graphtest.MeUPN)
		var te *msidentity.TokenError
		require.True(t, errors.As(err, &te), "%v", err)
		require.Equal(t, 1, srv.CallCount("oauth2.Token"))
	})
}

func TestRefreshErrorsHideTheRefreshToken(t *testing.T) {
	const rt = "M.R3_refresh-s3cret"
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"AADSTS70000: grant `+rt+` is malformed."}`)
	}))
	t.Cleanup(login.Close)
	cloud := msidentity.Cloud{Name: "x", Login: login.URL, Graph: "https://graph.microsoft.com"}
	cfg := msidentity.DelegatedConfig(cloud, "common", "app", "app-s3cret", "http://localhost/cb")
	store := &memStore{tok: &oauth2.Token{AccessToken: "old", RefreshToken: rt, Expiry: time.Unix(1, 0)}}
	src, err := msidentity.DelegatedSource(context.Background(), cfg, store)
	require.NoError(t, err)
	_, err = src.Token()
	require.ErrorContains(t, err, "invalid_grant")
	require.NotContains(t, err.Error(), rt)
	ts, err := msidentity.DelegatedContentTokens(context.Background(), cfg, store)("https://contoso.sharepoint.com")
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorContains(t, err, "invalid_grant")
	require.NotContains(t, err.Error(), rt)
}

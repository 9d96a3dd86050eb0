package procore_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
)

// authFixture is a fake on a fake clock with a client whose token source
// comes from one of the OAuth flows.
type authFixture struct {
	srv   *procoretest.Server
	clk   *lockedClock
	conf  procore.Config
	store *procore.MemoryTokenStore
	src   oauth2.TokenSource
	c     *procore.Client
}

// lockedClock is a fake clock safe for concurrent use.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lockedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newAuthFixture(t *testing.T, flow string) *authFixture {
	t.Helper()
	clk := &lockedClock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	srv := procoretest.New(procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	f := &authFixture{srv: srv, clk: clk, store: &procore.MemoryTokenStore{},
		conf: procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, RedirectURL: "http://localhost/cb",
			Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}}
	ctx := context.Background()
	switch flow {
	case "authorization code":
		// Exchange runs before any Client exists: it stamps the expiry on
		// Config.Now. The token source gets its clock from the Client.
		ex := f.conf
		ex.Now = clk.Now
		_, err := ex.Exchange(ctx, srv.AuthorizationCode("http://localhost/cb"), f.store)
		require.NoError(t, err)
		f.src = f.conf.TokenSource(ctx, f.store)
	case "client credentials":
		f.src = f.conf.ClientCredentials(ctx)
	case "static":
		f.src = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()})
	default:
		t.Fatalf("unknown flow %q", flow)
	}
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID, TokenSource: f.src,
		Now: clk.Now, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	require.NoError(t, err)
	f.c = c
	return f
}

func (f *authFixture) current(t *testing.T) string {
	tok, err := f.src.Token()
	require.NoError(t, err)
	return tok.AccessToken
}

// TestRejectedTokenRefreshesOnceAndRetries covers a 401 before the
// recorded expiry: one refresh (or a new client credentials token), one
// retry; a second 401 gives a typed error.
func TestRejectedTokenRefreshesOnceAndRetries(t *testing.T) {
	for _, tc := range []struct {
		name, flow string
		reject     func(f *authFixture, tok string) // what happens to the token in Procore
		wantOK     bool
		wantTokens int  // token requests caused by the rejected call
		wantAuth   bool // a failure is *AuthError (refresh failed) rather than a 401 ErrorResponse
		wantSaved  bool // the rotated pair is in the store before use
	}{
		{name: "authorization code, expired early", flow: "authorization code",
			reject: func(f *authFixture, tok string) { f.srv.ExpireToken(tok) }, wantOK: true, wantTokens: 1, wantSaved: true},
		{name: "client credentials, expired early", flow: "client credentials",
			reject: func(f *authFixture, tok string) { f.srv.ExpireToken(tok) }, wantOK: true, wantTokens: 1},
		{name: "client credentials, revoked", flow: "client credentials",
			reject: func(f *authFixture, tok string) { f.srv.RevokeToken(tok) }, wantOK: true, wantTokens: 1},
		{name: "authorization code, pair revoked", flow: "authorization code",
			reject: func(f *authFixture, tok string) { f.srv.RevokeToken(tok) }, wantTokens: 1, wantAuth: true},
		{name: "authorization code, still rejected after refresh", flow: "authorization code",
			reject: func(f *authFixture, _ string) {
				f.srv.Inject(procoretest.Fault{Op: "RestV10MeGet", Status: http.StatusUnauthorized, Times: 2})
			}, wantTokens: 1},
		{name: "client credentials, still rejected after a new token", flow: "client credentials",
			reject: func(f *authFixture, _ string) {
				f.srv.Inject(procoretest.Fault{Op: "RestV10MeGet", Status: http.StatusUnauthorized, Times: 2})
			}, wantTokens: 1},
		{name: "static token cannot be refreshed", flow: "static",
			reject: func(f *authFixture, tok string) { f.srv.ExpireToken(tok) }, wantTokens: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuthFixture(t, tc.flow)
			ctx := context.Background()
			old := f.current(t)
			_, _, err := f.c.Users.Me(ctx)
			require.NoError(t, err)
			saves := f.store.Saves
			tc.reject(f, old)
			f.srv.ResetCalls()

			_, _, err = f.c.Users.Me(ctx)
			require.Equal(t, tc.wantTokens, f.srv.CallCount("OauthTokenPost"), "token requests")
			if tc.wantOK {
				require.NoError(t, err)
				require.Equal(t, 2, f.srv.CallCount("RestV10MeGet"), "the call and one retry")
				require.NotEqual(t, old, f.current(t))
				if tc.wantSaved {
					require.Equal(t, saves+1, f.store.Saves)
					stored, _ := f.store.Load(ctx)
					require.Equal(t, f.current(t), stored.AccessToken, "the rotated pair is persisted")
				}
				return
			}
			require.Error(t, err)
			require.NotContains(t, err.Error(), old, "the token never appears in errors")
			if tc.wantAuth {
				var ae *procore.AuthError
				require.ErrorAs(t, err, &ae)
				return
			}
			require.ErrorIs(t, err, procore.ErrUnauthorized)
			var er *procore.ErrorResponse
			require.ErrorAs(t, err, &er)
			require.Equal(t, http.StatusUnauthorized, er.StatusCode)
			calls := 2
			if tc.flow == "static" {
				calls = 1
			}
			require.Equal(t, calls, f.srv.CallCount("RestV10MeGet"), "at most one retry")
		})
	}
}

// TestConcurrentRejectionsRefreshOnce: many requests rejected with the
// same token cause one refresh (refresh tokens are single use).
func TestConcurrentRejectionsRefreshOnce(t *testing.T) {
	f := newAuthFixture(t, "authorization code")
	ctx := context.Background()
	f.srv.ExpireToken(f.current(t))
	f.srv.ResetCalls()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, _, err := f.c.Users.Me(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, f.srv.CallCount("OauthTokenPost"))
}

// TestRefreshMarginUsesClientClock: expiry and the refresh margin are
// measured on the Client's clock (Options.Now), so fake-clock tests are
// deterministic.
func TestRefreshMarginUsesClientClock(t *testing.T) {
	for _, tc := range []struct {
		flow    string
		advance time.Duration
		refresh bool
	}{
		{"authorization code", 5400*time.Second - 2*time.Minute, false},
		{"authorization code", 5400*time.Second - 30*time.Second, true},
		{"client credentials", 5400*time.Second - 2*time.Minute, false},
		{"client credentials", 5400*time.Second - 30*time.Second, true},
	} {
		t.Run(tc.flow+"/"+tc.advance.String(), func(t *testing.T) {
			f := newAuthFixture(t, tc.flow)
			ctx := context.Background()
			_, _, err := f.c.Users.Me(ctx)
			require.NoError(t, err)
			before := f.current(t)
			f.clk.Advance(tc.advance)
			f.srv.ResetCalls()
			_, _, err = f.c.Users.Me(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.refresh, before != f.current(t))
			require.Equal(t, map[bool]int{true: 1, false: 0}[tc.refresh], f.srv.CallCount("OauthTokenPost"))
			require.Equal(t, 1, f.srv.CallCount("RestV10MeGet"), "a proactive refresh needs no retry")
		})
	}
}

func TestTokenInfoAndRevoke(t *testing.T) {
	f := newAuthFixture(t, "authorization code")
	ctx := context.Background()
	tok := f.current(t)
	info, err := f.conf.TokenInfo(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, f.srv.UserID, info.ResourceOwnerID)
	require.Equal(t, f.srv.ClientID, info.Application.UID)
	require.Equal(t, int64(5400), info.ExpiresInSeconds)
	require.Equal(t, f.clk.Now().Unix(), info.CreatedAt)

	require.NoError(t, f.conf.Revoke(ctx, tok))
	_, err = f.conf.TokenInfo(ctx, tok)
	require.ErrorIs(t, err, procore.ErrUnauthorized)
	require.NotContains(t, err.Error(), tok)
	require.NoError(t, f.conf.Revoke(ctx, "unknown-token"), "Procore answers 200 for unknown tokens")

	// Revoking the access token revoked its refresh token too: the
	// client cannot recover without a new authorization.
	_, _, err = f.c.Users.Me(ctx)
	var ae *procore.AuthError
	require.ErrorAs(t, err, &ae)

	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"info without token", func() error { _, err := f.conf.TokenInfo(ctx, ""); return err }},
		{"revoke without token", func() error { return f.conf.Revoke(ctx, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorAs(t, tc.call(), &ae)
		})
	}
}

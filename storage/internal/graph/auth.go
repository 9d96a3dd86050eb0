package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Cloud is a Microsoft cloud: its identity platform (login) and Graph
// hosts.
type Cloud struct {
	Name  string
	Login string // e.g. https://login.microsoftonline.com
	Graph string // e.g. https://graph.microsoft.com
}

// The Microsoft clouds.
var (
	Global   = Cloud{"global", "https://login.microsoftonline.com", "https://graph.microsoft.com"}
	USGov    = Cloud{"us", "https://login.microsoftonline.us", "https://graph.microsoft.us"}
	USGovDoD = Cloud{"dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"}
	Germany  = Cloud{"de", "https://login.microsoftonline.de", "https://graph.microsoft.de"}
	China    = Cloud{"cn", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"}
)

// BaseURL is the cloud's Graph v1.0 endpoint.
func (c Cloud) BaseURL() string { return strings.TrimRight(c.Graph, "/") + "/v1.0" }

// Endpoint returns the identity platform v2.0 endpoints for tenant (a
// tenant ID or domain, or "common"/"organizations" for delegated
// multi-tenant sign-in).
func (c Cloud) Endpoint(tenant string) oauth2.Endpoint {
	base := strings.TrimRight(c.Login, "/") + "/" + tenant + "/oauth2/v2.0/"
	return oauth2.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token", AuthStyle: oauth2.AuthStyleInParams}
}

// DefaultDelegatedScopes are the scopes asked for in the delegated flow.
var DefaultDelegatedScopes = []string{"Files.ReadWrite.All", "Sites.ReadWrite.All", "offline_access"}

// DelegatedConfig returns the OAuth 2.0 authorization-code configuration
// for signing a user in. offline_access is always included, so that the
// token endpoint issues refresh tokens.
func DelegatedConfig(c Cloud, tenant, clientID, clientSecret, redirectURL string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = DefaultDelegatedScopes
	}
	has := false
	for _, s := range scopes {
		has = has || s == "offline_access"
	}
	if !has {
		scopes = append(append([]string(nil), scopes...), "offline_access")
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Endpoint: c.Endpoint(tenant), Scopes: scopes}
}

// TokenStore persists a delegated token (with its refresh token). Save is
// called with every new token before it is used, so that a rotated
// refresh token is never lost.
type TokenStore interface {
	Load(ctx context.Context) (*oauth2.Token, error)
	Save(ctx context.Context, t *oauth2.Token) error
}

// Source is an oauth2.TokenSource that can be told a token was refused as
// expired, so that the next Token call fetches a new one.
type Source struct {
	mu    sync.Mutex
	cur   *oauth2.Token
	fetch func(old *oauth2.Token) (*oauth2.Token, error)
	save  func(*oauth2.Token) error
}

// Token returns a valid token, refreshing (and saving) when needed.
func (s *Source) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.Valid() {
		return s.cur, nil
	}
	t, err := s.fetch(s.cur)
	if err != nil {
		return nil, err
	}
	if s.save != nil {
		if err := s.save(t); err != nil {
			return nil, errors.New("graph: saving the refreshed token failed: " + err.Error())
		}
	}
	s.cur = t
	return t, nil
}

// Invalidate marks access token tok as refused; the next Token call
// fetches a new one.
func (s *Source) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.AccessToken == tok {
		c := *s.cur
		c.Expiry = time.Unix(1, 0)
		s.cur = &c
	}
}

// AppOnlySource returns a client-credentials token source for app-only
// access (scope {graph}/.default). ctx carries the HTTP client for the
// token endpoint (oauth2.HTTPClient) and must outlive the source.
func AppOnlySource(ctx context.Context, c Cloud, tenant, clientID, clientSecret string) *Source {
	cc := &clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret,
		TokenURL: c.Endpoint(tenant).TokenURL, Scopes: []string{strings.TrimRight(c.Graph, "/") + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams}
	return &Source{fetch: func(*oauth2.Token) (*oauth2.Token, error) { return cc.Token(ctx) }}
}

// DelegatedSource returns a token source for a signed-in user whose token
// (with refresh token) lives in store: it refreshes through cfg and saves
// every new token in store before handing it out. ctx carries the HTTP
// client for the token endpoint and must outlive the source.
func DelegatedSource(ctx context.Context, cfg *oauth2.Config, store TokenStore) (*Source, error) {
	t, err := store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if t == nil || t.RefreshToken == "" {
		return nil, errors.New("graph: the token store holds no refresh token; sign the user in with offline_access")
	}
	return &Source{cur: t,
		fetch: func(old *oauth2.Token) (*oauth2.Token, error) {
			if old == nil || old.RefreshToken == "" {
				return nil, errors.New("graph: no refresh token")
			}
			return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
		},
		save: func(t *oauth2.Token) error { return store.Save(ctx, t) },
	}, nil
}

// Exchange trades an authorization code for a token and saves it in store.
func Exchange(ctx context.Context, cfg *oauth2.Config, store TokenStore, code string, opts ...oauth2.AuthCodeOption) error {
	t, err := cfg.Exchange(ctx, code, opts...)
	if err != nil {
		return sanitizeOAuthErr(err)
	}
	return store.Save(ctx, t)
}

func sanitizeOAuthErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return errors.New("graph: token endpoint refused: " + re.ErrorCode + " " + truncate(re.ErrorDescription, 200))
	}
	return redactErr(err, false)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// authTransport adds the bearer token and, when the service says the token
// expired, fetches a new one and retries once.
type authTransport struct {
	src  oauth2.TokenSource
	next http.RoundTripper
}

// RoundTrip sends req with the bearer token.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.src.Token()
	if err != nil {
		return nil, sanitizeOAuthErr(err)
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	resp, err := t.next.RoundTrip(r2)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	inv, ok := t.src.(interface{ Invalidate(string) })
	if !ok || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "expired_token") {
		return resp, nil
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil
	}
	inv.Invalidate(tok.AccessToken)
	tok2, err := t.src.Token()
	if err != nil {
		return resp, nil
	}
	resp.Body.Close()
	r3 := req.Clone(req.Context())
	if req.GetBody != nil {
		if r3.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	tok2.SetAuthHeader(r3)
	return t.next.RoundTrip(r3)
}

package procore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/procoresync/procoresync/internal/httpclient"
)

// Environment pairs a Procore OAuth host with its API host. Tokens are not
// shared between environments.
type Environment struct {
	Name    string
	AuthURL string // the OAuth host
	APIURL  string // the API host
}

// The Procore environments. FederalZone is Procore for U.S. government
// customers, a separate environment on procoregov.com hosts: its tokens
// work only there, and its file hosts (subdomains of procoregov.com)
// receive the bearer token as those of procore.com do in the others.
var (
	Production     = Environment{Name: "production", AuthURL: "https://login.procore.com", APIURL: "https://api.procore.com"}
	Sandbox        = Environment{Name: "sandbox", AuthURL: "https://login-sandbox.procore.com", APIURL: "https://sandbox.procore.com"}
	MonthlySandbox = Environment{Name: "monthly-sandbox", AuthURL: "https://login-sandbox-monthly.procore.com", APIURL: "https://api-monthly.procore.com"}
	// The Federal Zone's file host names are unconfirmed against a live tenant: *.procoregov.com is trusted for GET file URLs.
	FederalZone = Environment{Name: "federal", AuthURL: "https://login.procoregov.com", APIURL: "https://api.procoregov.com"}
)

// Environments lists the named environments, for flags and configuration.
var Environments = []Environment{Production, Sandbox, MonthlySandbox, FederalZone}

// EnvironmentByName returns the environment named name (as in
// Environment.Name).
func EnvironmentByName(name string) (Environment, bool) {
	for _, e := range Environments {
		if strings.EqualFold(e.Name, name) {
			return e, true
		}
	}
	return Environment{}, false
}

// procoreDomains are the registrable domains whose hosts (the domain and
// its subdomains, on the default HTTPS port) receive the bearer token of
// a Client whose API host is in the same domain.
var procoreDomains = []string{"procore.com", "procoregov.com"}

// procoreDomainOf returns the Procore domain apiHost belongs to ("" for
// none: a fake or a proxy).
func procoreDomainOf(apiHost string) string {
	h := strings.ToLower(hostName(apiHost))
	for _, d := range procoreDomains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return d
		}
	}
	return ""
}

// defaultTrustedHost is the Options.TrustedHost default for API host
// base: the API host name on any port, and the hosts of base's Procore
// domain (procore.com, or procoregov.com for the Federal Zone) on the
// default port; an API host outside both trusts procore.com hosts.
func defaultTrustedHost(base *url.URL) func(string) bool {
	apiName := strings.ToLower(base.Hostname())
	domain := procoreDomainOf(base.Host)
	if domain == "" {
		domain = "procore.com"
	}
	return func(h string) bool {
		h = strings.ToLower(h)
		if hostName(h) == apiName {
			return true
		}
		return strings.TrimSuffix(h, ":443") == domain || httpclient.SubdomainOf(h, domain)
	}
}

// mayCarryToken reports whether a request to u may carry the bearer
// token of a Client whose API host is base: never over plain http (not
// even after a redirect to the same host name), unless base itself is
// plain http, which only a fake or a local proxy the caller chose is.
func mayCarryToken(base, u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return strings.EqualFold(base.Scheme, "http")
	}
	return false
}

// Config is a Procore OAuth app in one environment.
type Config struct {
	ClientID, ClientSecret string
	// RedirectURL is the app's registered redirect URI (authorization
	// code flow only).
	RedirectURL string
	// Env is the environment (default Production).
	Env Environment
	// HTTPClient, when set, is used for token requests.
	HTTPClient *http.Client
	// RefreshMargin is how long before expiry a token is refreshed
	// (default 60 s). Expiry comes from the token response's expires_in.
	RefreshMargin time.Duration
	// Now is the clock that token expiry and the refresh margin are
	// measured on (default: the Options.Now of the Client the token
	// source is given to, else time.Now).
	Now func() time.Time
	// Timeout bounds every call to the OAuth host: a token fetch or
	// refresh, Exchange, TokenInfo and Revoke (default 30 s).
	Timeout time.Duration
}

// DefaultOAuthTimeout is Config.Timeout's default.
const DefaultOAuthTimeout = 30 * time.Second

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultOAuthTimeout
	}
	return c.Timeout
}

// ContextTokenSource is an oauth2.TokenSource that also takes the
// caller's context: the Client passes each request's context, so that a
// cancelled or timed-out call stops waiting for a token at once. The token
// sources of Config implement it: a fetch or refresh is done once for
// every caller waiting (single-flight), bounded by Config.Timeout, and
// goes on for the others when one caller gives up.
type ContextTokenSource interface {
	oauth2.TokenSource
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// tokenFor gets a token from ts for a call made under ctx.
func tokenFor(ctx context.Context, ts oauth2.TokenSource) (*oauth2.Token, error) {
	return httpclient.TokenFor(ctx, ts)
}

// tokenFlight is one token fetch shared by every caller waiting for it.
type tokenFlight struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// wait returns the flight's result, or ctx's error as soon as ctx ends.
func (f *tokenFlight) wait(ctx context.Context) (*oauth2.Token, error) {
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, &AuthError{Err: ctx.Err()}
	}
}

// OAuthError is an error answer of Procore's token endpoint, reduced to
// the OAuth error code and a short description with anything but
// printable ASCII removed: the body itself is never kept, as it may echo
// what was sent.
type OAuthError struct {
	StatusCode  int
	Code        string // e.g. invalid_grant, invalid_client
	Description string // at most 200 characters
}

// Error describes the failure.
func (e *OAuthError) Error() string {
	msg := "procore: token endpoint: " + strconv.Itoa(e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is matches ErrUnauthorized for rejected grants and clients.
func (e *OAuthError) Is(target error) bool {
	return target == ErrUnauthorized && (e.StatusCode == http.StatusUnauthorized || e.Code == "invalid_grant" || e.Code == "invalid_client")
}

// sanitize keeps the printable ASCII of s (runs of spaces collapsed), cut
// to max bytes; allowed, when not empty, limits the characters further.
func sanitize(s string, max int, allowed func(rune) bool) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r < 0x20 || r > 0x7e || (allowed != nil && !allowed(r)) {
			if allowed != nil {
				continue
			}
			r = ' '
		}
		if r == ' ' {
			if space || b.Len() == 0 {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len() >= max {
			return strings.TrimSpace(b.String()) + "..."
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

func oauthCodeRune(r rune) bool {
	return r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// oauthErr reduces a token request failure to an *OAuthError (the
// endpoint answered) or a redacted transport error.
func oauthErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &OAuthError{Code: sanitize(re.ErrorCode, 64, oauthCodeRune), Description: sanitize(re.ErrorDescription, 200, nil)}
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
		}
		return e
	}
	return httpclient.RedactError(err, true)
}

func (c Config) env() Environment {
	if c.Env.AuthURL == "" {
		return Production
	}
	return c.Env
}

func (c Config) oauth() *oauth2.Config {
	e := c.env()
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: e.AuthURL + "/oauth/authorize", TokenURL: e.AuthURL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

func (c Config) ctx(ctx context.Context) context.Context {
	if c.HTTPClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, c.HTTPClient)
	}
	return ctx
}

// AuthCodeURL is the URL to send the user to for consent.
func (c Config) AuthCodeURL(state string) string { return c.oauth().AuthCodeURL(state) }

// Exchange trades an authorization code for a token pair and saves it in
// store before returning it. The pair's expiry is stamped on Config.Now
// (default time.Now).
func (c Config) Exchange(ctx context.Context, code string, store TokenStore) (*oauth2.Token, error) {
	tctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	tok, err := c.oauth().Exchange(c.ctx(tctx), code)
	if err != nil {
		return nil, &AuthError{Err: oauthErr(err)}
	}
	stampExpiry(tok, c.clock(nil))
	if err := store.Save(ctx, tok); err != nil {
		return nil, &AuthError{Err: fmt.Errorf("saving token: %w", err)}
	}
	return tok, nil
}

// TokenSource returns a token source for the authorization code flow. It
// loads the pair from store, refreshes it RefreshMargin before expiry, and
// saves the rotated pair (Procore refresh tokens are single use) before the
// new access token is used. If saving fails the new pair is kept in memory,
// Token fails, and the save is retried on the next call. ctx is used for
// refresh requests and should outlive the source.
func (c Config) TokenSource(ctx context.Context, store TokenStore) oauth2.TokenSource {
	return &storeSource{conf: c, ctx: c.ctx(ctx), store: store}
}

// TokenInvalidator is implemented by the token sources of Config
// (TokenSource and ClientCredentials). The Client calls InvalidateToken
// when the API answers 401 to a token that had not reached its recorded
// expiry (expired early or revoked): the source drops that token so that
// the next Token call refreshes it (authorization code: the rotated pair
// is saved in the TokenStore before it is used) or fetches a new one
// (client credentials). InvalidateToken reports whether a retry can get
// a different token. Custom token sources may implement it too.
type TokenInvalidator interface {
	InvalidateToken(accessToken string) bool
}

// clockSetter lets NewClient hand its clock to a token source whose
// Config has none.
type clockSetter interface {
	setDefaultClock(now func() time.Time)
}

// clock returns the clock to measure expiry on: Config.Now, else def,
// else time.Now.
func (c Config) clock(def func() time.Time) func() time.Time {
	switch {
	case c.Now != nil:
		return c.Now
	case def != nil:
		return def
	}
	return time.Now
}

// stampExpiry sets t.Expiry from expires_in on the given clock (the oauth2
// package uses the real clock).
func stampExpiry(t *oauth2.Token, now func() time.Time) {
	if t == nil {
		return
	}
	secs := t.ExpiresIn
	if secs <= 0 {
		// JSON token responses leave ExpiresIn empty; read the raw field.
		switch v := t.Extra("expires_in").(type) {
		case float64:
			secs = int64(v)
		case json.Number:
			secs, _ = v.Int64()
		case string:
			secs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if secs > 0 {
		t.Expiry = now().Add(time.Duration(secs) * time.Second)
	}
}

// ClientCredentials returns a token source for the client credentials
// grant (a Developer Managed Service Account): it fetches a new token when
// the current one expires, since these tokens come without a refresh token.
func (c Config) ClientCredentials(ctx context.Context) oauth2.TokenSource {
	e := c.env()
	cc := &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		TokenURL: e.AuthURL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}
	return &ccSource{conf: c, cc: cc, ctx: c.ctx(ctx)}
}

// ccSource caches a client credentials token until RefreshMargin before
// its expiry (on the configured clock), or until it is invalidated.
type ccSource struct {
	conf Config
	cc   *clientcredentials.Config
	ctx  context.Context

	mu       sync.Mutex
	defClock func() time.Time
	cur      *oauth2.Token
	flight   *tokenFlight
}

var (
	_ ContextTokenSource = (*ccSource)(nil)
	_ ContextTokenSource = (*storeSource)(nil)
)

func (s *ccSource) setDefaultClock(now func() time.Time) {
	s.mu.Lock()
	s.defClock = now
	s.mu.Unlock()
}

// Token returns the cached token, or fetches a new one (bounded by
// Config.Timeout).
func (s *ccSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns the cached token, or waits for the one fetch in
// flight (starting it if needed) until ctx ends.
func (s *ccSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	now := s.conf.clock(s.defClock)
	if s.cur != nil && (s.cur.Expiry.IsZero() || now().Add(s.conf.margin()).Before(s.cur.Expiry)) {
		t := s.cur
		s.mu.Unlock()
		return t, nil
	}
	f := s.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		s.flight = f
		go s.fetch(f, now)
	}
	s.mu.Unlock()
	return f.wait(ctx)
}

// fetch gets a new token for flight f.
func (s *ccSource) fetch(f *tokenFlight, now func() time.Time) {
	ctx, cancel := context.WithTimeout(s.ctx, s.conf.timeout())
	defer cancel()
	t, err := s.cc.Token(ctx)
	s.mu.Lock()
	if err != nil {
		f.err = &AuthError{Err: oauthErr(err)}
	} else {
		stampExpiry(t, now)
		s.cur, f.tok = t, t
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// InvalidateToken drops accessToken so that the next Token call fetches
// a new one.
func (s *ccSource) InvalidateToken(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.AccessToken == accessToken {
		s.cur = nil
	}
	return true
}

func (c Config) margin() time.Duration {
	if c.RefreshMargin == 0 {
		return time.Minute
	}
	return c.RefreshMargin
}

type storeSource struct {
	conf    Config
	ctx     context.Context
	store   TokenStore
	mu      sync.Mutex
	cur     *oauth2.Token
	pending bool // cur is not yet saved
	flight  *tokenFlight
	// defClock is the Client's clock, used when conf.Now is nil.
	defClock func() time.Time
}

func (s *storeSource) setDefaultClock(now func() time.Time) {
	s.mu.Lock()
	s.defClock = now
	s.mu.Unlock()
}

// Token returns a valid access token (bounded by Config.Timeout).
func (s *storeSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns the current access token, or waits until ctx ends
// for the one load, save or refresh in flight (starting it if needed).
func (s *storeSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	now := s.conf.clock(s.defClock)
	if s.cur != nil && !s.pending && s.cur.AccessToken != "" &&
		(s.cur.Expiry.IsZero() || now().Add(s.conf.margin()).Before(s.cur.Expiry)) {
		t := s.cur
		s.mu.Unlock()
		return t, nil
	}
	f := s.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		s.flight = f
		go func() {
			t, err := s.refresh(now)
			s.mu.Lock()
			f.tok, f.err = t, err
			s.flight = nil
			s.mu.Unlock()
			close(f.done)
		}()
	}
	s.mu.Unlock()
	return f.wait(ctx)
}

// refresh loads the pair, saves a pending one, and refreshes it when it
// is due. Only one runs at a time (the flight).
func (s *storeSource) refresh(now func() time.Time) (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.conf.timeout())
	defer cancel()
	s.mu.Lock()
	cur, pending := s.cur, s.pending
	s.mu.Unlock()
	if cur == nil {
		t, err := s.store.Load(ctx)
		if err != nil {
			return nil, &AuthError{Err: fmt.Errorf("loading token: %w", err)}
		}
		cur = t
		s.mu.Lock()
		s.cur = t
		s.mu.Unlock()
	}
	if pending {
		if err := s.store.Save(ctx, cur); err != nil {
			return nil, &AuthError{Err: fmt.Errorf("saving rotated token: %w", err)}
		}
		s.mu.Lock()
		s.pending = false
		s.mu.Unlock()
	}
	if cur.AccessToken != "" && (cur.Expiry.IsZero() || now().Add(s.conf.margin()).Before(cur.Expiry)) {
		return cur, nil
	}
	if cur.RefreshToken == "" {
		return nil, &AuthError{Err: errors.New("access token expired and no refresh token")}
	}
	old := *cur
	old.Expiry = time.Unix(1, 0) // force a refresh
	t, err := s.conf.oauth().TokenSource(ctx, &old).Token()
	if err != nil {
		return nil, &AuthError{Err: oauthErr(err)}
	}
	stampExpiry(t, now)
	s.mu.Lock()
	s.cur = t
	s.mu.Unlock()
	if err := s.store.Save(ctx, t); err != nil {
		s.mu.Lock()
		s.pending = true
		s.mu.Unlock()
		return nil, &AuthError{Err: fmt.Errorf("saving rotated token: %w", err)}
	}
	return t, nil
}

// InvalidateToken marks accessToken as rejected by the API. If the store
// already holds a different pair (another process sharing the store has
// rotated it), that pair is used; otherwise the next Token call refreshes.
// It reports false when there is no refresh token to try.
func (s *storeSource) InvalidateToken(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.AccessToken != accessToken {
		return true // not loaded yet, or already replaced
	}
	if !s.pending {
		if t, err := s.store.Load(s.ctx); err == nil && t.AccessToken != "" && t.AccessToken != accessToken {
			s.cur = t
			return true
		}
	}
	if s.cur.RefreshToken == "" {
		return false
	}
	stale := *s.cur // copy: callers may still hold the old *Token
	stale.Expiry = time.Unix(1, 0)
	s.cur = &stale
	return true
}

// ErrNoToken is returned by TokenStore.Load when nothing is stored.
var ErrNoToken = errors.New("procore: no token stored")

// TokenStore persists an OAuth token pair. Save must be atomic: after a
// crash, Load returns either the old pair or the new one, never a mix.
type TokenStore interface {
	Load(ctx context.Context) (*oauth2.Token, error)
	Save(ctx context.Context, t *oauth2.Token) error
}

// FileTokenStore keeps the token pair in a JSON file (mode 0600), replaced
// atomically (write to a temporary file, sync, rename).
type FileTokenStore struct {
	Path string
	mu   sync.Mutex
}

type storedToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Load reads the stored pair, or ErrNoToken.
func (f *FileTokenStore) Load(context.Context) (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, err
	}
	var st storedToken
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("procore: token file %s is corrupt", f.Path)
	}
	return &oauth2.Token{AccessToken: st.AccessToken, TokenType: st.TokenType, RefreshToken: st.RefreshToken, Expiry: st.Expiry}, nil
}

// Save replaces the stored pair atomically.
func (f *FileTokenStore) Save(_ context.Context, t *oauth2.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, err := json.Marshal(storedToken{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry})
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	tmp, err := os.CreateTemp(dir, ".procore-token-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// MemoryTokenStore keeps the pair in memory (tests, short-lived tools).
type MemoryTokenStore struct {
	mu  sync.Mutex
	tok *oauth2.Token
	// Saves counts successful saves.
	Saves int
}

// Load returns the stored pair, or ErrNoToken.
func (m *MemoryTokenStore) Load(context.Context) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tok == nil {
		return nil, ErrNoToken
	}
	t := *m.tok
	return &t, nil
}

// Save stores a copy of t.
func (m *MemoryTokenStore) Save(_ context.Context, t *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	m.tok = &c
	m.Saves++
	return nil
}

// TokenInfo is what /oauth/token/info says about an access token.
type TokenInfo struct {
	ResourceOwnerID  int64    `json:"resource_owner_id"`
	Scopes           []string `json:"scopes"`
	ExpiresInSeconds int64    `json:"expires_in_seconds"`
	Application      struct {
		UID string `json:"uid"`
	} `json:"application"`
	CreatedAt int64 `json:"created_at"` // UNIX seconds
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// oauthCall sends req to the OAuth host and decodes a 200 JSON body into
// v. Non-2xx answers become *ErrorResponse (401: matches
// ErrUnauthorized); the token is never part of an error.
func (c Config) oauthCall(req *http.Request, v any) error {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", DefaultUserAgent)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return req.Context().Err()
		}
		return httpclient.RedactError(err, true)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	if resp.StatusCode/100 != 2 {
		// Keep only the OAuth error code and a short, sanitised
		// description: the body may echo what was sent.
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &oe)
		e := newError(resp, nil, c.clock(nil)())
		if er, ok := e.(*ErrorResponse); ok {
			er.Code, er.Message, er.Body = sanitize(oe.Error, 64, oauthCodeRune), sanitize(oe.Description, 200, nil), nil
		}
		return e
	}
	if v != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("%w: %s %s: %v", ErrMalformedResponse, req.Method, req.URL.Path, err)
		}
	}
	return nil
}

// TokenInfo introspects an access token with GET /oauth/token/info on the
// environment's OAuth host. An expired or revoked token gives an
// *ErrorResponse matching ErrUnauthorized.
func (c Config) TokenInfo(ctx context.Context, accessToken string) (*TokenInfo, error) {
	if accessToken == "" {
		return nil, &AuthError{Err: errors.New("no access token given")}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.env().AuthURL+"/oauth/token/info", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	var out TokenInfo
	if err := c.oauthCall(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes token (an access or a refresh token) with POST
// /oauth/revoke; Procore revokes the access token and the refresh token
// of the pair together, and answers 200 also for an unknown token
// too, so a nil error does not prove the token existed.
func (c Config) Revoke(ctx context.Context, token string) error {
	if token == "" {
		return &AuthError{Err: errors.New("no token given")}
	}
	form := url.Values{"token": {token}, "client_id": {c.ClientID}}
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.env().AuthURL+"/oauth/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.oauthCall(req, nil)
}

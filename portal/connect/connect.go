package connect

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/portal/secretbox"
)

// Typed errors.
var (
	// ErrNotFound: no connection with that ID.
	ErrNotFound = errors.New("connect: no such connection")
	// ErrBadRequest: the provider, domain, tenant, name or client
	// credentials are not valid.
	ErrBadRequest = errors.New("connect: invalid connection request")
	// ErrBadState: the callback's state is unknown, expired, used, or was
	// issued to another session.
	ErrBadState = errors.New("connect: unknown or expired sign-in (state); start again")
	// ErrDenied: the person declined access on the provider's page.
	ErrDenied = errors.New("connect: access was not granted")
	// ErrExchange: the provider refused the authorization code.
	ErrExchange = errors.New("connect: the provider refused the sign-in")
	// ErrNoClient: no client credentials for the provider (neither the
	// system's nor custom ones).
	ErrNoClient = errors.New("connect: no client credentials configured for this provider")
)

// Client is an OAuth client (an app registered with the provider).
type Client struct {
	ID     string
	Secret string
}

// Connection is a connected account as it may be shown: never a token or
// a secret.
type Connection struct {
	ID       string   `json:"id"`
	Provider Provider `json:"provider"`
	Name     string   `json:"name"`
	Domain   string   `json:"domain"`
	Tenant   string   `json:"tenant,omitempty"`
	// ClientID is the OAuth client used; CustomClient is true when it is
	// not the system's.
	ClientID     string    `json:"client_id"`
	CustomClient bool      `json:"custom_client"`
	Scopes       []string  `json:"scopes,omitempty"`
	Created      time.Time `json:"created"`
	CreatedBy    string    `json:"created_by,omitempty"`
	// LastTest is the latest connection test (nil: never tested).
	LastTest *TestResult `json:"last_test"`
}

// StartRequest starts connecting an account.
type StartRequest struct {
	Provider Provider
	// Name labels the connection ("Contoso Procore").
	Name string
	// Domain is the login domain (Domains); "" is the default.
	Domain string
	// Tenant is the Microsoft tenant ("" is "organizations").
	Tenant string
	// ClientID and ClientSecret are custom client credentials; empty
	// uses the system's (Options.Clients).
	ClientID, ClientSecret string
	// Scopes replace the provider's default scopes.
	Scopes []string
	// ReturnTo is where the portal sends the browser after the callback
	// (a path on the portal; kept with the flow, returned by Finish).
	ReturnTo string
	// Actor is who connects (recorded on the connection).
	Actor string
}

// Options configure a Manager.
type Options struct {
	// Box seals tokens and custom client secrets (required).
	Box *secretbox.Box
	// Store keeps the connections (default: in memory).
	Store Store
	// RedirectURL is the portal's OAuth callback address, registered with
	// every client (required).
	RedirectURL string
	// Clients are the system's client credentials per provider.
	Clients map[Provider]Client
	// Endpoints override the real services' endpoints per provider (for
	// the in-process fakes, or a private deployment).
	Endpoints map[Provider]Endpoint
	// HTTPClient makes the token and test calls (default: a client with a
	// 30-second timeout).
	HTTPClient *http.Client
	// Tester tests connections (default: DefaultTester).
	Tester Tester
	// FlowTTL is how long a started sign-in may take (default 10 minutes).
	FlowTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Manager runs the sign-in flows and keeps the connections.
type Manager struct {
	opt Options

	mu      sync.Mutex
	pending map[string]*flow
}

type flow struct {
	binding  string
	req      StartRequest
	endpoint Endpoint
	client   Client
	verifier string
	expires  time.Time
}

// maxPending bounds the sign-ins in progress.
const maxPending = 1000

// New returns a Manager.
func New(opt Options) (*Manager, error) {
	if opt.Box == nil {
		return nil, errors.New("connect: Options.Box is required (tokens are stored encrypted)")
	}
	if opt.RedirectURL == "" {
		return nil, errors.New("connect: Options.RedirectURL is required")
	}
	if opt.Store == nil {
		opt.Store = NewMemoryStore()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Tester == nil {
		opt.Tester = DefaultTester{}
	}
	if opt.FlowTTL <= 0 {
		opt.FlowTTL = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Manager{opt: opt, pending: map[string]*flow{}}, nil
}

// Endpoint returns the endpoint a connection of provider p in domain and
// tenant uses (an override from Options.Endpoints first).
func (m *Manager) Endpoint(p Provider, domain, tenant string) (Endpoint, error) {
	if tenant != "" && !validTenant(tenant) {
		return Endpoint{}, fmt.Errorf("connect: invalid Microsoft tenant %q: %w", tenant, ErrBadRequest)
	}
	if e, ok := m.opt.Endpoints[p]; ok {
		if domain != "" && !validDomain(p, domain) {
			return Endpoint{}, fmt.Errorf("connect: unknown %s domain %q: %w", p.Title(), domain, ErrBadRequest)
		}
		return e, nil
	}
	return DefaultEndpoint(p, domain, tenant)
}

func validDomain(p Provider, d string) bool {
	for _, x := range Domains(p) {
		if x == d {
			return true
		}
	}
	return false
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Start begins connecting an account: it returns the provider's
// authorization URL to send the browser to, with a fresh state and a
// PKCE S256 challenge. binding ties the flow to the signed-in session
// that started it (Finish must be called with the same binding).
func (m *Manager) Start(ctx context.Context, req StartRequest, binding string) (string, error) {
	if !req.Provider.Valid() {
		return "", fmt.Errorf("connect: unknown provider %q: %w", req.Provider, ErrBadRequest)
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		req.Name = req.Provider.Title()
	}
	if len(req.Name) > 100 {
		return "", fmt.Errorf("connect: the name is longer than 100 characters: %w", ErrBadRequest)
	}
	if req.Domain == "" {
		req.Domain = Domains(req.Provider)[0]
	}
	if req.ReturnTo != "" && (!strings.HasPrefix(req.ReturnTo, "/") || strings.HasPrefix(req.ReturnTo, "//") ||
		strings.ContainsAny(req.ReturnTo, "\\\r\n")) {
		return "", fmt.Errorf("connect: return address must be a path on the portal: %w", ErrBadRequest)
	}
	ep, err := m.Endpoint(req.Provider, req.Domain, req.Tenant)
	if err != nil {
		return "", err
	}
	client := Client{ID: strings.TrimSpace(req.ClientID), Secret: req.ClientSecret}
	if client.ID == "" {
		if client.Secret != "" {
			return "", fmt.Errorf("connect: a client secret without a client ID: %w", ErrBadRequest)
		}
		sys, ok := m.opt.Clients[req.Provider]
		if !ok || sys.ID == "" {
			return "", fmt.Errorf("connect: %s: %w", req.Provider.Title(), ErrNoClient)
		}
		client = sys
	} else if len(client.ID) > 256 || len(client.Secret) > 1024 {
		return "", fmt.Errorf("connect: client credentials too long: %w", ErrBadRequest)
	}
	if len(req.Scopes) == 0 {
		req.Scopes = defaultScopes(req.Provider)
	}
	state := randomString(32)
	verifier := oauth2.GenerateVerifier()
	now := m.opt.Now()
	m.mu.Lock()
	for k, f := range m.pending {
		if !now.Before(f.expires) {
			delete(m.pending, k)
		}
	}
	if len(m.pending) >= maxPending {
		m.mu.Unlock()
		return "", fmt.Errorf("connect: too many sign-ins in progress; try again in a few minutes: %w", ErrBadRequest)
	}
	m.pending[state] = &flow{binding: binding, req: req, endpoint: ep, client: client, verifier: verifier,
		expires: now.Add(m.opt.FlowTTL)}
	m.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if req.Provider == Dropbox {
		opts = append(opts, oauth2.SetAuthURLParam("token_access_type", "offline"))
	}
	return m.config(req.Provider, ep, client, req.Scopes).AuthCodeURL(state, opts...), nil
}

func (m *Manager) config(p Provider, ep Endpoint, c Client, scopes []string) *oauth2.Config {
	_ = p
	return &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: m.opt.RedirectURL, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, AuthStyle: oauth2.AuthStyleInParams}}
}

func (m *Manager) httpContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, m.opt.HTTPClient)
}

// Callback is what the provider's redirect brings back.
type Callback struct {
	State string
	Code  string
	// Error and ErrorDescription are set when the person declined or the
	// provider failed (error=access_denied).
	Error, ErrorDescription string
}

// Finish completes a sign-in: it checks the state (known, not expired,
// started by the same binding; used once), exchanges the code with the
// PKCE verifier, and stores the connection with its token sealed. It
// returns the connection and the flow's ReturnTo.
func (m *Manager) Finish(ctx context.Context, binding string, cb Callback) (Connection, string, error) {
	m.mu.Lock()
	f := m.pending[cb.State]
	if f != nil && subtle.ConstantTimeCompare([]byte(f.binding), []byte(binding)) == 1 {
		delete(m.pending, cb.State) // single use
	} else {
		f = nil
	}
	m.mu.Unlock()
	if f == nil || cb.State == "" || !m.opt.Now().Before(f.expires) {
		return Connection{}, "", ErrBadState
	}
	if cb.Error != "" {
		return Connection{}, f.req.ReturnTo, fmt.Errorf("connect: %s: %s: %w", f.req.Provider.Title(), oneLine(cb.Error), ErrDenied)
	}
	if cb.Code == "" {
		return Connection{}, f.req.ReturnTo, fmt.Errorf("connect: %s returned no code: %w", f.req.Provider.Title(), ErrExchange)
	}
	cfg := m.config(f.req.Provider, f.endpoint, f.client, f.req.Scopes)
	tok, err := cfg.Exchange(m.httpContext(ctx), cb.Code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return Connection{}, f.req.ReturnTo, fmt.Errorf("connect: %s: %s: %w", f.req.Provider.Title(), describeOAuthError(err), ErrExchange)
	}
	c := Connection{ID: randomString(12), Provider: f.req.Provider, Name: f.req.Name, Domain: f.req.Domain,
		Tenant: f.req.Tenant, ClientID: f.client.ID, CustomClient: f.req.ClientID != "", Scopes: f.req.Scopes,
		Created: m.opt.Now(), CreatedBy: f.req.Actor}
	sec := secrets{Token: tok}
	if c.CustomClient {
		sec.ClientSecret = f.client.Secret
	}
	if err := m.put(ctx, c, sec); err != nil {
		return Connection{}, f.req.ReturnTo, err
	}
	return c, f.req.ReturnTo, nil
}

// secrets are what a record seals.
type secrets struct {
	Token        *oauth2.Token `json:"token"`
	ClientSecret string        `json:"client_secret,omitempty"`
}

func (m *Manager) put(ctx context.Context, c Connection, sec secrets) error {
	pt, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	return m.opt.Store.Put(ctx, Record{Connection: c, Sealed: m.opt.Box.Seal(pt, "connection:"+c.ID)})
}

func (m *Manager) open(r Record) (secrets, error) {
	pt, err := m.opt.Box.Open(r.Sealed, "connection:"+r.Connection.ID)
	if err != nil {
		return secrets{}, fmt.Errorf("connect: connection %q: %w", r.Connection.ID, err)
	}
	var sec secrets
	if err := json.Unmarshal(pt, &sec); err != nil || sec.Token == nil {
		return secrets{}, fmt.Errorf("connect: connection %q: sealed secrets unreadable", r.Connection.ID)
	}
	return sec, nil
}

// List returns the connections (without secrets).
func (m *Manager) List(ctx context.Context) ([]Connection, error) {
	rs, err := m.opt.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Connection, len(rs))
	for i, r := range rs {
		out[i] = r.Connection
	}
	return out, nil
}

// Get returns one connection (without secrets).
func (m *Manager) Get(ctx context.Context, id string) (Connection, error) {
	r, err := m.opt.Store.Get(ctx, id)
	return r.Connection, err
}

// Remove forgets a connection and its tokens.
func (m *Manager) Remove(ctx context.Context, id string) error {
	return m.opt.Store.Delete(ctx, id)
}

// TokenSource returns the connection's token source: tokens are
// refreshed when they expire and a rotated refresh token is sealed and
// stored again at once. ctx bounds the refresh calls.
func (m *Manager) TokenSource(ctx context.Context, id string) (oauth2.TokenSource, error) {
	r, err := m.opt.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sec, err := m.open(r)
	if err != nil {
		return nil, err
	}
	c := r.Connection
	ep, err := m.Endpoint(c.Provider, c.Domain, c.Tenant)
	if err != nil {
		return nil, err
	}
	client := Client{ID: c.ClientID, Secret: sec.ClientSecret}
	if !c.CustomClient {
		client = m.opt.Clients[c.Provider]
	}
	base := m.config(c.Provider, ep, client, c.Scopes).TokenSource(m.httpContext(ctx), sec.Token)
	return &savingSource{m: m, ctx: context.WithoutCancel(ctx), conn: c, sec: sec, base: base}, nil
}

// savingSource stores every new token its base source returns.
type savingSource struct {
	m    *Manager
	ctx  context.Context
	conn Connection
	base oauth2.TokenSource

	mu  sync.Mutex
	sec secrets
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	tok, err := s.base.Token()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok.AccessToken != s.sec.Token.AccessToken || tok.RefreshToken != s.sec.Token.RefreshToken {
		s.sec.Token = tok
		// Keep the latest LastTest and name: re-read the record.
		conn := s.conn
		if r, err := s.m.opt.Store.Get(s.ctx, conn.ID); err == nil {
			conn = r.Connection
		}
		if err := s.m.put(s.ctx, conn, s.sec); err != nil {
			return nil, fmt.Errorf("connect: storing the refreshed token: %w", err)
		}
	}
	return tok, nil
}

// Test tests a connection with the Tester and records the result on it.
func (m *Manager) Test(ctx context.Context, id string) (TestResult, error) {
	r, err := m.opt.Store.Get(ctx, id)
	if err != nil {
		return TestResult{}, err
	}
	ep, err := m.Endpoint(r.Connection.Provider, r.Connection.Domain, r.Connection.Tenant)
	if err != nil {
		return TestResult{}, err
	}
	res := TestResult{Time: m.opt.Now()}
	ts, err := m.TokenSource(ctx, id)
	if err != nil {
		res.Step, res.Message = "token", "the stored token cannot be read: "+err.Error()
	} else {
		res = m.opt.Tester.Test(ctx, TestTarget{Connection: r.Connection, Endpoint: ep, Tokens: ts, HTTP: m.opt.HTTPClient})
		res.Time = m.opt.Now()
	}
	// Record the result on the latest version of the record.
	if cur, err := m.opt.Store.Get(ctx, id); err == nil {
		cur.Connection.LastTest = &res
		if err := m.opt.Store.Put(ctx, cur); err != nil {
			return res, err
		}
	}
	return res, nil
}

func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// describeOAuthError names an OAuth error without echoing the request.
func describeOAuthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("%d %s", re.Response.StatusCode, oneLine(re.ErrorCode))
		if re.ErrorDescription != "" {
			msg += ": " + oneLine(re.ErrorDescription)
		}
		return msg
	}
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "the token endpoint did not answer in time"
	}
	return "the token endpoint could not be reached"
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

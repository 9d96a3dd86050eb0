package procore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Environment pairs a Procore OAuth host with its API host. Tokens are not
// shared between environments.
type Environment struct {
	Name    string
	AuthURL string // the OAuth host
	APIURL  string // the API host
}

// The Procore environments (research note §1).
var (
	Production     = Environment{Name: "production", AuthURL: "https://login.procore.com", APIURL: "https://api.procore.com"}
	Sandbox        = Environment{Name: "sandbox", AuthURL: "https://login-sandbox.procore.com", APIURL: "https://sandbox.procore.com"}
	MonthlySandbox = Environment{Name: "monthly-sandbox", AuthURL: "https://login-sandbox-monthly.procore.com", APIURL: "https://api-monthly.procore.com"}
)

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
// store before returning it.
func (c Config) Exchange(ctx context.Context, code string, store TokenStore) (*oauth2.Token, error) {
	tok, err := c.oauth().Exchange(c.ctx(ctx), code)
	if err != nil {
		return nil, &AuthError{Err: redactErr(err)}
	}
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

// ClientCredentials returns a token source for the client credentials
// grant (a Developer Managed Service Account): it fetches a new token when
// the current one expires, since these tokens come without a refresh token.
func (c Config) ClientCredentials(ctx context.Context) oauth2.TokenSource {
	e := c.env()
	cc := &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		TokenURL: e.AuthURL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}
	return &errSource{oauth2.ReuseTokenSourceWithExpiry(nil, cc.TokenSource(c.ctx(ctx)), c.margin())}
}

func (c Config) margin() time.Duration {
	if c.RefreshMargin == 0 {
		return time.Minute
	}
	return c.RefreshMargin
}

// errSource wraps token errors in *AuthError with redacted URLs.
type errSource struct{ src oauth2.TokenSource }

func (s *errSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, &AuthError{Err: redactErr(err)}
	}
	return t, nil
}

type storeSource struct {
	conf    Config
	ctx     context.Context
	store   TokenStore
	mu      sync.Mutex
	cur     *oauth2.Token
	pending bool // cur is not yet saved
}

func (s *storeSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		t, err := s.store.Load(s.ctx)
		if err != nil {
			return nil, &AuthError{Err: fmt.Errorf("loading token: %w", err)}
		}
		s.cur = t
	}
	if s.pending {
		if err := s.store.Save(s.ctx, s.cur); err != nil {
			return nil, &AuthError{Err: fmt.Errorf("saving rotated token: %w", err)}
		}
		s.pending = false
	}
	if s.cur.AccessToken != "" && (s.cur.Expiry.IsZero() || time.Now().Add(s.conf.margin()).Before(s.cur.Expiry)) {
		return s.cur, nil
	}
	if s.cur.RefreshToken == "" {
		return nil, &AuthError{Err: errors.New("access token expired and no refresh token")}
	}
	old := *s.cur
	old.Expiry = time.Unix(1, 0) // force a refresh
	t, err := s.conf.oauth().TokenSource(s.ctx, &old).Token()
	if err != nil {
		return nil, &AuthError{Err: redactErr(err)}
	}
	s.cur = t
	if err := s.store.Save(s.ctx, t); err != nil {
		s.pending = true
		return nil, &AuthError{Err: fmt.Errorf("saving rotated token: %w", err)}
	}
	return t, nil
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

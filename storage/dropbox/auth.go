package dropbox

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Endpoint is Dropbox's OAuth 2 endpoint: authorize on www.dropbox.com,
// tokens from api.dropboxapi.com/oauth2/token.
var Endpoint = oauth2.Endpoint{
	AuthURL:  "https://www.dropbox.com/oauth2/authorize",
	TokenURL: "https://api.dropboxapi.com/oauth2/token",
}

// Config is a Dropbox app's OAuth configuration.
type Config struct {
	// AppKey and AppSecret are the app's credentials (AppSecret may be
	// empty for a PKCE-only public client).
	AppKey, AppSecret string
	// RedirectURL is the registered redirect URI.
	RedirectURL string
	// Scopes are the scopes to ask for (e.g. files.metadata.read
	// files.content.read files.content.write).
	Scopes []string
	// Endpoint overrides the OAuth endpoint (the fake gives its own).
	Endpoint *oauth2.Endpoint
}

func (c Config) oauth() *oauth2.Config {
	ep := Endpoint
	if c.Endpoint != nil {
		ep = *c.Endpoint
	}
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: c.AppKey, ClientSecret: c.AppSecret, RedirectURL: c.RedirectURL, Scopes: c.Scopes, Endpoint: ep}
}

// AuthCodeURL returns the authorize URL for state with PKCE (the S256
// challenge of verifier, from oauth2.GenerateVerifier) and
// token_access_type=offline, so that the exchange yields a refresh token.
func (c Config) AuthCodeURL(state, verifier string) string {
	return c.oauth().AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("token_access_type", "offline"))
}

// Exchange redeems an authorization code with the PKCE verifier.
func (c Config) Exchange(ctx context.Context, code, verifier string) (*oauth2.Token, error) {
	return c.oauth().Exchange(ctx, code, oauth2.VerifierOption(verifier))
}

// TokenSource returns a source that refreshes tok's short-lived access
// token with its refresh token (grant_type=refresh_token) five minutes
// before it expires, as Dropbox's SDKs do, and at once when the Client
// is told that Dropbox considers it expired (401 expired_access_token).
func (c Config) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	return &refresher{ctx: ctx, cfg: c.oauth(), tok: tok}
}

// Invalidator is a token source that can be told that its current token
// was refused as expired; the Client then retries the call once with a
// fresh token.
type Invalidator interface {
	Invalidate()
}

// refresher is Config.TokenSource's source.
type refresher struct {
	ctx context.Context
	cfg *oauth2.Config
	mu  sync.Mutex
	tok *oauth2.Token
}

func (r *refresher) Token() (*oauth2.Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != nil && r.tok.AccessToken != "" && (r.tok.Expiry.IsZero() || time.Until(r.tok.Expiry) > 5*time.Minute) {
		return r.tok, nil
	}
	if r.tok == nil || r.tok.RefreshToken == "" {
		return nil, errors.New("dropbox: the access token expired and there is no refresh token")
	}
	nt, err := r.cfg.TokenSource(r.ctx, &oauth2.Token{RefreshToken: r.tok.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = r.tok.RefreshToken
	}
	r.tok = nt
	return nt, nil
}

// Invalidate makes the next Token call refresh.
func (r *refresher) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != nil {
		t := *r.tok
		t.AccessToken = ""
		r.tok = &t
	}
}

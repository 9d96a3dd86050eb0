// Package msidentity signs in to the Microsoft identity platform (v2.0
// endpoints): client credentials with a secret or a certificate, and a
// signed-in user's rotating refresh token. Package msauth is its public
// face; the Graph client uses its TokenError.
package msidentity

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
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

// DefaultTokenTimeout bounds one token fetch (the request to the token
// endpoint and saving the result).
const DefaultTokenTimeout = 30 * time.Second

// Source is an oauth2.TokenSource that can be told a token was refused as
// expired, so that the next Token call fetches a new one.
//
// Refreshing is single-flight: one fetch runs at a time, in the
// background and bounded by DefaultTokenTimeout, and every caller waits
// for it only as long as its own context allows (TokenContext).
type Source struct {
	base    context.Context // carries the token endpoint's HTTP client
	timeout time.Duration
	fetch   func(ctx context.Context, old *oauth2.Token) (*oauth2.Token, error)
	save    func(ctx context.Context, t *oauth2.Token) error
	secrets []string // never shown in errors

	mu       sync.Mutex
	cur      *oauth2.Token
	inflight *flight
}

// flight is one running token fetch.
type flight struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newSource(ctx context.Context, fetch func(context.Context, *oauth2.Token) (*oauth2.Token, error), secrets ...string) *Source {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); !ok {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: httpclient.NewTransport(), Timeout: DefaultTokenTimeout})
	}
	return &Source{base: ctx, timeout: DefaultTokenTimeout, fetch: fetch, secrets: secrets}
}

// SetTimeout sets how long one token fetch may take (default
// DefaultTokenTimeout). Call it before the Source is used.
func (s *Source) SetTimeout(d time.Duration) { s.timeout = d }

// Token returns a valid token, refreshing (and saving) when needed. It
// waits at most DefaultTokenTimeout; use TokenContext to bound it by a
// context.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns a valid token, refreshing (and saving) when needed.
// It returns when ctx is done even while a fetch is still running; the
// fetch goes on for the callers that wait for it.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	if s.cur != nil && s.cur.Valid() {
		t := s.cur
		s.mu.Unlock()
		return t, nil
	}
	f := s.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.inflight = f
		go s.run(f, s.cur)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("graph: waiting for an access token: %w", ctx.Err())
	}
}

// run fetches a token for f, bounded by the source's timeout and by the
// context the source was made with, never by a caller's context.
func (s *Source) run(f *flight, old *oauth2.Token) {
	ctx, cancel := context.WithTimeout(s.base, s.timeout)
	defer cancel()
	t, err := s.fetch(ctx, old)
	if err == nil && (t == nil || t.AccessToken == "") {
		err = errors.New("graph: the token endpoint returned no access token")
	}
	if err == nil && s.save != nil {
		if serr := s.save(ctx, t); serr != nil {
			err = fmt.Errorf("graph: saving the refreshed token failed: %w", serr)
		}
	}
	if err != nil {
		err = Sanitize(err, s.secrets...)
	}
	s.mu.Lock()
	if err == nil {
		s.cur = t
	}
	s.inflight = nil
	s.mu.Unlock()
	f.tok, f.err = t, err
	close(f.done)
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
// access (scope {graph}/.default) with a client secret. ctx carries the
// HTTP client for the token endpoint (oauth2.HTTPClient; default one with
// timeouts) and must outlive the source.
func AppOnlySource(ctx context.Context, c Cloud, tenant, clientID, clientSecret string) *Source {
	cc := &clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret,
		TokenURL: c.Endpoint(tenant).TokenURL, Scopes: []string{strings.TrimRight(c.Graph, "/") + "/.default"},
		AuthStyle: oauth2.AuthStyleInParams}
	return newSource(ctx, func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) { return cc.Token(ctx) }, clientSecret)
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
	s := newSource(ctx, func(ctx context.Context, old *oauth2.Token) (*oauth2.Token, error) {
		if old == nil || old.RefreshToken == "" {
			return nil, errors.New("graph: no refresh token")
		}
		t, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
		if err != nil {
			return nil, Sanitize(err, cfg.ClientSecret, old.RefreshToken)
		}
		return t, nil
	}, cfg.ClientSecret)
	s.cur = t
	s.save = store.Save
	return s, nil
}

// Exchange trades an authorization code for a token and saves it in store.
func Exchange(ctx context.Context, cfg *oauth2.Config, store TokenStore, code string, opts ...oauth2.AuthCodeOption) error {
	if _, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); !ok {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: httpclient.NewTransport(), Timeout: DefaultTokenTimeout})
	}
	t, err := cfg.Exchange(ctx, code, opts...)
	if err != nil {
		return Sanitize(err, cfg.ClientSecret, code)
	}
	return store.Save(ctx, t)
}

// TokenError is a refusal by the identity platform's token endpoint. It
// keeps only the OAuth error code and a short, sanitised description,
// never the response body.
type TokenError struct {
	// StatusCode is the HTTP status of the token endpoint's answer.
	StatusCode int
	// Code is the OAuth error code, e.g. "invalid_client" (empty when the
	// answer carried none).
	Code string
	// Description is the first line of error_description, without trace
	// and correlation IDs, at most 160 characters.
	Description string
}

// Error describes the refusal.
func (e *TokenError) Error() string {
	s := fmt.Sprintf("graph: the token endpoint refused (HTTP %d)", e.StatusCode)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Temporary reports whether retrying may succeed (a server error or
// throttling at the token endpoint).
func (e *TokenError) Temporary() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.Code == "temporarily_unavailable"
}

// Is makes a refusal that retrying cannot fix (a bad secret, certificate
// or grant) match storage.ErrPermissionDenied.
func (e *TokenError) Is(target error) bool {
	return target == storage.ErrPermissionDenied && !e.Temporary()
}

// Sanitize turns a token-endpoint failure into an error that holds
// no response body and none of secrets.
func Sanitize(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var te *TokenError
	if errors.As(err, &te) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{Code: oauthCode(re.ErrorCode), Description: sanitizeDescription(re.ErrorDescription, secrets)}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		return te
	}
	msg := httpclient.RedactError(err, false).Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return &wrapped{msg: "graph: fetching a token: " + msg, err: err}
}

// wrapped is an error with a sanitised message that still matches what it
// wraps (e.g. context.DeadlineExceeded).
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// oauthCode keeps an OAuth error code only when it looks like one
// (RFC 6749 §5.2: a short ASCII identifier).
func oauthCode(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return ""
		}
	}
	return s
}

// sanitizeDescription keeps the first line of an error_description,
// without Microsoft's trace, correlation and timestamp suffixes, printable
// characters only, at most 160 runes, with secrets removed.
func sanitizeDescription(s string, secrets []string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	for _, cut := range []string{" Trace ID:", " Correlation ID:", " Timestamp:"} {
		if i := strings.Index(s, cut); i >= 0 {
			s = s[:i]
		}
	}
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			continue
		}
		if n == 160 {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// Certificate is an app registration's certificate credential: the
// private key signs client assertions (RFC 7523 JWTs) that the identity
// platform checks against the certificate uploaded to the app. App-only
// access to the SharePoint resource requires it (SharePoint refuses
// app-only tokens obtained with a client secret).
type Certificate struct {
	key      *rsa.PrivateKey
	x5t      string // base64url SHA-1 thumbprint of the DER certificate
	x5tS256  string // base64url SHA-256 thumbprint
	notAfter time.Time
}

// ParseCertificate reads a certificate credential from PEM: certPEM holds
// the certificate (CERTIFICATE block), keyPEM its unencrypted RSA private
// key (PKCS #1 "RSA PRIVATE KEY" or PKCS #8 "PRIVATE KEY"). Both may be
// the same combined PEM file. The key must belong to the certificate.
func ParseCertificate(certPEM, keyPEM []byte) (*Certificate, error) {
	var cert *x509.Certificate
	var key *rsa.PrivateKey
	for _, src := range [][]byte{certPEM, keyPEM} {
		rest := src
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE":
				if cert != nil {
					continue // the leaf comes first; the chain is not needed
				}
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("graph: parsing the certificate: %w", err)
				}
				cert = c
			case "RSA PRIVATE KEY":
				k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("graph: parsing the RSA private key: %w", err)
				}
				key = k
			case "PRIVATE KEY":
				k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("graph: parsing the PKCS #8 private key: %w", err)
				}
				rk, ok := k.(*rsa.PrivateKey)
				if !ok {
					return nil, fmt.Errorf("graph: the private key is %T; the identity platform signs client assertions with RSA keys", k)
				}
				key = rk
			case "ENCRYPTED PRIVATE KEY":
				return nil, errors.New("graph: the private key is encrypted; decrypt it first")
			}
		}
	}
	if cert == nil {
		return nil, errors.New("graph: no CERTIFICATE block in the certificate PEM")
	}
	if key == nil {
		return nil, errors.New("graph: no RSA private key in the key PEM")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("graph: the private key does not belong to the certificate")
	}
	s1 := sha1.Sum(cert.Raw)
	s256 := sha256.Sum256(cert.Raw)
	return &Certificate{key: key, x5t: base64.RawURLEncoding.EncodeToString(s1[:]),
		x5tS256: base64.RawURLEncoding.EncodeToString(s256[:]), notAfter: cert.NotAfter}, nil
}

// Thumbprint is the certificate's SHA-1 thumbprint in the base64url form
// of the assertion's x5t header.
func (c *Certificate) Thumbprint() string { return c.x5t }

// assertionLifetime is how long a client assertion is valid.
const assertionLifetime = 10 * time.Minute

// Assertion returns a client assertion for clientID at the token endpoint
// audience (the token URL): an RS256 JWT with the certificate's x5t,
// signed with its key (RFC 7523; the identity platform's "certificate
// credentials" format).
func (c *Certificate) Assertion(clientID, audience string, now time.Time) (string, error) {
	if !c.notAfter.IsZero() && now.After(c.notAfter) {
		return "", fmt.Errorf("graph: the app's certificate expired on %s", c.notAfter.UTC().Format(time.DateOnly))
	}
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": c.x5t, "x5t#S256": c.x5tS256})
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	claims, _ := json.Marshal(map[string]any{
		"aud": audience, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	})
	signing := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("graph: signing the client assertion: %w", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// ClientAssertionType is the client_assertion_type of a certificate
// credential.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AppOnlyCertSource returns a client-credentials token source for app-only
// access to resource (e.g. "https://graph.microsoft.com" or
// "https://contoso.sharepoint.com"; scope {resource}/.default) that
// authenticates with a certificate (a fresh signed client assertion per
// request). ctx carries the HTTP client for the token endpoint
// (oauth2.HTTPClient) and must outlive the source.
func AppOnlyCertSource(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate, resource string) *Source {
	tokenURL := c.Endpoint(tenant).TokenURL
	scope := strings.TrimRight(resource, "/") + "/.default"
	return newSource(ctx, func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
		if cert == nil {
			return nil, errors.New("graph: no certificate for the client assertion")
		}
		a, err := cert.Assertion(clientID, tokenURL, time.Now())
		if err != nil {
			return nil, err
		}
		cc := &clientcredentials.Config{ClientID: clientID, TokenURL: tokenURL, Scopes: []string{scope},
			AuthStyle:      oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"client_assertion_type": {ClientAssertionType}, "client_assertion": {a}}}
		return cc.Token(ctx)
	})
}

// AppOnlyContentTokens returns ContentTokens for app-only access: a
// certificate-authenticated client-credentials source per SharePoint
// resource.
func AppOnlyContentTokens(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate) func(resource string) (oauth2.TokenSource, error) {
	return func(resource string) (oauth2.TokenSource, error) {
		if cert == nil {
			return nil, errors.New("graph: app-only access to SharePoint content needs a certificate credential")
		}
		return AppOnlyCertSource(ctx, c, tenant, clientID, cert, resource), nil
	}
}

// DelegatedContentTokens returns ContentTokens for a signed-in user: the
// user's refresh token in store (Microsoft's refresh tokens serve every
// resource the app may access) is redeemed for {resource}/.default
// through cfg. The refresh token handed back is not stored; the Graph
// source keeps rotating its own.
func DelegatedContentTokens(ctx context.Context, cfg *oauth2.Config, store TokenStore) func(resource string) (oauth2.TokenSource, error) {
	return func(resource string) (oauth2.TokenSource, error) {
		scope := strings.TrimRight(resource, "/") + "/.default"
		return newSource(ctx, func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) {
			t, err := store.Load(ctx)
			if err != nil {
				return nil, err
			}
			if t == nil || t.RefreshToken == "" {
				return nil, errors.New("graph: the token store holds no refresh token")
			}
			// A refresh-token grant with the other resource's scope (the
			// oauth2 package's refresher sends no scope).
			cc := &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
				TokenURL: cfg.Endpoint.TokenURL, Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams,
				EndpointParams: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t.RefreshToken}}}
			tok, err := cc.Token(ctx)
			if err != nil {
				return nil, Sanitize(err, cfg.ClientSecret, t.RefreshToken)
			}
			return tok, nil
		}, cfg.ClientSecret), nil
	}
}

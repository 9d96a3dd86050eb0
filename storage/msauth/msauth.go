// Package msauth signs in to the Microsoft identity platform (v2.0
// endpoints) for Microsoft Graph, the API behind storage/onedrive and
// storage/sharepoint.
//
// Three ways in:
//   - app-only with a client secret (AppOnlySource: the client
//     credentials grant with scope {graph}/.default);
//   - app-only with a certificate credential (ParseCertificate and
//     AppOnlyCertSource: a signed client assertion, RFC 7523), which
//     SharePoint requires for app-only access to its own resource;
//   - a signed-in user (DelegatedConfig, Exchange, DelegatedSource), whose
//     rotating refresh token is saved in a TokenStore before every use.
//
// Download URLs of tenants whose content URLs are not pre-authenticated
// need a second token, for the tenant's SharePoint resource:
// AppOnlyContentTokens and DelegatedContentTokens give it (set them as
// the Graph client's ContentTokens).
//
// Token fetches are single-flight and bounded by a timeout; a caller
// waits only as long as its context allows. A refusal by the token
// endpoint is a *TokenError holding the OAuth error code and a short
// sanitised description, never the response body or a secret.
package msauth

import (
	"context"
	"errors"
	"slices"

	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"golang.org/x/oauth2"
)

// Cloud is a Microsoft cloud: its identity platform (login) and Graph
// hosts.
type Cloud struct {
	// Name is a short name ("global", "us", "dod", "de", "cn").
	Name string
	// Login is the identity platform's base URL, e.g.
	// https://login.microsoftonline.com.
	Login string
	// Graph is the Graph service's base URL, e.g.
	// https://graph.microsoft.com.
	Graph string
}

// The Microsoft clouds: Global (login.microsoftonline.com,
// graph.microsoft.com), USGov (login.microsoftonline.us,
// graph.microsoft.us), USGovDoD (login.microsoftonline.us,
// dod-graph.microsoft.us), Germany (login.microsoftonline.de,
// graph.microsoft.de) and China (login.chinacloudapi.cn,
// microsoftgraph.chinacloudapi.cn).
var (
	Global   = Cloud(msidentity.Global)
	USGov    = Cloud(msidentity.USGov)
	USGovDoD = Cloud(msidentity.USGovDoD)
	Germany  = Cloud(msidentity.Germany)
	China    = Cloud(msidentity.China)
)

func (c Cloud) id() msidentity.Cloud { return msidentity.Cloud(c) }

// BaseURL is the cloud's Graph v1.0 endpoint (the Graph client's
// BaseURL).
func (c Cloud) BaseURL() string { return c.id().BaseURL() }

// Endpoint returns the identity platform's v2.0 authorize and token
// endpoints for tenant (a tenant ID or domain, or "common" /
// "organizations" for multi-tenant sign-in).
func (c Cloud) Endpoint(tenant string) oauth2.Endpoint { return c.id().Endpoint(tenant) }

// DefaultDelegatedScopes are the scopes DelegatedConfig asks for when it
// is given none.
var DefaultDelegatedScopes = slices.Clone(msidentity.DefaultDelegatedScopes)

// TokenStore persists a signed-in user's token with its refresh token.
// Save is called with every new token before it is used: the identity
// platform may rotate the refresh token on each use.
type TokenStore interface {
	Load(ctx context.Context) (*oauth2.Token, error)
	Save(ctx context.Context, t *oauth2.Token) error
}

// Source is a token source of the identity platform. Refreshing is
// single-flight: one fetch runs at a time, bounded by a timeout (30 s),
// and each caller waits for it only as long as its own context allows
// (TokenContext). The Graph client uses TokenContext and Invalidate when
// it finds them.
type Source struct {
	s *msidentity.Source
}

// Token returns a valid token, fetching (and, for a signed-in user,
// saving) a new one when needed.
func (s *Source) Token() (*oauth2.Token, error) {
	t, err := s.s.Token()
	return t, tokenErr(err)
}

// TokenContext is Token bounded by ctx: it returns when ctx is done even
// while a fetch still runs (the fetch goes on for the other callers).
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	t, err := s.s.TokenContext(ctx)
	return t, tokenErr(err)
}

// Invalidate marks access token tok as refused (the service answered 401
// with an expired token); the next Token call fetches a new one.
func (s *Source) Invalidate(tok string) { s.s.Invalidate(tok) }

// AppOnlySource returns a client-credentials token source for app-only
// access to Graph (scope {graph}/.default) authenticated with a client
// secret. ctx carries the HTTP client for the token endpoint
// (oauth2.HTTPClient; by default one with timeouts) and must outlive the
// source.
func AppOnlySource(ctx context.Context, c Cloud, tenant, clientID, clientSecret string) *Source {
	return &Source{msidentity.AppOnlySource(ctx, c.id(), tenant, clientID, clientSecret)}
}

// AppOnlyCertSource returns a client-credentials token source for
// app-only access to Graph (scope {graph}/.default) authenticated with a
// certificate credential.
func AppOnlyCertSource(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate) *Source {
	return &Source{msidentity.AppOnlyCertSource(ctx, c.id(), tenant, clientID, cert.cert(), c.Graph)}
}

// DelegatedConfig returns the OAuth 2.0 authorization-code configuration
// that signs a user in (default scopes DefaultDelegatedScopes).
// offline_access is always asked for, so that the token endpoint issues
// refresh tokens.
func DelegatedConfig(c Cloud, tenant, clientID, clientSecret, redirectURL string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = DefaultDelegatedScopes
	}
	return msidentity.DelegatedConfig(c.id(), tenant, clientID, clientSecret, redirectURL, scopes...)
}

// Exchange trades an authorization code (from the redirect after
// cfg.AuthCodeURL) for a token and saves it in store.
func Exchange(ctx context.Context, cfg *oauth2.Config, store TokenStore, code string, opts ...oauth2.AuthCodeOption) error {
	return tokenErr(msidentity.Exchange(ctx, cfg, store, code, opts...))
}

// DelegatedSource returns a token source for the signed-in user whose
// token (with refresh token) is in store: it refreshes through cfg and
// saves every new token in store before handing it out. A store without
// a refresh token is an error: sign the user in first (Exchange). ctx
// carries the HTTP client for the token endpoint and must outlive the
// source.
func DelegatedSource(ctx context.Context, cfg *oauth2.Config, store TokenStore) (*Source, error) {
	s, err := msidentity.DelegatedSource(ctx, cfg, store)
	if err != nil {
		return nil, tokenErr(err)
	}
	return &Source{s}, nil
}

// Certificate is an app registration's certificate credential: its
// private key signs client assertions (RFC 7523 JWTs with the x5t
// thumbprint) that the identity platform checks against the certificate
// uploaded to the app.
type Certificate struct {
	c *msidentity.Certificate
}

// ParseCertificate reads a certificate credential from PEM: certPEM
// holds the certificate, keyPEM its unencrypted RSA private key (PKCS #1
// or PKCS #8); both may be the same combined file. The key must belong to
// the certificate.
func ParseCertificate(certPEM, keyPEM []byte) (*Certificate, error) {
	c, err := msidentity.ParseCertificate(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &Certificate{c}, nil
}

// Thumbprint is the certificate's SHA-1 thumbprint in the base64url form
// of a client assertion's x5t header.
func (c *Certificate) Thumbprint() string { return c.c.Thumbprint() }

func (c *Certificate) cert() *msidentity.Certificate {
	if c == nil {
		return nil
	}
	return c.c
}

// AppOnlyContentTokens returns the Graph client's ContentTokens for
// app-only access: a certificate-credential token source for each
// SharePoint resource (https://{tenant}.sharepoint.com) a download URL
// names. SharePoint refuses app-only tokens obtained with a client
// secret, so a certificate is required.
func AppOnlyContentTokens(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate) func(resource string) (oauth2.TokenSource, error) {
	return contentTokens(msidentity.AppOnlyContentTokens(ctx, c.id(), tenant, clientID, cert.cert()))
}

// DelegatedContentTokens returns the Graph client's ContentTokens for a
// signed-in user: the refresh token in store, redeemed for each
// SharePoint resource a download URL names.
func DelegatedContentTokens(ctx context.Context, cfg *oauth2.Config, store TokenStore) func(resource string) (oauth2.TokenSource, error) {
	return contentTokens(msidentity.DelegatedContentTokens(ctx, cfg, store))
}

func contentTokens(f func(resource string) (oauth2.TokenSource, error)) func(resource string) (oauth2.TokenSource, error) {
	return func(resource string) (oauth2.TokenSource, error) {
		src, err := f(resource)
		if err != nil {
			return nil, err
		}
		if gs, ok := src.(*msidentity.Source); ok {
			return &Source{gs}, nil
		}
		return src, nil
	}
}

// TokenError is a refusal by the identity platform's token endpoint. It
// keeps only the OAuth error code and a short, sanitised description,
// never the response body. A refusal that retrying cannot fix (a bad
// secret, certificate or grant) matches storage.ErrPermissionDenied.
type TokenError struct {
	// StatusCode is the HTTP status of the token endpoint's answer.
	StatusCode int
	// Code is the OAuth error code, e.g. "invalid_client" (empty when the
	// answer carried none).
	Code string
	// Description is the first line of error_description, without trace
	// and correlation IDs, at most 160 characters.
	Description string

	err *msidentity.TokenError
}

// Error describes the refusal.
func (e *TokenError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return (&msidentity.TokenError{StatusCode: e.StatusCode, Code: e.Code, Description: e.Description}).Error()
}

// Temporary reports whether retrying may succeed (a server error or
// throttling at the token endpoint).
func (e *TokenError) Temporary() bool {
	return (&msidentity.TokenError{StatusCode: e.StatusCode, Code: e.Code}).Temporary()
}

// Unwrap returns the refusal as the Graph client classifies it (so that a
// refusal is not retried and matches storage.ErrPermissionDenied).
func (e *TokenError) Unwrap() error {
	if e.err != nil {
		return e.err
	}
	return &msidentity.TokenError{StatusCode: e.StatusCode, Code: e.Code, Description: e.Description}
}

// tokenErr turns the Graph client's token refusal into a *TokenError,
// keeping what wraps it.
func tokenErr(err error) error {
	var ge *msidentity.TokenError
	if err == nil || !errors.As(err, &ge) {
		return err
	}
	var te *TokenError
	if errors.As(err, &te) {
		return err
	}
	if error(ge) == err {
		return &TokenError{StatusCode: ge.StatusCode, Code: ge.Code, Description: ge.Description, err: ge}
	}
	return &wrapped{err: err, te: &TokenError{StatusCode: ge.StatusCode, Code: ge.Code, Description: ge.Description, err: ge}}
}

// wrapped is an error that carries a *TokenError deeper in its chain: its
// message is err's, errors.As finds the *TokenError.
type wrapped struct {
	err error
	te  *TokenError
}

func (w *wrapped) Error() string { return w.err.Error() }

func (w *wrapped) Unwrap() []error { return []error{w.te, w.err} }

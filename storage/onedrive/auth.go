package onedrive

import (
	"context"
	"net/http"

	"github.com/procoresync/procoresync/storage/internal/graph"
	"golang.org/x/oauth2"
)

// Certificate is an app registration's certificate credential (the key
// signs client assertions). App-only access to the SharePoint resource,
// which content URLs without tempauth need, requires one.
type Certificate = graph.Certificate

// ContentTokens gives the token source for the SharePoint resource of a
// content URL (ClientOptions.ContentTokens).
type ContentTokens = graph.ContentTokens

// TokenError is a refusal by the token endpoint: the OAuth error code and
// a short sanitised description.
type TokenError = graph.TokenError

// ErrNoClientState is the error of a Notifier or a kept subscription
// without a clientState secret.
var ErrNoClientState = graph.ErrNoClientState

// ParseCertificate reads a certificate credential from PEM (certificate,
// and its unencrypted RSA key; one combined file works too).
func ParseCertificate(certPEM, keyPEM []byte) (*Certificate, error) {
	return graph.ParseCertificate(certPEM, keyPEM)
}

// AppOnlyCertSource returns a client-credentials token source for app-only
// access to Graph (scope {graph}/.default) authenticated with a
// certificate.
func AppOnlyCertSource(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate) oauth2.TokenSource {
	return graph.AppOnlyCertSource(ctx, c, tenant, clientID, cert, c.Graph)
}

// AppOnlyContentTokens returns ClientOptions.ContentTokens for app-only access
// (certificate credentials for each SharePoint resource).
func AppOnlyContentTokens(ctx context.Context, c Cloud, tenant, clientID string, cert *Certificate) ContentTokens {
	return graph.AppOnlyContentTokens(ctx, c, tenant, clientID, cert)
}

// DelegatedContentTokens returns ClientOptions.ContentTokens for a signed-in user
// (the refresh token in store, redeemed for the SharePoint resource).
func DelegatedContentTokens(ctx context.Context, cfg *oauth2.Config, store TokenStore) ContentTokens {
	return graph.DelegatedContentTokens(ctx, cfg, store)
}

// NewNotifier returns a Notifier for clientState, which must be set.
func NewNotifier(clientState string) (*Notifier, error) { return graph.NewNotifier(clientState) }

// NewTransport returns the default HTTP transport, with dial, TLS,
// response-header and idle timeouts.
func NewTransport() *http.Transport { return graph.NewTransport() }

package msgraph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"golang.org/x/oauth2"
)

// ContentTokens gives the token source for a resource other than Graph
// that content URLs live on, e.g. "https://contoso.sharepoint.com" (a
// tenant's SharePoint host, the scheme and host of the URL). See
// Options.ContentTokens; package msauth makes them.
type ContentTokens func(resource string) (oauth2.TokenSource, error)

// tokenFor gets a token from src, returning when ctx is done even if src
// is still busy.
func tokenFor(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	t, err := httpclient.TokenFor(ctx, src)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil, fmt.Errorf("graph: waiting for an access token: %w", err)
	}
	return t, err
}

// bearerTransport adds a bearer token to each request (each redirect hop
// too) that pick allows, and, when the service says the token expired,
// fetches a new one and retries once.
type bearerTransport struct {
	// pick returns the token source for req: nil to send req without a
	// token, an error to refuse to send it.
	pick func(req *http.Request) (oauth2.TokenSource, error)
	next http.RoundTripper
}

// RoundTrip sends req with the bearer token pick chose.
func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	src, err := t.pick(req)
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	r2.Header.Del("Authorization")
	if src == nil {
		return t.next.RoundTrip(r2)
	}
	tok, err := tokenFor(req.Context(), src)
	if err != nil {
		return nil, msidentity.Sanitize(err)
	}
	tok.SetAuthHeader(r2)
	resp, err := t.next.RoundTrip(r2)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	inv, ok := src.(interface{ Invalidate(string) })
	if !ok || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "expired_token") {
		return resp, nil
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	inv.Invalidate(tok.AccessToken)
	tok2, err := tokenFor(req.Context(), src)
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

package httpclient_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/httpclient"
)

func TestSecureOrigin(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://graph.microsoft.com/v1.0": true,
		"http://127.0.0.1:8080/v1.0":       true,
		"http://[::1]:8080/":               true,
		"http://localhost:9/":              true,
		"http://graph.microsoft.com/v1.0":  false,
		"http://10.0.0.1/":                 false,
		"ftp://localhost/":                 false,
		"https:///nohost":                  false,
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, want, httpclient.SecureOrigin(u), raw)
	}
}

func TestHostListed(t *testing.T) {
	list := []string{"files.example", "Proxy.Example:8443", " "}
	for _, tc := range []struct {
		host string
		rule httpclient.PortRule
		want bool
	}{
		{"files.example", httpclient.DefaultPortOnly, true},
		{"FILES.example", httpclient.DefaultPortOnly, true},
		{"files.example:9000", httpclient.DefaultPortOnly, false},
		{"files.example:9000", httpclient.AnyPort, true},
		{"proxy.example:8443", httpclient.DefaultPortOnly, true},
		{"proxy.example", httpclient.AnyPort, false},
		{"proxy.example:443", httpclient.AnyPort, false},
		{"evil.example", httpclient.AnyPort, false},
		{"files.example.evil", httpclient.AnyPort, false},
		{"", httpclient.AnyPort, false},
	} {
		require.Equal(t, tc.want, httpclient.HostListed(list, tc.host, tc.rule), "%q %v", tc.host, tc.rule)
	}
}

func TestSubdomainOf(t *testing.T) {
	domains := []string{"sharepoint.com", ".SharePoint.us"}
	for host, want := range map[string]bool{
		"contoso.sharepoint.com":         true,
		"Contoso-My.SharePoint.com":      true,
		"contoso.sharepoint.com:443":     true,
		"a.b.sharepoint.us":              true,
		"sharepoint.com":                 false,
		"contoso.sharepoint.com:8443":    false,
		"evilsharepoint.com":             false,
		"contoso.sharepoint.com.evil.io": false,
		"":                               false,
	} {
		require.Equal(t, want, httpclient.SubdomainOf(host, domains...), host)
	}
	require.False(t, httpclient.SubdomainOf("a.example", ""))
}

func TestHasQueryParam(t *testing.T) {
	u, _ := url.Parse("https://h/x?UniqueId=1&tempauth=t")
	require.True(t, httpclient.HasQueryParam(u, "tempauth"))
	require.True(t, httpclient.HasQueryParam(u, "X-Amz-Signature", "tempauth"))
	require.False(t, httpclient.HasQueryParam(u, "X-Amz-Signature"))
}

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://Graph.example/v1.0")
	for raw, want := range map[string]bool{
		"https://graph.example/v1.0/me": true,
		"http://graph.example/v1.0/me":  false,
		"https://graph.example:444/x":   false,
		"https://other.example/x":       false,
	} {
		u, _ := url.Parse(raw)
		require.Equal(t, want, httpclient.SameOrigin(base, u), raw)
	}
}

type blockingSource struct{ release chan struct{} }

func (b blockingSource) Token() (*oauth2.Token, error) {
	<-b.release
	return &oauth2.Token{AccessToken: "t"}, nil
}

type ctxSource struct{ got context.Context }

func (c *ctxSource) Token() (*oauth2.Token, error) { return nil, errors.New("not this one") }

func (c *ctxSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.got = ctx
	return &oauth2.Token{AccessToken: "ctx"}, nil
}

func TestTokenFor(t *testing.T) {
	src := blockingSource{release: make(chan struct{})}
	defer close(src.release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := httpclient.TokenFor(ctx, src)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	cs := &ctxSource{}
	tok, err := httpclient.TokenFor(context.Background(), cs)
	require.NoError(t, err)
	require.Equal(t, "ctx", tok.AccessToken)
	require.NotNil(t, cs.got)
}

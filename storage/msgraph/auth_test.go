package msgraph_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestDefaultTransportHasTimeouts(t *testing.T) {
	tr := msgraph.NewTransport()
	require.NotNil(t, tr.DialContext)
	require.Positive(t, tr.TLSHandshakeTimeout)
	require.Positive(t, tr.ResponseHeaderTimeout)
	require.Positive(t, tr.IdleConnTimeout)
}

func TestTokensOnlyOverHTTPS(t *testing.T) {
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "graph-token"})
	for _, base := range []string{"http://graph.contoso.test/v1.0", "ftp://graph.microsoft.com/v1.0"} {
		_, err := msgraph.NewClient(msgraph.Options{BaseURL: base, TokenSource: src})
		require.Error(t, err, base)
	}
	for _, base := range []string{"https://graph.microsoft.com/v1.0", "http://127.0.0.1:8080/v1.0", "http://localhost/v1.0"} {
		_, err := msgraph.NewClient(msgraph.Options{BaseURL: base, TokenSource: src})
		require.NoError(t, err, base)
	}
	// Links from the service are followed only on the Graph origin.
	tr := &scripted{}
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: "https://graph.microsoft.com/v1.0", TokenSource: src, HTTPClient: &http.Client{Transport: tr}, RetryMax: -1})
	require.NoError(t, err)
	for _, link := range []string{"http://graph.microsoft.com/v1.0/drives/d/root/delta?token=x",
		"https://graph.microsoft.com.evil.example/v1.0/drives/d/root/delta?token=x"} {
		_, err = c.Delta(context.Background(), link)
		require.Error(t, err, link)
	}
	require.Empty(t, tr.hops, "no request left with the token")
}

// hop is one request seen by the scripted transport.
type hop struct{ url, auth string }

// scripted answers requests from a table of URL -> response maker and
// records every request with its Authorization header.
type scripted struct {
	mu    sync.Mutex
	hops  []hop
	serve map[string]func(*http.Request) *http.Response
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.hops = append(s.hops, hop{r.URL.String(), r.Header.Get("Authorization")})
	f := s.serve[r.URL.Scheme+"://"+r.URL.Host+r.URL.Path]
	s.mu.Unlock()
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if f == nil {
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":{"code":"itemNotFound","message":"x"}}`)), Request: r}, nil
	}
	resp := f(r)
	resp.Request = r
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, nil
}

func redirect(loc string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {loc}}}
	}
}

func content(s string) func(*http.Request) *http.Response {
	return func(r *http.Request) *http.Response {
		if r.Header.Get("Authorization") == "" {
			return &http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(`{"error":{"code":"unauthenticated","message":"no token"}}`))}
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(s))}
	}
}

func TestContentTokensStayOnTrustedHosts(t *testing.T) {
	const item = "https://graph.microsoft.com/v1.0/drives/d/items/i/content"
	newClient := func(tr *scripted, resources *[]string) *msgraph.Client {
		c, err := msgraph.NewClient(msgraph.Options{
			BaseURL:     "https://graph.microsoft.com/v1.0",
			TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "graph-token"}),
			HTTPClient:  &http.Client{Transport: tr}, RetryMax: -1,
			ContentTokens: func(resource string) (oauth2.TokenSource, error) {
				*resources = append(*resources, resource)
				return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "sp-token"}), nil
			},
		})
		require.NoError(t, err)
		return c
	}
	read := func(c *msgraph.Client) (string, error) {
		rc, err := c.Download(context.Background(), "d", "i", 0)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	t.Run("a URL without tempauth on the SharePoint host gets the SharePoint token", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1"),
			"https://contoso.sharepoint.com/_layouts/15/download.aspx": content("hello"),
		}}
		got, err := read(newClient(tr, &res))
		require.NoError(t, err)
		require.Equal(t, "hello", got)
		require.Equal(t, []string{"https://contoso.sharepoint.com"}, res)
		require.Equal(t, []hop{{item, "Bearer graph-token"}, {"https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1", "Bearer sp-token"}}, tr.hops)
	})
	t.Run("a URL with tempauth gets no token", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1&tempauth=v1.abc"),
			"https://contoso.sharepoint.com/_layouts/15/download.aspx": func(r *http.Request) *http.Response {
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("pre"))}
			},
		}}
		got, err := read(newClient(tr, &res))
		require.NoError(t, err)
		require.Equal(t, "pre", got)
		require.Empty(t, res)
		require.Equal(t, "", tr.hops[1].auth)
	})
	for _, tc := range []struct{ name, next string }{
		{"https to http on the same host", "http://contoso.sharepoint.com/dl"},
		{"another host", "https://contoso.sharepoint.com.evil.example/dl"},
		{"another port", "https://contoso.sharepoint.com:8443/dl"},
	} {
		t.Run("no token on a redirect to "+tc.name, func(t *testing.T) {
			var res []string
			tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
				item: redirect("https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1"),
				"https://contoso.sharepoint.com/_layouts/15/download.aspx": redirect(tc.next),
			}}
			_, err := read(newClient(tr, &res))
			require.Error(t, err, "the untrusted hop answers 401 without a token")
			require.Len(t, tr.hops, 3)
			require.Equal(t, "Bearer sp-token", tr.hops[1].auth)
			require.Equal(t, hop{tc.next, ""}, tr.hops[2], "no token on the redirect hop")
		})
	}
	t.Run("an untrusted content host gets no token at all", func(t *testing.T) {
		var res []string
		tr := &scripted{serve: map[string]func(*http.Request) *http.Response{
			item: redirect("https://files.example.net/dl"),
		}}
		_, err := read(newClient(tr, &res))
		require.Error(t, err)
		require.Empty(t, res)
		require.Equal(t, "", tr.hops[1].auth)
	})
}

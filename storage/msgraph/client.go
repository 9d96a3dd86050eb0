package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"golang.org/x/oauth2"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the Graph v1.0 endpoint (default
	// https://graph.microsoft.com/v1.0; national clouds: see the Cloud
	// values of package msauth and their BaseURL).
	BaseURL string
	// TokenSource gives bearer tokens (see msauth.AppOnlySource,
	// msauth.AppOnlyCertSource and msauth.DelegatedSource). Required.
	TokenSource oauth2.TokenSource
	// HTTPClient is the underlying client: its Transport carries every
	// request (default a client on NewTransport(): timeouts on dial, TLS
	// handshake, response headers and idle connections). Its
	// CheckRedirect is not used: redirects are followed by hand.
	HTTPClient *http.Client
	// Pacer, when set, is waited on before every request and told what
	// throttled responses said (the engine's limiter satisfies it).
	Pacer storage.Pacer
	// PaceKey is the budget key, one per tenant (default "graph").
	PaceKey string
	// Throttle is the gate that pauses every request for the tenant while
	// it is throttled. Clients of one tenant may share it; by default each
	// Client has its own.
	Throttle *Throttle
	// RetryMax is how often a failed request is retried (default 6;
	// negative: never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential back-off for
	// failures without Retry-After (default 1s and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// Sleep waits d or until ctx is done (default a timer); tests inject a
	// fake clock here.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now); Retry-After dates and
	// RateLimit-Reset are measured on it.
	Now func() time.Time
	// UserAgent decorates traffic, e.g. "ISV|Contoso|Sync/1.0" (Microsoft
	// throttles undecorated traffic sooner).
	UserAgent string
	// PageSize is the $top asked for children and delta pages (default
	// 1000).
	PageSize int
	// MaxPages bounds every paginated listing (children, delta, site
	// drives; default 1,000,000): a server that keeps answering with new
	// next links is stopped with an error instead of being followed
	// forever.
	MaxPages int
	// ContentTokens gives bearer tokens for the SharePoint resource, sent
	// to download URLs that carry no tempauth parameter (tenants that
	// switched pre-authenticated URLs off, and every OneDrive for Business
	// and SharePoint tenant once they are retired). URLs with tempauth
	// never get an Authorization header. See msauth.AppOnlyContentTokens
	// (which needs a certificate) and msauth.DelegatedContentTokens.
	ContentTokens ContentTokens
	// ContentHosts are further hosts (host or host:port) trusted with
	// ContentTokens tokens, besides the SharePoint hosts of the Microsoft
	// clouds (*.sharepoint.com, *.sharepoint.us, *.sharepoint.de,
	// *.sharepoint.cn, *.sharepoint-mil.us). Tokens go to a host only over
	// https (plain http only to loopback addresses).
	ContentHosts []string
}

// Client is a Microsoft Graph drives client. It is safe for concurrent
// use; share one per tenant.
type Client struct {
	base     *url.URL
	api      *retryablehttp.Client
	apiOnce  *retryablehttp.Client // the same without retries
	preauth  *retryablehttp.Client
	throttle *Throttle
	opts     Options

	contentMu  sync.Mutex
	contentSrc map[string]oauth2.TokenSource // resource -> source
}

// NewTransport returns the default HTTP transport: the standard library's
// defaults with dial, TLS handshake, response-header and idle timeouts, so
// that no request waits forever on a stalled server.
func NewTransport() *http.Transport { return httpclient.NewTransport() }

// Throttle pauses every request of a tenant while the service has asked
// to wait (Retry-After on a 429 or 503). Its zero value is ready to use;
// share one among the Clients of a tenant (Options.Throttle).
type Throttle struct {
	gate httpclient.Throttle
}

// Until returns the time the tenant's requests are held until (zero when
// they are not held).
func (t *Throttle) Until() time.Time { return t.gate.Until() }

// NewClient returns a Client for opts.
func NewClient(opts Options) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = "https://graph.microsoft.com/v1.0"
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("graph: invalid BaseURL %q", opts.BaseURL)
	}
	if !httpclient.SecureOrigin(base) {
		return nil, fmt.Errorf("graph: BaseURL %q: tokens are only sent over https (plain http only to a loopback address)", opts.BaseURL)
	}
	if opts.TokenSource == nil {
		return nil, errors.New("graph: Options.TokenSource is required")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewTransport()}
	}
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if opts.PaceKey == "" {
		opts.PaceKey = "graph"
	}
	if opts.Throttle == nil {
		opts.Throttle = &Throttle{}
	}
	httpclient.RetryDefaults(&opts.RetryMax, &opts.RetryWaitMin, &opts.RetryWaitMax, &opts.Sleep, &opts.Now)
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 1_000_000
	}
	c := &Client{base: base, throttle: opts.Throttle, opts: opts}
	gate := &gateTransport{c: c, next: tr}
	api := &http.Client{
		Transport: &bearerTransport{pick: c.pickAPI, next: gate},
		// Redirects (downloads) are followed by hand, without the token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       hc.Timeout,
	}
	c.api = c.newRetry(api, opts.RetryMax)
	c.apiOnce = c.newRetry(api, 0)
	// Content URLs: a token only where pickContent allows it, decided again
	// on every redirect hop.
	c.preauth = c.newRetry(&http.Client{Transport: &bearerTransport{pick: c.pickContent, next: gate}, Timeout: hc.Timeout}, opts.RetryMax)
	return c, nil
}

// Sleep waits d, or until ctx is done, on the client's clock
// (Options.Sleep): what the client waits on between retries, and what
// code built on the client waits on between polls.
func (c *Client) Sleep(ctx context.Context, d time.Duration) error { return c.opts.Sleep(ctx, d) }

// pickAPI allows the Graph token only to the Graph origin (scheme and
// host of BaseURL).
func (c *Client) pickAPI(req *http.Request) (oauth2.TokenSource, error) {
	if !httpclient.SameOrigin(c.base, req.URL) || !httpclient.SecureOrigin(req.URL) {
		return nil, fmt.Errorf("graph: refusing to send the token to %s://%s", req.URL.Scheme, req.URL.Host)
	}
	return c.opts.TokenSource, nil
}

// pickContent chooses the token for a content URL (download, upload
// session): none for a pre-authenticated URL (tempauth), the SharePoint
// resource's token for one without it on a trusted SharePoint host, none
// anywhere else.
func (c *Client) pickContent(req *http.Request) (oauth2.TokenSource, error) {
	u := req.URL
	// Unconfirmed against a live tenant: a content URL without tempauth (the GET /drives/{id}/items/{id}/content redirect) takes a token for https://{its host}/.default.
	if c.opts.ContentTokens == nil || httpclient.HasQueryParam(u, "tempauth") || !c.contentTrusted(u) {
		return nil, nil
	}
	resource := strings.ToLower(u.Scheme + "://" + u.Host)
	c.contentMu.Lock()
	defer c.contentMu.Unlock()
	if src, ok := c.contentSrc[resource]; ok {
		return src, nil
	}
	src, err := c.opts.ContentTokens(resource)
	if err != nil {
		return nil, fmt.Errorf("graph: a token for %s: %w", resource, err)
	}
	if c.contentSrc == nil {
		c.contentSrc = map[string]oauth2.TokenSource{}
	}
	c.contentSrc[resource] = src
	return src, nil
}

// sharePointDomains are the SharePoint host domains of the Microsoft
// clouds.
var sharePointDomains = []string{"sharepoint.com", "sharepoint.us", "sharepoint-mil.us", "sharepoint.de", "sharepoint.cn"}

// contentTrusted reports whether a SharePoint token may go to u: a secure
// origin on a SharePoint host or one of Options.ContentHosts.
func (c *Client) contentTrusted(u *url.URL) bool {
	if !httpclient.SecureOrigin(u) {
		return false
	}
	if httpclient.HostListed(c.opts.ContentHosts, u.Host, httpclient.DefaultPortOnly) {
		return true
	}
	return strings.EqualFold(u.Scheme, "https") && httpclient.SubdomainOf(u.Host, sharePointDomains...)
}

// newRetry returns the retrying client for hc: Graph's retryable statuses
// and transport errors, no retry of a refusal by the token endpoint, and
// back-off that leaves throttling to the tenant's throttle gate.
func (c *Client) newRetry(hc *http.Client, retryMax int) *retryablehttp.Client {
	return httpclient.NewRetryClient(hc, httpclient.Policy{
		RetryMax:     retryMax,
		RetryWaitMin: c.opts.RetryWaitMin,
		RetryWaitMax: c.opts.RetryWaitMax,
		Retry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			// A refusal by the token endpoint does not pass by retrying,
			// unless the endpoint itself failed.
			var te *msidentity.TokenError
			if err != nil && errors.As(err, &te) && !te.Temporary() {
				return false, err
			}
			return httpclient.DefaultRetry(ctx, resp, err)
		},
		Backoff: func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
			d := httpclient.ExpBackoff(lo, hi, attempt)
			if httpclient.Throttled(resp) && c.retryAfter(resp) > 0 {
				// The throttle gate already holds every request of the
				// tenant until Retry-After has passed.
				return 0
			}
			if resp != nil && resp.StatusCode == 429 {
				// Throttled without a delay: pause the tenant too.
				c.throttle.gate.Pause(c.opts.Now().Add(d))
				return 0
			}
			return d
		},
	})
}

// retryAfter is the delay a response's Retry-After asks for (0: none).
func (c *Client) retryAfter(resp *http.Response) time.Duration {
	d, _ := httpclient.RetryAfter(resp.Header, c.opts.Now())
	return d
}

// gateTransport holds requests while the tenant is throttled, paces them
// through the Pacer and reports throttling.
type gateTransport struct {
	c    *Client
	next http.RoundTripper
}

// RoundTrip sends req once the tenant may send again.
func (g *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := g.c
	if err := c.throttle.gate.Wait(ctx, c.opts.Now, c.opts.Sleep); err != nil {
		return nil, err
	}
	pace := httpclient.Pace{Pacer: c.opts.Pacer, Key: c.opts.PaceKey}
	if err := pace.Wait(ctx); err != nil {
		return nil, err
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	fb := storage.Feedback{}
	if httpclient.Throttled(resp) {
		if d := c.retryAfter(resp); d > 0 {
			fb.RetryAfter = d
			c.throttle.gate.Pause(c.opts.Now().Add(d))
		}
	}
	if v, err := strconv.Atoi(resp.Header.Get("RateLimit-Limit")); err == nil {
		fb.Limit = v
	}
	if v, err := strconv.Atoi(resp.Header.Get("RateLimit-Remaining")); err == nil {
		fb.Remaining = v
	}
	if v, err := strconv.Atoi(resp.Header.Get("RateLimit-Reset")); err == nil {
		fb.Reset = c.opts.Now().Add(time.Duration(v) * time.Second)
	}
	if fb != (storage.Feedback{}) {
		pace.Observe(fb)
	}
	return resp, nil
}

// apiURL builds an API URL from an escaped path (starting with "/").
func (c *Client) apiURL(escPath string, q url.Values) string {
	s := strings.TrimRight(c.base.String(), "/") + escPath
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// sameHost reports whether link points at the Graph host, so that the
// bearer token may be sent there.
func (c *Client) sameHost(link string) bool {
	u, err := url.Parse(link)
	return err == nil && httpclient.SameOrigin(c.base, u)
}

// opName describes a request without secrets: method and path, IDs kept,
// query dropped.
func opName(method, rawURL string) string {
	return method + " " + httpclient.RedactURL(rawURL, true)
}

// maxResponse bounds an API response body held in memory (the largest
// are delta and children pages of a few MB); a longer one is an
// *httpclient.TooLargeError, never decoded from its first part.
var maxResponse int64 = 64 << 20

// request is one API call.
type request struct {
	method  string
	url     string // absolute
	body    any    // JSON-encoded unless []byte
	raw     []byte
	ctype   string
	header  map[string]string
	preauth bool // a content URL: no Graph token, host not checked
	once    bool // no retries
}

// do sends r and returns the response with its body read (for non-2xx an
// *Error is returned instead).
func (c *Client) do(ctx context.Context, r request) (*http.Response, []byte, error) {
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, maxResponse)
	if err != nil {
		return nil, nil, fmt.Errorf("graph: %s: reading the response: %w", c.op(r), httpclient.RedactError(err, !r.preauth))
	}
	if resp.StatusCode >= 400 {
		return resp, body, decodeError(resp, body, c.op(r), c.opts.Now())
	}
	return resp, body, nil
}

func (c *Client) op(r request) string {
	if r.preauth {
		return r.method + " " + httpclient.RedactURL(r.url, false)
	}
	return opName(r.method, r.url)
}

// send sends r and returns the response with its body unread; non-2xx
// responses are returned as they are.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	if !r.preauth && !c.sameHost(r.url) {
		return nil, fmt.Errorf("graph: refusing to send credentials to another host (%s)", httpclient.RedactURL(r.url, false))
	}
	hc := c.api
	switch {
	case r.preauth:
		hc = c.preauth
	case r.once:
		hc = c.apiOnce
	}
	resp, err := httpclient.Send(ctx, hc, httpclient.Request{Method: r.method, URL: r.url, JSON: r.body, Raw: r.raw,
		ContentType: r.ctype, Header: r.header})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("graph: %s: %w", c.op(r), httpclient.RedactError(err, !r.preauth))
	}
	return resp, nil
}

// getJSON GETs an API URL into v.
func (c *Client) getJSON(ctx context.Context, u string, v any) error {
	_, body, err := c.do(ctx, request{method: http.MethodGet, url: u})
	if err != nil {
		return err
	}
	return c.decode(body, v, http.MethodGet+" "+httpclient.RedactURL(u, true))
}

func (c *Client) decode(body []byte, v any, op string) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{StatusCode: 200, Code: "invalidResponse", Op: op, Message: "malformed JSON in the response: " + err.Error()}
	}
	return nil
}

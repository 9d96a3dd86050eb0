// Package box is the procoresync connector for Box: a typed client of the
// Box Platform API 2.0 and a storage.Storage rooted at any folder of a
// user's account or an enterprise service account.
//
// The client sends API calls to https://api.box.com/2.0 and uploads to
// https://upload.box.com/api/2.0 with the bearer token of its
// TokenSource (OAuthSource, ClientCredentialsSource, JWTSource), follows
// the download redirects to dl.boxcloud.com without it, retries 429, 5xx
// and Box's temporary 409s (operation_blocked_temporary,
// name_temporarily_reserved) on the shared retry policy, honours
// retry-after, and paces every call through Options.Pacer.
//
// Change detection reads the user's events stream: each Storage on its
// own, or every Storage of a user from one shared EventsFeed
// (NewEventsFeed, Storage.WithFeed) run with the user's one long poll
// (Client.WatchEvents) or webhooks.
package box

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// The Box endpoints.
const (
	DefaultBaseURL   = "https://api.box.com/2.0"
	DefaultUploadURL = "https://upload.box.com/api/2.0"
	DefaultTokenURL  = "https://api.box.com/oauth2/token"
	DefaultAuthURL   = "https://account.box.com/api/oauth2/authorize"
)

// Box's documented rate limits per user: API requests and upload
// requests a minute. Give the Pacer budgets of these sizes for the keys
// PaceKey (every call) and PaceKey+":upload" (upload host calls).
const (
	APIRequestsPerMinute    = 1000
	UploadRequestsPerMinute = 240
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// BaseURL is the API endpoint (default DefaultBaseURL); UploadURL the
	// upload endpoint (default DefaultUploadURL).
	BaseURL, UploadURL string
	// TokenSource gives bearer tokens. Required.
	TokenSource oauth2.TokenSource
	// AsUser, when set, is sent as the as-user header: a service account
	// or admin token acting as that user.
	AsUser string
	// HTTPClient carries every request (default a client on
	// httpclient.NewTransport). Its redirects are not used: downloads are
	// followed by hand, without the token.
	HTTPClient *http.Client
	// Pacer, when set, is waited on before every request and told what
	// throttled responses said; PaceKey is the budget key (default
	// "box"), one per user. Upload host calls also wait on
	// PaceKey+":upload".
	Pacer   storage.Pacer
	PaceKey string
	// Throttle pauses every request of the user while Box asks to wait;
	// clients of one user may share one (default one per Client).
	Throttle *httpclient.Throttle
	// RetryMax is how often a failed request is retried (default 6;
	// negative: never). RetryWaitMin and RetryWaitMax bound the back-off
	// (default 1 s and 30 s).
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// Sleep and Now are the clock (tests inject a fake one).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	// UserAgent, when set, is sent on every request.
	UserAgent string
}

// Client is a Box API client. It is safe for concurrent use.
type Client struct {
	base, upload *url.URL
	api          *retryablehttp.Client
	dl           *retryablehttp.Client
	opts         ClientOptions
}

// NewClient returns a Client for opts.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.UploadURL == "" {
		opts.UploadURL = DefaultUploadURL
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || base.Host == "" || !httpclient.SecureOrigin(base) {
		return nil, fmt.Errorf("box: invalid BaseURL %q (https, or http only to a loopback address)", opts.BaseURL)
	}
	up, err := url.Parse(strings.TrimRight(opts.UploadURL, "/"))
	if err != nil || up.Host == "" || !httpclient.SecureOrigin(up) {
		return nil, fmt.Errorf("box: invalid UploadURL %q (https, or http only to a loopback address)", opts.UploadURL)
	}
	if opts.TokenSource == nil {
		return nil, errors.New("box: Options.TokenSource is required")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: httpclient.NewTransport()}
	}
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	if opts.PaceKey == "" {
		opts.PaceKey = "box"
	}
	if opts.Throttle == nil {
		opts.Throttle = &httpclient.Throttle{}
	}
	httpclient.RetryDefaults(&opts.RetryMax, &opts.RetryWaitMin, &opts.RetryWaitMax, &opts.Sleep, &opts.Now)
	c := &Client{base: base, upload: up, opts: opts}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.api = c.newRetry(&http.Client{Transport: &gate{c: c, next: tr, token: true}, CheckRedirect: noRedirect, Timeout: hc.Timeout})
	c.dl = c.newRetry(&http.Client{Transport: &gate{c: c, next: tr}, CheckRedirect: noRedirect, Timeout: hc.Timeout})
	return c, nil
}

// temporary409 are the 409 codes that pass by retrying.
var temporary409 = map[string]bool{"operation_blocked_temporary": true, "name_temporarily_reserved": true}

func (c *Client) newRetry(hc *http.Client) *retryablehttp.Client {
	return httpclient.NewRetryClient(hc, httpclient.Policy{
		RetryMax: c.opts.RetryMax, RetryWaitMin: c.opts.RetryWaitMin, RetryWaitMax: c.opts.RetryWaitMax,
		Retry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if err != nil && errors.Is(err, errNoToken) {
				return false, err
			}
			var ae *AuthError
			if err != nil && errors.As(err, &ae) && !ae.Temporary() {
				return false, err // a refusal of the token endpoint
			}
			var te *TokenError
			if err != nil && errors.As(err, &te) && !errors.As(err, &ae) {
				return false, err // e.g. a refresh token that could not be saved
			}
			if err == nil && resp.StatusCode == http.StatusUnauthorized {
				// An access token Box no longer accepts (expired early,
				// revoked): renew it and try again, where the source can.
				inv, ok := c.opts.TokenSource.(invalidator)
				if !ok || resp.Request == nil {
					return false, nil
				}
				at, _ := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
				return inv.invalidate(at), nil
			}
			if err == nil && resp.StatusCode == http.StatusConflict {
				b, rerr := httpclient.ReadBody(resp.Body, maxResponse)
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader(b))
				if rerr == nil {
					var e struct {
						Code string `json:"code"`
					}
					if json.Unmarshal(b, &e) == nil && temporary409[e.Code] {
						return true, nil
					}
				}
				return false, nil
			}
			return httpclient.DefaultRetry(ctx, resp, err)
		},
		Backoff: func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
			if resp != nil {
				if _, ok := httpclient.RetryAfter(resp.Header, c.opts.Now()); ok && httpclient.Throttled(resp) {
					return 0 // the throttle gate holds every request until then
				}
			}
			return httpclient.Jitter(httpclient.ExpBackoff(lo, hi, attempt))
		},
	})
}

var errNoToken = errors.New("box: refusing to send the token to that host")

// gate holds requests while the user is throttled, paces them, adds the
// token (API and upload origins only) and reports throttling.
type gate struct {
	c     *Client
	next  http.RoundTripper
	token bool
}

func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	c := g.c
	if err := c.opts.Throttle.Wait(ctx, c.opts.Now, c.opts.Sleep); err != nil {
		return nil, err
	}
	pace := httpclient.Pace{Pacer: c.opts.Pacer, Key: c.opts.PaceKey}
	if err := pace.Wait(ctx); err != nil {
		return nil, err
	}
	isUpload := httpclient.SameOrigin(c.upload, req.URL)
	if isUpload {
		if err := (httpclient.Pace{Pacer: c.opts.Pacer, Key: c.opts.PaceKey + ":upload"}).Wait(ctx); err != nil {
			return nil, err
		}
	}
	if g.token {
		if !(httpclient.SameOrigin(c.base, req.URL) || isUpload) || !httpclient.SecureOrigin(req.URL) {
			return nil, errNoToken
		}
		tok, err := httpclient.TokenFor(ctx, c.opts.TokenSource)
		if err != nil {
			return nil, &TokenError{Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if c.opts.AsUser != "" {
			req.Header.Set("As-User", c.opts.AsUser)
		}
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if httpclient.Throttled(resp) {
		d, ok := httpclient.RetryAfter(resp.Header, c.opts.Now())
		if !ok {
			d = c.opts.RetryWaitMin
		}
		c.opts.Throttle.Pause(c.opts.Now().Add(d))
		pace.Observe(storage.Feedback{RetryAfter: d})
	}
	return resp, nil
}

// TokenError is a failure to get a token from the TokenSource.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "box: getting a token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// maxResponse bounds an API response body held in memory.
var maxResponse int64 = 32 << 20

// request is one API call.
type request struct {
	method string
	url    string // absolute
	body   any    // JSON-encoded unless raw is set
	raw    []byte
	ctype  string
	header map[string]string
}

// apiURL builds an API URL from an escaped path.
func (c *Client) apiURL(escPath string, q url.Values) string {
	s := c.base.String() + escPath
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// uploadURL builds an upload host URL from an escaped path.
func (c *Client) uploadURL(escPath string) string { return c.upload.String() + escPath }

func opName(method, raw string) string { return method + " " + httpclient.RedactURL(raw, true) }

// send sends r; the response is returned as it is, body unread.
func (c *Client) send(ctx context.Context, hc *retryablehttp.Client, r request) (*http.Response, error) {
	resp, err := httpclient.Send(ctx, hc, httpclient.Request{Method: r.method, URL: r.url, JSON: r.body, Raw: r.raw,
		ContentType: r.ctype, Header: r.header})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("box: %s: %w", opName(r.method, r.url), httpclient.RedactError(err, true))
	}
	return resp, nil
}

// do sends r to the API or upload host and reads the answer; a status of
// 400 or more is an *Error.
func (c *Client) do(ctx context.Context, r request) (*http.Response, []byte, error) {
	resp, err := c.send(ctx, c.api, r)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, maxResponse)
	if err != nil {
		return nil, nil, fmt.Errorf("box: %s: reading the response: %w", opName(r.method, r.url), httpclient.RedactError(err, true))
	}
	if resp.StatusCode >= 400 {
		return resp, body, decodeError(resp, body, opName(r.method, r.url), c.opts.Now())
	}
	return resp, body, nil
}

// doJSON sends r and decodes a 2xx answer into v (when not nil).
func (c *Client) doJSON(ctx context.Context, r request, v any) (*http.Response, error) {
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return resp, err
	}
	if v != nil && len(body) > 0 {
		if err := json.Unmarshal(body, v); err != nil {
			return resp, &Error{StatusCode: resp.StatusCode, Code: "invalid_response", Op: opName(r.method, r.url),
				Message: "malformed JSON in the response: " + err.Error()}
		}
	}
	return resp, nil
}

// waitAccepted sleeps the Retry-After of a 202 (bounded), for downloads
// and commits that are not ready yet.
func (c *Client) waitAccepted(ctx context.Context, resp *http.Response, attempt int) error {
	d, ok := httpclient.RetryAfter(resp.Header, c.opts.Now())
	if !ok {
		d = httpclient.ExpBackoff(c.opts.RetryWaitMin, c.opts.RetryWaitMax, attempt)
	}
	return c.opts.Sleep(ctx, min(d, 5*time.Minute))
}

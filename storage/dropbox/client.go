package dropbox

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
	"unicode/utf16"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
	"golang.org/x/oauth2"
)

// The Dropbox API hosts.
const (
	DefaultAPIURL     = "https://api.dropboxapi.com"
	DefaultContentURL = "https://content.dropboxapi.com"
	DefaultNotifyURL  = "https://notify.dropboxapi.com"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// TokenSource gives the access tokens (see Config.TokenSource for an
	// OAuth app with an offline refresh token). Required.
	TokenSource oauth2.TokenSource
	// APIURL, ContentURL and NotifyURL are the RPC, content and long-poll
	// hosts (defaults DefaultAPIURL, DefaultContentURL, DefaultNotifyURL);
	// the fake in package dropboxtest gives its own.
	APIURL, ContentURL, NotifyURL string
	// HTTPClient is the underlying client (default one on
	// httpclient.NewTransport: timeouts on dial, TLS, response headers).
	HTTPClient *http.Client
	// Pacer, when set, is waited on before every request and told what
	// throttled responses said; PaceKey is the budget key (default
	// "dropbox"; Dropbox limits per linked user or team).
	Pacer   storage.Pacer
	PaceKey string
	// Throttle pauses every request of the account while Dropbox has asked
	// to wait; clients of one account may share it.
	Throttle *httpclient.Throttle
	// RetryMax is how often a failed request is retried (default 6;
	// negative: never). RetryWaitMin and RetryWaitMax bound the back-off
	// (default 1s and 30s).
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// Sleep and Now are the clock (defaults a timer and time.Now).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
	// SelectUser (a team member ID, "dbmid:…") or SelectAdmin makes a team
	// app act as that member (Dropbox-API-Select-User /
	// Dropbox-API-Select-Admin).
	SelectUser, SelectAdmin string
	// PathRoot, when set, is sent as Dropbox-API-Path-Root: use RootNamespace
	// for a team space or NamespaceID for a team or shared folder.
	PathRoot *PathRoot
	// UserAgent decorates traffic.
	UserAgent string
	// PageSize is the list_folder limit (default 2000, the maximum).
	PageSize int
}

// PathRoot is the namespace relative to which paths are resolved
// (Dropbox-API-Path-Root, common.PathRoot).
type PathRoot struct {
	Tag         string `json:".tag"`
	Root        string `json:"root,omitempty"`
	NamespaceID string `json:"namespace_id,omitempty"`
}

// RootNamespace is the path root of a team space: the team's root
// namespace (the root_namespace_id of users/get_current_account).
func RootNamespace(ns string) *PathRoot { return &PathRoot{Tag: "root", Root: ns} }

// NamespaceID is the path root of one namespace (a team folder or shared
// folder); paths are then relative to that folder.
func NamespaceID(ns string) *PathRoot { return &PathRoot{Tag: "namespace_id", NamespaceID: ns} }

// Client is a Dropbox API v2 client. It is safe for concurrent use; share
// one per linked account.
type Client struct {
	api, content, notify *url.URL
	hc                   *retryablehttp.Client
	hcNotify             *retryablehttp.Client // longpoll: no response-header timeout
	opts                 ClientOptions
}

// NewClient returns a Client for opts.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("dropbox: ClientOptions.TokenSource is required")
	}
	c := &Client{opts: opts}
	for _, h := range []struct {
		dst **url.URL
		raw *string
		def string
	}{{&c.api, &c.opts.APIURL, DefaultAPIURL}, {&c.content, &c.opts.ContentURL, DefaultContentURL}, {&c.notify, &c.opts.NotifyURL, DefaultNotifyURL}} {
		if *h.raw == "" {
			*h.raw = h.def
		}
		u, err := url.Parse(strings.TrimRight(*h.raw, "/"))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("dropbox: invalid host URL %q", *h.raw)
		}
		if !httpclient.SecureOrigin(u) {
			return nil, fmt.Errorf("dropbox: %q: tokens are only sent over https (plain http only to a loopback address)", *h.raw)
		}
		*h.dst = u
	}
	o := &c.opts
	if o.PaceKey == "" {
		o.PaceKey = "dropbox"
	}
	if o.Throttle == nil {
		o.Throttle = &httpclient.Throttle{}
	}
	httpclient.RetryDefaults(&o.RetryMax, &o.RetryWaitMin, &o.RetryWaitMax, &o.Sleep, &o.Now)
	if o.PageSize <= 0 || o.PageSize > 2000 {
		o.PageSize = 2000
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: httpclient.NewTransport()}
	}
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	inner := &http.Client{
		Transport:     &gateTransport{c: c, next: tr},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       hc.Timeout,
	}
	c.hc = c.newRetry(inner, o.RetryMax)
	// A longpoll answers after up to its timeout plus 90 s of jitter,
	// longer than the default transport waits for response headers: the
	// call's context bounds it instead.
	ntr := tr
	if t, ok := tr.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = 0
		ntr = t
	}
	c.hcNotify = c.newRetry(&http.Client{
		Transport:     &gateTransport{c: c, next: ntr},
		CheckRedirect: inner.CheckRedirect,
	}, 0)
	return c, nil
}

// newRetry returns the retrying client: transport errors and the
// retryable statuses, never a failing token source, and 429s left to the
// throttle gate.
func (c *Client) newRetry(inner *http.Client, retryMax int) *retryablehttp.Client {
	o := &c.opts
	return httpclient.NewRetryClient(inner, httpclient.Policy{
		RetryMax: retryMax, RetryWaitMin: o.RetryWaitMin, RetryWaitMax: o.RetryWaitMax,
		Retry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			var te *tokenError
			if errors.As(err, &te) {
				return false, err
			}
			return httpclient.DefaultRetry(ctx, resp, err)
		},
		Backoff: func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
			d := httpclient.ExpBackoff(lo, hi, attempt)
			if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
				// The throttle gate holds every request of the account
				// until the delay Dropbox asked for has passed.
				if _, ok := httpclient.RetryAfter(resp.Header, o.Now()); !ok {
					o.Throttle.Pause(o.Now().Add(d))
				}
				return 0
			}
			return d
		},
	})
}

// tokenError is a failure of the token source; it is not retried.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "dropbox: getting an access token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// gateTransport holds requests while the account is throttled, paces them
// through the Pacer, adds the Authorization header (never for noauth
// routes) and reports throttling.
type gateTransport struct {
	c    *Client
	next http.RoundTripper
}

type noAuthKey struct{}

func (g *gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	o := &g.c.opts
	if err := o.Throttle.Wait(ctx, o.Now, o.Sleep); err != nil {
		return nil, err
	}
	pace := httpclient.Pace{Pacer: o.Pacer, Key: o.PaceKey}
	if err := pace.Wait(ctx); err != nil {
		return nil, err
	}
	if !g.c.trusted(req.URL) {
		return nil, fmt.Errorf("dropbox: refusing to send credentials to %s", httpclient.RedactURL(req.URL.String(), false))
	}
	if ctx.Value(noAuthKey{}) == nil {
		tok, err := httpclient.TokenFor(ctx, o.TokenSource)
		if err != nil {
			return nil, &tokenError{err}
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	if o.UserAgent != "" {
		req.Header.Set("User-Agent", o.UserAgent)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		d, ok := httpclient.RetryAfter(resp.Header, o.Now())
		if ok && d > 0 {
			o.Throttle.Pause(o.Now().Add(d))
			pace.Observe(storage.Feedback{RetryAfter: d})
		}
	}
	return resp, nil
}

// trusted reports whether u is one of the client's three hosts.
func (c *Client) trusted(u *url.URL) bool {
	for _, h := range []*url.URL{c.api, c.content, c.notify} {
		if httpclient.SameOrigin(h, u) {
			return true
		}
	}
	return false
}

// HeaderSafeJSON encodes v as JSON with 0x7F and every non-ASCII character
// escaped as \uXXXX, as the Dropbox-API-Arg header requires.
func HeaderSafeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, r := range string(b) {
		if r < 0x7f {
			sb.WriteRune(r)
			continue
		}
		if r > 0xffff {
			a, b := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, a, b)
			continue
		}
		fmt.Fprintf(&sb, `\u%04x`, r)
	}
	return sb.String(), nil
}

// maxResponse bounds a JSON response held in memory.
var maxResponse int64 = 32 << 20

// route styles.
const (
	styleRPC = iota
	styleUpload
	styleDownload
)

// call is one API call.
type call struct {
	route  string // e.g. "files/list_folder"
	style  int
	notify bool // on the notify host, without a token
	arg    any
	data   []byte // upload body
	header map[string]string
	// retried is set on the one retry after refreshing an expired token.
	retried bool
}

// do sends c. For RPC and upload calls the JSON result is decoded into
// result; for downloads the response is returned with its body open.
func (c *Client) do(ctx context.Context, cl call, result any) (*http.Response, error) {
	host := c.api
	switch {
	case cl.notify:
		host = c.notify
	case cl.style != styleRPC:
		host = c.content
	}
	u := host.String() + "/2/" + cl.route
	var body any
	hdr := http.Header{}
	switch cl.style {
	case styleRPC:
		if cl.arg != nil {
			b, err := json.Marshal(cl.arg)
			if err != nil {
				return nil, err
			}
			body = b
			hdr.Set("Content-Type", "application/json")
		}
	default:
		a, err := HeaderSafeJSON(cl.arg)
		if err != nil {
			return nil, err
		}
		hdr.Set("Dropbox-API-Arg", a)
		if cl.style == styleUpload {
			body = cl.data
			if cl.data == nil {
				body = []byte{}
			}
			hdr.Set("Content-Type", "application/octet-stream")
		}
	}
	if !cl.notify {
		if c.opts.SelectUser != "" {
			hdr.Set("Dropbox-API-Select-User", c.opts.SelectUser)
		}
		if c.opts.SelectAdmin != "" {
			hdr.Set("Dropbox-API-Select-Admin", c.opts.SelectAdmin)
		}
		if c.opts.PathRoot != nil {
			pr, err := HeaderSafeJSON(c.opts.PathRoot)
			if err != nil {
				return nil, err
			}
			hdr.Set("Dropbox-API-Path-Root", pr)
		}
	}
	for k, v := range cl.header {
		hdr.Set(k, v)
	}
	if cl.notify {
		ctx = context.WithValue(ctx, noAuthKey{}, true)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	hc := c.hc
	if cl.notify {
		hc = c.hcNotify
	}
	resp, err := hc.Do(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && !cl.notify && !cl.retried {
		if inv, ok := c.opts.TokenSource.(Invalidator); ok {
			b, _ := httpclient.ReadBody(resp.Body, 1<<16)
			resp.Body.Close()
			if ae, _ := decodeError(cl.route, resp, b, c.opts.Now()).(*APIError); ae != nil && ae.Has("expired_access_token") {
				inv.Invalidate()
				cl.retried = true
				return c.do(ctx, cl, result)
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("dropbox: %s: %w", cl.route, httpclient.RedactError(err, true))
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusPartialContent {
		defer resp.Body.Close()
		b, rerr := httpclient.ReadBody(resp.Body, 1<<20)
		if rerr != nil {
			b = nil
		}
		return nil, decodeError(cl.route, resp, b, c.opts.Now())
	}
	if cl.style == styleDownload {
		if result != nil {
			if err := json.Unmarshal([]byte(resp.Header.Get("Dropbox-API-Result")), result); err != nil {
				resp.Body.Close()
				return nil, &APIError{Route: cl.route, Status: resp.StatusCode, Summary: "invalid Dropbox-API-Result: " + err.Error()}
			}
		}
		return resp, nil
	}
	defer resp.Body.Close()
	b, err := httpclient.ReadBody(resp.Body, maxResponse)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("dropbox: %s: reading the response: %w", cl.route, err)
	}
	if result != nil {
		if err := json.Unmarshal(b, result); err != nil {
			return nil, &APIError{Route: cl.route, Status: resp.StatusCode, Summary: "malformed JSON in the response: " + err.Error()}
		}
	}
	return resp, nil
}

// rpc calls an RPC route.
func (c *Client) rpc(ctx context.Context, route string, arg, result any) error {
	_, err := c.do(ctx, call{route: route, arg: arg}, result)
	return err
}

// retryAfterBody reads retry_after from a 429's RateLimitError.
func retryAfterBody(b []byte) (time.Duration, bool) {
	var v struct {
		Error struct {
			RetryAfter *int64 `json:"retry_after"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &v) != nil || v.Error.RetryAfter == nil {
		return 0, false
	}
	return time.Duration(*v.Error.RetryAfter) * time.Second, true
}

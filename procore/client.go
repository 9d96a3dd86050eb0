// Package procore is a typed client for the Procore REST API and the
// connectors that expose Procore's Documents (project and company) as a
// storage.Storage.
//
// The client follows google/go-github: one Client, services per area
// (Companies, Projects, Users, Folders, Files, FileVersions, Documents,
// Uploads), methods shaped (ctx, …, opts) (T, *Response, error), a Response
// that carries pagination and rate-limit state, typed errors
// (*ErrorResponse, *RateLimitError) and listings as iterators.
//
// Every request carries the Procore-Company-Id header, a User-Agent and,
// on Procore hosts only, the bearer token from an oauth2.TokenSource (see
// Config and TokenStore for the authorization code flow with single-use
// refresh tokens, and client credentials). A 401 to a token that had not
// reached its recorded expiry makes the token source refresh once (see
// TokenInvalidator) and the request is retried once; a second 401 is an
// *ErrorResponse matching ErrUnauthorized. Retries live in one place
// (hashicorp/go-retryablehttp with Procore's policy), and every response
// feeds a storage.Pacer so that all users of one token share one budget.
package procore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// DefaultMaxResponseBytes is the default Options.MaxResponseBytes.
const DefaultMaxResponseBytes = 64 << 20

// ErrResponseTooLarge is matched (errors.Is) by the error of a call whose
// response body is longer than Options.MaxResponseBytes.
var ErrResponseTooLarge = errors.New("procore: response body too large")

// The timeouts of NewDefaultTransport.
const (
	DefaultDialTimeout           = httpclient.DialTimeout
	DefaultTLSHandshakeTimeout   = httpclient.TLSHandshakeTimeout
	DefaultResponseHeaderTimeout = httpclient.ResponseHeaderTimeout
	DefaultIdleConnTimeout       = httpclient.IdleConnTimeout
)

// NewDefaultTransport returns the transport a Client uses when
// Options.HTTPClient is nil: http.DefaultTransport's settings (proxy from
// the environment, HTTP/2, pooling) with a dial timeout and TCP keep-alive,
// a TLS handshake timeout, a response-header timeout (a server that accepts
// a request and never answers cannot hang a call whose context has no
// deadline) and an idle-connection timeout.
func NewDefaultTransport() *http.Transport { return httpclient.NewTransport() }

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "procoresync-go/0.1 (+https://github.com/procoresync/procoresync)"

// ErrMalformedResponse is matched (errors.Is) by errors about a response
// body that could not be decoded: malformed or truncated JSON.
var ErrMalformedResponse = errors.New("procore: malformed response")

// Options configure a Client.
type Options struct {
	// BaseURL is the API host, e.g. Production.APIURL (the default).
	BaseURL string
	// CompanyID is sent as Procore-Company-Id on every request.
	CompanyID int64
	// TokenSource supplies bearer tokens (Config.TokenSource,
	// Config.ClientCredentials, or oauth2.StaticTokenSource).
	TokenSource oauth2.TokenSource
	// HTTPClient is the underlying client (default: one on
	// NewDefaultTransport, with dial, TLS handshake, response-header and
	// idle-connection timeouts). Its CheckRedirect is not used: the Client
	// handles redirects itself.
	HTTPClient *http.Client
	// MaxResponseBytes caps the body of an API response the client reads
	// into memory (default 64 MiB); a longer body fails the call with an
	// error matching ErrResponseTooLarge. Downloads are streamed and not
	// capped.
	MaxResponseBytes int64
	// UserAgent overrides DefaultUserAgent.
	UserAgent string
	// Pacer, when set, is waited on before and told about every API call
	// (the sync engine's Limiter satisfies it). PaceKey names the budget:
	// use one key per Procore app and token (default "procore:" + the API
	// host).
	Pacer   storage.Pacer
	PaceKey string
	// RetryMax is how many times one request may be retried (default 4;
	// negative: never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the jittered exponential backoff
	// for 5xx and connection errors (defaults 500 ms and 30 s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRateLimitWait is the longest a 429 or 503 may make a request wait
	// before it is retried; when the service asks for longer, the call
	// returns a *RateLimitError at once so the caller can stop cleanly
	// (default 2 minutes; negative: never wait).
	MaxRateLimitWait time.Duration
	// RetryBudget caps retries across the client: it starts with this many
	// tokens, each retry spends one, each request earns a tenth of one
	// (default 20). An empty budget stops retry storms.
	RetryBudget int
	// TrustedHost reports whether a host (host or host:port, as in
	// URL.Host) may receive the bearer token, on a file download URL or a
	// hop its redirects lead to. The default trusts procore.com and its
	// subdomains on the default port (which covers Procore's file hosts
	// such as storage.procore.com), procoregov.com and its subdomains
	// instead when BaseURL is in the Federal Zone, and the BaseURL host
	// name on any port (as net/http itself forwards Authorization on a
	// redirect). Every other host, such as the presigned AWS URLs that
	// file hosts redirect to, gets no token. Whatever the host, the token
	// never goes over plain http unless BaseURL itself is plain http
	// (a fake) and the request is on its host name.
	TrustedHost func(host string) bool
	// FileHosts lists further hosts (host or host:port, as in URL.Host;
	// without a port, any port) that serve Procore file URLs and so
	// receive the bearer token, in addition to those TrustedHost trusts.
	// Real Procore needs none (its file hosts are *.procore.com); a fake
	// or proxy on other hosts lists them here (procoretest:
	// Server.FileHosts). Calls to these hosts, like all calls off the API
	// host, are not paced: Procore's rate limit is on the API host.
	FileHosts []string
	// Now is the clock used to compute waits from X-Rate-Limit-Reset
	// (default time.Now).
	Now func() time.Time
}

// Client talks to one Procore environment for one company.
type Client struct {
	// BaseURL is the API host.
	BaseURL *url.URL
	// CompanyID is sent as Procore-Company-Id.
	CompanyID int64

	opts   Options
	api    *retryablehttp.Client // API host calls
	raw    *http.Client          // no redirects, no retries: streaming and presigned calls
	budget *httpclient.Budget

	// Services.
	Users        *UsersService
	Companies    *CompaniesService
	Projects     *ProjectsService
	Folders      *FoldersService
	Files        *FilesService
	FileVersions *FileVersionsService
	Documents    *DocumentsService
	Uploads      *UploadsService
	Webhooks     *WebhooksService
	// ImageCategories and Images handle project Photos.
	ImageCategories *ImageCategoriesService
	Images          *ImagesService
	// The one-way record tools (see procore/records).
	RFIs         *RFIsService
	Submittals   *SubmittalsService
	Observations *ObservationsService
	Inspections  *InspectionsService
	Incidents    *IncidentsService
	Forms        *FormsService
	Commitments  *CommitmentsService
	// FormTemplates are the company's form templates.
	FormTemplates *FormTemplatesService
	// The Daily Log, and Drawings (areas and revisions).
	DailyLogs *DailyLogsService
	Drawings  *DrawingsService
}

type service struct{ c *Client }

// NewClient returns a Client. TokenSource and CompanyID are required.
func NewClient(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("procore: Options.TokenSource is required")
	}
	if opts.CompanyID == 0 {
		return nil, errors.New("procore: Options.CompanyID is required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = Production.APIURL
	}
	base, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("procore: invalid BaseURL %q", opts.BaseURL)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.PaceKey == "" {
		opts.PaceKey = "procore:" + base.Host
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 4
	}
	if opts.RetryMax < 0 {
		opts.RetryMax = 0
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 500 * time.Millisecond
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 30 * time.Second
	}
	if opts.MaxRateLimitWait == 0 {
		opts.MaxRateLimitWait = 2 * time.Minute
	}
	if opts.RetryBudget == 0 {
		opts.RetryBudget = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	} else if cs, ok := opts.TokenSource.(clockSetter); ok {
		cs.setDefaultClock(opts.Now) // Config.Now, when set, still wins
	}
	if opts.TrustedHost == nil {
		opts.TrustedHost = defaultTrustedHost(base)
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewDefaultTransport()}
	}
	opts.FileHosts = append([]string(nil), opts.FileHosts...)
	c := &Client{BaseURL: base, CompanyID: opts.CompanyID, opts: opts,
		budget: httpclient.NewBudget(opts.RetryBudget)}
	tr := hc.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.raw = &http.Client{Transport: &transport{c: c, base: tr}, CheckRedirect: noRedirect, Timeout: hc.Timeout, Jar: hc.Jar}
	c.api = httpclient.NewRetryClient(c.raw, httpclient.Policy{
		RetryMax:     opts.RetryMax,
		RetryWaitMin: opts.RetryWaitMin,
		RetryWaitMax: opts.RetryWaitMax,
		Budget:       c.budget,
		Retry:        c.checkRetry,
		Backoff:      c.backoff,
	})
	c.Users = &UsersService{c}
	c.Companies = &CompaniesService{c}
	c.Projects = &ProjectsService{c}
	c.Folders = &FoldersService{c}
	c.Files = &FilesService{c}
	c.FileVersions = &FileVersionsService{c}
	c.Documents = &DocumentsService{c}
	c.Uploads = &UploadsService{c}
	c.Webhooks = &WebhooksService{c}
	c.ImageCategories = &ImageCategoriesService{c}
	c.Images = &ImagesService{c}
	c.RFIs = &RFIsService{c}
	c.Submittals = &SubmittalsService{c}
	c.Observations = &ObservationsService{c}
	c.Inspections = &InspectionsService{c}
	c.Incidents = &IncidentsService{c}
	c.Forms = &FormsService{c}
	c.Commitments = &CommitmentsService{c}
	c.FormTemplates = &FormTemplatesService{c}
	c.DailyLogs = &DailyLogsService{c}
	c.Drawings = &DrawingsService{c}
	return c, nil
}

// ---- request plumbing ----

type ctxKey int

const (
	keyCall ctxKey = iota
)

// callInfo travels in the request context to the transport and the retry
// policy.
type callInfo struct {
	auth       bool // send the bearer token (Procore host)
	pace       bool // count against the Procore budget
	idempotent bool
	stream     bool // do not buffer the response body
}

func withCall(ctx context.Context, ci callInfo) context.Context {
	return context.WithValue(ctx, keyCall, ci)
}

func callOf(ctx context.Context) callInfo {
	ci, _ := ctx.Value(keyCall).(callInfo)
	return ci
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// transport paces, authenticates and observes each attempt, and buffers
// API responses so that a truncated body is a retryable transport error.
type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ci := callOf(req.Context())
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if ci.auth && c.trusted(req.URL.Host) && mayCarryToken(c.BaseURL, req.URL) {
		tok, err := tokenFor(req.Context(), c.opts.TokenSource)
		if err != nil {
			return nil, &AuthError{Err: err}
		}
		tok.SetAuthHeader(req)
		req.Header.Set("Procore-Company-Id", strconv.FormatInt(c.CompanyID, 10))
	} else {
		req.Header.Del("Authorization")
	}
	pace := httpclient.Pace{Pacer: c.opts.Pacer, Key: c.opts.PaceKey}
	if ci.pace {
		if err := pace.Wait(req.Context()); err != nil {
			return nil, err
		}
	}
	c.budget.Earn()
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, httpclient.RedactError(err, true)
	}
	if ci.pace {
		pace.Observe(feedback(resp.Header, c.opts.Now()))
	}
	if !ci.stream {
		limit := c.opts.MaxResponseBytes
		if resp.ContentLength > limit {
			resp.Body.Close()
			return nil, &ResponseTooLargeError{Method: req.Method, Path: req.URL.Path, Limit: limit}
		}
		body, rerr := httpclient.ReadBody(resp.Body, limit)
		resp.Body.Close()
		var tooLarge *httpclient.TooLargeError
		if errors.As(rerr, &tooLarge) {
			return nil, &ResponseTooLargeError{Method: req.Method, Path: req.URL.Path, Limit: limit}
		}
		if rerr != nil {
			return nil, fmt.Errorf("procore: reading response of %s %s: %w", req.Method, req.URL.Path, rerr)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// ResponseTooLargeError is a response whose body exceeds
// Options.MaxResponseBytes. It matches ErrResponseTooLarge and is not
// retried.
type ResponseTooLargeError struct {
	Method, Path string
	Limit        int64
}

// Error names the call and the limit.
func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("procore: %s %s: response body larger than %d bytes", e.Method, e.Path, e.Limit)
}

// Is reports whether target is ErrResponseTooLarge.
func (e *ResponseTooLargeError) Is(target error) bool { return target == ErrResponseTooLarge }

// trusted reports whether host (as in URL.Host) may receive the bearer
// token: a host TrustedHost trusts or one listed in FileHosts.
func (c *Client) trusted(host string) bool {
	if c.opts.TrustedHost(host) {
		return true
	}
	// FileHosts without a port: any port.
	return httpclient.HostListed(c.opts.FileHosts, host, httpclient.AnyPort)
}

// isAPIHost reports whether host (as in URL.Host) is the configured API
// host, whose calls count against Procore's rate limit and are paced.
func (c *Client) isAPIHost(host string) bool {
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), ":443") }
	return norm(host) == norm(c.BaseURL.Host)
}

// hostName returns the host name of a URL.Host value, without the port
// and IPv6 brackets.
func hostName(host string) string {
	return (&url.URL{Host: host}).Hostname()
}

// newRequest builds a request for an API path (relative to BaseURL) or an
// absolute URL, with a JSON body when body is not nil.
func (c *Client) newRequest(ctx context.Context, method, urlStr string, body any) (*retryablehttp.Request, error) {
	u := urlStr
	if !strings.HasPrefix(urlStr, "http://") && !strings.HasPrefix(urlStr, "https://") {
		u = c.BaseURL.String() + urlStr
	}
	var raw any
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	ctx = withCall(ctx, callInfo{auth: true, pace: true, idempotent: idempotent(method)})
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u, raw)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends req and decodes a 2xx JSON body into v (when not nil). Non-2xx
// responses become *ErrorResponse or *RateLimitError.
func (c *Client) do(req *retryablehttp.Request, v any) (*Response, error) {
	resp, err := c.api.Do(req)
	if err == nil && c.reauth(resp) {
		// One refresh and one retry after a 401; a second 401 is returned.
		resp.Body.Close()
		resp, err = c.api.Do(req)
	}
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	defer resp.Body.Close()
	r := newResponse(resp)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return r, newError(resp, body, c.opts.Now())
	}
	r.digest = sha256.Sum256(body)
	if v != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, v); err != nil {
			return r, fmt.Errorf("%w: %s %s: %v", ErrMalformedResponse, req.Method, req.URL.Path, err)
		}
	}
	return r, nil
}

// reauth reports whether resp is a 401 to an authenticated request whose
// token the token source has now dropped, so that one retry will carry a
// fresh token (Procore answers 401 "The access token is invalid" for
// expired and revoked tokens alike).
func (c *Client) reauth(resp *http.Response) bool {
	if resp.StatusCode != http.StatusUnauthorized || resp.Request == nil {
		return false
	}
	stale, ok := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || stale == "" {
		return false
	}
	inv, ok := c.opts.TokenSource.(TokenInvalidator)
	return ok && inv.InvalidateToken(stale)
}

// get is newRequest + do for GET.
func (c *Client) get(ctx context.Context, path string, v any) (*Response, error) {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req, v)
}

// send is newRequest + do with a JSON body.
func (c *Client) send(ctx context.Context, method, path string, body, v any) (*Response, error) {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	return c.do(req, v)
}

// ---- Response, pagination, rate state ----

// Rate is the rate-limit state a response reported (X-Rate-Limit-*).
type Rate struct {
	Limit     int       // X-Rate-Limit-Limit
	Remaining int       // X-Rate-Limit-Remaining
	Reset     time.Time // X-Rate-Limit-Reset
}

// Response wraps an http.Response with Procore's pagination and rate-limit
// headers.
type Response struct {
	*http.Response
	// NextPage, PrevPage, FirstPage and LastPage are the page numbers from
	// the Link header (0: absent).
	NextPage, PrevPage, FirstPage, LastPage int
	// NextURL is the rel="next" link, if any.
	NextURL string
	// Total and PerPage are the Total and Per-Page headers (0: absent).
	Total, PerPage int
	// Rate is the rate-limit state.
	Rate Rate

	digest [32]byte // SHA-256 of the body (2xx responses)
}

func newResponse(r *http.Response) *Response {
	resp := &Response{Response: r}
	h := r.Header
	resp.Total, _ = strconv.Atoi(h.Get("Total"))
	resp.PerPage, _ = strconv.Atoi(h.Get("Per-Page"))
	resp.Rate = parseRate(h)
	for _, link := range strings.Split(h.Get("Link"), ",") {
		segs := strings.Split(strings.TrimSpace(link), ";")
		if len(segs) < 2 {
			continue
		}
		raw := strings.Trim(strings.TrimSpace(segs[0]), "<>")
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		page, _ := strconv.Atoi(u.Query().Get("page"))
		for _, p := range segs[1:] {
			switch strings.ReplaceAll(strings.TrimSpace(p), " ", "") {
			case `rel="next"`:
				resp.NextPage, resp.NextURL = page, raw
			case `rel="prev"`:
				resp.PrevPage = page
			case `rel="first"`:
				resp.FirstPage = page
			case `rel="last"`:
				resp.LastPage = page
			}
		}
	}
	return resp
}

func parseRate(h http.Header) Rate {
	var r Rate
	r.Limit, _ = strconv.Atoi(h.Get("X-Rate-Limit-Limit"))
	r.Remaining, _ = strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	if s, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64); err == nil {
		r.Reset = time.Unix(s, 0)
	}
	return r
}

func feedback(h http.Header, now time.Time) storage.Feedback {
	r := parseRate(h)
	fb := storage.Feedback{Limit: r.Limit, Remaining: r.Remaining, Reset: r.Reset}
	if h.Get("X-Rate-Limit-Remaining") == "" {
		fb.Remaining = 0
		fb.Limit = 0
	}
	if d, ok := httpclient.RetryAfter(h, now); ok {
		fb.RetryAfter = d
	}
	return fb
}

// ListOptions are the page and per_page query parameters.
type ListOptions struct {
	Page    int // 1-based (0: first)
	PerPage int // 0: the endpoint's default
}

func (o *ListOptions) apply(q url.Values) {
	if o == nil {
		return
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
}

// MaxPages is the most pages one listing reads before it stops with a
// *PaginationError: a sanity cap (at 2,000 items a page, 200 million
// items) so that no listing can run forever.
const MaxPages = 100_000

// ErrPagination is matched (errors.Is) by a *PaginationError.
var ErrPagination = errors.New("procore: pagination does not end")

// PaginationError stops a listing whose pages do not end: a Link rel="next"
// that points back to a page already read, the same full page served
// twice, or more than MaxPages pages.
type PaginationError struct {
	Path   string // the request path, without its query
	Page   int    // the page at which the listing stopped
	Reason string
}

// Error describes where and why the listing stopped.
func (e *PaginationError) Error() string {
	return fmt.Sprintf("procore: listing %s stopped at page %d: %s", e.Path, e.Page, e.Reason)
}

// Is reports whether target is ErrPagination.
func (e *PaginationError) Is(target error) bool { return target == ErrPagination }

// requestedPerPage is the per_page a response's request asked for, or its
// Per-Page header (0: unknown).
func requestedPerPage(resp *Response) int {
	if resp.PerPage > 0 {
		return resp.PerPage
	}
	if resp.Response != nil && resp.Request != nil {
		n, _ := strconv.Atoi(resp.Request.URL.Query().Get("per_page"))
		return n
	}
	return 0
}

// pageDone decides how a listing goes on after a page of n items (the
// Procore pagination guide; independent clients page until a short or
// empty page, and not every endpoint sends Link): it follows Link
// rel="next" when the response has a Link header, and otherwise reads the
// next page until a short or empty page or Total items. It returns the next
// page, or 0 when the listing is complete.
func pageDone(resp *Response, page, n, read int) (next int, err error) {
	if n == 0 || resp == nil {
		return 0, nil
	}
	path := ""
	if resp.Response != nil && resp.Request != nil {
		path = resp.Request.URL.Path
	}
	if resp.Header.Get("Link") != "" {
		if resp.NextPage == 0 {
			return 0, nil
		}
		if resp.NextPage <= page {
			return 0, &PaginationError{Path: path, Page: page, Reason: fmt.Sprintf("Link rel=\"next\" points back to page %d", resp.NextPage)}
		}
		return resp.NextPage, nil
	}
	if pp := requestedPerPage(resp); pp > 0 && n != pp {
		// A short page ends the listing; a longer one than asked for
		// comes from an endpoint that does not paginate and gave it all.
		return 0, nil
	}
	if resp.Total > 0 && read >= resp.Total {
		return 0, nil
	}
	return page + 1, nil
}

// pageDigest fingerprints a page's body, to recognise a page served twice.
func pageDigest(resp *Response) [32]byte {
	if resp == nil {
		return [32]byte{}
	}
	return resp.digest
}

// paginate turns a page fetcher into an iterator over every item of every
// page (see pageDone), bounded by MaxPages; the same full page served
// twice (a server that ignores the page parameter) stops it with a
// *PaginationError.
func paginate[T any](ctx context.Context, first int, fetch func(page int) ([]T, *Response, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		page := max(first, 1)
		seen := map[[32]byte]int{}
		read := 0
		for pages := 1; ; pages++ {
			items, resp, err := fetch(page)
			if err != nil {
				yield(zero, err)
				return
			}
			if len(items) > 0 && resp != nil {
				d := pageDigest(resp)
				if prev, dup := seen[d]; dup && d != ([32]byte{}) {
					yield(zero, &PaginationError{Path: resp.Request.URL.Path, Page: page,
						Reason: fmt.Sprintf("page %d repeats page %d", page, prev)})
					return
				}
				seen[d] = page
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			read += len(items)
			next, err := pageDone(resp, page, len(items), read)
			if err != nil {
				yield(zero, err)
				return
			}
			if next == 0 {
				return
			}
			if pages >= MaxPages {
				yield(zero, &PaginationError{Path: resp.Request.URL.Path, Page: page, Reason: fmt.Sprintf("more than %d pages", MaxPages)})
				return
			}
			page = next
			if ctx.Err() != nil {
				yield(zero, ctx.Err())
				return
			}
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

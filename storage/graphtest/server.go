// Package graphtest is an in-process fake of the Microsoft Graph drives API
// (OneDrive and SharePoint), in the manner of net/http/httptest. It serves
// the paths, methods, headers, status codes and JSON shapes that the
// published API description gives, with in-memory state, so that
// procoresync's own tests and users' integration tests run offline.
//
// It serves:
// drive, user-drive and site/document-library addressing including the
// root:/path: and items/{id}:/path: colon syntax; case-insensitive names
// and case-sensitive IDs; eTag and cTag semantics; children paging with
// absolute @odata.nextLink; delta with next and delta links, token=latest
// and 410 resync with Location; conflict-behaviour defaults per operation;
// If-Match on PATCH, DELETE, PUT and createUploadSession; SharePoint's
// versions (every content write, and every PATCH of a file's
// fileSystemInfo, adds one); server-side copy with a monitor URL;
// upload sessions on a second host; downloads redirected to that host with
// Range; injectable 429/503 with Retry-After, 423, 507 and pathIsTooLong;
// subscriptions with the validation handshake and notifications; an OAuth
// token endpoint; an API-call counter by operation; and helpers that change
// items as a person would in the SharePoint web UI.
package graphtest

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server. The zero value is a OneDrive for Business /
// SharePoint flavoured fake with a real clock.
type Options struct {
	// Now is the fake's clock (default time.Now). Token and upload-session
	// expiry and item timestamps use it.
	Now func() time.Time
	// PageSize is the default page size of children and delta (default 200).
	PageSize int
	// MaxPageSize caps $top (default 1000).
	MaxPageSize int
	// SimpleUploadLimit is the largest simple PUT upload (default 250 MB).
	SimpleUploadLimit int64
	// Personal makes the fake behave like OneDrive Personal: folders carry a
	// cTag (Business and SharePoint folders have none).
	Personal bool
	// AllowAuthOnPreauthenticated accepts an Authorization header on the
	// pre-authenticated download and upload URLs. By default the fake
	// answers 401, so that a client leaking its token there fails its tests.
	AllowAuthOnPreauthenticated bool
	// DiscardContent keeps only the size and QuickXorHash of uploaded files,
	// not their bytes (for benchmarks of very large uploads); downloads of
	// such files fail with 501.
	DiscardContent bool
	// NoAuth accepts requests without a valid bearer token.
	NoAuth bool
	// MaxPathLength is the longest path from the drive root (default 400).
	MaxPathLength int
	// QuotaBytes is each drive's quota (default 1 TiB).
	QuotaBytes int64
	// Tenant is the tenant ID reported in notifications (default a GUID).
	Tenant string
	// PreAuthDisabled behaves like a tenant that switched pre-authenticated
	// content URLs off (Set-SPOTenantPreAuthSettings), as every OneDrive for
	// Business and SharePoint tenant will be once they are retired:
	// download URLs carry no tempauth and need a bearer token for the
	// SharePoint resource (scope {ContentResource}/.default); SharePoint
	// refuses app-only tokens obtained with a client secret there. By
	// default download URLs carry tempauth and refuse an Authorization
	// header.
	PreAuthDisabled bool
}

// Exchange is one request the fake served and its response, given to the
// Observe hook (the contract tests validate both against the OpenAPI
// description).
type Exchange struct {
	// Op is the operation, named by the description's operationId where
	// there is one (e.g. "drives.GetItem", "uploadSession.PutFragment").
	Op string
	// Request is the request, with Body re-readable from ReqBody.
	Request *http.Request
	// ReqBody is the request body (empty for fragments over 1 MiB).
	ReqBody []byte
	// Status, Header and Body are the response.
	Status int
	Header http.Header
	Body   []byte
}

// Server is a fake Microsoft Graph. API serves graph.microsoft.com and the
// login endpoint; Content is the second host that serves pre-authenticated
// downloads and upload sessions.
type Server struct {
	API, Content *httptest.Server

	opt Options

	mu        sync.Mutex
	drives    map[string]*drive
	driveList []string
	users     map[string]string // lower(id or upn) -> user id
	userDrive map[string]string // user id -> drive id
	me        string
	sites     map[string]*site // id -> site
	siteList  []string
	tokens    map[string]time.Time // access token -> expiry
	refresh   map[string]time.Time // refresh token -> expiry
	content   map[string]contentToken
	certs     map[string][]*x509.Certificate // client id -> certificates
	codes     map[string]bool
	sessions  map[string]*session
	downloads map[string]ticket
	subs      map[string]*subscription
	jobs      map[string]*copyJob
	faults    []*Fault
	calls     map[string]int
	rewrite   bool
	counter   int
	observe   func(Exchange)

	buffers sync.Pool // *[]byte for upload fragments

	notify chan struct{}
	done   chan struct{}
	wg     sync.WaitGroup
}

// MeUser is the ID of the signed-in user that /me addresses.
const MeUser = "11111111-2222-3333-4444-555555555555"

// MeUPN is that user's principal name.
const MeUPN = "adele@contoso.onmicrosoft.com"

// SharePointHost is the tenant's SharePoint host name in the fake.
const SharePointHost = "contoso.sharepoint.com"

// New starts a fake with one user (MeUser, whose drive /me/drive
// addresses) and the tenant root site with its default "Documents"
// library. Close it when done.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 200
	}
	if opt.MaxPageSize <= 0 {
		opt.MaxPageSize = 1000
	}
	if opt.SimpleUploadLimit <= 0 {
		opt.SimpleUploadLimit = 250_000_000
	}
	if opt.MaxPathLength <= 0 {
		opt.MaxPathLength = 400
	}
	if opt.QuotaBytes <= 0 {
		opt.QuotaBytes = 1 << 40
	}
	if opt.Tenant == "" {
		opt.Tenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	}
	s := &Server{
		opt: opt, drives: map[string]*drive{}, users: map[string]string{}, userDrive: map[string]string{},
		sites: map[string]*site{}, tokens: map[string]time.Time{}, refresh: map[string]time.Time{},
		content: map[string]contentToken{}, certs: map[string][]*x509.Certificate{},
		codes: map[string]bool{}, sessions: map[string]*session{}, downloads: map[string]ticket{},
		subs: map[string]*subscription{}, jobs: map[string]*copyJob{}, calls: map[string]int{},
		notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	s.buffers.New = func() any { return new([]byte) }
	s.API = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.Content = httptest.NewServer(http.HandlerFunc(s.serveContent))
	s.me = MeUser
	s.AddUser(MeUser, MeUPN)
	root := s.AddSite(SharePointHost, "", "Communication site")
	_ = root
	s.wg.Add(1)
	go s.deliverLoop()
	return s
}

// NewServer starts a fake for a test and closes it when the test ends.
func NewServer(tb testing.TB, opt Options) *Server {
	s := New(opt)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts both hosts down.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.wg.Wait()
	s.API.Close()
	s.Content.Close()
}

// BaseURL is the Graph v1.0 endpoint of the fake
// (https://graph.microsoft.com/v1.0 in production).
func (s *Server) BaseURL() string { return s.API.URL + "/v1.0" }

// LoginURL is the identity platform host of the fake
// (https://login.microsoftonline.com in production); token requests go to
// {LoginURL}/{tenant}/oauth2/v2.0/token.
func (s *Server) LoginURL() string { return s.API.URL }

// Observe sets a hook that sees every exchange the fake serves (nil to
// remove it). The hook runs synchronously before the response is sent.
func (s *Server) Observe(f func(Exchange)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = f
}

// Calls returns the number of API calls served per operation since the
// last ResetCalls, including calls answered with injected faults.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// CallCount returns the calls of operation op ("" for all operations).
func (s *Server) CallCount(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op != "" {
		return s.calls[op]
	}
	n := 0
	for _, v := range s.calls {
		n += v
	}
	return n
}

// ResetCalls zeroes the call counter.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// Fault is an injected failure: the next Times calls of operation Op (all
// operations when Op is empty) are answered with Status and an error body
// of Code with the nested inner codes Inner, and Retry-After when
// RetryAfter is set. With AfterApply the request is carried out first and
// only its response replaced, as when a response is lost on the way.
// Disconnect drops the connection instead of answering; Truncate sends the
// real response's headers and half its body, then drops the connection.
type Fault struct {
	Op         string
	Status     int
	Code       string
	Inner      []string
	RetryAfter time.Duration
	Times      int
	AfterApply bool
	Disconnect bool
	Truncate   bool
}

// Inject adds a fault. Faults are used in the order they were added.
func (s *Server) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Code == "" {
		f.Code = defaultCode(f.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Throttle makes the next n calls of op (all when empty) fail with 429
// activityLimitReached and Retry-After d.
func (s *Server) Throttle(op string, n int, d time.Duration) {
	s.Inject(Fault{Op: op, Status: http.StatusTooManyRequests, Code: "activityLimitReached",
		Inner: []string{"throttledRequest", "quota"}, RetryAfter: d, Times: n})
}

func defaultCode(status int) string {
	switch status {
	case 400:
		return "invalidRequest"
	case 401:
		return "unauthenticated"
	case 403:
		return "accessDenied"
	case 404:
		return "itemNotFound"
	case 409:
		return "nameAlreadyExists"
	case 412:
		return "resourceModified"
	case 416:
		return "invalidRange"
	case 423:
		return "notAllowed"
	case 429:
		return "activityLimitReached"
	case 503:
		return "serviceNotAvailable"
	case 507:
		return "quotaLimitReached"
	}
	return "generalException"
}

func (s *Server) takeFault(op string) *Fault {
	for i, f := range s.faults {
		if f.Op == "" || f.Op == op {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (s *Server) now() time.Time { return s.opt.Now().UTC().Truncate(time.Second) }

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiError is an error response in Graph's shape.
type apiError struct {
	status     int
	code       string
	msg        string
	inner      []string
	retryAfter time.Duration
	header     map[string]string
}

// Error describes the API error.
func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) withInner(codes ...string) *apiError { e.inner = codes; return e }

func (s *Server) errorBody(e *apiError) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"error":{"code":%q,"message":%q`, e.code, e.msg)
	now := s.now().Format(time.RFC3339)
	inner := append([]string(nil), e.inner...)
	b.WriteString(`,"innerError":{`)
	if len(inner) > 0 {
		fmt.Fprintf(&b, `"code":%q,`, inner[0])
	}
	fmt.Fprintf(&b, `"date":%q,"request-id":%q,"client-request-id":%q`, now, randomToken(8), randomToken(8))
	for _, c := range inner[min(1, len(inner)):] {
		fmt.Fprintf(&b, `,"innerError":{"code":%q`, c)
	}
	for range inner[min(1, len(inner)):] {
		b.WriteString("}")
	}
	b.WriteString("}}}")
	return []byte(b.String())
}

// recorder buffers a response so that faults, the call hook and
// Retry-After can be applied before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

// Header returns the buffered headers.
func (r *recorder) Header() http.Header { return r.header }

// Write buffers body bytes.
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(p)
}

// WriteHeader records the status (the first one wins).
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) writeError(s *Server, e *apiError) {
	r.header = http.Header{}
	r.body.Reset()
	r.header.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		r.header.Set("Retry-After", fmt.Sprint(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	for k, v := range e.header {
		r.header.Set(k, v)
	}
	r.status = e.status
	r.body.Write(s.errorBody(e))
}

// handler serves one operation into a recorder.
type handler func(w *recorder, r *http.Request, body []byte) *apiError

// serve runs h for op with fault injection, counting and the hook.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, op string, body []byte, h handler) {
	s.mu.Lock()
	s.calls[op]++
	f := s.takeFault(op)
	obs := s.observe
	s.mu.Unlock()
	rec := newRecorder()
	if f == nil || f.AfterApply || f.Truncate {
		if e := h(rec, r, body); e != nil {
			rec.writeError(s, e)
		}
	}
	if f != nil && (f.Disconnect || f.Truncate) {
		s.drop(w, rec, f.Truncate)
		return
	}
	if f != nil {
		rec.writeError(s, &apiError{status: f.Status, code: f.Code, msg: "injected fault", inner: f.Inner, retryAfter: f.RetryAfter})
	}
	if rec.status == 0 {
		rec.status = 200
	}
	if obs != nil {
		rb := body
		if len(rb) > 1<<20 {
			rb = nil
		}
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(rb))
		obs(Exchange{Op: op, Request: req, ReqBody: rb, Status: rec.status, Header: rec.header.Clone(), Body: rec.body.Bytes()})
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// drop closes the connection, after half of the response when truncate.
func (s *Server) drop(w http.ResponseWriter, rec *recorder, truncate bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("graphtest: the response writer cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if truncate {
		if rec.status == 0 {
			rec.status = 200
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
		rec.header.Set("Content-Length", fmt.Sprint(rec.body.Len()))
		_ = rec.header.Write(buf)
		buf.WriteString("\r\n")
		_, _ = buf.Write(rec.body.Bytes()[:rec.body.Len()/2])
		_ = buf.Flush()
	}
}

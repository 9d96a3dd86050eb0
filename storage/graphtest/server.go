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
// subscriptions with the validation handshake, notifications and a paged
// listing that withholds clientState; an OAuth
// token endpoint; an API-call counter by operation; and helpers that change
// items as a person would in the SharePoint web UI.
package graphtest

import (
	"cmp"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// Options configure a Server. The zero value is a OneDrive for Business /
// SharePoint flavoured fake with a real clock.
type Options struct {
	// Now is the fake's clock (default time.Now). Token and upload-session
	// expiry and item timestamps use it.
	Now func() time.Time
	// PageSize is the default page size of children and delta, and the
	// page size of the subscriptions listing (default 200).
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
// description). Op is named by the description's operationId where there
// is one (e.g. "drives.GetItem", "uploadSession.PutFragment"); ReqBody is
// empty for fragments over 1 MiB.
type Exchange = fakeservice.Exchange

// The fake's hosts, as call counts by host name them.
const (
	HostAPI     = "api"     // graph.microsoft.com and the login endpoint
	HostContent = "content" // pre-authenticated downloads and upload sessions
)

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
	tokens    *fakeservice.Tokens // Graph access tokens
	refresh   *fakeservice.Tokens // refresh tokens
	content   map[string]contentToken
	certs     map[string][]*x509.Certificate // client id -> certificates
	codes     map[string]bool
	pkce      map[string][2]string // authorization code -> PKCE method and challenge (oauthpage.go)
	sessions  map[string]*session
	downloads map[string]ticket
	subs      map[string]*subscription
	jobs      map[string]*copyJob
	rewrite   bool
	counter   int

	svc fakeservice.Service

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
		sites:   map[string]*site{},
		content: map[string]contentToken{}, certs: map[string][]*x509.Certificate{},
		codes: map[string]bool{}, sessions: map[string]*session{}, downloads: map[string]ticket{},
		subs: map[string]*subscription{}, jobs: map[string]*copyJob{},
		notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	s.tokens, s.refresh = fakeservice.NewTokens(s.now), fakeservice.NewTokens(s.now)
	s.svc.MaxRecordedBody = 1 << 20
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
func (s *Server) Observe(f func(Exchange)) { s.svc.Observe(f) }

// Calls returns the number of API calls served per operation since the
// last ResetCalls, including calls answered with injected faults.
func (s *Server) Calls() map[string]int { return s.svc.Calls.ByOp() }

// CallCount returns the calls of operation op ("" for all operations).
func (s *Server) CallCount(op string) int { return s.svc.Calls.Op(op) }

// CallsByHost returns the calls served on host (HostAPI or HostContent)
// since the last ResetCalls.
func (s *Server) CallsByHost(host string) int { return s.svc.Calls.Host(host) }

// ResetCalls zeroes the call counts.
func (s *Server) ResetCalls() { s.svc.Calls.Reset() }

// String lists the call counts by host and operation, for benchmark
// output.
func (s *Server) String() string { return s.svc.Calls.String() }

// Fault is an injected failure (see fakeservice.Fault for every field).
// The fake answers a Status with Graph's error body: Code (default the
// usual code for the status, e.g. "activityLimitReached" for 429) with
// the nested inner codes Inner.
type Fault = fakeservice.Fault

// Inject adds a fault; faults apply in the order they were added. A
// Fault's Op is an operation named as Exchange.Op names it, its Host
// HostAPI or HostContent.
func (s *Server) Inject(f Fault) { s.svc.Faults.Inject(f) }

// Throttle makes the next n calls of op (all when empty) fail with 429
// activityLimitReached and Retry-After d.
func (s *Server) Throttle(op string, n int, d time.Duration) {
	s.Inject(Fault{Op: op, Status: http.StatusTooManyRequests, Code: "activityLimitReached",
		Inner: []string{"throttledRequest", "quota"}, RetryAfter: d, Times: n})
}

// ClearFaults removes every injected fault that has not applied yet.
func (s *Server) ClearFaults() { s.svc.Faults.Clear() }

// AllOps as a Fault's Op matches every operation on both hosts; Forever
// as its Times applies it until ClearFaults.
const AllOps, Forever = fakeservice.AllOps, fakeservice.Forever

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

// recorder buffers a response so that faults, the observer and
// Retry-After can be applied before it is sent.
type recorder = fakeservice.Recorder

func (s *Server) writeError(r *recorder, e *apiError) {
	r.Reset()
	r.Header().Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		r.Header().Set("Retry-After", fmt.Sprint(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	for k, v := range e.header {
		r.Header().Set(k, v)
	}
	r.WriteHeader(e.status)
	_, _ = r.Write(s.errorBody(e))
}

// handler serves one operation into a recorder.
type handler func(w *recorder, r *http.Request, body []byte) *apiError

// serve runs h for op on host through the shared fake machinery: call
// counting, fault injection, the observer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, host, op string, body []byte, h handler) {
	s.svc.Serve(w, r, fakeservice.Call{Host: host, Op: op, Body: body,
		Handle: func(rec *recorder) {
			if e := h(rec, r, body); e != nil {
				s.writeError(rec, e)
			}
		},
		WriteFault: func(rec *recorder, f *Fault) {
			code := cmp.Or(f.Code, defaultCode(f.Status))
			if f.WriteBody(rec) {
				return
			}
			s.writeError(rec, &apiError{status: f.Status, code: code, msg: "injected fault", inner: f.Inner})
		},
	})
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// Package procoretest is an in-process fake of the Procore REST API, in the
// manner of net/http/httptest: it serves the same paths, query parameters,
// headers, status codes and JSON shapes as the real API (as described in
// Procore's published endpoint descriptions and the project's research
// note), keeps companies, projects, documents, uploads and photos in memory,
// and adds what tests and benchmarks need: a call counter by operation and
// by host, rate limits on a fake clock, fault injection, and helpers that
// change data as a person would in Procore's web UI.
//
// The fake listens on three hosts, as Procore serves files:
//
//   - the API host (URL), also the OAuth host: the REST API, which counts
//     every call against the token's rate limit and reports it in the
//     X-Rate-Limit-* headers;
//   - the Procore file host (FileURL), standing in for storage.procore.com:
//     the file URLs that listings and shows carry (file_versions[].url,
//     prostore_file.url, image url) live there. It requires the bearer
//     token (401 without), is not rate-limited, sends no X-Rate-Limit-*
//     headers, and redirects (302) to a presigned URL on the storage host;
//   - the storage host (StorageURL), standing in for the presigned object
//     store (AWS S3) that uploads go to and downloads are redirected to. It
//     rejects requests that carry an Authorization header, as presigned S3
//     URLs do.
//
// The file host and the API host share a host name (127.0.0.1) on
// different ports, while the storage host is named "localhost": a client
// that trusts the API host name, as procore.Client does by default, sends
// its token to the file host and never to the storage host.
package procoretest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// Host names one of the fake's three hosts in call counts and exchanges.
type Host = string

// The fake's hosts. HostAPI counts only REST API and OAuth calls (the
// calls Procore's rate limit applies to), HostStorage only presigned
// object-store calls (upload form POSTs, part PUTs, redirected downloads),
// and HostFile the Procore file host's download URLs, which before the
// file host existed were served, and counted, on the API host.
const (
	HostAPI     = "api"     // the Procore API and OAuth host (api.procore.com)
	HostFile    = "file"    // the Procore file host (storage.procore.com)
	HostStorage = "storage" // the presigned object store (S3)
)

// The default rate limits: the budgets shown in Procore's current
// rate-limiting guide (600 calls an hour, 25 in 10 seconds; the historical
// figures were 3,600 and 100). Clients must read the X-Rate-Limit-*
// headers rather than assume a figure.
const (
	DefaultHourlyLimit = 600
	DefaultSpikeLimit  = 25
)

// Options configure a Server. The zero value gives Procore's documented
// defaults.
type Options struct {
	// Now is the fake's clock (default time.Now). Token expiry, rate-limit
	// windows, timestamps and upload expiry all read it.
	Now func() time.Time
	// HourlyLimit and SpikeLimit are the calls one access token may make
	// per hour and per 10 seconds (defaults DefaultHourlyLimit and
	// DefaultSpikeLimit, the figures of Procore's current rate-limiting
	// guide; negative: no limit).
	HourlyLimit, SpikeLimit int
	// RetryAfterOn429 adds a Retry-After header to 429 responses. Whether
	// Procore sends one on its 429s is unconfirmed against a live tenant.
	RetryAfterOn429 bool
	// MissingCompanyStatus is the status of a request without the
	// Procore-Company-Id header (default 404, as observed; the status is
	// undocumented).
	MissingCompanyStatus int
	// MaxPerPage caps per_page (default 10000, the historical maximum).
	MaxPerPage int
	// OmitLink leaves the Link header out of paginated responses (Procore
	// says not every endpoint sends it): clients must then page until a
	// short or empty page, or Total items.
	OmitLink bool
	// LargeUploadBytes is the size from which a completed upload keeps
	// only its size and per-segment SHA-256 digests instead of its bytes
	// (default 256 MiB; negative: always keep the bytes), so that tests
	// can upload files of many GiB. Such content cannot be downloaded; see
	// Server.Content.
	LargeUploadBytes int64
	// TokenLifetime is the access token lifetime (default 5400 s).
	TokenLifetime time.Duration
	// WebhookRetry paces webhook delivery retries (real time).
	WebhookRetry WebhookRetry
	// OnExchange, when set, is called for every request with the
	// operation, the request, its body, and the response status and body,
	// before the response is sent (a connection reset by a Fault is not
	// shown). Contract tests use it to validate traffic. Server.Observe
	// changes it later.
	OnExchange func(Exchange)
}

// Exchange is one request and its response, as seen by the fake: Op is
// the operation id (e.g. "RestV10FoldersIdGet"), Host one of HostAPI,
// HostFile and HostStorage.
type Exchange = fakeservice.Exchange

// Server is a running fake. Create it with New and Close it when done.
type Server struct {
	// URL is the base URL of the API and OAuth host, e.g.
	// "http://127.0.0.1:40123".
	URL string
	// FileURL is the base URL of the Procore file host, which serves the
	// file and image download URLs (e.g. "http://127.0.0.1:40125").
	FileURL string
	// StorageURL is the base URL of the storage host (the presigned object
	// store), e.g. "http://localhost:40124".
	StorageURL string
	// ClientID and ClientSecret are the credentials of the app the fake
	// knows from the start.
	ClientID, ClientSecret string
	// CompanyID, ProjectID and UserID name the company, project and user
	// the fake holds from the start.
	CompanyID, ProjectID, UserID int64

	api, files, store *httptest.Server
	opts              Options
	secret            []byte

	mu        sync.Mutex
	nextID    int64
	companies map[int64]*company
	projects  map[int64]*project
	users     map[int64]*user
	apps      map[string]string // client id → secret
	codes     map[string]*grant
	pkce      map[string][2]string // authorization code -> PKCE method and challenge (oauthpage.go)
	access    map[string]*accessToken
	refresh   map[string]*grant
	windows   map[string]*rateWindows

	scopes  map[string]*docScope
	nodes   map[int64]*node
	uploads map[string]*upload
	blobs   map[string][]byte     // storage key → content
	large   map[string]*largeBlob // storage key → digests of content too large to keep

	wh  *webhookState
	ph  *photoState
	rec *recordState   // the one-way record tools (records.go)
	dl  *dailyLogState // the Daily Log (dailylogs.go)
	dw  *drawingState  // Drawings (drawings.go)

	svc fakeservice.Service // call counts, faults, the exchange observer
}

type company struct {
	ID   int64
	Name string
}

type project struct {
	ID, CompanyID int64
	Name          string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

type user struct {
	ID          int64
	Login, Name string
}

type grant struct {
	UserID      int64
	RedirectURI string
	ClientID    string
	Expires     time.Time
}

type accessToken struct {
	UserID            int64
	ClientID          string
	ClientCredentials bool
	Created, Expires  time.Time
	Scopes            []string
	Refresh           string // the refresh token issued with it ("" for client credentials)
}

// New starts a fake holding one company, one project, one user and one
// OAuth app. Close it when done (t.Cleanup(srv.Close)).
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HourlyLimit == 0 {
		opts.HourlyLimit = DefaultHourlyLimit
	}
	if opts.SpikeLimit == 0 {
		opts.SpikeLimit = DefaultSpikeLimit
	}
	if opts.MissingCompanyStatus == 0 {
		opts.MissingCompanyStatus = http.StatusNotFound
	}
	if opts.LargeUploadBytes == 0 {
		opts.LargeUploadBytes = 256 << 20
	}
	if opts.MaxPerPage == 0 {
		opts.MaxPerPage = 10000
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = 5400 * time.Second
	}
	s := &Server{
		opts:      opts,
		secret:    randBytes(32),
		nextID:    5_000_000_000, // beyond 32 bits, as in new Procore regions
		companies: map[int64]*company{},
		projects:  map[int64]*project{},
		users:     map[int64]*user{},
		apps:      map[string]string{},
		codes:     map[string]*grant{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*grant{},
		windows:   map[string]*rateWindows{},
		scopes:    map[string]*docScope{},
		nodes:     map[int64]*node{},
		uploads:   map[string]*upload{},
		blobs:     map[string][]byte{},
		large:     map[string]*largeBlob{},
	}
	s.svc.Observe(opts.OnExchange)
	s.ClientID = "fake-client-" + hex.EncodeToString(randBytes(6))
	s.ClientSecret = hex.EncodeToString(randBytes(16))
	s.apps[s.ClientID] = s.ClientSecret
	s.UserID = s.newID()
	s.users[s.UserID] = &user{ID: s.UserID, Login: "builder@example.com", Name: "Bob Builder"}
	s.CompanyID = s.AddCompany("Acme Construction")
	s.ProjectID = s.AddProject(s.CompanyID, "Main Street Tower")

	s.api = httptest.NewServer(s.apiMux())
	s.files = httptest.NewServer(s.fileMux())
	s.store = httptest.NewServer(s.storageMux())
	s.URL = s.api.URL
	s.FileURL = s.files.URL
	// The storage host goes by another name than the API and file hosts
	// (same listener address), so that trusting the API host name never
	// trusts the object store.
	s.StorageURL = strings.Replace(s.store.URL, "://127.0.0.1:", "://localhost:", 1)
	return s
}

// FileHosts returns the Procore file host (host:port), for
// procore.Options.FileHosts: the hosts besides the API host that may
// receive the bearer token.
func (s *Server) FileHosts() []string {
	return []string{strings.TrimPrefix(s.FileURL, "http://")}
}

// Close shuts the three hosts down.
func (s *Server) Close() {
	s.api.Close()
	s.files.Close()
	s.store.Close()
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// newID returns a fresh int64 ID. Callers hold s.mu or run before serving.
func (s *Server) newID() int64 {
	s.nextID++
	return s.nextID
}

// AddCompany adds a company and returns its ID. Its company Documents
// tool starts with an empty root folder.
func (s *Server) AddCompany(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	s.companies[id] = &company{ID: id, Name: name}
	s.newScope(companyScopeKey(id), id, 0)
	return id
}

// AddProject adds a project to a company and returns its ID. Its Documents
// tool starts with an empty root folder and an empty recycle bin.
func (s *Server) AddProject(companyID int64, name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newID()
	now := s.now()
	s.projects[id] = &project{ID: id, CompanyID: companyID, Name: name, CreatedAt: now, UpdatedAt: now}
	s.newScope(projectScopeKey(id), companyID, id)
	return id
}

// IssueToken returns a valid access token for the fake's user, as if the
// user had gone through the authorization code flow.
func (s *Server) IssueToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.issueLocked(s.UserID, s.ClientID, false, false)
	return tok["access_token"].(string)
}

// AuthorizationCode returns a single-use authorization code for the fake's
// user, valid for 10 minutes, as Procore's /oauth/authorize would hand to
// redirectURI.
func (s *Server) AuthorizationCode(redirectURI string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := hex.EncodeToString(randBytes(16))
	s.codes[code] = &grant{UserID: s.UserID, RedirectURI: redirectURI, ClientID: s.ClientID, Expires: s.now().Add(10 * time.Minute)}
	return code
}

// ExpireTokens makes every access token issued so far invalid, as if they
// had expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		delete(s.access, k)
	}
}

// ExpireToken makes one access token expire now, before the expiry its
// token response announced (as when Procore shortens lifetimes or the
// clocks disagree): the API answers 401 "The access token is invalid".
// Its refresh token stays valid. It reports whether the token was known.
func (s *Server) ExpireToken(accessToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.access[accessToken]
	if tok == nil {
		return false
	}
	tok.Expires = s.now()
	return true
}

// RevokeToken revokes a token as POST /oauth/revoke does (or as a user
// disconnecting the app would): an access token and the refresh token
// of its pair are both revoked, whichever of the two is given. It reports
// whether the token was known.
func (s *Server) RevokeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeLocked(token)
}

// revokeLocked revokes token and its pair. Caller holds s.mu.
func (s *Server) revokeLocked(token string) bool {
	known := false
	if at := s.access[token]; at != nil {
		known = true
		delete(s.access, token)
		if at.Refresh != "" {
			delete(s.refresh, at.Refresh)
		}
	}
	if _, ok := s.refresh[token]; ok {
		known = true
		delete(s.refresh, token)
		for k, at := range s.access {
			if at.Refresh == token {
				delete(s.access, k)
			}
		}
	}
	return known
}

// RevokeAll revokes every access and refresh token issued so far, as
// when the app is uninstalled: only a new authorization (or, for client
// credentials, a new token request) gets access again.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access = map[string]*accessToken{}
	s.refresh = map[string]*grant{}
}

// ValidTokens returns how many access tokens are currently valid.
func (s *Server) ValidTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, at := range s.access {
		if s.now().Before(at.Expires) {
			n++
		}
	}
	return n
}

// sign returns an HMAC signature of parts, used for presigned URLs.
func (s *Server) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(m.Sum(nil))
}

// ---- call counting and fault injection ----

// Calls returns how many requests each operation (by operation id) has
// received since the last ResetCalls, including those answered with an
// injected fault.
func (s *Server) Calls() map[string]int { return s.svc.Calls.ByOp() }

// CallCount returns how many requests operation op (an operation id such
// as "RestV10ProjectsProjectIdDocumentsGet"; "" for all) has received.
func (s *Server) CallCount(op string) int { return s.svc.Calls.Op(op) }

// CallsByHost returns how many requests host h (HostAPI, HostFile or
// HostStorage) has received.
func (s *Server) CallsByHost(h Host) int { return s.svc.Calls.Host(h) }

// ResetCalls sets every call count to zero.
func (s *Server) ResetCalls() { s.svc.Calls.Reset() }

// String lists the call counts by host and operation, for benchmark
// output.
func (s *Server) String() string { return s.svc.Calls.String() }

// Observe sets a hook that sees every exchange the fake serves (nil to
// remove it), as Options.OnExchange does.
func (s *Server) Observe(f func(Exchange)) { s.svc.Observe(f) }

// Fault is a failure injected into an operation (see fakeservice.Fault
// for every field): Op is an operation id ("" or "*": every operation, on
// all three hosts). A Status is answered with Procore's error shape (or
// Body), and a 429 with the X-Rate-Limit-* headers of an exhausted
// window. Latency is real time: use it in benchmarks and integration
// tests, not in unit tests.
type Fault = fakeservice.Fault

// Forever as a Fault's Times applies it to every matching request until
// ClearFaults; AllOps as its Op matches every operation.
const (
	Forever = fakeservice.Forever
	AllOps  = fakeservice.AllOps
)

// Inject adds a fault. Faults are used in the order they were added.
func (s *Server) Inject(f Fault) { s.svc.Faults.Inject(f) }

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() { s.svc.Faults.Clear() }

// ---- rate limiting ----

type rateWindows struct {
	hourStart  time.Time
	hourCount  int
	spikeStart time.Time
	spikeCount int
}

// rateCheck counts a call for token key and returns the headers to send
// and whether the call is over a limit. Caller holds s.mu.
func (s *Server) rateCheck(key string) (limit, remaining int, reset time.Time, exceeded bool) {
	now := s.now()
	w := s.windows[key]
	if w == nil {
		w = &rateWindows{hourStart: now, spikeStart: now}
		s.windows[key] = w
	}
	if now.Sub(w.hourStart) >= time.Hour {
		w.hourStart, w.hourCount = now, 0
	}
	if now.Sub(w.spikeStart) >= 10*time.Second {
		w.spikeStart, w.spikeCount = now, 0
	}
	hl, sl := s.opts.HourlyLimit, s.opts.SpikeLimit
	hourOver := hl > 0 && w.hourCount >= hl
	spikeOver := sl > 0 && w.spikeCount >= sl
	exceeded = hourOver || spikeOver
	if !exceeded {
		w.hourCount++
		w.spikeCount++
	}
	hRem, sRem := hl-w.hourCount, sl-w.spikeCount
	hReset, sReset := w.hourStart.Add(time.Hour), w.spikeStart.Add(10*time.Second)
	switch {
	case hl < 0 && sl < 0:
		return 0, 0, time.Time{}, false
	case sl < 0 || (hl >= 0 && (hourOver || (!spikeOver && hRem <= sRem))):
		return hl, max(hRem, 0), hReset, exceeded
	default:
		return sl, max(sRem, 0), sReset, exceeded
	}
}

// ---- JSON helpers ----

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes Procore's generic v1.0 error shape
// {"error":{"code","message","details"}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "details": []any{}}})
}

// writeErrors writes the Rails-style {"errors":{"base":[…]}} shape.
func writeErrors(w http.ResponseWriter, status int, msg string, extra map[string]any) {
	body := map[string]any{"errors": map[string]any{"base": []string{msg}}}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

// ts formats a timestamp as Procore does (UTC, RFC 3339, milliseconds).
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

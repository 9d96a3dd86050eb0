// Package boxtest is an in-process fake of the Box Platform API 2.0 for
// tests: the API host (folders, files, events, webhooks, users/me and the
// OAuth 2.0 token endpoint), the upload host (direct multipart uploads and
// chunked upload sessions), the download host that GET
// /files/{id}/content redirects to, the long-poll realtime server, and
// webhook v2 deliveries signed as Box signs them. It keeps Box's
// inconvenient habits: 409 item_name_in_use whose conflicts come as an
// array or as one object, case-insensitive name uniqueness, stream
// positions as strings or integers, repeated events, 202 + Retry-After on
// a download right after an upload and on the first commit of a session,
// 429 with retry-after.
package boxtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
)

// Exchange is one request the fake served and its response.
type Exchange = fakeservice.Exchange

// Fault is a failure injected into the fake; Op is a Box operationId
// (e.g. "get_folders_id_items", "post_files_content"), Code the Box error
// code of the body.
type Fault = fakeservice.Fault

// The fake's hosts, as Fault.Host and CallsByHost name them.
const (
	HostAPI      = "api"
	HostUpload   = "upload"
	HostDownload = "dl"
)

// Users of the fake: the account the tokens act for, and the person who
// edits in the web app.
const (
	MeID     = "11446498"
	PersonID = "22557609"
)

// Options configure a Server.
type Options struct {
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
	// PageSize caps the entries of one page of folder items and of
	// webhooks (default 1000, Box's maximum limit).
	PageSize int
	// EventPage caps the events of one GET /events page (default 500).
	EventPage int
	// PartSize chooses an upload session's part_size for a file size
	// (default: 8 MiB below 256 MiB, 32 MiB above, as Box was observed
	// to answer).
	PartSize func(fileSize int64) int64
	// MinChunkedSize is the smallest file an upload session accepts
	// (default 20,000,000 bytes).
	MinChunkedSize int64
	// MaxDirectSize is the largest direct upload (default 50,000,000
	// bytes); MaxUploadSize is the user's max_upload_size (default 5 GB).
	MaxDirectSize, MaxUploadSize int64
	// CommitPending is how many times a session's commit answers 202 +
	// Retry-After before it commits (default 1; -1: never).
	CommitPending int
	// DownloadNotReady is how many times a download right after an upload
	// answers 202 + Retry-After (default 1; -1: never).
	DownloadNotReady int
	// NoDuplicateEvents stops the fake from repeating each event once on
	// the following page, as Box may.
	NoDuplicateEvents bool
	// DiscardContent keeps only the size and SHA-1 of uploads (for
	// benchmarks that upload gigabytes); downloads then fail.
	DiscardContent bool
	// RateLimit is how many API requests a minute the user may make
	// (0: no limit); beyond it the fake answers 429 with retry-after.
	RateLimit int
	// PrimaryKey and SecondaryKey sign webhook deliveries.
	PrimaryKey, SecondaryKey string
	// MaxWebhooks is how many webhooks v2 the app may have for the user
	// (0: 1000, Box's limit "for each application and each user"); tests
	// lower it rather than create a thousand folders.
	MaxWebhooks int
	// ClientID and ClientSecret are the app's credentials at the token
	// endpoint (default "box-client-id" / "box-client-secret");
	// EnterpriseID the service account's enterprise (default "900001").
	ClientID, ClientSecret, EnterpriseID string
	// JWTKey is the public key of the app's key pair for JWT server auth,
	// with its ID JWTKeyID.
	JWTKey   *rsa.PublicKey
	JWTKeyID string
	// LongPollTimeout is how long the realtime server holds a poll
	// before answering "reconnect" (default 10 minutes, as retry_timeout).
	LongPollTimeout time.Duration
}

// Server is the fake Box service.
type Server struct {
	// API, Upload and Download are the fake's hosts.
	API, Upload, Download *httptest.Server

	opt    Options
	svc    fakeservice.Service
	tokens *fakeservice.Tokens

	mu          sync.Mutex
	items       map[string]*item
	nextID      int
	events      []event
	eventBase   int64 // stream position of events[0]
	expiredBelw int64 // positions below this are no longer honoured
	sessions    map[string]*session
	downloads   map[string]dlink
	refresh     map[string]bool // live refresh tokens (one use each)
	codes       map[string]bool // live authorization codes
	jtis        map[string]bool
	webhooks    map[string]*webhook
	dupAt       map[int64]bool // positions handed out after events (Box may repeat the last)
	gen         int            // changes of the tree, for the children cache
	kids        map[string][]*item
	kidsGen     int
	conflictN   int // alternates the shape of conflicts
	posN        int // alternates the type of next_stream_position
	rateWindow  time.Time
	rateCount   int
	changed     chan struct{} // closed and replaced on every event
	delivered   []Delivery
	hookClient  *http.Client
	hookWG      sync.WaitGroup
}

// New starts a fake; Close stops it.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.PageSize <= 0 || opt.PageSize > 1000 {
		opt.PageSize = 1000
	}
	if opt.EventPage <= 0 || opt.EventPage > 500 {
		opt.EventPage = 500
	}
	if opt.PartSize == nil {
		opt.PartSize = func(n int64) int64 {
			if n > 256<<20 {
				return 32 << 20
			}
			return 8 << 20
		}
	}
	if opt.MinChunkedSize == 0 {
		opt.MinChunkedSize = 20_000_000
	}
	if opt.MaxDirectSize == 0 {
		opt.MaxDirectSize = 50_000_000
	}
	if opt.MaxUploadSize == 0 {
		opt.MaxUploadSize = 5_000_000_000
	}
	if opt.CommitPending == 0 {
		opt.CommitPending = 1
	}
	if opt.DownloadNotReady == 0 {
		opt.DownloadNotReady = 1
	}
	if opt.ClientID == "" {
		opt.ClientID, opt.ClientSecret = "box-client-id", "box-client-secret"
	}
	if opt.EnterpriseID == "" {
		opt.EnterpriseID = "900001"
	}
	if opt.LongPollTimeout <= 0 {
		opt.LongPollTimeout = 10 * time.Minute
	}
	s := &Server{opt: opt, tokens: fakeservice.NewTokens(opt.Now), items: map[string]*item{},
		nextID: 1000, sessions: map[string]*session{}, downloads: map[string]dlink{},
		refresh: map[string]bool{}, codes: map[string]bool{}, jtis: map[string]bool{}, webhooks: map[string]*webhook{},
		changed: make(chan struct{}), eventBase: 1, dupAt: map[int64]bool{}}
	now := s.now()
	s.items["0"] = &item{id: "0", name: "All Files", folder: true, created: now, modified: now, by: MeID}
	s.API = httptest.NewServer(http.HandlerFunc(s.serveAPI))
	s.Upload = httptest.NewServer(http.HandlerFunc(s.serveUpload))
	s.Download = httptest.NewServer(http.HandlerFunc(s.serveDownload))
	s.hookClient = &http.Client{Timeout: 30 * time.Second}
	return s
}

// NewServer starts a fake that t's cleanup closes.
func NewServer(tb testing.TB, opt Options) *Server {
	s := New(opt)
	tb.Cleanup(s.Close)
	return s
}

// Close stops the fake's hosts after pending webhook deliveries.
func (s *Server) Close() {
	s.hookWG.Wait()
	s.API.CloseClientConnections()
	s.API.Close()
	s.Upload.Close()
	s.Download.Close()
}

// BaseURL is the API base (as https://api.box.com/2.0).
func (s *Server) BaseURL() string { return s.API.URL + "/2.0" }

// UploadURL is the upload base (as https://upload.box.com/api/2.0).
func (s *Server) UploadURL() string { return s.Upload.URL + "/api/2.0" }

// TokenURL is the OAuth 2.0 token endpoint.
func (s *Server) TokenURL() string { return s.API.URL + "/oauth2/token" }

// Token issues an access token for the account, valid for an hour.
func (s *Server) Token() string { return s.tokens.Issue("box.", time.Hour) }

// ExpireTokens makes every access token issued so far expired.
func (s *Server) ExpireTokens() { s.tokens.ExpireTokens() }

// Observe sets a hook that sees every exchange (nil removes it).
func (s *Server) Observe(f func(Exchange)) { s.svc.Observe(f) }

// Inject adds a fault.
func (s *Server) Inject(f Fault) { s.svc.Faults.Inject(f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.svc.Faults.Clear() }

// Throttle makes the next n calls of op answer 429 rate_limit_exceeded
// with retry-after d.
func (s *Server) Throttle(op string, n int, d time.Duration) {
	s.svc.Faults.Inject(Fault{Op: op, Status: http.StatusTooManyRequests, Times: n, RetryAfter: d})
}

// Calls returns the calls served by operation.
func (s *Server) Calls() map[string]int { return s.svc.Calls.ByOp() }

// CallCount returns the calls of op ("" for all).
func (s *Server) CallCount(op string) int { return s.svc.Calls.Op(op) }

// CallsByHost returns the calls served on host (HostAPI, …).
func (s *Server) CallsByHost(host string) int { return s.svc.Calls.Host(host) }

// ResetCalls sets the call counts to zero.
func (s *Server) ResetCalls() { s.svc.Calls.Reset() }

// String lists the call counts.
func (s *Server) String() string { return s.svc.Calls.String() }

func (s *Server) now() time.Time { return s.opt.Now().UTC().Truncate(time.Second) }

func (s *Server) newID() string {
	s.nextID++
	return strconv.Itoa(s.nextID)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// nameRules are the rules the fake enforces (and compares names by).
var nameRules = storage.NameRules{CaseInsensitive: true}

// Package dropboxtest is an in-process fake of the Dropbox API v2, in the
// manner of net/http/httptest, on three hosts as the service has them: the
// RPC host (api), the content host (uploads and downloads) and the notify
// host (list_folder/longpoll). It serves the routes, headers, status codes
// and JSON shapes of the Stone description with in-memory state:
// Dropbox-API-Arg (header-safe JSON, \u escapes), Dropbox-API-Result,
// error envelopes (plain-text 400, JSON 401/409/422/429 with error_summary
// and a tagged union), case-insensitive paths keyed on path_lower, id: IDs
// and revs, content_hash, list_folder cursors that stay valid as change
// cursors bound to their folder's path (path/not_found on list_folder/continue
// once it is renamed, moved or deleted) with an injectable reset,
// DeletedMetadata, longpoll without
// auth with backoff, WriteMode add/overwrite/update with strict_conflict,
// delete with parent_rev, upload sessions with offset checks, close and a
// 7-day expiry, finish_batch_v2 one batch at a time per namespace,
// too_many_write_operations on concurrent writes, 429 with Retry-After,
// team apps (Dropbox-API-Select-User) and namespaces
// (Dropbox-API-Path-Root), OAuth with PKCE and refresh tokens, signed
// webhooks, call counters, faults and a person's edits (the Web* helpers).
package dropboxtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage/dropbox"
)

// The fake's hosts, as call counts name them.
const (
	HostAPI     = "api"
	HostContent = "content"
	HostNotify  = "notify"
)

// Namespace IDs of the fake's accounts.
const (
	HomeNS       = "1001" // the personal account's home namespace
	TeamRootNS   = "2000" // the team's root namespace (team space)
	TeamFolderNS = "2001" // the team folder "/Projects" in the team space
	MemberID     = "dbmid:member-1"
)

// Options configure a Server.
type Options struct {
	// Now is the fake's clock (default time.Now).
	Now func() time.Time
	// AppKey and AppSecret are the app's credentials (defaults "appkey",
	// "appsecret"); webhooks are signed with AppSecret.
	AppKey, AppSecret string
	// WebhookURL, when set, receives a signed notification after every
	// change.
	WebhookURL string
	// LongpollMax caps how long a longpoll blocks (default: its timeout).
	LongpollMax time.Duration
	// Backoff is the backoff a longpoll answer carries (0: none).
	Backoff int
	// DiscardContent keeps only the size and content hash of uploaded
	// files (for benchmarks of very large uploads); downloading them fails.
	DiscardContent bool
	// MaxRequest is the largest upload body (default 150 MiB).
	MaxRequest int64
	// WriteLock, when set, keeps a namespace locked for that long (real
	// time) after every commit, as other writers do on a busy namespace:
	// a commit inside the window gets 429 too_many_write_operations.
	// Upload sessions' data calls are not commits; finish_batch_v2 is one.
	WriteLock time.Duration
}

// Server is a fake Dropbox.
type Server struct {
	API, Content, Notify *httptest.Server
	// Service counts calls (by route and host) and holds injected faults;
	// a Fault's Op is the route, e.g. "files/list_folder".
	Service fakeservice.Service

	opt     Options
	tokens  *fakeservice.Tokens
	refresh *fakeservice.Tokens

	mu       sync.Mutex
	trees    map[string]*tree // by the namespace that roots them
	nsPrefix map[string]string
	nsTree   map[string]string // namespace -> the namespace whose tree holds it
	team     map[string]bool   // team tokens
	sessions map[string]*session
	cursors  map[string]*cursor
	codes    map[string]string // code -> PKCE challenge
	epoch    int
	counter  int
	writing  map[string]time.Time // namespace tree -> end of its write lock
	hookWG   sync.WaitGroup
}

// session is an upload session.
type session struct {
	data    []byte
	size    int64
	closed  bool
	expires time.Time
	sum     hash.Hash // content hash of everything appended
}

// cursor is list_folder state behind an opaque cursor string.
type cursor struct {
	ns        string
	lower     string // folder listed, relative to the namespace tree
	recursive bool
	deleted   bool
	seq       int
	epoch     int
	pending   []map[string]any // the rest of the initial listing
	limit     int
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewServer starts a fake and stops it when t ends.
func NewServer(t testing.TB, opt Options) *Server {
	s := New(opt)
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake's hosts and waits for its webhook deliveries.
func (s *Server) Close() {
	s.API.Close()
	s.Content.Close()
	s.Notify.Close()
	s.hookWG.Wait()
}

// New starts a fake; Close stops it.
func New(opt Options) *Server {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.AppKey == "" {
		opt.AppKey = "appkey"
	}
	if opt.AppSecret == "" {
		opt.AppSecret = "appsecret"
	}
	if opt.MaxRequest == 0 {
		opt.MaxRequest = dropbox.MaxRequest
	}
	s := &Server{opt: opt, tokens: fakeservice.NewTokens(opt.Now), refresh: fakeservice.NewTokens(opt.Now),
		trees:    map[string]*tree{HomeNS: newTree(), TeamRootNS: newTree(), "3001": newTree()},
		nsPrefix: map[string]string{HomeNS: "", TeamRootNS: "", TeamFolderNS: "/projects", "3001": ""},
		nsTree:   map[string]string{HomeNS: HomeNS, TeamRootNS: TeamRootNS, TeamFolderNS: TeamRootNS, "3001": "3001"},
		team:     map[string]bool{}, sessions: map[string]*session{}, cursors: map[string]*cursor{},
		codes: map[string]string{}, writing: map[string]time.Time{}}
	s.mu.Lock()
	s.mkdirLocked(s.trees[TeamRootNS], "/Projects")
	s.mu.Unlock()
	s.API = httptest.NewServer(s.handler(HostAPI))
	s.Content = httptest.NewServer(s.handler(HostContent))
	s.Notify = httptest.NewServer(s.handler(HostNotify))
	return s
}

// ClientOptions returns client options for the fake's hosts with token.
func (s *Server) ClientOptions(token string) dropbox.ClientOptions {
	return dropbox.ClientOptions{APIURL: s.API.URL, ContentURL: s.Content.URL, NotifyURL: s.Notify.URL,
		TokenSource: staticToken(token)}
}

// Token issues a user access token valid for four hours.
func (s *Server) Token() string { return s.tokens.Issue("sl.", 4*time.Hour) }

// TeamToken issues a team access token (it needs
// Dropbox-API-Select-User or Select-Admin on user routes).
func (s *Server) TeamToken() string {
	tok := s.tokens.Issue("sl.t.", 4*time.Hour)
	s.mu.Lock()
	s.team[tok] = true
	s.mu.Unlock()
	return tok
}

// ExpireTokens makes every access token issued so far expire.
func (s *Server) ExpireTokens() { s.tokens.ExpireTokens() }

// Calls returns the calls served of route ("" for all).
func (s *Server) Calls(route string) int { return s.Service.Calls.Op(route) }

// ResetCursors makes every cursor issued so far answer reset.
func (s *Server) ResetCursors() {
	s.mu.Lock()
	s.epoch++
	s.mu.Unlock()
}

// Authorize stands for the user approving the app on the authorize page:
// it returns a code bound to the PKCE S256 challenge.
func (s *Server) Authorize(challenge string) string {
	code := randHex(12)
	s.mu.Lock()
	s.codes[code] = challenge
	s.mu.Unlock()
	return code
}

// TokenURL is the fake's OAuth token endpoint.
func (s *Server) TokenURL() string { return s.API.URL + "/oauth2/token" }

// reqCtx is what authentication found out about a request: the route
// and the namespace its paths are in.
type reqCtx struct {
	route string
	ns    string // namespace of the request's paths
	t     *tree
	pre   string // prefix of the namespace in its tree
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeText writes a plain-text error (400s are text on Dropbox).
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

// apiErr is a route error: status 409 with the union built from tags.
type apiErr struct {
	status int
	body   map[string]any // the "error" union
	text   string         // for 400
	header map[string]string
}

// summary builds error_summary from a union.
func summary(u map[string]any) string {
	var tags []string
	var cur any = u
	for {
		m, ok := cur.(map[string]any)
		if !ok {
			break
		}
		tag, _ := m[".tag"].(string)
		if tag == "" {
			if r, ok := m["reason"]; ok {
				cur = r
				continue
			}
			break
		}
		tags = append(tags, tag)
		if next, ok := m[tag]; ok {
			cur = next
		} else if r, ok := m["reason"]; ok {
			cur = r
		} else {
			break
		}
	}
	return strings.Join(tags, "/") + "/.."
}

// u builds a union value: u("path", u("not_found", nil)).
func u(tag string, inner any) map[string]any {
	m := map[string]any{".tag": tag}
	switch v := inner.(type) {
	case nil:
	case map[string]any:
		if _, isUnion := v[".tag"]; isUnion {
			m[tag] = v
		} else {
			for k, x := range v {
				m[k] = x
			}
		}
	default:
		m[tag] = v
	}
	return m
}

// routeErr is a 409 with the union.
func routeErr(union map[string]any) *apiErr { return &apiErr{status: 409, body: union} }

func badRequest(route, msg string) *apiErr {
	return &apiErr{status: 400, text: fmt.Sprintf("Error in call to API function %q: %s", route, msg)}
}

func (e *apiErr) write(w http.ResponseWriter) {
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	if e.status == 400 {
		writeText(w, 400, e.text)
		return
	}
	writeJSON(w, e.status, map[string]any{"error_summary": summary(e.body), "error": e.body})
}

// staticToken is an oauth2.TokenSource of one token.
type staticToken string

func (t staticToken) Token() (*oauth2Token, error) { return newOAuthToken(string(t)), nil }

// waitCtx waits until ch is closed, d passes or ctx ends; it reports
// whether ch was closed.
func waitCtx(ctx context.Context, ch <-chan struct{}, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ch:
		return true
	case <-tm.C:
	case <-ctx.Done():
	}
	return false
}

package dropbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/dropbox/internal/stone"
	"github.com/procoresync/procoresync/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// loadSpec reads the Stone description from ../shared beside the
// repository, or skips.
func loadSpec(t *testing.T) *stone.Spec {
	t.Helper()
	dir := stone.Dir(t)
	sp, err := stone.Load(dir)
	require.NoError(t, err)
	return sp
}

// contract collects violations of the description by the exchanges a fake
// served.
type contract struct {
	sp     *stone.Spec
	mu     sync.Mutex
	errs   []string
	routes map[string]int
	status map[int]int
}

func newContract(t *testing.T, sp *stone.Spec) *contract {
	c := &contract{sp: sp, routes: map[string]int{}, status: map[int]int{}}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, e := range c.errs {
			if i == 20 {
				t.Errorf("… and %d more", len(c.errs)-20)
				break
			}
			t.Error(e)
		}
	})
	return c
}

func (c *contract) fail(x fakeservice.Exchange, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, x.Request.URL.Path+": "+fmt.Sprintf(format, args...))
}

func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// check validates one exchange: the route, its host, auth, the argument
// (JSON body, or Dropbox-API-Arg), and the result or the error envelope.
func (c *contract) check(x fakeservice.Exchange) {
	if x.Request.URL.Path == "/oauth2/token" {
		return
	}
	r, ok := c.sp.Routes[x.Request.URL.Path]
	if !ok {
		c.fail(x, "no such route in the description")
		return
	}
	c.mu.Lock()
	c.routes[x.Request.URL.Path]++
	c.status[x.Status]++
	c.mu.Unlock()
	if x.Host != r.Host {
		c.fail(x, "served on host %s, the route is on %s", x.Host, r.Host)
	}
	if x.Request.Method != "POST" {
		c.fail(x, "method %s, routes are POST", x.Request.Method)
	}
	auth := x.Request.Header.Get("Authorization")
	switch {
	case r.Auth == "noauth" && auth != "":
		c.fail(x, "an Authorization header on a noauth route")
	case r.Auth != "noauth" && !strings.HasPrefix(auth, "Bearer "):
		c.fail(x, "no bearer token on a route with auth %q", r.Auth)
	}
	for _, h := range []string{"Dropbox-API-Path-Root"} {
		if v := x.Request.Header.Get(h); v != "" {
			if !headerSafe(v) {
				c.fail(x, "%s is not header-safe", h)
			}
			if err := c.sp.ValidateJSON("common.PathRoot", []byte(v)); err != nil {
				c.fail(x, "%s: %v", h, err)
			}
		}
	}
	var arg []byte
	switch r.Style {
	case "rpc":
		arg = x.ReqBody
		if r.Arg != "Void" && !strings.HasPrefix(x.Request.Header.Get("Content-Type"), "application/json") {
			c.fail(x, "Content-Type %q on an RPC route", x.Request.Header.Get("Content-Type"))
		}
	default:
		a := x.Request.Header.Get("Dropbox-API-Arg")
		if !headerSafe(a) {
			c.fail(x, "Dropbox-API-Arg is not header-safe: %q", a)
		}
		arg = []byte(a)
		if r.Style == "upload" && x.Request.Header.Get("Content-Type") != "application/octet-stream" {
			c.fail(x, "Content-Type %q on an upload", x.Request.Header.Get("Content-Type"))
		}
	}
	if err := c.sp.ValidateJSON(r.Arg, arg); err != nil {
		c.fail(x, "request argument (%s): %v: %s", r.Arg, err, arg)
	}
	switch {
	case x.Status == 200 || x.Status == 206:
		res := x.RespBody
		if r.Style == "download" {
			res = []byte(x.Header.Get("Dropbox-API-Result"))
			if !headerSafe(string(res)) {
				c.fail(x, "Dropbox-API-Result is not header-safe")
			}
		}
		if err := c.sp.ValidateJSON(r.Result, res); err != nil {
			c.fail(x, "result (%s): %v: %s", r.Result, err, res)
		}
	case x.Status == 400:
		if !strings.HasPrefix(x.Header.Get("Content-Type"), "text/plain") {
			c.fail(x, "a 400 answered with %q, Dropbox answers plain text", x.Header.Get("Content-Type"))
		}
	default:
		typ := map[int]string{401: "auth.AuthError", 403: "auth.AccessError", 409: r.Error, 422: "common.PathRootError", 429: "auth.RateLimitError"}[x.Status]
		if typ == "" {
			return
		}
		var env map[string]json.RawMessage
		if err := json.Unmarshal(x.RespBody, &env); err != nil {
			c.fail(x, "%d error body is not JSON: %s", x.Status, x.RespBody)
			return
		}
		for k := range env {
			if k != "error_summary" && k != "error" && k != "user_message" {
				c.fail(x, "unknown key %q in the error envelope", k)
			}
		}
		var sum string
		if json.Unmarshal(env["error_summary"], &sum) != nil || sum == "" {
			c.fail(x, "no error_summary")
		}
		if err := c.sp.ValidateJSON(typ, env["error"]); err != nil {
			c.fail(x, "error (%s): %v: %s", typ, err, env["error"])
		}
	}
}

// observe validates every exchange of srv.
func (c *contract) observe(srv *dropboxtest.Server) { srv.Service.Observe(c.check) }

// TestContractConformance runs the conformance suite with every request
// and response checked against the description.
func TestContractConformance(t *testing.T) {
	sp := loadSpec(t)
	c := newContract(t, sp)
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(t *testing.T) storage.Storage {
			srv := dropboxtest.NewServer(t, dropboxtest.Options{})
			c.observe(srv)
			_, err := srv.WebMkdir(dropboxtest.HomeNS, "/Procore/Projekt Zürich")
			require.NoError(t, err)
			s, err := dropbox.New(context.Background(), newClient(t, srv, srv.Token(), nil), dropbox.Options{RootPath: "/Procore/Projekt Zürich"})
			require.NoError(t, err)
			return s
		},
		SetChunkSize: func(s storage.Storage, chunk int64) bool { return s.(*dropbox.Storage).SetChunking(chunk, chunk) },
		HashFuncs:    map[storage.HashKind]func() hash.Hash{storage.HashDropbox: dropbox.NewHash},
	})
	t.Logf("routes exercised: %v; statuses: %v", c.routes, c.status)
}

// TestContractErrors drives the error paths (conflicts, missing items,
// offsets, resets, throttling, path roots, tokens) and checks them.
func TestContractErrors(t *testing.T) {
	sp := loadSpec(t)
	c := newContract(t, sp)
	ctx := context.Background()
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	c.observe(srv)
	cl := newClient(t, srv, srv.Token(), func(o *dropbox.ClientOptions) { o.RetryMax = -1 })
	s, err := dropbox.New(ctx, cl, dropbox.Options{})
	require.NoError(t, err)
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	f, err := s.Put(ctx, root, "ä.txt", strings.NewReader("one"), 3, storage.PutOptions{})
	require.NoError(t, err)
	_, err = s.Put(ctx, root, "ä.txt", strings.NewReader("two"), 3, storage.PutOptions{NoOverwrite: true})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = s.Put(ctx, root, "ä.txt", strings.NewReader("two"), 3, storage.PutOptions{ExpectedVersion: "0000000000bad"})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
	_, err = s.Stat(ctx, "missing/x")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = cl.CreateFolder(ctx, "/ä.txt")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	_, err = cl.Delete(ctx, "/ä.txt", "0000000000bad")
	require.Error(t, err)
	_, err = cl.Move(ctx, "/nope", "/other")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, _, err = cl.Download(ctx, "/nope", 0)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = cl.Upload(ctx, dropbox.UploadArg{CommitInfo: dropbox.CommitInfo{Path: "/h.txt", Mode: dropbox.WriteMode{Tag: "add"}}, ContentHash: dropbox.ContentHash([]byte("x"))}, []byte("y"))
	require.Error(t, err)
	sid, err := cl.UploadSessionStart(ctx, []byte("abc"), false)
	require.NoError(t, err)
	err = cl.UploadSessionAppend(ctx, dropbox.UploadSessionCursor{SessionID: sid, Offset: 1}, []byte("d"), false)
	var ae *dropbox.APIError
	require.ErrorAs(t, err, &ae)
	require.True(t, ae.Has("incorrect_offset"), "%v", err)
	_, err = cl.UploadSessionFinishBatch(ctx, []dropbox.UploadSessionFinishArg{{Cursor: dropbox.UploadSessionCursor{SessionID: sid, Offset: 3},
		Commit: dropbox.CommitInfo{Path: "/b.txt", Mode: dropbox.WriteMode{Tag: "add"}}}})
	require.NoError(t, err)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	srv.ResetCursors()
	_, _, err = s.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/get_metadata", Status: 429, RetryAfter: time.Second})
	_, err = s.Stat(ctx, f.Path)
	require.ErrorIs(t, err, storage.ErrThrottled)
	bad := newClient(t, srv, "forged", nil)
	_, err = bad.GetMetadata(ctx, "/ä.txt")
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	team := newClient(t, srv, srv.TeamToken(), func(o *dropbox.ClientOptions) {
		o.SelectUser = dropboxtest.MemberID
		o.PathRoot = dropbox.RootNamespace("999")
	})
	_, err = team.GetMetadata(ctx, "/Projects")
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 422, ae.Status)
	require.True(t, ae.Has("invalid_root"), "%v", err)
	if !errors.Is(err, storage.ErrPermissionDenied) {
		t.Errorf("an invalid path root: %v, want ErrPermissionDenied", err)
	}
	_, errs := s.PutBatch(ctx, root, []dropbox.BatchFile{{Name: "b1.txt", Data: []byte("1")}, {Name: "ä.txt", Data: []byte("2"), Opt: storage.PutOptions{NoOverwrite: true}}})
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], storage.ErrAlreadyExists)
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/upload", Status: 503, AfterApply: true})
	cur2, err := s.Stat(ctx, "ä.txt")
	require.NoError(t, err)
	retrying := newClient(t, srv, srv.Token(), nil)
	s2, err := dropbox.New(ctx, retrying, dropbox.Options{})
	require.NoError(t, err)
	_, err = s2.Put(ctx, root, "ä.txt", bytes.NewReader([]byte("three")), 5, storage.PutOptions{ExpectedVersion: cur2.Version})
	require.NoError(t, err)
	g, err := s.Put(ctx, root, "r.txt", strings.NewReader("r"), 1, storage.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, g))
	_, err = s.Restore(ctx, g)
	require.NoError(t, err)
	_, err = cl.Restore(ctx, "/r2.txt", "0123456789abc")
	require.ErrorAs(t, err, &ae)
	require.True(t, ae.Has("invalid_revision"), "%v", err)
	wctx, cancel := context.WithCancel(ctx)
	ch, err := s.Watch(wctx)
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/w.txt", []byte("w"))
	require.NoError(t, err)
	<-ch
	cancel()
	for _, r := range []string{"/2/files/list_folder/longpoll", "/2/files/upload_session/finish_batch_v2", "/2/files/list_revisions",
		"/2/files/upload_session/start", "/2/files/upload_session/append_v2", "/2/files/list_folder/continue", "/2/files/delete_v2",
		"/2/files/move_v2", "/2/files/download", "/2/files/restore", "/2/files/create_folder_v2", "/2/files/get_metadata", "/2/files/upload"} {
		c.mu.Lock()
		n := c.routes[r]
		c.mu.Unlock()
		require.NotZero(t, n, "route %s was not exercised", r)
	}
}

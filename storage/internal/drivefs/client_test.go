package drivefs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// newClock is a fake clock that moves only when the client sleeps.
func newClock() *fakeservice.Clock {
	return fakeservice.NewClock(time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC))
}

// pacer records what the client tells the engine's limiter.
type pacer struct {
	mu    sync.Mutex
	waits int
	fb    []storage.Feedback
	keys  map[string]bool
}

func (p *pacer) Wait(ctx context.Context, key string, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits += n
	if p.keys == nil {
		p.keys = map[string]bool{}
	}
	p.keys[key] = true
	return ctx.Err()
}

func (p *pacer) Observe(key string, fb storage.Feedback) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fb = append(p.fb, fb)
}

type env struct {
	srv   *graphtest.Server
	clock *fakeservice.Clock
	pacer *pacer
	c     *msgraph.Client
	token string
}

func newEnv(t *testing.T, opt graphtest.Options, mod ...func(*msgraph.Options)) *env {
	t.Helper()
	e := &env{srv: graphtest.NewServer(t, opt), clock: newClock(), pacer: &pacer{}}
	e.token = e.srv.Token()
	e.c = e.client(t, mod...)
	return e
}

func (e *env) client(t *testing.T, mod ...func(*msgraph.Options)) *msgraph.Client {
	cfg := msgraph.Options{
		BaseURL:      e.srv.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.token}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
		Sleep: e.clock.Sleep, Now: e.clock.Now, Pacer: e.pacer, PaceKey: "graph:contoso",
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := msgraph.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func (e *env) fs(t *testing.T, root string) *drivefs.FS {
	t.Helper()
	d := e.srv.MyDriveID()
	id := ""
	if root != "" {
		it, err := e.srv.WebMkdir(d, root)
		require.NoError(t, err)
		id = it.ID
	}
	f, err := drivefs.NewFS(context.Background(), e.c, d, id)
	require.NoError(t, err)
	return f
}

func data(n int) []byte {
	b := make([]byte, n)
	x := uint32(n) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

var ctx = context.Background()

func TestRetryAfterPausesTheTenant(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	e.srv.Throttle("drives.GetRoot", 1, 30*time.Second)
	_, err := e.c.GetRoot(ctx, e.srv.MyDriveID())
	require.NoError(t, err)
	require.Equal(t, []time.Duration{30 * time.Second}, e.clock.Sleeps(), "waited exactly Retry-After")
	require.Equal(t, 2, e.srv.CallCount("drives.GetRoot"))
	require.Equal(t, 2, e.pacer.waits, "every attempt is paced")
	require.Equal(t, []storage.Feedback{{RetryAfter: 30 * time.Second}}, e.pacer.fb, "the limiter hears about it")
	require.True(t, e.pacer.keys["graph:contoso"])

	// A client that gives up at once still pauses its whole tenant: a
	// second client sharing the throttle waits before sending anything.
	shared := &msgraph.Throttle{}
	noRetry := e.client(t, func(c *msgraph.Options) { c.RetryMax = -1; c.Throttle = shared })
	other := e.client(t, func(c *msgraph.Options) { c.Throttle = shared })
	e.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 503, RetryAfter: 45 * time.Second})
	_, err = noRetry.GetRoot(ctx, e.srv.MyDriveID())
	require.ErrorIs(t, err, storage.ErrThrottled)
	w := drivefs.Wrap("list", "", err)
	d, ok := storage.RetryAfter(w)
	require.True(t, ok)
	require.Equal(t, 45*time.Second, d)
	require.True(t, storage.IsRetryable(w))
	before := e.srv.CallCount("")
	_, err = other.GetItem(ctx, e.srv.MyDriveID(), "nope")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.Equal(t, []time.Duration{30 * time.Second, 45 * time.Second}, e.clock.Sleeps())
	require.Equal(t, before+1, e.srv.CallCount(""))
}

// An HTTP-date Retry-After is measured on the client's clock (Options.Now),
// not the wall clock: a fake clock set weeks from today still waits
// exactly what the date says.
func TestRetryAfterDateOnTheClientsClock(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	date := e.clock.Now().Add(40 * time.Second).Format(http.TimeFormat)
	e.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 429, RetryAfterHeader: date})
	_, err := e.c.GetRoot(ctx, e.srv.MyDriveID())
	require.NoError(t, err)
	require.Equal(t, []time.Duration{40 * time.Second}, e.clock.Sleeps(), "waited until the date on the client's clock")

	noRetry := e.client(t, func(c *msgraph.Options) { c.RetryMax = -1 })
	date = e.clock.Now().Add(25 * time.Second).Format(http.TimeFormat)
	e.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 503, RetryAfterHeader: date})
	_, err = noRetry.GetRoot(ctx, e.srv.MyDriveID())
	var ge *msgraph.Error
	require.ErrorAs(t, err, &ge)
	require.Equal(t, 25*time.Second, ge.RetryAfter)
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  graphtest.Fault
		calls  int
		kind   error
		failed bool
	}{
		{"500 twice then success", graphtest.Fault{Status: 500, Times: 2}, 3, nil, false},
		{"502, 504 and 509 are retried", graphtest.Fault{Status: 502, Times: 1}, 2, nil, false},
		{"persistent 500 gives up", graphtest.Fault{Status: 500, Times: 100}, 4, nil, true},
		{"429 without Retry-After", graphtest.Fault{Status: 429, Times: 1}, 2, nil, false},
		{"507 is not retried", graphtest.Fault{Status: 507, Times: 1}, 1, storage.ErrQuotaExceeded, true},
		{"404 is not retried", graphtest.Fault{Status: 404, Times: 1}, 1, storage.ErrNotFound, true},
		{"423 is not retried", graphtest.Fault{Status: 423, Inner: []string{"resourceLocked"}, Times: 1}, 1, storage.ErrLocked, true},
		{"pathIsTooLong is not retried", graphtest.Fault{Status: 400, Inner: []string{"pathIsTooLong"}, Times: 1}, 1, storage.ErrInvalidName, true},
		{"a dropped connection is retried", graphtest.Fault{Reset: true, Times: 2}, 3, nil, false},
		{"a truncated body is an error, never a panic", graphtest.Fault{Truncate: true, Times: 1}, 1, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{}, func(c *msgraph.Options) { c.RetryMax = 3 })
			tc.fault.Op = "drives.GetRoot"
			e.srv.Inject(tc.fault)
			_, err := e.c.GetRoot(ctx, e.srv.MyDriveID())
			require.Equal(t, tc.calls, e.srv.CallCount("drives.GetRoot"))
			if !tc.failed {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.fault.Truncate {
				require.True(t, storage.IsRetryable(drivefs.Wrap("stat", "", err)))
				return
			}
			var ge *msgraph.Error
			require.ErrorAs(t, err, &ge)
			require.Equal(t, tc.fault.Status, ge.StatusCode)
			if tc.kind != nil {
				require.ErrorIs(t, err, tc.kind)
				require.ErrorIs(t, drivefs.Wrap("stat", "x", err), tc.kind)
			}
		})
	}
}

// memStore is a TokenStore in memory.
type memStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves int
}

func (m *memStore) Load(context.Context) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tok, nil
}

func (m *memStore) Save(_ context.Context, t *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok, m.saves = t, m.saves+1
	return nil
}

func TestAuth(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	cloud := msidentity.Cloud{Name: "fake", Login: e.srv.LoginURL(), Graph: e.srv.API.URL}
	require.Equal(t, e.srv.BaseURL(), cloud.BaseURL())

	t.Run("client credentials", func(t *testing.T) {
		src := msidentity.AppOnlySource(ctx, cloud, "contoso.onmicrosoft.com", "app-id", "app-secret")
		c := e.client(t, func(c *msgraph.Options) { c.TokenSource = src })
		e.srv.ResetCalls()
		d, err := c.UserDrive(ctx, graphtest.MeUPN)
		require.NoError(t, err)
		require.Equal(t, e.srv.MyDriveID(), d.ID)
		e.srv.ExpireTokens()
		_, err = c.UserDrive(ctx, graphtest.MeUser)
		require.NoError(t, err, "an expired token is replaced and the call retried")
		require.Equal(t, 2, e.srv.CallCount("oauth2.Token"))
		require.Equal(t, 3, e.srv.CallCount("users.GetDrive"))
	})
	t.Run("delegated with rotating refresh tokens", func(t *testing.T) {
		cfg := msidentity.DelegatedConfig(cloud, "common", "app-id", "app-secret", "http://localhost/callback", "Files.ReadWrite.All")
		require.Contains(t, cfg.Scopes, "offline_access")
		require.Equal(t, e.srv.LoginURL()+"/common/oauth2/v2.0/authorize", cfg.Endpoint.AuthURL)
		store := &memStore{}
		require.NoError(t, msidentity.Exchange(ctx, cfg, store, e.srv.AuthCode()))
		first := store.tok.RefreshToken
		require.NotEmpty(t, first)
		require.Error(t, msidentity.Exchange(ctx, cfg, &memStore{}, "M.Cused"), "a bad code is refused")
		src, err := msidentity.DelegatedSource(ctx, cfg, store)
		require.NoError(t, err)
		c := e.client(t, func(c *msgraph.Options) { c.TokenSource = src })
		_, err = c.MyDrive(ctx)
		require.NoError(t, err)
		e.srv.ExpireTokens()
		_, err = c.MyDrive(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, store.saves, "the refreshed pair is saved before use")
		require.NotEqual(t, first, store.tok.RefreshToken, "refresh tokens rotate")
		_, err = msidentity.DelegatedSource(ctx, cfg, &memStore{})
		require.Error(t, err, "no refresh token stored")
	})
	t.Run("refused token", func(t *testing.T) {
		c := e.client(t, func(c *msgraph.Options) {
			c.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "SECRET-TOKEN-123"})
		})
		_, err := c.MyDrive(ctx)
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
		require.NotContains(t, err.Error(), "SECRET-TOKEN-123")
	})
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	e := newEnv(t, graphtest.Options{}, func(c *msgraph.Options) { c.RetryMax = 1 })
	f := e.fs(t, "")
	ent, err := f.Put(ctx, storage.Entry{IsDir: true}, "f.bin", bytes.NewReader(data(10)), 10, storage.PutOptions{})
	require.NoError(t, err)
	e.srv.Inject(graphtest.Fault{Op: "download.Get", Status: 500, Times: 10})
	_, err = f.Open(ctx, ent)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "/download/")
	require.NotContains(t, err.Error(), e.token)

	f.SetChunking(msgraph.FragmentMultiple, msgraph.FragmentMultiple)
	e.srv.Inject(graphtest.Fault{Op: "uploadSession.PutFragment", Status: 500, Times: 10})
	n := int64(2*msgraph.FragmentMultiple + 5)
	_, err = f.Put(ctx, storage.Entry{IsDir: true}, "big.bin", bytes.NewReader(data(int(n))), n, storage.PutOptions{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "/up/")
	require.Contains(t, err.Error(), "[redacted]")
}

func TestDownload(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	f := e.fs(t, "Root")
	ent, err := f.Put(ctx, storage.Entry{IsDir: true, ID: f.RootID()}, "f.txt", strings.NewReader("0123456789"), 10, storage.PutOptions{})
	require.NoError(t, err)
	for _, tc := range []struct {
		off  int64
		want string
	}{{0, "0123456789"}, {4, "456789"}, {9, "9"}, {10, ""}, {25, ""}} {
		rc, err := f.OpenAt(ctx, ent, tc.off)
		require.NoError(t, err, "offset %d", tc.off)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.Equal(t, tc.want, string(b), "offset %d", tc.off)
	}
	_, err = f.Open(ctx, storage.Entry{ID: "nope", Path: "x"})
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = f.Open(ctx, storage.Entry{ID: f.RootID(), IsDir: true})
	require.ErrorIs(t, err, storage.ErrIsDir)
}

func TestUploads(t *testing.T) {
	const k = msgraph.FragmentMultiple
	root := storage.Entry{IsDir: true}
	n := int64(3*k + k/2)
	for _, tc := range []struct {
		name     string
		size     int64
		fault    *graphtest.Fault
		opt      func(e *env, f *drivefs.FS) storage.PutOptions
		kind     error
		sleeps   int
		statuses int
	}{
		{"zero bytes by simple PUT", 0, nil, nil, nil, 0, 0},
		{"lost response: 416 then nextExpectedRanges", n, &graphtest.Fault{Op: "uploadSession.PutFragment", Status: 503, AfterApply: true}, nil, nil, 0, 1},
		{"404 on a fresh session is retried", n, &graphtest.Fault{Op: "uploadSession.PutFragment", Status: 404}, nil, nil, 1, 0},
		{"session lost later", n, nil, func(e *env, f *drivefs.FS) storage.PutOptions {
			return storage.PutOptions{OnUploadState: func(storage.UploadState) error { e.srv.ExpireUploadSessions(); return nil }}
		}, storage.ErrNotFound, 0, 0},
		{"quota at session creation", n, &graphtest.Fault{Op: "drives.CreateUploadSessionNew", Status: 507}, nil, storage.ErrQuotaExceeded, 0, 0},
		{"path too long", 10, &graphtest.Fault{Op: "drives.UploadNewFile", Status: 400, Inner: []string{"pathIsTooLong"}}, nil, storage.ErrInvalidName, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, graphtest.Options{})
			f := e.fs(t, "")
			f.SetChunking(k, k)
			if tc.fault != nil {
				e.srv.Inject(*tc.fault)
			}
			var opt storage.PutOptions
			if tc.opt != nil {
				opt = tc.opt(e, f)
			}
			b := data(int(tc.size))
			ent, err := f.Put(ctx, root, "file.bin", bytes.NewReader(b), tc.size, opt)
			require.Len(t, e.clock.Sleeps(), tc.sleeps)
			require.Equal(t, tc.statuses, e.srv.CallCount("uploadSession.GetStatus"))
			if tc.kind != nil {
				require.ErrorIs(t, err, tc.kind)
				_, ok := e.srv.Stat(e.srv.MyDriveID(), "file.bin")
				require.False(t, ok, "no file left behind")
				return
			}
			require.NoError(t, err)
			got, _ := e.srv.FileContent(e.srv.MyDriveID(), "file.bin")
			require.Equal(t, b, got)
			require.Equal(t, tc.size, ent.Size)
			if tc.size == 0 {
				require.Equal(t, 1, e.srv.CallCount("drives.UploadNewFile"))
				require.Equal(t, 0, e.srv.CallCount("drives.CreateUploadSessionNew"))
			} else {
				require.GreaterOrEqual(t, e.srv.CallCount("uploadSession.PutFragment"), 4)
			}
		})
	}
}

func TestConditionalPut(t *testing.T) {
	const k = msgraph.FragmentMultiple
	for _, size := range []int64{10, 2*k + 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := newEnv(t, graphtest.Options{})
			f := e.fs(t, "")
			f.SetChunking(k, k)
			root := storage.Entry{IsDir: true}
			put := func(name string, opt storage.PutOptions) (storage.Entry, error) {
				return f.Put(ctx, root, name, bytes.NewReader(data(int(size))), size, opt)
			}
			first, err := put("a.bin", storage.PutOptions{})
			require.NoError(t, err)
			_, err = put("a.bin", storage.PutOptions{NoOverwrite: true})
			require.ErrorIs(t, err, storage.ErrAlreadyExists)
			_, err = put("a.bin", storage.PutOptions{ExpectedVersion: `"{stale},1"`})
			require.ErrorIs(t, err, storage.ErrPreconditionFailed)
			_, err = put("new.bin", storage.PutOptions{ExpectedVersion: first.Version})
			require.ErrorIs(t, err, storage.ErrPreconditionFailed, "no file to match")
			second, err := put("A.BIN", storage.PutOptions{ExpectedVersion: first.Version})
			require.NoError(t, err)
			require.Equal(t, first.ID, second.ID, "a new version keeps the ID")
			require.NotEqual(t, first.Version, second.Version)
			require.NoError(t, e.srv.SetLocked(e.srv.MyDriveID(), "a.bin", true))
			_, err = put("a.bin", storage.PutOptions{})
			require.ErrorIs(t, err, storage.ErrLocked)
		})
	}
}

func TestResumeAfterRestart(t *testing.T) {
	const k = msgraph.FragmentMultiple
	e := newEnv(t, graphtest.Options{})
	f := e.fs(t, "Root")
	f.SetChunking(k, k)
	n := int64(4*k + 17)
	b := data(int(n))
	var saved []storage.UploadState
	stop := errors.New("process killed")
	_, err := f.Put(ctx, storage.Entry{IsDir: true, ID: f.RootID()}, "huge.bin", bytes.NewReader(b), n, storage.PutOptions{
		OnUploadState: func(st storage.UploadState) error {
			saved = append(saved, st)
			if len(saved) == 2 {
				return stop
			}
			return nil
		}})
	require.ErrorIs(t, err, stop)
	st := saved[1]
	require.Equal(t, int64(2*k), st.Offset)
	require.False(t, st.Expires.IsZero())
	require.NotContains(t, err.Error(), st.Token)

	// A new process: new client, new FS, nothing in memory.
	c2 := e.client(t)
	f2, err := drivefs.NewFS(ctx, c2, e.srv.MyDriveID(), f.RootID())
	require.NoError(t, err)
	f2.SetChunking(k, k)
	e.srv.ResetCalls()
	ent, err := f2.ResumeUpload(ctx, st, bytes.NewReader(b[st.Offset:]), storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, "huge.bin", ent.Path)
	require.Equal(t, 3, e.srv.CallCount("uploadSession.PutFragment"), "only the fragments not yet confirmed")
	got, _ := e.srv.FileContent(e.srv.MyDriveID(), "Root/huge.bin")
	require.Equal(t, b, got)

	_, err = f2.ResumeUpload(ctx, st, bytes.NewReader(b[st.Offset:]), storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound, "the session is finished")
	_, err = f2.ResumeUpload(ctx, storage.UploadState{Token: "garbage"}, bytes.NewReader(nil), storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestOfficeFilesTakeTheServerVersion(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	e.srv.RewriteOfficeUploads(true)
	f := e.fs(t, "")
	for _, size := range []int64{100, 2*msgraph.FragmentMultiple + 3} {
		f.SetChunking(msgraph.FragmentMultiple, msgraph.FragmentMultiple)
		b := data(int(size))
		ent, err := f.Put(ctx, storage.Entry{IsDir: true}, "Report.docx", bytes.NewReader(b), size, storage.PutOptions{})
		require.NoError(t, err)
		srvItem, ok := e.srv.Stat(e.srv.MyDriveID(), "Report.docx")
		require.True(t, ok)
		require.NotEqual(t, size, srvItem.Size, "SharePoint rewrote the file")
		require.Equal(t, srvItem.Size, ent.Size)
		require.Equal(t, srvItem.QuickXorHash, ent.Hashes[storage.HashQuickXor])
		require.Equal(t, srvItem.ETag, ent.Version)
		again, err := f.Stat(ctx, "report.DOCX")
		require.NoError(t, err)
		require.Equal(t, ent.Version, again.Version, "no false change afterwards")
		require.Equal(t, "Report.docx", again.Path, "the server's spelling")
	}
}

func TestChanges(t *testing.T) {
	e := newEnv(t, graphtest.Options{PageSize: 2})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	cur, err := f.LatestCursor(ctx)
	require.NoError(t, err)

	// Idle: one call.
	e.srv.ResetCalls()
	ch, cur, err := f.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, 1, e.srv.CallCount(""))

	_, err = e.srv.WebUpload(d, "Root/a/b/c.txt", []byte("1"))
	require.NoError(t, err)
	_, err = e.srv.WebUpload(d, "Root/a/b/c.txt", []byte("2"))
	require.NoError(t, err)
	_, err = e.srv.WebUpload(d, "Elsewhere/x.txt", []byte("x"))
	require.NoError(t, err)

	// A fresh process (empty index) builds paths from IDs.
	f2, err := drivefs.NewFS(ctx, e.client(t), d, f.RootID())
	require.NoError(t, err)
	ch, cur, err = f2.Changes(ctx, cur)
	require.NoError(t, err)
	paths := map[string]int{}
	elsewhere, _ := e.srv.Stat(d, "Elsewhere")
	x, _ := e.srv.Stat(d, "Elsewhere/x.txt")
	for _, c := range ch {
		if c.Deleted {
			// A fresh process cannot tell an item that was always outside
			// the root from one moved out: it reports it by ID only.
			require.Contains(t, []string{elsewhere.ID, x.ID}, c.Entry.ID)
			require.Empty(t, c.Entry.Path)
			continue
		}
		paths[c.Entry.Path]++
	}
	require.Equal(t, map[string]int{"a": 1, "a/b": 1, "a/b/c.txt": 1}, paths, "de-duplicated, nothing alive from outside the root")

	// Moves out of the root read as deletions; deletions carry paths.
	_, err = e.srv.WebMove(d, "Root/a/b/c.txt", "Elsewhere")
	require.NoError(t, err)
	require.NoError(t, e.srv.WebDelete(d, "Root/a"))
	ch, cur, err = f2.Changes(ctx, cur)
	require.NoError(t, err)
	gone := map[string]bool{}
	for _, c := range ch {
		require.True(t, c.Deleted, "%+v", c)
		gone[c.Entry.Path] = true
	}
	require.Equal(t, map[string]bool{"a": true, "a/b": true, "a/b/c.txt": true}, gone)

	// A cursor the service no longer honours: resync this drive only.
	e.srv.ExpireDeltaTokens(d)
	_, _, err = f2.Changes(ctx, cur)
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

func TestListByDelta(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	require.NoError(t, e.srv.Seed(d, "Docs", 2500, 100))
	f := e.fs(t, "")
	e.srv.ResetCalls()
	n := 0
	for ent, err := range f.List(ctx) {
		require.NoError(t, err)
		require.NotEmpty(t, ent.Path)
		n++
	}
	require.Equal(t, 2500+25+1, n)
	require.Equal(t, map[string]int{"drives.RootDelta": 3}, e.srv.Calls(), "1000 items a page")
}

func TestMalformedResponses(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"truncated JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"id":"x","name":`) }},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, `{"id":"x"`)
		}},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `<html>`) }},
		{"wrong types", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"id":5,"size":"big"}`) }},
		{"delta page without links", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"value":[]}`) }},
		{"error body garbage", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(409)
			_, _ = io.WriteString(w, `{"error":[1,2]}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := httptest.NewServer(tc.h)
			defer hs.Close()
			c, err := msgraph.NewClient(msgraph.Options{BaseURL: hs.URL + "/v1.0", RetryMax: -1,
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
			require.NoError(t, err)
			_, err = c.GetItem(ctx, "d", "i")
			require.Error(t, err)
			_, err = c.Delta(ctx, c.DeltaURL("d", ""))
			require.Error(t, err)
		})
	}
}

func TestLinksToOtherHostsAreRefused(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	_, err := e.c.Delta(ctx, "https://evil.example/v1.0/drives/x/root/delta?token=abc")
	require.ErrorContains(t, err, "refusing to send credentials")
	require.Equal(t, 0, e.srv.CallCount(""))
}

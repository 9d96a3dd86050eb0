package dropbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/dropbox/internal/stone"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestContentHashVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(stone.Dir(t), "content-hash-test-vectors.json"))
	require.NoError(t, err)
	var v struct {
		Vectors []struct {
			N    int    `json:"n_bytes_A"`
			Hash string `json:"content_hash"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Vectors)
	for _, x := range v.Vectors {
		data := bytes.Repeat([]byte("A"), x.N)
		require.Equal(t, x.Hash, dropbox.ContentHash(data), "%d bytes", x.N)
	}
}

// setup returns a fake and a Storage at its account root.
func setup(t *testing.T, opt dropboxtest.Options, mod func(*dropbox.ClientOptions)) (*dropboxtest.Server, *dropbox.Storage) {
	t.Helper()
	srv := dropboxtest.NewServer(t, opt)
	s, err := dropbox.New(context.Background(), newClient(t, srv, srv.Token(), mod), dropbox.Options{})
	require.NoError(t, err)
	return srv, s
}

type pacer struct {
	mu    sync.Mutex
	waits int
	fb    []storage.Feedback
}

func (p *pacer) Wait(ctx context.Context, key string, n int) error {
	p.mu.Lock()
	p.waits++
	p.mu.Unlock()
	return ctx.Err()
}
func (p *pacer) Observe(key string, fb storage.Feedback) {
	p.mu.Lock()
	p.fb = append(p.fb, fb)
	p.mu.Unlock()
}

func TestRateLimitRetryAfterPacesAndRetries(t *testing.T) {
	clk := fakeservice.NewClock(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	pc := &pacer{}
	srv, s := setup(t, dropboxtest.Options{}, func(o *dropbox.ClientOptions) {
		o.Now, o.Sleep, o.Pacer = clk.Now, clk.Sleep, pc
	})
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	_, err := s.Put(ctx, root, "a.txt", strings.NewReader("a"), 1, storage.PutOptions{})
	require.NoError(t, err)
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/get_metadata", Status: 429, Code: "too_many_write_operations", RetryAfter: 7 * time.Second})
	_, err = s.Stat(ctx, "a.txt")
	require.NoError(t, err)
	require.Equal(t, 2, srv.Calls("files/get_metadata"))
	require.Contains(t, clk.Sleeps(), 7*time.Second, "waited what Retry-After asked")
	require.Contains(t, pc.fb, storage.Feedback{RetryAfter: 7 * time.Second})
	require.GreaterOrEqual(t, pc.waits, 3)
}

func TestPersonEditsInTheChangeFeed(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	d, err := s.MakeDir(ctx, root, "Plans")
	require.NoError(t, err)
	f, err := s.Put(ctx, d, "A.pdf", strings.NewReader("aaa"), 3, storage.PutOptions{})
	require.NoError(t, err)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	before := srv.Calls("")
	ch, next, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, 1, srv.Calls("")-before, "an idle check is one call")

	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Plans/A.pdf", "/Plans/B.pdf"))
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Plans/new.txt", []byte("n"))
	require.NoError(t, err)
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Plans/new.txt"))
	ch, _, err = s.Changes(ctx, next)
	require.NoError(t, err)
	last := map[string]storage.Change{}
	for _, c := range ch {
		last[strings.ToLower(c.Entry.Path)] = c
	}
	require.Equal(t, f.ID, last["plans/b.pdf"].Entry.ID, "a move keeps the ID")
	require.True(t, last["plans/a.pdf"].Deleted, "the old path is reported deleted")
	require.Equal(t, f.ID, last["plans/a.pdf"].Entry.ID, "a deletion carries the ID last seen there")
	require.True(t, last["plans/new.txt"].Deleted)
}

func TestLongpollWatch(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{LongpollMax: 2 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := s.Watch(ctx)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	// Every change wakes the watcher, even one made while it is between
	// two longpolls.
	for i := range 30 {
		_, _, err = srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("/x%d.txt", i), []byte("x"))
		require.NoError(t, err)
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal after change %d", i)
		}
	}
	require.GreaterOrEqual(t, srv.Service.Calls.Host(dropboxtest.HostNotify), 1)
	cancel()
	for range ch {
	}
}

func TestWebhook(t *testing.T) {
	_, err := dropbox.NewWebhook("")
	require.ErrorIs(t, err, dropbox.ErrNoAppSecret)
	wh, err := dropbox.NewWebhook("appsecret")
	require.NoError(t, err)
	hs := httptest.NewServer(wh)
	defer hs.Close()
	resp, err := http.Get(hs.URL + "?challenge=abc123")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "abc123", string(b))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := wh.Watch(ctx)
	require.NoError(t, err)
	body := []byte(`{"list_folder":{"accounts":["dbid:x"]}}`)
	for _, sig := range []string{"", "00", dropbox.Sign("wrong", body)} {
		req, _ := http.NewRequest(http.MethodPost, hs.URL, bytes.NewReader(body))
		req.Header.Set("X-Dropbox-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "signature %q", sig)
	}
	select {
	case <-ch:
		t.Fatal("a forged notification woke the watcher")
	default:
	}
	// The fake signs its notifications with the app secret.
	srv := dropboxtest.NewServer(t, dropboxtest.Options{WebhookURL: hs.URL})
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/a.txt", []byte("a"))
	require.NoError(t, err)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after a signed notification")
	}
}

func TestTeamHeaders(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	ctx := context.Background()
	tok := srv.TeamToken()
	_, err := dropbox.New(ctx, newClient(t, srv, tok, nil), dropbox.Options{RootPath: "/Projects"})
	require.Error(t, err, "a team token without Select-User")
	member := newClient(t, srv, tok, func(o *dropbox.ClientOptions) { o.SelectUser = dropboxtest.MemberID })
	_, err = dropbox.New(ctx, member, dropbox.Options{RootPath: "/Projects"})
	require.ErrorIs(t, err, storage.ErrNotFound, "the team folder is not in the member's home namespace")
	space := newClient(t, srv, tok, func(o *dropbox.ClientOptions) {
		o.SelectUser = dropboxtest.MemberID
		o.PathRoot = dropbox.RootNamespace(dropboxtest.TeamRootNS)
	})
	s, err := dropbox.New(ctx, space, dropbox.Options{RootPath: "/Projects"})
	require.NoError(t, err)
	root, _ := s.Stat(ctx, "")
	_, err = s.Put(ctx, root, "ü.txt", strings.NewReader("x"), 1, storage.PutOptions{})
	require.NoError(t, err)
	got, ok := srv.ContentOf(dropboxtest.TeamFolderNS, "/ü.txt")
	require.True(t, ok, "the file is in the team folder's namespace")
	require.Equal(t, "x", string(got))
	other := newClient(t, srv, srv.Token(), func(o *dropbox.ClientOptions) { o.PathRoot = dropbox.NamespaceID(dropboxtest.TeamFolderNS) })
	_, err = other.GetMetadata(ctx, "/ü.txt")
	require.ErrorIs(t, err, storage.ErrPermissionDenied, "a personal account has no access to the team folder")
}

func TestOAuthPKCEAndRefresh(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	cfg := dropbox.Config{AppKey: "appkey", RedirectURL: "http://127.0.0.1/cb", Endpoint: &oauth2.Endpoint{AuthURL: "https://www.dropbox.com/oauth2/authorize", TokenURL: srv.TokenURL()}}
	verifier := oauth2.GenerateVerifier()
	u, err := url.Parse(cfg.AuthCodeURL("st", verifier))
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "offline", q.Get("token_access_type"))
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	ctx := context.Background()
	code := srv.Authorize(q.Get("code_challenge"))
	_, err = cfg.Exchange(ctx, code, oauth2.GenerateVerifier())
	require.Error(t, err, "a wrong verifier")
	code = srv.Authorize(q.Get("code_challenge"))
	tok, err := cfg.Exchange(ctx, code, verifier)
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	tok.Expiry = time.Now().Add(-time.Minute) // expired: the source refreshes
	c, err := dropbox.NewClient(dropbox.ClientOptions{APIURL: srv.API.URL, ContentURL: srv.Content.URL, NotifyURL: srv.Notify.URL,
		TokenSource: cfg.TokenSource(ctx, tok)})
	require.NoError(t, err)
	_, err = c.ListFolder(ctx, dropbox.ListFolderArg{Path: ""})
	require.NoError(t, err)
	require.Equal(t, 1, srv.Calls("files/list_folder"))
	// Dropbox refuses the token as expired before its time: one refresh
	// and one retry.
	srv.ExpireTokens()
	_, err = c.ListFolder(ctx, dropbox.ListFolderArg{Path: ""})
	require.NoError(t, err)
	require.Equal(t, 3, srv.Calls("files/list_folder"))
}

func TestTokensStayOnTheirHosts(t *testing.T) {
	_, err := dropbox.NewClient(dropbox.ClientOptions{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}), APIURL: "http://api.example.com"})
	require.Error(t, err, "plain http to a non-loopback host")
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	c := newClient(t, srv, "sl.secret-token", nil)
	_, err = c.GetMetadata(context.Background(), "/x")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret-token")
}

func TestPutBatch(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	var files []dropbox.BatchFile
	for i := range 5 {
		files = append(files, dropbox.BatchFile{Name: "f" + string(rune('0'+i)) + ".txt", Data: []byte{byte(i)}})
	}
	files = append(files, dropbox.BatchFile{Name: "bad\\name"})
	ents, errs := s.PutBatch(ctx, root, files)
	for i := range 5 {
		require.NoError(t, errs[i])
		require.NotEmpty(t, ents[i].ID)
		got, ok := srv.ContentOf(dropboxtest.HomeNS, "/"+files[i].Name)
		require.True(t, ok)
		require.Equal(t, files[i].Data, got)
	}
	require.ErrorIs(t, errs[5], storage.ErrInvalidName)
	require.Equal(t, 1, srv.Calls("files/upload_session/finish_batch_v2"))
	// A conflicting entry fails alone.
	ents, errs = s.PutBatch(ctx, root, []dropbox.BatchFile{{Name: "f0.txt", Data: []byte("x"), Opt: storage.PutOptions{NoOverwrite: true}}, {Name: "g.txt", Data: []byte("g")}})
	require.ErrorIs(t, errs[0], storage.ErrAlreadyExists)
	require.NoError(t, errs[1])
	require.Equal(t, "g.txt", ents[1].Path)
}

func TestWriteContention(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{WriteLock: time.Hour}, func(o *dropbox.ClientOptions) { o.RetryMax = -1 })
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	_, err := s.Put(ctx, root, "a.txt", strings.NewReader("a"), 1, storage.PutOptions{})
	require.NoError(t, err)
	_, err = s.Put(ctx, root, "b.txt", strings.NewReader("b"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrThrottled, "a second commit while the namespace is locked")
	d, ok := storage.RetryAfter(err)
	require.True(t, ok)
	require.Equal(t, time.Second, d)
	_, ok = srv.ContentOf(dropboxtest.HomeNS, "/b.txt")
	require.False(t, ok)
}

func TestPutBatchIsOneCommit(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{WriteLock: time.Hour}, func(o *dropbox.ClientOptions) { o.RetryMax = -1 })
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	var files []dropbox.BatchFile
	for i := range 20 {
		files = append(files, dropbox.BatchFile{Name: "f" + strings.Repeat("x", i) + ".txt", Data: []byte{byte(i)}})
	}
	_, errs := s.PutBatch(ctx, root, files)
	for _, err := range errs {
		require.NoError(t, err, "the batch commits every file at once, without contention")
	}
	require.Equal(t, 21, srv.Calls(""))
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func TestRootFollowedByID(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	_, err := srv.WebMkdir(dropboxtest.HomeNS, "/Procore/Tower")
	require.NoError(t, err)
	ctx := context.Background()
	s, err := dropbox.New(ctx, newClient(t, srv, srv.Token(), nil), dropbox.Options{RootPath: "/Procore/Tower"})
	require.NoError(t, err)
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	d, err := s.MakeDir(ctx, root, "Plans")
	require.NoError(t, err)
	_, err = s.Put(ctx, d, "a.pdf", strings.NewReader("a"), 1, storage.PutOptions{})
	require.NoError(t, err)
	// A person renames the root folder.
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore/Tower", "/Procore/Tower A"))
	st, err := s.Stat(ctx, "Plans/a.pdf")
	require.NoError(t, err)
	require.Equal(t, "Plans/a.pdf", st.Path)
	n := 0
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		require.Contains(t, []string{"Plans", "Plans/a.pdf"}, e.Path)
		n++
	}
	require.Equal(t, 2, n)
	require.NoError(t, srv.WebMove(dropboxtest.HomeNS, "/Procore/Tower A", "/Procore/Tower B"))
	_, err = s.MakeDir(ctx, root, "Photos")
	require.NoError(t, err)
	_, ok := srv.ContentOf(dropboxtest.HomeNS, "/Procore/Tower B/Plans/a.pdf")
	require.True(t, ok)
	m, err := s.Client().GetMetadata(ctx, "/Procore/Tower B/Photos")
	require.NoError(t, err, "the folder is made in the moved root")
	require.Equal(t, "folder", m.Tag)
	_, err = s.Client().GetMetadata(ctx, "/Procore/Tower A")
	require.ErrorIs(t, err, storage.ErrNotFound, "the old root path is not re-created")
}

func TestMakeDirInADeletedFolder(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	d, err := s.MakeDir(ctx, root, "Gone")
	require.NoError(t, err)
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Gone"))
	_, err = s.MakeDir(ctx, d, "sub")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = s.Client().GetMetadata(ctx, "/Gone/sub")
	require.ErrorIs(t, err, storage.ErrNotFound, "the folder made in the re-created parent was removed")
}

func TestLostResponsesDoNotFailWrites(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	s.SetChunking(4, 4)
	data := []byte("0123456789abc")
	// The second append is carried out, but its response is lost: the
	// retry meets incorrect_offset and goes on.
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/upload_session/append_v2", Status: 503, AfterApply: true, After: 1})
	e, err := s.Put(ctx, root, "big.bin", bytes.NewReader(data), int64(len(data)), storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, dropbox.ContentHash(data), e.Hashes[storage.HashDropbox])
	got, _ := srv.ContentOf(dropboxtest.HomeNS, "/big.bin")
	require.Equal(t, data, got)

	// A conditional update carried out whose response is lost: the retry
	// conflicts with the new rev, which is recognised as this write.
	s.SetChunking(1<<20, 1<<20)
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/upload", Status: 503, AfterApply: true})
	e2, err := s.Put(ctx, root, "big.bin", strings.NewReader("new"), 3, storage.PutOptions{ExpectedVersion: e.Version})
	require.NoError(t, err)
	require.NotEqual(t, e.Version, e2.Version)
	// Writing the same content again over the current rev is no conflict.
	e3, err := s.Put(ctx, root, "big.bin", strings.NewReader("new"), 3, storage.PutOptions{ExpectedVersion: e2.Version})
	require.NoError(t, err)
	require.Equal(t, e2.Version, e3.Version)
	// But a stale rev still is, even when a person wrote the same bytes.
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/big.bin", []byte("web"))
	require.NoError(t, err)
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/big.bin", []byte("new"))
	require.NoError(t, err)
	_, err = s.Put(ctx, root, "big.bin", strings.NewReader("new"), 3, storage.PutOptions{ExpectedVersion: e2.Version})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
}

func TestDeleteNeverTakesAnotherItemOfTheSameName(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	d, err := s.MakeDir(ctx, root, "Plans")
	require.NoError(t, err)
	// A person replaces the folder by another of the same name.
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Plans"))
	_, _, err = srv.WebPut(dropboxtest.HomeNS, "/Plans/theirs.pdf", []byte("keep"))
	require.NoError(t, err)
	require.ErrorIs(t, s.Delete(ctx, d), storage.ErrNotFound)
	_, ok := srv.ContentOf(dropboxtest.HomeNS, "/Plans/theirs.pdf")
	require.True(t, ok, "the other folder and its file are kept")
}

func TestLongpollOutlastsTheResponseHeaderTimeout(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{LongpollMax: 300 * time.Millisecond})
	tr := httpclient.NewTransport()
	tr.ResponseHeaderTimeout = 50 * time.Millisecond
	c := newClient(t, srv, srv.Token(), func(o *dropbox.ClientOptions) { o.HTTPClient = &http.Client{Transport: tr} })
	ctx := context.Background()
	cur, err := c.GetLatestCursor(ctx, dropbox.ListFolderArg{Path: "", Recursive: true})
	require.NoError(t, err)
	res, err := c.Longpoll(ctx, cur, 30)
	require.NoError(t, err)
	require.False(t, res.Changes)
}

func TestResumeAfterTheSessionExpired(t *testing.T) {
	clk := fakeservice.NewClock(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	srv := dropboxtest.NewServer(t, dropboxtest.Options{Now: clk.Now})
	ctx := context.Background()
	s, err := dropbox.New(ctx, newClient(t, srv, srv.Token(), func(o *dropbox.ClientOptions) { o.Now = clk.Now }), dropbox.Options{})
	require.NoError(t, err)
	s.SetChunking(4, 4)
	root, _ := s.Stat(ctx, "")
	data := []byte("0123456789")
	var st storage.UploadState
	_, err = s.Put(ctx, root, "a.bin", bytes.NewReader(data), 10, storage.PutOptions{OnUploadState: func(u storage.UploadState) error {
		st = u
		return io.ErrClosedPipe
	}})
	require.Error(t, err)
	require.Equal(t, int64(4), st.Offset)
	require.Equal(t, clk.Now().Add(7*24*time.Hour), st.Expires)
	clk.Advance(8 * 24 * time.Hour)
	// The process restarts a week later, with a fresh token.
	s, err = dropbox.New(ctx, newClient(t, srv, srv.Token(), func(o *dropbox.ClientOptions) { o.Now = clk.Now }), dropbox.Options{})
	require.NoError(t, err)
	_, err = s.ResumeUpload(ctx, st, bytes.NewReader(data[4:]), storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrNotFound, "an expired session")
	_, ok := srv.ContentOf(dropboxtest.HomeNS, "/a.bin")
	require.False(t, ok)
}

func TestMoveRightAfterCreation(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	f, err := s.Put(ctx, root, "new.txt", strings.NewReader("n"), 1, storage.PutOptions{})
	require.NoError(t, err)
	// Dropbox does not find the file it just created (eventual consistency).
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/move_v2", Status: 409, Code: "from_lookup/not_found"})
	m, err := s.Move(ctx, f, root, "renamed.txt")
	require.NoError(t, err)
	require.Equal(t, f.ID, m.ID)
	require.Equal(t, 2, srv.Calls("files/move_v2"))
	// A file that is really gone is not found, without a second move.
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/renamed.txt"))
	_, err = s.Move(ctx, m, root, "again.txt")
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.Equal(t, 3, srv.Calls("files/move_v2"))
}

func TestDownloadsAreCheckedAgainstTheContentHash(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	f, err := s.Put(ctx, root, "a.txt", strings.NewReader("hello"), 5, storage.PutOptions{})
	require.NoError(t, err)
	rc, err := s.Open(ctx, f)
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.Equal(t, "hello", string(b))
	require.True(t, srv.Corrupt(dropboxtest.HomeNS, "/a.txt"))
	rc, err = s.Open(ctx, f)
	require.NoError(t, err)
	_, err = io.ReadAll(rc)
	rc.Close()
	require.ErrorIs(t, err, dropbox.ErrContentHash)
}

func TestPlainTextRateLimit(t *testing.T) {
	clk := fakeservice.NewClock(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	srv, s := setup(t, dropboxtest.Options{}, func(o *dropbox.ClientOptions) { o.Now, o.Sleep = clk.Now, clk.Sleep })
	ctx := context.Background()
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/list_folder", Status: 429, Code: dropboxtest.PlainText, RetryAfter: 4 * time.Second})
	for _, err := range s.List(ctx) {
		require.NoError(t, err)
	}
	require.Contains(t, clk.Sleeps(), 4*time.Second)
	require.Equal(t, 2, srv.Calls("files/list_folder"))
}

func TestRestoreFromDeletedFiles(t *testing.T) {
	srv, s := setup(t, dropboxtest.Options{}, nil)
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	d, err := s.MakeDir(ctx, root, "Plans")
	require.NoError(t, err)
	f, err := s.Put(ctx, d, "a.pdf", strings.NewReader("plan"), 4, storage.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, d))
	_, err = s.Stat(ctx, "Plans/a.pdf")
	require.ErrorIs(t, err, storage.ErrNotFound)
	r, err := s.Restore(ctx, f)
	require.NoError(t, err)
	require.Equal(t, "Plans/a.pdf", r.Path)
	require.Equal(t, f.ID, r.ID, "the file comes back with its ID")
	got, _ := srv.ContentOf(dropboxtest.HomeNS, "/Plans/a.pdf")
	require.Equal(t, "plan", string(got))
	_, err = s.Restore(ctx, f)
	require.ErrorIs(t, err, storage.ErrAlreadyExists, "never over a file that is there")
}

func TestDeletionsNameTheirIDAfterARestart(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	ctx := context.Background()
	id, _, err := srv.WebPut(dropboxtest.HomeNS, "/Plans/a.pdf", []byte("a"))
	require.NoError(t, err)
	s, err := dropbox.New(ctx, newClient(t, srv, srv.Token(), nil), dropbox.Options{})
	require.NoError(t, err)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	// A new process, which has not listed anything, reads the feed.
	s, err = dropbox.New(ctx, newClient(t, srv, srv.Token(), nil), dropbox.Options{})
	require.NoError(t, err)
	require.NoError(t, srv.WebDelete(dropboxtest.HomeNS, "/Plans"))
	ch, _, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	found := false
	for _, c := range ch {
		if c.Deleted && strings.EqualFold(c.Entry.Path, "Plans/a.pdf") {
			found = true
			require.Equal(t, id, c.Entry.ID)
		}
	}
	require.True(t, found, "%+v", ch)
}

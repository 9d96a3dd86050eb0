package box_test

import (
	"context"
	"crypto/sha1"
	"hash"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/storagetest"
)

var ctx = context.Background()

// env is a fake with a client that never really sleeps.
type env struct {
	srv  *boxtest.Server
	c    *box.Client
	part atomic.Int64
}

func newEnv(t testing.TB, opt boxtest.Options) *env {
	t.Helper()
	e := &env{}
	e.part.Store(8 << 20)
	if opt.PartSize == nil {
		opt.PartSize = func(int64) int64 { return e.part.Load() }
	}
	if opt.MinChunkedSize == 0 {
		opt.MinChunkedSize = 1
	}
	e.srv = boxtest.NewServer(t, opt)
	e.c = newClient(t, e.srv, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.srv.Token(), Expiry: time.Now().Add(time.Hour)}))
	return e
}

func newClient(t testing.TB, srv *boxtest.Server, ts oauth2.TokenSource) *box.Client {
	t.Helper()
	clk := fakeservice.NewClock(time.Now())
	c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(), TokenSource: ts,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Now: clk.Now, Sleep: clk.Sleep})
	require.NoError(t, err)
	return c
}

func (e *env) storage(t testing.TB, rootPath string) *box.Storage {
	t.Helper()
	if rootPath != "" {
		_, err := e.srv.WebMkdir(rootPath)
		require.NoError(t, err)
	}
	s, err := box.New(ctx, e.c, box.Options{RootPath: rootPath})
	require.NoError(t, err)
	return s
}

// conformance runs storagetest.Run on fakes that newSrv makes.
func conformance(t *testing.T, rootPath string, observe func(t *testing.T, e *env)) {
	conformanceOf(t, rootPath, observe, false)
}

// conformanceOf runs storagetest.Run; with fed, each Storage reads its
// changes from a shared EventsFeed run with the user's long poll.
func conformanceOf(t *testing.T, rootPath string, observe func(t *testing.T, e *env), fed bool) {
	var mu sync.Mutex
	envs := map[*box.Storage]*env{}
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(t *testing.T) storage.Storage {
			e := newEnv(t, boxtest.Options{PageSize: 3, EventPage: 4})
			if observe != nil {
				observe(t, e)
			}
			s := e.storage(t, rootPath)
			mu.Lock()
			envs[s] = e
			mu.Unlock()
			if fed {
				return runFeed(t, e, s)
			}
			return s
		},
		SetChunkSize: func(s storage.Storage, chunk int64) bool {
			bs := unfed(s)
			mu.Lock()
			e := envs[bs]
			mu.Unlock()
			e.part.Store(chunk)
			bs.SetChunking(chunk + 1)
			return true
		},
		ChunkSizes: []int64{1024, 4096, 64 << 10},
		HashFuncs:  map[storage.HashKind]func() hash.Hash{storage.HashSHA1: sha1.New},
		MoveOut:    moveOut(rootPath, &mu, envs),
	})
}

// moveOut moves an item to the account root, out of a Storage rooted
// below it (nil for a Storage rooted at the account root: nothing lies
// outside it).
func moveOut(rootPath string, mu *sync.Mutex, envs map[*box.Storage]*env) func(t *testing.T, s storage.Storage, ent storage.Entry) {
	if rootPath == "" {
		return nil
	}
	return func(t *testing.T, s storage.Storage, ent storage.Entry) {
		mu.Lock()
		e := envs[unfed(s)]
		mu.Unlock()
		require.NoError(t, e.srv.WebMove(ent.ID, "0", "moved-out-"+ent.ID))
	}
}

// unfed returns the *box.Storage of s (a Storage or a Fed).
func unfed(s storage.Storage) *box.Storage {
	if f, ok := s.(*box.Fed); ok {
		return f.Storage
	}
	return s.(*box.Storage)
}

// runFeed gives s a shared EventsFeed that polls on every Changes (MaxAge
// 1ns: the suite reads its changes right after making them) and on the
// user's long poll, run until the test ends.
func runFeed(t *testing.T, e *env, s *box.Storage) *box.Fed {
	feed := box.NewEventsFeed(e.c, changefeed.Options{MaxAge: 1})
	fed := s.WithFeed(feed)
	rctx, cancel := context.WithCancel(context.Background())
	trigger, err := e.c.WatchEvents(rctx)
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feed.Run(rctx, trigger)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return fed
}

func TestConformance(t *testing.T) {
	t.Run("Folder", func(t *testing.T) { conformance(t, "Procore/Project 1", nil) })
	t.Run("AccountRoot", func(t *testing.T) { conformance(t, "", nil) })
	t.Run("ServiceAccountAsUser", func(t *testing.T) { conformance(t, "Procore", serviceAccount) })
	t.Run("FolderWithFeed", func(t *testing.T) { conformanceOf(t, "Procore/Project 1", nil, true) })
}

// serviceAccount makes the env's client an enterprise service account
// (Client Credentials Grant) acting as the user.
func serviceAccount(t *testing.T, e *env) {
	cfg := box.Config{ClientID: "box-client-id", ClientSecret: "box-client-secret", TokenURL: e.srv.TokenURL()}
	clk := fakeservice.NewClock(time.Now())
	c, err := box.NewClient(box.ClientOptions{BaseURL: e.srv.BaseURL(), UploadURL: e.srv.UploadURL(),
		TokenSource: box.ClientCredentialsSource(cfg, box.Subject{Type: "enterprise", ID: "900001"}), AsUser: boxtest.MeID,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, Now: clk.Now, Sleep: clk.Sleep})
	require.NoError(t, err)
	e.c = c
}

func TestAsUser(t *testing.T) {
	e := newEnv(t, boxtest.Options{})
	cfg := box.Config{ClientID: "box-client-id", ClientSecret: "box-client-secret", TokenURL: e.srv.TokenURL()}
	ts := box.ClientCredentialsSource(cfg, box.Subject{Type: "enterprise", ID: "900001"})
	for _, tc := range []struct {
		user string
		ok   bool
	}{{boxtest.MeID, true}, {"31337", false}} {
		c, err := box.NewClient(box.ClientOptions{BaseURL: e.srv.BaseURL(), UploadURL: e.srv.UploadURL(), TokenSource: ts, AsUser: tc.user, RetryMax: -1})
		require.NoError(t, err)
		_, err = box.New(ctx, c, box.Options{})
		if tc.ok {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, storage.ErrPermissionDenied)
		}
	}
}

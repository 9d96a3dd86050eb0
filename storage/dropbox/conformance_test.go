package dropbox_test

import (
	"context"
	"hash"
	"testing"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// newClient returns a client for the fake that never really sleeps.
func newClient(t testing.TB, srv *dropboxtest.Server, token string, mod func(*dropbox.ClientOptions)) *dropbox.Client {
	t.Helper()
	o := srv.ClientOptions(token)
	o.RetryWaitMin, o.RetryWaitMax = time.Millisecond, 2*time.Millisecond
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	if mod != nil {
		mod(&o)
	}
	c, err := dropbox.NewClient(o)
	require.NoError(t, err)
	return c
}

// runFolderFeed gives s a shared FolderFeed on the namespace root that
// polls on every Changes (MaxAge 1ns: the suite reads its changes right
// after making them) and on its longpoll, run until the test ends.
func runFolderFeed(t *testing.T, c *dropbox.Client, s *dropbox.Storage) *dropbox.Fed {
	feed := dropbox.NewFolderFeed(c, "", changefeed.Options{MaxAge: 1})
	fed := s.WithFeed(feed)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = feed.Longpoll(ctx, 30)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return fed
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		team bool
		ns   string // namespace the Storage works in
		root string
		feed bool // changes from a shared FolderFeed on the namespace root
	}{
		{"AccountRoot", false, dropboxtest.HomeNS, "", false},
		{"Folder", false, dropboxtest.HomeNS, "/Procore/Project 1", false},
		{"TeamSpaceFolder", true, dropboxtest.TeamRootNS, "/Projects/Tower A", false},
		{"TeamFolderNamespace", true, dropboxtest.TeamFolderNS, "", false},
		{"FolderWithFeed", false, dropboxtest.HomeNS, "/Procore/Project 1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			servers := map[storage.Storage]*dropboxtest.Server{}
			var moveOut func(t *testing.T, s storage.Storage, e storage.Entry)
			if tc.root != "" {
				moveOut = func(t *testing.T, s storage.Storage, e storage.Entry) {
					srv := servers[s]
					require.NoError(t, srv.WebMove(tc.ns, tc.root+"/"+e.Path, "/Elsewhere/"+e.Name()))
				}
			}
			storagetest.Run(t, storagetest.Opt{
				MoveOut: moveOut,
				NewStorage: func(t *testing.T) storage.Storage {
					srv := dropboxtest.NewServer(t, dropboxtest.Options{})
					tok := srv.Token()
					var mod func(*dropbox.ClientOptions)
					if tc.team {
						tok = srv.TeamToken()
						mod = func(o *dropbox.ClientOptions) {
							o.SelectUser = dropboxtest.MemberID
							if tc.ns == dropboxtest.TeamRootNS {
								o.PathRoot = dropbox.RootNamespace(tc.ns)
							} else {
								o.PathRoot = dropbox.NamespaceID(tc.ns)
							}
						}
					}
					if tc.root != "" {
						_, err := srv.WebMkdir(tc.ns, tc.root)
						require.NoError(t, err)
					}
					c := newClient(t, srv, tok, mod)
					s, err := dropbox.New(context.Background(), c, dropbox.Options{RootPath: tc.root})
					require.NoError(t, err)
					if tc.feed {
						fed := runFolderFeed(t, c, s)
						servers[fed] = srv
						return fed
					}
					servers[s] = srv
					return s
				},
				SetChunkSize: func(s storage.Storage, chunk int64) bool {
					if f, ok := s.(*dropbox.Fed); ok {
						return f.SetChunking(chunk, chunk)
					}
					return s.(*dropbox.Storage).SetChunking(chunk, chunk)
				},
				HashFuncs: map[storage.HashKind]func() hash.Hash{storage.HashDropbox: dropbox.NewHash},
				Timeout:   20 * time.Second,
			})
		})
	}
}

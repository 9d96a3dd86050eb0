package onedrive_test

import (
	"context"
	"hash"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/storagetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// newClient returns a client for the fake that never really sleeps.
func newClient(t testing.TB, srv *graphtest.Server) *msgraph.Client {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:      srv.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	require.NoError(t, err)
	return c
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		folder bool
	}{
		{"Folder", true},
		{"DriveRoot", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storagetest.Run(t, storagetest.Opt{
				NewStorage: func(t *testing.T) storage.Storage {
					srv := graphtest.NewServer(t, graphtest.Options{})
					opt := onedrive.Options{}
					if tc.folder {
						_, err := srv.WebMkdir(srv.MyDriveID(), "Procore/Project 1")
						require.NoError(t, err)
						opt.RootPath = "Procore/Project 1"
					}
					s, err := onedrive.New(context.Background(), newClient(t, srv), opt)
					require.NoError(t, err)
					return s
				},
				SetChunkSize: func(s storage.Storage, chunk int64) bool {
					return s.(*onedrive.Storage).SetChunking(chunk, chunk)
				},
				HashFuncs: map[storage.HashKind]func() hash.Hash{storage.HashQuickXor: quickxorhash.New},
			})
		})
	}
}

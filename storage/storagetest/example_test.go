package storagetest_test

import (
	"context"
	"hash"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/storagetest"
	"golang.org/x/oauth2"
)

// conformance is what a connector's package names TestConformance: the
// whole suite, against a fresh folder of the in-process Graph fake for
// every check, with small upload fragments so that small files take
// several, and QuickXorHash to verify the hashes the service reports.
func conformance(t *testing.T) {
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(t *testing.T) storage.Storage {
			srv := graphtest.NewServer(t, graphtest.Options{})
			c, err := msgraph.NewClient(msgraph.Options{
				BaseURL:     srv.BaseURL(),
				TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.WebMkdir(srv.MyDriveID(), "Conformance"); err != nil {
				t.Fatal(err)
			}
			s, err := onedrive.New(context.Background(), c, onedrive.Options{RootPath: "Conformance"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		SetChunkSize: func(s storage.Storage, chunk int64) bool {
			return s.(*onedrive.Storage).SetChunking(chunk, chunk)
		},
		HashFuncs: map[storage.HashKind]func() hash.Hash{
			storage.HashQuickXor: quickxorhash.New,
		},
	})
}

// ExampleRun shows a connector's conformance test. Run takes the test's
// *testing.T, so it runs from a Test function, not from an example: name
// conformance TestConformance in the connector's _test.go file.
func ExampleRun() {
	_ = conformance
}

package onedrive_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"golang.org/x/oauth2"
)

// Example runs a OneDrive Storage against the in-process Graph fake. In
// production, BaseURL is left empty (or set to a national cloud's) and the
// token source comes from AppOnlySource or DelegatedSource.
func Example() {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	ctx := context.Background()

	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
		PaceKey:     "graph:contoso",
	})
	if err != nil {
		panic(err)
	}
	if _, err := srv.WebMkdir(srv.MyDriveID(), "Procore/Project 1"); err != nil {
		panic(err)
	}
	s, err := onedrive.New(ctx, c, onedrive.Options{RootPath: "Procore/Project 1"})
	if err != nil {
		panic(err)
	}
	root, _ := s.Stat(ctx, "")
	plans, _ := s.MakeDir(ctx, root, "Plans")
	f, err := s.Put(ctx, plans, "A-101.pdf", strings.NewReader("%PDF-1.7"), 8, storage.PutOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Path, f.Size, f.Hashes[storage.HashQuickXor] != "")
	for e, err := range s.List(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Path, e.IsDir)
	}
	// Output:
	// Plans/A-101.pdf 8 true
	// Plans true
	// Plans/A-101.pdf false
}

package procore_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

// Example runs the authorization code flow against the in-process fake,
// then writes and lists project Documents through the storage.Storage.
func Example() {
	srv := procoretest.New(procoretest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// In production: Env: procore.Production, and a FileTokenStore.
	conf := procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, RedirectURL: "http://localhost/cb",
		Env: procore.Environment{Name: "fake", AuthURL: srv.URL, APIURL: srv.URL}}
	store := &procore.MemoryTokenStore{}
	if _, err := conf.Exchange(ctx, srv.AuthorizationCode("http://localhost/cb"), store); err != nil {
		panic(err)
	}
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, CompanyID: srv.CompanyID,
		TokenSource: conf.TokenSource(ctx, store)})
	if err != nil {
		panic(err)
	}

	docs := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	root, _ := docs.Stat(ctx, "")
	folder, _ := docs.MakeDir(ctx, root, "Drawings")
	if _, err := docs.Put(ctx, folder, "A-101.pdf", strings.NewReader("%PDF-1.7"), 8, storage.PutOptions{}); err != nil {
		panic(err)
	}
	for e, err := range docs.List(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(e.Path, e.IsDir)
	}
	// Unordered output:
	// Drawings true
	// Drawings/A-101.pdf false
}

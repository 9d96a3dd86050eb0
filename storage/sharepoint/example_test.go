package sharepoint_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"golang.org/x/oauth2"
)

// ExampleNew opens a folder of a SharePoint document library, found by
// the site's host name and path and the library's name, on the
// in-process Graph fake. Against a tenant, BaseURL is left empty and the
// token source comes from package msauth.
func ExampleNew() {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	site := srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := srv.AddLibrary(site, "Project Files")
	if _, err := srv.WebMkdir(lib, "Procore/Tower 3"); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := sharepoint.New(ctx, c, sharepoint.Options{
		Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		Library: "Project Files", RootPath: "Procore/Tower 3",
	})
	if err != nil {
		log.Fatal(err)
	}
	root, err := s.Stat(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Put(ctx, root, "A-101.pdf", strings.NewReader("%PDF-1.7"), 8, storage.PutOptions{}); err != nil {
		log.Fatal(err)
	}
	for e, err := range s.List(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Path, e.Size)
	}
	f, _ := srv.Stat(lib, "Procore/Tower 3/A-101.pdf")
	fmt.Println("in the library:", f.Name, s.LibraryID == lib)
	// Output:
	// A-101.pdf 8
	// in the library: A-101.pdf true
}

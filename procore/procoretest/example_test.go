package procoretest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"golang.org/x/oauth2"
)

// Example uses the fake as a test would: a person adds a drawing in
// Procore's web UI, the API answers one request with 503 (which the
// client retries), and the fake counts the calls by host.
func Example() {
	srv := procoretest.New(procoretest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// A person at work in the web UI.
	docs := procoretest.ProjectDocs(srv.ProjectID)
	if _, err := srv.UIPutFile(docs, "Drawings/A-101.pdf", []byte("%PDF-1.7")); err != nil {
		log.Fatal(err)
	}

	c, err := procore.NewClient(procore.Options{
		BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	srv.ResetCalls()
	srv.Inject(procoretest.Fault{Op: procoretest.AllOps, Status: 503})

	// The first request gets the 503; the client retries it.
	e, err := s.Stat(ctx, "Drawings/A-101.pdf")
	if err != nil {
		log.Fatal(err)
	}
	rc, err := s.Open(ctx, e)
	if err != nil {
		log.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s\n", e.Path, b)
	fmt.Println("file host calls:", srv.CallsByHost(procoretest.HostFile) > 0)
	// Output:
	// Drawings/A-101.pdf %PDF-1.7
	// file host calls: true
}

package graphtest_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"golang.org/x/oauth2"
)

// Example runs a OneDrive Storage against the fake: a person uploads a
// file in the web UI, Graph throttles one request (429 with
// Retry-After, which the client waits out), and the fake counts the
// calls by operation.
func Example() {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// A person at work in the SharePoint web UI.
	if _, err := srv.WebUpload(srv.MyDriveID(), "Procore/RFI-12.pdf", []byte("%PDF")); err != nil {
		log.Fatal(err)
	}

	// A manual clock: Retry-After is honoured without waiting for real.
	clock := manualclock.New(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
		Now:         clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			clock.Advance(d)
			return ctx.Err()
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := onedrive.New(ctx, c, onedrive.Options{RootPath: "Procore"})
	if err != nil {
		log.Fatal(err)
	}
	srv.ResetCalls()
	srv.Throttle("drives.GetItemByRelativePath", 1, 30*time.Second)
	e, err := s.Stat(ctx, "RFI-12.pdf")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Path, e.Size, "after", clock.Now().Format("15:04:05"))

	calls := srv.Calls()
	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		fmt.Println(op, calls[op])
	}
	// Output:
	// RFI-12.pdf 4 after 08:00:30
	// drives.GetItemByRelativePath 2
}

package procore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"golang.org/x/oauth2"
)

// ExampleNewReceiver serves Procore webhook deliveries: the Receiver
// checks each delivery's Authorization header against the secret given
// at registration and wakes the Documents storage of the project the
// event names, so that the engine syncs it now instead of at its next
// interval. Here the fake delivers the events of a file a person uploads
// in the web UI.
func ExampleNewReceiver() {
	srv := procoretest.New(procoretest.Options{})
	defer srv.Close()
	ctx := context.Background()
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: srv.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.IssueToken()})})
	if err != nil {
		log.Fatal(err)
	}
	docs := procore.NewProjectDocuments(c, srv.ProjectID, nil)

	// The secret comes from the environment or a file in production,
	// never from a flag or the code.
	const authorization = "Bearer 6f1c0d9e-example-secret"
	rcv, err := procore.NewReceiver(authorization)
	if err != nil {
		log.Fatal(err)
	}
	rcv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var mu sync.Mutex
	seen := map[string]bool{}
	rcv.OnEvent = func(e procore.Event) {
		mu.Lock()
		defer mu.Unlock()
		seen[e.ResourceName+" "+e.EventType] = true
	}
	rcv.WatchDocuments(docs)
	hs := httptest.NewServer(rcv) // in production: an https listener at a public URL
	defer hs.Close()
	if _, err := c.Webhooks.RegisterHook(ctx, procore.WebhookScope{ProjectID: srv.ProjectID}, "procoresync",
		hs.URL, authorization, "v2.0", procore.DocumentResources); err != nil {
		log.Fatal(err)
	}

	wake, err := docs.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "RFI-12.pdf", []byte("%PDF")); err != nil {
		log.Fatal(err)
	}
	srv.WaitWebhooks()
	select {
	case <-wake:
		fmt.Println("Documents woken")
	case <-time.After(10 * time.Second):
		fmt.Println("no wake-up")
	}
	mu.Lock()
	fmt.Println(seen["Project Files create"])
	mu.Unlock()
	// Output:
	// Documents woken
	// true
}

package onedrive_test

import (
	"context"
	"fmt"
	"net/http/httptest"
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

// ExampleStorage_WithNotifier keeps a change-notification subscription
// on the drive's root for as long as ctx lives and turns the Storage
// into a storage.Watcher woken by the deliveries. In production the
// Notifier is mounted on a public HTTPS URL of the service.
func ExampleStorage_WithNotifier() {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
	})
	if err != nil {
		panic(err)
	}
	s, err := onedrive.New(ctx, c, onedrive.Options{})
	if err != nil {
		panic(err)
	}
	const clientState = "a-secret-of-the-subscription"
	n, err := msgraph.NewNotifier(clientState)
	if err != nil {
		panic(err)
	}
	hook := httptest.NewServer(n)
	defer hook.Close()
	watch, err := s.WithNotifier(n).Watch(ctx)
	if err != nil {
		panic(err)
	}

	events := make(chan msgraph.SubscriptionEvent, 8)
	kept := make(chan error, 1)
	go func() {
		kept <- c.KeepSubscription(ctx, msgraph.SubscriptionSpec{
			Resource:        msgraph.DriveRootResource(s.DriveID()),
			NotificationURL: hook.URL,
			ClientState:     clientState,
			OnEvent:         func(e msgraph.SubscriptionEvent) { events <- e },
		})
	}()
	fmt.Println((<-events).State)
	fmt.Println("watching", srv.Subscriptions()[0].Resource == "/drives/"+s.DriveID()+"/root")

	// A person uploads a file in the web UI: Graph notifies.
	if _, err := srv.WebUpload(s.DriveID(), "RFI-12.pdf", []byte("%PDF")); err != nil {
		panic(err)
	}
	<-watch
	fmt.Println("woken")

	cancel()
	fmt.Println(<-kept, (<-events).State, len(srv.Subscriptions()))
	// Output:
	// created
	// watching true
	// woken
	// context canceled deleted 0
}

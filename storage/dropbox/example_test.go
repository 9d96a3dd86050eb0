package dropbox_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
)

// Example writes a file into a project folder of a Dropbox account, here
// the in-process fake; with a real account, give the Client a token source
// (Config.TokenSource after an OAuth exchange) and no host URLs.
func Example() {
	srv := dropboxtest.New(dropboxtest.Options{})
	defer srv.Close()
	if _, err := srv.WebMkdir(dropboxtest.HomeNS, "/Procore/Tower A"); err != nil {
		panic(err)
	}
	ctx := context.Background()
	c, err := dropbox.NewClient(srv.ClientOptions(srv.Token()))
	if err != nil {
		panic(err)
	}
	s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: "/Procore/Tower A"})
	if err != nil {
		panic(err)
	}
	root, err := s.Stat(ctx, "")
	if err != nil {
		panic(err)
	}
	e, err := s.Put(ctx, root, "plan.pdf", strings.NewReader("%PDF"), 4, storage.PutOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Path, e.Size, e.Hashes[storage.HashDropbox] == dropbox.ContentHash([]byte("%PDF")))
	// Output: plan.pdf 4 true
}

// ExampleNewWebhook serves Dropbox webhook notifications and uses them as
// a storage.Watcher.
func ExampleNewWebhook() {
	wh, err := dropbox.NewWebhook("the app secret")
	if err != nil {
		panic(err)
	}
	_ = wh // mount with http.Handle("/dropbox/webhook", wh); wh.Watch gives the signals
	fmt.Println(dropbox.Sign("the app secret", []byte(`{}`)) != "")
	// Output: true
}

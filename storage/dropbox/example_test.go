package dropbox_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/changefeed"
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

// Two projects' folders of one Dropbox account read their changes from one
// shared recursive cursor on the account's root: one list_folder/continue
// serves both, and each sees only its own folder's changes. In a service,
// run feed.Longpoll(ctx, 30) (or feed.Run with a Webhook's signals) and
// give each pair its Fed as a storage.Watcher.
func ExampleNewFolderFeed() {
	srv := dropboxtest.New(dropboxtest.Options{})
	defer srv.Close()
	for _, p := range []string{"/Procore/Tower", "/Procore/Plaza"} {
		if _, err := srv.WebMkdir(dropboxtest.HomeNS, p); err != nil {
			panic(err)
		}
	}
	ctx := context.Background()
	c, err := dropbox.NewClient(srv.ClientOptions(srv.Token()))
	if err != nil {
		panic(err)
	}
	feed := dropbox.NewFolderFeed(c, "", changefeed.Options{})
	var fed []*dropbox.Fed
	var cursors []string
	for _, p := range []string{"/Procore/Tower", "/Procore/Plaza"} {
		s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: p})
		if err != nil {
			panic(err)
		}
		f := s.WithFeed(feed)
		cur, err := f.LatestCursor(ctx)
		if err != nil {
			panic(err)
		}
		fed, cursors = append(fed, f), append(cursors, cur)
	}
	if _, _, err := srv.WebPut(dropboxtest.HomeNS, "/Procore/Plaza/specs.pdf", []byte("%PDF")); err != nil {
		panic(err)
	}
	if err := feed.Poll(ctx); err != nil { // what the longpoll does on changes
		panic(err)
	}
	for i, f := range fed {
		changes, _, err := f.Changes(ctx, cursors[i])
		if err != nil {
			panic(err)
		}
		for _, ch := range changes {
			fmt.Println(i, ch.Entry.Path)
		}
	}
	fmt.Println("polls:", feed.Polls())
	// Output:
	// 1 specs.pdf
	// polls: 1
}

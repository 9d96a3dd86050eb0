package box_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
)

// A Storage rooted at a folder of the account, on the in-process fake.
// Against Box, leave BaseURL and UploadURL empty and give a token source:
// box.OAuthSource for a user, box.ClientCredentialsSource or
// box.JWTSource for a service account.
func ExampleNew() {
	srv := boxtest.New(boxtest.Options{DownloadNotReady: -1})
	defer srv.Close()
	if _, err := srv.WebMkdir("Procore/Project 1"); err != nil {
		fmt.Println(err)
		return
	}
	c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	s, err := box.New(ctx, c, box.Options{RootPath: "Procore/Project 1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	root, _ := s.Stat(ctx, "")
	e, err := s.Put(ctx, root, "Drawing A-101.pdf", strings.NewReader("%PDF-1.7"), 8, storage.PutOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Path, e.Size, e.Hashes[storage.HashSHA1] != "")
	// Output: Drawing A-101.pdf 8 true
}

// Two projects' folders of one Box user read their changes from one shared
// events feed: one read of the events stream serves both, and each sees
// only its own folder's changes. In a service, run the feed with the
// user's long poll: feed.Run(ctx, trigger) with trigger from
// c.WatchEvents(ctx), and give each pair its Fed as a storage.Watcher.
func ExampleNewEventsFeed() {
	srv := boxtest.New(boxtest.Options{})
	defer srv.Close()
	for _, p := range []string{"Procore/Tower", "Procore/Plaza"} {
		if _, err := srv.WebMkdir(p); err != nil {
			fmt.Println(err)
			return
		}
	}
	c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	feed := box.NewEventsFeed(c, changefeed.Options{})
	var fed []*box.Fed
	var cursors []string
	for _, p := range []string{"Procore/Tower", "Procore/Plaza"} {
		s, err := box.New(ctx, c, box.Options{RootPath: p})
		if err != nil {
			fmt.Println(err)
			return
		}
		f := s.WithFeed(feed)
		cur, err := f.LatestCursor(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		fed, cursors = append(fed, f), append(cursors, cur)
	}
	if _, err := srv.WebUpload("Procore/Tower/A-101.pdf", []byte("%PDF")); err != nil {
		fmt.Println(err)
		return
	}
	if err := feed.Poll(ctx); err != nil { // what the long poll's signal does
		fmt.Println(err)
		return
	}
	for i, f := range fed {
		changes, _, err := f.Changes(ctx, cursors[i])
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, ch := range changes {
			fmt.Println(i, ch.Entry.Path)
		}
	}
	fmt.Println("polls:", feed.Polls())
	// Output:
	// 0 A-101.pdf
	// polls: 1
}

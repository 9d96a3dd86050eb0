package box_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

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

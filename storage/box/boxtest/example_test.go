package boxtest_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"golang.org/x/oauth2"
)

// Example runs a Box Storage against the fake: a person uploads a file
// in the web app, Box fails one read with 503 (which the client
// retries), and the fake counts the calls by operation.
func Example() {
	srv := boxtest.New(boxtest.Options{DownloadNotReady: -1})
	defer srv.Close()

	// A person at work in the Box web app.
	if _, err := srv.WebUpload("Procore/RFI-12.pdf", []byte("%PDF")); err != nil {
		fmt.Println(err)
		return
	}
	c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	s, err := box.New(ctx, c, box.Options{RootPath: "Procore"})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.ResetCalls()
	srv.Inject(boxtest.Fault{Op: "get_folders_id_items", Status: http.StatusServiceUnavailable, Times: 1})
	for e, err := range s.List(ctx) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.Path, e.Size)
	}
	fmt.Println("folder item reads:", srv.CallCount("get_folders_id_items"))
	// Output:
	// RFI-12.pdf 4
	// folder item reads: 2
}

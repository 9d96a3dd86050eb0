package dropboxtest_test

import (
	"context"
	"fmt"

	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
)

// Example runs a Dropbox Storage against the fake: a person adds a file
// and then renames it on the Dropbox website, and the Storage's change
// feed reports both from its cursor: the rename as a deletion of the old
// path (in lower case, as Dropbox reports deletions) and the file at the
// new one. The fake counts the calls by route.
func Example() {
	srv := dropboxtest.New(dropboxtest.Options{})
	defer srv.Close()
	if _, err := srv.WebMkdir(dropboxtest.HomeNS, "/Procore"); err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	c, err := dropbox.NewClient(srv.ClientOptions(srv.Token()))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: "/Procore"})
	if err != nil {
		fmt.Println(err)
		return
	}
	cursor, err := s.LatestCursor(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}

	// A person at work on the Dropbox website.
	if _, _, err := srv.WebPut(dropboxtest.HomeNS, "/Procore/RFI-12.pdf", []byte("%PDF")); err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.WebMove(dropboxtest.HomeNS, "/Procore/RFI-12.pdf", "/Procore/RFI-12 answered.pdf"); err != nil {
		fmt.Println(err)
		return
	}

	changes, _, err := s.Changes(ctx, cursor)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ch := range changes {
		if ch.Deleted {
			fmt.Println("deleted:", ch.Entry.Path)
		} else {
			fmt.Println("now:", ch.Entry.Path)
		}
	}
	fmt.Println("list_folder/continue calls:", srv.Calls("files/list_folder/continue"))
	// Output:
	// now: RFI-12.pdf
	// deleted: rfi-12.pdf
	// now: RFI-12 answered.pdf
	// list_folder/continue calls: 1
}

package msgraph_test

import (
	"context"
	"fmt"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"golang.org/x/oauth2"
)

// Example uses the drives client on the in-process Graph fake: the
// signed-in user's drive, a simple upload, the root's children, and the
// drive's delta from a delta link. Against a tenant, BaseURL is left
// empty (or set to a national cloud's) and the token source comes from
// package msauth.
func Example() {
	srv := graphtest.New(graphtest.Options{})
	defer srv.Close()
	ctx := context.Background()

	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:     srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()}),
		UserAgent:   "ISV|Contoso|Sync/1.0",
	})
	if err != nil {
		panic(err)
	}
	d, err := c.MyDrive(ctx)
	if err != nil {
		panic(err)
	}
	_, latest, err := c.DeltaAll(ctx, c.DeltaURL(d.ID, "latest"))
	if err != nil {
		panic(err)
	}
	root, err := c.GetRoot(ctx, d.ID)
	if err != nil {
		panic(err)
	}
	it, err := c.PutSmall(ctx, d.ID, root.ID, "RFI-12.pdf", "", []byte("%PDF"), msgraph.ConflictFail, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(it.Name, *it.Size, it.File != nil)
	for child, err := range c.Children(ctx, d.ID, root.ID) {
		if err != nil {
			panic(err)
		}
		fmt.Println("child:", child.Name)
	}
	changed, _, err := c.DeltaAll(ctx, latest)
	if err != nil {
		panic(err)
	}
	for _, ch := range changed {
		if ch.File != nil {
			fmt.Println("changed:", ch.Name)
		}
	}
	// Output:
	// RFI-12.pdf 4 true
	// child: RFI-12.pdf
	// changed: RFI-12.pdf
}

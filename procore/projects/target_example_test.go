package projects_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
)

// ExampleSharePointTarget opens the folders of a SharePoint library as a
// projects.Target: the site and the library are resolved once, and every
// folder below the library's root reads its changes from the library's one
// shared feed (run it with the drive's subscription: DriveFeed.Run). It
// runs on the in-process Graph fake; against Microsoft Graph the client
// comes from msgraph.NewClient with an msauth token source.
func ExampleSharePointTarget() {
	ctx := context.Background()
	fake := graphtest.New(graphtest.Options{})
	defer fake.Close()
	site := fake.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	for _, p := range []string{"Procore/Tower 3/Documents", "Procore/Tower 3/Photos"} {
		if _, err := fake.WebMkdir(fake.SiteDrives(site)[0], p); err != nil {
			log.Fatal(err)
		}
	}
	gc, err := msgraph.NewClient(msgraph.Options{BaseURL: fake.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fake.Token(), Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		log.Fatal(err)
	}
	feeds := map[string]*msgraph.DriveFeed{}
	target := &projects.SharePointTarget{Client: gc, Options: sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects"},
		Feed: func(driveID string) *msgraph.DriveFeed {
			if feeds[driveID] == nil {
				feeds[driveID] = msgraph.NewDriveFeed(gc, driveID, changefeed.Options{})
			}
			return feeds[driveID]
		}}
	for _, rel := range []string{"Procore/Tower 3/Documents", "Procore/Tower 3/Photos"} {
		s, err := target.Open(ctx, rel)
		if err != nil {
			log.Fatal(err)
		}
		_, watched := s.(storage.Watcher)
		fmt.Println(rel, "watched by the shared feed:", watched)
	}
	fmt.Println("feeds:", len(feeds))
	// Output:
	// Procore/Tower 3/Documents watched by the shared feed: true
	// Procore/Tower 3/Photos watched by the shared feed: true
	// feeds: 1
}

package projects

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/sharepoint"
)

func graphClient(t *testing.T, srv *graphtest.Server) *msgraph.Client {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		ContentHosts: []string{strings.TrimPrefix(srv.Content.URL, "http://")},
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	require.NoError(t, err)
	return c
}

// TestGraphTargetsCacheResolution: the SharePoint and OneDrive targets
// resolve the site and library (or the drive) once, so that each later
// Open costs exactly one Graph call; a cached library or drive that
// answers 404 is resolved again; a missing folder is storage.ErrNotFound;
// with Feed set, the storages below the root read the drive's shared
// feed and are storage.Watchers.
func TestGraphTargetsCacheResolution(t *testing.T) {
	ctx := context.Background()
	srv := graphtest.NewServer(t, graphtest.Options{})
	site := srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := srv.AddLibrary(site, "Closeout")
	for _, d := range []string{srv.SiteDrives(site)[0], lib, srv.MyDriveID()} {
		for _, p := range []string{"Procore/A", "Procore/B", "Procore/C"} {
			_, err := srv.WebMkdir(d, p)
			require.NoError(t, err)
		}
	}
	c := graphClient(t, srv)
	feeds := map[string]*msgraph.DriveFeed{}
	feed := func(id string) *msgraph.DriveFeed {
		if feeds[id] == nil {
			feeds[id] = msgraph.NewDriveFeed(c, id, changefeed.Options{})
		}
		return feeds[id]
	}
	type cache interface {
		Target
		forget(bogus string)
		setFeed(func(string) *msgraph.DriveFeed)
	}
	for _, tc := range []struct {
		name    string
		target  cache
		drive   string
		resolve int // calls of the resolution (the site and library, or the drive)
	}{
		{"sharepoint default library", &spCache{&SharePointTarget{Client: c, Options: sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects"}}},
			srv.SiteDrives(site)[0], 2},
		{"sharepoint named library", &spCache{&SharePointTarget{Client: c, Options: sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects", Library: "closeout"}}},
			lib, 2},
		{"onedrive user", &odCache{&OneDriveTarget{Client: c, Options: onedrive.Options{User: graphtest.MeUPN}}}, srv.MyDriveID(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := func(f func()) int {
				before := srv.CallCount("")
				f()
				return srv.CallCount("") - before
			}
			open := func(rel string) storage.Storage {
				s, err := tc.target.Open(ctx, rel)
				require.NoError(t, err)
				return s
			}
			// What opening a folder of a known drive costs (the
			// connector's own calls).
			folder := calls(func() {
				_, err := onedrive.New(ctx, c, onedrive.Options{DriveID: tc.drive, RootPath: "Procore/A"})
				require.NoError(t, err)
			})
			require.Equal(t, tc.resolve+folder, calls(func() { open("Procore/A") }))
			for _, rel := range []string{"Procore/B", "Procore/C", "Procore/A"} {
				require.Equal(t, folder, calls(func() { open(rel) }), rel)
			}
			// A folder that does not exist: ErrNotFound, after one check
			// that the library is still there; the cache stays.
			missing := calls(func() {
				_, err := onedrive.New(ctx, c, onedrive.Options{DriveID: tc.drive, RootPath: "Procore/missing"})
				require.ErrorIs(t, err, storage.ErrNotFound)
			})
			require.Equal(t, missing+1, calls(func() {
				_, err := tc.target.Open(ctx, "Procore/missing")
				require.ErrorIs(t, err, storage.ErrNotFound)
			}))
			require.Equal(t, folder, calls(func() { open("Procore/A") }))

			// The library (drive) went away and another took its place.
			tc.target.forget("b!gone")
			var s storage.Storage
			gone := calls(func() {
				_, err := onedrive.New(ctx, c, onedrive.Options{DriveID: "b!gone", RootPath: "Procore/B"})
				require.ErrorIs(t, err, storage.ErrNotFound)
			})
			require.Equal(t, gone+1+tc.resolve+folder, calls(func() { s = open("Procore/B") }))
			require.Equal(t, tc.drive, s.(interface{ DriveID() string }).DriveID())
			require.Equal(t, folder, calls(func() { open("Procore/C") }))

			// With a shared feed: storages below the root watch it.
			tc.target.setFeed(feed)
			_, ok := open("Procore/A").(storage.Watcher)
			require.True(t, ok)
			_, ok = open("").(storage.Watcher)
			require.False(t, ok, "the root (the Manager's layout) does not subscribe")
			require.Equal(t, 1, feeds[tc.drive].Subscribers())
		})
	}
}

// spCache and odCache reach the targets' caches for the test.
type spCache struct{ *SharePointTarget }

func (c *spCache) forget(bogus string) {
	c.mu.Lock()
	c.libID = bogus
	c.mu.Unlock()
}

func (c *spCache) setFeed(f func(string) *msgraph.DriveFeed) { c.Feed = f }

type odCache struct{ *OneDriveTarget }

func (c *odCache) forget(bogus string) {
	c.mu.Lock()
	c.driveID = bogus
	c.mu.Unlock()
}

func (c *odCache) setFeed(f func(string) *msgraph.DriveFeed) { c.Feed = f }

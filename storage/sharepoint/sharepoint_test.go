package sharepoint_test

import (
	"context"
	"hash"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/storage/storagetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func newClient(t testing.TB, srv *graphtest.Server) *msgraph.Client {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL:      srv.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	require.NoError(t, err)
	return c
}

// newProjects makes a fake with the site /sites/Projects holding the
// libraries "Documents" (default) and "Project Files".
func newProjects(t testing.TB) (*graphtest.Server, string, string) {
	srv := graphtest.NewServer(t, graphtest.Options{})
	site := srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := srv.AddLibrary(site, "Project Files")
	return srv, site, lib
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(t *testing.T) storage.Storage {
			srv, _, lib := newProjects(t)
			_, err := srv.WebMkdir(lib, "Sync/Root")
			require.NoError(t, err)
			ctx := context.Background()
			c := newClient(t, srv)
			s, err := sharepoint.New(ctx, c, sharepoint.Options{
				Host: graphtest.SharePointHost, SitePath: "/sites/projects", Library: "project files", RootPath: "Sync/Root"})
			require.NoError(t, err)
			// Change notifications wake the watcher.
			const clientState = "secret-state-1"
			n, err := msgraph.NewNotifier(clientState)
			require.NoError(t, err)
			hook := httptest.NewServer(n)
			t.Cleanup(hook.Close)
			_, err = c.Subscribe(ctx, msgraph.DriveRootResource(s.DriveID()), hook.URL+"/hook", clientState, time.Now().Add(24*time.Hour))
			require.NoError(t, err)
			return s.WithNotifier(n)
		},
		SetChunkSize: func(s storage.Storage, chunk int64) bool {
			return s.(*sharepoint.Watched).SetChunking(chunk, chunk)
		},
		HashFuncs: map[storage.HashKind]func() hash.Hash{storage.HashQuickXor: quickxorhash.New},
	})
}

func TestOpen(t *testing.T) {
	srv, site, lib := newProjects(t)
	c := newClient(t, srv)
	ctx := context.Background()
	_, err := srv.WebMkdir(srv.SiteDrives(site)[0], "Shared/Plans")
	require.NoError(t, err)

	got, err := sharepoint.ResolveSite(ctx, c, graphtest.SharePointHost, "sites/PROJECTS")
	require.NoError(t, err)
	require.Equal(t, site, got.ID)
	libs, err := sharepoint.Libraries(ctx, c, site)
	require.NoError(t, err)
	require.Len(t, libs, 2)
	require.Equal(t, "Documents", libs[0].Name)
	require.Equal(t, "documentLibrary", libs[0].DriveType)
	require.Equal(t, lib, libs[1].ID)

	for _, tc := range []struct {
		name    string
		opt     sharepoint.Options
		lib     string
		wantErr error
	}{
		{"default library by host and path", sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects"}, srv.SiteDrives(site)[0], nil},
		{"library by name", sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects", Library: "Project Files"}, lib, nil},
		{"site by id, root folder", sharepoint.Options{SiteID: site, RootPath: "shared/plans"}, srv.SiteDrives(site)[0], nil},
		{"library by id", sharepoint.Options{LibraryID: lib}, lib, nil},
		{"root site", sharepoint.Options{Host: graphtest.SharePointHost}, "", nil},
		{"unknown site", sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Nope"}, "", storage.ErrNotFound},
		{"unknown library", sharepoint.Options{SiteID: site, Library: "Nope"}, "", storage.ErrNotFound},
		{"unknown root folder", sharepoint.Options{SiteID: site, RootPath: "no/such"}, "", storage.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sharepoint.New(ctx, c, tc.opt)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if tc.lib != "" {
				require.Equal(t, tc.lib, s.LibraryID)
			}
			require.Equal(t, s.LibraryID, s.DriveID())
		})
	}
}

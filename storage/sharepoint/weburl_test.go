package sharepoint_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/sharepoint"
)

// TestWebURL: the address WebURL computes without a call is the webUrl
// Graph gives the item, for names that need escaping too.
func TestWebURL(t *testing.T) {
	ctx := context.Background()
	srv, _, lib := newProjects(t)
	_, err := srv.WebUpload(lib, "Procore/Tower 3/Specs & Drawings/Ø 12 rebar #2 100%.pdf", []byte("x"))
	require.NoError(t, err)
	c := newClient(t, srv)
	s, err := sharepoint.New(ctx, c, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		Library: "Project Files", RootPath: "Procore/Tower 3"})
	require.NoError(t, err)
	var wl storage.WebLinker = s
	for _, p := range []string{"", "Specs & Drawings", "Specs & Drawings/Ø 12 rebar #2 100%.pdf"} {
		id := s.RootID()
		if p != "" {
			e, err := s.Stat(ctx, p)
			require.NoError(t, err)
			id = e.ID
		}
		it, err := c.GetItem(ctx, s.DriveID(), id)
		require.NoError(t, err)
		require.NotEmpty(t, it.WebURL)
		got, err := wl.WebURL(ctx, storage.Entry{Path: p, ID: id})
		require.NoError(t, err)
		require.Equal(t, it.WebURL, got, p)
	}
}

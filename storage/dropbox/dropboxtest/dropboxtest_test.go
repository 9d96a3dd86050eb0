package dropboxtest_test

import (
	"context"
	"testing"

	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/stretchr/testify/require"
)

func TestWebPutCreatesParents(t *testing.T) {
	srv := dropboxtest.NewServer(t, dropboxtest.Options{})
	_, _, err := srv.WebPut(dropboxtest.HomeNS, "/A/B/c.txt", []byte("c"))
	require.NoError(t, err)
	c, err := dropbox.NewClient(srv.ClientOptions(srv.Token()))
	require.NoError(t, err)
	ctx := context.Background()
	for _, p := range []string{"/A", "/a/b"} {
		m, err := c.GetMetadata(ctx, p)
		require.NoError(t, err, p)
		require.Equal(t, "folder", m.Tag)
	}
	m, err := c.GetMetadata(ctx, "/a/b/C.TXT")
	require.NoError(t, err)
	require.Equal(t, "/A/B/c.txt", m.PathDisplay)
	require.Equal(t, 3, srv.Items(dropboxtest.HomeNS))
}

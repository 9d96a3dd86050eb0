package box

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

func TestWebURL(t *testing.T) {
	ctx := context.Background()
	var wl storage.WebLinker = &Storage{}
	u, err := wl.WebURL(ctx, storage.Entry{ID: "12345", Path: "a/b.pdf"})
	require.NoError(t, err)
	require.Equal(t, "https://app.box.com/file/12345", u)
	u, err = wl.WebURL(ctx, storage.Entry{ID: "678", Path: "a", IsDir: true})
	require.NoError(t, err)
	require.Equal(t, "https://app.box.com/folder/678", u)
	u, err = (&Storage{opt: Options{WebApp: "https://acme.app.box.com/"}}).WebURL(ctx, storage.Entry{ID: "9"})
	require.NoError(t, err)
	require.Equal(t, "https://acme.app.box.com/file/9", u)
	_, err = wl.WebURL(ctx, storage.Entry{Path: "x"})
	require.ErrorIs(t, err, storage.ErrUnsupported)
}

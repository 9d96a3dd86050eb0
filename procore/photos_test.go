package procore_test

import (
	"context"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

func TestPhotos(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, `Site #3: "North"`, "IMG_1.jpg", []byte("jpeg-1"))
	require.NoError(t, err)
	_, err = srv.UIAddPhoto(srv.ProjectID, "", "loose.jpg", []byte("jpeg-2"))
	require.NoError(t, err)

	for _, tc := range []struct {
		replace bool
		album   string
	}{{false, `Site #3: "North"`}, {true, `Site -3- -North-`}} {
		p := procore.NewProjectPhotos(c, srv.ProjectID, &procore.PhotosOptions{ReplaceSpecialChars: tc.replace})
		var paths []string
		for e, err := range p.List(ctx) {
			require.NoError(t, err)
			paths = append(paths, e.Path)
		}
		sort.Strings(paths)
		require.Equal(t, []string{tc.album, tc.album + "/IMG_1.jpg", "loose.jpg"}, paths)
		e, err := p.Stat(ctx, tc.album+"/IMG_1.jpg")
		require.NoError(t, err)
		rc, err := p.Open(ctx, e)
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		require.Equal(t, "jpeg-1", string(b))
	}

	p := procore.NewProjectPhotos(c, srv.ProjectID, &procore.PhotosOptions{ReplaceSpecialChars: true})
	require.Equal(t, 1, p.Features().MaxDepth)
	root, err := p.Stat(ctx, "")
	require.NoError(t, err)
	album, err := p.MakeDir(ctx, root, "Roof")
	require.NoError(t, err)
	_, err = p.MakeDir(ctx, album, "Deeper")
	require.ErrorIs(t, err, storage.ErrUnsupported)
	require.ErrorIs(t, err, procore.ErrAlbumDepth)
	require.Contains(t, err.Error(), "one level deep")

	srv.ResetCalls()
	img, err := p.Put(ctx, album, "roof.jpg", strings.NewReader("r"), 1, storage.PutOptions{})
	require.NoError(t, err)
	other, err := p.Stat(ctx, "Site -3- -North-")
	require.NoError(t, err)
	moved, err := p.Move(ctx, img, other, "roof.jpg")
	require.NoError(t, err)
	require.Equal(t, img.ID, moved.ID)
	require.Equal(t, "Site -3- -North-/roof.jpg", moved.Path)
	// A rename is replayed as a new image plus the old one in the
	// recycle bin (see TestPhotosRenameByReplacement).
	renamedImg, err := p.Move(ctx, moved, other, "renamed.jpg")
	require.NoError(t, err)
	require.NotEqual(t, moved.ID, renamedImg.ID)
	require.Equal(t, "Site -3- -North-/renamed.jpg", renamedImg.Path)
	renamed, err := p.Move(ctx, album, root, "Roof 2")
	require.NoError(t, err)
	require.Equal(t, album.ID, renamed.ID)
	require.NoError(t, p.Delete(ctx, renamedImg))
	require.Equal(t, []string{`Site #3: "North"/IMG_1.jpg`, "loose.jpg"}, srv.UIPhotos(srv.ProjectID))
}

// TestPhotosOpenAfterListCostsNoAPICall: Open uses the URL the listing
// carried while the image is unchanged: one file-host and one storage
// call, none on the API host.
func TestPhotosOpenAfterListCostsNoAPICall(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, "Site", "IMG_1.jpg", []byte("jpeg-1"))
	require.NoError(t, err)
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	var img storage.Entry
	for e, err := range p.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir {
			img = e
		}
	}
	srv.ResetCalls()
	rc, err := p.Open(ctx, img)
	require.NoError(t, err)
	b, _ := io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "jpeg-1", string(b))
	require.Equal(t, map[string]int{"FileDownload": 1, "StorageGetObject": 1}, srv.Calls())
	require.Zero(t, srv.CallsByHost(procoretest.HostAPI))

	// An entry of another version (or never listed) reads the image first.
	srv.ResetCalls()
	other := img
	other.Version = "2000-01-01T00:00:00Z"
	rc, err = p.Open(ctx, other)
	require.NoError(t, err)
	b, _ = io.ReadAll(rc)
	rc.Close()
	require.Equal(t, "jpeg-1", string(b))
	require.Equal(t, 1, srv.CallCount("RestV10ImagesIdGet"))

	// A deleted image: a storage that has no listed URL for it reports it
	// gone.
	require.NoError(t, p.Delete(ctx, img))
	_, err = procore.NewProjectPhotos(c, srv.ProjectID, nil).Open(ctx, img)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

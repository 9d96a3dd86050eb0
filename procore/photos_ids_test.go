package procore_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

func listPhotos(t *testing.T, p *procore.PhotosStorage) map[string]storage.Entry {
	t.Helper()
	out := map[string]storage.Entry{}
	for e, err := range p.List(context.Background()) {
		require.NoError(t, err)
		_, dup := out[e.Path]
		require.Falsef(t, dup, "path %q listed twice", e.Path)
		out[e.Path] = e
	}
	return out
}

func readEntry(t *testing.T, s storage.Storage, e storage.Entry) string {
	t.Helper()
	rc, err := s.Open(context.Background(), e)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

// TestPhotosSameNameSameInstant: two photos of one album share a name and
// an updated_at (a phone uploading a burst). They get distinct paths and
// versions, and replacing one leaves the other alone.
func TestPhotosSameNameSameInstant(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now}, nil)
	ctx := context.Background()
	first, err := srv.UIAddPhoto(srv.ProjectID, "Site", "IMG_0001.jpg", []byte("first"))
	require.NoError(t, err)
	second, err := srv.UIAddPhoto(srv.ProjectID, "Site", "IMG_0001.jpg", []byte("second"))
	require.NoError(t, err)
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)

	got := listPhotos(t, p)
	a, b := got["Site/IMG_0001.jpg"], got["Site/IMG_0001 (id "+itoa(second)+").jpg"]
	require.Equal(t, "i"+itoa(first), a.ID)
	require.Equal(t, "i"+itoa(second), b.ID)
	require.NotEqual(t, a.Version, b.Version, "one timestamp, two images: the versions differ")
	require.Equal(t, "second", readEntry(t, p, b))
	st, err := p.Stat(ctx, b.Path)
	require.NoError(t, err)
	require.Equal(t, b.ID, st.ID)

	// An edit of the second (made elsewhere) replaces the second only.
	album, err := p.Stat(ctx, "Site")
	require.NoError(t, err)
	clk.Advance(time.Minute)
	e, err := p.Put(ctx, album, b.Name(), strings.NewReader("second, edited"), 14, storage.PutOptions{ExpectedVersion: b.Version})
	require.NoError(t, err)
	require.NotEqual(t, b.ID, e.ID)
	photos := srv.UIPhotoList(srv.ProjectID)
	byID := map[int64]procoretest.UIPhoto{}
	for _, ph := range photos {
		byID[ph.ID] = ph
	}
	require.False(t, byID[first].Deleted, "the other photo of that name is untouched")
	require.Equal(t, "first", string(byID[first].Content))
	require.True(t, byID[second].Deleted, "the replaced photo is in the recycle bin")
	got = listPhotos(t, p)
	require.Len(t, got, 3) // the album and two photos
	require.Equal(t, a.ID, got["Site/IMG_0001.jpg"].ID)
	require.Equal(t, e, got[e.Path], "Put returns the entry as listed")
	require.Equal(t, "second, edited", readEntry(t, p, got[e.Path]))
	require.Equal(t, "IMG_0001.jpg", byID[mustID(t, e.ID)].Filename, "the new image keeps the file name")
}

// TestPhotosSameNameDifferentInstants: the same edit with the photos'
// timestamps differing syncs (it used to be refused forever, checked
// against the wrong photo).
func TestPhotosSameNameDifferentInstants(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, "", "IMG.jpg", []byte("one"))
	require.NoError(t, err)
	clk.Advance(time.Hour)
	second, err := srv.UIAddPhoto(srv.ProjectID, "", "IMG.jpg", []byte("two"))
	require.NoError(t, err)
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	b := listPhotos(t, p)["IMG (id "+itoa(second)+").jpg"]
	require.Equal(t, "i"+itoa(second), b.ID)
	root, err := p.Stat(ctx, "")
	require.NoError(t, err)
	for range 2 { // and again with the new version
		e, err := p.Put(ctx, root, b.Name(), strings.NewReader("two+"), 4, storage.PutOptions{ExpectedVersion: b.Version})
		require.NoError(t, err)
		require.Equal(t, "two+", readEntry(t, p, e))
		b = e
	}
	// A stale version is refused.
	_, err = p.Put(ctx, root, b.Name(), strings.NewReader("x"), 1, storage.PutOptions{ExpectedVersion: "1@2000-01-01T00:00:00Z"})
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
}

func mustID(t *testing.T, id string) int64 {
	t.Helper()
	require.True(t, strings.HasPrefix(id, "i"), id)
	var n int64
	for _, r := range id[1:] {
		n = n*10 + int64(r-'0')
	}
	return n
}

// TestPhotosRenameByReplacement: Procore cannot rename an image, so a
// rename (or keeping a conflict's loser under a new name) is a new image
// with the old one's content, album, description and location, and the
// old image in the recycle bin.
func TestPhotosRenameByReplacement(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	id, err := srv.UIAddPhoto(srv.ProjectID, "Roof", "IMG_7.jpg", []byte("roof photo"))
	require.NoError(t, err)
	require.NoError(t, srv.UISetPhotoDetails(id, "north edge", 42))
	var reports []string
	p := procore.NewProjectPhotos(c, srv.ProjectID, &procore.PhotosOptions{OnReplace: func(oldID string, e storage.Entry, reason string) {
		reports = append(reports, oldID+" -> "+e.ID+": "+reason)
	}})
	old := listPhotos(t, p)["Roof/IMG_7.jpg"]
	album, err := p.Stat(ctx, "Roof")
	require.NoError(t, err)

	e, err := p.Move(ctx, old, album, "IMG_7 (conflict).jpg")
	require.NoError(t, err)
	require.Equal(t, "Roof/IMG_7 (conflict).jpg", e.Path)
	require.NotEqual(t, old.ID, e.ID)
	require.Len(t, reports, 1)
	require.Contains(t, reports[0], old.ID+" -> "+e.ID+": renamed")
	var gotNew, gotOld procoretest.UIPhoto
	for _, ph := range srv.UIPhotoList(srv.ProjectID) {
		switch "i" + itoa(ph.ID) {
		case e.ID:
			gotNew = ph
		case old.ID:
			gotOld = ph
		}
	}
	require.Equal(t, procoretest.UIPhoto{ID: gotNew.ID, Album: "Roof", Filename: "IMG_7 (conflict).jpg",
		Description: "north edge", LocationID: 42, Content: []byte("roof photo")}, gotNew)
	require.True(t, gotOld.Deleted, "the old image is in the recycle bin, not gone")
	require.Equal(t, "roof photo", string(gotOld.Content))
	_, err = p.StatID(ctx, old.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	now, err := p.StatID(ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, e.Path, now.Path)

	// A stale entry is not replayed; a taken name is refused.
	_, err = p.Move(ctx, old, album, "again.jpg")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = srv.UIAddPhoto(srv.ProjectID, "Roof", "taken.jpg", []byte("t"))
	require.NoError(t, err)
	_, err = p.Move(ctx, e, album, "taken.jpg")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	stale := e
	stale.Version = "1@2000-01-01T00:00:00Z"
	_, err = p.Move(ctx, stale, album, "other.jpg")
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
}

// TestPhotosStatID: albums and images by ID; deleted ones are gone.
func TestPhotosStatID(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, "Site", "a.jpg", []byte("a"))
	require.NoError(t, err)
	_, err = srv.UIAddPhoto(srv.ProjectID, "", "b.jpg", []byte("b"))
	require.NoError(t, err)
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	for path, e := range listPhotos(t, p) {
		got, err := p.StatID(ctx, e.ID)
		require.NoError(t, err, path)
		require.Equal(t, e, got)
	}
	b := listPhotos(t, p)["b.jpg"]
	require.NoError(t, p.Delete(ctx, b))
	_, err = p.StatID(ctx, b.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = p.StatID(ctx, "a999999")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = p.StatID(ctx, "x")
	require.ErrorIs(t, err, storage.ErrNotFound)
	cur, err := storage.StatCurrent(ctx, p, listPhotos(t, p)["Site/a.jpg"])
	require.NoError(t, err)
	require.Equal(t, "Site/a.jpg", cur.Path)
}

type failAfter struct {
	r   io.Reader
	err error
}

func (f *failAfter) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestPhotosPutCommitsNothingOnSizeMismatch: a source with more bytes
// than declared, fewer, or failing after exactly size bytes leaves no
// new image and the old one in place.
func TestPhotosPutCommitsNothingOnSizeMismatch(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, "", "a.jpg", []byte("old"))
	require.NoError(t, err)
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	root, err := p.Stat(ctx, "")
	require.NoError(t, err)
	for name, r := range map[string]io.Reader{
		"more":  strings.NewReader("newer bytes"),
		"fewer": strings.NewReader("ne"),
		"fails": &failAfter{r: strings.NewReader("new"), err: errors.New("disk gone")},
	} {
		for _, target := range []string{"a.jpg", "fresh.jpg"} {
			_, err := p.Put(ctx, root, target, r, 3, storage.PutOptions{})
			require.Errorf(t, err, "%s onto %s", name, target)
			var names []string
			for _, ph := range srv.UIPhotoList(srv.ProjectID) {
				require.False(t, ph.Deleted, name)
				names = append(names, ph.Filename+"="+string(ph.Content))
			}
			sort.Strings(names)
			require.Equal(t, []string{"a.jpg=old"}, names, "%s onto %s", name, target)
		}
	}
}

// TestPhotosCreateBodyForms: image creation sends the attachments guide's
// nested body and falls back to the operation description's top-level
// form when the server refuses it.
func TestPhotosCreateBodyForms(t *testing.T) {
	for _, form := range []string{"", procoretest.PhotoCreateNested, procoretest.PhotoCreateTopLevel} {
		srv, c := newFake(t, procoretest.Options{}, nil)
		srv.SetPhotoCreateForm(form)
		ctx := context.Background()
		p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
		root, err := p.Stat(ctx, "")
		require.NoError(t, err)
		srv.ResetCalls()
		e, err := p.Put(ctx, root, "x.jpg", strings.NewReader("x"), 1, storage.PutOptions{})
		require.NoError(t, err, form)
		require.Equal(t, "x", readEntry(t, p, e))
		want := 1
		if form == procoretest.PhotoCreateTopLevel {
			want = 2
		}
		require.Equal(t, want, srv.CallCount("RestV10ImagesPost"), form)
	}
}

// TestPhotosNamesWithSlash: a "/" in an image's file name is shown as "-"
// (never cut to the last part or taken as a folder), and the photo can be
// read and replaced under that name.
func TestPhotosNamesWithSlash(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{}, nil)
	ctx := context.Background()
	_, err := srv.UIAddPhoto(srv.ProjectID, "Site", "level 2/east.jpg", []byte("east"))
	require.NoError(t, err)
	var odd []int64
	for _, n := range []string{"", ".", ".."} {
		id, err := srv.UIAddPhoto(srv.ProjectID, "Site", n, []byte("odd"))
		require.NoError(t, err)
		odd = append(odd, id)
	}
	p := procore.NewProjectPhotos(c, srv.ProjectID, nil)
	got := listPhotos(t, p)
	for _, id := range odd {
		e, ok := got["Site/image "+itoa(id)]
		require.True(t, ok, "an image without a usable name is shown by ID: %v", got)
		require.Equal(t, "odd", readEntry(t, p, e))
	}
	e, ok := got["Site/level 2-east.jpg"]
	require.True(t, ok, "listed: %v", got)
	require.Equal(t, "east", readEntry(t, p, e))
	st, err := p.Stat(ctx, "Site/level 2-east.jpg")
	require.NoError(t, err)
	require.Equal(t, e.ID, st.ID)
	album, err := p.Stat(ctx, "Site")
	require.NoError(t, err)
	ne, err := p.Put(ctx, album, "level 2-east.jpg", strings.NewReader("east2"), 5, storage.PutOptions{ExpectedVersion: e.Version})
	require.NoError(t, err)
	require.Equal(t, "Site/level 2-east.jpg", ne.Path)
	require.Equal(t, "east2", readEntry(t, p, ne))
}

package records_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// dropPhoto puts a file at <day>/Photos/<name> below the target's root.
func dropPhoto(t *testing.T, target storage.Storage, day, name, content string) {
	t.Helper()
	ctx := context.Background()
	root, err := target.Stat(ctx, "")
	require.NoError(t, err)
	d, err := target.MakeDir(ctx, root, day)
	if err != nil {
		require.ErrorIs(t, err, storage.ErrAlreadyExists)
	}
	p, err := target.MakeDir(ctx, d, records.PhotosFolder)
	if err != nil {
		require.ErrorIs(t, err, storage.ErrAlreadyExists)
	}
	_, err = target.Put(ctx, p, name, strings.NewReader(content), int64(len(content)), storage.PutOptions{})
	require.NoError(t, err)
}

func TestDailyLogPhotoImport(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	target := memory.New()
	root, err := target.Stat(ctx, "")
	require.NoError(t, err)
	dropPhoto(t, target, "2026-12-04", "pour.jpg", "pour jpeg")
	dropPhoto(t, target, "2026-12-04", "notes.txt", "not a photo")
	dropPhoto(t, target, "not-a-day", "x.jpg", "x")
	dropPhoto(t, target, "2026-12-03", "IMG_1.JPG", "first")

	log := &records.MemoryImportLog{}
	im := records.NewDailyLogPhotoImporter(c, pid, log)
	res, err := im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Empty(t, res.Failed)
	require.ElementsMatch(t, []string{"2026-12-04/Photos/pour.jpg", "2026-12-03/Photos/IMG_1.JPG"}, res.Uploaded)
	var onDay []string
	for _, p := range srv.UIPhotoList(pid) {
		onDay = append(onDay, p.Filename+"="+string(p.Content))
	}
	require.ElementsMatch(t, []string{"pour.jpg=pour jpeg", "IMG_1.JPG=first"}, onDay)

	// The Daily Log lists them as the day's photos, under the names
	// dropped: source and target agree.
	dl := newDailyLog(c, pid, clk, nil)
	got := ftList(t, dl)
	require.Contains(t, got, "2026-12-04/Photos/pour.jpg")
	require.EqualValues(t, len("pour jpeg"), got["2026-12-04/Photos/pour.jpg"].Size)
	require.Contains(t, got, "2026-12-03/Photos/IMG_1.JPG")

	// Run again: nothing new, no Procore call.
	srv.ResetCalls()
	res, err = im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)
	require.Zero(t, srv.CallsByHost(procoretest.HostAPI))

	// A crash after the image was made and before the log recorded it:
	// a fresh log, and the photo is found in Procore, not sent again.
	res, err = records.NewDailyLogPhotoImporter(c, pid, nil).Import(ctx, target, root)
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)
	require.ElementsMatch(t, []string{"2026-12-04/Photos/pour.jpg", "2026-12-03/Photos/IMG_1.JPG"}, res.AlreadyThere)
	require.Len(t, srv.UIPhotoList(pid), 2)

	// A photo a person adds in Procore, which the pair copies to the
	// target, is never sent back; nor is one shown with a disambiguated
	// name.
	_, err = srv.UIAddDailyLogPhoto(pid, "2026-12-04", "crane.jpg", []byte("crane"))
	require.NoError(t, err)
	twin, err := srv.UIAddDailyLogPhoto(pid, "2026-12-04", "crane.jpg", []byte("crane 2"))
	require.NoError(t, err)
	got = ftList(t, dl)
	twinName := "crane (id " + itoa(twin) + ").jpg"
	require.Contains(t, got, "2026-12-04/Photos/"+twinName)
	dropPhoto(t, target, "2026-12-04", "crane.jpg", "crane")
	dropPhoto(t, target, "2026-12-04", twinName, "crane 2")
	res, err = im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)
	require.Len(t, res.AlreadyThere, 2)
	require.Len(t, srv.UIPhotoList(pid), 4)

	// Deleted in Procore while its copy is still on the target: the log
	// keeps it from coming back.
	for _, p := range srv.UIPhotoList(pid) {
		if p.Filename == "pour.jpg" {
			_, err := c.Images.Delete(ctx, pid, p.ID, false)
			require.NoError(t, err)
		}
	}
	res, err = im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)

	// A failed upload is reported per file and the run goes on.
	dropPhoto(t, target, "2026-12-05", "a.jpg", "aaa")
	dropPhoto(t, target, "2026-12-05", "b.jpg", "bbb")
	srv.Inject(procoretest.Fault{Op: "RestV10ImagesPost", Status: 500, Times: 1})
	res, err = im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Len(t, res.Failed, 1)
	require.Len(t, res.Uploaded, 1)
	// The failed one is retried on the next run.
	res, err = im.Import(ctx, target, root)
	require.NoError(t, err)
	require.Len(t, res.Uploaded, 1)
	n := 0
	for _, p := range srv.UIPhotoList(pid) {
		if (p.Filename == "a.jpg" || p.Filename == "b.jpg") && !p.Deleted {
			n++
		}
	}
	require.Equal(t, 2, n)
}

package projects_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// TestDailyLogPhotoDropped: a photo a person drops into
// "Daily Log/<day>/Photos/" on the target becomes one Daily Log image of
// that day in Procore after the pair's next run (Manager.Run), and never a
// second one: not on later runs, not after a restart with a new Manager
// on the same import log, not after the image was deleted in Procore.
func TestDailyLogPhotoDropped(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	day := time.Now().UTC().Format("2006-01-02")
	_, err := srv.UIAddDailyLogEntry(pid, "notes_logs", day, map[string]any{"comment": "Pour of level 3"})
	require.NoError(t, err)
	mem := memory.New()
	target := memTarget{mem}
	dir := t.TempDir()
	e := newEnv(t, dir)
	p := project(c, pid, target, projects.DailyLog)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	id := projects.DefaultPairID(p.Key(), projects.DailyLog)
	_, err = e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
	require.NoError(t, err)
	dayDir := "Procore/Tower 3/Daily Log/" + day
	require.NotEmpty(t, files(t, mem, dayDir), "the day is exported")

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.m.Run(runCtx) }()
	_, err = mem.WriteFile(dayDir+"/"+records.PhotosFolder+"/pour.jpg", []byte("jpeg of the pour"))
	require.NoError(t, err)
	_, err = e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return countPhotos(srv.UIPhotoList(pid), "pour.jpg") == 1 }, 10*time.Second, 10*time.Millisecond)
	// More runs: still one.
	for range 2 {
		_, err = e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
		require.NoError(t, err)
	}
	time.Sleep(100 * time.Millisecond) // let Run import after those runs too
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 1, countPhotos(srv.UIPhotoList(pid), "pour.jpg"))
	// The Daily Log lists it as the day's photo: the pair sees both sides agree.
	_, err = mem.Stat(ctx, dayDir+"/Photos/pour.jpg")
	require.NoError(t, err)

	logFile := dir + "/state/dailylog-photos-" + itoa(p.CompanyID) + "-" + itoa(pid) + ".json"
	st, err := os.Stat(logFile)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// Deleted in Procore while its copy is still on the target, then a
	// restart: the import log keeps it from coming back.
	for _, ph := range srv.UIPhotoList(pid) {
		if ph.Filename == "pour.jpg" {
			_, err := c.Images.Delete(ctx, pid, ph.ID, false)
			require.NoError(t, err)
		}
	}
	e.close()
	e = newEnv(t, dir)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	res, err := e.m.ImportDailyLogPhotos(ctx, p.Key())
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)
	live := 0
	for _, ph := range srv.UIPhotoList(pid) {
		if ph.Filename == "pour.jpg" && !ph.Deleted {
			live++
		}
	}
	require.Zero(t, live)

	// A second photo dropped after the restart is imported once.
	_, err = mem.WriteFile(dayDir+"/Photos/rebar.png", []byte("png of the rebar"))
	require.NoError(t, err)
	res, err = e.m.ImportDailyLogPhotos(ctx, p.Key())
	require.NoError(t, err)
	require.Equal(t, []string{day + "/Photos/rebar.png"}, res.Uploaded)
	res, err = e.m.ImportDailyLogPhotos(ctx, p.Key())
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)

	// Removing the tool with ForgetState removes the log.
	require.NoError(t, e.m.RemoveTool(ctx, p.Key(), projects.DailyLog, projects.RemoveOptions{ForgetState: true}))
	_, err = os.Stat(logFile)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = e.m.ImportDailyLogPhotos(ctx, p.Key())
	require.ErrorIs(t, err, projects.ErrUnknownTool)
}

func TestDailyLogNeedsStateDir(t *testing.T) {
	_, c, pid := newFake(t)
	e := newEnv(t, t.TempDir())
	m, err := projects.NewManager(e.eng, projects.ManagerOptions{Store: e.store})
	require.NoError(t, err)
	_, err = m.Add(t.Context(), project(c, pid, memTarget{memory.New()}, projects.DailyLog))
	require.ErrorIs(t, err, projects.ErrInvalidProject)
}

func countPhotos(ps []procoretest.UIPhoto, name string) int {
	n := 0
	for _, p := range ps {
		if p.Filename == name && !p.Deleted {
			n++
		}
	}
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package records_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// ftEngine runs one-way pairs from Procore tools onto memory targets and
// records the events.
type ftEngine struct {
	eng *syncengine.Engine

	mu     sync.Mutex
	events []syncengine.Event
}

func newFTEngine(t *testing.T) *ftEngine {
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	fe := &ftEngine{}
	fe.eng, err = syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler),
		Notifier: syncengine.NotifierFunc(func(_ context.Context, ev syncengine.Event) {
			fe.mu.Lock()
			fe.events = append(fe.events, ev)
			fe.mu.Unlock()
		})})
	require.NoError(t, err)
	return fe
}

func (fe *ftEngine) run(t *testing.T, pair string) syncengine.Run {
	t.Helper()
	r, err := fe.eng.RunOnce(context.Background(), pair, syncengine.RunOptions{})
	require.NoError(t, err)
	require.Falsef(t, r.Refused(), "run refused: %s", r.Error)
	return r
}

func (fe *ftEngine) drift() []string {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	var out []string
	for _, ev := range fe.events {
		if ev.Kind == syncengine.EventDrift {
			out = append(out, ev.Paths...)
		}
	}
	fe.events = nil
	return out
}

// TestDailyLogOneWayPair runs the Daily Log into a target through the
// engine: the initial export, an edit, a deletion, an idle run, a person's
// edit on the target (drift, overwritten at the next Procore change), and
// a photo dropped on the target, which becomes a Daily Log photo once.
func TestDailyLogOneWayPair(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	_, err := srv.SeedDailyLogs(pid, "2026-12-05", 5)
	require.NoError(t, err)
	dl := newDailyLog(c, pid, clk, nil)
	target := memory.New()
	fe := newFTEngine(t)
	require.NoError(t, fe.eng.AddPair(syncengine.Pair{ID: "daily-log", A: dl, B: target, AName: "Procore", BName: "Target",
		Direction: syncengine.OneWayAB, Initial: syncengine.Standard, Deletes: syncengine.PropagateDeletes, Interval: time.Hour}))

	r := fe.run(t, "daily-log")
	require.True(t, r.Succeeded(), r.Undone)
	src := ftList(t, dl)
	for p, e := range src {
		if e.IsDir {
			continue
		}
		b, err := target.ReadFile(p)
		require.NoError(t, err, p)
		require.Equal(t, ftRead(t, dl, e), b, p)
	}

	// Idle: nothing written.
	clk.Advance(time.Minute)
	r = fe.run(t, "daily-log")
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Deleted+r.Counts.FoldersMade, r.Counts)

	// A person edits a PDF on the target: drift, reported and not undone
	// while Procore does not change that log.
	_, err = target.WriteFile("2026-12-01/Manpower.pdf", []byte("edited on the target"))
	require.NoError(t, err)
	fe.run(t, "daily-log")
	require.Contains(t, fe.drift(), "2026-12-01/Manpower.pdf")

	// An edit in Procore re-exports that log's PDF.
	ids := srv.UIDailyLogEntries(pid, "2026-12-04")
	clk.Advance(time.Minute)
	require.NoError(t, srv.UIEditDailyLogEntry(ids["notes_logs"][0], map[string]any{"comment": "corrected in Procore"}))
	r = fe.run(t, "daily-log")
	require.True(t, r.Succeeded(), r.Undone)
	b, err := target.ReadFile("2026-12-04/Notes.pdf")
	require.NoError(t, err)
	require.Contains(t, string(b), "corrected in Procore")

	// A deleted entry: its type's PDF leaves the target with it.
	require.NoError(t, srv.UIDeleteDailyLogEntry(ids["weather_logs"][0]))
	fe.run(t, "daily-log")
	_, err = target.ReadFile("2026-12-04/Weather.pdf")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// A photo dropped into a day's Photos folder: drift for the pair, a
	// Daily Log photo through the importer, and then both sides agree.
	_, err = target.WriteFile("2026-12-03/Photos/slab.jpg", []byte("slab jpeg"))
	require.NoError(t, err)
	r = fe.run(t, "daily-log")
	require.Contains(t, fe.drift(), "2026-12-03/Photos/slab.jpg")
	troot, err := target.Stat(ctx, "")
	require.NoError(t, err)
	im := records.NewDailyLogPhotoImporter(c, pid, nil)
	res, err := im.Import(ctx, target, troot)
	require.NoError(t, err)
	require.Equal(t, []string{"2026-12-03/Photos/slab.jpg"}, res.Uploaded)
	clk.Advance(time.Minute)
	r = fe.run(t, "daily-log")
	require.Empty(t, fe.drift())
	b, err = target.ReadFile("2026-12-03/Photos/slab.jpg")
	require.NoError(t, err)
	require.Equal(t, "slab jpeg", string(b))
	res, err = im.Import(ctx, target, troot)
	require.NoError(t, err)
	require.Empty(t, res.Uploaded)
	n := 0
	for _, p := range srv.UIPhotoList(pid) {
		if p.Filename == "slab.jpg" {
			n++
		}
	}
	require.Equal(t, 1, n)
	r = fe.run(t, "daily-log")
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Deleted, r.Counts)
}

// TestDrawingsOneWayPair: a new revision replaces the target's PDF in
// place, a superseded revision stays when kept, a deleted drawing leaves.
func TestDrawingsOneWayPair(t *testing.T) {
	srv, c, clk := ftFake(t)
	pid := srv.ProjectID
	ids, err := srv.SeedDrawings(pid, []string{"Tower"}, 6)
	require.NoError(t, err)
	ds := newDrawings(t, c, pid, clk, &records.DrawingsOptions{KeepSuperseded: true})
	target := memory.New()
	fe := newFTEngine(t)
	require.NoError(t, fe.eng.AddPair(syncengine.Pair{ID: "drawings", A: ds, B: target, AName: "Procore", BName: "Target",
		Direction: syncengine.OneWayAB, Initial: syncengine.Standard, Deletes: syncengine.PropagateDeletes, Interval: time.Hour}))
	r := fe.run(t, "drawings")
	require.True(t, r.Succeeded(), r.Undone)
	require.Equal(t, 6, r.Counts.FilesCopied)
	b, err := target.ReadFile("Tower/Architectural/A-100 - Plan 0.pdf")
	require.NoError(t, err)
	require.Equal(t, procoretest.TinyPDF("A-100 - Plan 0 rev 0"), b)

	clk.Advance(time.Hour)
	_, err = srv.UIAddDrawingRevision(ids[0], "1", nil)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	r = fe.run(t, "drawings")
	b, err = target.ReadFile("Tower/Architectural/A-100 - Plan 0.pdf")
	require.NoError(t, err)
	require.Equal(t, procoretest.TinyPDF("A-100 - Plan 0 rev 1"), b)
	b, err = target.ReadFile("Tower/Architectural/A-100 - Plan 0 (Rev 0).pdf")
	require.NoError(t, err)
	require.Equal(t, procoretest.TinyPDF("A-100 - Plan 0 rev 0"), b)

	// Idle.
	clk.Advance(time.Minute)
	r = fe.run(t, "drawings")
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Deleted, r.Counts)
}

package records_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

func newDailyLog(c *procore.Client, pid int64, clk *ftClock, mod func(*records.DailyLogOptions)) *records.DailyLog {
	o := records.DailyLogOptions{Project: "Main Street Tower", Renderer: ftRender, Now: clk.Now, Start: "2026-11-01", LookBack: 7}
	if mod != nil {
		mod(&o)
	}
	return records.NewDailyLog(c, pid, &o)
}

func TestDailyLogLayout(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	day := "2026-12-03"
	w, err := srv.UIAddDailyLogEntry(pid, "weather_logs", day, map[string]any{"temperature": "4", "sky": "Snow", "comments": "Frost"})
	require.NoError(t, err)
	m1, err := srv.UIAddDailyLogEntry(pid, "manpower_logs", day, map[string]any{"num_workers": 7, "notes": "Müller crew, Ø 12 rebar",
		"vendor": map[string]any{"id": 1, "name": "Müller Concrete GmbH"}})
	require.NoError(t, err)
	m2, err := srv.UIAddDailyLogEntry(pid, "manpower_logs", day, nil)
	require.NoError(t, err)
	n1, err := srv.UIAddDailyLogEntry(pid, "notes_logs", day, map[string]any{"comment": "北京 visitors on site"})
	require.NoError(t, err)
	a1, err := srv.UIAddDailyLogAttachment(m1, "site photo.jpg", []byte("first photo"))
	require.NoError(t, err)
	a2, err := srv.UIAddDailyLogAttachment(n1, "site photo.jpg", []byte("second photo, longer"))
	require.NoError(t, err)
	a3, err := srv.UIAddDailyLogAttachment(m2, "Notes.pdf", []byte("%PDF-1.4 a file named like a log PDF"))
	require.NoError(t, err)
	// A deleted entry and an entry of another day.
	gone, err := srv.UIAddDailyLogEntry(pid, "weather_logs", day, map[string]any{"comments": "wrong"})
	require.NoError(t, err)
	require.NoError(t, srv.UIDeleteDailyLogEntry(gone))
	_, err = srv.UIAddDailyLogEntry(pid, "delivery_logs", "2026-12-04", nil)
	require.NoError(t, err)
	ph, err := srv.UIAddDailyLogPhoto(pid, day, "crane.jpg", []byte("crane jpeg"))
	require.NoError(t, err)

	dl := newDailyLog(c, pid, clk, nil)
	got := ftList(t, dl)
	require.Equal(t, []string{
		"2026-12-03", "2026-12-03/Manpower.pdf", "2026-12-03/Notes (id " + itoa(a3) + ").pdf", "2026-12-03/Notes.pdf",
		"2026-12-03/Photos", "2026-12-03/Photos/crane.jpg",
		"2026-12-03/Weather.pdf", "2026-12-03/site photo (id " + itoa(a2) + ").jpg", "2026-12-03/site photo.jpg",
		"2026-12-04", "2026-12-04/Deliveries.pdf",
	}, ftPaths(got))
	require.Equal(t, []byte("first photo"), ftRead(t, dl, got["2026-12-03/site photo.jpg"]))
	require.Equal(t, []byte("second photo, longer"), ftRead(t, dl, got["2026-12-03/site photo (id "+itoa(a2)+").jpg"]))
	require.EqualValues(t, len("first photo"), got["2026-12-03/site photo.jpg"].Size) // read once: Procore lists no size
	require.Equal(t, []byte("crane jpeg"), ftRead(t, dl, got["2026-12-03/Photos/crane.jpg"]))
	require.Equal(t, "dli:"+itoa(ph), got["2026-12-03/Photos/crane.jpg"].ID)
	_ = a1

	// The PDF is the renderer's output for the day's entries of the type.
	mp := got["2026-12-03/Manpower.pdf"]
	b := ftRead(t, dl, mp)
	require.EqualValues(t, len(b), mp.Size)
	var doc recordpdf.Document
	require.NoError(t, json.Unmarshal(b[len("%PDF-test\n"):], &doc))
	require.Equal(t, "Daily Log", doc.Tool)
	require.Equal(t, day, doc.Number)
	require.Equal(t, "Manpower", doc.Title)
	require.Equal(t, "Main Street Tower", doc.Project)
	require.Len(t, doc.Sections, 1)
	require.Len(t, doc.Sections[0].Entries, 2)
	first := doc.Sections[0].Entries[0]
	require.Equal(t, "Bob Builder", first.Author)
	require.Contains(t, first.Fields, recordpdf.Field{Label: "Workers", Value: "7"})
	require.Contains(t, first.Fields, recordpdf.Field{Label: "Vendor", Value: "Müller Concrete GmbH"})
	require.Contains(t, first.Fields, recordpdf.Field{Label: "Notes", Value: "Müller crew, Ø 12 rebar"})
	require.Equal(t, []string{"site photo.jpg"}, first.Attachments)
	require.Equal(t, []string{"site photo.jpg", "Notes (id " + itoa(a3) + ").pdf"}, doc.Attachments)
	// Deterministic: listing again gives the same versions and bytes.
	again := ftList(t, dl)
	for p, e := range got {
		require.Equal(t, e.Version, again[p].Version, p)
	}
	require.Equal(t, b, ftRead(t, dl, again["2026-12-03/Manpower.pdf"]))
	_ = w

	// Stat reads one day.
	srv.ResetCalls()
	st, err := dl.Stat(ctx, "2026-12-03/Weather.pdf")
	require.NoError(t, err)
	require.Equal(t, got["2026-12-03/Weather.pdf"], st)
	_, err = dl.Stat(ctx, "2026-12-03/none.pdf")
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = dl.Stat(ctx, "not-a-day")
	require.ErrorIs(t, err, storage.ErrNotFound)

	// Read-only.
	_, err = dl.Put(ctx, got["2026-12-03"], "x.jpg", strings.NewReader("x"), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	require.ErrorIs(t, err, records.ErrReadOnly)
	require.ErrorIs(t, dl.Delete(ctx, mp), records.ErrReadOnly)
}

func TestDailyLogVersions(t *testing.T) {
	srv, c, clk := ftFake(t)
	pid := srv.ProjectID
	day := "2026-12-04"
	n, err := srv.UIAddDailyLogEntry(pid, "notes_logs", day, nil)
	require.NoError(t, err)
	w, err := srv.UIAddDailyLogEntry(pid, "weather_logs", day, nil)
	require.NoError(t, err)
	dl := newDailyLog(c, pid, clk, nil)
	v0 := ftList(t, dl)

	// A new attachment leaves the entry's updated_at alone; the PDF (which
	// lists it) and the day change, the weather PDF does not.
	clk.Advance(time.Minute)
	_, err = srv.UIAddDailyLogAttachment(n, "plan.pdf", []byte("%PDF plan"))
	require.NoError(t, err)
	v1 := ftList(t, dl)
	require.NotEqual(t, v0[day+"/Notes.pdf"].Version, v1[day+"/Notes.pdf"].Version)
	require.NotEqual(t, v0[day].Version, v1[day].Version)
	require.Equal(t, v0[day+"/Weather.pdf"].Version, v1[day+"/Weather.pdf"].Version)
	require.Contains(t, v1, day+"/plan.pdf")

	// An edit changes the type's PDF.
	clk.Advance(time.Minute)
	require.NoError(t, srv.UIEditDailyLogEntry(w, map[string]any{"sky": "Hail"}))
	v2 := ftList(t, dl)
	require.NotEqual(t, v1[day+"/Weather.pdf"].Version, v2[day+"/Weather.pdf"].Version)
	require.Equal(t, v1[day+"/Notes.pdf"].Version, v2[day+"/Notes.pdf"].Version)

	// A deleted entry leaves; its type's PDF goes with its last entry.
	require.NoError(t, srv.UIDeleteDailyLogEntry(w))
	v3 := ftList(t, dl)
	require.NotContains(t, v3, day+"/Weather.pdf")
	require.Contains(t, v3, day+"/Notes.pdf")

	// A new renderer version changes every PDF's Version.
	dl2 := newDailyLog(c, pid, clk, func(o *records.DailyLogOptions) { o.RendererVersion = "v2" })
	v4 := ftList(t, dl2)
	require.NotEqual(t, v3[day+"/Notes.pdf"].Version, v4[day+"/Notes.pdf"].Version)
}

func TestDailyLogChangeFeed(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	_, err := srv.SeedDailyLogs(pid, "2026-12-05", 35)
	require.NoError(t, err)
	dl := newDailyLog(c, pid, clk, func(o *records.DailyLogOptions) { o.LookBack = 14 })
	full := ftList(t, dl)
	cur, err := dl.LatestCursor(ctx)
	require.NoError(t, err)

	// Idle: nothing to report; the cost is one count call, one list per
	// type with entries in the window, one images call.
	srv.ResetCalls()
	ch, cur, err := dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	calls := srv.CallsByHost(procoretest.HostAPI)
	t.Logf("idle check: %d API calls\n%s", calls, srv.String())
	require.Equal(t, 1, srv.CallCount("RestV10ProjectsProjectIdDailyLogsCountGet"))
	require.Equal(t, 1, srv.CallCount("RestV10ImagesGet"))
	require.Equal(t, 0, srv.CallCount("RestV10ProjectsProjectIdDailyLogHeadersIndexGet"))
	require.LessOrEqual(t, calls, 2+len(procore.DailyLogTypes))

	// Inside the look-back: an added entry, an edit, a deletion, a photo.
	ids := srv.UIDailyLogEntries(pid, "2026-12-01")
	require.NoError(t, srv.UIEditDailyLogEntry(ids["notes_logs"][0], map[string]any{"comment": "edited"}))
	require.NoError(t, srv.UIDeleteDailyLogEntry(ids["weather_logs"][0]))
	_, err = srv.UIAddDailyLogEntry(pid, "accident_logs", "2026-12-05", nil)
	require.NoError(t, err)
	_, err = srv.UIAddDailyLogPhoto(pid, "2026-12-02", "progress.jpg", []byte("progress"))
	require.NoError(t, err)
	// Outside it: an edit that only a full listing sees.
	old := srv.UIDailyLogEntries(pid, "2026-11-11")
	require.NoError(t, srv.UIEditDailyLogEntry(old["notes_logs"][0], map[string]any{"comment": "late edit"}))

	ch, cur, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	var paths []string
	for _, c := range ch {
		paths = append(paths, c.Entry.Path+map[bool]string{true: " (deleted)"}[c.Deleted])
	}
	require.ElementsMatch(t, []string{"2026-12-01", "2026-12-01/Notes.pdf", "2026-12-01/Weather.pdf (deleted)",
		"2026-12-05", "2026-12-05/Accidents.pdf", "2026-12-02", "2026-12-02/Photos", "2026-12-02/Photos/progress.jpg"}, paths)
	ch, _, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	now := ftList(t, dl)
	require.NotEqual(t, full["2026-11-11/Notes.pdf"].Version, now["2026-11-11/Notes.pdf"].Version)

	// Days leave the window without being reported.
	clk.Advance(3 * 24 * time.Hour)
	ch, _, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)

	_, _, err = dl.Changes(ctx, "{")
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

func TestDailyLogBadInput(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	_, _, err := c.DailyLogs.List(ctx, srv.ProjectID, procore.DailyLogTypes[0], &procore.DailyLogListOptions{LogDate: "2026-13-01"})
	require.ErrorIs(t, err, procore.ErrBadDate)
	_, _, err = c.DailyLogs.Counts(ctx, srv.ProjectID, "2026-12-05", "2026-12-01", "")
	require.ErrorIs(t, err, procore.ErrBadDate)
	_, _, err = c.DailyLogs.List(ctx, srv.ProjectID, procore.DailyLogTypes[0], &procore.DailyLogListOptions{StartDate: "2026-12-01"})
	require.ErrorIs(t, err, procore.ErrBadDate)
	noRender := records.NewDailyLog(c, srv.ProjectID, &records.DailyLogOptions{Now: clk.Now})
	for _, err := range noRender.List(ctx) {
		require.ErrorIs(t, err, records.ErrNoRenderer)
	}
	badStart := newDailyLog(c, srv.ProjectID, clk, func(o *records.DailyLogOptions) { o.Start = "yesterday" })
	for _, err := range badStart.List(ctx) {
		require.ErrorIs(t, err, procore.ErrBadDate)
	}
	// A Procore failure is a typed storage error.
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdDailyLogsCountGet", Status: 500, Times: procoretest.Forever})
	_, err = newDailyLog(c, srv.ProjectID, clk, nil).LatestCursor(ctx)
	var se *storage.Error
	require.ErrorAs(t, err, &se)
	// Without the count endpoint (403), every type is listed.
	srv.ClearFaults()
	srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdDailyLogsCountGet", Status: 403, Times: procoretest.Forever})
	_, err = srv.UIAddDailyLogEntry(srv.ProjectID, "waste_logs", "2026-12-05", nil)
	require.NoError(t, err)
	got := ftList(t, newDailyLog(c, srv.ProjectID, clk, nil))
	require.Contains(t, got, "2026-12-05/Waste.pdf")
}

func TestMatchCountModule(t *testing.T) {
	for _, name := range []string{"weather_logs", "Weather", "weather_log", "WeatherLogs", "Safety Violations", "safety_violation_logs",
		"Scheduled Work", "Phone Calls", "call_logs", "Plan Revisions", "Daily Construction Report"} {
		_, ok := procore.MatchCountModule(name)
		require.Truef(t, ok, "%q", name)
	}
	for _, name := range []string{"", "timecard_entries", "Photos"} {
		_, ok := procore.MatchCountModule(name)
		require.Falsef(t, ok, "%q", name)
	}
}

func TestDailyLogEditCheckInterval(t *testing.T) {
	srv, c, clk := ftFake(t)
	ctx := context.Background()
	pid := srv.ProjectID
	_, err := srv.SeedDailyLogs(pid, "2026-12-05", 20)
	require.NoError(t, err)
	dl := newDailyLog(c, pid, clk, func(o *records.DailyLogOptions) { o.LookBack = 14; o.EditCheckInterval = time.Hour })
	cur, err := dl.LatestCursor(ctx)
	require.NoError(t, err)

	// Idle between full reads: counts and images only.
	clk.Advance(time.Minute)
	srv.ResetCalls()
	ch, cur, err := dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	require.Equal(t, 2, srv.CallsByHost(procoretest.HostAPI), srv.String())

	// An edit in place waits for the next full read ...
	ids := srv.UIDailyLogEntries(pid, "2026-12-03")
	require.NoError(t, srv.UIEditDailyLogEntry(ids["notes_logs"][0], map[string]any{"comment": "edited"}))
	clk.Advance(time.Minute)
	ch, cur, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	// ... while an added entry moves the counts and is seen at once, with
	// the edit.
	_, err = srv.UIAddDailyLogEntry(pid, "waste_logs", "2026-12-04", nil)
	require.NoError(t, err)
	ch, cur, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	m := map[string]bool{}
	for _, c := range ch {
		m[c.Entry.Path] = true
	}
	require.True(t, m["2026-12-03/Notes.pdf"], ch)
	require.True(t, m["2026-12-04/Waste.pdf"], ch)

	// Past the interval, a check reads the window in full.
	require.NoError(t, srv.UIEditDailyLogEntry(ids["manpower_logs"][0], map[string]any{"notes": "edited"}))
	clk.Advance(2 * time.Hour)
	ch, _, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Len(t, ch, 2) // the day and its Manpower.pdf
}

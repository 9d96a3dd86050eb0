package procore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// TestContractFieldTools checks every request the Daily Log and Drawings
// services and storages send, and every response the fake gives, against
// Procore's endpoint descriptions.
func TestContractFieldTools(t *testing.T) {
	dir := specDir(t)
	var mu sync.Mutex
	var exchanges []procoretest.Exchange
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: 100000, SpikeLimit: 10000, MaxPerPage: 3,
		OnExchange: func(e procoretest.Exchange) {
			mu.Lock()
			exchanges = append(exchanges, e)
			mu.Unlock()
		}}, nil)
	exerciseFieldTools(t, srv, c, clk)

	seen := validateExchanges(t, dir, exchanges)
	want := []string{"RestV10ProjectsProjectIdDailyLogsCountGet", "RestV10ProjectsProjectIdDailyLogHeadersIndexGet",
		"RestV10ProjectsProjectIdDrawingAreasGet", "RestV10ProjectsProjectIdDrawingRevisionsGet",
		"RestV10ProjectsProjectIdDrawingRevisionsIdGet", "RestV10ImagesGet", "RestV10ImagesPost",
		"RestV10ProjectsProjectIdWeatherLogsGet"}
	for _, k := range procore.DailyLogTypes {
		want = append(want, dailyLogOp(k))
	}
	for _, op := range want {
		require.Containsf(t, seen, op, "the scenario did not exercise %s", op)
	}
}

// dailyLogOp is the operation id of a log type's list.
func dailyLogOp(k procore.DailyLogType) string {
	var b strings.Builder
	b.WriteString("Rest")
	for _, seg := range strings.Split(strings.ReplaceAll(k.Path, "%d", "{project_id}"), "/") {
		if strings.HasPrefix(seg, "v1.") {
			b.WriteString("V1" + seg[3:])
			continue
		}
		if seg == "{project_id}" {
			b.WriteString("ProjectId")
			continue
		}
		for _, w := range strings.Split(seg, "_") {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String() + "Get"
}

// testRender is a small deterministic renderer: the Document as JSON.
func testRender(doc recordpdf.Document) ([]byte, error) {
	b, err := json.Marshal(doc)
	return append([]byte("%PDF-test\n"), b...), err
}

func exerciseFieldTools(t *testing.T, srv *procoretest.Server, c *procore.Client, clk *clock) {
	ctx := context.Background()
	pid := srv.ProjectID
	today := clk.Now().Format(procore.DateLayout)
	// The Daily Log: every type on a few days, attachments, a deletion.
	_, err := srv.SeedDailyLogs(pid, today, 6)
	require.NoError(t, err)
	for i, r := range procoretest.DailyLogTypes() {
		id, err := srv.UIAddDailyLogEntry(pid, r, today, nil)
		require.NoError(t, err)
		if i%3 == 0 {
			if _, err := srv.UIAddDailyLogAttachment(id, "scan.pdf", []byte("%PDF-1.4 scan")); err != nil {
				require.Contains(t, err.Error(), "take no attachments")
			}
		}
	}
	w, err := srv.UIAddDailyLogEntry(pid, "weather_logs", today, nil)
	require.NoError(t, err)
	require.NoError(t, srv.UIDeleteDailyLogEntry(w))
	_, err = srv.UIAddDailyLogPhoto(pid, today, "crane.jpg", []byte("jpeg bytes"))
	require.NoError(t, err)

	start := clk.Now().AddDate(0, 0, -6).Format(procore.DateLayout)
	for _, k := range procore.DailyLogTypes {
		n := 0
		for e, err := range c.DailyLogs.All(ctx, pid, k, &procore.DailyLogListOptions{StartDate: start, EndDate: today,
			ListOptions: procore.ListOptions{PerPage: 3}, Status: "all"}) {
			require.NoError(t, err)
			require.NotEmpty(t, e.Date)
			n++
		}
		require.NotZerof(t, n, "%s has entries", k.Resource)
	}
	_, _, err = c.DailyLogs.List(ctx, pid, procore.DailyLogTypes[0], &procore.DailyLogListOptions{LogDate: today})
	require.NoError(t, err)
	counts, _, err := c.DailyLogs.Counts(ctx, pid, start, today, "all")
	require.NoError(t, err)
	require.NotEmpty(t, counts)
	for h, err := range c.DailyLogs.Headers(ctx, pid, start, today, 2) {
		require.NoError(t, err)
		require.NotEmpty(t, h.LogDate)
	}
	// v1.0 weather logs (the fake serves them; the storage reads v1.1).
	wk := procore.DailyLogType{Resource: "weather_logs", Name: "Weather", Path: "v1.0/projects/%d/weather_logs", Paged: true}
	_, _, err = c.DailyLogs.List(ctx, pid, wk, &procore.DailyLogListOptions{LogDate: today})
	require.NoError(t, err)

	// The storage and the photo importer (images with log_date).
	dl := records.NewDailyLog(c, pid, &records.DailyLogOptions{Project: "Main Street Tower", Renderer: testRender,
		Now: clk.Now, Start: start, PerPage: 3})
	var pdf storage.Entry
	for e, err := range dl.List(ctx) {
		require.NoError(t, err)
		if strings.HasSuffix(e.Path, "Notes.pdf") {
			pdf = e
		}
	}
	rc, err := dl.Open(ctx, pdf)
	require.NoError(t, err)
	rc.Close()
	cur, err := dl.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	target := memory.New()
	troot, err := target.Stat(ctx, "")
	require.NoError(t, err)
	day, err := target.MakeDir(ctx, troot, today)
	require.NoError(t, err)
	photos, err := target.MakeDir(ctx, day, records.PhotosFolder)
	require.NoError(t, err)
	_, err = target.Put(ctx, photos, "dropped.jpg", strings.NewReader("dropped jpeg"), 12, storage.PutOptions{})
	require.NoError(t, err)
	res, err := records.NewDailyLogPhotoImporter(c, pid, nil).Import(ctx, target, troot)
	require.NoError(t, err)
	require.Len(t, res.Uploaded, 1)

	// Drawings: areas, revisions (live, changed, deleted), one revision.
	drawings, err := srv.SeedDrawings(pid, []string{"Building A", "Building B"}, 5)
	require.NoError(t, err)
	clk.Advance(time.Hour)
	rev, err := srv.UIAddDrawingRevision(drawings[0], "1", nil)
	require.NoError(t, err)
	require.NoError(t, srv.UIDeleteDrawingRevision(rev))
	areas := 0
	for a, err := range c.Drawings.Areas(ctx, pid, 1) {
		require.NoError(t, err)
		require.NotEmpty(t, a.Name)
		areas++
	}
	require.Equal(t, 2, areas)
	var any procore.DrawingRevision
	for rv, err := range c.Drawings.Revisions(ctx, pid, &procore.DrawingRevisionListOptions{ListOptions: procore.ListOptions{PerPage: 2}, Sort: "-id"}) {
		require.NoError(t, err)
		any = rv
	}
	got, _, err := c.Drawings.GetRevision(ctx, pid, any.ID)
	require.NoError(t, err)
	require.Equal(t, any.ID, got.ID)
	n := 0
	for _, err := range c.Drawings.Revisions(ctx, pid, &procore.DrawingRevisionListOptions{UpdatedFrom: clk.Now().Add(-time.Minute),
		Deleted: procore.DeletedOnly, DrawingID: drawings[0], WithObsolete: true}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 1, n)
	_, _, err = c.Drawings.ListRevisions(ctx, pid, &procore.DrawingRevisionListOptions{DrawingAreaID: 1, Deleted: procore.DeletedWith})
	require.NoError(t, err)
	ds, err := records.New(c, records.NewDrawings(c, pid, &records.DrawingsOptions{KeepSuperseded: true, PerPage: 2}),
		&records.Options{Now: clk.Now, DeletionCheckInterval: -1})
	require.NoError(t, err)
	var file storage.Entry
	for e, err := range ds.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir {
			file = e
		}
	}
	rc, err = ds.Open(ctx, file)
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("%PDF-")))
	stale := file
	stale.Version = fmt.Sprint(got.ID) + "@2000-01-01T00:00:00Z"
	if rc, err := ds.Open(ctx, stale); err == nil {
		rc.Close()
	} else {
		require.True(t, errors.Is(err, storage.ErrNotFound), err)
	}
	dc, err := ds.LatestCursor(ctx)
	require.NoError(t, err)
	_, _, err = ds.Changes(ctx, dc)
	require.NoError(t, err)
}

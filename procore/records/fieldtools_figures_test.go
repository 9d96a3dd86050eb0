package records_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

// ftExport lists s and opens every file, as an initial export does, and
// returns the number of files.
func ftExport(t testing.TB, s storage.Storage) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if e.IsDir {
			continue
		}
		rc, err := s.Open(ctx, e)
		require.NoError(t, err)
		got, err := io.Copy(io.Discard, rc)
		rc.Close()
		require.NoError(t, err)
		if e.Size >= 0 {
			require.Equal(t, e.Size, got, e.Path)
		}
		n++
	}
	return n
}

// TestFieldToolFigures measures the API calls of the figures for
// Drawings and the Daily Log (call counts on the fake, not timings): the
// initial export of 2,000 drawings and of 365 days of daily logs, and an
// idle check of each. Run with -v to see the table.
func TestFieldToolFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 2,000 drawings and 365 days of daily logs; skipped in -short mode")
	}
	ctx := context.Background()
	var rows []string
	row := func(what string, srv *procoretest.Server, files int) {
		rows = append(rows, fmt.Sprintf("| %-44s | %5d | %6d | %9d | %5d |", what, srv.CallsByHost(procoretest.HostAPI),
			srv.CallsByHost(procoretest.HostFile), srv.CallsByHost(procoretest.HostStorage), files))
	}

	srv, c, clk := ftFake(t)
	_, err := srv.SeedDrawings(srv.ProjectID, []string{"Building A", "Building B", "Building C", "Site"}, 2000)
	require.NoError(t, err)
	clk.Advance(time.Hour)
	ds := newDrawings(t, c, srv.ProjectID, clk, nil)
	srv.ResetCalls()
	files := ftExport(t, ds)
	require.Equal(t, 2000, files)
	row("Drawings: initial export, 2,000 drawings", srv, files)
	require.LessOrEqual(t, srv.CallsByHost(procoretest.HostAPI), 4)
	cur, err := ds.LatestCursor(ctx)
	require.NoError(t, err)
	clk.Advance(10 * time.Minute)
	srv.ResetCalls()
	ch, _, err := ds.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	row("Drawings: idle check (with deletion check)", srv, 0)
	require.Equal(t, 3, srv.CallsByHost(procoretest.HostAPI)) // revisions window, areas, deleted revisions

	srv2, c2, clk2 := ftFake(t)
	_, err = srv2.SeedDailyLogs(srv2.ProjectID, "2026-12-05", 365)
	require.NoError(t, err)
	for d := 0; d < 365; d += 7 {
		day := clk2.Now().AddDate(0, 0, -d).Format("2006-01-02")
		_, err := srv2.UIAddDailyLogPhoto(srv2.ProjectID, day, "progress.jpg", []byte("jpeg "+day))
		require.NoError(t, err)
	}
	dl := records.NewDailyLog(c2, srv2.ProjectID, &records.DailyLogOptions{Project: "Main Street Tower", Renderer: ftRender,
		Now: clk2.Now, Start: "2025-12-06"})
	srv2.ResetCalls()
	files = ftExport(t, dl)
	row("Daily Log: initial export, 365 days", srv2, files)
	require.LessOrEqual(t, srv2.CallsByHost(procoretest.HostAPI), 5*(1+18)+2)
	cur, err = dl.LatestCursor(ctx)
	require.NoError(t, err)
	srv2.ResetCalls()
	ch, _, err = dl.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	row("Daily Log: idle check (14-day look-back)", srv2, 0)
	require.LessOrEqual(t, srv2.CallsByHost(procoretest.HostAPI), 1+18+2)
	dlq := records.NewDailyLog(c2, srv2.ProjectID, &records.DailyLogOptions{Project: "Main Street Tower", Renderer: ftRender,
		Now: clk2.Now, Start: "2025-12-06", EditCheckInterval: time.Hour})
	cur, err = dlq.LatestCursor(ctx)
	require.NoError(t, err)
	srv2.ResetCalls()
	ch, _, err = dlq.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, ch)
	row("Daily Log: idle check, EditCheckInterval 1h", srv2, 0)
	require.Equal(t, 2, srv2.CallsByHost(procoretest.HostAPI))

	t.Logf("\n| %-44s | %5s | %6s | %9s | %5s |\n|%s|\n%s", "scenario", "API", "file h.", "storage", "files",
		strings.Repeat("-", 84), strings.Join(rows, "\n"))
}

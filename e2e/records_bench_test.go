package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// BenchmarkRecordsExport measures, through the engine, the Procore calls
// of the initial export of every record tool of a large project (500
// RFIs, 500 submittals, 2,000 drawings, 300 forms, 300 observations, 300
// inspections, 50 incidents, 50 commitments, each record with two 1 KiB
// attachments, and 365 days of daily logs) into a target (in memory: the
// figures are Procore's), and of an idle run of every tool afterwards.
// API calls are the ones Procore's rate limit counts; file-host calls are
// downloads of attachments and drawing files. Run with -benchtime=1x -v
// for the table.
func BenchmarkRecordsExport(b *testing.B) {
	for range b.N {
		b.StopTimer()
		clk := manualclock.New(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
		pc := procoretest.New(procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 1000 * time.Hour})
		c, err := procore.NewClient(procore.Options{BaseURL: pc.URL, FileHosts: pc.FileHosts(), CompanyID: pc.CompanyID,
			TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: pc.IssueToken()}),
			RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Now: clk.Now})
		must(b, err)
		pid := pc.ProjectID
		for _, s := range []struct {
			tool procoretest.RecordTool
			n    int
		}{{procoretest.ToolRFIs, 500}, {procoretest.ToolSubmittals, 500}, {procoretest.ToolForms, 300},
			{procoretest.ToolObservations, 300}, {procoretest.ToolInspections, 300}, {procoretest.ToolIncidents, 50},
			{procoretest.ToolWorkOrders, 25}, {procoretest.ToolPurchaseOrders, 25}} {
			must(b, pc.SeedRecords(pid, s.tool, s.n, 2, 1024))
		}
		_, err = pc.SeedDrawings(pid, []string{"Tower", "Podium", "Site"}, 2000)
		must(b, err)
		_, err = pc.SeedDailyLogs(pid, clk.Now().Format("2006-01-02"), 365)
		must(b, err)
		clk.Advance(time.Hour)

		store, err := sqlitestore.Open(b.TempDir()+"/bench.db", sqlitestore.SynchronousNormal())
		must(b, err)
		eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
		must(b, err)
		p := records.Project{ID: pid, Name: "Bench Tower"}
		ro := &records.Options{Now: clk.Now}
		var sources []storage.Storage
		for _, t := range records.Tools(c, p, nil) {
			s, err := records.New(c, t, ro)
			must(b, err)
			sources = append(sources, s)
		}
		dr, err := records.New(c, records.NewDrawings(c, pid, nil), ro)
		must(b, err)
		sources = append(sources, dr, records.NewDailyLog(c, pid, &records.DailyLogOptions{Project: p.Name,
			Renderer: records.DefaultRenderer, RendererVersion: records.DefaultRendererVersion, Now: clk.Now, EditCheckInterval: time.Hour}))
		names := []string{"RFIs", "Submittals", "Observations", "Inspections", "Incidents", "Forms", "Commitments", "Drawings", "Daily Log"}
		for i, s := range sources {
			must(b, eng.AddPair(syncengine.Pair{ID: names[i], A: s, B: memory.New(), AName: "Procore", BName: "Target",
				Direction: syncengine.DirectionOneWayAB, Deletes: syncengine.DeletePropagate, NameMapping: true}))
		}

		var table strings.Builder
		fmt.Fprintf(&table, "\n%-13s %7s %9s %9s %10s\n", "tool", "files", "API", "file-host", "wall")
		var total, totalFile, idle, idleFile int
		ctx := context.Background()
		b.StartTimer()
		for _, n := range names {
			pc.ResetCalls()
			start := time.Now()
			r, err := eng.RunOnce(ctx, n, syncengine.RunOptions{})
			must(b, err)
			wall := time.Since(start)
			if !r.Succeeded() {
				errs, _ := eng.Errors(ctx, n, syncengine.Page{Limit: 3})
				b.Fatalf("%s: %s %+v %+v", n, r.Status, r.Counts, errs)
			}
			api, file := pc.CallsByHost(procoretest.HostAPI), pc.CallsByHost(procoretest.HostFile)
			total += api
			totalFile += file
			fmt.Fprintf(&table, "%-13s %7d %9d %9d %10s", n, r.Counts.FilesCopied, api, file, wall.Round(time.Millisecond))
			_ = table.WriteByte('\n')
		}
		b.StopTimer()
		clk.Advance(5 * time.Minute)
		fmt.Fprintf(&table, "%-13s %7s %9d %9d\n", "all", "", total, totalFile)
		fmt.Fprintf(&table, "idle run of every tool (5 minutes later):")
		for _, n := range names {
			pc.ResetCalls()
			r, err := eng.RunOnce(ctx, n, syncengine.RunOptions{})
			must(b, err)
			if !r.Succeeded() || r.Counts.FilesCopied+r.Counts.Deleted != 0 {
				b.Fatalf("%s idle: %s %+v", n, r.Status, r.Counts)
			}
			api, file := pc.CallsByHost(procoretest.HostAPI), pc.CallsByHost(procoretest.HostFile)
			idle += api
			idleFile += file
			fmt.Fprintf(&table, " %s %d+%d", n, api, file)
		}
		fmt.Fprintf(&table, "; total API %d, file host %d\n", idle, idleFile)
		b.ReportMetric(float64(total), "export-API-calls")
		b.ReportMetric(float64(totalFile), "export-file-host-calls")
		b.ReportMetric(float64(idle), "idle-API-calls")
		b.Log(table.String())
		store.Close()
		pc.Close()
	}
}

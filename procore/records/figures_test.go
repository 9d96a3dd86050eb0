package records_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
)

// BenchmarkInitialExport measures the API calls (on the API host, the ones
// Procore's rate limit counts) of the initial export of a project with 500
// RFIs, 500 submittals, 300 forms, 300 observations, 300 inspections, 50
// incidents and 50 commitments (two attachments each), and of an idle
// check of all seven tools. Run with -benchtime=1x; the table is logged
// with -v.
func BenchmarkInitialExport(b *testing.B) {
	counts := []struct {
		tool procoretest.RecordTool
		n    int
	}{
		{procoretest.ToolRFIs, 500}, {procoretest.ToolSubmittals, 500}, {procoretest.ToolForms, 300},
		{procoretest.ToolObservations, 300}, {procoretest.ToolInspections, 300}, {procoretest.ToolIncidents, 50},
		{procoretest.ToolWorkOrders, 25}, {procoretest.ToolPurchaseOrders, 25},
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
		srv, c := newFake(b, clk)
		for _, ct := range counts {
			if err := srv.SeedRecords(srv.ProjectID, ct.tool, ct.n, 2, 1024); err != nil {
				b.Fatal(err)
			}
		}
		clk.Advance(time.Hour)
		b.StartTimer()
		ctx := context.Background()
		var table strings.Builder
		fmt.Fprintf(&table, "\n%-13s %8s %8s %10s %10s %12s %12s\n", "tool", "records", "files", "list calls", "open calls", "export calls", "file-host")
		var total, idle, idleDel int
		var stores []*records.Storage
		for _, tool := range records.Tools(c, records.Project{ID: srv.ProjectID, Name: "Bench"}, &records.ToolOptions{PerPage: 100}) {
			s, err := records.New(c, tool, &records.Options{Renderer: testRenderer, RendererVersion: "1", Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			stores = append(stores, s)
			srv.ResetCalls()
			var entries []storage.Entry
			folders := 0
			for e, err := range s.List(ctx) {
				if err != nil {
					b.Fatal(err)
				}
				if e.IsDir {
					folders++
					continue
				}
				entries = append(entries, e)
			}
			listCalls := srv.CallsByHost(procoretest.HostAPI)
			srv.ResetCalls()
			for _, e := range entries {
				rc, err := s.Open(ctx, e)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, rc)
				rc.Close()
			}
			openCalls := srv.CallsByHost(procoretest.HostAPI)
			fileHost := srv.CallsByHost(procoretest.HostFile)
			total += listCalls + openCalls
			fmt.Fprintf(&table, "%-13s %8d %8d %10d %10d %12d %12d\n", tool.Name(), folders, len(entries), listCalls, openCalls, listCalls+openCalls, fileHost)
		}
		fmt.Fprintf(&table, "%-13s %8s %8s %10s %10s %12d\n", "all", "", "", "", "", total)
		// Idle checks: within the deletion-check interval, and when the
		// deletion signal is due as well.
		for _, due := range []bool{false, true} {
			var curs []string
			for _, s := range stores {
				cur, err := s.LatestCursor(ctx)
				if err != nil {
					b.Fatal(err)
				}
				curs = append(curs, cur)
			}
			if due {
				clk.Advance(20 * time.Minute)
			} else {
				clk.Advance(5 * time.Minute)
			}
			srv.ResetCalls()
			fmt.Fprintf(&table, "idle check (deletion signal due: %v):", due)
			for k, s := range stores {
				before := srv.CallsByHost(procoretest.HostAPI)
				ch, _, err := s.Changes(ctx, curs[k])
				if err != nil {
					b.Fatal(err)
				}
				if len(ch) != 0 {
					b.Fatalf("%s: idle check reported %d changes", s.Tool().Name(), len(ch))
				}
				fmt.Fprintf(&table, " %s %d", s.Tool().Name(), srv.CallsByHost(procoretest.HostAPI)-before)
			}
			n := srv.CallsByHost(procoretest.HostAPI)
			fmt.Fprintf(&table, "; total %d\n", n)
			if due {
				idleDel = n
			} else {
				idle = n
			}
		}
		b.ReportMetric(float64(total), "export-calls")
		b.ReportMetric(float64(idle), "idle-calls")
		b.ReportMetric(float64(idleDel), "idle-calls-with-deletions")
		b.Log(table.String())
	}
}

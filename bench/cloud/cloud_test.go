// Package cloud measures the engine's throughput against cloud services:
// an initial sync of Procore project Documents into a SharePoint document
// library, on the in-process fakes (procore/procoretest and
// storage/graphtest) with a fixed latency added to every call, reported as
// files per hour. It holds benchmarks only (not run by CI's go test):
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/cloud
//	go test -run '^$' -bench . -benchtime 1x ./bench/cloud -files 2000 -latency 50ms
package cloud

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

var (
	files   = flag.Int("files", 500, "files in the Procore project Documents (in folders of 25)")
	latency = flag.Duration("latency", 50*time.Millisecond, "latency added to every call of both fakes")
	size    = flag.Int("size", 4096, "bytes per file")
)

// BenchmarkProcoreToSharePoint runs the initial sync of -files files of
// -size bytes from Procore to SharePoint, every call of both fakes
// delayed by -latency, with the engine's adaptive concurrency (default,
// starting at 4 and climbing up to 16) and with a fixed concurrency of 4
// (the engine's former behaviour). It reports files/hour, and the calls
// per file of each service (Procore's rate limit counts its calls: at
// 3,600 calls an hour, files/hour is at most 3,600 / Procore-calls/file).
func BenchmarkProcoreToSharePoint(b *testing.B) {
	for _, c := range []struct {
		name      string
		conc, max int
	}{{"adaptive", 0, 0}, {"fixed4", 4, 4}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				r := setup(b)
				b.StartTimer()
				start := time.Now()
				run := r.sync(b, c.conc, c.max)
				el := time.Since(start)
				b.StopTimer()
				if !run.Succeeded() || run.Counts.FilesCopied != *files {
					b.Fatalf("run %s: %d files copied, want %d: %s %s", run.Status, run.Counts.FilesCopied, *files, run.Error, run.Undone)
				}
				b.ReportMetric(float64(*files)/el.Hours(), "files/hour")
				b.ReportMetric(float64(r.pc.CallCount(""))/float64(*files), "Procore-calls/file")
				b.ReportMetric(float64(r.gs.CallCount(""))/float64(*files), "Graph-calls/file")
				b.ReportMetric(el.Seconds(), "s/sync")
				b.StartTimer()
			}
		})
	}
}

// rig is one Procore fake with a filled project, one Graph fake with a
// SharePoint site, and the connectors over them.
type rig struct {
	pc     *procoretest.Server
	gs     *graphtest.Server
	client *procore.Client
	gc     *msgraph.Client
	drive  string
	dir    string
}

// setup fills the Procore project and adds the latency to both fakes.
func setup(b *testing.B) *rig {
	b.Helper()
	pc := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 1000 * time.Hour})
	b.Cleanup(pc.Close)
	docs := procoretest.ProjectDocs(pc.ProjectID)
	data := make([]byte, *size)
	for i := range *files {
		copy(data, fmt.Sprintf("file %d ", i))
		if _, err := pc.UIPutFile(docs, fmt.Sprintf("Area %02d/Sheet %04d.pdf", i/25, i), data); err != nil {
			b.Fatal(err)
		}
	}
	client, err := procore.NewClient(procore.Options{BaseURL: pc.URL, FileHosts: pc.FileHosts(), CompanyID: pc.CompanyID,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: pc.IssueToken()}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	gs := graphtest.New(graphtest.Options{})
	b.Cleanup(gs.Close)
	gc, err := msgraph.NewClient(msgraph.Options{BaseURL: gs.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: gs.Token(), Expiry: time.Now().Add(24 * time.Hour)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	site := gs.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	drive := gs.SiteDrives(site)[0]
	if _, err := gs.WebMkdir(drive, "Procore/Tower/Documents"); err != nil {
		b.Fatal(err)
	}
	pc.Inject(procoretest.Fault{Op: procoretest.AllOps, Latency: *latency, Times: procoretest.Forever})
	gs.Inject(graphtest.Fault{Op: graphtest.AllOps, Latency: *latency, Times: graphtest.Forever})
	pc.ResetCalls()
	gs.ResetCalls()
	return &rig{pc: pc, gs: gs, client: client, gc: gc, drive: drive, dir: b.TempDir()}
}

// sync runs the pair's initial sync with the given concurrency (0, 0: the
// engine's defaults).
func (r *rig) sync(b *testing.B, conc, max int) syncengine.Run {
	b.Helper()
	ctx := context.Background()
	store, err := sqlitestore.Open(filepath.Join(r.dir, "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	target, err := sharepoint.New(ctx, r.gc, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
		RootPath: "Procore/Tower/Documents"})
	if err != nil {
		b.Fatal(err)
	}
	p := syncengine.Pair{ID: "tower/documents", A: procore.NewProjectDocuments(r.client, r.pc.ProjectID, nil), B: target,
		AName: "Procore", BName: "SharePoint", NameMapping: true, Concurrency: conc, MaxConcurrency: max}
	if err := eng.AddPair(p); err != nil {
		b.Fatal(err)
	}
	run, err := eng.RunOnce(ctx, p.ID, syncengine.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return run
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/examples/internal/app"
)

// TestQuickstart runs the README's main job on the fakes, for each
// -target, and checks what it claims.
func TestQuickstart(t *testing.T) {
	for _, tg := range app.Targets {
		t.Run(string(tg), func(t *testing.T) {
			got := runQuickstart(t, tg)
			for _, want := range []string{
				"Two way sync initiated for " + app.ProjectName + " / Documents",
				"Two way sync initiated for " + app.ProjectName + " / Photos",
				"Two way sync initiated for Company Documents",
				"Initial sync into " + string(tg) + ",",
				"] 24/24 files",
				"Procore has rev B of the spec: true (version 2)",
				string(tg) + " has the renamed drawing: true",
				string(tg) + " has the moved report: true",
				`the new photo arrived in ` + string(tg) + ` album "Site -3- -East- -Level 2-": true`,
				"the RFI log is in Procore's recycle bin: true",
				string(tg) + " has RFI 12 as a PDF: true",
				string(tg) + " has RFI 12's attachment: true",
				string(tg) + " has submittal 03 30 00-1 as a PDF: true",
				string(tg) + " has drawing A-101 by area and discipline: true",
				string(tg) + " has today's Daily Log notes: true",
				"imported into Procore's Daily Log: " + today() + "/Photos/" + droppedPhoto,
				"the dropped photo is in Procore's Daily Log of " + today() + ": true (1 image)",
				"One way sync initiated for " + app.ProjectName + " / RFIs",
				"One way sync initiated for " + app.ProjectName + " / Daily Log",
				"0 files copied (0 B), 0 folders made, 0 moved, 0 deleted, 0 linked, 0 conflicts, 0 held, 0 failed",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("output lacks %q:\n%s", want, got)
				}
			}
			c := apiCalls(t, got)
			// Every file of the initial sync came from Procore, through the file
			// host (not rate-limited) and on to the storage host.
			if c.file < 24 || c.storage < c.file {
				t.Errorf("%d file-host and %d storage-host calls for 24 files from Procore", c.file, c.storage)
			}
			if c.target == 0 || c.targetName != string(tg) {
				t.Errorf("target calls %q %d", c.targetName, c.target)
			}
			t.Logf("24 files: %+v", c)
		})
	}
}

// TestQuickstartAPICalls: with 1,000 files in the project the Procore API
// host (the rate-limited one) sees at most 0.1 calls per file over the
// whole demo (three initial syncs and six regular ones): listings, not
// transfers.
func TestQuickstartAPICalls(t *testing.T) {
	const extra = 976 // the demo's 24 make 1,000
	seedMore = func(f *app.Fakes) (int, int64, error) {
		var size int64
		for i := range extra {
			b := fmt.Appendf(nil, "%%PDF-1.7\n%% sheet S-%03d\n%%%%EOF\n", i)
			if _, err := f.Procore.UIPutFile(f.Docs(), fmt.Sprintf("07 Sheets/S-%03d.pdf", i), b); err != nil {
				return 0, 0, err
			}
			size += int64(len(b))
		}
		return extra, size, nil
	}
	t.Cleanup(func() { seedMore = nil })
	got := runQuickstartTools(t, app.SharePoint, "none") // the record tools' calls: e2e's BenchmarkRecordsExport
	if !strings.Contains(got, "] 1000/1000 files") {
		t.Errorf("the initial sync did not copy 1,000 files:\n%s", got)
	}
	c := apiCalls(t, got)
	if float64(c.api)/1000 > 0.1 {
		t.Errorf("%d Procore API-host calls for 1,000 files (%.3f per file)", c.api, float64(c.api)/1000)
	}
	if c.file < 1000 {
		t.Errorf("%d file-host calls for 1,000 files from Procore", c.file)
	}
	t.Logf("1,000 files: %+v (%.3f API-host calls per file)", c, float64(c.api)/1000)
}

// runQuickstart runs the demo on the fakes and returns its report.
func runQuickstart(t *testing.T, tg app.Target) string {
	t.Helper()
	return runQuickstartTools(t, tg, "")
}

// runQuickstartTools runs the demo exporting the record tools named
// (app.ParseTools; "": QuickstartTools).
func runQuickstartTools(t *testing.T, tg app.Target, tools string) string {
	t.Helper()
	var out bytes.Buffer
	cfg := &app.Config{Target: tg, Root: "Procore", Store: filepath.Join(t.TempDir(), "q.db"), DeleteLimit: 25, Tools: tools}
	if err := run(context.Background(), &out, cfg, false); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	got := out.String()
	if strings.Contains(got, "error:") || strings.Contains(got, " partial") || strings.Contains(got, " failed:") {
		t.Errorf("a run did not succeed:\n%s", got)
	}
	return got
}

type calls struct {
	api, file, storage, target int
	targetName                 string
}

// apiCalls reads the dashboard's API calls line.
func apiCalls(t *testing.T, report string) calls {
	t.Helper()
	var c calls
	_, line, _ := strings.Cut(report, "API calls: ")
	line, _, _ = strings.Cut(line, "\n")
	if _, err := fmt.Sscanf(line, "Procore API host %d, Procore file host %d, storage host %d; %s %d",
		&c.api, &c.file, &c.storage, &c.targetName, &c.target); err != nil {
		t.Fatalf("API calls line %q: %v", line, err)
	}
	return c
}

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/examples/internal/app"
)

// TestQuickstart runs the README's main job on the fakes and checks what
// it claims.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	cfg := &app.Config{Target: app.SharePoint, Root: "Procore", Store: filepath.Join(t.TempDir(), "q.db"), DeleteLimit: 25}
	if err := run(context.Background(), &out, cfg, false); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"Two way sync initiated for " + app.ProjectName + " / Documents",
		"Two way sync initiated for " + app.ProjectName + " / Photos",
		"Two way sync initiated for Company Documents",
		"] 24/24 files",
		"Procore has rev B of the spec: true (version 2)",
		"SharePoint has the renamed drawing: true",
		"SharePoint has the moved report: true",
		`the new photo arrived in SharePoint album "Site -3- -East- -Level 2-": true`,
		"the RFI log is in Procore's recycle bin: true",
		"0 files copied (0 B), 0 folders made, 0 moved, 0 deleted, 0 linked, 0 conflicts, 0 held, 0 failed",
		"API calls: Procore ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "error:") || strings.Contains(got, " partial") || strings.Contains(got, " failed:") {
		t.Errorf("a run did not succeed:\n%s", got)
	}
}

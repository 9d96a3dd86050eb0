package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestQuickstart runs the README's main job and checks what it claims.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir(), false); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"Two way sync initiated for Tower 3 / Documents",
		"Procore now has the edited spec: true",
		`arrived in SharePoint as "Photos/Site #3- East"`,
		"0 files copied (0 B), 0 folders made, 0 moved, 0 deleted, 0 linked, 0 conflicts, 0 held, 0 failed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, " failed\n  error:") || strings.Count(got, "succeeded") < 3 {
		t.Errorf("a run did not succeed:\n%s", got)
	}
}

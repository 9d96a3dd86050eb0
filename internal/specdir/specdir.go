// Package specdir locates the vendor API descriptions that contract tests
// read at test time from ../shared/specs next to the module root. They are
// never copied into the repository: where they are absent, as in a user's
// clone, the calling test is skipped with a message that says why (CI
// always has them).
package specdir

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns ../shared/specs/<vendor> next to the module root (found by
// walking up from the working directory to go.mod), after checking that
// marker, a file or folder inside it, exists. Otherwise it skips tb, naming
// what is missing.
func Find(tb testing.TB, vendor, marker string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("specdir: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skipf("CONTRACT TESTS SKIPPED: no go.mod above the working directory, so ../shared/specs/%s cannot be located", vendor)
		}
		dir = parent
	}
	specs := filepath.Join(filepath.Dir(dir), "shared", "specs", vendor)
	if _, err := os.Stat(filepath.Join(specs, marker)); err != nil {
		tb.Skipf("CONTRACT TESTS SKIPPED: the %s API description %s is absent (as in a user's clone); "+
			"these tests need ../shared/specs/%s next to the module and always run in CI", vendor, filepath.Join(specs, marker), vendor)
	}
	return specs
}

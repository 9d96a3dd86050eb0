package stone

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the folder ../shared/specs/dropbox next to the module root,
// found by walking up from the working directory to go.mod. When it is
// absent, as in a user's clone of the repository, the test is skipped with
// a reason saying so. The description is never copied into the repository.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("stone: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("SKIPPED: no go.mod above the working directory, so ../shared/specs/dropbox cannot be located")
		}
		dir = parent
	}
	specs := filepath.Join(filepath.Dir(dir), "shared", "specs", "dropbox")
	if _, err := os.Stat(filepath.Join(specs, "files.stone")); err != nil {
		t.Skipf("SKIPPED: the Dropbox Stone description %s is absent (as in a user's clone); "+
			"these contract tests need ../shared/specs/dropbox next to the module and always run in CI", specs)
	}
	return specs
}

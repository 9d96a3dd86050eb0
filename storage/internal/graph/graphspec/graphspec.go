// Package graphspec locates the Microsoft Graph spec data (the derived
// OpenAPI description and the QuickXorHash vectors) that the project's
// shared research folder holds next to the module, for tests that read it
// at test time. It is never copied into the repository.
package graphspec

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the folder ../shared/specs/graph next to the module root,
// found by walking up from the working directory to go.mod. When it is
// absent, as in a user's clone of the repository, the test is skipped with
// a reason saying so.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("graphspec: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("SKIPPED: no go.mod above the working directory, so ../shared/specs/graph cannot be located")
		}
		dir = parent
	}
	specs := filepath.Join(filepath.Dir(dir), "shared", "specs", "graph")
	if _, err := os.Stat(specs); err != nil {
		t.Skipf("SKIPPED: the Graph spec folder %s is absent (as in a user's clone); "+
			"these contract tests need ../shared/specs/graph next to the module and always run in CI", specs)
	}
	return specs
}

// File returns the path of name inside Dir, skipping as Dir does.
func File(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Dir(t), name)
}

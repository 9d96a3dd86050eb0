// Package graphspec locates the Microsoft Graph spec data (the OpenAPI
// description of the drive endpoints and the QuickXorHash test vectors) in
// ../shared/specs/graph next to the module, for tests that read it at test
// time. It is never copied into the repository.
package graphspec

import (
	"path/filepath"
	"testing"

	"github.com/procoresync/procoresync/internal/specdir"
)

// Dir returns the folder ../shared/specs/graph next to the module root, or
// skips the test, saying why, where it is absent (as in a user's clone).
func Dir(t testing.TB) string {
	t.Helper()
	return specdir.Find(t, "graph", ".")
}

// File returns the path of name inside Dir, skipping as Dir does.
func File(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Dir(t), name)
}

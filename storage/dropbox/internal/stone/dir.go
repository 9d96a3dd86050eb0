package stone

import (
	"testing"

	"github.com/procoresync/procoresync/internal/specdir"
)

// Dir returns the folder ../shared/specs/dropbox next to the module root,
// or skips the test, saying why, where it is absent (as in a user's clone).
// The description is never copied into the repository.
func Dir(t testing.TB) string {
	t.Helper()
	return specdir.Find(t, "dropbox", "files.stone")
}

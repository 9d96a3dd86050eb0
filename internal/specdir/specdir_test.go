package specdir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFind: in this repository with ../shared beside it the Graph folder
// is found; a vendor that does not exist skips the test that asked.
func TestFind(t *testing.T) {
	t.Run("missing vendor skips", func(t *testing.T) {
		ran := false
		res := testing.RunTests(func(pat, str string) (bool, error) { return true, nil },
			[]testing.InternalTest{{Name: "x", F: func(t *testing.T) { Find(t, "no-such-vendor", "x"); ran = true }}})
		if !res || ran {
			t.Fatalf("Find of a missing vendor: passed=%v, went on=%v; want a skip", res, ran)
		}
	})
	if _, err := os.Stat(filepath.Join("..", "..", "..", "shared", "specs")); err != nil {
		t.Skip("SKIPPED: ../shared/specs is absent (as in a user's clone)")
	}
	got := Find(t, "graph", ".")
	if filepath.Base(got) != "graph" || filepath.Base(filepath.Dir(got)) != "specs" {
		t.Fatalf("Find = %s", got)
	}
}

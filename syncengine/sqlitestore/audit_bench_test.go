package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// BenchmarkAudit measures appending to the audit log and reading a page
// of it by pair, by actor and by time, in a log of 100,000 entries over
// 1,000 pairs.
func BenchmarkAudit(b *testing.B) {
	ctx := context.Background()
	s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "audit.db"), sqlitestore.SynchronousNormal())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const n = 100_000
	for i := range n {
		_, err := s.AppendAudit(ctx, syncengine.AuditEntry{Time: t0.Add(time.Duration(i) * time.Second),
			Actor: fmt.Sprint("admin", i%20, "@example.com"), Kind: syncengine.AuditPairPaused,
			PairID: fmt.Sprint("pair-", i%1000), Project: fmt.Sprint("42/", i%1000),
			Details: map[string]string{"reason": "holiday"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("append", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.AppendAudit(ctx, syncengine.AuditEntry{Time: t0.Add(-time.Duration(i) * time.Second),
				Actor: "bench@example.com", Kind: syncengine.AuditPairResumed, PairID: "pair-1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, q := range []struct {
		name string
		f    syncengine.AuditFilter
	}{
		{"page of all", syncengine.AuditFilter{Limit: 50}},
		{"page of a pair", syncengine.AuditFilter{PairID: "pair-7", Limit: 50}},
		{"page of a project", syncengine.AuditFilter{Project: "42/7", Limit: 50}},
		{"page of an actor", syncengine.AuditFilter{Actor: "admin3@example.com", Limit: 50}},
		{"one hour", syncengine.AuditFilter{Since: t0.Add(10 * time.Hour), Until: t0.Add(11 * time.Hour)}},
	} {
		b.Run(q.name, func(b *testing.B) {
			for b.Loop() {
				got, err := s.ListAudit(ctx, q.f)
				if err != nil || len(got) == 0 {
					b.Fatal(err, len(got))
				}
			}
		})
	}
}

package portal_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/syncengine"
)

// BenchmarkDashboard measures the dashboard (engine Stats and History of
// every pair) and the file manager's root level over a project whose
// Documents pair holds files in sync: go test -bench Dashboard ./portal/.
func BenchmarkDashboard(b *testing.B) {
	for _, files := range []int{100, 1000} {
		e := newEnv(b, nil)
		a0, _ := e.projects.storages(e.pairID)
		for i := range files {
			if _, err := a0.WriteFile(fmt.Sprintf("Bulk/%03d/file-%d.txt", i%100, i), []byte("x")); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := e.eng.RunOnce(context.Background(), e.pairID, syncengine.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		ctx := e.caller(portal.RoleViewer)
		b.Run(fmt.Sprintf("dashboard/files=%d", files), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.svc.Dashboard(ctx, portal.DateRange{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("folder/files=%d", files), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.svc.Folder(ctx, e.pairID, "Bulk/007"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

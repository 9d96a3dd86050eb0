package sharepoint_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/stretchr/testify/require"
)

// initialSync writes files small files with a modification time into a
// library folder, in folders of perFolder files, as an initial sync from
// Procore does, and returns the Storage.
func initialSync(tb testing.TB, files, perFolder int) (*sharepoint.Storage, map[string]int, int) {
	srv, _, lib := newProjects(tb)
	_, err := srv.WebMkdir(lib, "Sync")
	require.NoError(tb, err)
	ctx := context.Background()
	s, err := sharepoint.New(ctx, newClient(tb, srv), sharepoint.Options{
		Host: "contoso.sharepoint.com", SitePath: "/sites/Projects", Library: "Project Files", RootPath: "Sync"})
	require.NoError(tb, err)
	srv.ResetCalls()
	mt := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var dir storage.Entry
	maxVersions := 0
	for i := range files {
		if i%perFolder == 0 {
			dir, err = s.MakeDir(ctx, storage.Entry{IsDir: true}, fmt.Sprintf("folder %03d", i/perFolder))
			require.NoError(tb, err)
		}
		body := []byte(fmt.Sprintf("file %d\n", i))
		e, err := s.Put(ctx, dir, fmt.Sprintf("file %05d.txt", i), bytes.NewReader(body), int64(len(body)), storage.PutOptions{ModTime: mt})
		require.NoError(tb, err)
		if i%97 == 0 {
			n, _ := srv.Versions(lib, e.ID)
			maxVersions = max(maxVersions, n)
		}
	}
	return s, srv.Calls(), maxVersions
}

// TestInitialSyncCalls checks, on 200 files, what BenchmarkInitialSync
// measures on 10,000: at most two Graph calls per small file and one
// version each.
func TestInitialSyncCalls(t *testing.T) {
	_, calls, versions := initialSync(t, 200, 100)
	total := 0
	for _, n := range calls {
		total += n
	}
	require.LessOrEqual(t, total, 2*200+2, "calls: %v", calls)
	require.Zero(t, calls["drives.UpdateItem"], "no PATCH after the upload")
	require.Equal(t, 1, versions, "one SharePoint version per synced file")
}

// BenchmarkInitialSync writes 10,000 small files (100 folders) with their
// modification times and reports the Graph calls it took.
func BenchmarkInitialSync(b *testing.B) {
	for b.Loop() {
		_, calls, versions := initialSync(b, 10_000, 100)
		total := 0
		for _, n := range calls {
			total += n
		}
		b.ReportMetric(float64(total), "graph-calls/op")
		b.ReportMetric(float64(total)/10_000, "calls/file")
		b.ReportMetric(float64(versions), "versions/file")
		b.Logf("calls by operation: %v", calls)
	}
}

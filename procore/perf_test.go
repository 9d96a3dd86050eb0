package procore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

// seedLarge fills a project with 2,000 folders (40 × 50) of 25 files each:
// 50,000 files.
func seedLarge(t testing.TB, srv *procoretest.Server) {
	t.Helper()
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for a := range 40 {
		for b := range 50 {
			for f := range 25 {
				_, err := srv.UIPutFile(docs, fmt.Sprintf("area %02d/room %02d/sheet %02d.pdf", a, b, f), []byte("x"))
				require.NoError(t, err)
			}
		}
	}
}

// TestCallBudgets checks the API-call budgets against the fake
// (call counts, not timings).
func TestCallBudgets(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 50,000 files; skipped in -short mode")
	}
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1}, nil)
	seedLarge(t, srv)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)

	srv.ResetCalls()
	files, folders := 0, 0
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if e.IsDir {
			folders++
		} else {
			files++
		}
	}
	require.Equal(t, 50000, files)
	require.Equal(t, 2040, folders)
	listCalls := srv.CallsByHost(procoretest.HostAPI)
	t.Logf("full listing: %d API calls (%s)", listCalls, srv)
	require.LessOrEqual(t, listCalls, 60)

	// The idle check: nothing changed since the last check. (Items changed
	// within DocumentsOptions.Overlap before a cursor are reported again
	// by design, so the cursor is taken after the bulk load has settled.)
	clk.Advance(10 * time.Minute)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	clk.Advance(10 * time.Minute)
	srv.ResetCalls()
	changes, _, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Empty(t, changes)
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostAPI), "idle incremental check")

	root, err := s.Stat(ctx, "")
	require.NoError(t, err)
	srv.ResetCalls()
	_, err = s.Put(ctx, root, "new.txt", strings.NewReader("hello"), 5, storage.PutOptions{})
	require.NoError(t, err)
	require.LessOrEqual(t, srv.CallsByHost(procoretest.HostAPI), 2, "new small file: %s", srv)
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostStorage))
}

func BenchmarkListLargeProject(b *testing.B) {
	srv, c := newFake(b, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	seedLarge(b, srv)
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	ctx := context.Background()
	srv.ResetCalls()
	b.ResetTimer()
	for b.Loop() {
		for _, err := range s.List(ctx) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(srv.CallsByHost(procoretest.HostAPI))/float64(b.N), "apicalls/op")
}

func BenchmarkIdleIncrementalCheck(b *testing.B) {
	clk := newClock()
	srv, c := newFake(b, procoretest.Options{Now: clk.Now, HourlyLimit: -1, SpikeLimit: -1, TokenLifetime: 24 * time.Hour}, nil)
	seedLarge(b, srv)
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	ctx := context.Background()
	clk.Advance(10 * time.Minute) // the bulk load is older than the overlap window
	cur, err := s.LatestCursor(ctx)
	if err != nil {
		b.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	srv.ResetCalls()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Changes(ctx, cur); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.CallsByHost(procoretest.HostAPI))/float64(b.N), "apicalls/op")
}

func BenchmarkPutSmallFile(b *testing.B) {
	srv, c := newFake(b, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	ctx := context.Background()
	root, err := s.Stat(ctx, "")
	if err != nil {
		b.Fatal(err)
	}
	srv.ResetCalls()
	i := 0
	b.ResetTimer()
	for b.Loop() {
		i++
		if _, err := s.Put(ctx, root, fmt.Sprintf("f%07d.txt", i), strings.NewReader("hello"), 5, storage.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.CallsByHost(procoretest.HostAPI))/float64(b.N), "apicalls/op")
	b.ReportMetric(float64(srv.CallsByHost(procoretest.HostStorage))/float64(b.N), "storagecalls/op")
}

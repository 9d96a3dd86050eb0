package procore_test

import (
	"context"
	"fmt"
	"io"
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
	require.Zero(t, srv.CallsByHost(procoretest.HostFile))
}

// seedInitial fills a project with 10,000 files in 410 folders (10 × 40
// folders of 25 files) and 2,000 photos in 20 albums.
func seedInitial(t testing.TB, srv *procoretest.Server) {
	t.Helper()
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for i := range 10000 {
		_, err := srv.UIPutFile(docs, fmt.Sprintf("area %02d/room %02d/sheet %02d.pdf", i/1000, i/25%40, i%25), []byte("x"))
		require.NoError(t, err)
	}
	for i := range 2000 {
		_, err := srv.UIAddPhoto(srv.ProjectID, fmt.Sprintf("Album %02d", i/100), fmt.Sprintf("IMG_%04d.jpg", i), []byte("j"))
		require.NoError(t, err)
	}
}

// syncFigures are the calls per file of an initial sync out of Procore.
type syncFigures struct {
	files                     int
	api, file, storage, total float64 // per file; total = api + file (Procore's hosts)
}

// initialSync lists s and opens every file, as the engine's initial sync
// from Procore does, and returns the calls per file by host.
func initialSync(t testing.TB, srv *procoretest.Server, s storage.Storage) syncFigures {
	t.Helper()
	ctx := context.Background()
	srv.ResetCalls()
	var files []storage.Entry
	for e, err := range s.List(ctx) {
		require.NoError(t, err)
		if !e.IsDir {
			files = append(files, e)
		}
	}
	for _, e := range files {
		rc, err := s.Open(ctx, e)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		require.NoError(t, err)
	}
	n := float64(len(files))
	f := syncFigures{files: len(files),
		api:     float64(srv.CallsByHost(procoretest.HostAPI)) / n,
		file:    float64(srv.CallsByHost(procoretest.HostFile)) / n,
		storage: float64(srv.CallsByHost(procoretest.HostStorage)) / n}
	f.total = f.api + f.file
	return f
}

// TestInitialSyncCallBudget checks issue 6's budget for a Procore → cloud
// initial sync: per file at most 0.1 calls on the API host (downloads come
// from the file and storage hosts) and at most 1.1 Procore calls in all
// (API host + file host; the presigned storage host is AWS, not Procore).
func TestInitialSyncCallBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10,000 files; skipped in -short mode")
	}
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	seedInitial(t, srv)
	for _, tc := range []struct {
		name  string
		s     storage.Storage
		files int
	}{
		{"documents", procore.NewProjectDocuments(c, srv.ProjectID, nil), 10000},
		{"photos", procore.NewProjectPhotos(c, srv.ProjectID, nil), 2000},
	} {
		f := initialSync(t, srv, tc.s)
		require.Equal(t, tc.files, f.files)
		t.Logf("%s: %d files; per file: %.4f API-host, %.4f file-host, %.4f Procore total, %.4f storage-host calls (%s)",
			tc.name, f.files, f.api, f.file, f.total, f.storage, srv)
		require.LessOrEqual(t, f.api, 0.1, tc.name)
		require.LessOrEqual(t, f.total, 1.1, tc.name)
		require.Equal(t, 1.0, f.storage, tc.name)
	}
}

func BenchmarkInitialSyncDocuments(b *testing.B) {
	srv, c := newFake(b, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	seedInitial(b, srv)
	s := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	var f syncFigures
	b.ResetTimer()
	for b.Loop() {
		f = initialSync(b, srv, s)
	}
	b.ReportMetric(f.api, "apicalls/file")
	b.ReportMetric(f.file, "filecalls/file")
	b.ReportMetric(f.total, "procorecalls/file")
	b.ReportMetric(f.storage, "storagecalls/file")
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

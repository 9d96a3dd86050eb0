package onedrive_test

import (
	"context"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/stretchr/testify/require"
)

const driveItems = 50_000

// bigDrive returns a Storage at the root of a drive of 50,000 files (in
// 100 folders) and the fake.
func bigDrive(b *testing.B) (*onedrive.Storage, *graphtest.Server) {
	srv := graphtest.NewServer(b, graphtest.Options{})
	require.NoError(b, srv.Seed(srv.MyDriveID(), "Projects", driveItems, 500))
	s, err := onedrive.New(context.Background(), newClient(b, srv), onedrive.Options{})
	require.NoError(b, err)
	return s, srv
}

// BenchmarkInitialListing lists a 50,000-item drive (delta pages).
func BenchmarkInitialListing(b *testing.B) {
	s, srv := bigDrive(b)
	ctx := context.Background()
	for b.Loop() {
		srv.ResetCalls()
		n := 0
		for _, err := range s.List(ctx) {
			require.NoError(b, err)
			n++
		}
		require.Equal(b, driveItems+100+1, n)
	}
	b.ReportMetric(float64(srv.CallCount("")), "api-calls/op")
}

// BenchmarkIdleIncrementalCheck asks a 50,000-item drive for changes when
// nothing changed.
func BenchmarkIdleIncrementalCheck(b *testing.B) {
	s, srv := bigDrive(b)
	ctx := context.Background()
	cur, err := s.LatestCursor(ctx)
	require.NoError(b, err)
	for b.Loop() {
		srv.ResetCalls()
		var ch []storage.Change
		ch, cur, err = s.Changes(ctx, cur)
		require.NoError(b, err)
		require.Empty(b, ch)
	}
	b.ReportMetric(float64(srv.CallCount("")), "api-calls/op")
}

// zeros yields n bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkUpload1GiB uploads 1 GiB through an upload session and reports
// the peak heap of the whole process (client and in-process fake, which
// keeps only the hash: Options.DiscardContent).
func BenchmarkUpload1GiB(b *testing.B) {
	const size = 1 << 30
	srv := graphtest.NewServer(b, graphtest.Options{DiscardContent: true})
	s, err := onedrive.New(context.Background(), newClient(b, srv), onedrive.Options{})
	require.NoError(b, err)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	b.SetBytes(size)
	for b.Loop() {
		e, err := s.Put(context.Background(), storage.Entry{IsDir: true}, "big.bin", &zeros{size}, size, storage.PutOptions{})
		require.NoError(b, err)
		require.Equal(b, int64(size), e.Size)
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(srv.CallCount("uploadSession.PutFragment"))/float64(b.N), "fragments/op")
}

// onlyReader hides everything but Read (no size, no Seek, no WriterTo).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// BenchmarkUnknownSizeUpload1GiB uploads 1 GiB of unknown size (-1): it is
// spooled to a temporary file, then sent through an upload session. It
// reports the peak heap of the whole process, as BenchmarkUpload1GiB does.
func BenchmarkUnknownSizeUpload1GiB(b *testing.B) {
	const size = 1 << 30
	srv := graphtest.NewServer(b, graphtest.Options{DiscardContent: true})
	s, err := onedrive.New(context.Background(), newClient(b, srv), onedrive.Options{})
	require.NoError(b, err)
	s.SetSpoolDir(b.TempDir())
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	b.SetBytes(size)
	for b.Loop() {
		e, err := s.Put(context.Background(), storage.Entry{IsDir: true}, "big.bin", onlyReader{&zeros{size}}, -1, storage.PutOptions{})
		require.NoError(b, err)
		require.Equal(b, int64(size), e.Size)
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(srv.CallCount("drives.CreateUploadSessionNew"))/float64(b.N), "sessions/op")
}

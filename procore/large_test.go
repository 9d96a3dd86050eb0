package procore_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

// genReader is a generated stream of size bytes from offset off: 1 MiB
// blocks of a fixed pattern, each starting with its block number, so that
// every segment differs. It is a plain io.Reader, as the engine's Put path
// gives a connector.
type genReader struct {
	off, size int64
}

var genBlock = func() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}()

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.off < g.size {
		blk, in := g.off>>20, g.off&(1<<20-1)
		var head [8]byte
		binary.BigEndian.PutUint64(head[:], uint64(blk))
		var k int
		if in < 8 {
			k = copy(p[n:], head[in:])
		} else {
			k = copy(p[n:], genBlock[in:])
		}
		k = int(min(int64(k), g.size-g.off))
		n += k
		g.off += int64(k)
	}
	return n, nil
}

// heapPeak samples the live heap until stop is called and returns the
// largest HeapAlloc seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// TestLargeStreamedUploadWithRestart uploads a 6 GiB generated stream to
// Procore Documents through Put (segmented, 16 MiB segments), "crashes"
// half-way (OnUploadState fails), resumes in a new storage value from the
// last confirmed segment, and checks every segment's digest and the peak
// heap. The fake keeps only sizes and digests of large uploads.
func TestLargeStreamedUploadWithRestart(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("uploads 6 GiB through the fake (about 40 s of CPU); skipped in -short mode and under the race detector")
	}
	const size = 6 << 30
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{SpoolDir: t.TempDir()})
	root, err := s.Stat(ctx, "")
	require.NoError(t, err)

	runtime.GC()
	stop := heapPeak()
	crash := errors.New("process killed")
	var saved storage.UploadState
	states := 0
	_, err = s.Put(ctx, root, "model.ifc", &genReader{size: size}, size, storage.PutOptions{
		OnUploadState: func(st storage.UploadState) error {
			states++
			saved = st
			if st.Offset >= size/2 {
				return crash
			}
			return nil
		}})
	require.ErrorIs(t, err, crash)
	require.Equal(t, int64(size/2), saved.Offset)
	require.Empty(t, srv.UIPaths(procoretest.ProjectDocs(srv.ProjectID)), "nothing is committed before the upload completes")
	sent := srv.CallCount("StorageUploadPart")

	s2 := procore.NewProjectDocuments(c, srv.ProjectID, nil)
	e, err := s2.ResumeUpload(ctx, saved, &genReader{off: saved.Offset, size: size}, storage.PutOptions{})
	require.NoError(t, err)
	peak := stop()
	require.Equal(t, int64(size), e.Size)
	parts := srv.CallCount("StorageUploadPart")
	t.Logf("6 GiB: %d segments, %d sent before the restart, %d after; %d state reports; peak heap %.1f MiB",
		parts, sent, parts-sent, states, float64(peak)/(1<<20))
	require.Equal(t, 384, parts, "every segment sent once")

	id := e.ID
	var fileID int64
	for _, ch := range id {
		fileID = fileID*10 + int64(ch-'0')
	}
	gotSize, digests, ok := srv.LargeContent(fileID)
	require.True(t, ok)
	require.Equal(t, int64(size), gotSize)
	require.Len(t, digests, 384)
	g := &genReader{size: size}
	for i := range digests {
		h := sha256.New()
		_, err := io.CopyN(h, g, 16<<20)
		require.NoError(t, err)
		require.Equal(t, hex.EncodeToString(h.Sum(nil)), digests[i], "segment %d", i+1)
	}
	// Bounded: a few segments' worth (the fake in this process reads each
	// 16 MiB part into memory), never the file.
	require.Less(t, peak, uint64(256<<20), "peak heap")
}

// BenchmarkPutStreamedSegmented measures a 64 MiB upload from a plain
// stream (spooled, hashed, sent in 16 MiB segments) and reports the peak
// heap.
func BenchmarkPutStreamedSegmented(b *testing.B) {
	const size = 64 << 20
	// The fake keeps only digests, so that the heap is mostly the client's.
	srv, c := newFake(b, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1, LargeUploadBytes: 1}, nil)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{SpoolDir: b.TempDir(),
		ChunkThreshold: 32 << 20, SegmentSize: 16 << 20})
	root, err := s.Stat(ctx, "")
	require.NoError(b, err)
	runtime.GC()
	stop := heapPeak()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := s.Put(ctx, root, "bench.bin", &genReader{size: size}, size, storage.PutOptions{})
		require.NoError(b, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
}

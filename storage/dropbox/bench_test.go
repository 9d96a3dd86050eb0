package dropbox_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkInitialListing lists a 50,000-item tree (500 folders of 99
// files) and reports the calls one full listing takes.
func BenchmarkInitialListing(b *testing.B) {
	srv := dropboxtest.NewServer(b, dropboxtest.Options{})
	for d := range 500 {
		for f := range 99 {
			_, _, err := srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("/Project/d%03d/f%02d.pdf", d, f), []byte("x"))
			require.NoError(b, err)
		}
	}
	s, err := dropbox.New(context.Background(), newClient(b, srv, srv.Token(), nil), dropbox.Options{RootPath: "/Project"})
	require.NoError(b, err)
	b.ResetTimer()
	before := srv.Calls("")
	for b.Loop() {
		n := 0
		for _, err := range s.List(context.Background()) {
			require.NoError(b, err)
			n++
		}
		require.Equal(b, 50000, n)
	}
	b.ReportMetric(float64(srv.Calls("")-before)/float64(b.N), "calls/listing")
}

// BenchmarkIdleIncrementalCheck asks the change feed when nothing changed.
func BenchmarkIdleIncrementalCheck(b *testing.B) {
	srv, s := setupB(b, dropboxtest.Options{})
	ctx := context.Background()
	cur, err := s.LatestCursor(ctx)
	require.NoError(b, err)
	before := srv.Calls("")
	for b.Loop() {
		ch, next, err := s.Changes(ctx, cur)
		require.NoError(b, err)
		require.Empty(b, ch)
		cur = next
	}
	b.ReportMetric(float64(srv.Calls("")-before)/float64(b.N), "calls/check")
}

func setupB(b *testing.B, opt dropboxtest.Options) (*dropboxtest.Server, *dropbox.Storage) {
	srv := dropboxtest.NewServer(b, opt)
	s, err := dropbox.New(context.Background(), newClient(b, srv, srv.Token(), nil), dropbox.Options{})
	require.NoError(b, err)
	return srv, s
}

// BenchmarkNewSmallFiles writes 1,000 new small files, with PutBatch and
// with one Put each, and reports the calls per file.
func BenchmarkNewSmallFiles(b *testing.B) {
	for _, mode := range []string{"PutBatch", "Put"} {
		b.Run(mode, func(b *testing.B) {
			srv, s := setupB(b, dropboxtest.Options{})
			ctx := context.Background()
			root, _ := s.Stat(ctx, "")
			calls, files := 0, 0
			for i := 0; b.Loop(); i++ {
				d, err := s.MakeDir(ctx, root, fmt.Sprintf("batch%d", i))
				require.NoError(b, err)
				before := srv.Calls("")
				if mode == "PutBatch" {
					var fs []dropbox.BatchFile
					for k := range 1000 {
						fs = append(fs, dropbox.BatchFile{Name: fmt.Sprintf("f%04d.txt", k), Data: []byte("small")})
					}
					_, errs := s.PutBatch(ctx, d, fs)
					for _, err := range errs {
						require.NoError(b, err)
					}
				} else {
					for k := range 1000 {
						_, err := s.Put(ctx, d, fmt.Sprintf("f%04d.txt", k), stringsReader("small"), 5, storage.PutOptions{})
						require.NoError(b, err)
					}
				}
				calls += srv.Calls("") - before
				files += 1000
			}
			b.ReportMetric(float64(calls)/float64(files), "calls/file")
		})
	}
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
// the peak heap in use (sampled), client and fake together.
func BenchmarkUpload1GiB(b *testing.B) {
	const size = 1 << 30
	srv, s := setupB(b, dropboxtest.Options{DiscardContent: true})
	ctx := context.Background()
	root, _ := s.Stat(ctx, "")
	var peak atomic.Uint64
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		e, err := s.Put(ctx, root, "big.bin", &zeros{size}, size, storage.PutOptions{})
		close(stop)
		<-done
		require.NoError(b, err)
		require.Equal(b, int64(size), e.Size)
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(srv.Calls(""))/float64(b.N), "calls/upload")
	b.SetBytes(size)
}

// BenchmarkChangeSignal measures the time from a person's change to the
// signal on the watcher's channel: by longpoll and by webhook.
func BenchmarkChangeSignal(b *testing.B) {
	b.Run("Longpoll", func(b *testing.B) {
		srv, s := setupB(b, dropboxtest.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch, err := s.Watch(ctx)
		require.NoError(b, err)
		time.Sleep(20 * time.Millisecond)
		for i := 0; b.Loop(); i++ {
			_, _, err := srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("/f%d.txt", i), []byte("x"))
			require.NoError(b, err)
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				b.Fatal("no signal")
			}
		}
	})
	b.Run("Webhook", func(b *testing.B) {
		wh, err := dropbox.NewWebhook("appsecret")
		require.NoError(b, err)
		hs := httptest.NewServer(wh)
		defer hs.Close()
		srv := dropboxtest.NewServer(b, dropboxtest.Options{WebhookURL: hs.URL})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch, _ := wh.Watch(ctx)
		for i := 0; b.Loop(); i++ {
			_, _, err := srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("/f%d.txt", i), []byte("x"))
			require.NoError(b, err)
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				b.Fatal("no signal")
			}
		}
	})
}

// BenchmarkSharedFeedRound is one round of change detection for N pairs
// rooted in one account, after one file was added in every pair's folder:
// with the shared folder feed on the account root (one
// list_folder/continue, then each pair's Changes answered from it) and
// with each pair reading its own cursor. calls/round are the API calls of
// the round.
func BenchmarkSharedFeedRound(b *testing.B) {
	for _, n := range []int{1, 12, 100} {
		for _, shared := range []bool{true, false} {
			name := fmt.Sprintf("pairs=%d/own", n)
			if shared {
				name = fmt.Sprintf("pairs=%d/feed", n)
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				srv := dropboxtest.NewServer(b, dropboxtest.Options{})
				c := newClient(b, srv, srv.Token(), nil)
				feed := dropbox.NewFolderFeed(c, "", changefeed.Options{MaxAge: time.Hour})
				stores := make([]storage.ChangeFeed, n)
				cursors := make([]string, n)
				for i := range n {
					_, err := srv.WebMkdir(dropboxtest.HomeNS, fmt.Sprintf("/P%03d", i))
					require.NoError(b, err)
					s, err := dropbox.New(ctx, c, dropbox.Options{RootPath: fmt.Sprintf("/P%03d", i)})
					require.NoError(b, err)
					stores[i] = s
					if shared {
						stores[i] = s.WithFeed(feed)
					}
					cursors[i], err = stores[i].LatestCursor(ctx)
					require.NoError(b, err)
				}
				calls := 0
				b.ResetTimer()
				for k := range b.N {
					b.StopTimer()
					for i := range n {
						_, _, err := srv.WebPut(dropboxtest.HomeNS, fmt.Sprintf("/P%03d/f%d.txt", i, k), []byte("x"))
						require.NoError(b, err)
					}
					before := srv.Calls("")
					b.StartTimer()
					if shared {
						require.NoError(b, feed.Poll(ctx))
					}
					for i := range n {
						ch, next, err := stores[i].Changes(ctx, cursors[i])
						require.NoError(b, err)
						require.Len(b, ch, 1)
						cursors[i] = next
					}
					calls += srv.Calls("") - before
				}
				b.ReportMetric(float64(calls)/float64(b.N), "calls/round")
			})
		}
	}
}

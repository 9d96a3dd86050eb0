package box_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
)

// BenchmarkInitialList lists a tree of about 50,000 items (36 folders of
// 36 folders of 36 files, with 36 files at each folder level) and reports
// the API calls it took.
func BenchmarkInitialList(b *testing.B) {
	e := newEnv(b, boxtest.Options{})
	require.NoError(b, e.srv.Seed("Big", 36, 3))
	s := e.storage(b, "Big")
	b.ResetTimer()
	var items, calls int
	for range b.N {
		e.srv.ResetCalls()
		items = 0
		for _, err := range s.List(ctx) {
			require.NoError(b, err)
			items++
		}
		calls = e.srv.CallCount("")
	}
	b.ReportMetric(float64(items), "items")
	b.ReportMetric(float64(calls), "calls")
}

// BenchmarkIdleCheck is an incremental check when nothing changed: one
// GET /events.
func BenchmarkIdleCheck(b *testing.B) {
	e := newEnv(b, boxtest.Options{})
	s := e.storage(b, "Idle")
	_, err := e.srv.WebUpload("Idle/x.txt", []byte("x"))
	require.NoError(b, err)
	cur, err := s.LatestCursor(ctx)
	require.NoError(b, err)
	b.ResetTimer()
	for range b.N {
		e.srv.ResetCalls()
		ch, next, err := s.Changes(ctx, cur)
		require.NoError(b, err)
		require.Empty(b, ch)
		cur = next
	}
	b.ReportMetric(float64(e.srv.CallCount("")), "calls/check")
}

// BenchmarkNewSmallFile writes a new small file: one POST /files/content.
func BenchmarkNewSmallFile(b *testing.B) {
	e := newEnv(b, boxtest.Options{})
	s := e.storage(b, "Small")
	root, err := s.Stat(ctx, "")
	require.NoError(b, err)
	e.srv.ResetCalls()
	b.ResetTimer()
	for i := range b.N {
		_, err := s.Put(ctx, root, "f"+itoa(i)+".txt", strings.NewReader("hello"), 5, storage.PutOptions{})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(e.srv.CallCount(""))/float64(b.N), "calls/file")
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var out []byte
	for ; i > 0; i /= 10 {
		out = append([]byte{digits[i%10]}, out...)
	}
	return string(out)
}

// pattern yields n bytes without holding them.
type pattern struct{ left int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range b[:n] {
		b[i] = byte(i)
	}
	p.left -= n
	return int(n), nil
}

// BenchmarkChunkedUpload1GiB uploads 1 GiB through an upload session
// (Box's 32 MiB parts) and reports the process's peak heap, the fake's
// included (it hashes parts as they stream in and keeps no content).
func BenchmarkChunkedUpload1GiB(b *testing.B) {
	e := newEnv(b, boxtest.Options{DiscardContent: true, PartSize: func(n int64) int64 { return 32 << 20 }, MinChunkedSize: box.MinChunked})
	s := e.storage(b, "Large")
	root, err := s.Stat(ctx, "")
	require.NoError(b, err)
	const size = 1 << 30
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	runtime.GC()
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		ent, err := s.Put(ctx, root, "big"+itoa(i)+".bin", &pattern{left: size}, size, storage.PutOptions{})
		require.NoError(b, err)
		require.Equal(b, int64(size), ent.Size)
	}
	b.StopTimer()
	close(stop)
	<-done
	b.SetBytes(size)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkWebhookLatency is the time from a person's upload to the
// Watch signal of a verified webhook delivery, on loopback.
func BenchmarkWebhookLatency(b *testing.B) {
	e := newEnv(b, boxtest.Options{PrimaryKey: "k1", SecondaryKey: "k2"})
	rcv := &box.WebhookReceiver{PrimaryKey: "k1", SecondaryKey: "k2"}
	hook := httptest.NewServer(rcv)
	defer hook.Close()
	s, err := box.New(ctx, e.c, box.Options{Webhooks: rcv})
	require.NoError(b, err)
	id, err := e.srv.WebMkdir("Hooked")
	require.NoError(b, err)
	_, err = s.Client().CreateWebhook(ctx, id, hook.URL, box.TreeTriggers)
	require.NoError(b, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sig, err := s.Watch(wctx)
	require.NoError(b, err)
	b.ResetTimer()
	for i := range b.N {
		_, err := e.srv.WebUpload("Hooked/f"+itoa(i)+".txt", []byte("x"))
		require.NoError(b, err)
		select {
		case <-sig:
		case <-time.After(10 * time.Second):
			b.Fatal("no signal")
		}
	}
}

// BenchmarkSharedFeedRound is one round of change detection for N pairs
// rooted in one account, after one file was added in every pair's folder:
// with the shared events feed (one read of the stream, then each pair's
// Changes answered from it) and with each pair reading the stream on its
// own. calls/round are the API calls of the round; changes/round the
// changes the pairs received (own reads: every pair gets every pair's).
func BenchmarkSharedFeedRound(b *testing.B) {
	for _, n := range []int{1, 12, 100} {
		for _, shared := range []bool{true, false} {
			name := fmt.Sprintf("pairs=%d/own", n)
			if shared {
				name = fmt.Sprintf("pairs=%d/feed", n)
			}
			b.Run(name, func(b *testing.B) {
				e := newEnv(b, boxtest.Options{})
				feed := box.NewEventsFeed(e.c, changefeed.Options{MaxAge: time.Hour})
				stores := make([]storage.ChangeFeed, n)
				cursors := make([]string, n)
				for i := range n {
					s := e.storage(b, fmt.Sprintf("P%03d", i))
					stores[i] = s
					if shared {
						stores[i] = s.WithFeed(feed)
					}
					var err error
					cursors[i], err = stores[i].LatestCursor(ctx)
					require.NoError(b, err)
				}
				calls, changes := 0, 0
				b.ResetTimer()
				for k := range b.N {
					b.StopTimer()
					for i := range n {
						_, err := e.srv.WebUpload(fmt.Sprintf("P%03d/f%d.txt", i, k), []byte("x"))
						require.NoError(b, err)
					}
					e.srv.ResetCalls()
					b.StartTimer()
					if shared {
						require.NoError(b, feed.Poll(ctx))
					}
					for i := range n {
						ch, next, err := stores[i].Changes(ctx, cursors[i])
						require.NoError(b, err)
						changes += len(ch)
						live := 0
						for _, c := range ch {
							if !c.Deleted {
								live++
							}
						}
						// Reading the stream on its own, a pair also gets
						// the other pairs' changes, as deletions of IDs it
						// does not know.
						require.Equal(b, 1, live)
						cursors[i] = next
					}
					calls += e.srv.CallCount("")
				}
				b.ReportMetric(float64(calls)/float64(b.N), "calls/round")
				b.ReportMetric(float64(changes)/float64(b.N), "changes/round")
			})
		}
	}
}

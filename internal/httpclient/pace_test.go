package httpclient_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

func TestThrottle(t *testing.T) {
	clk := fakeservice.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var th httpclient.Throttle
	require.True(t, th.Until().IsZero())
	require.NoError(t, th.Wait(context.Background(), clk.Now, clk.Sleep))
	require.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), clk.Now(), "no pause, no wait")

	th.Pause(clk.Now().Add(30 * time.Second))
	th.Pause(clk.Now().Add(10 * time.Second)) // a shorter pause does not shorten it
	require.NoError(t, th.Wait(context.Background(), clk.Now, clk.Sleep))
	require.Equal(t, 30*time.Second, clk.Now().Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))

	th.Pause(clk.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, th.Wait(ctx, clk.Now, httpclient.Sleep), context.Canceled)
}

type recordingPacer struct {
	mu    sync.Mutex
	waits []string
	fbs   []storage.Feedback
}

func (p *recordingPacer) Wait(_ context.Context, key string, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits = append(p.waits, fmt.Sprintf("%s:%d", key, n))
	return nil
}

func (p *recordingPacer) Observe(key string, fb storage.Feedback) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fbs = append(p.fbs, fb)
}

func TestPace(t *testing.T) {
	require.NoError(t, httpclient.Pace{}.Wait(context.Background()))
	httpclient.Pace{}.Observe(storage.Feedback{Limit: 1})

	rp := &recordingPacer{}
	p := httpclient.Pace{Pacer: rp, Key: "graph:contoso"}
	require.NoError(t, p.Wait(context.Background()))
	p.Observe(storage.Feedback{RetryAfter: time.Second})
	require.Equal(t, []string{"graph:contoso:1"}, rp.waits)
	require.Equal(t, []storage.Feedback{{RetryAfter: time.Second}}, rp.fbs)
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, httpclient.Sleep(ctx, time.Hour), context.Canceled)
	require.NoError(t, httpclient.Sleep(context.Background(), time.Millisecond))
	require.NoError(t, httpclient.Sleep(context.Background(), -time.Second))
}

func TestNewTransport(t *testing.T) {
	tr := httpclient.NewTransport()
	require.Equal(t, httpclient.TLSHandshakeTimeout, tr.TLSHandshakeTimeout)
	require.Equal(t, httpclient.ResponseHeaderTimeout, tr.ResponseHeaderTimeout)
	require.Equal(t, httpclient.IdleConnTimeout, tr.IdleConnTimeout)
	require.Positive(t, tr.ExpectContinueTimeout)
	require.NotNil(t, tr.DialContext, "a dialer with a timeout")
	require.NotSame(t, http.DefaultTransport, tr, "a clone, never the shared default")
	require.Equal(t, http.DefaultTransport.(*http.Transport).MaxIdleConns, tr.MaxIdleConns, "the standard library's pooling")
}

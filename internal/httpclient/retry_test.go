package httpclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/httpclient"
)

func TestBudget(t *testing.T) {
	b := httpclient.NewBudget(2)
	require.True(t, b.Take())
	require.True(t, b.Take())
	require.False(t, b.Take())
	for range 9 {
		b.Earn()
	}
	require.False(t, b.Take(), "nine requests earn less than one retry")
	b.Earn()
	require.True(t, b.Take())
	var unlimited *httpclient.Budget
	unlimited.Earn()
	require.True(t, unlimited.Take())
}

func TestExpBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {3, 8 * time.Second}, {5, 30 * time.Second}, {200, 30 * time.Second}, {-1, time.Second}} {
		require.Equal(t, tc.want, httpclient.ExpBackoff(time.Second, 30*time.Second, tc.attempt), tc.attempt)
	}
	for range 100 {
		d := httpclient.Jitter(10 * time.Second)
		require.GreaterOrEqual(t, d, 5*time.Second)
		require.LessOrEqual(t, d, 10*time.Second)
	}
}

func TestThrottled(t *testing.T) {
	for _, tc := range []struct {
		status int
		ra     string
		want   bool
	}{{429, "", true}, {503, "5", true}, {503, "", false}, {500, "5", false}, {200, "", false}} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if tc.ra != "" {
			resp.Header.Set("Retry-After", tc.ra)
		}
		require.Equal(t, tc.want, httpclient.Throttled(resp), "%d %q", tc.status, tc.ra)
	}
	require.False(t, httpclient.Throttled(nil))
}

// failing serves fails responses with status first, then 200.

func failing(t *testing.T, status, fails int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= fails {
			w.WriteHeader(status)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestNewRetryClient(t *testing.T) {
	fast := httpclient.Policy{RetryMax: 4, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}
	for _, tc := range []struct {
		name       string
		status     int
		fails      int
		policy     func(p *httpclient.Policy)
		wantStatus int
		wantCalls  int32
	}{
		{"retries 503 until success", 503, 2, nil, 200, 3},
		{"retries 429 and 509", 509, 1, nil, 200, 2},
		{"gives up after RetryMax with the last response", 502, 10, nil, 502, 5},
		{"no retry of 400", 400, 1, nil, 400, 1},
		{"no retry of 404", 404, 1, nil, 404, 1},
		{"never retries with RetryMax 0", 500, 1, func(p *httpclient.Policy) { p.RetryMax = 0 }, 500, 1},
		{"negative RetryMax is never", 500, 1, func(p *httpclient.Policy) { p.RetryMax = -3 }, 500, 1},
		{"an empty budget stops retrying", 503, 10, func(p *httpclient.Policy) { p.Budget = httpclient.NewBudget(1) }, 503, 2},
		{"a custom decision", 500, 3, func(p *httpclient.Policy) {
			p.Retry = func(context.Context, *http.Response, error) (bool, error) { return false, nil }
		}, 500, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, n := failing(t, tc.status, tc.fails)
			p := fast
			if tc.policy != nil {
				tc.policy(&p)
			}
			rc := httpclient.NewRetryClient(srv.Client(), p)
			resp, err := rc.Get(srv.URL)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode)
			require.Equal(t, tc.wantCalls, n.Load())
		})
	}
}

func TestNewRetryClientTransportErrors(t *testing.T) {
	fast := httpclient.Policy{RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond}
	t.Run("unsupported scheme is permanent", func(t *testing.T) {
		var calls atomic.Int32
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return http.DefaultTransport.RoundTrip(r)
		})}
		_, err := httpclient.NewRetryClient(hc, fast).Get("gopher://example/x?token=SECRET")
		require.Error(t, err)
		require.Equal(t, int32(1), calls.Load())
	})
	t.Run("connection errors are retried", func(t *testing.T) {
		var calls atomic.Int32
		hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			calls.Add(1)
			return nil, errors.New("connection reset by peer")
		})}
		_, err := httpclient.NewRetryClient(hc, fast).Get("https://example.invalid/")
		require.Error(t, err)
		require.Equal(t, int32(3), calls.Load())
	})
	t.Run("a done context stops at once", func(t *testing.T) {
		srv, n := failing(t, 503, 10)
		ctx, cancel := context.WithCancel(context.Background())
		p := fast
		p.Retry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			cancel()
			return httpclient.DefaultRetry(ctx, resp, err)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		rreq, err := retryableFrom(req)
		require.NoError(t, err)
		_, err = httpclient.NewRetryClient(srv.Client(), p).Do(rreq)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, int32(1), n.Load())
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

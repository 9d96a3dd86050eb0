package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"10", 10 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"0", 0, true},
		{"-3", 0, true},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999", 30 * 24 * time.Hour, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(time.Hour).Format(time.RFC850), time.Hour, true},
	} {
		t.Run(tc.v, func(t *testing.T) {
			d, ok := httpclient.RetryAfter(http.Header{"Retry-After": {tc.v}}, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, d)
		})
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct {
		raw      string
		keepPath bool
		want     string
	}{
		{"https://graph.example/v1.0/drives/x?token=abc", true, "https://graph.example/v1.0/drives/x"},
		{"https://up.example/up/SECRET?sig=abc", false, "https://up.example/[redacted]"},
		{"https://contoso.sharepoint.com/_layouts/15/download.aspx?UniqueId=1&tempauth=eyJ0", true, "https://contoso.sharepoint.com/_layouts/15/download.aspx"},
		{"https://bucket.s3.amazonaws.com/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA", true, "https://bucket.s3.amazonaws.com/k"},
		{"https://user:pass@api.example/v1/me?access_token=t#frag", true, "https://api.example/v1/me"},
		{"://bad", true, "[url]"},
	} {
		got := httpclient.RedactURL(tc.raw, tc.keepPath)
		require.Equal(t, tc.want, got, tc.raw)
		for _, secret := range []string{"abc", "SECRET", "eyJ0", "deadbeef", "AKIA", "pass", "access_token"} {
			require.NotContains(t, got, secret)
		}
	}
}

func TestRedactError(t *testing.T) {
	inner := errors.New("connection reset by peer")
	err := httpclient.RedactError(&url.Error{Op: "Get", URL: "https://h.example/dl/TOKENPATH?tempauth=SECRET", Err: inner}, false)
	require.NotContains(t, err.Error(), "SECRET")
	require.NotContains(t, err.Error(), "TOKENPATH")
	require.ErrorIs(t, err, inner)
	plain := errors.New("plain")
	require.Equal(t, plain, httpclient.RedactError(plain, true))
}

func TestReadBodyAndDecodeJSON(t *testing.T) {
	b, err := httpclient.ReadBody(strings.NewReader("12345"), 5)
	require.NoError(t, err)
	require.Equal(t, "12345", string(b))

	_, err = httpclient.ReadBody(strings.NewReader("123456"), 5)
	var tl *httpclient.TooLargeError
	require.ErrorAs(t, err, &tl)
	require.Equal(t, int64(5), tl.Limit)

	var v struct{ A int }
	require.NoError(t, httpclient.DecodeJSON(strings.NewReader(`{"A":3}`), 100, &v))
	require.Equal(t, 3, v.A)
	require.ErrorAs(t, httpclient.DecodeJSON(strings.NewReader(`{"A":3}`), 4, &v), &tl)
	require.Error(t, httpclient.DecodeJSON(strings.NewReader(`{"A":`), 100, &v))
	require.NotErrorAs(t, httpclient.DecodeJSON(strings.NewReader(`{"A":`), 100, &v), &tl)
}

func TestPageGuard(t *testing.T) {
	t.Run("repeated cursor", func(t *testing.T) {
		g := httpclient.NewPageGuard(10)
		require.NoError(t, g.Next(context.Background(), "a"))
		require.NoError(t, g.Next(context.Background(), "b"))
		err := g.Next(context.Background(), "a")
		require.ErrorIs(t, err, httpclient.ErrPageLoop)
		require.ErrorContains(t, err, "repeats an earlier page")
	})
	t.Run("sanity cap", func(t *testing.T) {
		g := httpclient.NewPageGuard(3)
		for i := range 3 {
			require.NoError(t, g.Next(context.Background(), fmt.Sprint(i)))
		}
		err := g.Next(context.Background(), "3")
		require.ErrorIs(t, err, httpclient.ErrTooManyPages)
		require.ErrorContains(t, err, "did not end after 3 pages")
		require.Equal(t, 3, g.Pages())
	})
	t.Run("context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, httpclient.NewPageGuard(3).Next(ctx, "a"), context.Canceled)
	})
}

func TestSecureOrigin(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://graph.microsoft.com/v1.0": true,
		"http://127.0.0.1:8080/v1.0":       true,
		"http://[::1]:8080/":               true,
		"http://localhost:9/":              true,
		"http://graph.microsoft.com/v1.0":  false,
		"http://10.0.0.1/":                 false,
		"ftp://localhost/":                 false,
		"https:///nohost":                  false,
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		require.Equal(t, want, httpclient.SecureOrigin(u), raw)
	}
}

func TestHostListed(t *testing.T) {
	list := []string{"files.example", "Proxy.Example:8443", " "}
	for _, tc := range []struct {
		host string
		rule httpclient.PortRule
		want bool
	}{
		{"files.example", httpclient.DefaultPortOnly, true},
		{"FILES.example", httpclient.DefaultPortOnly, true},
		{"files.example:9000", httpclient.DefaultPortOnly, false},
		{"files.example:9000", httpclient.AnyPort, true},
		{"proxy.example:8443", httpclient.DefaultPortOnly, true},
		{"proxy.example", httpclient.AnyPort, false},
		{"proxy.example:443", httpclient.AnyPort, false},
		{"evil.example", httpclient.AnyPort, false},
		{"files.example.evil", httpclient.AnyPort, false},
		{"", httpclient.AnyPort, false},
	} {
		require.Equal(t, tc.want, httpclient.HostListed(list, tc.host, tc.rule), "%q %v", tc.host, tc.rule)
	}
}

func TestSubdomainOf(t *testing.T) {
	domains := []string{"sharepoint.com", ".SharePoint.us"}
	for host, want := range map[string]bool{
		"contoso.sharepoint.com":         true,
		"Contoso-My.SharePoint.com":      true,
		"contoso.sharepoint.com:443":     true,
		"a.b.sharepoint.us":              true,
		"sharepoint.com":                 false,
		"contoso.sharepoint.com:8443":    false,
		"evilsharepoint.com":             false,
		"contoso.sharepoint.com.evil.io": false,
		"":                               false,
	} {
		require.Equal(t, want, httpclient.SubdomainOf(host, domains...), host)
	}
	require.False(t, httpclient.SubdomainOf("a.example", ""))
}

func TestHasQueryParam(t *testing.T) {
	u, _ := url.Parse("https://h/x?UniqueId=1&tempauth=t")
	require.True(t, httpclient.HasQueryParam(u, "tempauth"))
	require.True(t, httpclient.HasQueryParam(u, "X-Amz-Signature", "tempauth"))
	require.False(t, httpclient.HasQueryParam(u, "X-Amz-Signature"))
}

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://Graph.example/v1.0")
	for raw, want := range map[string]bool{
		"https://graph.example/v1.0/me": true,
		"http://graph.example/v1.0/me":  false,
		"https://graph.example:444/x":   false,
		"https://other.example/x":       false,
	} {
		u, _ := url.Parse(raw)
		require.Equal(t, want, httpclient.SameOrigin(base, u), raw)
	}
}

type blockingSource struct{ release chan struct{} }

func (b blockingSource) Token() (*oauth2.Token, error) {
	<-b.release
	return &oauth2.Token{AccessToken: "t"}, nil
}

type ctxSource struct{ got context.Context }

func (c *ctxSource) Token() (*oauth2.Token, error) { return nil, errors.New("not this one") }
func (c *ctxSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c.got = ctx
	return &oauth2.Token{AccessToken: "ctx"}, nil
}

func TestTokenFor(t *testing.T) {
	src := blockingSource{release: make(chan struct{})}
	defer close(src.release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := httpclient.TokenFor(ctx, src)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	cs := &ctxSource{}
	tok, err := httpclient.TokenFor(context.Background(), cs)
	require.NoError(t, err)
	require.Equal(t, "ctx", tok.AccessToken)
	require.NotNil(t, cs.got)
}

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

package fakeservice_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

func TestCalls(t *testing.T) {
	var c fakeservice.Calls
	require.Zero(t, c.Op(""))
	require.Empty(t, c.ByOp())
	c.Add("api", "items.Get")
	c.Add("api", "items.Get")
	c.Add("content", "download.Get")
	require.Equal(t, 2, c.Op("items.Get"))
	require.Equal(t, 3, c.Op(""))
	require.Equal(t, 2, c.Host("api"))
	require.Equal(t, map[string]int{"items.Get": 2, "download.Get": 1}, c.ByOp())
	require.Equal(t, map[string]int{"api": 2, "content": 1}, c.ByHost())
	require.Equal(t, "api=2 content=1 download.Get=1 items.Get=2", c.String())
	m := c.ByOp()
	m["items.Get"] = 99
	require.Equal(t, 2, c.Op("items.Get"), "ByOp returns a copy")
	c.Reset()
	require.Zero(t, c.Op(""))
	require.Zero(t, c.Host("api"))
}

func TestFaultsTake(t *testing.T) {
	type call struct{ host, op string }
	for _, tc := range []struct {
		name   string
		faults []fakeservice.Fault
		calls  []call
		want   []int // Status applied to each call (0: none)
	}{
		{"once by default", []fakeservice.Fault{{Op: "a", Status: 503}},
			[]call{{"api", "a"}, {"api", "a"}}, []int{503, 0}},
		{"only its operation", []fakeservice.Fault{{Op: "a", Status: 503}},
			[]call{{"api", "b"}, {"api", "a"}}, []int{0, 503}},
		{"every operation", []fakeservice.Fault{{Op: fakeservice.AllOps, Status: 500, Times: 2}, {Status: 429}},
			[]call{{"api", "a"}, {"api", "b"}, {"api", "c"}, {"api", "d"}}, []int{500, 500, 429, 0}},
		{"after N calls", []fakeservice.Fault{{Op: "a", Status: 502, After: 2}},
			[]call{{"api", "a"}, {"api", "b"}, {"api", "a"}, {"api", "a"}, {"api", "a"}}, []int{0, 0, 0, 502, 0}},
		{"forever", []fakeservice.Fault{{Op: "a", Status: 503, Times: fakeservice.Forever}},
			[]call{{"api", "a"}, {"api", "a"}, {"api", "a"}}, []int{503, 503, 503}},
		{"every matching call counts towards After", []fakeservice.Fault{{Op: "a", Status: 500}, {Op: "a", Status: 502, After: 2}},
			[]call{{"api", "a"}, {"api", "a"}, {"api", "a"}, {"api", "a"}}, []int{500, 0, 502, 0}},
		{"only its host", []fakeservice.Fault{{Host: "content", Status: 401}},
			[]call{{"api", "a"}, {"content", "a"}, {"content", "a"}}, []int{0, 401, 0}},
		{"in the order injected", []fakeservice.Fault{{Op: "a", Status: 503}, {Op: "a", Status: 429}},
			[]call{{"api", "a"}, {"api", "a"}, {"api", "a"}}, []int{503, 429, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q fakeservice.Faults
			for _, f := range tc.faults {
				q.Inject(f)
			}
			for i, c := range tc.calls {
				got := 0
				if f := q.Take(c.host, c.op); f != nil {
					got = f.Status
				}
				require.Equal(t, tc.want[i], got, "call %d (%s %s)", i, c.host, c.op)
			}
		})
	}
	var q fakeservice.Faults
	q.Inject(fakeservice.Fault{Status: 500, Times: fakeservice.Forever})
	require.Equal(t, 1, q.Pending())
	q.Clear()
	require.Nil(t, q.Take("api", "a"))
}

// fake is a one-operation fake service on the shared machinery.
type fake struct {
	svc     fakeservice.Service
	handled atomic.Int32
	srv     *httptest.Server
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.svc.Serve(w, r, fakeservice.Call{Host: "api", Op: "things.Get", Body: body,
			PathParams: map[string]string{"id": "7"},
			Handle: func(w *fakeservice.Recorder) {
				f.handled.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"id":"7","name":"a thing"}`))
			},
			WriteFault: func(w *fakeservice.Recorder, fl *fakeservice.Fault) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(fl.Status)
				_, _ = w.Write([]byte(`{"error":"` + fl.Code + `"}`))
			},
			Finish: func(w *fakeservice.Recorder) { w.Header().Set("X-Fake", "1") },
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestServe(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fault       *fakeservice.Fault
		status      int
		body        string
		retryAfter  string
		transportOK bool
		readOK      bool
		handled     int32
		observed    bool
	}{
		{"no fault", nil, 200, `{"id":"7","name":"a thing"}`, "", true, true, 1, true},
		{"status with Retry-After rounded up", &fakeservice.Fault{Status: 429, Code: "throttled", RetryAfter: 1500 * time.Millisecond},
			429, `{"error":"throttled"}`, "2", true, true, 0, true},
		{"a Retry-After date as it is", &fakeservice.Fault{Status: 503, RetryAfterHeader: "Wed, 21 Oct 2026 07:28:00 GMT"},
			503, `{"error":""}`, "Wed, 21 Oct 2026 07:28:00 GMT", true, true, 0, true},
		{"lost response: carried out, then replaced", &fakeservice.Fault{Status: 503, AfterApply: true},
			503, `{"error":""}`, "", true, true, 1, true},
		{"reset", &fakeservice.Fault{Reset: true}, 0, "", "", false, false, 0, false},
		{"reset after carrying out", &fakeservice.Fault{Reset: true, AfterApply: true}, 0, "", "", false, false, 1, false},
		{"truncated", &fakeservice.Fault{Truncate: true}, 200, `{"id":"7","na`, "", true, false, 1, true},
		{"latency only", &fakeservice.Fault{Latency: 5 * time.Millisecond}, 200, `{"id":"7","name":"a thing"}`, "", true, true, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var seen []fakeservice.Exchange
			f.svc.Observe(func(x fakeservice.Exchange) { seen = append(seen, x) })
			if tc.fault != nil {
				f.svc.Faults.Inject(*tc.fault)
			}
			resp, err := f.srv.Client().Get(f.srv.URL + "/things/7?q=1")
			require.Equal(t, tc.transportOK, err == nil, "%v", err)
			if err == nil {
				defer resp.Body.Close()
				b, rerr := io.ReadAll(resp.Body)
				require.Equal(t, tc.readOK, rerr == nil, "%v", rerr)
				require.Equal(t, tc.status, resp.StatusCode)
				require.Equal(t, tc.body, string(b))
				require.Equal(t, tc.retryAfter, resp.Header.Get("Retry-After"))
				require.Equal(t, "1", resp.Header.Get("X-Fake"))
			}
			require.Equal(t, tc.handled, f.handled.Load())
			require.Equal(t, 1, f.svc.Calls.Op("things.Get"))
			require.Equal(t, 1, f.svc.Calls.Host("api"))
			if !tc.observed {
				require.Empty(t, seen)
				return
			}
			require.Len(t, seen, 1)
			x := seen[0]
			require.Equal(t, "things.Get", x.Op)
			require.Equal(t, "api", x.Host)
			require.Equal(t, tc.status, x.Status)
			require.Equal(t, "/things/7", x.Request.URL.Path)
			require.Equal(t, map[string]string{"id": "7"}, x.PathParams)
			if tc.fault == nil || tc.fault.Status == 0 {
				require.JSONEq(t, `{"id":"7","name":"a thing"}`, string(x.RespBody), "the observer sees the whole response")
			}
		})
	}
}

func TestServeRecordsBodiesUpToTheLimit(t *testing.T) {
	f := newFake(t)
	f.svc.MaxRecordedBody = 4
	var got [][]byte
	f.svc.Observe(func(x fakeservice.Exchange) {
		b, _ := io.ReadAll(x.Request.Body)
		require.Equal(t, string(x.ReqBody), string(b), "the request body is re-readable")
		got = append(got, x.ReqBody)
	})
	for _, body := range []string{"abcd", "abcde"} {
		resp, err := f.srv.Client().Post(f.srv.URL, "text/plain", stringsReader(body))
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, []byte("abcd"), got[0])
	require.Nil(t, got[1])
	f.svc.Observe(nil)
	resp, err := f.srv.Client().Get(f.srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Len(t, got, 2)
}

func TestLatencyEndsWithTheRequest(t *testing.T) {
	f := newFake(t)
	f.svc.Faults.Inject(fakeservice.Fault{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL, nil)
	_, err := f.srv.Client().Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestTokensOnTheClock(t *testing.T) {
	clk := fakeservice.NewClock(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	ts := fakeservice.NewTokens(clk.Now)
	a := ts.Issue("at.", time.Hour)
	b := ts.Issue("at.", 2*time.Hour)
	require.NotEqual(t, a, b)
	require.Contains(t, a, "at.")
	require.Equal(t, fakeservice.TokenValid, ts.Check(a))
	require.Equal(t, fakeservice.TokenUnknown, ts.Check("forged"))
	require.Equal(t, fakeservice.TokenUnknown, ts.Check(""))
	require.Equal(t, 2, ts.Valid())

	clk.Advance(time.Hour)
	require.Equal(t, fakeservice.TokenExpired, ts.Check(a), "expired exactly at its expiry")
	require.Equal(t, fakeservice.TokenValid, ts.Check(b))

	require.True(t, ts.ExpireToken(b))
	require.False(t, ts.ExpireToken("forged"))
	require.Equal(t, fakeservice.TokenExpired, ts.Check(b))

	c := ts.Issue("at.", time.Hour)
	ts.ExpireTokens()
	require.Equal(t, fakeservice.TokenExpired, ts.Check(c))
	require.Zero(t, ts.Valid())
	require.True(t, ts.Revoke(c))
	require.Equal(t, fakeservice.TokenUnknown, ts.Check(c))
	require.False(t, ts.Revoke(c))
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := fakeservice.NewClock(start)
	require.NoError(t, clk.Sleep(context.Background(), 3*time.Second))
	clk.Advance(time.Minute)
	require.Equal(t, start.Add(63*time.Second), clk.Now())
	require.Equal(t, []time.Duration{3 * time.Second}, clk.Sleeps())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, clk.Sleep(ctx, time.Second), context.Canceled)
}

func TestFaultWriteBody(t *testing.T) {
	rec := fakeservice.NewRecorder()
	require.False(t, (&fakeservice.Fault{Status: 503}).WriteBody(rec))
	require.Empty(t, rec.Body())
	require.True(t, (&fakeservice.Fault{Status: 409, Body: `{"error":"as sent"}`}).WriteBody(rec))
	require.Equal(t, 409, rec.Status())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, `{"error":"as sent"}`, string(rec.Body()))
}

package telemetry_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
	"github.com/procoresync/procoresync/telemetry"
	"github.com/procoresync/procoresync/telemetry/promexport"
)

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	return rec.Body.String()
}

// line returns the first exposition line that starts with name and
// contains every label given.
func line(body, name string, labels ...string) string {
	for _, l := range strings.Split(body, "\n") {
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		ok := true
		for _, lb := range labels {
			ok = ok && strings.Contains(l, lb)
		}
		if ok {
			return l
		}
	}
	return ""
}

func TestRunsItemsBytesBudgetsAndHeld(t *testing.T) {
	exp, err := promexport.New()
	require.NoError(t, err)
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
	require.NoError(t, err)
	defer store.Close()
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{"procore:app": syncengine.ProcoreBudget()},
	})
	require.NoError(t, err)
	var eng *syncengine.Engine
	m, err := telemetry.New(telemetry.Options{
		MeterProvider: exp.Provider,
		Budgets:       lim.Budget, BudgetKeys: []string{"procore:app"},
		QueueDepth: func(context.Context) (map[string]int64, error) { return map[string]int64{"default": 7}, nil },
		Pairs:      func() []string { return eng.Pairs() },
		Store:      store,
	})
	require.NoError(t, err)
	defer m.Close()

	eng, err = syncengine.New(syncengine.Options{Store: m.Store(store), Limiter: lim, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	a, b := memory.New(), memory.New()
	a.WriteFile("Drawings/A-101.pdf", []byte("%PDF floor plan"))
	a.WriteFile("Specs/03 30 00.pdf", []byte("%PDF concrete"))
	require.NoError(t, eng.AddPair(syncengine.Pair{ID: "t3-docs", A: a, B: b, Initial: syncengine.InitialStandard, Interval: time.Hour}))
	ctx := context.Background()
	_, err = eng.RunOnce(ctx, "t3-docs", syncengine.RunOptions{})
	require.NoError(t, err)
	require.NoError(t, lim.Wait(ctx, "procore:app", 5))

	body := scrape(t, exp.Handler())
	assert.Contains(t, line(body, "procoresync_runs_total", `pair="t3-docs"`), " 1")
	l := line(body, "procoresync_items_total", `pair="t3-docs"`, `side="B"`)
	require.NotEmpty(t, l, body)
	bl := line(body, "procoresync_bytes_total", `pair="t3-docs"`, `side="B"`)
	assert.True(t, strings.HasSuffix(bl, " 28"), "bytes written to B: %s", bl)
	assert.NotEmpty(t, line(body, "procoresync_run_duration_seconds_count", `pair="t3-docs"`))
	bud := line(body, "procoresync_budget_remaining", `budget="procore:app"`)
	require.NotEmpty(t, bud, body)
	assert.False(t, strings.HasSuffix(bud, " 0"), bud)
	assert.True(t, strings.HasSuffix(line(body, "procoresync_queue_depth", `queue="default"`), " 7"))
	assert.True(t, strings.HasSuffix(line(body, "procoresync_held", `pair="t3-docs"`), " 0"))
	assert.True(t, strings.HasSuffix(line(body, "procoresync_quarantined", `pair="t3-docs"`), " 0"))
	assert.NotEmpty(t, line(body, "go_goroutines"), "the Go runtime collector is registered")
}

func TestTransportCountsCallsAndThrottling(t *testing.T) {
	exp, err := promexport.New()
	require.NoError(t, err)
	m, err := telemetry.New(telemetry.Options{MeterProvider: exp.Provider})
	require.NoError(t, err)
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable) // no Retry-After: not counted as throttling
		default:
			_, _ = io.WriteString(w, "{}")
		}
	}))
	defer srv.Close()
	hc := &http.Client{Transport: m.Transport("procore", nil)}
	for range 3 {
		resp, err := hc.Get(srv.URL + "/rest/v1.0/projects?access_token=secret-token")
		require.NoError(t, err)
		resp.Body.Close()
	}
	_, err = (&http.Client{Transport: m.Transport("graph", nil)}).Get("http://127.0.0.1:1/unreachable")
	require.Error(t, err)

	body := scrape(t, exp.Handler())
	assert.NotContains(t, body, "secret-token", "URLs are never recorded")
	assert.True(t, strings.HasSuffix(line(body, "procoresync_api_calls_total", `service="procore"`, `code="429"`), " 1"))
	assert.True(t, strings.HasSuffix(line(body, "procoresync_api_calls_total", `service="procore"`, `code="200"`), " 1"))
	assert.True(t, strings.HasSuffix(line(body, "procoresync_api_throttled_total", `service="procore"`), " 1"))
	assert.True(t, strings.HasSuffix(line(body, "procoresync_api_calls_total", `service="graph"`, `code="0"`), " 1"))
}

func TestHealth(t *testing.T) {
	var h telemetry.Health
	h.Timeout = 50 * time.Millisecond
	h.Add("postgres", func(context.Context) error { return nil })
	rec := httptest.NewRecorder()
	h.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"ready":true,"checks":[{"name":"postgres","ok":true}]}`, rec.Body.String())

	h.Add("redis", func(context.Context) error { return errors.New("dial tcp 127.0.0.1:6379: connection refused") })
	h.Add("procore", func(ctx context.Context) error { select {} }) // hangs, ignoring ctx
	rep := h.Ready(context.Background())
	assert.False(t, rep.Ready)
	require.Len(t, rep.Checks, 3)
	assert.Equal(t, "procore", rep.Checks[1].Name)
	assert.Equal(t, context.DeadlineExceeded.Error(), rep.Checks[1].Error, "a hanging check times out")
	assert.Contains(t, rep.Checks[2].Error, "connection refused")

	var h2 telemetry.Health
	h2.Drain()
	rec = httptest.NewRecorder()
	h2.ReadyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	rec = httptest.NewRecorder()
	h2.LiveHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}

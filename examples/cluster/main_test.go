package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
)

// The example converges 4 pairs on 3 workers against the real PostgreSQL
// and Redis servers, then drains and exits.
func TestClusterExampleConverges(t *testing.T) {
	dsn := testservices.Postgres(t)
	rd := testservices.NewRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := config{postgres: dsn, redis: rd.Addr, redisPrefix: rd.Prefix, listen: "127.0.0.1:0",
		workers: 3, pairs: 4, files: 3, latency: 10 * time.Millisecond, drain: 30 * time.Second, once: true}
	var live, ready int
	var readyBody, metrics string
	c.onServe = func(addr string) {
		get := func(path string) (int, string) {
			resp, err := http.Get("http://" + addr + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, string(b)
		}
		live, _ = get("/healthz")
		ready, readyBody = get("/readyz")
		// The queue's series appears once a worker serves the queue.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if _, metrics = get("/metrics"); strings.Contains(metrics, "procoresync_queue_depth") {
				break
			}
		}
	}
	require.NoError(t, run(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.Equal(t, http.StatusOK, live)
	require.Equal(t, http.StatusOK, ready, readyBody)
	require.Contains(t, readyBody, `"name":"postgres","ok":true`)
	require.Contains(t, readyBody, `"name":"redis","ok":true`)
	for _, m := range []string{"procoresync_budget_remaining", "procoresync_queue_depth", "procoresync_held", "procoresync_quarantined"} {
		require.Contains(t, metrics, m, "the scrape has %s", m)
	}
}

package main

import (
	"context"
	"io"
	"log/slog"
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
	require.NoError(t, run(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil))))
}

// Package testservices gives tests a private place on the PostgreSQL and
// Redis servers that the distributed backends need: a schema of its own on
// PostgreSQL, a key prefix of its own on Redis, both removed when the test
// ends.
//
// The servers are found through PROCORESYNC_TEST_POSTGRES (a pgx
// connection string; default
// "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable") and
// PROCORESYNC_TEST_REDIS (host:port; default "127.0.0.1:6379"). .ci/run
// starts both. When a server cannot be reached, a test that needs it fails
// with a message naming the server in CI (the environment variable CI is
// not empty), and is skipped with a loud message elsewhere.
package testservices

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgres and DefaultRedis are the servers used when the
// environment names none.
const (
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	DefaultRedis    = "127.0.0.1:6379"
)

// dialTimeout bounds every connection attempt and set-up statement.
const dialTimeout = 5 * time.Second

// unavailable fails tb in CI and skips it elsewhere, saying which server is
// missing and how to provide it.
func unavailable(tb testing.TB, what, where, env string, err error) {
	tb.Helper()
	msg := fmt.Sprintf("%s at %s is not reachable (%v); start it (.ci/run does) or set %s", what, where, err, env)
	if os.Getenv("CI") != "" {
		tb.Fatalf("testservices: %s: this test needs it and CI must provide it", msg)
	}
	tb.Skipf("%s TESTS SKIPPED: %s", strings.ToUpper(what), msg)
}

// unique returns a name that no other test run uses: prefix, the process
// ID and random hex.
func unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%d_%s", prefix, os.Getpid(), hex.EncodeToString(b[:]))
}

// PostgresBase returns the connection string of the test server (without
// a schema of the test's own).
func PostgresBase() string {
	if s := os.Getenv("PROCORESYNC_TEST_POSTGRES"); s != "" {
		return s
	}
	return DefaultPostgres
}

// Postgres creates a new, empty schema on the test server and returns a
// connection string whose connections use it (search_path). The schema and
// everything in it are dropped when tb ends. Stores opened on the string
// in one test share the schema, as workers share one database.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := PostgresBase()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unavailable(tb, "PostgreSQL", redactURL(base), "PROCORESYNC_TEST_POSTGRES", err)
		return ""
	}
	defer conn.Close(context.Background())
	schema := unique("t")
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatalf("testservices: create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("testservices: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("testservices: drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, base, schema)
}

// withSearchPath adds the search_path run-time parameter to a connection
// string in URL or key=value form.
func withSearchPath(tb testing.TB, base, schema string) string {
	if strings.HasPrefix(base, "postgres://") || strings.HasPrefix(base, "postgresql://") {
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("testservices: PROCORESYNC_TEST_POSTGRES is not a valid URL")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return base + " search_path=" + schema
}

// redactURL hides the password of a URL-form connection string.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if strings.Contains(s, "password") {
			return "(connection string with a password)"
		}
		return s
	}
	return u.Redacted()
}

// Redis is a place on the test Redis server: its address and a key prefix
// that belongs to one test.
type Redis struct {
	Addr   string
	Prefix string
}

// NewClient returns a new client of the test server (each call a separate
// connection pool, as separate workers have); it is closed when tb ends.
func (r Redis) NewClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr, DialTimeout: dialTimeout,
		ReadTimeout: dialTimeout, WriteTimeout: dialTimeout})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// NewRedis checks that the test Redis server answers and returns a key
// prefix of the test's own; every key under it is deleted when tb ends.
func NewRedis(tb testing.TB) Redis {
	tb.Helper()
	addr := os.Getenv("PROCORESYNC_TEST_REDIS")
	if addr == "" {
		addr = DefaultRedis
	}
	r := Redis{Addr: addr, Prefix: unique("test")}
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: dialTimeout,
		ReadTimeout: dialTimeout, WriteTimeout: dialTimeout, MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		unavailable(tb, "Redis", addr, "PROCORESYNC_TEST_REDIS", err)
		return r
	}
	tb.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, r.Prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("testservices: clean up Redis keys %s*: %v", r.Prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				tb.Errorf("testservices: clean up Redis keys %s*: %v", r.Prefix, err)
			}
		}
	})
	return r
}

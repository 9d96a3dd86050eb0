package testservices

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// outcome runs f as a test of its own and reports whether it passed and
// whether it went on past the call under test.
func outcome(f func(t *testing.T)) (passed, wentOn bool) {
	passed = testing.RunTests(func(pat, str string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: "inner", F: func(t *testing.T) { f(t); wentOn = true }}})
	return passed, wentOn
}

// TestUnreachable: a server that cannot be reached fails the test in CI
// and skips it elsewhere; either way the test does not go on.
func TestUnreachable(t *testing.T) {
	t.Setenv("PROCORESYNC_TEST_POSTGRES", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	t.Setenv("PROCORESYNC_TEST_REDIS", "127.0.0.1:1")
	calls := map[string]func(t *testing.T){
		"postgres": func(t *testing.T) { Postgres(t) },
		"redis":    func(t *testing.T) { NewRedis(t) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CI", "")
			passed, wentOn := outcome(call)
			if !passed || wentOn {
				t.Errorf("outside CI: passed=%v, went on=%v; want a skip", passed, wentOn)
			}
			t.Setenv("CI", "true")
			passed, wentOn = outcome(call)
			if passed || wentOn {
				t.Errorf("in CI: passed=%v, went on=%v; want a failure", passed, wentOn)
			}
		})
	}
}

// TestPostgresSchema: the connection string selects a new schema of the
// test's own, which is dropped when the test ends.
func TestPostgresSchema(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("use", func(t *testing.T) {
		conn := Postgres(t)
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if err := c.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatalf("no current schema: %v", err)
		}
		if _, err := c.Exec(ctx, `CREATE TABLE x (a int)`); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		return // skipped (outside CI) or failed
	}
	c, err := pgx.Connect(ctx, PostgresBase())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %s left behind (%d, %v)", schema, n, err)
	}
}

// TestRedisPrefix: the keys under the test's prefix are deleted when the
// test ends.
func TestRedisPrefix(t *testing.T) {
	ctx := context.Background()
	var r Redis
	t.Run("use", func(t *testing.T) {
		r = NewRedis(t)
		if err := r.NewClient(t).Set(ctx, r.Prefix+":k", "v", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if r.Prefix == "" || t.Failed() {
		return
	}
	c := r.NewClient(t)
	n, err := c.Exists(ctx, r.Prefix+":k").Result()
	if err != nil || n != 0 {
		t.Fatalf("key left behind (%d, %v)", n, err)
	}
}

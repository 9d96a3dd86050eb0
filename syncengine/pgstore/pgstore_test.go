package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/internal/testservices"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
	"github.com/procoresync/procoresync/syncengine/storetest"
)

// open opens a store on connString, closed when tb ends.
func open(tb testing.TB, connString string, opts ...pgstore.Option) *pgstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, connString, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL: one
// schema for the run (dropped after it), emptied before each subtest, which
// gets a new Store on it.
func TestConformance(t *testing.T) {
	conn := testservices.Postgres(t)
	ctx := context.Background()
	open(t, conn) // migrates
	admin, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer admin.Close(ctx)
	var tables []string
	rows, err := admin.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables
		WHERE schemaname = current_schema() AND tablename <> 'pgstore_schema'
		ORDER BY tablename = 'pairs'`) // items refer to pairs
	require.NoError(t, err)
	tables, err = pgx.AppendRows(tables, rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	// DELETE is cheaper than TRUNCATE on tables this small.
	empty := `DELETE FROM ` + strings.Join(tables, "; DELETE FROM ")
	storetest.Run(t, func(t *testing.T) syncengine.MetadataStore {
		_, err := admin.Exec(ctx, empty)
		require.NoError(t, err)
		return open(t, conn)
	})
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	conn := testservices.Postgres(t)
	s := open(t, conn)
	items := []syncengine.Item{{A: syncengine.SideState{ID: "1", Path: "a"}, B: syncengine.SideState{ID: "x", Path: "a"}}}
	require.NoError(t, s.PutItems(ctx, "p", items, nil))

	// Several workers opening the same schema at once migrate it once.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s2, err := pgstore.Open(ctx, conn)
			if err == nil {
				s2.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	db, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer db.Close(ctx)
	var n, v int
	require.NoError(t, db.QueryRow(ctx, `SELECT count(*), max(version) FROM pgstore_schema`).Scan(&n, &v))
	require.Equal(t, pgstore.SchemaVersion, n, "each migration recorded once")
	require.Equal(t, pgstore.SchemaVersion, v)
	it, err := open(t, conn).ItemByID(ctx, "p", syncengine.SideB, "x")
	require.NoError(t, err)
	require.Equal(t, items[0].Key, it.Key, "reopening keeps the data")

	// A schema written by a newer version is refused.
	_, err = db.Exec(ctx, `INSERT INTO pgstore_schema (version) VALUES ($1)`, pgstore.SchemaVersion+1)
	require.NoError(t, err)
	_, err = pgstore.Open(ctx, conn)
	require.ErrorIs(t, err, pgstore.ErrSchemaTooNew)
	var se *pgstore.SchemaError
	require.ErrorAs(t, err, &se)
	require.Equal(t, pgstore.SchemaVersion+1, se.Version)
	require.Equal(t, pgstore.SchemaVersion, se.Supported)
	require.Equal(t, s.Schema(), se.Schema)
}

// TestOpenErrorsHidePassword: no error of Open carries the password of the
// connection string, whatever goes wrong.
func TestOpenErrorsHidePassword(t *testing.T) {
	const pw = "s3cret-Pa55word"
	tests := []struct {
		name, conn string
	}{
		{"refused URL", "postgres://postgres:" + pw + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"},
		{"refused key=value", "host=127.0.0.1 port=1 user=postgres password=" + pw + " dbname=test sslmode=disable connect_timeout=2"},
		{"malformed URL", "postgres://postgres:" + pw + "@127.0.0.1:notaport/test"},
		{"malformed key=value", "host=127.0.0.1 password=" + pw + " port=x"},
		{"bad setting", "postgres://postgres:" + pw + "@127.0.0.1:5432/test?sslmode=bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := pgstore.Open(ctx, tc.conn)
			if s != nil {
				s.Close()
			}
			require.Error(t, err)
			require.NotContains(t, err.Error(), pw)
			require.NotContains(t, fmt.Sprintf("%+v", err), pw)
		})
	}
}

func TestOpenBadOptions(t *testing.T) {
	ctx := context.Background()
	for _, opt := range []pgstore.Option{pgstore.MaxConns(0), pgstore.ConnectTimeout(-1), pgstore.OpTimeout(0), pgstore.WithClock(nil)} {
		_, err := pgstore.Open(ctx, testservices.PostgresBase(), opt)
		require.ErrorIs(t, err, pgstore.ErrInvalidArgument)
	}
	_, err := pgstore.Open(ctx, "postgres://x/?search_path=no_such_schema_for_pgstore&sslmode=disable&host=127.0.0.1&user=postgres&dbname=test")
	require.Error(t, err, "a search_path naming no schema has nowhere to create the tables")
}

func TestPairIDMustBeText(t *testing.T) {
	s := open(t, testservices.Postgres(t))
	ctx := context.Background()
	for _, id := range []string{"nul\x00byte", "bad\xffutf8"} {
		require.ErrorIs(t, s.SavePair(ctx, id, syncengine.PairState{}), pgstore.ErrInvalidArgument)
		require.ErrorIs(t, s.PutItems(ctx, id, []syncengine.Item{{}}, nil), pgstore.ErrInvalidArgument)
	}
	// Every other string is bytes: NUL and invalid UTF-8 round-trip.
	odd := "x\x00\xff\xfe"
	it := syncengine.Item{A: syncengine.SideState{ID: odd, Path: odd, Hashes: storage.Hashes{storage.HashKind(odd): odd}}}
	items := []syncengine.Item{it}
	require.NoError(t, s.PutItems(ctx, "p", items, nil))
	got, err := s.ItemByPath(ctx, "p", syncengine.SideA, odd)
	require.NoError(t, err)
	require.Equal(t, odd, got.A.ID)
	require.Equal(t, odd, got.A.Hashes[storage.HashKind(odd)])
	require.NoError(t, s.AddError(ctx, syncengine.ErrorRecord{PairID: "p", Path: odd, Error: odd}))
	errs, err := s.Errors(ctx, "p", syncengine.Page{})
	require.NoError(t, err)
	require.Equal(t, odd, errs[0].Error)
}

// TestTwoInstancesNoLostUpdates: two stores on one database, many
// goroutines each, writing the same pairs at once. Every insert gets a Key
// of its own, no replacement or path move is lost, and every append is
// there.
func TestTwoInstancesNoLostUpdates(t *testing.T) {
	conn := testservices.Postgres(t)
	stores := []*pgstore.Store{open(t, conn), open(t, conn)}
	ctx := context.Background()
	const goroutines, rounds, batch = 6, 10, 20

	// Folders that every writer moves one file into, on both instances.
	var wg sync.WaitGroup
	errs := make(chan error, 2*goroutines)
	keys := make(chan int64, 2*goroutines*rounds*batch)
	for si, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				errs <- func() error {
					for r := range rounds {
						items := make([]syncengine.Item, batch)
						for i := range items {
							p := fmt.Sprintf("s%d/g%d/r%d/f%d", si, g, r, i)
							items[i] = syncengine.Item{A: syncengine.SideState{ID: "a" + p, Path: "old/" + p},
								B: syncengine.SideState{ID: "b" + p, Path: p, Version: "v1"}}
						}
						if err := s.PutItems(ctx, "shared", items, nil); err != nil {
							return err
						}
						for _, it := range items {
							keys <- it.Key
						}
						// Replace half of them, interleaved with others' writes.
						for i := 0; i < batch; i += 2 {
							items[i].B.Version = "v2"
						}
						if err := s.PutItems(ctx, "shared", items[:batch:batch], nil); err != nil {
							return err
						}
						if err := s.AddActivity(ctx, []syncengine.Activity{{PairID: "shared", Path: fmt.Sprint(si, g, r)}}); err != nil {
							return err
						}
						if err := s.RecordDeletes(ctx, "shared", time.Unix(1, 0), 1); err != nil {
							return err
						}
					}
					// Move this writer's subtree while the others write theirs.
					return s.MovePrefix(ctx, "shared", syncengine.SideA, fmt.Sprintf("old/s%d/g%d", si, g), fmt.Sprintf("new/s%d/g%d", si, g))
				}()
			})
		}
	}
	wg.Wait()
	close(errs)
	close(keys)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[int64]bool{}
	for k := range keys {
		require.False(t, seen[k], "Key %d handed out twice", k)
		seen[k] = true
	}
	total := 2 * goroutines * rounds * batch
	require.Len(t, seen, total)

	// Read through the other instance: everything is there, replaced and moved.
	n := 0
	for it, err := range stores[1].Items(ctx, "shared") {
		require.NoError(t, err)
		require.True(t, seen[it.Key])
		require.True(t, strings.HasPrefix(it.A.Path, "new/"), "move lost for %s", it.A.Path)
		require.Equal(t, "new/"+it.B.Path, it.A.Path)
		var i int
		_, err := fmt.Sscanf(it.B.Path[strings.LastIndex(it.B.Path, "/f")+2:], "%d", &i)
		require.NoError(t, err)
		want := "v1"
		if i%2 == 0 {
			want = "v2"
		}
		require.Equal(t, want, it.B.Version, "replacement of %s", it.B.Path)
		n++
	}
	require.Equal(t, total, n)
	acts, err := stores[0].Activity(ctx, "shared", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, acts, 2*goroutines*rounds)
	d, err := stores[1].DeletesSince(ctx, "shared", time.Time{})
	require.NoError(t, err)
	require.Equal(t, 2*goroutines*rounds, d)
}

// TestReadersSeeWholeBatches: while one instance replaces a whole baseline
// batch again and again (and fails every other attempt half-way), readers
// on another instance always see every item at the same version: never
// half of a batch, never a batch that failed.
func TestReadersSeeWholeBatches(t *testing.T) {
	conn := testservices.Postgres(t)
	w, r := open(t, conn), open(t, conn)
	ctx := context.Background()
	const n = 200
	items := make([]syncengine.Item, n)
	for i := range items {
		items[i] = syncengine.Item{A: syncengine.SideState{ID: fmt.Sprint("a", i), Path: fmt.Sprint("f", i), Version: "0"},
			B: syncengine.SideState{ID: fmt.Sprint("b", i), Path: fmt.Sprint("f", i), Version: "0"}}
	}
	require.NoError(t, w.PutItems(ctx, "p", items, nil))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr error
	var reads int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			versions := map[string]int{}
			count := 0
			err := r.ScanBaseline(ctx, "p", func(row *syncengine.BaselineRow) error {
				versions[string(row.A.Version)+"/"+string(row.B.Version)]++
				count++
				return nil
			})
			if err == nil && (len(versions) != 1 || count != n) {
				err = fmt.Errorf("read %d items with versions %v: a partial batch", count, versions)
			}
			if err != nil {
				readErr = err
				return
			}
			reads++
		}
	})
	for v := 1; v <= 40; v++ {
		batch := make([]syncengine.Item, n)
		copy(batch, items)
		for i := range batch {
			batch[i].A.Version, batch[i].B.Version = fmt.Sprint(v), fmt.Sprint(v)
		}
		if v%2 == 0 {
			// A replacement of a Key the pair does not have, at the end:
			// everything before it must be rolled back.
			bad := batch[0]
			bad.Key = 1 << 60
			require.ErrorIs(t, w.PutItems(ctx, "p", append(batch, bad), nil), syncengine.ErrNoItem)
			continue
		}
		require.NoError(t, w.PutItems(ctx, "p", batch, nil))
	}
	close(stop)
	wg.Wait()
	require.NoError(t, readErr)
	require.Positive(t, reads)
	got, err := r.ItemByID(ctx, "p", syncengine.SideA, "a7")
	require.NoError(t, err)
	require.Equal(t, "39", got.A.Version, "the last successful batch wins; failed ones left nothing")
}

// TestOpTimeout: a call that the server keeps waiting (here on a row lock
// another session holds) fails after OpTimeout instead of hanging.
func TestOpTimeout(t *testing.T) {
	conn := testservices.Postgres(t)
	s := open(t, conn, pgstore.OpTimeout(1500*time.Millisecond))
	ctx := context.Background()
	require.NoError(t, s.SavePair(ctx, "p", syncengine.PairState{CursorA: "1"}))
	other, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SELECT 1 FROM pairs WHERE pair_id = 'p' FOR UPDATE`)
	require.NoError(t, err)

	start := time.Now()
	err = s.SavePair(ctx, "p", syncengine.PairState{CursorA: "2"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 10*time.Second)
	require.NoError(t, tx.Rollback(ctx))
	// The store works on (a new connection replaces the one the timeout
	// closed; on a loaded machine that may take more than one try).
	require.Eventually(t, func() bool {
		return s.SavePair(ctx, "p", syncengine.PairState{CursorA: "2"}) == nil
	}, 20*time.Second, 10*time.Millisecond, "the store works on")
}

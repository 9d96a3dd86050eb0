// Package pgstore is a syncengine.MetadataStore on PostgreSQL, for several
// workers sharing one metadata database. It talks to the server through
// pgx (github.com/jackc/pgx/v5) and a connection pool.
//
// What a shared store adds to the embedded sqlitestore:
//
//   - Concurrent writers, in this process and in others. Every write method
//     is one transaction; item Keys come from a sequence, so writers never
//     hand out the same Key; read-modify-write steps are single statements
//     (MovePrefix rewrites paths on the server), so no update is lost.
//   - PutItems (inserts, replacements and deletions) and MovePrefix are
//     atomic: a reader, in any process, sees the baseline before or after,
//     never half of it.
//   - Leases (AcquirePair): one owner of a pair at a time, with a time to
//     live measured on the database server's clock, renewal, release, and
//     take-over once expired. Fenced returns a view of the store whose
//     writes check, inside their own transaction, that the lease is still
//     held: a worker that lost its pair (paused past its lease, cut off)
//     cannot overwrite the state of the worker that took it over.
//
// The schema lives in the connection's current schema (the first of its
// search_path), is versioned (table pgstore_schema) and migrated forward
// on Open, in one transaction under an advisory lock, so workers starting
// together migrate once. A schema written by a newer version of this
// package is refused with a *SchemaError.
//
// Times are stored as unix nanoseconds (the years 1678 to 2262; the zero
// time.Time as 0) and read back in UTC. IDs, paths, versions and messages
// are stored as bytes, so any Go string round-trips; pair IDs must be valid
// UTF-8 without NUL bytes (ErrInvalidArgument otherwise).
//
// Errors never carry the connection string's password: Open's errors name
// the server by host, port, database and user only.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/procoresync/procoresync/syncengine/internal/migrations"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/procoresync/procoresync/syncengine"
)

// ErrSchemaTooNew is matched (errors.Is) by the *SchemaError that Open
// returns for a database written by a newer version of this package.
var ErrSchemaTooNew = errors.New("pgstore: database schema is newer than this version supports")

// ErrInvalidArgument is matched (errors.Is) by the errors that methods
// return for input they cannot store: an empty or non-UTF-8 pair ID, an
// unknown side, a negative count, a time outside the storable range, a
// malformed connection string, and the like.
var ErrInvalidArgument = errors.New("pgstore: invalid argument")

// SchemaError reports that a database's schema version is newer than the
// newest one this package knows. It matches ErrSchemaTooNew.
type SchemaError struct {
	Schema    string // the PostgreSQL schema holding the tables
	Version   int    // the database's schema version
	Supported int    // the newest version this package supports
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("pgstore: schema %q has version %d, newer than the supported %d: upgrade procoresync",
		e.Schema, e.Version, e.Supported)
}

// Is reports whether target is ErrSchemaTooNew.
func (e *SchemaError) Is(target error) bool { return target == ErrSchemaTooNew }

// invalid returns an error matching ErrInvalidArgument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one schema step.
type migration = migrations.Migration

// loadMigrations reads the embedded migrations in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) { return migrations.Load(fsys, "pgstore") }

// SchemaVersion is the schema version this package writes and reads.
var SchemaVersion = func() int {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		panic(err) // the embedded files are part of the build; a bad name is a programming error
	}
	return len(ms)
}()

// options are the settings Open takes.
type options struct {
	opTimeout      time.Duration
	maxConns       int32
	connectTimeout time.Duration
	clock          syncengine.Clock
}

// Option tunes Open.
type Option func(*options)

// MaxConns bounds the connection pool (default 16, unless the connection
// string sets pool_max_conns). Each running iteration of Items or
// ItemsUnder, and each ScanBaseline, holds a connection until it ends, so
// a bound smaller than the number of nested iterations would deadlock.
func MaxConns(n int) Option { return func(o *options) { o.maxConns = int32(min(n, math.MaxInt32)) } }

// OpTimeout bounds each call that is not an iteration (default 1 min), on
// top of its context's own deadline: a server or network that stops
// answering fails the call with context.DeadlineExceeded instead of
// hanging it. Items, ItemsUnder and ScanBaseline run as long as their
// caller iterates, bounded by the caller's context only.
func OpTimeout(d time.Duration) Option { return func(o *options) { o.opTimeout = d } }

// ConnectTimeout bounds each attempt to connect to the server (default
// 10 s, unless the connection string sets connect_timeout).
func ConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithClock sets the clock that stamps the Ended time of journal records in
// EndAction (default: the system clock). Leases never use it: their times
// are the database server's.
func WithClock(c syncengine.Clock) Option { return func(o *options) { o.clock = c } }

// Store is a syncengine.MetadataStore on a PostgreSQL database. Its methods
// are safe for concurrent use, and any number of Stores, in any number of
// processes, may share one database.
type Store struct {
	*shared
	// fence, when set, is the lease every write checks (see Fenced).
	fence *Lease
}

// shared is what a Store and its fenced views share.
type shared struct {
	pool   *pgxpool.Pool
	schema string
	clock  syncengine.Clock
	pids   sync.Map // pair ID → pairs.pid, only for committed rows

	opTimeout time.Duration
}

// bounded returns ctx limited to the store's OpTimeout.
func (s *shared) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opTimeout)
}

var _ syncengine.MetadataStore = (*Store)(nil)

// Open connects to the database that connString names (a PostgreSQL URL
// or key=value string, as pgx and libpq take them; run-time parameters
// such as search_path are passed to the server) and migrates its schema to
// the current version. The connection is checked before Open returns.
// Errors never contain the password.
func Open(ctx context.Context, connString string, opts ...Option) (*Store, error) {
	o := options{opTimeout: time.Minute, maxConns: 16, connectTimeout: 10 * time.Second, clock: syncengine.SystemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxConns <= 0 || o.connectTimeout <= 0 || o.opTimeout <= 0 || o.clock == nil {
		return nil, invalid("non-positive option or nil clock")
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, invalid("connection string: %s", redactString(err.Error(), connString))
	}
	red := redactor{secret: cfg.ConnConfig.Password}
	if !strings.Contains(connString, "pool_max_conns") {
		cfg.MaxConns = o.maxConns
	}
	if !strings.Contains(connString, "connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
	}
	where := fmt.Sprintf("%s:%d/%s as %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, red.wrap(fmt.Errorf("pgstore: open %s: %w", where, err))
	}
	s := &Store{shared: &shared{pool: pool, clock: o.clock, opTimeout: o.opTimeout}}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, red.wrap(fmt.Errorf("pgstore: open %s: %w", where, err))
	}
	return s, nil
}

// redactor removes a password from error messages.
type redactor struct{ secret string }

// wrap returns err, or, when its message holds the secret, an error with
// the secret replaced whose chain keeps only errors.Is targets that carry
// no message of their own (context errors and ours).
func (r redactor) wrap(err error) error {
	if err == nil || r.secret == "" || !strings.Contains(err.Error(), r.secret) {
		return err
	}
	return &redactedError{msg: redactString(err.Error(), r.secret), err: err}
}

// redactedError is an error whose message had a secret removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets errors.Is see through to the sentinel errors the original
// matched, without exposing the original's message.
func (e *redactedError) Is(target error) bool {
	switch target {
	case context.Canceled, context.DeadlineExceeded, ErrInvalidArgument, ErrSchemaTooNew:
		return errors.Is(e.err, target)
	}
	return false
}

// redactString replaces every occurrence of secret in s.
func redactString(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "xxxxx")
}

// advisoryKey names the advisory lock that serializes migrations of one
// schema.
const advisoryKey = "procoresync.pgstore.migrate."

// migrate brings the schema to SchemaVersion in one transaction, under an
// advisory lock that other workers' migrations of the same schema wait for.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&s.schema); err != nil {
		return fmt.Errorf("no current schema (search_path names none that exists): %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, advisoryKey+s.schema); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS pgstore_schema (
		version integer NOT NULL, applied timestamptz NOT NULL DEFAULT clock_timestamp())`); err != nil {
		return err
	}
	var v int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM pgstore_schema`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(ms) {
		return &SchemaError{Schema: s.schema, Version: v, Supported: len(ms)}
	}
	for _, m := range ms[v:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pgstore_schema (version) VALUES ($1)`, m.Version); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	return nil
}

// Close closes the store's connection pool (the one its fenced views
// share). Iterations still running fail. Closing twice is not an error.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Schema returns the PostgreSQL schema that holds the store's tables.
func (s *Store) Schema() string { return s.schema }

// write runs fn in a transaction, with ctx limited to OpTimeout, and
// commits it. On a fenced Store, the transaction first checks the lease
// and keeps a share lock on it until the commit, so the lease cannot be
// taken over in between.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(err)
	}
	defer tx.Rollback(context.Background())
	if l := s.fence; l != nil {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM pair_leases WHERE pair_id = $1 AND owner = $2 AND token = $3
			FOR SHARE`, l.PairID, l.Owner, l.Token).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return l.lost()
		}
		if err != nil {
			return wrap(err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		return wrap(err)
	}
	return wrap(tx.Commit(ctx))
}

// wrap prefixes err with the package name unless it is one of ours or a
// context error.
func wrap(err error) error {
	if err == nil || errors.Is(err, ErrInvalidArgument) || errors.Is(err, syncengine.ErrNoItem) ||
		errors.Is(err, ErrLeaseLost) || errors.Is(err, ErrPairLeased) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22021" { // character_not_in_repertoire
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return fmt.Errorf("pgstore: %w", err)
}

// Storable time range: what fits in int64 unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanos converts t to unix nanoseconds (the zero time to 0).
func nanos(t time.Time, what string) (int64, error) {
	switch {
	case t.IsZero():
		return 0, nil
	case t.Before(minTime) || t.After(maxTime):
		return 0, invalid("%s %s outside the storable range (years 1678 to 2262)", what, t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// bound converts a query's lower time bound to unix nanoseconds, clamped
// into the storable range; the zero time is the smallest bound.
func bound(t time.Time) int64 {
	if t.IsZero() || t.Before(minTime) {
		return math.MinInt64
	}
	if t.After(maxTime) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos converts unix nanoseconds back to a UTC time (0 to the zero
// time).
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// checkPair rejects pair IDs that text columns cannot hold.
func checkPair(pairID string) error {
	switch {
	case pairID == "":
		return invalid("empty pair ID")
	case !utf8.ValidString(pairID) || strings.IndexByte(pairID, 0) >= 0:
		return invalid("pair ID %q is not UTF-8 text without NUL bytes", pairID)
	}
	return nil
}

// checkSide rejects a side other than A and B.
func checkSide(s syncengine.Side) error {
	if s != syncengine.SideA && s != syncengine.SideB {
		return invalid("unknown side %d", s)
	}
	return nil
}

// bstr is a string stored as bytea: any bytes round-trip.
type bstr string

// BytesValue encodes the string as bytea.
func (b bstr) BytesValue() ([]byte, error) { return []byte(b), nil }

// ScanBytes decodes a bytea into the string.
func (b *bstr) ScanBytes(v []byte) error {
	*b = bstr(v)
	return nil
}

// str returns a scan destination that stores a bytea column in *s.
func str(s *string) *bstr { return (*bstr)(s) }

// LoadPair returns the pair's state, the zero PairState for a pair the store
// has not seen.
func (s *Store) LoadPair(ctx context.Context, pairID string) (syncengine.PairState, error) {
	var st syncengine.PairState
	if err := checkPair(pairID); err != nil {
		return st, err
	}
	var lastRun, lastSuccess int64
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	err := s.pool.QueryRow(ctx, `SELECT initialized, paused, pause_reason, cursor_a, cursor_b,
		root_a, root_b, last_run, last_success FROM pairs WHERE pair_id = $1`, pairID).Scan(
		&st.Initialized, &st.Paused, str(&st.PauseReason), str(&st.CursorA), str(&st.CursorB),
		str(&st.RootA), str(&st.RootB), &lastRun, &lastSuccess)
	if errors.Is(err, pgx.ErrNoRows) {
		return syncengine.PairState{}, nil
	}
	if err != nil {
		return syncengine.PairState{}, wrap(err)
	}
	st.LastRun, st.LastSuccess = fromNanos(lastRun), fromNanos(lastSuccess)
	return st, nil
}

// SavePair replaces the pair's state.
func (s *Store) SavePair(ctx context.Context, pairID string, st syncengine.PairState) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	lastRun, err := nanos(st.LastRun, "LastRun")
	if err != nil {
		return err
	}
	lastSuccess, err := nanos(st.LastSuccess, "LastSuccess")
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO pairs (pair_id, initialized, paused, pause_reason,
			cursor_a, cursor_b, root_a, root_b, last_run, last_success) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
			ON CONFLICT (pair_id) DO UPDATE SET initialized = excluded.initialized,
			paused = excluded.paused, pause_reason = excluded.pause_reason,
			cursor_a = excluded.cursor_a, cursor_b = excluded.cursor_b, root_a = excluded.root_a,
			root_b = excluded.root_b, last_run = excluded.last_run, last_success = excluded.last_success`,
			pairID, st.Initialized, st.Paused, bstr(st.PauseReason), bstr(st.CursorA), bstr(st.CursorB),
			bstr(st.RootA), bstr(st.RootB), lastRun, lastSuccess)
		return err
	})
}

// readPID returns the internal number of the pair, and false when the store
// has no row for it (then the pair has no items).
func (s *Store) readPID(ctx context.Context, pairID string) (int64, bool, error) {
	if err := checkPair(pairID); err != nil {
		return 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if v, ok := s.pids.Load(pairID); ok {
		return v.(int64), true, nil
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var pid int64
	err := s.pool.QueryRow(ctx, `SELECT pid FROM pairs WHERE pair_id = $1`, pairID).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap(err)
	}
	s.pids.Store(pairID, pid) // committed: pairs rows are never deleted
	return pid, true, nil
}

// writePID returns the internal number of the pair inside transaction tx,
// creating the pair's row if needed. The caller caches it after commit.
func (s *Store) writePID(ctx context.Context, tx pgx.Tx, pairID string) (int64, error) {
	if v, ok := s.pids.Load(pairID); ok {
		return v.(int64), nil
	}
	// DO NOTHING waits for a concurrent insert of the same pair to end;
	// the SELECT (a new snapshot under READ COMMITTED) then sees its row.
	if _, err := tx.Exec(ctx, `INSERT INTO pairs (pair_id) VALUES ($1) ON CONFLICT (pair_id) DO NOTHING`, pairID); err != nil {
		return 0, err
	}
	var pid int64
	err := tx.QueryRow(ctx, `SELECT pid FROM pairs WHERE pair_id = $1`, pairID).Scan(&pid)
	return pid, err
}

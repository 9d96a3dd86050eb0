// Package sqlitestore is the embedded default syncengine.MetadataStore: one
// SQLite file, written through modernc.org/sqlite (pure Go, no cgo).
//
// The database runs in WAL mode with foreign keys on. Writes go through a
// single connection that starts its transactions with BEGIN IMMEDIATE, so
// writers inside one process never meet SQLITE_BUSY; reads use a separate
// pool of read-only connections and see the latest committed state without
// blocking the writer. By default the file is synced on every commit
// (synchronous=FULL), so that "what was synced" survives a power loss; the
// SynchronousNormal option trades that for faster commits.
//
// The file is created readable by its owner only (0600), and so are its
// -wal and -shm files (an existing file loses the permissions of others);
// deleted rows are overwritten with zeros
// (secure_delete), so that an upload URL, a bearer credential, is gone from
// the file once its row is. A lock file next to the database ("<path>.lock",
// holding the holder's PID) is held while the Store is open: a second Open
// of the same file, in this process or another, fails with a *LockedError.
// A folder next to it ("<path>.index", readable by its owner only) keeps
// the baseline index of each large pair between runs
// (syncengine.BaselineIndexCache): a cache, tied to the state of the
// pair's baseline, that can be deleted at any time.
//
// The schema is versioned (PRAGMA user_version) and migrated forward on
// Open, in one transaction. A database written by a newer version of this
// package is refused with a *SchemaError.
//
// Times are stored as unix nanoseconds, the zero time.Time as 0, so times
// must lie between the years 1678 and 2262 (a Unix time of exactly 0,
// 1970-01-01T00:00:00Z, reads back as the zero time). Times read back are
// in UTC.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/syncengine/internal/migrations"

	"github.com/procoresync/procoresync/syncengine"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ErrSchemaTooNew is matched (errors.Is) by the *SchemaError that Open
// returns for a database written by a newer version of this package.
var ErrSchemaTooNew = errors.New("sqlitestore: database schema is newer than this version supports")

// ErrInvalidArgument is matched (errors.Is) by the errors that methods return
// for input they cannot store: an empty pair ID, an unknown side, a negative
// count, a time outside the storable range, and the like.
var ErrInvalidArgument = errors.New("sqlitestore: invalid argument")

// SchemaError reports that a database's schema version is newer than the
// newest one this package knows. It matches ErrSchemaTooNew.
type SchemaError struct {
	Path      string // the database file
	Version   int    // the database's schema version
	Supported int    // the newest version this package supports
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("sqlitestore: %s has schema version %d, newer than the supported %d: upgrade procoresync",
		e.Path, e.Version, e.Supported)
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
func loadMigrations(fsys fs.FS) ([]migration, error) { return migrations.Load(fsys, "sqlitestore") }

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
	syncNormal  bool
	busyTimeout time.Duration
	cacheKiB    int
	readConns   int
	mmapBytes   int64
	clock       syncengine.Clock
}

// Option tunes Open.
type Option func(*options)

// SynchronousNormal makes commits faster by not syncing the file on every
// commit (PRAGMA synchronous=NORMAL). The database stays consistent after a
// crash, but a power loss may drop the latest commits. The default is FULL.
func SynchronousNormal() Option { return func(o *options) { o.syncNormal = true } }

// BusyTimeout sets how long a connection waits for a lock held by another
// process before giving up (default 10 s).
func BusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// CacheSize sets the page cache of each connection in KiB (default 16 MiB
// for the writer and a quarter of that for each reader).
func CacheSize(kib int) Option { return func(o *options) { o.cacheKiB = kib } }

// MmapSize sets how much of the file read connections access through
// memory-mapped I/O (PRAGMA mmap_size; default 1 GiB; 0 turns it off).
// Mapping saves a system call and a copy per page read when streaming large
// baselines.
func MmapSize(bytes int64) Option { return func(o *options) { o.mmapBytes = bytes } }

// MaxReadConns bounds the pool of read connections (default 0: unbounded).
// Each iteration of Items or ItemsUnder, and each ScanBaseline, holds one
// until it ends, so a bound smaller than the number of nested iterations
// would deadlock.
func MaxReadConns(n int) Option { return func(o *options) { o.readConns = n } }

// WithClock sets the clock that stamps the Ended time of journal records in
// EndAction (default: the system clock).
func WithClock(c syncengine.Clock) Option { return func(o *options) { o.clock = c } }

// Store is a syncengine.MetadataStore on one SQLite file. Its methods are
// safe for concurrent use.
type Store struct {
	path  string
	abs   string // the absolute path of the database file
	clock syncengine.Clock
	w     *sql.DB // the single write connection
	r     *sql.DB // read-only connections

	syncNormal bool // opened with SynchronousNormal
	// fullSync is the write connection's current synchronous mode (FULL
	// or NORMAL); only the holder of the write connection touches it.
	fullSync bool

	pids sync.Map // pair ID → pairs.pid, only for committed rows
	lock *storeLock

	closeOnce sync.Once
	closeErr  error
}

var (
	_ syncengine.MetadataStore        = (*Store)(nil)
	_ syncengine.ActionJournalBatcher = (*Store)(nil)
	_ syncengine.BaselineRangeScanner = (*Store)(nil)
	_ syncengine.BaselineIndexCache   = (*Store)(nil)
)

// dsn builds the connection string for the file at abs.
func dsn(abs string, o *options, readOnly bool) string {
	// SQLite URI filenames: escape the characters that would end the path.
	p := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.ToSlash(abs))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters: file:/C:/…
	}
	syncMode := "FULL"
	if o.syncNormal {
		syncMode = "NORMAL"
	}
	cache := o.cacheKiB
	if readOnly {
		cache /= 4
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	// Deleted content (an upload URL is a bearer credential) is
	// overwritten with zeros instead of lingering in free space.
	q.Add("_pragma", "secure_delete(1)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cache))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", o.mmapBytes))
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + p + "?" + q.Encode()
}

// Open opens (creating it if needed, readable by its owner only) the store
// in the SQLite file at path and migrates its schema to the current version.
// ":memory:" and empty paths are refused: the store needs a file that its
// read and write connections share. While another Store has the file open,
// Open fails with a *LockedError (matching ErrLocked) naming the holder's
// PID.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{busyTimeout: 10 * time.Second, cacheKiB: 16 << 10, mmapBytes: 1 << 30, clock: syncengine.SystemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, invalid("path %q: need a plain file path", path)
	}
	if o.busyTimeout < 0 || o.cacheKiB < 0 || o.readConns < 0 || o.mmapBytes < 0 || o.clock == nil {
		return nil, invalid("negative option or nil clock")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	lock, err := acquireLock(path, abs)
	if err != nil {
		return nil, err
	}
	st, err := open(path, abs, &o)
	if err != nil {
		lock.release()
		return nil, err
	}
	st.lock = lock
	st.removeIndexLeftovers()
	return st, nil
}

// open opens the connections of the store at abs; the caller holds its lock.
func open(path, abs string, o *options) (*Store, error) {
	if err := createPrivate(abs); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", dsn(abs, o, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(w, path); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(abs, o, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(o.readConns)
	r.SetMaxIdleConns(4)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return &Store{path: path, abs: abs, clock: o.clock, w: w, r: r, syncNormal: o.syncNormal, fullSync: !o.syncNormal}, nil
}

// migrate brings the database to SchemaVersion in one transaction.
func migrate(w *sql.DB, path string) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	ctx := context.Background()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlitestore: open %s: read schema version: %w", path, err)
	}
	if v > len(ms) {
		return &SchemaError{Path: path, Version: v, Supported: len(ms)}
	}
	if v == len(ms) {
		return nil
	}
	for _, m := range ms[v:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlitestore: %s: migration %s: %w", path, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.Version)); err != nil {
			return fmt.Errorf("sqlitestore: %s: migration %s: %w", path, m.Name, err)
		}
	}
	// A migration may change what the items hold: every pair's baseline
	// gets a new token, so that no index saved before is used after.
	if _, err := tx.ExecContext(ctx, `UPDATE pairs SET baseline_token = random()`); err != nil {
		return fmt.Errorf("sqlitestore: %s: migrations: %w", path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: %s: commit migrations: %w", path, err)
	}
	return nil
}

// Close closes the store's connections and releases its lock. Iterations
// still running fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.r.Close(), s.w.Close(), s.lock.release())
	})
	return s.closeErr
}

// Path returns the file the store was opened on.
func (s *Store) Path() string { return s.path }

// write runs fn in an immediate write transaction and commits it. The
// commit is synced to disk (synchronous=FULL, unless the store was opened
// with SynchronousNormal) except when ctx carries
// syncengine.WithDeferredDurability: then it is committed with
// synchronous=NORMAL, and becomes durable with the next synced commit (the
// WAL is one file written in order, so syncing it at a commit makes every
// earlier commit durable too). A process crash loses neither kind.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return wrap(err)
	}
	defer conn.Close()
	full := !s.syncNormal && !syncengine.DeferredDurability(ctx)
	if full != s.fullSync {
		// The single write connection is held: no other commit runs.
		mode := "NORMAL"
		if full {
			mode = "FULL"
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
			return wrap(err)
		}
		s.fullSync = full
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return wrap(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return wrap(err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(err)
	}
	return nil
}

// wrap prefixes err with the package name unless it is one of ours.
func wrap(err error) error {
	if err == nil || errors.Is(err, ErrInvalidArgument) || errors.Is(err, syncengine.ErrNoItem) {
		return err
	}
	return fmt.Errorf("sqlitestore: %w", err)
}

// Storable time range: what fits in int64 unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// enc converts t to unix nanoseconds (the zero time to 0).
func enc(t time.Time, what string) (int64, error) {
	if t.IsZero() {
		return 0, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, invalid("%s %s outside the storable range (years 1678 to 2262)", what, t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// clampNanos converts a query bound to unix nanoseconds, clamping it into
// the storable range; the zero time is the smallest bound.
func clampNanos(t time.Time) int64 {
	switch {
	case t.IsZero(), t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// dec converts unix nanoseconds back to a UTC time (0 to the zero time).
func dec(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// checkPair rejects an empty pair ID.
func checkPair(pairID string) error {
	if pairID == "" {
		return invalid("empty pair ID")
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

// b2i converts a bool to 0 or 1.
func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// LoadPair returns the pair's state, the zero PairState for a pair the store
// has not seen.
func (s *Store) LoadPair(ctx context.Context, pairID string) (syncengine.PairState, error) {
	var st syncengine.PairState
	if err := checkPair(pairID); err != nil {
		return st, err
	}
	var lastRun, lastSuccess int64
	err := s.r.QueryRowContext(ctx, `SELECT initialized, paused, pause_reason, cursor_a, cursor_b,
		root_a, root_b, last_run, last_success FROM pairs WHERE pair_id = ?`, pairID).Scan(
		&st.Initialized, &st.Paused, &st.PauseReason, &st.CursorA, &st.CursorB,
		&st.RootA, &st.RootB, &lastRun, &lastSuccess)
	if errors.Is(err, sql.ErrNoRows) {
		return syncengine.PairState{}, nil
	}
	if err != nil {
		return syncengine.PairState{}, wrap(err)
	}
	st.LastRun, st.LastSuccess = dec(lastRun), dec(lastSuccess)
	return st, nil
}

// SavePair replaces the pair's state.
func (s *Store) SavePair(ctx context.Context, pairID string, st syncengine.PairState) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	lastRun, err := enc(st.LastRun, "LastRun")
	if err != nil {
		return err
	}
	lastSuccess, err := enc(st.LastSuccess, "LastSuccess")
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pairs (pair_id, initialized, paused, pause_reason,
			cursor_a, cursor_b, root_a, root_b, last_run, last_success) VALUES (?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (pair_id) DO UPDATE SET initialized = excluded.initialized,
			paused = excluded.paused, pause_reason = excluded.pause_reason,
			cursor_a = excluded.cursor_a, cursor_b = excluded.cursor_b, root_a = excluded.root_a,
			root_b = excluded.root_b, last_run = excluded.last_run, last_success = excluded.last_success`,
			pairID, b2i(st.Initialized), b2i(st.Paused), st.PauseReason, st.CursorA, st.CursorB,
			st.RootA, st.RootB, lastRun, lastSuccess)
		return err
	})
}

// readPID returns the internal number of the pair, and false when the store
// has no row for it (then the pair has no items).
func (s *Store) readPID(ctx context.Context, pairID string) (int64, bool, error) {
	if err := checkPair(pairID); err != nil {
		return 0, false, err
	}
	if v, ok := s.pids.Load(pairID); ok {
		return v.(int64), true, nil
	}
	var pid int64
	err := s.r.QueryRowContext(ctx, `SELECT pid FROM pairs WHERE pair_id = ?`, pairID).Scan(&pid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap(err)
	}
	s.pids.Store(pairID, pid) // committed: a reader sees only committed rows
	return pid, true, nil
}

// writePID returns the internal number of the pair inside write transaction
// tx, creating the pair's row if needed. The caller caches it after commit.
func (s *Store) writePID(ctx context.Context, tx *sql.Tx, pairID string) (int64, error) {
	if v, ok := s.pids.Load(pairID); ok {
		return v.(int64), nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pairs (pair_id) VALUES (?) ON CONFLICT (pair_id) DO NOTHING`, pairID); err != nil {
		return 0, err
	}
	var pid int64
	err := tx.QueryRowContext(ctx, `SELECT pid FROM pairs WHERE pair_id = ?`, pairID).Scan(&pid)
	return pid, err
}

// ForgetPair deletes everything the store keeps for the pair, in one
// transaction (syncengine.PairForgetter; Engine.RemovePair with
// RemoveOptions.ForgetState).
func (s *Store) ForgetPair(ctx context.Context, pairID string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	pid, known, err := s.readPID(ctx, pairID)
	if err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE pair IN (SELECT pid FROM pairs WHERE pair_id = ?)`, pairID); err != nil {
			return err
		}
		for _, table := range []string{"journal", "uploads", "runs", "activity", "errors", "failures", "delete_ledger", "held_deletes", "stop_counts"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE pair = ?`, pairID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM pairs WHERE pair_id = ?`, pairID)
		return err
	})
	s.pids.Delete(pairID)
	if err == nil && known {
		err = s.removeIndex(pid)
	}
	return err
}

package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
	"github.com/procoresync/procoresync/syncengine/storetest"
)

// openTemp opens a store in a new temporary directory.
func openTemp(t testing.TB, opts ...sqlitestore.Option) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "meta.db"), opts...)
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) syncengine.MetadataStore { return openTemp(t) })
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	items := []syncengine.Item{{A: syncengine.SideState{ID: "1", Path: "a"}, B: syncengine.SideState{ID: "x", Path: "a"}}}
	require.NoError(t, s.PutItems(ctx, "p", items, nil))
	require.NoError(t, s.SavePair(ctx, "p", syncengine.PairState{Initialized: true, CursorA: "c"}))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")

	for range 2 { // reopening is idempotent
		s, err = sqlitestore.Open(path, sqlitestore.SynchronousNormal())
		require.NoError(t, err)
		st, err := s.LoadPair(ctx, "p")
		require.NoError(t, err)
		require.Equal(t, syncengine.PairState{Initialized: true, CursorA: "c"}, st)
		it, err := s.ItemByID(ctx, "p", syncengine.SideB, "x")
		require.NoError(t, err)
		require.Equal(t, items[0].Key, it.Key)
		more := []syncengine.Item{{A: syncengine.SideState{ID: "2", Path: "b"}}}
		require.NoError(t, s.PutItems(ctx, "p", more, nil))
		require.Greater(t, more[0].Key, items[0].Key, "keys keep increasing across reopen")
		require.NoError(t, s.Close())
	}
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var v int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
	require.Equal(t, sqlitestore.SchemaVersion, v)
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(fmt.Sprintf("PRAGMA user_version = %d", sqlitestore.SchemaVersion+1))
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = sqlitestore.Open(path)
	require.ErrorIs(t, err, sqlitestore.ErrSchemaTooNew)
	var se *sqlitestore.SchemaError
	require.ErrorAs(t, err, &se)
	require.Equal(t, sqlitestore.SchemaVersion+1, se.Version)
	require.Equal(t, sqlitestore.SchemaVersion, se.Supported)
	require.Contains(t, err.Error(), "newer")
}

func TestOpenBadInput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts []sqlitestore.Option
	}{
		{"empty path", "", nil},
		{"memory", ":memory:", nil},
		{"URI", "file:x.db", nil},
		{"negative busy timeout", filepath.Join(dir, "a.db"), []sqlitestore.Option{sqlitestore.BusyTimeout(-1)}},
		{"negative mmap", filepath.Join(dir, "b.db"), []sqlitestore.Option{sqlitestore.MmapSize(-1)}},
		{"nil clock", filepath.Join(dir, "c.db"), []sqlitestore.Option{sqlitestore.WithClock(nil)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlitestore.Open(tc.path, tc.opts...)
			require.ErrorIs(t, err, sqlitestore.ErrInvalidArgument)
		})
	}
	_, err := sqlitestore.Open(filepath.Join(dir, "missing-dir", "x.db"))
	require.Error(t, err)
}

func TestOddPathsAndOptions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "with %41 ?query #frag")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	s, err := sqlitestore.Open(filepath.Join(dir, "m?.db"), sqlitestore.CacheSize(1024), sqlitestore.MaxReadConns(4),
		sqlitestore.MmapSize(0), sqlitestore.BusyTimeout(time.Second))
	require.NoError(t, err)
	require.NoError(t, s.SavePair(context.Background(), "p", syncengine.PairState{CursorA: "x"}))
	require.NoError(t, s.Close())
	_, err = os.Stat(filepath.Join(dir, "m?.db"))
	require.NoError(t, err, "the file is created at the path given")
}

func TestTimesOutOfRange(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	old := time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	items := []syncengine.Item{{A: syncengine.SideState{ID: "1", ModTime: old}}}
	require.ErrorIs(t, s.PutItems(ctx, "p", items, nil), sqlitestore.ErrInvalidArgument)
	require.Zero(t, items[0].Key)
	require.ErrorIs(t, s.SavePair(ctx, "p", syncengine.PairState{LastRun: old}), sqlitestore.ErrInvalidArgument)
	n, err := s.CountItems(ctx, "p")
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestClockStampsEndAction(t *testing.T) {
	// EndAction's time is only visible to SQL; this checks the option is
	// accepted and EndAction works with it.
	s := openTemp(t, sqlitestore.WithClock(syncengine.SystemClock{}))
	defer s.Close()
	ctx := context.Background()
	id, err := s.BeginAction(ctx, syncengine.JournalRecord{PairID: "p"})
	require.NoError(t, err)
	require.NoError(t, s.EndAction(ctx, id, syncengine.JournalDone, ""))
	require.ErrorIs(t, s.EndAction(ctx, id, syncengine.JournalState(9), ""), sqlitestore.ErrInvalidArgument)
}

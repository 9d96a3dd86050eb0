package sqlitestore_test

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// A store made by schema version 1 (before held deletions kept their
// version and runs what they left undone) opens and migrates in place,
// keeping its held deletions and runs, which then carry empty values for
// the new fields and can be given them.
func TestMigratesAVersion1Store(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	schema, err := os.ReadFile(filepath.Join("migrations", "0001_init.sql"))
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(string(schema))
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO held_deletes (pair, key, deleted_on, path, is_dir, size, held) VALUES ('p', 7, 0, 'f.txt', 0, 3, 1)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO runs (pair, initial, started, ended, status, error, files_copied, folders_made,
		moved, deleted, linked, conflicts, held, failed, bytes_copied, bytes_deleted, transfer_nanos)
		VALUES ('p', 0, 1, 2, 'succeeded', '', 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0)`)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 1")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	hs, err := s.HeldDeletes(ctx, "p")
	require.NoError(t, err)
	require.Len(t, hs, 1)
	require.Equal(t, int64(7), hs[0].Key)
	require.Empty(t, hs[0].Version)
	runs, err := s.Runs(ctx, "p", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, runs, 1)
	require.Equal(t, 1, runs[0].Counts.FilesCopied)
	require.Empty(t, runs[0].Undone)

	r := runs[0]
	r.Counts.Waiting, r.Undone = 2, "2 items wait"
	require.NoError(t, s.FinishRun(ctx, r))
	runs, err = s.Runs(ctx, "p", syncengine.Page{})
	require.NoError(t, err)
	require.Equal(t, 2, runs[0].Counts.Waiting)
	require.Equal(t, "2 items wait", runs[0].Undone)
}

// A store made by schema version 4 gets a baseline token for each pair
// when it migrates, and a saved baseline index is not used after any
// migration: what the items hold may have changed.
func TestMigrationVoidsSavedIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	for _, name := range []string{"0001_init.sql", "0002_held_version_run_undone.sql", "0003_activity_by_run.sql", "0004_audit.sql"} {
		schema, err := os.ReadFile(filepath.Join("migrations", name))
		require.NoError(t, err)
		_, err = db.Exec(string(schema))
		require.NoError(t, err, name)
	}
	_, err = db.Exec(`INSERT INTO pairs (pid, pair_id) VALUES (1, 'p')`)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 4")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := sqlitestore.Open(path)
	require.NoError(t, err)
	token, err := s.BaselineToken(ctx, "p")
	require.NoError(t, err)
	require.NotZero(t, token, "a pair of a migrated store has a token")
	require.NoError(t, s.SaveBaselineIndex(ctx, "p", token, func(w io.Writer) error {
		_, err := io.WriteString(w, "index")
		return err
	}))
	_, ok, err := s.LoadBaselineIndex(ctx, "p")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.Close())

	// Back to version 4, as if this version's migration had not run.
	db, err = sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`ALTER TABLE pairs DROP COLUMN baseline_token`)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 4")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err = sqlitestore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	_, ok, err = s.LoadBaselineIndex(ctx, "p")
	require.NoError(t, err)
	require.False(t, ok, "an index saved before a migration is used after it")
}

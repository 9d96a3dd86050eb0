package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// The baseline index cache (syncengine.BaselineIndexCache) keeps each
// pair's blob in a file of its own, "<database>.index/<pid>", readable by
// its owner only. The file starts with indexFileMagic and the baseline
// token it was saved for; the token itself lives in the pairs table and
// changes in every transaction that changes the pair's items, so a blob
// is handed out only while the baseline is in the state it was saved
// for. The files are written to a temporary name and renamed, without
// fsync: a blob lost or cut short by a crash is a missing or stale cache
// entry, which the engine detects (its own checksum) and rebuilds.
const indexFileMagic = "PSBT"

// newBaselineToken gives the pair's baseline a new random token inside
// write transaction tx (never 0, which stands for "no token").
func newBaselineToken(ctx context.Context, tx *sql.Tx, pid int64) error {
	t := rand.Uint64()
	for t == 0 {
		t = rand.Uint64()
	}
	_, err := tx.ExecContext(ctx, `UPDATE pairs SET baseline_token = ? WHERE pid = ?`, int64(t), pid)
	return err
}

// BaselineToken returns the token of the pair's current baseline state
// (syncengine.BaselineIndexCache): a new random value in every
// transaction that changes its items, 0 for a pair that has none or
// whose items did not change since this schema version.
func (s *Store) BaselineToken(ctx context.Context, pairID string) (uint64, error) {
	if err := checkPair(pairID); err != nil {
		return 0, err
	}
	var t int64
	err := s.r.QueryRowContext(ctx, `SELECT baseline_token FROM pairs WHERE pair_id = ?`, pairID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap(err)
	}
	return uint64(t), nil
}

// indexDir is the folder of the cached baseline indexes.
func (s *Store) indexDir() string { return s.abs + ".index" }

// indexFile is the file of the cached baseline index of pair pid.
func (s *Store) indexFile(pid int64) string {
	return filepath.Join(s.indexDir(), strconv.FormatInt(pid, 10))
}

// SaveBaselineIndex replaces the pair's cached index by what write writes,
// kept for baseline state token (syncengine.BaselineIndexCache). The
// file is replaced only when write and the file's writes succeed.
func (s *Store) SaveBaselineIndex(ctx context.Context, pairID string, token uint64, write func(io.Writer) error) error {
	if token == 0 {
		return invalid("baseline token 0 cannot be cached")
	}
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return err
	}
	if err := os.Mkdir(s.indexDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlitestore: baseline index: %w", err)
	}
	f, err := os.CreateTemp(s.indexDir(), ".tmp-*") // 0600
	if err != nil {
		return fmt.Errorf("sqlitestore: baseline index: %w", err)
	}
	tmp := f.Name()
	err = func() error {
		head := binary.LittleEndian.AppendUint64([]byte(indexFileMagic), token)
		if _, err := f.Write(head); err != nil {
			return err
		}
		if err := write(f); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return f.Close()
	}()
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlitestore: baseline index of %q: %w", pairID, err)
	}
	if err := os.Rename(tmp, s.indexFile(pid)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sqlitestore: baseline index of %q: %w", pairID, err)
	}
	return nil
}

// LoadBaselineIndex returns a reader of the pair's cached index if it was
// saved for the baseline's current token (syncengine.BaselineIndexCache);
// ok is false when there is none or the baseline changed since.
func (s *Store) LoadBaselineIndex(ctx context.Context, pairID string) (io.ReadCloser, bool, error) {
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return nil, false, err
	}
	token, err := s.BaselineToken(ctx, pairID)
	if err != nil || token == 0 {
		return nil, false, err
	}
	f, err := os.Open(s.indexFile(pid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlitestore: baseline index of %q: %w", pairID, err)
	}
	var head [len(indexFileMagic) + 8]byte
	if _, err := io.ReadFull(f, head[:]); err != nil || string(head[:len(indexFileMagic)]) != indexFileMagic ||
		binary.LittleEndian.Uint64(head[len(indexFileMagic):]) != token {
		_ = f.Close()
		return nil, false, nil // cut short, not ours, or saved for another state
	}
	return f, true, nil
}

// removeIndexLeftovers deletes the temporary files of index saves that a
// crash cut short (no other Store has the database open: Open holds its
// lock). A failure leaves them for the next Open.
func (s *Store) removeIndexLeftovers() {
	tmps, _ := filepath.Glob(filepath.Join(s.indexDir(), ".tmp-*"))
	for _, t := range tmps {
		_ = os.Remove(t)
	}
}

// removeIndex deletes the cached index of pair pid, if any.
func (s *Store) removeIndex(pid int64) error {
	if err := os.Remove(s.indexFile(pid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlitestore: baseline index: %w", err)
	}
	return nil
}

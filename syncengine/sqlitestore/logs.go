package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// BeginAction journals an intent and returns its ID. The record is stored as
// given (its ID is ignored); the Action is kept as JSON.
func (s *Store) BeginAction(ctx context.Context, rec syncengine.JournalRecord) (int64, error) {
	if err := checkPair(rec.PairID); err != nil {
		return 0, err
	}
	if err := checkJournalState(rec.State); err != nil {
		return 0, err
	}
	action, err := json.Marshal(rec.Action)
	if err != nil {
		return 0, invalid("action: %v", err)
	}
	started, err := enc(rec.Started, "Started")
	if err != nil {
		return 0, err
	}
	ended, err := enc(rec.Ended, "Ended")
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO journal (pair, run_id, action, state, error, started, ended)
			VALUES (?,?,?,?,?,?,?)`, rec.PairID, rec.RunID, string(action), int64(rec.State), rec.Error, started, ended)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// BeginActions journals intents in one transaction (syncengine's
// ActionJournalBatcher) and returns their IDs in the order of recs: all of
// them are recorded or none.
func (s *Store) BeginActions(ctx context.Context, recs []syncengine.JournalRecord) ([]int64, error) {
	type row struct {
		action         string
		started, ended int64
	}
	rows := make([]row, len(recs))
	for i, rec := range recs {
		if err := checkPair(rec.PairID); err != nil {
			return nil, err
		}
		if err := checkJournalState(rec.State); err != nil {
			return nil, err
		}
		action, err := json.Marshal(rec.Action)
		if err != nil {
			return nil, invalid("action: %v", err)
		}
		if rows[i].started, err = enc(rec.Started, "Started"); err != nil {
			return nil, err
		}
		if rows[i].ended, err = enc(rec.Ended, "Ended"); err != nil {
			return nil, err
		}
		rows[i].action = string(action)
	}
	ids := make([]int64, 0, len(recs))
	err := s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO journal (pair, run_id, action, state, error, started, ended)
			VALUES (?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, rec := range recs {
			res, err := st.ExecContext(ctx, rec.PairID, rec.RunID, rows[i].action, int64(rec.State), rec.Error,
				rows[i].started, rows[i].ended)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// checkJournalState rejects unknown journal states.
func checkJournalState(st syncengine.JournalState) error {
	switch st {
	case syncengine.JournalPending, syncengine.JournalDone, syncengine.JournalFailed:
		return nil
	}
	return invalid("unknown journal state %d", st)
}

// EndAction records the outcome of journalled action id (Ended is set to
// the store's clock). An unknown id gives ErrNoItem.
func (s *Store) EndAction(ctx context.Context, id int64, state syncengine.JournalState, errMsg string) error {
	if err := checkJournalState(state); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE journal SET state = ?, error = ?, ended = ? WHERE id = ?`,
			int64(state), errMsg, clampNanos(s.clock.Now()), id)
		if err != nil {
			return err
		}
		return mustAffect(res, "journal record %d", id)
	})
}

// EndActions records that the journalled actions ids succeeded
// (JournalDone) and appends acts to the activity log, in one transaction
// (syncengine's ActionJournalBatcher). An unknown ID gives ErrNoItem and
// records nothing.
func (s *Store) EndActions(ctx context.Context, ids []int64, acts []syncengine.Activity) error {
	args, err := activityArgs(acts)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if len(ids) > 0 {
			st, err := tx.PrepareContext(ctx, `UPDATE journal SET state = ?, error = '', ended = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			defer st.Close()
			now := clampNanos(s.clock.Now())
			for _, id := range ids {
				res, err := st.ExecContext(ctx, int64(syncengine.JournalDone), now, id)
				if err != nil {
					return err
				}
				if err := mustAffect(res, "journal record %d", id); err != nil {
					return err
				}
			}
		}
		return insertActivity(ctx, tx, args)
	})
}

// mustAffect returns ErrNoItem when res changed no row.
func mustAffect(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", syncengine.ErrNoItem, fmt.Sprintf(format, args...))
	}
	return nil
}

// OpenActions lists the pair's pending intents, oldest first.
func (s *Store) OpenActions(ctx context.Context, pairID string) ([]syncengine.JournalRecord, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.r, func(rows *sql.Rows, r *syncengine.JournalRecord) error {
		var action []byte
		var started, ended int64
		if err := rows.Scan(&r.ID, &r.PairID, &r.RunID, &action, &r.State, &r.Error, &started, &ended); err != nil {
			return wrap(err)
		}
		if err := json.Unmarshal(action, &r.Action); err != nil {
			return fmt.Errorf("sqlitestore: journal record %d: %w", r.ID, err)
		}
		r.Started, r.Ended = dec(started), dec(ended)
		return nil
	}, `SELECT id, pair, run_id, action, state, error, started, ended
		FROM journal INDEXED BY journal_pending WHERE pair = ? AND state = 0 ORDER BY id`, pairID)
}

// SaveUpload stores resumable-upload state under key, replacing any.
func (s *Store) SaveUpload(ctx context.Context, pairID, key string, st storage.UploadState) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	expires, err := enc(st.Expires, "Expires")
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO uploads (pair, key, parent_id, name, size, offset, token, expires)
			VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (pair, key) DO UPDATE SET parent_id = excluded.parent_id,
			name = excluded.name, size = excluded.size, offset = excluded.offset, token = excluded.token,
			expires = excluded.expires`, pairID, key, st.ParentID, st.Name, st.Size, st.Offset, st.Token, expires)
		return err
	})
}

// LoadUpload returns the upload state under key, or ErrNoItem.
func (s *Store) LoadUpload(ctx context.Context, pairID, key string) (storage.UploadState, error) {
	var st storage.UploadState
	if err := checkPair(pairID); err != nil {
		return st, err
	}
	var expires int64
	err := s.r.QueryRowContext(ctx, `SELECT parent_id, name, size, offset, token, expires FROM uploads
		WHERE pair = ? AND key = ?`, pairID, key).Scan(&st.ParentID, &st.Name, &st.Size, &st.Offset, &st.Token, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.UploadState{}, fmt.Errorf("%w: pair %q upload %q", syncengine.ErrNoItem, pairID, key)
	}
	if err != nil {
		return storage.UploadState{}, wrap(err)
	}
	st.Expires = dec(expires)
	return st, nil
}

// DeleteUpload forgets the upload state under key. Forgetting an absent one
// is not an error.
func (s *Store) DeleteUpload(ctx context.Context, pairID, key string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE pair = ? AND key = ?`, pairID, key)
		return err
	})
}

// runArgs returns the end-of-run columns of r: ended, status, error, counts.
func runArgs(r *syncengine.Run) ([]any, error) {
	ended, err := enc(r.Ended, "Ended")
	if err != nil {
		return nil, err
	}
	c := &r.Counts
	return []any{ended, string(r.Status), r.Error, c.FilesCopied, c.FoldersMade, c.Moved, c.Deleted,
		c.Linked, c.Conflicts, c.Held, c.Failed, c.BytesCopied, c.BytesDeleted, c.TransferNanos,
		c.Waiting, c.Replanned, c.Skipped, r.Undone}, nil
}

// StartRun records a new run and returns its ID. An empty Status is stored
// as RunRunning.
func (s *Store) StartRun(ctx context.Context, r syncengine.Run) (int64, error) {
	if err := checkPair(r.PairID); err != nil {
		return 0, err
	}
	if r.Status == "" {
		r.Status = syncengine.RunRunning
	}
	started, err := enc(r.Started, "Started")
	if err != nil {
		return 0, err
	}
	rest, err := runArgs(&r)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (pair, initial, started, ended, status, error,
			files_copied, folders_made, moved, deleted, linked, conflicts, held, failed,
			bytes_copied, bytes_deleted, transfer_nanos, waiting, replanned, skipped, undone)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			append([]any{r.PairID, b2i(r.Initial), started}, rest...)...)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// FinishRun records the end, status, error and counts of run r.ID of pair
// r.PairID. An unknown run gives ErrNoItem.
func (s *Store) FinishRun(ctx context.Context, r syncengine.Run) error {
	if err := checkPair(r.PairID); err != nil {
		return err
	}
	args, err := runArgs(&r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET ended = ?, status = ?, error = ?,
			files_copied = ?, folders_made = ?, moved = ?, deleted = ?, linked = ?, conflicts = ?,
			held = ?, failed = ?, bytes_copied = ?, bytes_deleted = ?, transfer_nanos = ?,
			waiting = ?, replanned = ?, skipped = ?, undone = ?
			WHERE id = ? AND pair = ?`, append(args, r.ID, r.PairID)...)
		if err != nil {
			return err
		}
		return mustAffect(res, "pair %q run %d", r.PairID, r.ID)
	})
}

// pageArgs validates p and returns its since, limit and offset arguments.
func pageArgs(p syncengine.Page) (since, limit, offset int64, err error) {
	if p.Limit < 0 || p.Offset < 0 {
		return 0, 0, 0, invalid("negative page limit or offset")
	}
	limit = int64(p.Limit)
	if limit == 0 {
		limit = math.MaxInt64
	}
	return clampNanos(p.Since), limit, int64(p.Offset), nil
}

// Runs lists the pair's runs, newest (by start time) first.
func (s *Store) Runs(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.Run, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := pageArgs(p)
	if err != nil {
		return nil, err
	}
	return queryList(ctx, s.r, func(rows *sql.Rows, r *syncengine.Run) error {
		var started, ended int64
		var status string
		c := &r.Counts
		if err := rows.Scan(&r.ID, &r.PairID, &r.Initial, &started, &ended, &status, &r.Error,
			&c.FilesCopied, &c.FoldersMade, &c.Moved, &c.Deleted, &c.Linked, &c.Conflicts, &c.Held,
			&c.Failed, &c.BytesCopied, &c.BytesDeleted, &c.TransferNanos,
			&c.Waiting, &c.Replanned, &c.Skipped, &r.Undone); err != nil {
			return wrap(err)
		}
		r.Started, r.Ended, r.Status = dec(started), dec(ended), syncengine.RunStatus(status)
		return nil
	}, `SELECT id, pair, initial, started, ended, status, error,
		files_copied, folders_made, moved, deleted, linked, conflicts, held, failed,
		bytes_copied, bytes_deleted, transfer_nanos, waiting, replanned, skipped, undone FROM runs
		WHERE pair = ? AND started >= ? ORDER BY started DESC, id DESC LIMIT ? OFFSET ?`,
		pairID, since, limit, offset)
}

// AddActivity appends a to the activity logs, in one transaction.
func (s *Store) AddActivity(ctx context.Context, a []syncengine.Activity) error {
	if len(a) == 0 {
		return ctx.Err()
	}
	args, err := activityArgs(a)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error { return insertActivity(ctx, tx, args) })
}

// activityArgs checks a and converts it to the arguments of its rows.
func activityArgs(a []syncengine.Activity) ([][]any, error) {
	args := make([][]any, len(a))
	for i := range a {
		x := &a[i]
		if err := checkPair(x.PairID); err != nil {
			return nil, err
		}
		if err := checkSide(x.Side); err != nil {
			return nil, err
		}
		t, err := enc(x.Time, "Time")
		if err != nil {
			return nil, err
		}
		args[i] = []any{x.PairID, x.RunID, t, int64(x.Kind), int64(x.Side), x.Path, x.Size, x.Detail}
	}
	return args, nil
}

// insertActivity appends the rows args (see activityArgs) in tx.
func insertActivity(ctx context.Context, tx *sql.Tx, args [][]any) error {
	if len(args) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO activity (pair, run_id, time, kind, side, path, size, detail)
		VALUES (?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range args {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return err
		}
	}
	return nil
}

// Activity reads the pair's activity log, newest first.
func (s *Store) Activity(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.Activity, error) {
	return s.activity(ctx, pairID, "", p)
}

// RunActivity reads the activity of run runID of the pair, newest first.
func (s *Store) RunActivity(ctx context.Context, pairID string, runID int64, p syncengine.Page) ([]syncengine.Activity, error) {
	return s.activity(ctx, pairID, "AND run_id = ?", p, runID)
}

// activity reads the pair's activity log, newest first, narrowed by the
// SQL condition cond on the arguments args.
func (s *Store) activity(ctx context.Context, pairID, cond string, p syncengine.Page, args ...any) ([]syncengine.Activity, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := pageArgs(p)
	if err != nil {
		return nil, err
	}
	args = append(append([]any{pairID, since}, args...), limit, offset)
	return queryList(ctx, s.r, func(rows *sql.Rows, a *syncengine.Activity) error {
		var t int64
		if err := rows.Scan(&a.ID, &a.PairID, &a.RunID, &t, &a.Kind, &a.Side, &a.Path, &a.Size, &a.Detail); err != nil {
			return wrap(err)
		}
		a.Time = dec(t)
		return nil
	}, `SELECT id, pair, run_id, time, kind, side, path, size, detail
		FROM activity WHERE pair = ? AND time >= ? `+cond+` ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`,
		args...)
}

// AddError appends e to its pair's error log.
func (s *Store) AddError(ctx context.Context, e syncengine.ErrorRecord) error {
	if err := checkPair(e.PairID); err != nil {
		return err
	}
	if err := checkSide(e.Side); err != nil {
		return err
	}
	t, err := enc(e.Time, "Time")
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO errors (pair, run_id, time, side, path, op, error)
			VALUES (?,?,?,?,?,?,?)`, e.PairID, e.RunID, t, int64(e.Side), e.Path, e.Op, e.Error)
		return err
	})
}

// Errors reads the pair's error log, newest first.
func (s *Store) Errors(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.ErrorRecord, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := pageArgs(p)
	if err != nil {
		return nil, err
	}
	return queryList(ctx, s.r, func(rows *sql.Rows, e *syncengine.ErrorRecord) error {
		var t int64
		if err := rows.Scan(&e.ID, &e.PairID, &e.RunID, &t, &e.Side, &e.Path, &e.Op, &e.Error); err != nil {
			return wrap(err)
		}
		e.Time = dec(t)
		return nil
	}, `SELECT id, pair, run_id, time, side, path, op, error
		FROM errors WHERE pair = ? AND time >= ? ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`,
		pairID, since, limit, offset)
}

// PutFailure records or replaces the failure state of an item, keyed by
// pair, side and path.
func (s *Store) PutFailure(ctx context.Context, f syncengine.Failure) error {
	if err := checkPair(f.PairID); err != nil {
		return err
	}
	if err := checkSide(f.Side); err != nil {
		return err
	}
	next, err := enc(f.NextAttempt, "NextAttempt")
	if err != nil {
		return err
	}
	updated, err := enc(f.Updated, "Updated")
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO failures (pair, side, path, error, attempts, next_attempt,
			quarantined, updated) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (pair, side, path) DO UPDATE SET
			error = excluded.error, attempts = excluded.attempts, next_attempt = excluded.next_attempt,
			quarantined = excluded.quarantined, updated = excluded.updated`,
			f.PairID, int64(f.Side), f.Path, f.Error, f.Attempts, next, b2i(f.Quarantined), updated)
		return err
	})
}

// ClearFailure forgets the failure state of an item (absent: no error).
func (s *Store) ClearFailure(ctx context.Context, pairID string, side syncengine.Side, path string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if err := checkSide(side); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM failures WHERE pair = ? AND side = ? AND path = ?`,
			pairID, int64(side), path)
		return err
	})
}

// Failures lists the pair's failing items, ordered by side and path.
func (s *Store) Failures(ctx context.Context, pairID string) ([]syncengine.Failure, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.r, func(rows *sql.Rows, f *syncengine.Failure) error {
		var next, updated int64
		if err := rows.Scan(&f.PairID, &f.Side, &f.Path, &f.Error, &f.Attempts, &next, &f.Quarantined, &updated); err != nil {
			return wrap(err)
		}
		f.NextAttempt, f.Updated = dec(next), dec(updated)
		return nil
	}, `SELECT pair, side, path, error, attempts, next_attempt, quarantined,
		updated FROM failures WHERE pair = ? ORDER BY side, path`, pairID)
}

// RecordDeletes notes that n deletions were applied at time t. n must not
// be negative; 0 records nothing.
func (s *Store) RecordDeletes(ctx context.Context, pairID string, t time.Time, n int) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if n < 0 {
		return invalid("negative delete count %d", n)
	}
	tn, err := enc(t, "time")
	if err != nil {
		return err
	}
	if n == 0 {
		return ctx.Err()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO delete_ledger (pair, time, n) VALUES (?,?,?)`, pairID, tn, n)
		return err
	})
}

// DeletesSince counts the deletions recorded at or after since.
func (s *Store) DeletesSince(ctx context.Context, pairID string, since time.Time) (int, error) {
	if err := checkPair(pairID); err != nil {
		return 0, err
	}
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM delete_ledger WHERE pair = ? AND time >= ?`,
		pairID, clampNanos(since)).Scan(&n)
	return n, wrap(err)
}

// HoldDeletes records held deletions, skipping any already held for the
// same pair, Key and DeletedOn side.
func (s *Store) HoldDeletes(ctx context.Context, h []syncengine.HeldDelete) error {
	if len(h) == 0 {
		return ctx.Err()
	}
	args := make([][]any, len(h))
	for i := range h {
		x := &h[i]
		if err := checkPair(x.PairID); err != nil {
			return err
		}
		if err := checkSide(x.DeletedOn); err != nil {
			return err
		}
		held, err := enc(x.Held, "Held")
		if err != nil {
			return err
		}
		args[i] = []any{x.PairID, x.Key, int64(x.DeletedOn), x.Path, b2i(x.IsDir), x.Size, held, x.Version}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO held_deletes (pair, key, deleted_on, path, is_dir, size, held, version)
			VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (pair, key, deleted_on) DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, a := range args {
			if _, err := st.ExecContext(ctx, a...); err != nil {
				return err
			}
		}
		return nil
	})
}

// HeldDeletes lists the pair's held deletions, oldest first.
func (s *Store) HeldDeletes(ctx context.Context, pairID string) ([]syncengine.HeldDelete, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return queryList(ctx, s.r, func(rows *sql.Rows, h *syncengine.HeldDelete) error {
		var held int64
		if err := rows.Scan(&h.ID, &h.PairID, &h.Key, &h.DeletedOn, &h.Path, &h.IsDir, &h.Size, &held, &h.Version); err != nil {
			return wrap(err)
		}
		h.Held = dec(held)
		return nil
	}, `SELECT id, pair, key, deleted_on, path, is_dir, size, held, version
		FROM held_deletes WHERE pair = ? ORDER BY held, id`, pairID)
}

// ReleaseHeld removes the given held deletions of the pair; unknown IDs
// are ignored.
func (s *Store) ReleaseHeld(ctx context.Context, pairID string, ids []int64) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ctx.Err()
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `DELETE FROM held_deletes WHERE pair = ? AND id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, id := range ids {
			if _, err := st.ExecContext(ctx, pairID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// queryList runs a read query and returns one value per row, each filled in
// by scan (which wraps its own errors).
func queryList[T any](ctx context.Context, db *sql.DB, scan func(rows *sql.Rows, v *T) error, query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, wrap(rows.Err())
}

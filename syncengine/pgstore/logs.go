package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	started, err := nanos(rec.Started, "Started")
	if err != nil {
		return 0, err
	}
	ended, err := nanos(rec.Ended, "Ended")
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO journal (pair, run_id, action, state, error, started, ended)
			VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`, rec.PairID, rec.RunID, action, int16(rec.State),
			bstr(rec.Error), started, ended).Scan(&id)
	})
	return id, err
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
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE journal SET state = $1, error = $2, ended = $3 WHERE id = $4`,
			int16(state), bstr(errMsg), bound(s.clock.Now()), id)
		return affected(tag, err, "journal record %d", id)
	})
}

// affected returns err, or ErrNoItem when the statement changed no row.
func affected(tag pgconn.CommandTag, err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", syncengine.ErrNoItem, fmt.Sprintf(format, args...))
	}
	return nil
}

// OpenActions lists the pair's pending intents, oldest first.
func (s *Store) OpenActions(ctx context.Context, pairID string) ([]syncengine.JournalRecord, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return list(ctx, s, func(row pgx.CollectableRow, r *syncengine.JournalRecord) error {
		var action []byte
		var state int16
		var started, ended int64
		if err := row.Scan(&r.ID, &r.PairID, &r.RunID, &action, &state, str(&r.Error), &started, &ended); err != nil {
			return err
		}
		if err := json.Unmarshal(action, &r.Action); err != nil {
			return fmt.Errorf("journal record %d: %w", r.ID, err)
		}
		r.State = syncengine.JournalState(state)
		r.Started, r.Ended = fromNanos(started), fromNanos(ended)
		return nil
	}, `SELECT id, pair, run_id, action, state, error, started, ended
		FROM journal WHERE pair = $1 AND state = 0 ORDER BY id`, pairID)
}

// SaveUpload stores resumable-upload state under key, replacing any. The
// state's Token (an upload URL, a bearer credential) is in the database
// until DeleteUpload: restrict who may read the uploads table.
func (s *Store) SaveUpload(ctx context.Context, pairID, key string, st storage.UploadState) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	expires, err := nanos(st.Expires, "Expires")
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO uploads (pair, key, parent_id, name, size, "offset", token, expires)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (pair, key) DO UPDATE SET parent_id = excluded.parent_id,
			name = excluded.name, size = excluded.size, "offset" = excluded."offset", token = excluded.token,
			expires = excluded.expires`, pairID, bstr(key), bstr(st.ParentID), bstr(st.Name), st.Size, st.Offset,
			bstr(st.Token), expires)
		return err
	})
}

// LoadUpload returns the upload state under key, or ErrNoItem.
func (s *Store) LoadUpload(ctx context.Context, pairID, key string) (storage.UploadState, error) {
	var st storage.UploadState
	if err := checkPair(pairID); err != nil {
		return st, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var expires int64
	err := s.pool.QueryRow(ctx, `SELECT parent_id, name, size, "offset", token, expires FROM uploads
		WHERE pair = $1 AND key = $2`, pairID, bstr(key)).Scan(str(&st.ParentID), str(&st.Name), &st.Size,
		&st.Offset, str(&st.Token), &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.UploadState{}, fmt.Errorf("%w: pair %q upload %q", syncengine.ErrNoItem, pairID, key)
	}
	if err != nil {
		return storage.UploadState{}, wrap(err)
	}
	st.Expires = fromNanos(expires)
	return st, nil
}

// DeleteUpload forgets the upload state under key. Forgetting an absent one
// is not an error.
func (s *Store) DeleteUpload(ctx context.Context, pairID, key string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM uploads WHERE pair = $1 AND key = $2`, pairID, bstr(key))
		return err
	})
}

// runEnd returns the end-of-run columns of r: ended, status, error, counts,
// undone.
func runEnd(r *syncengine.Run) ([]any, error) {
	ended, err := nanos(r.Ended, "Ended")
	if err != nil {
		return nil, err
	}
	c := &r.Counts
	return []any{ended, string(r.Status), bstr(r.Error), c.FilesCopied, c.FoldersMade, c.Moved, c.Deleted,
		c.Linked, c.Conflicts, c.Held, c.Failed, c.Waiting, c.Replanned, c.Skipped,
		c.BytesCopied, c.BytesDeleted, c.TransferNanos, bstr(r.Undone)}, nil
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
	started, err := nanos(r.Started, "Started")
	if err != nil {
		return 0, err
	}
	end, err := runEnd(&r)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO runs (pair, initial, started, ended, status, error,
			files_copied, folders_made, moved, deleted, linked, conflicts, held, failed,
			waiting, replanned, skipped, bytes_copied, bytes_deleted, transfer_nanos, undone)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) RETURNING id`,
			append([]any{r.PairID, r.Initial, started}, end...)...).Scan(&id)
	})
	return id, err
}

// FinishRun records the end, status, error and counts of run r.ID of pair
// r.PairID. An unknown run gives ErrNoItem.
func (s *Store) FinishRun(ctx context.Context, r syncengine.Run) error {
	if err := checkPair(r.PairID); err != nil {
		return err
	}
	end, err := runEnd(&r)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE runs SET ended = $1, status = $2, error = $3,
			files_copied = $4, folders_made = $5, moved = $6, deleted = $7, linked = $8, conflicts = $9,
			held = $10, failed = $11, waiting = $12, replanned = $13, skipped = $14,
			bytes_copied = $15, bytes_deleted = $16, transfer_nanos = $17, undone = $18
			WHERE id = $19 AND pair = $20`, append(end, r.ID, r.PairID)...)
		return affected(tag, err, "pair %q run %d", r.PairID, r.ID)
	})
}

// page validates p and returns its since, limit and offset arguments.
func page(p syncengine.Page) (since, limit, offset int64, err error) {
	if p.Limit < 0 || p.Offset < 0 {
		return 0, 0, 0, invalid("negative page limit or offset")
	}
	limit = int64(p.Limit)
	if limit == 0 {
		limit = math.MaxInt64
	}
	return bound(p.Since), limit, int64(p.Offset), nil
}

// Runs lists the pair's runs, newest (by start time) first.
func (s *Store) Runs(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.Run, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := page(p)
	if err != nil {
		return nil, err
	}
	return list(ctx, s, func(row pgx.CollectableRow, r *syncengine.Run) error {
		var started, ended int64
		var status string
		c := &r.Counts
		if err := row.Scan(&r.ID, &r.PairID, &r.Initial, &started, &ended, &status, str(&r.Error),
			&c.FilesCopied, &c.FoldersMade, &c.Moved, &c.Deleted, &c.Linked, &c.Conflicts, &c.Held,
			&c.Failed, &c.Waiting, &c.Replanned, &c.Skipped, &c.BytesCopied, &c.BytesDeleted,
			&c.TransferNanos, str(&r.Undone)); err != nil {
			return err
		}
		r.Started, r.Ended, r.Status = fromNanos(started), fromNanos(ended), syncengine.RunStatus(status)
		return nil
	}, `SELECT id, pair, initial, started, ended, status, error,
		files_copied, folders_made, moved, deleted, linked, conflicts, held, failed,
		waiting, replanned, skipped, bytes_copied, bytes_deleted, transfer_nanos, undone FROM runs
		WHERE pair = $1 AND started >= $2 ORDER BY started DESC, id DESC LIMIT $3 OFFSET $4`,
		pairID, since, limit, offset)
}

// AddActivity appends a to the activity logs, in one transaction.
func (s *Store) AddActivity(ctx context.Context, a []syncengine.Activity) error {
	if len(a) == 0 {
		return ctx.Err()
	}
	var (
		pair         []string
		run, tm, sz  []int64
		kind, side   []int16
		path, detail [][]byte
	)
	for i := range a {
		x := &a[i]
		if err := checkPair(x.PairID); err != nil {
			return err
		}
		if err := checkSide(x.Side); err != nil {
			return err
		}
		t, err := nanos(x.Time, "Time")
		if err != nil {
			return err
		}
		pair, run, tm, sz = append(pair, x.PairID), append(run, x.RunID), append(tm, t), append(sz, x.Size)
		kind, side = append(kind, int16(x.Kind)), append(side, int16(x.Side))
		path, detail = append(path, []byte(x.Path)), append(detail, []byte(x.Detail))
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// WITH ORDINALITY keeps the IDs in the order given.
		_, err := tx.Exec(ctx, `INSERT INTO activity (pair, run_id, time, kind, side, path, size, detail)
			SELECT pair, run_id, time, kind, side, path, size, detail FROM unnest($1::text[], $2::bigint[],
			$3::bigint[], $4::smallint[], $5::smallint[], $6::bytea[], $7::bigint[], $8::bytea[])
			WITH ORDINALITY AS u(pair, run_id, time, kind, side, path, size, detail, n) ORDER BY n`,
			pair, run, tm, kind, side, path, sz, detail)
		return err
	})
}

// Activity reads the pair's activity log, newest first.
func (s *Store) Activity(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.Activity, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := page(p)
	if err != nil {
		return nil, err
	}
	return list(ctx, s, scanActivity, `SELECT id, pair, run_id, time, kind, side, path, size, detail
		FROM activity WHERE pair = $1 AND time >= $2 ORDER BY time DESC, id DESC LIMIT $3 OFFSET $4`,
		pairID, since, limit, offset)
}

// scanActivity reads one activity row.
func scanActivity(row pgx.CollectableRow, a *syncengine.Activity) error {
	var t int64
	var kind, side int16
	if err := row.Scan(&a.ID, &a.PairID, &a.RunID, &t, &kind, &side, str(&a.Path), &a.Size, str(&a.Detail)); err != nil {
		return err
	}
	a.Time, a.Kind, a.Side = fromNanos(t), syncengine.ActionKind(kind), syncengine.Side(side)
	return nil
}

// RunActivity reads the activity of one run of the pair, in the order it
// was added.
func (s *Store) RunActivity(ctx context.Context, pairID string, runID int64) ([]syncengine.Activity, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return list(ctx, s, scanActivity, `SELECT id, pair, run_id, time, kind, side, path, size, detail
		FROM activity WHERE run_id = $1 AND pair = $2 ORDER BY id`, runID, pairID)
}

// AddError appends e to its pair's error log.
func (s *Store) AddError(ctx context.Context, e syncengine.ErrorRecord) error {
	if err := checkPair(e.PairID); err != nil {
		return err
	}
	if err := checkSide(e.Side); err != nil {
		return err
	}
	t, err := nanos(e.Time, "Time")
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO errors (pair, run_id, time, side, path, op, error)
			VALUES ($1,$2,$3,$4,$5,$6,$7)`, e.PairID, e.RunID, t, int16(e.Side), bstr(e.Path), bstr(e.Op), bstr(e.Error))
		return err
	})
}

// Errors reads the pair's error log, newest first.
func (s *Store) Errors(ctx context.Context, pairID string, p syncengine.Page) ([]syncengine.ErrorRecord, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	since, limit, offset, err := page(p)
	if err != nil {
		return nil, err
	}
	return list(ctx, s, func(row pgx.CollectableRow, e *syncengine.ErrorRecord) error {
		var t int64
		var side int16
		if err := row.Scan(&e.ID, &e.PairID, &e.RunID, &t, &side, str(&e.Path), str(&e.Op), str(&e.Error)); err != nil {
			return err
		}
		e.Time, e.Side = fromNanos(t), syncengine.Side(side)
		return nil
	}, `SELECT id, pair, run_id, time, side, path, op, error
		FROM errors WHERE pair = $1 AND time >= $2 ORDER BY time DESC, id DESC LIMIT $3 OFFSET $4`,
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
	next, err := nanos(f.NextAttempt, "NextAttempt")
	if err != nil {
		return err
	}
	updated, err := nanos(f.Updated, "Updated")
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO failures (pair, side, path, error, attempts, next_attempt,
			quarantined, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (pair, side, path) DO UPDATE SET
			error = excluded.error, attempts = excluded.attempts, next_attempt = excluded.next_attempt,
			quarantined = excluded.quarantined, updated = excluded.updated`,
			f.PairID, int16(f.Side), bstr(f.Path), bstr(f.Error), f.Attempts, next, f.Quarantined, updated)
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
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM failures WHERE pair = $1 AND side = $2 AND path = $3`,
			pairID, int16(side), bstr(path))
		return err
	})
}

// Failures lists the pair's failing items, ordered by side and path.
func (s *Store) Failures(ctx context.Context, pairID string) ([]syncengine.Failure, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return list(ctx, s, func(row pgx.CollectableRow, f *syncengine.Failure) error {
		var next, updated int64
		var side int16
		if err := row.Scan(&f.PairID, &side, str(&f.Path), str(&f.Error), &f.Attempts, &next, &f.Quarantined, &updated); err != nil {
			return err
		}
		f.Side, f.NextAttempt, f.Updated = syncengine.Side(side), fromNanos(next), fromNanos(updated)
		return nil
	}, `SELECT pair, side, path, error, attempts, next_attempt, quarantined,
		updated FROM failures WHERE pair = $1 ORDER BY side, path`, pairID)
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
	tn, err := nanos(t, "time")
	if err != nil {
		return err
	}
	if n == 0 {
		return ctx.Err()
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO delete_ledger (pair, time, n) VALUES ($1,$2,$3)`, pairID, tn, n)
		return err
	})
}

// DeletesSince counts the deletions recorded at or after since.
func (s *Store) DeletesSince(ctx context.Context, pairID string, since time.Time) (int, error) {
	if err := checkPair(pairID); err != nil {
		return 0, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var n int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM delete_ledger WHERE pair = $1 AND time >= $2`,
		pairID, bound(since)).Scan(&n)
	return n, wrap(err)
}

// HoldDeletes records held deletions, skipping any already held for the
// same pair, Key and DeletedOn side, in one transaction.
func (s *Store) HoldDeletes(ctx context.Context, h []syncengine.HeldDelete) error {
	if len(h) == 0 {
		return ctx.Err()
	}
	var (
		pair          []string
		key, sz, held []int64
		on            []int16
		path, version [][]byte
		isDir         []bool
	)
	for i := range h {
		x := &h[i]
		if err := checkPair(x.PairID); err != nil {
			return err
		}
		if err := checkSide(x.DeletedOn); err != nil {
			return err
		}
		t, err := nanos(x.Held, "Held")
		if err != nil {
			return err
		}
		pair, key, sz, held = append(pair, x.PairID), append(key, x.Key), append(sz, x.Size), append(held, t)
		on, isDir = append(on, int16(x.DeletedOn)), append(isDir, x.IsDir)
		path, version = append(path, []byte(x.Path)), append(version, []byte(x.Version))
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO held_deletes (pair, key, deleted_on, path, is_dir, size, held, version)
			SELECT pair, key, deleted_on, path, is_dir, size, held, version FROM unnest($1::text[], $2::bigint[],
			$3::smallint[], $4::bytea[], $5::boolean[], $6::bigint[], $7::bigint[], $8::bytea[])
			WITH ORDINALITY AS u(pair, key, deleted_on, path, is_dir, size, held, version, n) ORDER BY n
			ON CONFLICT (pair, key, deleted_on) DO NOTHING`, pair, key, on, path, isDir, sz, held, version)
		return err
	})
}

// HeldDeletes lists the pair's held deletions, oldest first.
func (s *Store) HeldDeletes(ctx context.Context, pairID string) ([]syncengine.HeldDelete, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	return list(ctx, s, func(row pgx.CollectableRow, h *syncengine.HeldDelete) error {
		var held int64
		var on int16
		if err := row.Scan(&h.ID, &h.PairID, &h.Key, &on, str(&h.Path), &h.IsDir, &h.Size, &held, str(&h.Version)); err != nil {
			return err
		}
		h.DeletedOn, h.Held = syncengine.Side(on), fromNanos(held)
		return nil
	}, `SELECT id, pair, key, deleted_on, path, is_dir, size, held, version
		FROM held_deletes WHERE pair = $1 ORDER BY held, id`, pairID)
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
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM held_deletes WHERE pair = $1 AND id = ANY($2)`, pairID, ids)
		return err
	})
}

// list runs a read query and returns one value per row, each filled in by
// scan.
func list[T any](ctx context.Context, s *Store, scan func(row pgx.CollectableRow, v *T) error, query string, args ...any) ([]T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) {
		var v T
		err := scan(row, &v)
		return v, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, wrap(err)
}

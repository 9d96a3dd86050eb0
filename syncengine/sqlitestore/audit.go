package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/procoresync/procoresync/syncengine"
)

var (
	_ syncengine.AuditStore       = (*Store)(nil)
	_ syncengine.StopCounterStore = (*Store)(nil)
)

// AppendAudit appends an entry to the audit log and returns its ID
// (syncengine.AuditStore). Kind, Actor and Time are required.
func (s *Store) AppendAudit(ctx context.Context, e syncengine.AuditEntry) (int64, error) {
	if e.Kind == "" || e.Actor == "" {
		return 0, invalid("audit entry without kind or actor")
	}
	if e.Time.IsZero() {
		return 0, invalid("audit entry without time")
	}
	t, err := enc(e.Time, "Time")
	if err != nil {
		return 0, err
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if details, err = json.Marshal(e.Details); err != nil {
			return 0, invalid("audit details: %v", err)
		}
	}
	var id int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, kind, pair, project, details)
			VALUES (?,?,?,?,?,?)`, t, e.Actor, string(e.Kind), e.PairID, e.Project, string(details))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// ListAudit returns the audit entries f selects, newest first
// (syncengine.AuditStore).
func (s *Store) ListAudit(ctx context.Context, f syncengine.AuditFilter) ([]syncengine.AuditEntry, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, invalid("negative page limit or offset")
	}
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("pair", f.PairID)
	eq("project", f.Project)
	eq("actor", f.Actor)
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(",?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, clampNanos(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, clampNanos(f.Until))
	}
	q := `SELECT id, time, actor, kind, pair, project, details FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := int64(f.Limit)
	if limit == 0 {
		limit = math.MaxInt64
	}
	q += " ORDER BY time DESC, id DESC LIMIT ? OFFSET ?"
	args = append(args, limit, int64(f.Offset))
	return queryList(ctx, s.r, func(rows *sql.Rows, e *syncengine.AuditEntry) error {
		var t int64
		var kind, details string
		if err := rows.Scan(&e.ID, &t, &e.Actor, &kind, &e.PairID, &e.Project, &details); err != nil {
			return wrap(err)
		}
		e.Time, e.Kind = dec(t), syncengine.AuditKind(kind)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return fmt.Errorf("sqlitestore: audit entry %d: %w", e.ID, err)
		}
		if len(e.Details) == 0 {
			e.Details = nil
		}
		return nil
	}, q, args...)
}

// LoadStopCounts returns the counters of the pair's stop policy, zero for
// a pair the store has not seen (syncengine.StopCounterStore).
func (s *Store) LoadStopCounts(ctx context.Context, pairID string) (syncengine.StopCounts, error) {
	var c syncengine.StopCounts
	if err := checkPair(pairID); err != nil {
		return c, err
	}
	err := s.r.QueryRowContext(ctx, `SELECT runs, successes, failures, consecutive, last_run
		FROM stop_counts WHERE pair = ?`, pairID).Scan(&c.Runs, &c.Successes, &c.Failures,
		&c.ConsecutiveFailures, &c.LastRunID)
	if errors.Is(err, sql.ErrNoRows) {
		return syncengine.StopCounts{}, nil
	}
	return c, wrap(err)
}

// SaveStopCounts replaces the counters of the pair's stop policy
// (syncengine.StopCounterStore).
func (s *Store) SaveStopCounts(ctx context.Context, pairID string, c syncengine.StopCounts) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if c.Runs < 0 || c.Successes < 0 || c.Failures < 0 || c.ConsecutiveFailures < 0 {
		return invalid("negative stop counts")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO stop_counts (pair, runs, successes, failures, consecutive, last_run)
			VALUES (?,?,?,?,?,?) ON CONFLICT (pair) DO UPDATE SET runs = excluded.runs,
			successes = excluded.successes, failures = excluded.failures, consecutive = excluded.consecutive,
			last_run = excluded.last_run`, pairID, c.Runs, c.Successes, c.Failures, c.ConsecutiveFailures, c.LastRunID)
		return err
	})
}

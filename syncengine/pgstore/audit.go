package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/procoresync/procoresync/syncengine"
)

var (
	_ syncengine.AuditStore       = (*Store)(nil)
	_ syncengine.StopCounterStore = (*Store)(nil)
)

// AppendAudit appends an entry to the audit log and returns its ID
// (syncengine.AuditStore). Kind, Actor and Time are required. The entry
// records what happened, so a Store fenced by a lease appends it even
// when the lease is lost.
func (s *Store) AppendAudit(ctx context.Context, e syncengine.AuditEntry) (int64, error) {
	if e.Kind == "" || e.Actor == "" {
		return 0, invalid("audit entry without kind or actor")
	}
	if e.Time.IsZero() {
		return 0, invalid("audit entry without time")
	}
	t, err := nanos(e.Time, "Time")
	if err != nil {
		return 0, err
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if details, err = json.Marshal(e.Details); err != nil {
			return 0, invalid("audit details: %v", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var id int64
	err = s.pool.QueryRow(ctx, `INSERT INTO audit (time, actor, kind, pair, project, details)
		VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`, t, bstr(e.Actor), bstr(e.Kind), bstr(e.PairID),
		bstr(e.Project), details).Scan(&id)
	return id, wrap(err)
}

// ListAudit returns the audit entries f selects, newest first
// (syncengine.AuditStore).
func (s *Store) ListAudit(ctx context.Context, f syncengine.AuditFilter) ([]syncengine.AuditEntry, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, invalid("negative page limit or offset")
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+arg(bstr(v)))
		}
	}
	eq("pair", f.PairID)
	eq("project", f.Project)
	eq("actor", f.Actor)
	if len(f.Kinds) > 0 {
		kinds := make([][]byte, len(f.Kinds))
		for i, k := range f.Kinds {
			kinds[i] = []byte(k)
		}
		where = append(where, "kind = ANY("+arg(kinds)+"::bytea[])")
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= "+arg(bound(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < "+arg(bound(f.Until)))
	}
	q := `SELECT id, time, actor, kind, pair, project, details FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := int64(f.Limit)
	if limit == 0 {
		limit = math.MaxInt64
	}
	q += " ORDER BY time DESC, id DESC LIMIT " + arg(limit) + " OFFSET " + arg(int64(f.Offset))
	return list(ctx, s, func(row pgx.CollectableRow, e *syncengine.AuditEntry) error {
		var t int64
		var kind string
		var details []byte
		if err := row.Scan(&e.ID, &t, str(&e.Actor), str(&kind), str(&e.PairID), str(&e.Project), &details); err != nil {
			return err
		}
		e.Time, e.Kind = fromNanos(t), syncengine.AuditKind(kind)
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return fmt.Errorf("pgstore: audit entry %d: %w", e.ID, err)
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
	if err := ctx.Err(); err != nil {
		return c, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var runs, successes, failures, consecutive int64
	err := s.pool.QueryRow(ctx, `SELECT runs, successes, failures, consecutive, last_run
		FROM stop_counts WHERE pair = $1`, pairID).Scan(&runs, &successes, &failures, &consecutive, &c.LastRunID)
	if errors.Is(err, pgx.ErrNoRows) {
		return syncengine.StopCounts{}, nil
	}
	if err != nil {
		return syncengine.StopCounts{}, wrap(err)
	}
	c.Runs, c.Successes, c.Failures, c.ConsecutiveFailures = int(runs), int(successes), int(failures), int(consecutive)
	return c, nil
}

// SaveStopCounts replaces the counters of the pair's stop policy
// (syncengine.StopCounterStore). On a fenced Store it needs the lease.
func (s *Store) SaveStopCounts(ctx context.Context, pairID string, c syncengine.StopCounts) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if c.Runs < 0 || c.Successes < 0 || c.Failures < 0 || c.ConsecutiveFailures < 0 {
		return invalid("negative stop counts")
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO stop_counts (pair, runs, successes, failures, consecutive, last_run)
			VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (pair) DO UPDATE SET runs = excluded.runs,
			successes = excluded.successes, failures = excluded.failures, consecutive = excluded.consecutive,
			last_run = excluded.last_run`, pairID, int64(c.Runs), int64(c.Successes), int64(c.Failures),
			int64(c.ConsecutiveFailures), c.LastRunID)
		return err
	})
}

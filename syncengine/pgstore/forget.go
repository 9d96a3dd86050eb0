package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/procoresync/procoresync/syncengine"
)

var _ syncengine.PairForgetter = (*Store)(nil)

// ForgetPair deletes everything the store keeps for the pair, in one
// transaction (syncengine.PairForgetter; Engine.RemovePair with
// RemoveOptions.ForgetState): its baseline, journal, upload states (their
// upload URLs with them), run history, activity and error logs, failures,
// delete ledger and held deletions, and its state, which reads as a pair
// never seen. Forgetting a pair the store does not know is not an error.
//
// The pair's row keeps its internal number (only its state is reset), so
// that other Stores, in other processes, that cached the number keep
// writing to the right pair should it be used again.
//
// While another owner holds an unexpired lease on the pair (a run in
// progress on some worker), ForgetPair fails with a *LeasedError matching
// ErrPairLeased and deletes nothing; an expired lease is removed with the
// rest, so the writes of its late holder fail with ErrLeaseLost. Through
// a Fenced view, the view's own lease is kept and checked, as for every
// write.
func (s *Store) ForgetPair(ctx context.Context, pairID string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		held := &LeasedError{PairID: pairID}
		var token int64
		var live bool
		err := tx.QueryRow(ctx, `SELECT owner, token, expires, expires > clock_timestamp() FROM pair_leases
			WHERE pair_id = $1 FOR UPDATE`, pairID).Scan(&held.Owner, &token, &held.Expires, &live)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case s.fence != nil && s.fence.PairID == pairID && s.fence.Token == token:
			// The caller's own lease: kept.
		case live:
			return held
		default:
			if _, err := tx.Exec(ctx, `DELETE FROM pair_leases WHERE pair_id = $1 AND token = $2`, pairID, token); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM items WHERE pair IN (SELECT pid FROM pairs WHERE pair_id = $1)`, pairID); err != nil {
			return err
		}
		for _, table := range []string{"journal", "uploads", "runs", "activity", "errors", "failures", "delete_ledger", "held_deletes", "stop_counts"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE pair = $1`, pairID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE pairs SET initialized = false, paused = false, pause_reason = '',
			cursor_a = '', cursor_b = '', root_a = '', root_b = '', last_run = 0, last_success = 0
			WHERE pair_id = $1`, pairID)
		return err
	})
}

package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrPairLeased is matched (errors.Is) by the *LeasedError that
// AcquirePair returns while another owner holds the pair.
var ErrPairLeased = errors.New("pgstore: the pair is leased by another owner")

// ErrLeaseLost is returned (wrapped) by Lease.Renew and Lease.Release, and by
// the writes of a Fenced store, once the lease is no longer held: it was
// released, or it expired and another owner acquired the pair.
var ErrLeaseLost = errors.New("pgstore: the lease on the pair was lost")

// LeasedError reports who holds a pair. It matches ErrPairLeased.
type LeasedError struct {
	PairID string
	Owner  string
	// Expires is when the holder's lease runs out unless renewed (the
	// database server's clock).
	Expires time.Time
}

func (e *LeasedError) Error() string {
	return fmt.Sprintf("pgstore: pair %q is leased by %q until %s", e.PairID, e.Owner, e.Expires.UTC().Format(time.RFC3339Nano))
}

// Is reports whether target is ErrPairLeased.
func (e *LeasedError) Is(target error) bool { return target == ErrPairLeased }

// Lease is one owner's hold on a pair, from AcquirePair. Its times are the
// database server's, so workers whose clocks differ agree on them.
type Lease struct {
	PairID string
	Owner  string
	// Token identifies this acquisition: it is unique and grows with every
	// acquisition of any pair, so a later holder never has the same one.
	Token int64
	// Expires is when the lease runs out unless renewed.
	Expires time.Time

	store *Store
}

// lost returns the error of a write or renewal whose lease is gone.
func (l *Lease) lost() error {
	return fmt.Errorf("%w: pair %q, owner %q, token %d", ErrLeaseLost, l.PairID, l.Owner, l.Token)
}

// checkTTL rejects lease lengths the server cannot count.
func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return invalid("lease length %s: must be at least 1ms", ttl)
	}
	return nil
}

// AcquirePair makes owner the only holder of the pair's state for ttl
// (measured on the database server's clock). While another lease on the
// pair is in force, including one of the same owner, it fails with a
// *LeasedError (matching ErrPairLeased) naming the holder; a lease that
// expired can be taken over. Keep the lease with Lease.Renew well before
// Expires, end it with Lease.Release, and write through Fenced(lease) so
// that writes stop once the lease is lost.
func (s *Store) AcquirePair(ctx context.Context, pairID, owner string, ttl time.Duration) (*Lease, error) {
	if err := checkPair(pairID); err != nil {
		return nil, err
	}
	if err := checkPair(owner); err != nil {
		return nil, invalid("owner: %v", err)
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	for range 3 {
		l := &Lease{PairID: pairID, Owner: owner, store: s}
		err := s.pool.QueryRow(ctx, `INSERT INTO pair_leases (pair_id, owner, token, acquired, expires)
			VALUES ($1, $2, nextval('lease_token'), clock_timestamp(), clock_timestamp() + $3 * interval '1 microsecond')
			ON CONFLICT (pair_id) DO UPDATE SET owner = excluded.owner, token = excluded.token,
			acquired = excluded.acquired, expires = excluded.expires
			WHERE pair_leases.expires <= clock_timestamp()
			RETURNING token, expires`, pairID, owner, ttl.Microseconds()).Scan(&l.Token, &l.Expires)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, wrap(err)
		}
		held := &LeasedError{PairID: pairID}
		err = s.pool.QueryRow(ctx, `SELECT owner, expires FROM pair_leases WHERE pair_id = $1`, pairID).
			Scan(&held.Owner, &held.Expires)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released in between: try again
		}
		if err != nil {
			return nil, wrap(err)
		}
		return nil, held
	}
	return nil, fmt.Errorf("pgstore: acquire pair %q: the lease kept changing hands", pairID)
}

// Renew extends the lease to ttl from now (the server's clock). It fails
// with ErrLeaseLost when another owner acquired the pair since (after this
// lease expired) or the lease was released; a lease that expired but that
// nobody took over is renewed.
func (l *Lease) Renew(ctx context.Context, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	ctx, cancel := l.store.bounded(ctx)
	defer cancel()
	err := l.store.pool.QueryRow(ctx, `UPDATE pair_leases SET expires = clock_timestamp() + $4 * interval '1 microsecond'
		WHERE pair_id = $1 AND owner = $2 AND token = $3 RETURNING expires`,
		l.PairID, l.Owner, l.Token, ttl.Microseconds()).Scan(&l.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return l.lost()
	}
	return wrap(err)
}

// Release ends the lease, so that another owner may acquire the pair at
// once. Releasing a lease that was already released is not an error; one
// that another owner took over fails with ErrLeaseLost (and leaves the new
// holder's lease alone).
func (l *Lease) Release(ctx context.Context) error {
	ctx, cancel := l.store.bounded(ctx)
	defer cancel()
	tag, err := l.store.pool.Exec(ctx, `DELETE FROM pair_leases WHERE pair_id = $1 AND owner = $2 AND token = $3`,
		l.PairID, l.Owner, l.Token)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var token int64
	err = l.store.pool.QueryRow(ctx, `SELECT token FROM pair_leases WHERE pair_id = $1`, l.PairID).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return wrap(err)
	}
	return l.lost()
}

// Fenced returns a view of the store, sharing its connections, whose every
// write first checks, in its own transaction, that lease l is still the
// pair's lease (same token), and keeps a share lock on the lease until it
// commits: a take-over waits for the write to end, and once the pair has
// another holder every write fails with ErrLeaseLost, so a worker that
// lost its lease cannot overwrite the new holder's state. Reads are not
// fenced. Closing the view closes the store.
func (s *Store) Fenced(l *Lease) *Store {
	return &Store{shared: s.shared, fence: l}
}

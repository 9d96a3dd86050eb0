package syncengine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrPairRemoved is the cause of the cancellation of a run that
// RemovePair cut short after its grace period.
var ErrPairRemoved = errors.New("syncengine: the pair was removed")

// ErrCannotForget: RemovePair was asked to forget the pair's state but
// the MetadataStore is not a PairForgetter. The pair is removed from the
// engine; its state stays in the store.
var ErrCannotForget = fmt.Errorf("syncengine: the store cannot forget a pair's state: %w", errors.ErrUnsupported)

// PairForgetter is implemented by a MetadataStore that can delete
// everything it keeps for a pair: its state, baseline, journal, upload
// states, run history, logs, failures, delete ledger and held deletions.
type PairForgetter interface {
	// ForgetPair deletes the pair's records. Forgetting a pair the store
	// does not know is not an error.
	ForgetPair(ctx context.Context, pairID string) error
}

// defaultRemoveGrace is how long RemovePair lets a run in progress go on
// before it cancels it.
const defaultRemoveGrace = 30 * time.Second

// RemoveOptions tune RemovePair.
type RemoveOptions struct {
	// Grace is how long a run of the pair in progress may go on before it
	// is cancelled (default 30 seconds; negative: cancelled at once). A
	// cancelled run leaves its unfinished actions pending in the journal,
	// resolved by the next run should the pair be added again.
	Grace time.Duration
	// ForgetState deletes what the store keeps for the pair (its
	// baseline, cursors, history and logs) once no run of it is in
	// progress; the store must be a PairForgetter. Without it the state
	// is kept, so that adding the pair again with the same ID carries on
	// where it stopped.
	ForgetState bool
}

// RemovePair removes pair pairID from the engine: the scheduler (Run)
// starts no more runs of it and wake-ups and watch signals for it are
// ignored; RunOnce and the admin methods give ErrUnknownPair. A run of it
// in progress may end within opt.Grace, after which it is cancelled (its
// cause ErrPairRemoved); RemovePair returns once no run of the pair is in
// progress, after forgetting its state if opt.ForgetState is set. When ctx
// ends first, RemovePair returns ctx's error: the pair is removed from the
// engine all the same, and its state kept.
func (e *Engine) RemovePair(ctx context.Context, pairID string, opt RemoveOptions) error {
	e.mu.Lock()
	s, ok := e.pairs[pairID]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("%w %q", ErrUnknownPair, pairID)
	}
	delete(e.pairs, pairID)
	e.order = slices.DeleteFunc(e.order, func(id string) bool { return id == pairID })
	s.removed = true
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	e.mu.Unlock()
	e.signal()

	if !s.tryAcquire() {
		grace := opt.Grace
		if grace == 0 {
			grace = defaultRemoveGrace
		}
		if err := e.waitRun(ctx, s, grace); err != nil {
			return err
		}
	}
	defer s.release()
	e.log.Info("syncengine: pair removed", "pair", pairID, "forget_state", opt.ForgetState)
	if !opt.ForgetState {
		return nil
	}
	f, ok := e.store.(PairForgetter)
	if !ok {
		return ErrCannotForget
	}
	if err := f.ForgetPair(ctx, pairID); err != nil {
		return fmt.Errorf("syncengine: forgetting pair %s: %w", pairID, err)
	}
	return nil
}

// waitRun takes the lock of the removed pair s: it waits up to grace for
// the run in progress to end, then cancels it and waits for it to stop.
func (e *Engine) waitRun(ctx context.Context, s *pairSlot, grace time.Duration) error {
	if grace > 0 {
		t := e.clock.After(grace)
		select {
		case s.lock <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t:
		}
	}
	// The run may be between taking the lock and registering runCancel:
	// it then sees s.removed and ends without running; a RunOnce waiting
	// for the lock likewise.
	e.mu.Lock()
	if s.runCancel != nil {
		s.runCancel(ErrPairRemoved)
	}
	e.mu.Unlock()
	return s.acquire(ctx)
}

// UpdatePair replaces the configuration of pair p.ID (its options, and its
// storages: say, a connector made again with new credentials), validated
// and defaulted as AddPair does. The pair's state (baseline, cursors,
// history) is kept: the storages must still reach the same folders, which
// the protected-root check verifies (a pair pointed at other folders
// pauses; a different pair needs its own ID). A run in progress goes on
// with the configuration it started with; the next run uses p. A changed
// Interval counts from the end of the last run; the storages' watchers are
// started again.
func (e *Engine) UpdatePair(p Pair) error {
	p, err := e.prepare(p)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.pairs[p.ID]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownPair, p.ID)
	}
	old := s.cur()
	s.cfg.Store(&p)
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	s.watching = false
	if p.Interval != old.Interval && !s.lastEnd.IsZero() && !s.next.IsZero() {
		s.next = s.lastEnd.Add(p.Interval)
	}
	e.signal()
	return nil
}

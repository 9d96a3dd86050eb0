package syncengine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// StopPolicy stops a pair after a number of runs, in the manner of
// scheduled transfer jobs: when a run ends with one of its counters at its
// limit, the pair is paused (not removed: its state, baseline and files
// stay), an EventPairPaused is notified and an AuditStopPolicyFired entry
// recorded. Resume lets it run again and starts its counters from zero.
//
// A run counts once it was recorded in the run history and ended (a run
// cancelled by a shutdown or by RemovePair does not count; a run refused
// because the pair is paused is not recorded). It counts as:
//   - an execution, whatever its outcome;
//   - a success when it ended with everything in sync (RunSucceeded);
//   - a failure when it failed as a whole (RunFailed) or a safety guard
//     refused its plan (RunRefused);
//   - neither a success nor a failure when it finished with items left
//     undone (RunPartial); it ends a streak of consecutive failures all the
//     same, as a success does.
//
// A chunk of an initial sync that yielded its slot to other initial syncs
// (Options.InitialChunk) does not count: the initial sync counts once, by
// the run that completes it.
//
// The counters are kept in the metadata store (a StopCounterStore), so
// they carry on across restarts; AddPair refuses a policy when the store
// cannot keep them. Changing the policy with UpdatePair keeps the
// counters: raising a limit lets the pair run until the new one.
type StopPolicy struct {
	// AfterRuns stops the pair after this many executions (0: no limit).
	AfterRuns int
	// AfterSuccesses stops it after this many successful runs in total.
	AfterSuccesses int
	// AfterFailures stops it after this many failed runs in total.
	AfterFailures int
	// AfterConsecutiveFailures stops it after this many failed runs in a
	// row.
	AfterConsecutiveFailures int
}

// IsZero reports whether the policy never stops the pair.
func (p StopPolicy) IsZero() bool { return p == StopPolicy{} }

// validate rejects negative limits.
func (p StopPolicy) validate() error {
	if p.AfterRuns < 0 || p.AfterSuccesses < 0 || p.AfterFailures < 0 || p.AfterConsecutiveFailures < 0 {
		return errors.New("negative stop policy limit")
	}
	return nil
}

// StopCounts are a pair's run counters for its StopPolicy.
type StopCounts struct {
	Runs                int // executions
	Successes           int // runs that succeeded
	Failures            int // runs that failed or were refused
	ConsecutiveFailures int // failures since the last run that finished
	// LastRunID is the latest run counted, so that no run counts twice.
	LastRunID int64
}

// StopCounterStore is the optional MetadataStore role that keeps the
// counters of the pairs' stop policies. sqlitestore and pgstore implement
// it; storetest checks it. A store that is a PairForgetter forgets them
// with the pair.
type StopCounterStore interface {
	// LoadStopCounts returns the pair's counters (zero for a pair the
	// store has not seen); SaveStopCounts replaces them.
	LoadStopCounts(ctx context.Context, pairID string) (StopCounts, error)
	SaveStopCounts(ctx context.Context, pairID string, c StopCounts) error
}

// stopPausePrefix starts the PauseReason of a pair its stop policy
// paused.
const stopPausePrefix = "stop policy: "

// count returns c with run counted; a run already counted (its ID is
// LastRunID) or that does not count (cancelled, not recorded) leaves c as
// it is and false.
func (c StopCounts) count(run Run) (StopCounts, bool) {
	if run.ID == 0 || run.ID == c.LastRunID || yieldedChunk(run) {
		return c, false
	}
	switch run.Status {
	case RunSucceeded:
		c.Successes++
		c.ConsecutiveFailures = 0
	case RunPartial:
		c.ConsecutiveFailures = 0
	case RunFailed, RunRefused:
		c.Failures++
		c.ConsecutiveFailures++
	default: // cancelled, or still running
		return c, false
	}
	c.Runs++
	c.LastRunID = run.ID
	return c, true
}

// fired returns why the policy stops the pair with counters c ("" when it
// does not).
func (p StopPolicy) fired(c StopCounts) string {
	var why []string
	if p.AfterRuns > 0 && c.Runs >= p.AfterRuns {
		why = append(why, plural(c.Runs, "run"))
	}
	if p.AfterSuccesses > 0 && c.Successes >= p.AfterSuccesses {
		why = append(why, plural(c.Successes, "successful run"))
	}
	if p.AfterFailures > 0 && c.Failures >= p.AfterFailures {
		why = append(why, plural(c.Failures, "failed run"))
	}
	if p.AfterConsecutiveFailures > 0 && c.ConsecutiveFailures >= p.AfterConsecutiveFailures {
		why = append(why, plural(c.ConsecutiveFailures, "consecutive failed run"))
	}
	if len(why) == 0 {
		return ""
	}
	return "stopped after " + strings.Join(why, " and ")
}

// plural says "1 run" or "3 runs".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// checkStop rejects a stop policy the engine cannot apply: a negative
// limit, or a store that cannot keep the counters.
func (e *Engine) checkStop(p Pair) error {
	if err := p.Stop.validate(); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidPair, p.ID, err)
	}
	if _, ok := storeAs[StopCounterStore](e.store); !ok && !p.Stop.IsZero() {
		return fmt.Errorf("%w %q: a stop policy needs a store that keeps its counters (a syncengine.StopCounterStore)",
			ErrInvalidPair, p.ID)
	}
	return nil
}

// StopCounts returns the pair's counters for its stop policy (zero when
// the store keeps none).
func (e *Engine) StopCounts(ctx context.Context, pairID string) (StopCounts, error) {
	if _, err := e.slot(pairID); err != nil {
		return StopCounts{}, err
	}
	cs, ok := storeAs[StopCounterStore](e.store)
	if !ok {
		return StopCounts{}, nil
	}
	return cs.LoadStopCounts(ctx, pairID)
}

// countRun counts the ended run for the pair's stop policy and, when the
// policy fires, pauses the pair, notifies and audits it. Errors are
// logged: the run itself is over.
func (e *Engine) countRun(ctx context.Context, s *pairSlot, run Run) {
	p := s.cur()
	cs, ok := storeAs[StopCounterStore](e.store)
	if !ok || p.Stop.IsZero() {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.stateMu.Lock()
	c, err := cs.LoadStopCounts(ctx, p.ID)
	var counted bool
	if err == nil {
		var runs []Run
		if runs, err = e.uncounted(ctx, p.ID, c, run); err == nil {
			for _, r := range runs {
				var ok bool
				c, ok = c.count(r)
				counted = counted || ok
			}
			if counted {
				err = cs.SaveStopCounts(ctx, p.ID, c)
			}
		}
	}
	s.stateMu.Unlock()
	if err != nil {
		e.log.Warn("syncengine: counting the run for the stop policy", "pair", p.ID, "error", err)
		return
	}
	why := p.Stop.fired(c)
	if !counted || why == "" {
		return
	}
	reason := stopPausePrefix + why
	if err := e.setPaused(ctx, s, true, reason); err != nil {
		e.log.Warn("syncengine: pausing the pair for its stop policy", "pair", p.ID, "error", err)
		return
	}
	e.log.Info("syncengine: stop policy fired; pair paused", "pair", p.ID, "reason", why)
	e.notify(ctx, p, Event{Kind: EventPairPaused, Message: fmt.Sprintf("Sync of %s paused: %s", p.Name, reason)})
	e.auditPair(WithActor(ctx, SystemActor), p, AuditStopPolicyFired, map[string]string{
		"reason": why, "run": strconv.FormatInt(run.ID, 10), "status": string(run.Status),
		"runs": strconv.Itoa(c.Runs), "successes": strconv.Itoa(c.Successes),
		"failures": strconv.Itoa(c.Failures), "consecutive_failures": strconv.Itoa(c.ConsecutiveFailures),
	})
}

// maxCatchUp bounds how many earlier runs a count looks back at.
const maxCatchUp = 20

// uncounted returns the runs to count now, oldest first: run, and the
// runs of the history after the latest one counted (c.LastRunID) that a
// crash kept from being counted when they ended. A pair counted for the
// first time counts run only.
func (e *Engine) uncounted(ctx context.Context, pairID string, c StopCounts, run Run) ([]Run, error) {
	if c.LastRunID == 0 {
		return []Run{run}, nil
	}
	hist, err := e.store.Runs(ctx, pairID, Page{Limit: maxCatchUp})
	if err != nil {
		return nil, err
	}
	out := []Run{run}
	for _, r := range hist {
		if r.ID > c.LastRunID && r.ID != run.ID {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Run) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// resumed records that an admin resumed the pair, which was paused with
// state ps: a pair its stop policy paused starts its counters again.
func (e *Engine) resumed(ctx context.Context, s *pairSlot, ps PairState) error {
	p := s.cur()
	if !ps.Paused {
		return nil
	}
	if cs, ok := storeAs[StopCounterStore](e.store); ok && strings.HasPrefix(ps.PauseReason, stopPausePrefix) {
		// The counters start again after the latest run so far, which
		// must not be counted as missed.
		var last int64
		runs, err := e.store.Runs(ctx, p.ID, Page{Limit: 1})
		if err == nil && len(runs) > 0 {
			last = runs[0].ID
		}
		if err == nil {
			s.stateMu.Lock()
			err = cs.SaveStopCounts(ctx, p.ID, StopCounts{LastRunID: last})
			s.stateMu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("syncengine: resetting the stop policy counters of %s: %w", p.ID, err)
		}
	}
	e.auditPair(ctx, p, AuditPairResumed, map[string]string{"paused_for": ps.PauseReason})
	return nil
}

package syncengine

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/procoresync/procoresync/storage"
)

// errParentFailed is the error recorded for an action that was not tried
// because the folder it goes into could not be created in the same run.
var errParentFailed = errors.New("syncengine: the parent folder could not be created")

// errSourceChanged is the error recorded when the source of a transfer did
// not yield the size or content that was planned: it changed meanwhile.
var errSourceChanged = errors.New("syncengine: the source changed during the transfer")

// applyResult is what applying a plan did.
type applyResult struct {
	counts      RunCounts
	deferred    int      // actions not tried: their item waits for its retry time
	held        []string // paths of deletions held back
	quarantined []string // paths quarantined in this run
	drift       []string // paths that drifted (one-way pairs)
	changed     []string // side:path of items not destroyed because they changed during the run
	waiting     []string // side:path of items not tried: they wait for their retry time
	skipped     []string // side:path: reason of items left alone because they cannot be synced
	locked      []string // side:path of items checked out (locked) on their storage
	// heldCancelled lists side:path of items whose held deletion a later
	// edit cancelled.
	heldCancelled []string
	undone        []string // further reasons, in words
}

// failKey identifies an item's failure record.
type failKey struct {
	side Side
	path string
}

// movedKey identifies an item moved in this run: its baseline Key and side.
type movedKey struct {
	key  int64
	side Side
}

// applier executes one plan of one pair.
type applier struct {
	e      *Engine
	p      *Pair
	pairID string
	runID  int64
	force  bool
	log    *slog.Logger
	// lastPass is set on the run's last planning pass: an item that
	// changed during it is recorded as a failure, retried later.
	lastPass bool

	failures map[failKey]Failure // the pair's failure records when the run started

	mu         sync.Mutex
	res        applyResult
	failedDirs [2]map[string]bool          // folders whose Mkdir failed, per side
	dirs       [2]map[string]storage.Entry // known folder entries, per side
	moved      map[movedKey]storage.Entry  // the result of this run's Moves, for later actions on the item
	held       map[int64]HeldDelete        // the pair's held deletions by baseline Key, when the run started
	failedKeys map[int64]bool              // baseline records an action failed on in this run
	conc       *concurrency                // the bound of the running pass, nil outside apply
	// While a window runs (buffering), the "done" journal records and the
	// activity lines wait in doneBuf and actBuf and are written together
	// when it ends (rule 2 of groupcommit.go).
	buffering bool
	doneBuf   []int64
	actBuf    []Activity
	// baseBuf holds, while a window runs, the confirmed new items (a Copy
	// or a Mkdir of an item the baseline does not hold yet) whose
	// baseline item, "done" record and activity line are written when the
	// window ends, the items of the whole window in one transaction (rule
	// 4 of groupcommit.go).
	baseBuf []bufferedBaseline
	// changedKeys are the baseline records whose item changed during this
	// pass (a destructive action on it was not done): planned again.
	changedKeys map[int64]bool
	// yield, on a scheduled initial sync, stops the pass cleanly between
	// actions when the run yields its slot (schedule_chunk.go).
	yield *yielder
	// claimed holds, per side, the items the plan being applied acts on
	// or takes content from (its actions' Target and Source entries), by
	// ID, with the baseline Key of the actions that name them: 0 for an
	// item new to the baseline, -1 when actions on different Keys name
	// it. It is set before the plan runs and only read while it runs.
	claimed [2]map[string]int64
}

// newApplier prepares to apply a plan of pair p for run runID.
func (e *Engine) newApplier(ctx context.Context, p *Pair, runID int64, force bool) (*applier, error) {
	ap := &applier{e: e, p: p, pairID: p.ID, runID: runID, force: force,
		log:         e.log.With(LogKeyPair, p.ID, LogKeyRun, runID),
		failures:    map[failKey]Failure{},
		moved:       map[movedKey]storage.Entry{},
		failedKeys:  map[int64]bool{},
		changedKeys: map[int64]bool{},
	}
	for s := range 2 {
		ap.failedDirs[s] = map[string]bool{}
		ap.dirs[s] = map[string]storage.Entry{}
	}
	fs, err := e.store.Failures(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("syncengine: loading failures of pair %s: %w", p.ID, err)
	}
	for _, f := range fs {
		ap.failures[failKey{f.Side, f.Path}] = f
	}
	hs, err := e.store.HeldDeletes(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("syncengine: loading held deletions of pair %s: %w", p.ID, err)
	}
	ap.held = map[int64]HeldDelete{}
	for _, h := range hs {
		if h.Key != 0 {
			ap.held[h.Key] = h
		}
	}
	return ap, nil
}

// actionClass groups action kinds that may run side by side.
type actionClass uint8

const (
	classMkdir actionClass = iota
	classMove
	classTransfer
	classDelete
)

func classOf(k ActionKind) actionClass {
	switch k {
	case ActionMkdir:
		return classMkdir
	case ActionMove:
		return classMove
	case ActionDelete:
		return classDelete
	}
	return classTransfer
}

// depth returns the number of segments of p ("" has none).
func depth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

// parentPath returns the folder that holds p ("" for top-level items).
func parentPath(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// schedule splits a plan into batches that run one after the other; the
// actions of one batch are split into chains that may run concurrently,
// each chain in order. The plan's order is kept wherever it matters:
// consecutive folder creations run level by level, top-down; consecutive
// deletions level by level, deepest first; consecutive moves in chains of
// moves whose paths are related (see moveBatches); other actions
// concurrently, except that actions on the same baseline Key (or the same
// path on the same side) stay in plan order within one chain.
func schedule(actions []Action) [][][]int {
	var out [][][]int
	for i := 0; i < len(actions); {
		c := classOf(actions[i].Kind)
		j := i
		for j < len(actions) && classOf(actions[j].Kind) == c {
			j++
		}
		seg := make([]int, 0, j-i)
		for k := i; k < j; k++ {
			seg = append(seg, k)
		}
		switch c {
		case classMove:
			out = append(out, moveBatches(actions, seg)...)
		case classMkdir, classDelete:
			sign := 1
			if c == classDelete {
				sign = -1
			}
			slices.SortStableFunc(seg, func(a, b int) int {
				return sign * (depth(actions[a].Path) - depth(actions[b].Path))
			})
			for s := 0; s < len(seg); {
				d := depth(actions[seg[s]].Path)
				t := s
				var batch [][]int
				for t < len(seg) && depth(actions[seg[t]].Path) == d {
					batch = append(batch, []int{seg[t]})
					t++
				}
				out = append(out, batch)
				s = t
			}
		default:
			type chainKey struct {
				key  int64
				side Side
				path string
			}
			idx := map[chainKey]int{}
			var batch [][]int
			for _, k := range seg {
				a := actions[k]
				ck := chainKey{key: a.Key}
				if a.Key == 0 {
					ck = chainKey{side: a.Side, path: a.Path}
				}
				if n, ok := idx[ck]; ok {
					batch[n] = append(batch[n], k)
					continue
				}
				idx[ck] = len(batch)
				batch = append(batch, []int{k})
			}
			out = append(out, batch)
		}
		i = j
	}
	return out
}

// moveBatches splits consecutive moves seg (indexes into actions) into
// batches of at most applyWindow moves, each split into chains that may
// run side by side. A move's paths may depend on the moves planned before
// it (a file renamed in a folder renamed first, a name freed by a move
// aside), so a move joins the chain of every earlier move of its batch
// whose paths are related to its own: the same path, or one inside the
// other, on the same side, among the path it moves from, the path it
// moves to and its source's path on the other side; or the same baseline
// item. Paths are compared case-folded and in Unicode NFC, so names that a
// storage takes for the same are related too. A move related to moves of
// two chains starts a new batch, which runs after both.
func moveBatches(actions []Action, seg []int) [][][]int {
	type sidePath struct {
		side Side
		path string
	}
	var (
		out   [][][]int
		batch [][]int
		n     int
		exact = map[sidePath]int{} // a path a move names → its chain
		below = map[sidePath]int{} // a folder → the chain of the paths named inside it, -1 for several
		keys  = map[int64]int{}    // a baseline item → the chain of its moves
	)
	flush := func() {
		if len(batch) > 0 {
			out = append(out, batch)
		}
		batch, n = nil, 0
		clear(exact)
		clear(below)
		clear(keys)
	}
	for _, k := range seg {
		a := actions[k]
		var paths []sidePath
		for _, sp := range []sidePath{{a.Side, a.Target.Path}, {a.Side, a.Path}, {a.Side.Other(), a.Source.Path}} {
			if sp.path != "" {
				paths = append(paths, sidePath{sp.side, foldPath(sp.path)})
			}
		}
		chain, several := -1, false
		join := func(c int) {
			switch {
			case c < 0:
				several = true
			case chain < 0:
				chain = c
			case chain != c:
				several = true
			}
		}
		if c, ok := keys[a.Key]; ok && a.Key != 0 {
			join(c)
		}
		for _, sp := range paths {
			if c, ok := below[sp]; ok {
				join(c)
			}
			for d := sp.path; d != ""; d = parentPath(d) {
				if c, ok := exact[sidePath{sp.side, d}]; ok {
					join(c)
				}
			}
		}
		if several || n >= applyWindow {
			flush()
			chain = -1
		}
		if chain < 0 {
			chain = len(batch)
			batch = append(batch, nil)
		}
		batch[chain] = append(batch[chain], k)
		n++
		if a.Key != 0 {
			keys[a.Key] = chain
		}
		for _, sp := range paths {
			exact[sp] = chain
			for d := parentPath(sp.path); d != ""; d = parentPath(d) {
				dk := sidePath{sp.side, d}
				if c, ok := below[dk]; ok && c != chain {
					below[dk] = -1
				} else {
					below[dk] = chain
				}
			}
		}
	}
	flush()
	return out
}

// foldPath is p case-folded and in Unicode NFC: two paths that some
// storage takes for the same fold alike.
func foldPath(p string) string {
	return strings.ToLower(norm.NFC.String(p))
}

// apply executes plan. It returns early, leaving the journal pending for
// recovery, when ctx is done; otherwise every action is tried once and
// failures are recorded item by item.
//
// Actions are journalled a window at a time (one durable commit per window,
// see groupcommit.go), and what follows each confirmed action is committed
// with deferred durability; the storages that batch their own durability
// are flushed before every durable commit and when the plan is done.
func (ap *applier) apply(ctx context.Context, plan Plan) applyResult {
	ap.claim(plan)
	bs := ap.p.batchers()
	for _, b := range bs {
		b.BeginBatch()
	}
	lazy := WithDeferredDurability(ctx)
	conc := newConcurrency(ap.p.Concurrency, ap.p.MaxConcurrency, ap.e.budgetRoom(ap.p.Budgets))
	ap.mu.Lock()
	ap.conc = conc
	ap.mu.Unlock()
	for _, batch := range schedule(plan.Actions) {
		if ctx.Err() != nil || ap.yield.yielded() {
			break
		}
		for w := 0; w < len(batch); {
			end, n := w, 0
			for end < len(batch) && (n == 0 || n+len(batch[end]) <= applyWindow) {
				n += len(batch[end])
				end++
			}
			window := batch[w:end]
			w = end
			if ctx.Err() != nil || ap.yield.yielded() || !ap.runWindow(ctx, lazy, plan, window, bs, conc) {
				break
			}
		}
	}
	wctx := context.WithoutCancel(lazy)
	ap.unwindMovesNotDone(wctx, plan)
	for _, b := range bs {
		// Before the run's next durable commit (rule 3 of groupcommit.go).
		if err := b.EndBatch(context.WithoutCancel(ctx)); err != nil {
			ap.log.Warn("syncengine: flushing a storage", "error", err)
			ap.mu.Lock()
			ap.res.undone = append(ap.res.undone, "a storage could not make its changes durable: "+err.Error())
			ap.mu.Unlock()
		}
	}
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return ap.res
}

// claim records in ap.claimed the items that plan's actions name.
func (ap *applier) claim(plan Plan) {
	for s := range ap.claimed {
		ap.claimed[s] = map[string]int64{}
	}
	add := func(s Side, id string, key int64) {
		if id == "" {
			return
		}
		if k, ok := ap.claimed[s][id]; ok && k != key {
			key = -1
		}
		ap.claimed[s][id] = key
	}
	for _, a := range plan.Actions {
		add(a.Side.Other(), a.Source.ID, a.Key)
		add(a.Side, a.Target.ID, a.Key)
	}
}

// runWindow journals the actions of window (chains of plan's actions)
// durably, after flushing the storages bs, and runs them, chains
// concurrently. It returns false when the window could not be journalled.
func (ap *applier) runWindow(ctx, lazy context.Context, plan Plan, window [][]int, bs []DurabilityBatcher, conc *concurrency) bool {
	for _, b := range bs {
		if err := b.Flush(ctx); err != nil {
			if ctx.Err() == nil {
				ap.log.Warn("syncengine: flushing a storage", "error", err)
				ap.mu.Lock()
				ap.res.undone = append(ap.res.undone, "a storage could not make its changes durable: "+err.Error())
				ap.mu.Unlock()
				// Nothing of the window was tried: each action fails alike
				// (the next run tries it again, and reads these changes
				// again).
				for _, chain := range window {
					for _, k := range chain {
						ap.fail(lazy, plan.Actions[k], fmt.Errorf("syncengine: a storage could not make its changes durable: %w", err))
					}
				}
			}
			return false
		}
	}
	now := ap.e.clock.Now()
	var recs []JournalRecord
	var at []int // index in recs of each action journalled, by position in the window
	for _, chain := range window {
		for _, k := range chain {
			a := plan.Actions[k]
			if !journalled(a.Kind) {
				at = append(at, -1)
				continue
			}
			at = append(at, len(recs))
			recs = append(recs, JournalRecord{PairID: ap.pairID, RunID: ap.runID, Action: a,
				State: JournalPending, Started: now})
		}
	}
	var ids []int64
	if len(recs) > 0 {
		var err error
		ids, err = ap.e.beginActions(ctx, recs)
		if err != nil {
			if ctx.Err() == nil {
				// Nothing of the window was tried: each action fails alike.
				for _, chain := range window {
					for _, k := range chain {
						ap.fail(lazy, plan.Actions[k], fmt.Errorf("syncengine: journalling: %w", err))
					}
				}
			}
			for _, id := range ids {
				ap.closeUntried(lazy, id)
			}
			return false
		}
	}
	type job struct {
		chain []int
		first int // position in the window of the chain's first action
	}
	ap.mu.Lock()
	ap.buffering = true
	ap.mu.Unlock()
	defer ap.endBuffering(lazy)
	started := make([]bool, len(at))
	ch := make(chan job)
	var wg sync.WaitGroup
	for range min(conc.workers(), len(window)) {
		wg.Go(func() {
			for j := range ch {
				for i, k := range j.chain {
					if ctx.Err() != nil || !ap.yield.next() {
						break
					}
					var jid int64
					if r := at[j.first+i]; r >= 0 {
						jid = ids[r]
					}
					started[j.first+i] = true
					conc.run(func() { ap.runJournalled(lazy, plan.Actions[k], jid) })
				}
			}
		})
	}
	pos := 0
	for _, chain := range window {
		ch <- job{chain: chain, first: pos}
		pos += len(chain)
	}
	close(ch)
	wg.Wait()
	for i, r := range at {
		if r >= 0 && !started[i] {
			ap.closeUntried(lazy, ids[r]) // cancelled before it started
		}
	}
	return true
}

// endBuffering writes the "done" records and activity lines buffered
// while a window ran, in one transaction where the store can.
func (ap *applier) endBuffering(ctx context.Context) {
	ap.mu.Lock()
	ids, acts, bbs := ap.doneBuf, ap.actBuf, ap.baseBuf
	ap.doneBuf, ap.actBuf, ap.baseBuf, ap.buffering = nil, nil, nil, false
	ap.mu.Unlock()
	for _, bb := range ap.flushBaseline(ctx, bbs) {
		if bb.jid != 0 {
			ids = append(ids, bb.jid)
		}
		acts = append(acts, bb.act)
	}
	if err := ap.e.endActions(context.WithoutCancel(ctx), ids, acts); err != nil {
		ap.log.Warn("syncengine: journal", "error", err)
	}
}

// bufferedBaseline is a confirmed action whose baseline item waits for the
// end of its window (rule 4 of groupcommit.go).
type bufferedBaseline struct {
	a     Action
	jid   int64
	items []Item // what the action's putItem calls gave
	act   Activity
}

// baselineBufKey is the context key under which runJournalled hands
// putItem the *bufferedBaseline of an action whose baseline item may wait.
type baselineBufKey struct{}

// deferrable reports whether the baseline item of action a (journalled as
// jid) may wait for the end of its window: a Copy or a Mkdir of a new item
// (no baseline record yet, so no other action of the run refers to it, and
// no held deletion or failure record to settle with it), journalled
// durably before it started, while a window is buffering.
func (ap *applier) deferrable(a Action, jid int64) bool {
	if jid == 0 || a.Key != 0 || (a.Kind != ActionCopy && a.Kind != ActionMkdir) {
		return false
	}
	if _, ok := ap.failures[failKey{a.Side, failurePath(a)}]; ok {
		return false
	}
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return ap.buffering
}

// flushBaseline writes the baseline items of bbs, all in one transaction,
// and returns the entries written. When that transaction fails it writes
// them entry by entry, and an entry whose item cannot be written fails as
// its action would have with an immediate write: journal "failed",
// failure record. Its storage change stays, and the next run adopts it
// (the same content at the same place) or plans it again.
func (ap *applier) flushBaseline(ctx context.Context, bbs []bufferedBaseline) []bufferedBaseline {
	if len(bbs) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	var items []Item
	for _, bb := range bbs {
		items = append(items, bb.items...)
	}
	err := ap.e.store.PutItems(ctx, ap.pairID, items, nil)
	if err == nil {
		return bbs
	}
	ap.log.Warn("syncengine: baseline of a window; writing it item by item", "error", err)
	done := bbs[:0:0]
	for _, bb := range bbs {
		if err := ap.e.store.PutItems(ctx, ap.pairID, bb.items, nil); err != nil {
			err = fmt.Errorf("syncengine: baseline: %w", err)
			if bb.jid != 0 {
				if e2 := ap.e.store.EndAction(ctx, bb.jid, JournalFailed, err.Error()); e2 != nil {
					ap.log.Warn("syncengine: journal", "error", e2)
				}
			}
			ap.fail(ctx, bb.a, err)
			continue
		}
		done = append(done, bb)
	}
	return done
}

// closeUntried closes the journal record of an action that was never
// tried: nothing to resolve, the next plan sees the item again.
func (ap *applier) closeUntried(ctx context.Context, jid int64) {
	if jid == 0 {
		return
	}
	if err := ap.e.store.EndAction(context.WithoutCancel(ctx), jid, JournalFailed, errInterrupted); err != nil {
		ap.log.Warn("syncengine: journal", "error", err)
	}
}

// unwindMovesNotDone keeps the baseline true where a folder's Move was
// planned but not done (its folder changed meanwhile, it failed, or it
// waits for a retry). Other actions of the plan record paths as they are
// after its Moves: a folder made, or a file copied, on the other side
// records its path on the Move's side below the Move's destination. With
// the Move not done, those paths are taken back below the folder's path as
// the baseline records it, where the next pass's detection finds the
// folder (and follows it wherever a person moved it). Later Moves first, so
// that nested ones unwind in order.
func (ap *applier) unwindMovesNotDone(ctx context.Context, plan Plan) {
	for i := len(plan.Actions) - 1; i >= 0; i-- {
		a := plan.Actions[i]
		if a.Kind != ActionMove || !a.IsDir || a.Target.ID == "" || a.Path == "" {
			continue
		}
		ap.mu.Lock()
		m, ok := ap.moved[movedKey{a.Key, a.Side}]
		ap.mu.Unlock()
		if ok && a.Key != 0 && m.Path == a.Path {
			continue // done
		}
		it, err := ap.e.store.ItemByID(ctx, ap.pairID, a.Side, a.Target.ID)
		if err != nil {
			if !errors.Is(err, ErrNoItem) {
				ap.log.Warn("syncengine: baseline", "error", err)
			}
			continue
		}
		at := it.Side(a.Side).Path
		if at == a.Path || at == "" {
			continue
		}
		if err := ap.moveBelow(ctx, a.Side, it, a.Path, at); err != nil {
			ap.log.Warn("syncengine: baseline", "error", err)
		}
	}
}

// failurePath returns the path that identifies a's item in the failure
// records: its path on the source side where there is one.
func failurePath(a Action) string {
	switch a.Kind {
	case ActionDelete, ActionHoldDelete:
		if a.Target.Path != "" {
			return a.Target.Path
		}
	default:
		if a.Source.Path != "" {
			return a.Source.Path
		}
	}
	return a.Path
}

// journalled reports whether an action kind writes to a storage or to the
// baseline and is therefore journalled.
func journalled(k ActionKind) bool {
	switch k {
	case ActionDrift, ActionSkip:
		return false
	}
	return true
}

// runJournalled applies one action and records its outcome. jid is the
// action's pending journal record when the caller journalled it already
// (durably), 0 to journal it here.
func (ap *applier) runJournalled(ctx context.Context, a Action, jid int64) {
	now := ap.e.clock.Now()
	switch a.Kind {
	case ActionSkip:
		ap.activity(ctx, a, 0, "skipped: "+a.Reason)
		ap.mu.Lock()
		ap.res.counts.Skipped++
		ap.res.skipped = append(ap.res.skipped, a.Side.String()+":"+a.Path)
		if a.WaitsForFolder {
			ap.res.deferred++ // the cursors stay: the next run reads it again
		}
		ap.mu.Unlock()
		if a.Failed {
			// Not a choice but a failure of the item (name mapping is off
			// and its name is invalid on the target): error log, and the
			// run is partial. Retrying cannot help, so no failure record.
			ap.log.Warn("syncengine: item cannot be synced", "side", a.Side.String(), "path", a.Path,
				"reason", a.Reason)
			if err := ap.e.store.AddError(context.WithoutCancel(ctx), ErrorRecord{PairID: ap.pairID,
				RunID: ap.runID, Time: now, Side: a.Side, Path: a.Path, Op: "copy",
				Error: a.Reason}); err != nil {
				ap.log.Warn("syncengine: error log", "error", err)
			}
			ap.mu.Lock()
			ap.res.counts.Failed++
			ap.mu.Unlock()
		}
		return
	case ActionDrift:
		ap.activity(ctx, a, a.Source.Size, "drift: "+a.Reason)
		ap.mu.Lock()
		ap.res.drift = append(ap.res.drift, a.Path)
		ap.mu.Unlock()
		return
	}
	fk := failKey{a.Side, failurePath(a)}
	prev, hadFailure := ap.failures[fk]
	if hadFailure && !ap.force && (prev.Quarantined || prev.NextAttempt.After(now)) {
		ap.closeUntried(ctx, jid)
		ap.mu.Lock()
		if !prev.Quarantined {
			ap.res.deferred++
			ap.res.counts.Waiting++
			ap.res.waiting = append(ap.res.waiting, a.Side.String()+":"+a.Path)
		}
		if a.Key != 0 {
			// Later steps on the item (a Link recording where a deferred
			// Move would have put it) wait with it.
			ap.failedKeys[a.Key] = true
		}
		ap.mu.Unlock()
		return
	}
	if a.Key != 0 && ap.keyFailed(a.Key) {
		// A later step on an item whose earlier step failed (say, a Link
		// that records where a failed Move would have put it): not done,
		// the next run plans the item again.
		ap.closeUntried(ctx, jid)
		ap.mu.Lock()
		if ap.changedKeys[a.Key] {
			// Its item changed during the run: the next pass plans it.
			ap.mu.Unlock()
			return
		}
		ap.res.deferred++
		ap.res.counts.Waiting++
		ap.res.waiting = append(ap.res.waiting, a.Side.String()+":"+a.Path)
		ap.mu.Unlock()
		return
	}
	if dir := parentPath(a.Path); ap.parentFailed(a.Side, dir) {
		ap.closeUntried(ctx, jid)
		ap.fail(ctx, a, storage.NewError(a.Kind.String(), a.Path, nil, errParentFailed))
		return
	}
	// Connectors pace each of their calls through the shared limiter
	// themselves; the engine only honours a block the service imposed
	// (a 429's Retry-After), without drawing on the budget a second time.
	if err := ap.e.waitUnblocked(ctx, ap.p.Budgets); err != nil {
		ap.closeUntried(ctx, jid)
		return // cancelled: nothing was done
	}
	if jid == 0 && journalled(a.Kind) {
		id, err := ap.e.store.BeginAction(durable(ctx), JournalRecord{PairID: ap.pairID, RunID: ap.runID,
			Action: a, State: JournalPending, Started: now})
		if err != nil {
			if ctx.Err() == nil {
				ap.fail(ctx, a, fmt.Errorf("syncengine: journalling: %w", err))
			}
			return
		}
		jid = id
	}
	actx, cancel := ap.e.actionContext(ctx, a)
	var bb bufferedBaseline
	if ap.deferrable(a, jid) {
		actx = context.WithValue(actx, baselineBufKey{}, &bb)
	}
	size, detail, err := ap.do(actx, a)
	timedOut := actx.Err() != nil && ctx.Err() == nil
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled: the journal stays pending; recovery resolves it.
			return
		}
		if timedOut {
			// A stuck storage call, cancelled at Options.ActionTimeout:
			// whether the storage did anything is unknown, so the journal
			// stays pending for recovery to resolve; the item is retried.
			ap.fail(ctx, a, fmt.Errorf("%w (%v): %w", ErrActionTimeout, ap.e.actionTimeout(a), err))
			return
		}
		if errors.Is(err, errChanged) && !ap.lastPass {
			// Not done, nothing destroyed: the run plans the item again
			// from a fresh reading.
			if jid != 0 {
				if e2 := ap.e.store.EndAction(context.WithoutCancel(ctx), jid, JournalFailed, err.Error()); e2 != nil {
					ap.log.Warn("syncengine: journal", "error", e2)
				}
			}
			ap.log.Info("syncengine: item changed during the run; planned again", "action", a.Kind.String(),
				"side", a.Side.String(), "path", a.Path, "reason", err)
			ap.activity(context.WithoutCancel(ctx), a, 0, "not done: "+err.Error())
			ap.mu.Lock()
			ap.res.counts.Replanned++
			ap.res.changed = append(ap.res.changed, a.Side.String()+":"+a.Path)
			if a.Key != 0 {
				ap.failedKeys[a.Key] = true
				ap.changedKeys[a.Key] = true
			}
			ap.mu.Unlock()
			return
		}
		if jid != 0 {
			if e2 := ap.e.store.EndAction(context.WithoutCancel(ctx), jid, JournalFailed, err.Error()); e2 != nil {
				ap.log.Warn("syncengine: journal", "error", e2)
			}
		}
		ap.fail(ctx, a, err)
		return
	}
	wctx := context.WithoutCancel(ctx)
	if bb.items != nil {
		// Its baseline item waits for the window's end (rule 4 of
		// groupcommit.go), and its "done" record and activity line with it.
		bb.a, bb.jid = a, jid
		bb.act = ap.activityOf(a, size, detail)
		ap.mu.Lock()
		ap.baseBuf = append(ap.baseBuf, bb)
		ap.mu.Unlock()
		ap.log.Debug("syncengine: applied", "action", a.Kind.String(), "side", a.Side.String(), "path", a.Path)
		return
	}
	if jid != 0 {
		ap.mu.Lock()
		buffered := ap.buffering
		if buffered {
			ap.doneBuf = append(ap.doneBuf, jid)
		}
		ap.mu.Unlock()
		if !buffered {
			if e2 := ap.e.store.EndAction(wctx, jid, JournalDone, ""); e2 != nil {
				ap.log.Warn("syncengine: journal", "error", e2)
			}
		}
	}
	ap.releaseRestoredHold(wctx, a)
	if hadFailure {
		if e2 := ap.e.store.ClearFailure(wctx, ap.pairID, fk.side, fk.path); e2 != nil {
			ap.log.Warn("syncengine: clearing failure", "error", e2)
		}
	}
	ap.activity(wctx, a, size, detail)
}

// clearObsoleteFailures forgets the failure records that were due for a
// retry when the run started but for which the plan had nothing to do: the
// item is gone or in sync by now. Quarantined records stay until an admin
// releases them.
func (ap *applier) clearObsoleteFailures(ctx context.Context, plan Plan, started time.Time) {
	planned := map[failKey]bool{}
	for _, a := range plan.Actions {
		planned[failKey{a.Side, failurePath(a)}] = true
	}
	for k, f := range ap.failures {
		if f.Quarantined || f.NextAttempt.After(started) || planned[k] {
			continue
		}
		if err := ap.e.store.ClearFailure(context.WithoutCancel(ctx), ap.pairID, k.side, k.path); err != nil {
			ap.log.Warn("syncengine: clearing failure", "error", err)
		}
	}
}

// keyFailed reports whether an action on baseline record key failed in
// this run.
func (ap *applier) keyFailed(key int64) bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	return ap.failedKeys[key]
}

// parentFailed reports whether folder dir, or one above it, failed to be
// created on side s in this run.
func (ap *applier) parentFailed(s Side, dir string) bool {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if len(ap.failedDirs[s]) == 0 {
		return false
	}
	for d := dir; d != ""; d = parentPath(d) {
		if ap.failedDirs[s][d] {
			return true
		}
	}
	return false
}

// activity logs an applied action.
func (ap *applier) activity(ctx context.Context, a Action, size int64, detail string) {
	act := ap.activityOf(a, size, detail)
	ap.mu.Lock()
	if ap.buffering {
		ap.actBuf = append(ap.actBuf, act)
		ap.mu.Unlock()
		ap.log.Debug("syncengine: applied", "action", a.Kind.String(), "side", a.Side.String(), "path", a.Path)
		return
	}
	ap.mu.Unlock()
	if err := ap.e.store.AddActivity(context.WithoutCancel(ctx), []Activity{act}); err != nil {
		ap.log.Warn("syncengine: activity log", "error", err)
	}
	ap.log.Debug("syncengine: applied", "action", a.Kind.String(), "side", a.Side.String(), "path", a.Path)
}

// activityOf is the activity line of action a, done.
func (ap *applier) activityOf(a Action, size int64, detail string) Activity {
	if detail == "" {
		detail = a.Reason
	}
	return Activity{PairID: ap.pairID, RunID: ap.runID, Time: ap.e.clock.Now(), Kind: a.Kind,
		Side: a.Side, Path: a.Path, Size: size, Detail: detail}
}

// backoff returns the delay before attempt n+1 after n consecutive
// failures: RetryBackoff doubled per failure, capped at MaxRetryBackoff.
func (e *Engine) backoff(n int) time.Duration {
	d := e.opts.RetryBackoff
	for i := 1; i < n && d < e.opts.MaxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, e.opts.MaxRetryBackoff)
}

// fail records a failed action: error log, failure record with backoff or
// quarantine, and the Limiter's feedback for throttling.
func (ap *applier) fail(ctx context.Context, a Action, err error) {
	wctx := context.WithoutCancel(ctx)
	now := ap.e.clock.Now()
	fk := failKey{a.Side, failurePath(a)}
	ap.log.Warn("syncengine: action failed", "action", a.Kind.String(), "side", a.Side.String(),
		"path", a.Path, "error", err)
	if e2 := ap.e.store.AddError(wctx, ErrorRecord{PairID: ap.pairID, RunID: ap.runID, Time: now,
		Side: a.Side, Path: a.Path, Op: a.Kind.String(), Error: err.Error()}); e2 != nil {
		ap.log.Warn("syncengine: error log", "error", e2)
	}
	f, ok := ap.failures[fk]
	if !ok {
		f = Failure{PairID: ap.pairID, Side: fk.side, Path: fk.path}
	}
	f.Error = err.Error()
	f.Updated = now
	quarantined := false
	if d, throttled := storage.RetryAfter(err); throttled {
		// Throttling is the service's state, not the item's: back off the
		// pair's budgets and retry the item without counting an attempt.
		for _, key := range ap.p.Budgets {
			ap.e.limiter.Observe(key, Feedback{RetryAfter: d})
		}
		ap.mu.Lock()
		conc := ap.conc
		ap.mu.Unlock()
		if conc != nil {
			conc.throttled()
		}
		f.NextAttempt = now.Add(d)
	} else if errors.Is(err, storage.ErrLocked) {
		// Checked out or locked by a person: transient, however long it
		// lasts. Retried after its own longer backoff, never quarantined
		// for it; it syncs once it is checked in.
		f.NextAttempt = now.Add(ap.e.opts.LockedBackoff)
		ap.mu.Lock()
		ap.res.locked = append(ap.res.locked, a.Side.String()+":"+a.Path)
		ap.mu.Unlock()
	} else if errors.Is(err, errChanged) {
		// Still changing after the run's last pass: not the item's fault
		// either; a later run plans it again.
		f.NextAttempt = now.Add(ap.e.opts.RetryBackoff)
	} else {
		f.Attempts++
		f.NextAttempt = now.Add(ap.e.backoff(f.Attempts))
		if f.Attempts >= ap.e.opts.MaxAttempts && !f.Quarantined {
			f.Quarantined = true
			quarantined = true
		}
	}
	if e2 := ap.e.store.PutFailure(wctx, f); e2 != nil {
		ap.log.Warn("syncengine: failure record", "error", e2)
	}
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.res.counts.Failed++
	if quarantined {
		ap.res.quarantined = append(ap.res.quarantined, a.Path)
	}
	if a.Kind == ActionMkdir {
		ap.failedDirs[a.Side][a.Path] = true
	}
	if a.Key != 0 {
		ap.failedKeys[a.Key] = true
	}
}

// count adds to the run's counts.
func (ap *applier) count(f func(c *RunCounts)) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	f(&ap.res.counts)
}

// dir returns the entry of folder p on side s, from the run's cache or the
// storage.
func (ap *applier) dir(ctx context.Context, s Side, p string) (storage.Entry, error) {
	ap.mu.Lock()
	e, ok := ap.dirs[s][p]
	ap.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := ap.p.storage(s).Stat(ctx, p)
	if err != nil {
		return storage.Entry{}, err
	}
	if !e.IsDir {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotDir, nil)
	}
	ap.rememberDir(s, e)
	return e, nil
}

// rememberDir caches folder e of side s.
func (ap *applier) rememberDir(s Side, e storage.Entry) {
	if !e.IsDir {
		return
	}
	ap.mu.Lock()
	defer ap.mu.Unlock()
	ap.dirs[s][e.Path] = e
}

// forgetDirs drops the cached folders of side s at or below p.
func (ap *applier) forgetDirs(s Side, p string) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	for k := range ap.dirs[s] {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(ap.dirs[s], k)
		}
	}
}

// fresh returns e, an entry on side s of baseline record key, as a Move
// earlier in this run left it (a new path, and a new version on storages
// that change it on a move).
func (ap *applier) fresh(key int64, s Side, e storage.Entry) storage.Entry {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if m, ok := ap.moved[movedKey{key, s}]; ok && key != 0 && m.ID == e.ID {
		return m
	}
	return e
}

// itemOf builds a baseline item from an entry on side s and one on the
// other side.
func itemOf(key int64, isDir bool, s Side, onSide, onOther storage.Entry) Item {
	it := Item{Key: key, IsDir: isDir}
	*it.Side(s) = StateOf(onSide)
	*it.Side(s.Other()) = StateOf(onOther)
	return it
}

// putItem writes one baseline item. It runs after the storage confirmed the
// action, so it is not cancelled with the run.
func (ap *applier) putItem(ctx context.Context, it Item, del ...int64) error {
	if bb, ok := ctx.Value(baselineBufKey{}).(*bufferedBaseline); ok && len(del) == 0 {
		bb.items = append(bb.items, it)
		return nil
	}
	if err := ap.e.store.PutItems(context.WithoutCancel(ctx), ap.pairID, []Item{it}, del); err != nil {
		return fmt.Errorf("syncengine: baseline: %w", err)
	}
	return nil
}

// do performs action a and advances the baseline. It returns the bytes
// concerned and a detail for the activity log.
func (ap *applier) do(ctx context.Context, a Action) (int64, string, error) {
	// After a Move of the item earlier in the run (a Move aside in a cycle
	// of moves, then this one), act on the entry that Move left.
	planned := a.Target
	a.Target = ap.fresh(a.Key, a.Side, a.Target)
	a.Source = ap.fresh(a.Key, a.Side.Other(), a.Source)
	switch a.Kind {
	case ActionMkdir:
		return ap.doMkdir(ctx, a)
	case ActionCopy:
		return ap.doCopy(ctx, a)
	case ActionUpdate:
		return ap.doUpdate(ctx, a)
	case ActionMove:
		return ap.move(ctx, a)
	case ActionDelete:
		return ap.delete(ctx, a)
	case ActionLink:
		return ap.doLink(ctx, a, planned)
	case ActionForget:
		return ap.doForget(ctx, a)
	case ActionConflict:
		return ap.conflict(ctx, a)
	case ActionHoldDelete:
		return ap.doHoldDelete(ctx, a)
	}
	return 0, "", fmt.Errorf("syncengine: unknown action kind %d", a.Kind)
}

// doMkdir creates folder a.Path on a.Side, adopting a folder already
// there that the baseline does not hold for another item.
func (ap *applier) doMkdir(ctx context.Context, a Action) (int64, string, error) {
	st := ap.p.storage(a.Side)
	parent, err := ap.dir(ctx, a.Side, parentPath(a.Path))
	if err != nil {
		return 0, "", err
	}
	e, err := st.MakeDir(ctx, parent, path.Base(a.Path))
	detail := ""
	if errors.Is(err, storage.ErrAlreadyExists) {
		e, err = ap.adoptDir(ctx, a, e, err)
		detail = "folder existed: adopted"
	}
	if err != nil {
		return 0, "", err
	}
	ap.rememberDir(a.Side, e)
	if err := ap.putItem(ctx, itemOf(a.Key, true, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	ap.count(func(c *RunCounts) { c.FoldersMade++ })
	return 0, detail, nil
}

// adoptDir returns the folder already at a.Path that MakeDir reported (e,
// failing with exists), or an error when a file is in the way or the
// folder cannot be adopted.
func (ap *applier) adoptDir(ctx context.Context, a Action, e storage.Entry, exists error) (storage.Entry, error) {
	var err error
	if e.ID == "" || !e.IsDir {
		e, err = ap.p.storage(a.Side).Stat(ctx, a.Path)
		if err == nil && !e.IsDir {
			err = storage.NewError("mkdir", a.Path, storage.ErrAlreadyExists, errors.New("a file is in the way"))
		}
	}
	if err == nil {
		if ok, aerr := ap.adoptable(ctx, a.Side, e, a.Key); aerr != nil || !ok {
			err = errors.Join(exists, aerr)
		}
	}
	return e, err
}

// doCopy copies a new file to a.Path on a.Side.
func (ap *applier) doCopy(ctx context.Context, a Action) (int64, string, error) {
	e, adopted, err := ap.copyNew(ctx, a, a.Path)
	if err != nil {
		return 0, "", err
	}
	if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	if adopted {
		ap.count(func(c *RunCounts) { c.Linked++ })
		return e.Size, "already there with the same content: adopted", nil
	}
	return e.Size, "", nil
}

// doUpdate writes the source's content as a new version of a.Target.
func (ap *applier) doUpdate(ctx context.Context, a Action) (int64, string, error) {
	t := a.Target
	if h, ok := ap.heldOn(a); ok {
		// The deletion of this item on a.Side is held and the kept
		// copy was edited since: the copy on a.Side is gone, so the
		// edit restores it (a change wins over a deletion) instead of
		// updating a deleted file.
		if _, err := storage.StatCurrent(ctx, ap.p.storage(a.Side), t); errors.Is(err, storage.ErrNotFound) {
			return ap.restoreHeld(ctx, a, h)
		} else if err != nil {
			return 0, "", err
		}
	}
	detail := ""
	if ap.p.Direction != DirectionTwoWay && a.Side == SideB {
		cur, err := ap.driftedTarget(ctx, t)
		if err != nil {
			return 0, "", err
		}
		if cur.Version != t.Version {
			detail = "B's own edit (drift) overwritten"
		}
		t, a.Target = cur, cur
	}
	if eq, known := a.Source.Hashes.Equal(t.Hashes); known && eq && !sizesDiffer(a.Source.Size, t.Size) && !t.IsDir {
		// The target already holds these bytes (say, a file replaced
		// by an identical one at the same path): link, never write a
		// version with the same content.
		if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, t, a.Source)); err != nil {
			return 0, "", err
		}
		ap.count(func(c *RunCounts) { c.Linked++ })
		return 0, "same content already there: linked", nil
	}
	if err := ap.beforeOverwrite(ctx, a); err != nil {
		return 0, "", err
	}
	parent, err := ap.dir(ctx, a.Side, t.Dir())
	if err != nil {
		return 0, "", err
	}
	e, err := ap.transfer(ctx, a, parent, t.Name(), storage.PutOptions{ExpectedVersion: t.Version,
		ModTime: a.Source.ModTime})
	if err != nil {
		return 0, "", preconditionChanged(err, a.Side, t.Path)
	}
	if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	return e.Size, detail, nil
}

// driftedTarget reads planned, the file on B of a one-way pair that an
// Update is about to overwrite with A's content, as it is right now. In a
// one-way pair A overwrites B: an edit a person saved on B since the
// baseline (drift, reported when it was seen, possibly runs ago and so
// absent from the change feed the plan was built from) is known and
// deliberately overwritten, so the write is conditional on B's current
// Version rather than the baseline's, which B refuses forever after such
// an edit. A change after this read still makes the conditional write
// fail (the item is planned again). Another item at the path, a move or a
// deletion since the baseline are not content drift: they give errChanged,
// so the item is planned again from a fresh reading.
func (ap *applier) driftedTarget(ctx context.Context, planned storage.Entry) (storage.Entry, error) {
	cur, gone, err := ap.current(ctx, SideB, planned)
	if gone {
		return storage.Entry{}, changed(SideB, planned.Path, "deleted")
	}
	var ce *changedError
	if errors.As(err, &ce) && !cur.IsDir && cur.ID == planned.ID && cur.Path == planned.Path {
		return cur, nil // only the Version differs: B's own edit
	}
	if err != nil {
		return storage.Entry{}, err
	}
	return cur, nil
}

// doLink records that both sides hold the item, transferring nothing.
// planned is a.Target as the plan saw it, before a Move of this run.
func (ap *applier) doLink(ctx context.Context, a Action, planned storage.Entry) (int64, string, error) {
	if a.IsDir && a.Key != 0 && a.Target.ID != "" {
		// A folder moved to the same place on both sides: its record
		// and those below it take the new paths.
		if err := ap.moveBaseline(context.WithoutCancel(ctx), a, a.Target); err != nil {
			return 0, "", err
		}
	} else {
		t := a.Target
		if !a.IsDir && t.Version != planned.Version && !sameMeta(planned, t) {
			// Moved in this run, and its content is not what the plan
			// saw (a person saved a new version meanwhile): record the
			// new location only, so that the new content is synced.
			t.Version, t.Size, t.ModTime, t.Hashes = planned.Version, planned.Size, planned.ModTime, planned.Hashes
		}
		if err := ap.putItem(ctx, itemOf(a.Key, a.IsDir, a.Side, t, a.Source)); err != nil {
			return 0, "", err
		}
	}
	ap.count(func(c *RunCounts) { c.Linked++ })
	return a.Source.Size, "", nil
}

// doForget drops the baseline records of an item gone from both sides.
func (ap *applier) doForget(ctx context.Context, a Action) (int64, string, error) {
	del, _, err := ap.subtree(ctx, a.Side, a.Key, a.Path, a.IsDir)
	if err != nil {
		return 0, "", err
	}
	if len(del) > 0 {
		if err := ap.e.store.PutItems(context.WithoutCancel(ctx), ap.pairID, nil, del); err != nil {
			return 0, "", fmt.Errorf("syncengine: baseline: %w", err)
		}
	}
	return 0, "", nil
}

// doHoldDelete records a held deletion of a.Target.
func (ap *applier) doHoldDelete(ctx context.Context, a Action) (int64, string, error) {
	h := HeldDelete{PairID: ap.pairID, Key: a.Key, DeletedOn: a.Side.Other(), Path: a.Target.Path,
		IsDir: a.IsDir, Size: a.Target.Size, Held: ap.e.clock.Now(), Version: a.Target.Version}
	if h.Path == "" {
		h.Path = a.Path
	}
	if err := ap.e.store.HoldDeletes(context.WithoutCancel(ctx), []HeldDelete{h}); err != nil {
		return 0, "", fmt.Errorf("syncengine: holding a deletion: %w", err)
	}
	ap.mu.Lock()
	ap.res.counts.Held++
	ap.res.held = append(ap.res.held, h.Path)
	ap.mu.Unlock()
	return h.Size, "deletion held: " + a.Reason, nil
}

// subtree returns the baseline keys of the item key at p on side s and, for
// folders, of everything below it, with the total size of the files.
func (ap *applier) subtree(ctx context.Context, s Side, key int64, p string, isDir bool) ([]int64, int64, error) {
	var del []int64
	var size int64
	if key != 0 {
		del = append(del, key)
	}
	if isDir && p != "" {
		under, err := itemsBelow(ctx, ap.e.store, ap.pairID, s, key, p)
		if err != nil {
			return nil, 0, fmt.Errorf("syncengine: baseline: %w", err)
		}
		for _, it := range under {
			del = append(del, it.Key)
			if !it.IsDir {
				size += max(it.Side(s).Size, 0)
			}
		}
	}
	return del, size, nil
}

// itemsBelow returns the baseline items below folder p on side s, the
// side-s path of baseline item key. Paths alone do not tell whose they
// are: another folder may have path p on side s now (a folder of the same
// name made after item key was deleted there, while its record waited).
// The items of such a folder, found by the ID of the folder that holds
// them (ParentID), and everything below them are left out. An item whose
// folder is not in the baseline, or has no ParentID, counts as below p, as
// does everything when key is 0.
func itemsBelow(ctx context.Context, store MetadataStore, pairID string, s Side, key int64, p string) ([]Item, error) {
	under, _, err := itemsBelowOf(ctx, store, pairID, s, key, "", p)
	return under, err
}

// itemsBelowOf is itemsBelow that also reports whether any item below p
// was left out as another folder's. selfID, when known, is item key's
// side-s ID: the items it holds need no lookup of their folder.
func itemsBelowOf(ctx context.Context, store MetadataStore, pairID string, s Side, key int64, selfID, p string) ([]Item, bool, error) {
	var under []Item
	for it, err := range store.ItemsUnder(ctx, pairID, s, p) {
		if err != nil {
			return nil, false, err
		}
		under = append(under, it)
	}
	if key == 0 {
		return under, false, nil
	}
	other := map[string]bool{} // side-s IDs of the items of other folders at p
	checked := map[string]bool{}
	for _, it := range under {
		pid := it.Side(s).ParentID
		if pid == "" || pid == selfID || checked[pid] || parentPath(it.Side(s).Path) != p {
			continue
		}
		checked[pid] = true
		parent, err := store.ItemByID(ctx, pairID, s, pid)
		if errors.Is(err, ErrNoItem) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if parent.Key != key && parent.IsDir && parent.Side(s).Path == p {
			other[pid] = true
		}
	}
	if len(other) == 0 {
		return under, false, nil
	}
	// Parents before their children, so that everything below an
	// excluded folder is excluded with it.
	slices.SortStableFunc(under, func(x, y Item) int {
		return cmp.Compare(depth(x.Side(s).Path), depth(y.Side(s).Path))
	})
	out := under[:0]
	for _, it := range under {
		if ss := it.Side(s); ss.ParentID != "" && other[ss.ParentID] {
			if ss.ID != "" {
				other[ss.ID] = true
			}
			continue
		}
		out = append(out, it)
	}
	return out, true, nil
}

// copyNew copies a.Source to path p on a.Side as a new file. An item
// already there with the same content is adopted (adopted is true).
func (ap *applier) copyNew(ctx context.Context, a Action, p string) (storage.Entry, bool, error) {
	parent, err := ap.dir(ctx, a.Side, parentPath(p))
	if err != nil {
		return storage.Entry{}, false, err
	}
	e, err := ap.transfer(ctx, a, parent, path.Base(p), storage.PutOptions{NoOverwrite: true, ModTime: a.Source.ModTime})
	if err == nil {
		return e, false, nil
	}
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return storage.Entry{}, false, err
	}
	// Something is there already, e.g. because a crash came after the
	// upload and before the baseline was written: adopt it if it is the
	// same content.
	cur, serr := ap.p.storage(a.Side).Stat(ctx, p)
	if serr != nil {
		return storage.Entry{}, false, errors.Join(err, serr)
	}
	same, serr := sameContent(ctx, ap.p.storage(a.Side.Other()), a.Source, ap.p.storage(a.Side), cur)
	if serr != nil {
		return storage.Entry{}, false, errors.Join(err, serr)
	}
	if !same {
		return storage.Entry{}, false, err
	}
	if ok, aerr := ap.adoptable(ctx, a.Side, cur, a.Key); aerr != nil || !ok {
		return storage.Entry{}, false, errors.Join(err, aerr)
	}
	return cur, true, nil
}

// adoptable reports whether entry e, found on side s where an action on
// baseline record key expected to create it, may be taken as that item: it
// must not be another record's item (say, a folder that a later move of the
// same plan takes away). Nor may it be an item that another action of the
// plan being applied names (say, a folder new on s, to be made on the
// other side, that a person moved to this path after the plan read it
// elsewhere): recording e for both would give two baseline records one
// item on s. The side changed since it was read: the error matches
// errChanged, and the run plans the item again from a fresh reading.
func (ap *applier) adoptable(ctx context.Context, s Side, e storage.Entry, key int64) (bool, error) {
	if k, ok := ap.claimed[s][e.ID]; ok && (k == 0 || k != key) {
		return false, changed(s, e.Path, "another item of the plan, read elsewhere, is there now")
	}
	it, err := ap.e.store.ItemByID(ctx, ap.pairID, s, e.ID)
	if errors.Is(err, ErrNoItem) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return key != 0 && it.Key == key, nil
}

// move applies a Move action.
func (ap *applier) move(ctx context.Context, a Action) (int64, string, error) {
	st := ap.p.storage(a.Side)
	t := a.Target
	parent, err := ap.dir(ctx, a.Side, parentPath(a.Path))
	if err != nil {
		return 0, "", err
	}
	if !ap.conditional(a.Side, ActionMove) || t.Version == "" || t.IsDir {
		// Confirm that the item is still where and what the plan saw: a
		// person may have moved it elsewhere or saved a new version.
		if _, gone, err := ap.current(ctx, a.Side, t); err != nil || gone {
			if gone {
				err = changed(a.Side, t.Path, "deleted")
			}
			if errors.Is(err, errChanged) {
				// Already moved (a retry after a crash)?
				if cur, serr := st.Stat(ctx, a.Path); serr == nil && cur.ID == t.ID && t.ID != "" {
					return ap.moved2(ctx, a, cur)
				}
			}
			return 0, "", err
		}
	}
	mt := t
	if mt.IsDir {
		// A folder's own Version may change with what is inside it (our
		// own earlier actions included): it was confirmed above.
		mt.Version = ""
	}
	e, err := st.Move(ctx, mt, parent, path.Base(a.Path))
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Already moved (a retry after a crash)?
		if cur, serr := st.Stat(ctx, a.Path); serr == nil && cur.ID == t.ID {
			e, err = cur, nil
		}
	}
	if err != nil {
		return 0, "", preconditionChanged(err, a.Side, t.Path)
	}
	return ap.moved2(ctx, a, e)
}

// moved2 records a Move's result e: the run's caches and the baseline.
func (ap *applier) moved2(ctx context.Context, a Action, e storage.Entry) (int64, string, error) {
	t := a.Target
	if a.IsDir {
		ap.forgetDirs(a.Side, t.Path)
		ap.forgetDirs(a.Side, a.Path)
		ap.rememberDir(a.Side, e)
	}
	ap.mu.Lock()
	if a.Key != 0 {
		ap.moved[movedKey{a.Key, a.Side}] = e
	}
	ap.mu.Unlock()
	if err := ap.moveBaseline(context.WithoutCancel(ctx), a, e); err != nil {
		return 0, "", err
	}
	ap.count(func(c *RunCounts) { c.Moved++ })
	return 0, "from " + t.Path, nil
}

// moveBaseline records in the baseline that a's item now lies at e on
// a.Side and at a.Source on the other side. Only locations are taken from
// them: the content the two sides last agreed on stays as it was, unless
// the target was unchanged when planned (then e's version stands for it),
// so that a content change still pending is not forgotten.
func (ap *applier) moveBaseline(ctx context.Context, a Action, e storage.Entry) error {
	store := ap.e.store
	old, err := store.ItemByID(ctx, ap.pairID, a.Side, e.ID)
	if errors.Is(err, ErrNoItem) && a.Source.ID != "" {
		old, err = store.ItemByID(ctx, ap.pairID, a.Side.Other(), a.Source.ID)
	}
	if errors.Is(err, ErrNoItem) {
		return ap.putItem(ctx, itemOf(a.Key, a.IsDir, a.Side, e, a.Source))
	}
	if err != nil {
		return fmt.Errorf("syncengine: baseline: %w", err)
	}
	o := a.Side.Other()
	if a.IsDir {
		// Descendants first: a crash between these and PutItems leaves the
		// folder's own record with its old paths, which recovery redoes.
		if oldP := old.Side(a.Side).Path; oldP != e.Path && oldP != "" {
			if err := ap.moveBelow(ctx, a.Side, old, oldP, e.Path); err != nil {
				return fmt.Errorf("syncengine: baseline: %w", err)
			}
		}
		// Items recorded where the folder really was when it moved (made in
		// it by an earlier pass while a person had moved it away from
		// where the baseline records it) follow it too.
		if from := a.Target.Path; a.Kind == ActionMove && from != "" && from != old.Side(a.Side).Path && from != e.Path {
			if err := ap.moveBelow(ctx, a.Side, old, from, e.Path); err != nil {
				return fmt.Errorf("syncengine: baseline: %w", err)
			}
		}
		if oldP := old.Side(o).Path; a.Source.Path != "" && oldP != a.Source.Path && oldP != "" {
			if err := ap.moveBelow(ctx, o, old, oldP, a.Source.Path); err != nil {
				return fmt.Errorf("syncengine: baseline: %w", err)
			}
		}
	}
	it := old
	if a.Key != 0 {
		it.Key = a.Key
	}
	ss := it.Side(a.Side)
	if a.IsDir || (a.Target.Version == ss.Version && sameMeta(a.Target, e)) {
		*ss = StateOf(e)
	} else {
		ss.ID, ss.ParentID, ss.Path = e.ID, e.ParentID, e.Path
	}
	if a.Source.ID != "" {
		os := it.Side(o)
		os.ID, os.ParentID, os.Path = a.Source.ID, a.Source.ParentID, a.Source.Path
		if a.IsDir {
			*os = StateOf(a.Source)
		}
	}
	return ap.putItem(ctx, it)
}

// moveBelow records in the baseline that the items below path oldP on side
// s that belong to baseline folder record folder now lie below newP. The items of
// another folder recorded at oldP on s, and everything below them, stay
// where they are (see itemsBelow): only the folder's own descendants
// follow it.
func (ap *applier) moveBelow(ctx context.Context, s Side, folder Item, oldP, newP string) error {
	store := ap.e.store
	under, others, err := itemsBelowOf(ctx, store, ap.pairID, s, folder.Key, folder.Side(s).ID, oldP)
	if err != nil {
		return err
	}
	if !others {
		return store.MovePrefix(ctx, ap.pairID, s, oldP, newP)
	}
	if len(under) == 0 {
		return nil
	}
	for i := range under {
		ss := under[i].Side(s)
		ss.Path = path.Join(newP, strings.TrimPrefix(ss.Path, oldP+"/"))
	}
	return store.PutItems(ctx, ap.pairID, under, nil)
}

// sameMeta reports whether entry e, the result of moving planned, still
// holds the content planned held, as far as their size and hashes tell
// (with no hash in common, the confirmation right before the move
// stands). A person may save a new version between that confirmation and
// the move: the baseline must then not record content the engine did not
// transfer.
func sameMeta(planned, e storage.Entry) bool {
	if planned.Size != e.Size {
		return false
	}
	eq, ok := planned.Hashes.Equal(e.Hashes)
	return eq || !ok
}

// delete applies a Delete action.
func (ap *applier) delete(ctx context.Context, a Action) (int64, string, error) {
	t := a.Target
	if t.ID == "" && t.Path == "" {
		return 0, "", fmt.Errorf("syncengine: delete %q: no target entry", a.Path)
	}
	del, size, err := ap.subtree(ctx, a.Side, a.Key, t.Path, a.IsDir)
	if err != nil {
		return 0, "", err
	}
	if !a.IsDir {
		size = t.Size
	}
	detail := ""
	target, gone := t, false
	_, byID := ap.p.storage(a.Side).(storage.IDStater)
	if a.IsDir || !ap.conditional(a.Side, ActionDelete) || t.Version == "" || byID {
		// Right before destroying: is it still what the plan saw? For a
		// folder, also everything below it (a file a person just saved
		// into it must not go with it); its own entry is refreshed, so
		// that a conditional delete acts on its current Version. Where
		// the storage looks items up by ID, this is done even for a
		// conditional delete: an item a person moved elsewhere keeps its
		// Version on some services, and must not be deleted where it is
		// now.
		var cur storage.Entry
		cur, gone, err = ap.current(ctx, a.Side, t)
		if err != nil {
			return 0, "", err
		}
		if !gone && a.IsDir {
			if err := ap.confirmSubtree(ctx, a.Side, t, cur); err != nil {
				return 0, "", err
			}
		}
		if !gone {
			target = cur
		}
	}
	if gone {
		detail = "already gone"
	} else {
		err = ap.p.storage(a.Side).Delete(ctx, target)
		if errors.Is(err, storage.ErrNotFound) {
			err, detail = nil, "already gone"
		}
		if err != nil {
			return 0, "", preconditionChanged(err, a.Side, t.Path)
		}
	}
	if a.IsDir {
		ap.forgetDirs(a.Side, t.Path)
	}
	wctx := context.WithoutCancel(ctx)
	if err := ap.e.store.RecordDeletes(wctx, ap.pairID, ap.e.clock.Now(), 1); err != nil {
		ap.log.Warn("syncengine: delete ledger", "error", err)
	}
	if len(del) > 0 {
		if err := ap.e.store.PutItems(wctx, ap.pairID, nil, del); err != nil {
			return 0, "", fmt.Errorf("syncengine: baseline: %w", err)
		}
	}
	ap.count(func(c *RunCounts) {
		c.Deleted++
		c.BytesDeleted += size
	})
	return size, detail, nil
}

// conflict applies a Conflict action: the winner (a.Source) replaces the
// loser (a.Target) on a.Side, the loser preserved as a version or a
// conflict copy.
func (ap *applier) conflict(ctx context.Context, a Action) (int64, string, error) {
	if a.Conflict == nil {
		return 0, "", errors.New("syncengine: conflict action without resolution")
	}
	st := ap.p.storage(a.Side)
	t := a.Target
	if t.ID != "" && !t.IsDir && !sizesDiffer(a.Source.Size, t.Size) {
		// Both changed, possibly to the same bytes (an upload applied
		// whose response was lost, then compared again): equal content is
		// linked, never written again. A comparison that fails fails the
		// action, to be retried; it never falls through to writing.
		same, err := sameContent(ctx, ap.p.storage(a.Side.Other()), a.Source, st, t)
		if err != nil {
			return 0, "", fmt.Errorf("syncengine: comparing content before resolving a conflict: %w", err)
		}
		if same {
			if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, t, a.Source)); err != nil {
				return 0, "", err
			}
			ap.count(func(c *RunCounts) { c.Linked++ })
			return t.Size, "same content on both sides: linked, nothing written", nil
		}
	}
	if a.Conflict.LoserCopy == "" {
		var e storage.Entry
		var err error
		if t.ID == "" {
			e, _, err = ap.copyNew(ctx, a, a.Path)
		} else {
			err = ap.beforeOverwrite(ctx, a)
			var parent storage.Entry
			if err == nil {
				parent, err = ap.dir(ctx, a.Side, t.Dir())
			}
			if err == nil {
				e, err = ap.transfer(ctx, a, parent, t.Name(), storage.PutOptions{ExpectedVersion: t.Version,
					ModTime: a.Source.ModTime})
				err = preconditionChanged(err, a.Side, t.Path)
			}
		}
		if err != nil {
			return 0, "", err
		}
		if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
			return 0, "", err
		}
		ap.count(func(c *RunCounts) { c.Conflicts++ })
		return e.Size, fmt.Sprintf("winner %s written over the loser, kept as a version", a.Conflict.Winner), nil
	}
	if t.ID != "" {
		parent, err := ap.dir(ctx, a.Side, t.Dir())
		if err != nil {
			return 0, "", err
		}
		// The conflict copy is not in the baseline, so its name is free to
		// choose: when the planned one is taken (an earlier conflict of
		// the same day), number it.
		for n := 1; ; n++ {
			name := numbered(a.Conflict.LoserCopy, n)
			_, err := st.Move(ctx, t, parent, name)
			if err == nil {
				break
			}
			if errors.Is(err, storage.ErrUnsupported) && !t.IsDir {
				// The losing side cannot rename this item (Procore
				// Photos cannot rename an image): keep the loser as a
				// conflict copy on the winning side instead.
				return ap.conflictCopyOnWinner(ctx, a)
			}
			if !errors.Is(err, storage.ErrAlreadyExists) {
				return 0, "", err
			}
			cur, serr := st.Stat(ctx, path.Join(t.Dir(), name))
			if serr == nil && cur.ID == t.ID {
				break // moved already (a retry)
			}
			if n == maxConflictNumber {
				return 0, "", err
			}
		}
	}
	e, _, err := ap.copyNew(ctx, a, a.Path)
	if err != nil {
		if a.Key != 0 && t.ID != "" {
			// The loser was renamed but the winner is not in place: drop
			// the record so that the next run copies the winner to this
			// side and the conflict copy to the other side as new files.
			if e2 := ap.e.store.PutItems(context.WithoutCancel(ctx), ap.pairID, nil, []int64{a.Key}); e2 != nil {
				err = errors.Join(err, e2)
			}
		}
		return 0, "", err
	}
	if err := ap.putItem(ctx, itemOf(a.Key, false, a.Side, e, a.Source)); err != nil {
		return 0, "", err
	}
	ap.count(func(c *RunCounts) { c.Conflicts++ })
	return e.Size, fmt.Sprintf("winner %s copied, loser kept as %q", a.Conflict.Winner, a.Conflict.LoserCopy), nil
}

// numbered returns name for n = 1 and "base (n).ext" after that.
func numbered(name string, n int) string {
	if n <= 1 {
		return name
	}
	ext := path.Ext(name)
	if ext == name {
		ext = ""
	}
	return fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), n, ext)
}

// uploadKey names the resumable-upload state of a transfer: the target
// side and path and the source's identity and version, so that a state is
// resumed only for the very content it was started with.
func uploadKey(a Action, name string, parent storage.Entry) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d", a.Side, parent.ID, name, a.Source.ID, a.Source.Version, a.Source.Size)
}

// transfer streams a.Source from the other side into parent/name on
// a.Side: straight from Open to Put, never through a temporary file. When
// the target can resume uploads, the upload state is saved as it goes and a
// saved state is resumed first.
func (ap *applier) transfer(ctx context.Context, a Action, parent storage.Entry, name string, opt storage.PutOptions) (storage.Entry, error) {
	if a.Source.IsDir {
		return storage.Entry{}, storage.NewError("copy", a.Source.Path, storage.ErrIsDir, nil)
	}
	src := ap.p.storage(a.Side.Other())
	dst := ap.p.storage(a.Side)
	store := ap.e.store
	start := ap.e.clock.Now()
	var e storage.Entry
	var err error
	ru, resumable := dst.(storage.ResumableUploader)
	unknown := a.Source.Size < 0
	if unknown {
		// Spooled, then written in one Put: a restart spools again, so
		// there is no upload to resume.
		resumable = false
	}
	key := uploadKey(a, name, parent)
	saved := false
	if resumable {
		e, saved, err = ap.resume(ctx, a, ru, src, key, opt)
		if err != nil {
			return storage.Entry{}, err
		}
	}
	if e.ID == "" {
		if resumable {
			opt.OnUploadState = func(us storage.UploadState) error {
				saved = true
				return store.SaveUpload(ctx, ap.pairID, key, us)
			}
		}
		var rc io.ReadCloser
		rc, err = src.Open(ctx, a.Source)
		if err != nil {
			return storage.Entry{}, err
		}
		var r *checkedReader
		if unknown {
			e, r, err = ap.putSpooled(ctx, a, rc, dst, parent, name, opt)
		} else {
			r = newCheckedReader(rc, a.Source.Size, a.Source.Hashes)
			e, err = dst.Put(ctx, parent, name, r, a.Source.Size, opt)
		}
		rc.Close()
		if err == nil && r.err != nil {
			err = r.err // the connector must not succeed on a failed read, but be safe
		}
		if err != nil {
			if errors.Is(r.err, errSourceChanged) || errors.Is(err, errSourceChanged) {
				err = storage.NewError("copy", a.Source.Path, nil, errSourceChanged)
			}
			return storage.Entry{}, err
		}
	}
	if saved {
		if err := store.DeleteUpload(context.WithoutCancel(ctx), ap.pairID, key); err != nil && !errors.Is(err, ErrNoItem) {
			ap.log.Warn("syncengine: deleting upload state", "error", err)
		}
	}
	elapsed := ap.e.clock.Now().Sub(start)
	ap.count(func(c *RunCounts) {
		c.FilesCopied++
		c.BytesCopied += e.Size
		c.TransferNanos += int64(elapsed)
	})
	return e, nil
}

// putSpooled writes rc, the content of a.Source whose size the source does
// not list, into parent/name on dst: it reads rc to its end first (spool:
// in memory or a temporary file in Options.SpoolDir, at most
// Options.MaxSpoolSize bytes), checking the source's hash where it carries
// one, then Puts exactly the bytes read, with their size. The returned
// reader is the one Put read, to check for a failed read.
func (ap *applier) putSpooled(ctx context.Context, a Action, rc io.Reader, dst storage.Storage, parent storage.Entry, name string, opt storage.PutOptions) (storage.Entry, *checkedReader, error) {
	src := newCheckedReader(rc, -1, a.Source.Hashes)
	sp, err := spool(ctx, src, ap.e.opts.SpoolDir, ap.e.opts.MaxSpoolSize)
	if err != nil {
		if errors.Is(err, ErrSpoolTooLarge) {
			err = storage.NewError("copy", a.Source.Path, nil, err)
		}
		return storage.Entry{}, src, err
	}
	defer func() {
		if err := sp.Close(); err != nil {
			ap.log.Warn("syncengine: removing spool file", "error", err)
		}
	}()
	body, err := sp.reader()
	if err != nil {
		return storage.Entry{}, src, err
	}
	r := newCheckedReader(body, sp.size, nil)
	e, err := dst.Put(ctx, parent, name, r, sp.size, opt)
	return e, r, err
}

// resume continues a saved upload of the same content, if there is one. It
// returns the new entry (zero ID when there was nothing to resume or the
// session had expired) and whether a state is saved under key.
func (ap *applier) resume(ctx context.Context, a Action, ru storage.ResumableUploader, src storage.Storage, key string, opt storage.PutOptions) (storage.Entry, bool, error) {
	store := ap.e.store
	us, err := store.LoadUpload(ctx, ap.pairID, key)
	if errors.Is(err, ErrNoItem) {
		return storage.Entry{}, false, nil
	}
	if err != nil {
		return storage.Entry{}, false, fmt.Errorf("syncengine: loading upload state: %w", err)
	}
	if us.Offset < 0 || us.Offset > a.Source.Size || (us.Size >= 0 && us.Size != a.Source.Size) {
		return storage.Entry{}, true, nil // not ours to resume: start over
	}
	rc, err := openAt(ctx, src, a.Source, us.Offset)
	if err != nil {
		return storage.Entry{}, true, err
	}
	defer rc.Close()
	r := newCheckedReader(rc, a.Source.Size-us.Offset, nil)
	opt.OnUploadState = func(st storage.UploadState) error { return store.SaveUpload(ctx, ap.pairID, key, st) }
	e, err := ru.ResumeUpload(ctx, us, r, opt)
	if errors.Is(err, storage.ErrNotFound) {
		if e2 := store.DeleteUpload(context.WithoutCancel(ctx), ap.pairID, key); e2 != nil && !errors.Is(e2, ErrNoItem) {
			ap.log.Warn("syncengine: deleting upload state", "error", e2)
		}
		return storage.Entry{}, false, nil // the session is gone: start over
	}
	if err != nil {
		return storage.Entry{}, true, err
	}
	ap.log.Info("syncengine: resumed upload", "path", a.Path, "offset", us.Offset)
	return e, true, nil
}

// openAt opens e from offset on: with RangeOpener where the storage has it,
// else by reading and discarding the first offset bytes.
func openAt(ctx context.Context, s storage.Storage, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return s.Open(ctx, e)
	}
	if ro, ok := s.(storage.RangeOpener); ok {
		return ro.OpenAt(ctx, e, offset)
	}
	rc, err := s.Open(ctx, e)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, offset); err != nil {
		rc.Close()
		if errors.Is(err, io.EOF) {
			err = errSourceChanged
		}
		return nil, err
	}
	return rc, nil
}

// checkedReader passes a source through and fails, instead of ending, when
// the source yields another number of bytes than planned or, where it
// carries a hash this package can compute, other content. A failing read
// makes Put fail and leave nothing behind.
type checkedReader struct {
	r     io.Reader
	left  int64 // bytes still expected (-1: unknown size)
	h     hash.Hash
	want  string
	err   error
	extra [1]byte
}

// hexHashes are the hash kinds, hex-encoded, that checkedReader computes.
var hexHashes = map[storage.HashKind]func() hash.Hash{
	storage.HashSHA256: sha256.New,
	storage.HashSHA1:   sha1.New,
	storage.HashMD5:    md5.New,
}

func newCheckedReader(r io.Reader, size int64, hs storage.Hashes) *checkedReader {
	c := &checkedReader{r: r, left: size}
	if size < 0 {
		c.left = -1
	}
	// The strongest hash the source carries that this package computes.
	for _, k := range storage.PreferredHashes() {
		if v := hs[k]; v != "" && hexHashes[k] != nil {
			c.want, c.h = strings.ToLower(v), hexHashes[k]()
			break
		}
	}
	return c
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		// All expected bytes came: the source must end here.
		n, err := io.ReadFull(c.r, c.extra[:])
		if n > 0 {
			c.err = errSourceChanged
			return 0, c.err
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			c.err = err
			return 0, err
		}
		if c.h != nil && hex.EncodeToString(c.h.Sum(nil)) != c.want {
			c.err = errSourceChanged
			return 0, c.err
		}
		return 0, io.EOF
	}
	if c.left > 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	if c.left > 0 {
		c.left -= int64(n)
	}
	if errors.Is(err, io.EOF) {
		if c.left > 0 {
			c.err = errSourceChanged
			return n, c.err
		}
		if c.left == 0 {
			_, err = c.Read(nil) // check the end now
			return n, err
		}
		if c.h != nil && hex.EncodeToString(c.h.Sum(nil)) != c.want {
			c.err = errSourceChanged // unknown size: the hash decides
			return n, c.err
		}
		return n, io.EOF
	}
	if err != nil {
		c.err = err
	}
	return n, err
}

// beforeOverwrite confirms, right before a.Target is overwritten (Update,
// or a Conflict written over the loser), that it is still what the plan
// saw, where the target's storage does not enforce PutOptions.ExpectedVersion
// itself; with ConditionalPut the Put does it atomically.
func (ap *applier) beforeOverwrite(ctx context.Context, a Action) error {
	t := a.Target
	if t.ID == "" && t.Path == "" {
		return nil
	}
	if ap.conditional(a.Side, ActionUpdate) && t.Version != "" {
		return nil
	}
	_, gone, err := ap.current(ctx, a.Side, t)
	if gone {
		return changed(a.Side, t.Path, "deleted")
	}
	return err
}

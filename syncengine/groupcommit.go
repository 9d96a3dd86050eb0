package syncengine

import (
	"context"
	"errors"
)

// Group commit: how the applier keeps its durability promises without a
// synchronous commit (and a storage fsync) per item.
//
// The promise is that after a crash anywhere, power loss included, nothing
// the storages confirmed is forgotten and nothing they did not confirm is
// assumed. The applier keeps it with four rules:
//
//  1. An action's "pending" journal record is durable before the action
//     touches either side. The applier journals the actions of a window
//     (up to applyWindow of them) in one durable commit
//     (ActionJournalBatcher.BeginActions where the store has it) and only
//     then starts them. A pending record whose action never started is
//     harmless: recovery re-verifies every pending record against both
//     sides and adopts only what it finds there.
//  2. What follows a confirmed action (its baseline item, its "done"
//     record, its activity line, a failure record) is committed at once
//     but may be made durable later (the context carries
//     WithDeferredDurability): a process crash loses none of it (the
//     commit is in the file), and a power loss may lose the latest ones,
//     which is safe because their pending records are durable (rule 1)
//     and recovery resolves them against the sides, exactly as for a crash
//     between the action and its baseline write.
//  3. Before any commit that makes deferred commits durable (the next
//     window's journal, the run's end), every storage that batches its own
//     durability (a local folder syncing its folders, and the contents of
//     its new files, in batches, see DurabilityBatcher) is flushed.
//     Otherwise a power loss could keep a baseline item while losing the
//     file it describes, and the next run would take the missing file for
//     a deletion by a person. A power loss before the flush may leave a
//     new file cut short at its name; its pending record is durable and
//     recovery writes it again (tornCopy). Stores apply
//     deferred commits in order (a SQLite WAL, a PostgreSQL log), so a
//     durable commit makes every earlier commit durable too.
//  4. The baseline item of a confirmed Copy or Mkdir of a new item (one
//     the baseline does not hold yet) waits in memory until its window
//     ends, and the window's items are written in one transaction, then
//     their "done" records and activity lines (rule 2). Losing them in a
//     crash is the case of rule 2 again: the action's pending record is
//     durable (rule 1) and recovery adopts what it finds on the sides,
//     at the copy's path or, where a person moved the copy before the
//     restart, by its content (findMovedCopies).
//     Nothing in the run reads such an item before the window ends: it
//     has no baseline Key another action could name, its chain (actions
//     on the same path) runs to its end inside the window, and the next
//     window, the next pass and recovery start after the write. A "done"
//     record is never written before its baseline item, so a "done"
//     action always has its baseline.

// applyWindow is the largest number of actions journalled in one durable
// commit.
const applyWindow = 512

// deferredKey is the context key of WithDeferredDurability.
type deferredKey struct{}

// WithDeferredDurability returns a context whose MetadataStore writes may be
// committed without being made durable at once (SQLite: synchronous=NORMAL
// for that commit): they become durable with the next write made without
// it. The applier uses it for what follows a confirmed action, whose
// pending journal record is already durable. Stores that do not know it
// make every commit durable, which is always correct.
func WithDeferredDurability(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferredKey{}, true)
}

// DeferredDurability reports whether ctx allows a store to defer the
// durability of its writes (see WithDeferredDurability).
func DeferredDurability(ctx context.Context) bool {
	v, _ := ctx.Value(deferredKey{}).(bool)
	return v
}

// durable returns ctx without the permission to defer durability.
func durable(ctx context.Context) context.Context {
	if !DeferredDurability(ctx) {
		return ctx
	}
	return context.WithValue(ctx, deferredKey{}, false)
}

// ActionJournalBatcher is an optional capability of a MetadataStore:
// journalling many intents in one durable transaction. BeginActions
// journals recs in order, returning their IDs in the same order; it either
// records all of them or none. The applier falls back to one BeginAction
// per record without it.
//
// EndActions records in one transaction that the actions ids succeeded
// (JournalDone, as EndAction with no error) and appends acts to the
// activity log (as AddActivity); an unknown ID gives ErrNoItem and records
// nothing.
type ActionJournalBatcher interface {
	BeginActions(ctx context.Context, recs []JournalRecord) ([]int64, error)
	EndActions(ctx context.Context, ids []int64, acts []Activity) error
}

// DurabilityBatcher is an optional capability of a storage whose changes
// may be made durable in batches (storage/local syncs the folders it
// changed, and the contents of the new files it wrote, once per batch
// instead of once per item). Between BeginBatch and EndBatch its calls may
// return before their changes are durable (a new file's content included;
// a file that replaced another must be durable before it takes the name);
// Flush makes durable everything done so far; EndBatch flushes and ends the
// batch. Batches nest (a count). The applier opens a batch for each pass
// and flushes before each durable journal commit (rule 3 above).
type DurabilityBatcher interface {
	BeginBatch()
	Flush(ctx context.Context) error
	EndBatch(ctx context.Context) error
}

// beginActions journals recs durably: in one transaction where the store
// can, otherwise one by one.
func (e *Engine) beginActions(ctx context.Context, recs []JournalRecord) ([]int64, error) {
	ctx = durable(ctx)
	if b, ok := e.store.(ActionJournalBatcher); ok {
		ids, err := b.BeginActions(ctx, recs)
		if err == nil && len(ids) != len(recs) {
			err = errors.New("syncengine: BeginActions returned a wrong number of IDs")
		}
		return ids, err
	}
	ids := make([]int64, 0, len(recs))
	for _, r := range recs {
		id, err := e.store.BeginAction(ctx, r)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// endActions records that the actions ids succeeded and appends acts to
// the activity log: in one transaction where the store can.
func (e *Engine) endActions(ctx context.Context, ids []int64, acts []Activity) error {
	if len(ids) == 0 && len(acts) == 0 {
		return nil
	}
	if b, ok := e.store.(ActionJournalBatcher); ok {
		return b.EndActions(ctx, ids, acts)
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, e.store.EndAction(ctx, id, JournalDone, ""))
	}
	if len(acts) > 0 {
		errs = append(errs, e.store.AddActivity(ctx, acts))
	}
	return errors.Join(errs...)
}

// batchers returns the pair's storages that batch their durability.
func (p *Pair) batchers() []DurabilityBatcher {
	var out []DurabilityBatcher
	for _, s := range []Side{SideA, SideB} {
		if b, ok := p.storage(s).(DurabilityBatcher); ok {
			out = append(out, b) // the same storage on both sides: batches nest
		}
	}
	return out
}

// Package syncengine keeps two storages in sync. Each run of a pair detects
// what changed on each side since the last synchronised state (the
// baseline), decides what must happen (a plan, built by a pure function;
// Engine.DryRun returns it without applying it) and makes it happen safely
// (Engine.RunOnce for one run, Engine.Run for the scheduler), journalling
// every action so that a crash at any point converges on the next run
// without duplicates or loss.
//
// A Pair binds side A (Procore, by convention) and side B (the target) with
// a direction, a conflict policy, a delete policy and limit, name mapping
// and filters. An Engine runs many pairs on a schedule and on wake-ups from
// the storages' watchers, drawing on an injected Limiter, recording state in
// an injected MetadataStore and reporting through an injected Notifier.
// Embedded defaults (sqlitestore, the rate limiter in this package, the slog
// notifier) need no server.
//
// The reconciliation rules, for an item whose two sides are compared against
// the baseline:
//
//	A since baseline      B since baseline      result
//	unchanged             unchanged             nothing
//	created/modified/moved unchanged            replay on B
//	unchanged             created/modified/moved replay on A (two-way); one-way: drift reported, B overwritten when A next changes
//	modified              modified              equal content: link; else conflict policy (newest wins, loser kept)
//	created               created (same path)   as above (merge)
//	deleted               unchanged             delete on B if deletes propagate and the limit allows, else held and reported
//	deleted               modified              modified wins: restored on A
//	moved                 modified              move on B, then update content
//	moved                 moved elsewhere       newest wins for the location, content follows
//	folder deleted        something inside changed keep the folder and the changed items
//	folder deleted        folder moved          the move wins: restored with everything deleted with it
//
// People work while a pair syncs, so nothing is destroyed on the strength
// of an old reading alone. Right before a delete, an overwrite or a move,
// the applier confirms that the item is still what the plan saw: the
// storage checks the planned Version itself where it declares
// Features.ConditionalDelete, ConditionalMove or ConditionalPut (an
// If-Match), otherwise the item is read again (storage.StatCurrent; before
// a delete also where the storage can look it up by ID, so that an item a
// person moved elsewhere is not deleted where it is now), and a folder's
// subtree is listed again (storage.ListUnder) and compared with the
// baseline. An item that changed is left alone and the run plans
// again from a fresh reading (Options.MaxPasses), where the change wins
// over the deletion. A held deletion is on the version that was held: an
// edit of the kept copy cancels it. The baseline records only what the
// engine itself made true. A Run says what it left undone (Run.Undone,
// RunCounts.Waiting, Replanned, Skipped, Run.Partial) and each run and
// action has a deadline (Options.RunTimeout, Options.ActionTimeout).
package syncengine

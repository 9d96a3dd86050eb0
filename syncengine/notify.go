package syncengine

import (
	"context"
	"time"
)

// EventKind says what an Event reports.
type EventKind string

// Event kinds.
const (
	// EventInitialSyncCompleted: a pair finished its initial sync
	// ("Two way sync initiated for project X").
	EventInitialSyncCompleted EventKind = "initial_sync_completed"
	// EventDeleteLimitReached: deletions over the delete limit were held;
	// Count says how many, Paths names a sample (Engine.Held lists them).
	EventDeleteLimitReached EventKind = "delete_limit_reached"
	// EventMassDeleteRefused: a run that would delete too large a share of
	// a side was refused; Count and Paths say what it would have deleted.
	EventMassDeleteRefused EventKind = "mass_delete_refused"
	// EventPairPaused: a pair was paused; Message says why.
	EventPairPaused EventKind = "pair_paused"
	// EventRunFailed: a run failed as a whole; Err says why.
	EventRunFailed EventKind = "run_failed"
	// EventItemsQuarantined: items failed too often and are no longer
	// retried automatically; Paths names them (see Count).
	EventItemsQuarantined EventKind = "items_quarantined"
	// EventDrift: B changed in a one-way pair; Paths names what (see Count).
	EventDrift EventKind = "drift"
	// EventRunIncomplete: a run finished but left items undone (waiting
	// for a retry, checked out, skipped, changed during the run);
	// Message says what and why, Paths names them as "side:path" (see
	// Count).
	EventRunIncomplete EventKind = "run_incomplete"
	// EventHeldDeleteCancelled: an item whose deletion was held was
	// changed on the side that kept it after the deletion was held: the
	// hold is cancelled (the change wins; the item is restored where it
	// was deleted) or, on approval, the item is not deleted. Paths lists
	// it.
	EventHeldDeleteCancelled EventKind = "held_delete_cancelled"
	// EventProtectedFolderRenamed: a person renamed or moved a folder the
	// layout protects (a project's folder); its pairs follow it. Paths
	// holds the old and the new path. Sent by procore/projects.
	EventProtectedFolderRenamed EventKind = "protected_folder_renamed"
	// EventProtectedFolderDeleted: a protected folder vanished from the
	// target; its pairs are paused and nothing is deleted on the other
	// side. Paths holds the folder's path. Sent by procore/projects.
	EventProtectedFolderDeleted EventKind = "protected_folder_deleted"
	// EventProtectedFolderRestored: a vanished protected folder is back
	// where it was; the pairs paused for it are resumed. Sent by
	// procore/projects.
	EventProtectedFolderRestored EventKind = "protected_folder_restored"
)

// MaxEventPaths is the most paths an Event the engine sends carries: a
// sample, with Event.Count saying how many items there are, so that a run
// holding a thousand deletions sends one readable notification.
const MaxEventPaths = 20

// Event is a notification for people: admins, a portal, a mail.
type Event struct {
	Kind     EventKind
	PairID   string
	PairName string
	Time     time.Time
	// Message is a one-line human summary.
	Message string
	// Count is how many items the event concerns (0 for an event about
	// none); Paths is a sample of them, at most MaxEventPaths, in the order
	// the engine found them. The engine's reports list them all: Engine.Held
	// for held deletions, Engine.Failures for quarantined items,
	// Engine.RunActivity and Engine.Errors for a run's items.
	Count int
	Paths []string
	// Err is the error text for failures.
	Err string
}

// Notifier delivers Events. Notify must not block for long; a Notifier
// that can fail logs its own failures (notifications never stop a sync).
type Notifier interface {
	Notify(ctx context.Context, ev Event)
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, ev Event)

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, ev Event) { f(ctx, ev) }

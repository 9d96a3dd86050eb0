package syncengine

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// ErrNoItem is returned by MetadataStore look-ups that find nothing.
var ErrNoItem = errors.New("syncengine: no such baseline item")

// PairState is what the store keeps about a pair between runs.
type PairState struct {
	// Initialized is true once the pair completed its initial sync.
	Initialized bool
	// Paused is true when the pair must not run until an admin resumes it;
	// PauseReason says why (e.g. a protected root disappeared).
	Paused      bool
	PauseReason string
	// CursorA and CursorB are the change-feed cursors of each side ("" when
	// the side has none yet or no feed).
	CursorA, CursorB string
	// RootA and RootB are the IDs of the two root folders when first seen,
	// so that a root replaced by another folder of the same name is noticed.
	RootA, RootB string
	// LastRun and LastSuccess are the start times of the latest run and of
	// the latest run that succeeded.
	LastRun, LastSuccess time.Time
}

// Cursor returns the cursor of side s.
func (ps *PairState) Cursor(s Side) *string {
	if s == SideA {
		return &ps.CursorA
	}
	return &ps.CursorB
}

// JournalState is the life-cycle state of a journalled action.
type JournalState uint8

// Journal states.
const (
	JournalPending JournalState = iota // intent recorded, outcome unknown
	JournalDone                        // the storage confirmed the action and the baseline was advanced
	JournalFailed                      // the action failed; Error says why
)

// JournalRecord is one journalled action.
type JournalRecord struct {
	ID      int64
	PairID  string
	RunID   int64
	Action  Action
	State   JournalState
	Error   string
	Started time.Time
	Ended   time.Time
}

// RunStatus is the outcome of a run.
type RunStatus string

// Run outcomes.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunPartial   RunStatus = "partial" // finished, but some items failed, wait for a retry, are held, changed during the run or were skipped
	RunFailed    RunStatus = "failed"
	RunRefused   RunStatus = "refused" // mass-delete guard or protected root
	RunCancelled RunStatus = "cancelled"
)

// RunCounts are what a run did.
type RunCounts struct {
	FilesCopied   int   // files created or updated on either side
	FoldersMade   int   // folders created
	Moved         int   // items moved or renamed
	Deleted       int   // items deleted
	Linked        int   // items linked without transfer
	Conflicts     int   // conflicts resolved
	Held          int   // deletions held back
	Failed        int   // items that failed this run
	Waiting       int   // items not tried: they wait for their retry time (failed earlier, or locked)
	Replanned     int   // destructive actions not done because their item changed during the run
	Skipped       int   // items left alone because they cannot be synced (invalid, quarantined, …)
	BytesCopied   int64 // bytes transferred
	BytesDeleted  int64 // bytes of deleted files
	TransferNanos int64 // time spent transferring, for the average speed
}

// Add adds o to c.
func (c *RunCounts) Add(o RunCounts) {
	c.FilesCopied += o.FilesCopied
	c.FoldersMade += o.FoldersMade
	c.Moved += o.Moved
	c.Deleted += o.Deleted
	c.Linked += o.Linked
	c.Conflicts += o.Conflicts
	c.Held += o.Held
	c.Failed += o.Failed
	c.Waiting += o.Waiting
	c.Replanned += o.Replanned
	c.Skipped += o.Skipped
	c.BytesCopied += o.BytesCopied
	c.BytesDeleted += o.BytesDeleted
	c.TransferNanos += o.TransferNanos
}

// Run is one run of a pair, for the run history.
type Run struct {
	ID      int64
	PairID  string
	Initial bool // the pair's initial sync
	Started time.Time
	Ended   time.Time // zero while running
	Status  RunStatus
	Error   string
	Counts  RunCounts
	// Undone says in words what the run left undone and why (items
	// waiting for a retry, deletions held, items changed during the run,
	// items skipped), one reason per line; empty when everything is in
	// sync.
	Undone string
}

// Partial reports whether the run finished but left something undone:
// see Counts and Undone for what and why.
func (r Run) Partial() bool { return r.Status == RunPartial }

// Refused reports whether the run applied nothing because a safety guard
// refused its plan (the mass-delete guard, a protected root gone or
// replaced, a paused pair): see Error for why.
func (r Run) Refused() bool { return r.Status == RunRefused }

// Succeeded reports whether the run finished with everything in sync.
func (r Run) Succeeded() bool { return r.Status == RunSucceeded }

// Activity is one line of a pair's activity log: something the engine did.
type Activity struct {
	ID     int64
	PairID string
	RunID  int64
	Time   time.Time
	Kind   ActionKind
	Side   Side
	Path   string
	Size   int64
	Detail string
}

// ErrorRecord is one line of a pair's error log.
type ErrorRecord struct {
	ID     int64
	PairID string
	RunID  int64
	Time   time.Time
	Side   Side
	Path   string
	Op     string
	Error  string
}

// Failure tracks an item that keeps failing, for retry with backoff and
// quarantine.
type Failure struct {
	PairID string
	Side   Side   // the side the failing action targets
	Path   string // the item's path on the source side (its identity for retries)
	Error  string
	// Attempts counts consecutive failures.
	Attempts int
	// NextAttempt is when the item may be tried again.
	NextAttempt time.Time
	// Quarantined is true once the item has failed too often: it is no
	// longer tried automatically until an admin releases it.
	Quarantined bool
	Updated     time.Time
}

// HeldDelete is a deletion the engine did not apply (delete limit or keep-
// deletes policy). An admin approves it (apply) or rejects it (restore the
// item on the side where it was deleted).
type HeldDelete struct {
	ID     int64
	PairID string
	// Key is the baseline record of the item.
	Key int64
	// DeletedOn is the side where the item was deleted; the deletion is
	// held on the other side.
	DeletedOn Side
	// Path is the item's path on the side where the deletion would apply.
	Path  string
	IsDir bool
	Size  int64
	Held  time.Time
	// Version is the Version of the item on the side where the deletion
	// is held, as it was when the deletion was held: the hold is on that
	// version only. An edit after it cancels the hold (the item is
	// restored on the side where it was deleted), and approval deletes
	// only that version. Empty for holds recorded before versions were
	// kept: approval then confirms nothing but the item's identity.
	Version string
}

// Page bounds a log query: the newest entries first, Limit at most (0: all),
// skipping Offset, optionally only entries at or after Since.
type Page struct {
	Limit, Offset int
	Since         time.Time
}

// BaselineRow is the lean view of a baseline item that
// MetadataStore.ScanBaseline passes to its callback. Its byte slices
// belong to the store and are only valid during the callback.
type BaselineRow struct {
	Key   int64
	IsDir bool
	A, B  BaselineSide
}

// BaselineSide is the lean view of one side of a baseline item: the
// fields of its SideState but ModTime and Hashes, the strings as bytes.
type BaselineSide struct {
	ID, ParentID, Path, Version []byte
	Size                        int64
}

// Side returns the lean view of side s.
func (r *BaselineRow) Side(s Side) *BaselineSide {
	if s == SideA {
		return &r.A
	}
	return &r.B
}

// MetadataStore keeps everything the engine must remember. The default is
// sqlitestore; storetest is the conformance suite every implementation
// must pass. All methods are safe for concurrent use.
//
// It is made of roles, one interface each, so that a store can be written
// and understood one role at a time: the pair state between runs
// (PairStore), the baseline of items in sync (BaselineStore), the action
// journal and resumable uploads that make a crashed run converge
// (JournalStore), the run history and the activity and error logs
// (HistoryStore), the failing items with their retries and quarantine
// (FailureStore), and the delete ledger and held deletions (DeleteStore).
type MetadataStore interface {
	PairStore
	BaselineStore
	JournalStore
	HistoryStore
	FailureStore
	DeleteStore

	// Close releases the store's resources.
	Close() error
}

// PairStore keeps each pair's state between runs: whether its initial sync
// completed, whether it is paused, its change-feed cursors and the IDs of
// its protected roots. The engine loads it at the start of a run and saves
// it once the run's plan has been applied.
type PairStore interface {
	// LoadPair returns the pair's state (the zero PairState for a pair the
	// store has not seen); SavePair replaces it.
	LoadPair(ctx context.Context, pairID string) (PairState, error)
	SavePair(ctx context.Context, pairID string, st PairState) error
}

// BaselineStore keeps the baseline: one Item per item known on both sides,
// as both sides agreed on it after the last successful sync. Detection
// compares each side with it (ScanBaseline for full listings, the look-ups
// for change feeds), and the applier advances it, action by action, to what
// it has made true (PutItems, MovePrefix).
type BaselineStore interface {
	// Items streams every baseline item of the pair, ordered by Key.
	Items(ctx context.Context, pairID string) iter.Seq2[Item, error]
	// ScanBaseline calls fn with a lean view of every baseline item of
	// the pair, ordered by Key, as Items would yield them but without
	// hashes or modification times: what comparing a full listing with
	// the baseline needs, at a fraction of the cost. The row and the
	// bytes it refers to are only valid until fn returns (they are reused
	// for the next row): fn must not keep or modify them. An error from
	// fn ends the scan and ScanBaseline returns it unwrapped.
	ScanBaseline(ctx context.Context, pairID string, fn func(*BaselineRow) error) error
	// CountItems returns the number of baseline items of the pair.
	CountItems(ctx context.Context, pairID string) (int, error)
	// ItemByID returns the item whose side-s ID is id, or ErrNoItem.
	ItemByID(ctx context.Context, pairID string, s Side, id string) (Item, error)
	// ItemByPath returns the item whose side-s path is p, or ErrNoItem.
	ItemByPath(ctx context.Context, pairID string, s Side, p string) (Item, error)
	// ItemsUnder streams the items whose side-s path lies below folder
	// prefix (not the folder itself).
	ItemsUnder(ctx context.Context, pairID string, s Side, prefix string) iter.Seq2[Item, error]
	// PutItems inserts (Key 0; the new Key is set in the slice) or replaces
	// (by Key) items, and deletes the records with the keys in del, in one
	// transaction.
	PutItems(ctx context.Context, pairID string, items []Item, del []int64) error
	// MovePrefix rewrites the side-s paths of every item below oldPrefix to
	// lie below newPrefix (a folder was moved or renamed).
	MovePrefix(ctx context.Context, pairID string, s Side, oldPrefix, newPrefix string) error
}

// BaselineRangeScanner is an optional capability of a MetadataStore:
// reading the baseline in ranges of keys, each range on its own
// connection, so that detection reads a large baseline on several cores
// at once (see detect). Without it, detection reads the baseline with one
// ScanBaseline.
type BaselineRangeScanner interface {
	// BaselineKeys returns the lowest and the highest Key of the pair's
	// baseline items; ok is false when the pair has none.
	BaselineKeys(ctx context.Context, pairID string) (lo, hi int64, ok bool, err error)
	// ScanBaselineRange is ScanBaseline restricted to the items whose Key
	// k lies in from <= k <= to: it calls fn with the lean view of each,
	// ordered by Key, under the same rules (the row is only valid until
	// fn returns; an error from fn ends the scan and comes back
	// unwrapped; a cancelled context ends it at the next row). Scans of
	// different ranges may run at once.
	ScanBaselineRange(ctx context.Context, pairID string, from, to int64, fn func(*BaselineRow) error) error
}

// BaselineIndexCache is an optional capability of a MetadataStore: it
// keeps, per pair, one blob that detection derives from the baseline (its
// compact index, a few dozen bytes per item), tied to the state of the
// baseline it was derived from. A full listing of a pair whose baseline
// has not changed since then reads the blob instead of scanning the
// baseline (see detect). The blob is a cache: losing it, or keeping one
// that no longer matches, costs one scan, never a wrong answer, because
// the store hands it out only for the state it was saved for.
type BaselineIndexCache interface {
	// BaselineToken names the current state of the pair's baseline:
	// every change of its items (PutItems, MovePrefix, forgetting the
	// pair) gives it a new token, in the same transaction, that no
	// earlier state had, also after a crash that lost the last
	// transactions. 0 means the state has no token and is not cached.
	BaselineToken(ctx context.Context, pairID string) (uint64, error)
	// SaveBaselineIndex replaces the pair's blob by the bytes write
	// writes, kept for the baseline state token names. The blob is only
	// replaced when write returns nil; a save cut short leaves the old
	// blob or none.
	SaveBaselineIndex(ctx context.Context, pairID string, token uint64, write func(io.Writer) error) error
	// LoadBaselineIndex returns a reader of the pair's blob if it was
	// saved for the baseline's current state; ok is false (and r nil)
	// when there is none, or when the baseline changed since. The caller
	// closes r.
	LoadBaselineIndex(ctx context.Context, pairID string) (r io.ReadCloser, ok bool, err error)
}

// JournalStore is the write-ahead journal of the applier: every action is
// recorded as an intent before it touches a storage and closed with its
// outcome after, so that the next run can resolve the intents of a run that
// crashed in between. It also keeps the state of resumable uploads, so that
// a large transfer cut off resumes instead of starting over.
type JournalStore interface {
	// BeginAction journals an intent and returns its ID; EndAction records
	// its outcome. OpenActions lists the pair's pending intents (those of a
	// run that crashed), oldest first.
	BeginAction(ctx context.Context, rec JournalRecord) (int64, error)
	EndAction(ctx context.Context, id int64, state JournalState, errMsg string) error
	OpenActions(ctx context.Context, pairID string) ([]JournalRecord, error)

	// SaveUpload, LoadUpload and DeleteUpload keep resumable-upload state
	// under a key of the engine's choosing (ErrNoItem when absent).
	SaveUpload(ctx context.Context, pairID, key string, st storage.UploadState) error
	LoadUpload(ctx context.Context, pairID, key string) (storage.UploadState, error)
	DeleteUpload(ctx context.Context, pairID, key string) error
}

// HistoryStore keeps what a portal shows of the past: the run history, the
// activity log (what the engine did, item by item) and the error log. They
// are append-only logs, read newest first a Page at a time.
type HistoryStore interface {
	// StartRun records a new run and returns its ID; FinishRun records its
	// end, status and counts. Runs lists the pair's runs, newest first.
	StartRun(ctx context.Context, r Run) (int64, error)
	FinishRun(ctx context.Context, r Run) error
	Runs(ctx context.Context, pairID string, p Page) ([]Run, error)

	// AddActivity and AddError append to the logs; Activity and Errors
	// read them, newest first. RunActivity reads the activity of one run
	// of the pair (Activity.RunID equal to runID), newest first, bounded
	// by p like Activity; a run with no activity, or an unknown run,
	// gives an empty list.
	AddActivity(ctx context.Context, a []Activity) error
	Activity(ctx context.Context, pairID string, p Page) ([]Activity, error)
	RunActivity(ctx context.Context, pairID string, runID int64, p Page) ([]Activity, error)
	AddError(ctx context.Context, e ErrorRecord) error
	Errors(ctx context.Context, pairID string, p Page) ([]ErrorRecord, error)
}

// FailureStore tracks the items that keep failing: when each may be tried
// again (backoff) and which are quarantined until an admin releases them.
type FailureStore interface {
	// PutFailure records or replaces the failure state of an item (keyed
	// by pair, side and path); ClearFailure forgets it; Failures lists the
	// pair's failing items.
	PutFailure(ctx context.Context, f Failure) error
	ClearFailure(ctx context.Context, pairID string, s Side, path string) error
	Failures(ctx context.Context, pairID string) ([]Failure, error)
}

// DeleteStore keeps what the delete safeguards need: the ledger of applied
// deletions behind the rolling delete limit, and the deletions held back
// (over the limit, or by the keep-deletes policy) until an admin approves
// or rejects them.
type DeleteStore interface {
	// RecordDeletes notes that n deletions were applied at time t;
	// DeletesSince counts those applied at or after since (the rolling
	// delete limit).
	RecordDeletes(ctx context.Context, pairID string, t time.Time, n int) error
	DeletesSince(ctx context.Context, pairID string, since time.Time) (int, error)
	// HoldDeletes records held deletions (skipping any already held for the
	// same Key and side); HeldDeletes lists them, oldest first;
	// ReleaseHeld removes the given ones (approved and applied, or rejected
	// and restored).
	HoldDeletes(ctx context.Context, h []HeldDelete) error
	HeldDeletes(ctx context.Context, pairID string) ([]HeldDelete, error)
	ReleaseHeld(ctx context.Context, pairID string, ids []int64) error
}

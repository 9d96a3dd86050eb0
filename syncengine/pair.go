package syncengine

import (
	"time"

	"github.com/procoresync/procoresync/storage"
)

// Side names one side of a pair.
type Side uint8

// The two sides. A is the Procore side by convention, B the target.
const (
	SideA Side = iota
	SideB
)

// Other returns the opposite side.
func (s Side) Other() Side { return 1 - s }

func (s Side) String() string {
	if s == SideA {
		return "A"
	}
	return "B"
}

// Direction says which way changes travel.
type Direction uint8

// Directions.
const (
	DirectionTwoWay   Direction = iota // changes travel both ways
	DirectionOneWayAB                  // A is the source of truth; changes on B are reported as drift and overwritten when A changes
)

// ConflictPolicy decides which side wins when both changed the same item.
type ConflictPolicy uint8

// Conflict policies. The loser is always preserved: as an older version
// where its side keeps version history, otherwise as a conflict copy.
const (
	ConflictNewestWins ConflictPolicy = iota // the later modification time wins (ties: A)
	ConflictPreferA                          // A wins
	ConflictPreferB                          // B wins
	ConflictKeepBoth                         // both are kept: the B copy is renamed to a conflict copy on both sides
)

// DeletePolicy says whether deletions travel to the other side.
type DeletePolicy uint8

// Delete policies.
const (
	DeletePropagate DeletePolicy = iota // a deletion on one side deletes the other copy (to its recycle bin)
	DeleteKeep                          // the other copy stays; the item is reported unsynced
)

// InitialMode chooses how a pair's first run treats existing data.
type InitialMode uint8

// Initial sync modes.
const (
	// InitialStandard: A is the source and B must be empty (an error otherwise);
	// folders are created first, then files are copied.
	InitialStandard InitialMode = iota
	// InitialMerge: both sides may hold data. Items are matched by path after name
	// mapping; equal content is linked without transfer; for different
	// content the newer modification wins and the loser is preserved.
	InitialMerge
)

// Filter selects which items a pair synchronises. Patterns use path.Match
// syntax and are matched against the item's path (relative to the pair
// root) and against its name alone; a pattern ending in "/**" matches a
// folder and everything below it.
type Filter struct {
	Include []string // if set, only items matching one of these (and the folders leading to them)
	Exclude []string // items matching any of these are left alone
	MinSize int64    // files smaller than this are left alone
	MaxSize int64    // files larger than this are left alone (0: no limit); sizes -1 (unknown) pass both
}

// Pair binds two rooted storages and the rules for keeping them in sync.
type Pair struct {
	// ID identifies the pair in the metadata store. It must stay the same
	// across restarts.
	ID string
	// Name is a human label, e.g. "Tower 3 / Documents".
	Name string
	// A and B are the two storages, each rooted at the pair's folder.
	A, B storage.Storage
	// AName and BName label the sides in conflict copies and reports
	// (default "A" and "B"), e.g. "Procore" and "SharePoint".
	AName, BName string

	Direction Direction
	Conflict  ConflictPolicy
	Initial   InitialMode
	Deletes   DeletePolicy
	// DeleteLimit is how many deletions may be applied to either side per
	// rolling 24 hours, each counted from its own time (0: no limit).
	// Deletions over the limit are held and reported; an admin approves or
	// rejects them.
	DeleteLimit int
	// MassDeleteShare refuses a run that would delete more than this share
	// of a side's items (default 0.5; a negative value disables the guard).
	MassDeleteShare float64
	// NameMapping maps names that are invalid on the other side into valid
	// ones (replacing invalid characters with Replacement). When false, such
	// items fail with an invalid-name error and the rest syncs.
	NameMapping bool
	// Replacement replaces invalid characters when NameMapping is on
	// (default "-").
	Replacement string
	// Filter selects the items to sync.
	Filter Filter
	// Interval is how often the engine runs the pair when nothing wakes it
	// earlier (default 5 minutes).
	Interval time.Duration
	// Budgets are the Limiter keys that this pair's connectors draw on
	// (the keys they give their storage.Pacer: one per Procore app and
	// token, one per Microsoft tenant). The engine draws nothing from them
	// itself — the connectors pace every call — but it waits while a
	// service has blocked one (Retry-After) and holds initial syncs back
	// while one runs low, so that incremental runs keep going.
	Budgets []string
	// Concurrency is how many actions (transfers, folder creations, …)
	// run at once when a pass starts (default 4). The engine then adapts
	// it between 1 and MaxConcurrency to the throughput it measures and to
	// the budgets: it grows while completed actions per second rise and
	// the budgets have room, steps back when they fall, and halves when a
	// service throttles (429 or 503 with Retry-After).
	Concurrency int
	// Stop pauses the pair after a number of runs (see StopPolicy; the
	// zero value never does).
	Stop StopPolicy
	// MaxConcurrency is the upper bound of the adaptive concurrency
	// (default 16 when Concurrency is not set either; otherwise, by
	// default, Concurrency itself, which keeps it fixed).
	MaxConcurrency int
}

// sideName returns the label of side s.
func (p *Pair) sideName(s Side) string {
	if s == SideA {
		if p.AName != "" {
			return p.AName
		}
		return "A"
	}
	if p.BName != "" {
		return p.BName
	}
	return "B"
}

// storage returns the storage of side s.
func (p *Pair) storage(s Side) storage.Storage {
	if s == SideA {
		return p.A
	}
	return p.B
}

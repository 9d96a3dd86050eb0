package syncengine

import (
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// ActionKind is what an Action does.
type ActionKind uint8

// Action kinds. "Target" is Action.Side, the side acted upon; "source" is
// the other side.
const (
	// ActionMkdir creates folder Path on the target.
	ActionMkdir ActionKind = iota + 1
	// ActionCopy copies a new file from the source to Path on the target.
	ActionCopy
	// ActionUpdate writes the source's content as a new version of the target's
	// file (Target), expecting its baseline Version.
	ActionUpdate
	// ActionMove moves/renames the target's item (Target) to Path.
	ActionMove
	// ActionDelete deletes the target's item (Target), to its recycle bin.
	ActionDelete
	// ActionLink records that the two sides' items (Source on side A/B as given)
	// are the same content: the baseline is updated, nothing is transferred.
	ActionLink
	// ActionForget drops a baseline record whose item is gone from both sides.
	ActionForget
	// ActionConflict resolves a conflict: Conflict says who wins and how the
	// loser is preserved.
	ActionConflict
	// ActionHoldDelete withholds a deletion (delete limit or keep-deletes policy):
	// it is recorded in the delete ledger and reported as unsynced.
	ActionHoldDelete
	// ActionDrift reports a change on B of a one-way pair; nothing is written.
	ActionDrift
	// ActionSkip leaves an item alone for Reason (filtered, invalid name without
	// mapping, quarantined, too large, …).
	ActionSkip
)

var actionNames = [...]string{ActionMkdir: "mkdir", ActionCopy: "copy", ActionUpdate: "update", ActionMove: "move",
	ActionDelete: "delete", ActionLink: "link", ActionForget: "forget", ActionConflict: "conflict",
	ActionHoldDelete: "hold-delete", ActionDrift: "drift", ActionSkip: "skip"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) && actionNames[k] != "" {
		return actionNames[k]
	}
	return fmt.Sprintf("ActionKind(%d)", k)
}

// ConflictInfo describes how a conflict is resolved.
type ConflictInfo struct {
	// Winner is the side whose content wins.
	Winner Side
	// LoserCopy, when set, is the name the loser is renamed to on its side
	// (a conflict copy, "name (conflict 2026-11-22 from SharePoint).ext");
	// when empty the winner is written as a new version over the loser,
	// whose side keeps version history.
	LoserCopy string
}

// Action is one step of a Plan.
type Action struct {
	Kind ActionKind
	// Side is the side acted upon (the target of the action).
	Side Side
	// Path is the item's path on Side after the action.
	Path string
	// IsDir is true when the item is a folder.
	IsDir bool
	// Source is the current entry on the other side that the action takes
	// content or metadata from (Copy, Update, Mkdir, Link, Conflict).
	Source storage.Entry
	// Target is the current entry on Side that the action changes (Update,
	// Move, Delete, Link, Conflict), if any.
	Target storage.Entry
	// Key is the baseline record the action concerns (0: none yet).
	Key int64
	// Conflict is set for Conflict actions.
	Conflict *ConflictInfo
	// Reason says why, in words for the dry run and the activity log.
	Reason string
	// Failed marks a Skip that is a failure of the item rather than a
	// choice (its name is invalid on Side and name mapping is off): the
	// applier records it in the error log and the run is partial.
	Failed bool
	// WaitsForFolder marks a Skip of an item whose folder is not synced
	// to Side yet: the run keeps its change-feed cursors, so that the next
	// run reads the item's change again and places it once its folder is
	// there.
	WaitsForFolder bool
}

func (a Action) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %s %q", a.Kind, a.Side, a.Path)
	if a.Kind == ActionMove && a.Target.Path != "" {
		fmt.Fprintf(&b, " (from %q)", a.Target.Path)
	}
	if a.Conflict != nil {
		fmt.Fprintf(&b, " winner %s", a.Conflict.Winner)
		if a.Conflict.LoserCopy != "" {
			fmt.Fprintf(&b, ", loser kept as %q", a.Conflict.LoserCopy)
		} else {
			b.WriteString(", loser kept as a version")
		}
	}
	if a.Reason != "" {
		fmt.Fprintf(&b, ": %s", a.Reason)
	}
	return b.String()
}

// Plan is the ordered list of actions for one run of a pair. It is a value:
// print it for a dry run.
type Plan struct {
	PairID  string
	Actions []Action
	// Refused is set when the whole plan must not be applied (mass-delete
	// guard, a protected root gone); Actions then lists what would have run.
	Refused string
}

func (p Plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for %s: %d actions\n", p.PairID, len(p.Actions))
	if p.Refused != "" {
		fmt.Fprintf(&b, "REFUSED: %s\n", p.Refused)
	}
	for _, a := range p.Actions {
		b.WriteString("  ")
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	return b.String()
}

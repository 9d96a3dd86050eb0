package syncengine

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// ErrTargetNotEmpty is returned (wrapped) by Engine.RunOnce and
// Engine.DryRun when a pair's InitialStandard initial sync finds data on
// side B, which must be empty.
var ErrTargetNotEmpty = errors.New("syncengine: standard initial sync needs an empty target (side B holds data)")

// MassDeleteFloor is the number of deletions per side that the mass-delete
// guard always allows: a run deleting at most this many items on a side is
// never refused, however small the side (a pair of 3 items deleting 2 is
// fine). Above it, a run that would delete more than Pair.MassDeleteShare
// of a side's items is refused unless forced.
const MassDeleteFloor = 10

// DefaultMassDeleteShare is the mass-delete guard's share when
// Pair.MassDeleteShare is zero.
const DefaultMassDeleteShare = 0.5

// verdict is what detect found out about two files' content.
type verdict uint8

// Content verdicts.
const (
	verdictUnknown   verdict = iota // not compared (buildPlan falls back on common hashes, then treats the files as different)
	verdictEqual                    // same bytes
	verdictDifferent                // different bytes
)

// observation is one item as detect saw it on both sides, against its
// baseline record. Items that changed on neither side are not observed.
type observation struct {
	// Base is the baseline record (nil for an item the baseline does not know).
	Base *Item
	// Entry holds the current entry on each side (indexed by Side); nil
	// means the item is absent on that side (deleted, or never there).
	Entry [2]*storage.Entry
	// FromBase[s] is true when side s was not re-read because it did not
	// change: Entry[s] is then the baseline state, whose path may lag behind
	// a move of one of its ancestors (buildPlan corrects it).
	FromBase [2]bool
	// Same is the content verdict when both sides hold a file whose content
	// may differ (both modified, or created on both sides).
	Same verdict
}

// planInput is everything buildPlan needs; detect builds it. It is plain
// data: tests build it by hand.
type planInput struct {
	Pair  *Pair
	State PairState
	Now   time.Time
	// Force bypasses the mass-delete guard.
	Force bool
	// Initial is true for the pair's initial sync (State.Initialized false).
	Initial bool
	// RootGone, when set, says which protected root is gone or was replaced
	// (e.g. `root of side B (SharePoint) is gone: …`). buildPlan then
	// refuses the plan with this reason and plans nothing at all (never
	// deletions); the engine pauses the pair and notifies.
	RootGone string
	// Observations are the items that changed on either side since the
	// baseline (and items whose failures are due for a retry).
	Observations []observation
	// Parents holds baseline folder records by side and ID (Parents[s][id]
	// is the item whose side-s ID is id) for the parents of observed
	// entries that are not observed themselves.
	Parents [2]map[string]Item
	// Occupied[s] holds, sorted, the pathKey hashes of every path present
	// on side s that buildPlan might collide with (all of them after a full
	// listing; the candidate paths after a change feed). See occupiedHash.
	Occupied [2][]uint64
	// Count[s] is the number of items on side s, for the mass-delete guard.
	Count [2]int
	// DeletesInWindow is how many deletions were applied in the 24 hours
	// before Now (the rolling delete limit).
	DeletesInWindow int
	// Held holds the baseline keys whose deletion is already held: they are
	// never planned for deletion again.
	Held map[int64]bool
	// Quarantined lists failures no longer retried automatically; each gets
	// a Skip action and its item is left alone.
	Quarantined []Failure
}

// occupiedHash returns the value planInput.Occupied holds for path p on a
// storage with rules r: a hash of the path as r compares names.
func occupiedHash(r storage.NameRules, p string) uint64 { return pathKeyHash(r, p) }

// content operations a node may need.
type contentOp uint8

const (
	opNone     contentOp = iota
	opCopy               // create or restore on copyTo
	opUpdate             // update on updateOn
	opConflict           // conflict, winner
	opLink
	opForget
	opDrift
	opSkip
)

// node is one observation while planning.
type pnode struct {
	o    observation
	base *Item
	e    [2]*storage.Entry
	dir  bool

	present, moved, modified, touched, fromBase [2]bool
	now                                         [2]string
	dead                                        bool

	decided   bool
	fromOther [2]bool // the item's location on this side comes from the other side
	exists    [2]bool // the item exists on this side after the plan
	op        contentOp
	opSide    Side // copy/update target side, conflict winner
	reason    string
	delOn     int8 // side to delete on (-1: none)
	keep      bool // a restored folder (deletion turned into restore)
	// moveWins marks a folder deleted on one side and moved on the other
	// (or recorded elsewhere than it is), restored because the move wins:
	// what was deleted with it moved with it, and is restored with it.
	moveWins bool
	quar     bool
	// moveUndone marks a folder whose move on one side crossed a move on
	// the other (each folder into the other): it goes back on the side
	// that moved it (see breakMoveCycles).
	moveUndone bool

	fstate  [2]uint8
	final   [2]string
	fok     [2]bool
	freason [2]string
	// finvalid is set when freason is a name the side cannot hold.
	finvalid [2]bool
}

type planner struct {
	in      *planInput
	p       *Pair
	nm      namer
	nodes   []*pnode
	byID    [2]map[string]*pnode
	byNow   [2]map[string]*pnode
	nowKey  [2]map[string]*pnode
	baseNow [2]map[string]string
	// moves holds, per side, the folders observed moving away from their
	// baseline path, by their baseline ID on that side.
	moves [2]map[string]folderMove
	// baseDirs holds, per side, the baseline folder records the planner
	// has (those of observed folders and of the parents of observed
	// entries) by their ID on that side: see baseFolder.
	baseDirs [2]map[string]*Item
	claimed  [2]map[string]*pnode
	// looped collects, while breakMoveCycles looks for them, the nodes
	// whose place on a side turned out to depend on itself.
	looped map[*pnode]bool
	out    []Action
	// invalid holds the nodes left alone because a side lists them
	// impossibly (a file with a size below -1, unknown): each is reported as a
	// failed Skip.
	invalid []*pnode
	// origin holds the path before the plan of each item a Move moves.
	origin map[movedKey]string
	// nowOf holds, for the entries that content actions take as Source or
	// Target, their path before the plan, by side and path after it (see
	// followMoves).
	nowOf [2]map[string]string
}

// buildPlan is a pure function: the same input always gives the same plan.
// No I/O. It applies the reconciliation table (see the package
// documentation), the pair's direction, conflict, delete and name-mapping
// policies, its filter, the delete limit and the mass-delete guard, and
// orders the actions: folder creations top-down, then moves, then copies,
// updates, conflicts and links, then deletions bottom-up, then drift and
// skip reports; within a class by path. Folder creations and moves are then
// ordered by what they need (see orderStructure): a Mkdir or Move to a path
// that a Move frees comes after that Move, and a cycle of moves (a swap of
// two names) goes through a temporary name in the same run.
//
// Paths: every action's Path is the item's path after the plan. Target.Path
// of a Move is where its item is when the Move runs (after the moves of its
// ancestors before it); Target.Path of every later action (Update, Link,
// Conflict, Delete, and Moves of descendants) is the item's path after the
// moves before it, which for content actions is its final path. The other
// fields of those entries (ParentID, Version) are as read before the plan:
// where a Move of the same Key in the same run changed them, the applier
// substitutes the entry that Move returned.
//
// Held deletions: an item whose deletion is held is left alone until an
// admin approves or rejects it. A new item that arrives inside a folder
// whose deletion is held (the folder is gone on one side and kept on the
// other) gets a Skip saying so, on the side where the folder was deleted:
// it stays where it was written (nothing is lost) and the folder is not
// recreated there behind the admin's back; once the deletion is rejected
// (the folder comes back) it syncs, and if it is approved the folder goes
// to the recycle bin with it.
func buildPlan(in *planInput) Plan {
	if in == nil || in.Pair == nil {
		return Plan{Refused: "no pair to plan"}
	}
	plan := Plan{PairID: in.Pair.ID}
	if in.RootGone != "" {
		plan.Refused = in.RootGone
		return plan
	}
	pl := newPlanner(in)
	pl.match()
	for _, n := range pl.nodes {
		if !n.dead {
			pl.decide(n)
		}
	}
	pl.resolveDeletes()
	pl.resetPaths()
	pl.breakMoveCycles()
	for _, n := range pl.nodes {
		if !n.dead {
			pl.emit(n)
		}
	}
	for _, n := range pl.invalid {
		s := n.opSide
		var key int64
		if n.base != nil {
			key = n.base.Key
		}
		pl.out = append(pl.out, Action{Kind: ActionSkip, Side: s.Other(), Path: n.e[s].Path, Source: *n.e[s],
			Key: key, Reason: n.reason, Failed: true})
	}
	for _, f := range in.Quarantined {
		pl.out = append(pl.out, Action{Kind: ActionSkip, Side: f.Side, Path: f.Path,
			Reason: fmt.Sprintf("quarantined after %d failed attempts: %s", f.Attempts, f.Error)})
	}
	refused := pl.limitDeletes()
	sortPlanActions(pl.out)
	pl.out = pl.orderStructure(pl.out)
	pl.followMoves()
	plan.Actions = pl.out
	plan.Refused = refused
	return plan
}

func newPlanner(in *planInput) *planner {
	pl := &planner{in: in, p: in.Pair, nm: newNamer(in.Pair)}
	for s := range 2 {
		pl.byID[s] = map[string]*pnode{}
		pl.byNow[s] = map[string]*pnode{}
		pl.nowKey[s] = map[string]*pnode{}
		pl.baseNow[s] = map[string]string{}
		pl.moves[s] = map[string]folderMove{}
		pl.claimed[s] = map[string]*pnode{}
	}
	quar := map[[2]string]bool{}
	for _, f := range in.Quarantined {
		quar[[2]string{f.Side.String(), f.Path}] = true
	}
	for i := range in.Observations {
		o := in.Observations[i]
		n := &pnode{o: o, base: o.Base, e: o.Entry, fromBase: o.FromBase, delOn: -1}
		if n.base == nil && n.e[0] == nil && n.e[1] == nil {
			continue
		}
		for s := range 2 {
			if e := n.e[s]; e != nil {
				ec := *e
				n.e[s] = &ec
				n.present[s] = true
				n.dir = e.IsDir
				if !ec.IsDir && ec.Size < -1 && !n.dead {
					// Neither copied, updated nor deleted anywhere (nor
					// taken as filtered out by size): the entry says
					// nothing reliable about the file.
					n.dead = true
					n.reason = fmt.Sprintf("%s lists %q with a negative size (%d): not synced",
						pl.p.sideName(Side(s)), ec.Path, ec.Size)
					n.opSide = Side(s)
					pl.invalid = append(pl.invalid, n)
				}
				if !n.dead && !pl.p.Filter.Allows(ec) {
					n.dead = true // filtered: neither copied nor deleted
				}
				if quar[[2]string{Side(1 - s).String(), ec.Path}] {
					n.dead, n.quar = true, true
				}
			}
		}
		if n.base != nil {
			n.dir = n.base.IsDir
			if n.present[0] && n.present[1] && n.e[0].IsDir != n.e[1].IsDir {
				n.dead = true
			}
		}
		if n.dead {
			continue
		}
		pl.classify(n)
		pl.nodes = append(pl.nodes, n)
	}
	// Observed folder moves: baseline path → current path, per side.
	for _, n := range pl.nodes {
		for s := range 2 {
			if n.base != nil && n.present[s] && !n.fromBase[s] && n.dir {
				if bp := n.base.Side(Side(s)).Path; bp != n.e[s].Path {
					pl.baseNow[s][bp] = n.e[s].Path
					if id := n.base.Side(Side(s)).ID; id != "" {
						pl.moves[s][id] = folderMove{from: bp, to: n.e[s].Path}
					}
				}
			}
		}
	}
	for _, n := range pl.nodes {
		for s := range 2 {
			if !n.present[s] {
				continue
			}
			if n.fromBase[s] {
				// Unchanged since the baseline: it follows the moves of
				// the folders it lies in. A folder observed moving away
				// from its own baseline path does not take it along: at
				// that path it is another item (a folder made there
				// while the moved one's record waited), nor does a
				// folder that is not its ancestor (see itemBaseToNow).
				n.now[s] = pl.itemBaseToNow(Side(s), n.e[s].Path, n.e[s].ParentID)
			} else {
				n.now[s] = n.e[s].Path
			}
			pl.index(n, Side(s))
		}
	}
	sort.SliceStable(pl.nodes, func(i, j int) bool {
		a, b := pl.nodes[i], pl.nodes[j]
		if da, db := a.minDepth(), b.minDepth(); da != db {
			return da < db
		}
		return a.primary() < b.primary()
	})
	return pl
}

func (pl *planner) index(n *pnode, s Side) {
	pl.byNow[s][n.now[s]] = n
	pl.nowKey[s][pl.nm.key(s, n.now[s])] = n
	if n.e[s].ID != "" {
		pl.byID[s][n.e[s].ID] = n
	}
	if n.base != nil && n.base.Side(s).ID != "" && n.byIDFree(pl, s) {
		pl.byID[s][n.base.Side(s).ID] = n
	}
}

func (n *pnode) byIDFree(pl *planner, s Side) bool {
	_, taken := pl.byID[s][n.base.Side(s).ID]
	return !taken
}

func (n *pnode) minDepth() int {
	d := 1 << 30
	for s := range 2 {
		if n.present[s] {
			d = min(d, segDepth(n.now[s]))
		}
	}
	if d == 1<<30 && n.base != nil {
		d = segDepth(n.base.A.Path)
	}
	return d
}

func (n *pnode) primary() string {
	switch {
	case n.present[0]:
		return n.now[0]
	case n.present[1]:
		return n.now[1]
	case n.base != nil:
		return n.base.A.Path
	}
	return ""
}

// classify compares each side with the baseline.
func (pl *planner) classify(n *pnode) {
	for s := range 2 {
		n.moved[s], n.modified[s], n.touched[s] = false, false, false
		e := n.e[s]
		if e == nil || n.base == nil {
			continue
		}
		b := n.base.Side(Side(s))
		if e.ParentID != "" || b.ParentID != "" {
			n.moved[s] = e.ParentID != b.ParentID || e.Name() != baseOf(b.Path)
		} else {
			n.moved[s] = e.Path != b.Path
		}
		if n.fromBase[s] {
			n.moved[s] = false
		}
		if e.ID != b.ID && !n.dir {
			n.modified[s] = true // the item was replaced by another one
			continue
		}
		if e.ID != b.ID {
			n.touched[s] = true
		}
		if n.dir || e.Version == b.Version {
			continue
		}
		if eq, ok := e.Hashes.Equal(b.Hashes); ok && eq && e.Size == b.Size {
			n.touched[s] = true // metadata-only change
		} else {
			n.modified[s] = true
		}
	}
}

func (n *pnode) changed(s Side) bool { return n.moved[s] || n.modified[s] }

// baseToNow rewrites a baseline path on side s through the folder moves
// observed on s.
func (pl *planner) baseToNow(s Side, p string) string {
	for q := p; q != ""; q = dirOf(q) {
		if np, ok := pl.baseNow[s][q]; ok {
			return np + p[len(q):]
		}
	}
	return p
}

// folderMove is a folder observed moving on a side: from its baseline
// path to its current one.
type folderMove struct{ from, to string }

// itemBaseToNow rewrites the baseline path p on side s of an item whose
// baseline record's parent on s has ID pid through the folder moves
// observed on s, as baseToNow does, except that a folder observed moving
// away from a path takes the item along only if it is the item's ancestor:
// when the item's ancestor at that path (followed up by the ParentIDs of
// the baseline records) is known to be another folder recorded there,
// which did not move, the item stays where it is (two folder records at
// one path arise when a folder's move fails and another folder takes its
// old name). Where the ancestor is not known, the path decides, as in
// baseToNow.
func (pl *planner) itemBaseToNow(s Side, p, pid string) string {
	id, at := pid, dirOf(p) // id: the baseline ID on s of the ancestor at path at ("" unknown)
	for q := at; q != ""; q = dirOf(q) {
		np, ok := pl.baseNow[s][q]
		if !ok {
			continue
		}
		for id != "" && at != q {
			if f := pl.baseFolder(s, id); f != nil && f.Side(s).Path == at {
				id = f.Side(s).ParentID
			} else {
				id = ""
			}
			at = dirOf(at)
		}
		if id != "" {
			if m, ok := pl.moves[s][id]; ok && m.from == q {
				return m.to + p[len(q):]
			}
			if f := pl.baseFolder(s, id); f != nil && f.Side(s).Path == q {
				continue // another folder recorded at q moved, not this one
			}
		}
		return np + p[len(q):]
	}
	return p
}

// baseFolder returns the baseline folder record the planner has (that of
// an observed folder, or of the parent of an observed entry) whose ID on
// side s is id, or nil.
func (pl *planner) baseFolder(s Side, id string) *Item {
	if pl.baseDirs[s] == nil {
		m := map[string]*Item{}
		for t := range 2 {
			for _, it := range pl.in.Parents[t] {
				if i := it.Side(s).ID; i != "" && (m[i] == nil || it.Key < m[i].Key) {
					m[i] = &it
				}
			}
		}
		for i := len(pl.nodes) - 1; i >= 0; i-- {
			if b := pl.nodes[i].base; b != nil && b.IsDir && b.Side(s).ID != "" {
				m[b.Side(s).ID] = b
			}
		}
		pl.baseDirs[s] = m
	}
	return pl.baseDirs[s][id]
}

// match pairs items created on one side with items at the same place on
// the other: items created on both sides (merge), or an item that replaced
// a deleted one of the same name (an update of that item).
func (pl *planner) match() {
	for _, n := range pl.nodes {
		if n.dead || n.base != nil || n.present[0] == n.present[1] {
			continue
		}
		s := SideA
		if n.present[SideB] {
			s = SideB
		}
		t := s.Other()
		parent, ok := pl.parentOn(n, s, t)
		if !ok {
			continue
		}
		name := n.e[s].Name()
		if nm, err := pl.nm.name(t, name); err == nil {
			name = nm
		}
		m := pl.nowKey[t][pl.nm.key(t, joinPath(parent, name))]
		if m == nil || m == n || m.dead || m.dir != n.dir || m.present[s] {
			continue
		}
		if m.base != nil && (m.moved[t] || m.decided) {
			continue // m left for elsewhere: n is not its replacement
		}
		if m.base == nil && m.decided {
			continue
		}
		// Merge n into m.
		m.e[s], m.present[s], m.now[s], m.fromBase[s] = n.e[s], true, n.now[s], false
		if m.base == nil && n.o.Same != verdictUnknown {
			m.o.Same = n.o.Same
		}
		pl.classify(m)
		if m.base != nil {
			m.moved[s] = false
		}
		n.dead = true
		pl.index(m, s)
	}
}

// decide applies the reconciliation table to one node.
func (pl *planner) decide(n *pnode) {
	if n.decided {
		return
	}
	n.decided = true
	A, B := n.present[SideA], n.present[SideB]
	n.exists = n.present
	switch {
	case n.base == nil && A && B:
		if !n.dir {
			pl.decideContent(n, true)
		} else {
			n.op = opLink
		}
	case n.base == nil:
		pl.decideNew(n)
	case !A && !B:
		n.op = opForget
	case !A || !B:
		pl.decideDeleted(n)
	default:
		pl.decideBoth(n)
	}
}

// decideNew decides for an item the baseline does not know, present on one
// side: copied to the other, or drift on B of a one-way pair.
func (pl *planner) decideNew(n *pnode) {
	s := SideA
	if n.present[SideB] {
		s = SideB
	}
	if s == SideB && pl.p.Direction != DirectionTwoWay {
		n.op, n.reason = opDrift, "created on B of a one-way pair"
		return
	}
	n.op, n.opSide = opCopy, s.Other()
	n.exists[s.Other()], n.fromOther[s.Other()] = true, true
}

// decideDeleted decides for a baseline item deleted on one side: deleted
// on the other, restored where a change wins, left alone while its
// deletion is held, or drift on B of a one-way pair.
func (pl *planner) decideDeleted(n *pnode) {
	two := pl.p.Direction == DirectionTwoWay
	d := SideA // the side where it was deleted
	if n.present[SideA] {
		d = SideB
	}
	t := d.Other()
	if pl.in.Held[n.base.Key] && !(two && !n.dir && n.modified[t]) {
		// Already held: only an admin resolves it, or an edit of the
		// kept copy, which cancels the hold (restored below; the
		// applier releases the hold).
		return
	}
	restore := two && (n.changed(t) || pl.relocated(n, t))
	if !two && d == SideB {
		if !n.changed(SideA) && !pl.relocated(n, SideA) {
			n.op, n.reason = opDrift, "deleted on B of a one-way pair"
			return
		}
		restore = true
	}
	if restore {
		n.op, n.opSide = opCopy, d
		n.exists[d], n.fromOther[d] = true, true
		n.moveWins = n.dir
		n.reason = "deleted on " + pl.p.sideName(d) + " but changed on " + pl.p.sideName(t) + ": restored"
		if !n.changed(t) {
			n.reason = "deleted on " + pl.p.sideName(d) + " but its folder moved on " + pl.p.sideName(t) + ": restored"
		}
		return
	}
	n.delOn = int8(t)
	if !two && n.changed(SideB) {
		n.reason = "deleted on A; B's changes (drift) are not kept in a one-way pair"
	}
}

// relocated reports whether baseline item n, deleted on the other side,
// moved on side t as part of a folder: the nearest folder above it that
// the plan observes on t is itself deleted on the other side and restored
// because it moved on t (moveWins), or n lies on t elsewhere than its
// baseline record says once the observed folder moves are applied (a
// folder above it was restored at its new place by an earlier run, whose
// items were not all restored yet). Either way the person on t moved the
// item with its folder, and the move wins over the deletion as the
// folder's does; an item deleted on its own inside a folder moved on t is
// not relocated (its folder is not deleted) and its deletion goes ahead.
func (pl *planner) relocated(n *pnode, t Side) bool {
	if !n.present[t] || n.base == nil {
		return false
	}
	if pl.pathDriftOn(n, t) {
		return true
	}
	for q := dirOf(n.now[t]); q != ""; q = dirOf(q) {
		a := pl.byNow[t][q]
		if a == nil || a == n || a.dead || !a.dir {
			continue
		}
		if a.base == nil || a.present[t.Other()] {
			return false
		}
		pl.decide(a)
		return a.moveWins
	}
	return false
}

// decideBoth decides for a baseline item present on both sides: where it
// goes (the side that moved it, the newer when both did), then its
// content.
func (pl *planner) decideBoth(n *pnode) {
	two := pl.p.Direction == DirectionTwoWay
	if two {
		switch {
		case n.moved[SideA] && n.moved[SideB]:
			w := pl.newer(n)
			n.fromOther[w.Other()] = true
		case n.moved[SideA]:
			n.fromOther[SideB] = true
		case n.moved[SideB]:
			n.fromOther[SideA] = true
		}
	} else if n.moved[SideA] || (n.moved[SideB] && n.changed(SideA)) {
		n.fromOther[SideB] = true
	}
	if !n.dir {
		pl.decideContent(n, false)
		return
	}
	if !two && n.moved[SideB] && !n.changed(SideA) {
		n.op, n.reason = opDrift, "moved on B of a one-way pair"
	} else if n.touched[SideA] || n.touched[SideB] {
		n.op = opLink
	}
}

// decideContent picks what happens to a file present on both sides.
func (pl *planner) decideContent(n *pnode, created bool) {
	two := pl.p.Direction == DirectionTwoWay
	modA, modB := n.modified[SideA], n.modified[SideB]
	switch {
	case created || (modA && modB):
		if pl.sameContent(n) {
			n.op = opLink
			return
		}
		if !two && !created {
			n.op, n.opSide = opUpdate, SideB
			n.reason = "changed on both sides of a one-way pair: A overwrites B"
			return
		}
		n.op, n.opSide = opConflict, pl.winner(n)
	case modA:
		n.op, n.opSide = opUpdate, SideB
	case modB && two:
		n.op, n.opSide = opUpdate, SideA
	case modB:
		n.op, n.reason = opDrift, "changed on B of a one-way pair"
	case n.moved[SideB] && !two && !n.fromOther[SideB]:
		n.op, n.reason = opDrift, "moved on B of a one-way pair"
	case n.touched[SideA] || n.touched[SideB]:
		n.op = opLink
	}
}

func (pl *planner) sameContent(n *pnode) bool {
	a, b := n.e[SideA], n.e[SideB]
	switch n.o.Same {
	case verdictEqual:
		return true
	case verdictDifferent:
		return false
	}
	if sizesDiffer(a.Size, b.Size) {
		return false
	}
	eq, ok := a.Hashes.Equal(b.Hashes)
	return ok && eq
}

// newer returns the side whose entry is newer (ties: A).
func (pl *planner) newer(n *pnode) Side {
	if n.e[SideB].ModTime.After(n.e[SideA].ModTime) {
		return SideB
	}
	return SideA
}

func (pl *planner) winner(n *pnode) Side {
	switch pl.p.Conflict {
	case ConflictPreferA, ConflictKeepBoth:
		return SideA
	case ConflictPreferB:
		if pl.p.Direction == DirectionTwoWay {
			return SideB
		}
		return SideA
	}
	if pl.p.Direction != DirectionTwoWay {
		return SideA
	}
	return pl.newer(n)
}

// final returns the node's path on side t after the plan, and false when
// the item will not be there (its freason says why, if it is a refusal).
func (pl *planner) final(n *pnode, t Side) (string, bool) {
	switch n.fstate[t] {
	case 2:
		return n.final[t], n.fok[t]
	case 1: // a cycle of moves: keep the current place
		if pl.looped != nil {
			pl.looped[n] = true
		}
		return n.now[t], n.present[t]
	}
	pl.decide(n)
	n.fstate[t] = 1
	var p string
	ok := n.exists[t]
	if ok {
		if n.fromOther[t] {
			p, ok = pl.placeFrom(n, t)
		} else {
			p = pl.place(t, n.now[t], false)
		}
	}
	n.final[t], n.fok[t], n.fstate[t] = p, ok, 2
	return p, ok
}

// place returns where the item now at p on side t will be after the plan:
// p rewritten through the deepest observed ancestor (or p itself when self).
func (pl *planner) place(t Side, p string, self bool) string {
	q := p
	if !self {
		q = dirOf(p)
	}
	for ; q != ""; q = dirOf(q) {
		if a := pl.byNow[t][q]; a != nil && a.dir && (q != p || self) {
			f, ok := pl.final(a, t)
			if !ok {
				return p
			}
			return f + p[len(q):]
		}
	}
	return p
}

// parentOn returns the path on side t, after the plan, of the folder that
// holds node n on side s.
func (pl *planner) parentOn(n *pnode, s, t Side) (string, bool) {
	e := n.e[s]
	dir := dirOf(n.now[s])
	if dir == "" {
		return "", true
	}
	if e.ParentID != "" {
		if pn := pl.byID[s][e.ParentID]; pn != nil && pn != n && !pn.dead {
			return pl.parentFinal(n, pn, s, t)
		}
	}
	if pn := pl.byNow[s][dir]; pn != nil && pn != n && !pn.dead {
		return pl.parentFinal(n, pn, s, t)
	}
	if n.base != nil && e.ParentID == n.base.Side(s).ParentID && n.base.Side(t).Path != "" {
		// The folder's own record wins over the item's memory of it when
		// they disagree (the folder was recreated or moved on t since).
		bdir := dirOf(n.base.Side(t).Path)
		if it, ok := pl.in.Parents[s][e.ParentID]; !ok || e.ParentID == "" || it.Side(t).Path == "" || it.Side(t).Path == bdir {
			return pl.place(t, pl.baseToNow(t, bdir), true), true
		}
	}
	if it, ok := pl.in.Parents[s][e.ParentID]; ok && e.ParentID != "" {
		if pl.in.Held[it.Key] {
			n.freason[t] = pl.heldReason(pl.baseToNow(s, it.Side(s).Path), t)
			return "", false
		}
		return pl.place(t, pl.baseToNow(t, it.Side(t).Path), true), true
	}
	// No record of the parent: map the folder path itself.
	segs := strings.Split(dir, "/")
	for i, seg := range segs {
		m, err := pl.nm.name(t, seg)
		if err != nil {
			n.freason[t] = err.Error()
			n.finvalid[t] = errors.Is(err, storage.ErrInvalidName)
			return "", false
		}
		segs[i] = m
	}
	return pl.place(t, strings.Join(segs, "/"), true), true
}

func (pl *planner) parentFinal(n, pn *pnode, s, t Side) (string, bool) {
	f, ok := pl.final(pn, t)
	if !ok {
		if pn.base != nil && pl.in.Held[pn.base.Key] && !pn.present[t] && n.freason[t] == "" {
			n.freason[t] = pl.heldReason(pn.now[s], t)
		}
		return "", false
	}
	return f, true
}

// folderNotSynced is the Skip reason of an item whose folder is not synced
// to side t (yet).
func (pl *planner) folderNotSynced(t Side) string {
	return "its folder is not synced to " + pl.p.sideName(t)
}

// heldReason is the Skip reason of an item inside folder dir (a path on the
// other side) whose deletion on side t is held.
func (pl *planner) heldReason(dir string, t Side) string {
	return fmt.Sprintf("its folder %q was deleted on %s and that deletion is held: "+
		"it syncs once an admin approves or rejects the held deletion", dir, pl.p.sideName(t))
}

// placeFrom computes node n's path on side t from its place on the other
// side: the other side's parent, mapped, under the remembered name where
// the name did not change, disambiguated on collision.
func (pl *planner) placeFrom(n *pnode, t Side) (string, bool) {
	s := t.Other()
	e := n.e[s]
	if e == nil {
		return "", false
	}
	parent, ok := pl.parentOn(n, s, t)
	if !ok {
		if n.freason[t] == "" {
			n.freason[t] = pl.folderNotSynced(t)
		}
		return "", false
	}
	var name string
	if n.base != nil && n.base.Side(t).Path != "" && e.Name() == baseOf(n.base.Side(s).Path) {
		name = baseOf(n.base.Side(t).Path)
	} else {
		m, err := pl.nm.name(t, e.Name())
		if err != nil {
			n.freason[t] = err.Error()
			n.finvalid[t] = errors.Is(err, storage.ErrInvalidName)
			return "", false
		}
		name = m
	}
	p := joinPath(parent, name)
	if pl.collides(n, t, p) {
		p = joinPath(parent, pl.disambiguated(n, t, parent, e.Name()))
	}
	pl.claimed[t][pl.nm.key(t, p)] = n
	return p, true
}

// disambiguated returns the name node n, called original on the other
// side, takes in folder parent on side t when its own name is taken there:
// the first of the namer's alternatives (see namer.alternative) that is
// free as far as the plan can see side t (Occupied, and the other items of
// the plan). When all are taken it returns the first: the applier then
// fails on it, and the item is retried.
func (pl *planner) disambiguated(n *pnode, t Side, parent, original string) string {
	first := pl.nm.alternative(t, original, 1)
	for i := 1; i <= maxDisambiguations; i++ {
		c := first
		if i > 1 {
			c = pl.nm.alternative(t, original, i)
		}
		if !pl.collides(n, t, joinPath(parent, c)) {
			return c
		}
	}
	return first
}

// collides reports whether path p on side t is taken by another item.
func (pl *planner) collides(n *pnode, t Side, p string) bool {
	k := pl.nm.key(t, p)
	if c := pl.claimed[t][k]; c != nil && c != n {
		return true
	}
	if m := pl.nowKey[t][k]; m != nil {
		if m == n {
			return false
		}
		if m.fstate[t] == 1 {
			// m's place is being worked out (a cycle of moves, as in a
			// swap of two names): the path is free when m is renamed
			// away from it; orderStructure then orders the moves.
			return !pl.renamedAway(m, t, k)
		}
		f, ok := pl.final(m, t)
		// m is deleted on t last, so its path stays taken meanwhile.
		return !ok || pl.nm.key(t, f) == k || m.delOn == int8(t)
	}
	h := keyHash(k)
	_, found := slices.BinarySearch(pl.in.Occupied[t], h)
	return found
}

// renamedAway reports whether node m, now at the path whose key is k on
// side t, takes another name there from the other side (so leaves k).
func (pl *planner) renamedAway(m *pnode, t Side, k string) bool {
	o := t.Other()
	if !m.present[t] || !m.fromOther[t] || m.e[o] == nil || m.base == nil {
		return false
	}
	if m.e[o].Name() == baseOf(m.base.Side(o).Path) {
		return false // not renamed: it keeps its name on t
	}
	name, err := pl.nm.name(t, m.e[o].Name())
	return err == nil && pl.nm.key(t, name) != pl.nm.key(t, baseOf(k))
}

// resolveDeletes turns the deletion of a folder that still holds kept
// items into a restore on the side where it was deleted, holds a folder
// deletion that would take held items with it, and drops deletions made
// redundant by the deletion of an ancestor.
func (pl *planner) resolveDeletes() {
	var cands []*pnode
	kept := [2]map[string]bool{{}, {}}
	held := [2]map[string]bool{{}, {}}
	mark := func(m map[string]bool, p string) {
		for q := dirOf(p); q != ""; q = dirOf(q) {
			if m[q] {
				return
			}
			m[q] = true
		}
	}
	for _, n := range pl.nodes {
		if n.dead {
			continue
		}
		for s := range 2 {
			if !n.present[s] {
				continue
			}
			p := n.now[s]
			if n.fromOther[s] {
				// Moved on s by the plan (out of a folder deleted on the
				// other side, say): it keeps the folders it goes to.
				if f, ok := pl.final(n, Side(s)); ok {
					p = f
				}
			}
			switch {
			case n.delOn == int8(s):
			case n.base != nil && pl.in.Held[n.base.Key] && !(n.present[0] && n.present[1]):
				mark(held[s], p)
			default:
				mark(kept[s], p)
			}
		}
		if n.delOn >= 0 {
			cands = append(cands, n)
		}
	}
	// Deletions inside a folder whose deletion is held wait with it (its
	// ActionHoldDelete covers them): they are not applied, nor held, one by one.
	var heldDirs [2][]string
	for _, n := range pl.nodes {
		if !n.dead && n.dir && n.base != nil && pl.in.Held[n.base.Key] && n.present[0] != n.present[1] {
			s := SideA
			if n.present[SideB] {
				s = SideB
			}
			heldDirs[s] = append(heldDirs[s], n.now[s])
		}
	}
	cands = slices.DeleteFunc(cands, func(n *pnode) bool {
		t := Side(n.delOn)
		if slices.ContainsFunc(heldDirs[t], func(d string) bool { return isUnder(n.now[t], d) }) {
			n.delOn = -1
			return true
		}
		return false
	})
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		da, db := segDepth(a.now[a.delOn]), segDepth(b.now[b.delOn])
		if da != db {
			return da > db
		}
		return a.now[a.delOn] < b.now[b.delOn]
	})
	for _, n := range cands {
		t := Side(n.delOn)
		if !n.dir {
			continue
		}
		if kept[t][n.now[t]] {
			d := t.Other()
			n.delOn, n.keep = -1, true
			n.op, n.opSide = opCopy, d
			n.exists[d], n.fromOther[d] = true, true
			n.reason = "deleted on " + pl.p.sideName(d) + " but items inside changed: folder restored"
			mark(kept[t], n.now[t])
		} else if held[t][n.now[t]] {
			n.reason = "holds items whose deletion is held"
			mark(held[t], n.now[t])
		}
	}
}

// crossedMove reports whether node n is a folder whose place on side t
// comes from a move on the other side (a move replayed on t).
func (n *pnode) crossedMove(t Side) bool {
	return !n.dead && n.dir && n.base != nil && !n.moveUndone && n.present[t] && n.fromOther[t] && n.moved[t.Other()]
}

// breakMoveCycles undoes a folder move that moves on the other side make
// impossible to replay: A moves y into x while B moves x into y. Replayed
// together, each folder would go inside the other; no storage allows it,
// and the pair would fail in every run. The move found in the cycle is
// undone on the side that made it: the folder goes back there to where
// the other side has it, and the other side's move is replayed around it.
// Both folders and everything in them are kept, in one of the two
// arrangements; which one is fixed by the order of the nodes, so a rerun
// plans the same. It costs one pass over the replayed folder moves when
// there are any, and a pass per undone move when there is a cycle.
func (pl *planner) breakMoveCycles() {
	var cands []*pnode
	for _, n := range pl.nodes {
		if n.crossedMove(SideA) || n.crossedMove(SideB) {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return
	}
	pl.looped = map[*pnode]bool{}
	found := false
	for _, n := range cands {
		for _, t := range []Side{SideA, SideB} {
			if n.crossedMove(t) && pl.insideItself(n, t) {
				found = true
			}
		}
	}
	pl.resetPaths()
	for found {
		found = false
		for _, n := range cands {
			for _, t := range []Side{SideA, SideB} {
				if !n.crossedMove(t) {
					continue
				}
				clear(pl.looped)
				hit := pl.insideItself(n, t)
				pl.resetPaths()
				if hit {
					n.fromOther[t], n.fromOther[t.Other()], n.moveUndone = false, true, true
					found = true
				}
			}
		}
	}
	pl.looped = nil
}

// insideItself reports whether folder n's place on side t, worked out
// through the places of the folders above it, depends on n itself and
// lies below where n is now: the folder would go inside itself. (A
// dependency on itself through a name it frees, as in a swap of names, is
// not one: the place is elsewhere.)
func (pl *planner) insideItself(n *pnode, t Side) bool {
	p, ok := pl.final(n, t)
	if !ok || !pl.looped[n] {
		return false
	}
	return strings.HasPrefix(pl.nm.key(t, p), pl.nm.key(t, n.now[t])+"/")
}

// resetPaths forgets the paths computed so far (matching and deletion
// resolution may have changed where items end up).
func (pl *planner) resetPaths() {
	for _, n := range pl.nodes {
		n.fstate = [2]uint8{}
		n.freason = [2]string{}
	}
	pl.claimed = [2]map[string]*pnode{{}, {}}
}

// delItem is one deletion the planner would apply.
type delItem struct {
	n    *pnode
	side Side
	path string
	cost int
}

func (pl *planner) deleteAction(d delItem, kind ActionKind, reason string) Action {
	e := *d.n.e[d.side]
	e.Path = d.path
	return Action{Kind: kind, Side: d.side, Path: d.path, IsDir: d.n.dir, Target: e,
		Key: d.n.base.Key, Reason: reason}
}

// limitDeletes emits ActionDelete and ActionHoldDelete actions under the delete policy,
// the rolling delete limit and the mass-delete guard, and returns the
// refusal reason if the guard trips.
func (pl *planner) limitDeletes() string {
	var dels []delItem
	for _, n := range pl.nodes {
		if n.dead || n.delOn < 0 {
			continue
		}
		t := Side(n.delOn)
		dels = append(dels, delItem{n: n, side: t, path: pl.place(t, n.now[t], false), cost: 1})
	}
	// Drop deletions below a deleted folder: the folder's deletion takes
	// them along, and they count towards its cost.
	sort.SliceStable(dels, func(i, j int) bool {
		if dels[i].side != dels[j].side {
			return dels[i].side < dels[j].side
		}
		return dels[i].path < dels[j].path
	})
	var top []delItem
	for _, d := range dels {
		if k := len(top) - 1; k >= 0 && top[k].side == d.side && top[k].n.dir && isUnder(d.path, top[k].path) {
			top[k].cost++
			continue
		}
		top = append(top, d)
	}
	remaining := -1
	if pl.p.DeleteLimit > 0 {
		remaining = max(0, pl.p.DeleteLimit-pl.in.DeletesInWindow)
	}
	var deleted [2]int
	var deletedPaths [2][]string
	for _, d := range top {
		switch {
		case d.n.reason == "holds items whose deletion is held":
			pl.out = append(pl.out, pl.deleteAction(d, ActionHoldDelete, d.n.reason))
		case pl.p.Deletes == DeleteKeep:
			pl.out = append(pl.out, pl.deleteAction(d, ActionHoldDelete,
				"deleted on "+pl.p.sideName(d.side.Other())+"; deletes are not synced"))
		case remaining >= 0 && d.cost > remaining:
			pl.out = append(pl.out, pl.deleteAction(d, ActionHoldDelete,
				fmt.Sprintf("delete limit of %d per 24 hours reached", pl.p.DeleteLimit)))
		default:
			if remaining >= 0 {
				remaining -= d.cost
			}
			reason := "deleted on " + pl.p.sideName(d.side.Other())
			if d.n.reason != "" {
				reason = d.n.reason
			}
			if d.cost > 1 {
				reason += fmt.Sprintf(" (%d items)", d.cost)
			}
			pl.out = append(pl.out, pl.deleteAction(d, ActionDelete, reason))
			deleted[d.side] += d.cost
			deletedPaths[d.side] = append(deletedPaths[d.side], d.path)
		}
	}
	share := pl.p.MassDeleteShare
	if share == 0 {
		share = DefaultMassDeleteShare
	}
	if share < 0 || pl.in.Force {
		return ""
	}
	for s := range 2 {
		n := deleted[s]
		if n <= MassDeleteFloor {
			continue
		}
		total := max(pl.in.Count[s], n)
		if float64(n) > share*float64(total) {
			return fmt.Sprintf("mass-delete guard: the run would delete %d of %d items on %s (more than %.0f%%); run with Force to apply",
				n, total, pl.p.sideName(Side(s)), share*100)
		}
	}
	return ""
}

// entryAt returns a copy of node n's side-s entry with path p.
func entryAt(n *pnode, s Side, p string) storage.Entry {
	if n.e[s] == nil {
		return storage.Entry{}
	}
	e := *n.e[s]
	e.Path = p
	return e
}

// pathDrift reports whether an item read on a side is at another path
// than its baseline record says, after the observed folder moves: a
// folder above it that the baseline does not know moved.
func (pl *planner) pathDrift(n *pnode) bool {
	return pl.pathDriftOn(n, SideA) || pl.pathDriftOn(n, SideB)
}

// pathDriftOn is pathDrift for side s alone.
func (pl *planner) pathDriftOn(n *pnode, s Side) bool {
	bp := n.base.Side(s).Path
	return n.present[s] && !n.fromBase[s] && bp != "" && n.now[s] != pl.itemBaseToNow(s, bp, n.base.Side(s).ParentID)
}

// followMoves sets the Source and Target paths of the content actions
// (Copy, Update, Conflict, Link, which come after every Move) to where
// their entries are once the plan's Moves have run: each entry's path before the
// plan, carried through those Moves in order. Where a chain of folder
// moves on one side (one folder moved into another that then takes its
// place) makes the planner's own account of a path lag behind, the
// applier would otherwise record a path the item no longer has.
func (pl *planner) followMoves() {
	type mv struct{ from, to string }
	var moves [2][]mv
	carry := func(s Side, p string) string {
		for _, m := range moves[s] {
			if p == m.from {
				p = m.to
			} else if isUnder(p, m.from) {
				p = m.to + p[len(m.from):]
			}
		}
		return p
	}
	for i := range pl.out {
		a := &pl.out[i]
		switch a.Kind {
		case ActionMove:
			if a.Target.Path != "" && a.Target.Path != a.Path {
				moves[a.Side] = append(moves[a.Side], mv{a.Target.Path, a.Path})
			}
		case ActionCopy, ActionUpdate, ActionConflict, ActionLink: // all after the Moves (Mkdirs are ordered among them)
			o := a.Side.Other()
			if now, ok := pl.nowOf[o][a.Source.Path]; ok && a.Source.ID != "" {
				a.Source.Path = carry(o, now)
			}
			if now, ok := pl.nowOf[a.Side][a.Target.Path]; ok && a.Target.ID != "" {
				a.Target.Path = carry(a.Side, now)
			}
		}
	}
}

// moveReason says why node n moves on side t.
func (pl *planner) moveReason(n *pnode, t Side) string {
	if n.moveUndone && n.moved[t] {
		return fmt.Sprintf("moved back: its move on %s crossed a folder move on %s (each folder into the other)",
			pl.p.sideName(t), pl.p.sideName(t.Other()))
	}
	return "moved on " + pl.p.sideName(t.Other())
}

// emit appends the node's actions (deletions come later).
func (pl *planner) emit(n *pnode) {
	var key int64
	if n.base != nil {
		key = n.base.Key
	}
	var fin [2]string
	var ok [2]bool
	for s := range 2 {
		fin[s], ok[s] = pl.final(n, Side(s))
		if n.present[s] && ok[s] {
			if pl.nowOf[s] == nil {
				pl.nowOf[s] = map[string]string{}
			}
			pl.nowOf[s][fin[s]] = n.now[s]
		}
	}
	// Refused names and unsynced parents.
	for s := range 2 {
		if n.exists[s] && !ok[s] {
			o := Side(s).Other()
			reason := n.freason[s]
			if reason == "" {
				reason = "cannot place the item on " + pl.p.sideName(Side(s))
			}
			pl.out = append(pl.out, Action{Kind: ActionSkip, Side: Side(s), Path: n.now[o], IsDir: n.dir,
				Source: entryAt(n, o, n.now[o]), Key: key, Reason: reason, Failed: n.finvalid[s],
				WaitsForFolder: reason == pl.folderNotSynced(Side(s))})
			return
		}
	}
	// Moves.
	movedHere := false
	for s := range 2 {
		t := Side(s)
		if !n.present[t] || !n.fromOther[t] || n.e[t.Other()] == nil {
			continue
		}
		cur := pl.place(t, n.now[t], false)
		if cur == fin[t] {
			continue
		}
		movedHere = true
		if pl.origin == nil {
			pl.origin = map[movedKey]string{}
		}
		pl.origin[movedKey{key, t}] = n.now[t]
		pl.out = append(pl.out, Action{Kind: ActionMove, Side: t, Path: fin[t], IsDir: n.dir,
			Source: entryAt(n, t.Other(), fin[t.Other()]), Target: entryAt(n, t, cur), Key: key,
			Reason: pl.moveReason(n, t)})
	}
	if n.op == opNone && !movedHere && n.base != nil && n.delOn < 0 && n.present[0] && n.present[1] &&
		(n.moved[0] || n.moved[1] || pl.pathDrift(n)) {
		// Moved on both sides to the same place (or moved on one side to
		// where the other already is): nothing to do on the storages, but
		// the baseline must learn the new locations (and, for a folder,
		// those of everything below it).
		n.op, n.reason = opLink, "moved to the same place on both sides"
	}
	switch n.op {
	case opCopy:
		t := n.opSide
		k := ActionCopy
		if n.dir {
			k = ActionMkdir
		}
		pl.out = append(pl.out, Action{Kind: k, Side: t, Path: fin[t], IsDir: n.dir,
			Source: entryAt(n, t.Other(), fin[t.Other()]), Key: key, Reason: n.reasonOr("new on " + pl.p.sideName(t.Other()))})
	case opUpdate:
		t := n.opSide
		pl.out = append(pl.out, Action{Kind: ActionUpdate, Side: t, Path: fin[t],
			Source: entryAt(n, t.Other(), fin[t.Other()]), Target: entryAt(n, t, fin[t]), Key: key,
			Reason: n.reasonOr("changed on " + pl.p.sideName(t.Other()))})
	case opConflict:
		w := n.opSide
		l := w.Other()
		ci := &ConflictInfo{Winner: w}
		if pl.p.Conflict == ConflictKeepBoth || !featuresOf(pl.p.storage(l)).VersionHistory {
			ci.LoserCopy = pl.conflictCopy(n, l, fin[l])
		}
		pl.out = append(pl.out, Action{Kind: ActionConflict, Side: l, Path: fin[l],
			Source: entryAt(n, w, fin[w]), Target: entryAt(n, l, fin[l]), Key: key, Conflict: ci,
			Reason: "changed on both sides"})
	case opLink:
		pl.out = append(pl.out, Action{Kind: ActionLink, Side: SideB, Path: fin[SideB], IsDir: n.dir,
			Source: entryAt(n, SideA, fin[SideA]), Target: entryAt(n, SideB, fin[SideB]), Key: key,
			Reason: n.reasonOr("same content")})
	case opForget:
		pl.out = append(pl.out, Action{Kind: ActionForget, Side: SideA, Path: n.base.A.Path, IsDir: n.dir,
			Key: key, Reason: "deleted on both sides"})
	case opDrift:
		p := n.now[SideB]
		if !n.present[SideB] && n.base != nil {
			p = n.base.B.Path
		}
		pl.out = append(pl.out, Action{Kind: ActionDrift, Side: SideB, Path: p, IsDir: n.dir,
			Target: entryAt(n, SideB, p), Key: key, Reason: n.reason})
	}
}

// maxConflictNumber bounds the numbering of conflict copies of one name
// ("name (conflict …) (2).ext" …) by the planner and the applier.
const maxConflictNumber = 20

// conflictCopy returns the name the loser of node n, at path p on side l,
// is renamed to: ConflictName, numbered "(2)", "(3)"… when an earlier
// conflict copy of the same day holds the name (as far as the plan can see
// side l: Occupied, and the other items of the plan). The applier numbers
// on as a fallback when the name turns out to be taken after all.
func (pl *planner) conflictCopy(n *pnode, l Side, p string) string {
	name := ConflictName(baseOf(p), pl.in.Now, pl.p.sideName(l))
	for i := 1; i <= maxConflictNumber; i++ {
		c := numbered(name, i)
		if cp := joinPath(dirOf(p), c); !pl.collides(n, l, cp) {
			pl.claimed[l][pl.nm.key(l, cp)] = n
			return c
		}
	}
	return name
}

func (n *pnode) reasonOr(def string) string {
	if n.reason != "" {
		return n.reason
	}
	return def
}

// class orders actions: folder creations, moves, content, deletions,
// reports.
func planClass(k ActionKind) int {
	switch k {
	case ActionMkdir:
		return 0
	case ActionMove:
		return 1
	case ActionDelete, ActionHoldDelete:
		return 3
	case ActionDrift, ActionSkip:
		return 4
	}
	return 2
}

func sortPlanActions(as []Action) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := &as[i], &as[j]
		ca, cb := planClass(a.Kind), planClass(b.Kind)
		if ca != cb {
			return ca < cb
		}
		switch ca {
		case 1:
			if da, db := segDepth(a.Target.Path), segDepth(b.Target.Path); da != db {
				return da < db
			}
			if a.Target.Path != b.Target.Path {
				return a.Target.Path < b.Target.Path
			}
		case 3:
			if a.Path != b.Path {
				return a.Path > b.Path
			}
		default:
			if a.Path != b.Path {
				return a.Path < b.Path
			}
		}
		if a.Side != b.Side {
			return a.Side < b.Side
		}
		return a.Kind < b.Kind
	})
}

// featuresOf returns st's features (none for a nil storage, as in
// hand-built plan inputs).
func featuresOf(st storage.Storage) storage.Features {
	if st == nil {
		return storage.Features{}
	}
	return st.Features()
}

// orderStructure orders the folder creations and moves that open a sorted
// plan so that each runs when the storage allows it:
//
//   - an action that puts an item at a path (Mkdir, Move) comes after the
//     Move that takes away what is at that path before the plan (a folder
//     renamed "d" → "e" and a new "d" created: the move first);
//   - it comes after the action that creates or moves into place the
//     nearest folder above its path that the plan creates or moves;
//   - a Move's Target.Path is where its item is at that point (after the
//     moves of its ancestors that came before it).
//
// Otherwise the sorted order is kept (folder creations top-down, then
// moves, by path). Moves that wait for one another (a swap "a" ↔ "b", or a
// longer cycle) are broken with a temporary name: one item of the cycle is
// first moved aside, next to where it is, to "name (moving N).ext", and
// moved to its place once the path it needs is free, in the same run. The
// aside move carries no Source: the baseline then records the item at the
// temporary name on its side and at its old place on the other, so that a
// run interrupted between the two moves replays the move from there.
func (pl *planner) orderStructure(as []Action) []Action {
	k := 0
	for k < len(as) && (as[k].Kind == ActionMkdir || as[k].Kind == ActionMove) {
		k++
	}
	hasMove := false
	for _, a := range as[:k] {
		hasMove = hasMove || a.Kind == ActionMove
	}
	if !hasMove {
		return as // folder creations alone: top-down is right
	}
	st := as[:k]
	key := func(s Side, p string) string { return pl.nm.key(s, p) }
	origin := make([]string, k)    // path before the plan of a Move's item
	produce := [2]map[string]int{} // path → action putting an item there
	from := [2]map[string]int{}    // path before the plan → Move taking its item away
	for s := range 2 {
		produce[s], from[s] = map[string]int{}, map[string]int{}
	}
	for i, a := range st {
		produce[a.Side][key(a.Side, a.Path)] = i
		if a.Kind == ActionMove {
			origin[i] = a.Target.Path
			if o, ok := pl.origin[movedKey{a.Key, a.Side}]; ok {
				origin[i] = o
			}
			from[a.Side][key(a.Side, origin[i])] = i
		}
	}
	need := make([]int, k)
	occOut := make([][]int, k)  // actions waiting for i's item to leave its place
	prodOut := make([][]int, k) // actions waiting for i to be done
	for i, a := range st {
		s := a.Side
		for q := dirOf(a.Path); q != ""; q = dirOf(q) {
			if j, ok := produce[s][key(s, q)]; ok && j != i {
				prodOut[j] = append(prodOut[j], i)
				need[i]++
				break
			}
		}
		if j, ok := from[s][key(s, a.Path)]; ok && j != i {
			occOut[j] = append(occOut[j], i)
			need[i]++
		}
	}
	ready := &intHeap{}
	for i := range st {
		if need[i] == 0 {
			heap.Push(ready, i)
		}
	}
	done := make([]bool, k)
	vacated := make([]bool, k)
	var moves [2][][2]string // moves done so far per side: path before → after
	current := func(s Side, p string) string {
		for _, m := range moves[s] {
			if p == m[0] {
				p = m[1]
			} else if isUnder(p, m[0]) {
				p = m[1] + p[len(m[0]):]
			}
		}
		return p
	}
	release := func(list []int) {
		for _, j := range list {
			if need[j]--; need[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	out := make([]Action, 0, len(as)+1)
	for {
		if ready.Len() == 0 {
			// Waiting on one another (a cycle): move aside the first
			// waiting move that others wait for to leave its place.
			m := -1
			for i := range st {
				if !done[i] && !vacated[i] && st[i].Kind == ActionMove && len(occOut[i]) > 0 {
					m = i
					break
				}
			}
			if m < 0 {
				break // all done (or, which cannot happen, stuck: the rest follows in order)
			}
			a := st[m]
			cur := current(a.Side, origin[m])
			tmp := joinPath(dirOf(cur), pl.asideName(a.Side, cur))
			t := a.Target
			t.Path = cur
			out = append(out, Action{Kind: ActionMove, Side: a.Side, Path: tmp, IsDir: a.IsDir, Target: t, Key: a.Key,
				Reason: "moved aside to free a path another move needs; moved on to " + strconv.Quote(a.Path) + " next"})
			moves[a.Side] = append(moves[a.Side], [2]string{cur, tmp})
			vacated[m] = true
			release(occOut[m])
			continue
		}
		i := heap.Pop(ready).(int)
		a := st[i]
		if a.Kind == ActionMove {
			cur := current(a.Side, origin[i])
			a.Target.Path = cur
			moves[a.Side] = append(moves[a.Side], [2]string{cur, a.Path})
		}
		out = append(out, a)
		done[i] = true
		if !vacated[i] {
			release(occOut[i])
		}
		release(prodOut[i])
	}
	for i := range st {
		if !done[i] {
			out = append(out, st[i])
		}
	}
	return append(out, as[k:]...)
}

// asideName returns a temporary name, free as far as the plan can tell,
// for the item at path cur on side s that a cycle of moves moves aside.
func (pl *planner) asideName(s Side, cur string) string {
	stem, ext := storage.SplitExt(baseOf(cur))
	for i := 1; ; i++ {
		c := stem + " (moving " + strconv.Itoa(i) + ")" + ext
		if m, err := pl.nm.name(s, c); err == nil {
			c = m
		}
		k := pl.nm.key(s, joinPath(dirOf(cur), c))
		_, claimed := pl.claimed[s][k]
		_, occupied := slices.BinarySearch(pl.in.Occupied[s], keyHash(k))
		if i < 100 && (claimed || occupied || pl.nowKey[s][k] != nil) {
			continue
		}
		pl.claimed[s][k] = nil
		return c
	}
}

// intHeap is a min-heap of action indexes.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

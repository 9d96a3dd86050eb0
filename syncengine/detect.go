package syncengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/procoresync/procoresync/storage"
)

// detectOptions tune detect.
type detectOptions struct {
	// Now is the time of the run (zero: time.Now()); the delete window and
	// failure retries are reckoned from it.
	Now time.Time
	// Force bypasses the mass-delete guard.
	Force bool
	// Full ignores change feeds and lists both sides in full (a periodic
	// full reconciliation).
	Full bool
	// Log receives what detection notes without failing (nil: nothing).
	Log *slog.Logger
	// NoContentCompare skips the byte-by-byte comparison of files that
	// share no content hash (they are then treated as different, and a
	// conflict keeps both).
	NoContentCompare bool
}

// detect reads what changed on both sides since the baseline (I/O: the
// two storages and the store) and returns the input for buildPlan and the
// pair state to save after the plan has been applied (new change-feed
// cursors, root IDs on first sight, Initialized set).
//
// Each side is read through its storage.ChangeFeed when it has one and
// ps holds a cursor for it; otherwise (no feed, no cursor, an expired
// cursor — for that side only — or opt.Full) it is listed in full, taking
// the feed's LatestCursor before listing so that nothing is missed. A full
// listing is compared with the baseline through a compact index (under a
// hundred bytes per item, built from MetadataStore.ScanBaseline, or from
// key ranges read at once where the store is a BaselineRangeScanner and
// the baseline large), so only the items that differ are kept; when both
// sides are listed, they are listed at once. Where the store is a
// BaselineIndexCache and the baseline large (minCachedIndexItems), the
// index built by a scan is saved there, and the next full listing of a
// baseline still in that state reads it instead of scanning. Moves are
// recognised by ID. A listing is not a snapshot: a baseline item it misses
// is confirmed gone before it is observed deleted, and an ID it yields
// twice as two different entries is resolved, by ID (storage.IDStater, up
// to 100 items per side) or else with one more listing of that side (see
// confirmListings). Failures due for a retry are looked at again (Stat on
// their source side), so that they are retried after a feed cursor moved
// on; quarantined ones are passed on to be reported as skipped.
//
// Protected roots: detect first looks at each side's root (Stat of "").
// If a root is gone (ErrNotFound) or is not the folder remembered in
// ps.RootA/RootB, detect reads nothing else and returns a planInput whose
// RootGone names the side and the reason; buildPlan then returns a Plan
// whose Refused is that reason and which holds no action (in particular no
// deletion). The engine recognises the case by planInput.RootGone != ""
// and pauses the pair. The returned PairState is then ps unchanged.
//
// On the initial sync (ps.Initialized false) with Pair.Initial InitialStandard,
// side B must be empty: otherwise detect returns an error wrapping
// ErrTargetNotEmpty. An initial sync that an interruption cut short
// (see resumingInitial) is not refused for what it wrote itself: it
// resumes as an InitialMerge.
func detect(ctx context.Context, p *Pair, store MetadataStore, ps PairState, opt detectOptions) (*planInput, PairState, error) {
	if p == nil || p.A == nil || p.B == nil || store == nil {
		return nil, ps, errors.New("syncengine: detect needs a pair with both storages and a store")
	}
	if !ps.Initialized && p.Initial == InitialStandard {
		resuming, err := resumingInitial(ctx, p.ID, store)
		if err != nil {
			return nil, ps, err
		}
		if resuming {
			merge := *p
			merge.Initial = InitialMerge
			p = &merge
		}
	}
	if err := p.Filter.Validate(); err != nil {
		return nil, ps, err
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	d := &detector{p: p, store: store, ps: ps, opt: opt, nm: newNamer(p),
		in: &planInput{Pair: p, State: ps, Now: now, Force: opt.Force, Initial: !ps.Initialized}}
	next := ps
	for s := range 2 {
		side := Side(s)
		root, err := p.storage(side).Stat(ctx, "")
		remembered := *rootOf(&ps, side)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			d.in.RootGone = fmt.Sprintf("root of side %s (%s) is gone", side, p.sideName(side))
		case err != nil:
			return nil, ps, fmt.Errorf("syncengine: stat root of %s: %w", p.sideName(side), err)
		case remembered != "" && root.ID != remembered:
			d.in.RootGone = fmt.Sprintf("root of side %s (%s) was replaced: its ID is %q, not %q",
				side, p.sideName(side), root.ID, remembered)
		default:
			d.root[s] = root.ID
			*rootOf(&next, side) = root.ID
		}
		if d.in.RootGone != "" {
			return d.in, ps, nil
		}
	}
	if err := d.run(ctx, &next); err != nil {
		return nil, ps, err
	}
	next.Initialized = true
	return d.in, next, nil
}

// resumingInitial reports whether the initial sync of pair id already
// wrote to side B: its baseline holds items (what it made true, and what
// recovery adopted from the journal of a run that crashed), or its journal
// holds intents still open (a crash before recovery ran, as a dry run
// sees it). Side B then holds the sync's own work, which an InitialMerge
// matches by path and content (a file written from a version of its
// source that changed since is then a conflict resolved by the pair's
// policy, never a second copy) instead of refusing it as data that was
// there before.
func resumingInitial(ctx context.Context, id string, store MetadataStore) (bool, error) {
	n, err := store.CountItems(ctx, id)
	if err != nil {
		return false, fmt.Errorf("syncengine: count baseline: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	open, err := store.OpenActions(ctx, id)
	if err != nil {
		return false, fmt.Errorf("syncengine: reading the journal: %w", err)
	}
	return len(open) > 0, nil
}

func rootOf(ps *PairState, s Side) *string {
	if s == SideA {
		return &ps.RootA
	}
	return &ps.RootB
}

// compactRec is what the full-listing index keeps of one baseline item:
// its Key, and per side the fingerprint (see fingerprint), the hash of
// the ID (see idHash; 0 when the side has no ID or is not listed) and the
// hash of the recorded path (see pathHash; 0 when the side is not listed
// or the record has no parent ID, its fingerprint then holding the path).
type compactRec struct {
	key  int64
	fp   [2]uint64
	id   [2]uint64
	path [2]uint64
}

// pathHash hashes a baseline path for the compact index, so that the hash
// of a child's path follows from its folder's (see childPathHash). It is
// never 0, which stands for "not recorded" there.
func pathHash[T string | []byte](p T) uint64 {
	return nonZero(keyHash(p))
}

// childPathHash returns pathHash of name in the folder whose path hash is
// dir (0: the root).
func childPathHash(dir uint64, name string) uint64 {
	if dir == 0 {
		return pathHash(name)
	}
	return nonZero(keyStep(dir, name))
}

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// idTable finds baseline records by the hash of one side's ID. It is an
// open-addressing table with linear probing over a power-of-two number of
// slots, at most half of them used: a slot holds the index of a record
// plus one (0: empty) in its low 32 bits and the high 32 bits of the
// record's ID hash in its high bits, which spares visits to records whose
// hash differs. It takes 16 to 32 bytes per record, about half the
// footprint of a map from hash to index, and is faster to fill and probe.
type idTable struct {
	slots []uint64
	n     int  // slots used
	shift uint // 64 - log2(len(slots))
	// shadowed holds the records that a later record with the same ID
	// hash replaced (see put): get never returns them (see getNear).
	shadowed map[int32]bool
}

// newIDTable returns a table sized for n records.
func newIDTable(n int) idTable {
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	return idTable{slots: make([]uint64, 1<<bits), shift: 64 - bits}
}

// slot returns the home slot of ID hash h.
func (t *idTable) slot(h uint64) uint64 { return (h * 0x9E3779B97F4A7C15) >> t.shift }

// put records that record i of recs has ID hash h on side s, replacing a
// record with the same hash (the later record wins, as in a map).
func (t *idTable) put(recs []compactRec, s Side, h uint64, i int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow(recs, s)
	}
	mask := uint64(len(t.slots) - 1)
	v := h&^0xFFFFFFFF | uint64(uint32(i)+1)
	for j := t.slot(h); ; j = (j + 1) & mask {
		c := t.slots[j]
		if c == 0 {
			t.slots[j] = v
			t.n++
			return
		}
		if c>>32 == h>>32 && recs[uint32(c)-1].id[s] == h {
			if t.shadowed == nil {
				t.shadowed = map[int32]bool{}
			}
			t.shadowed[int32(uint32(c)-1)] = true
			t.slots[j] = v
			return
		}
	}
}

// grow doubles the table.
func (t *idTable) grow(recs []compactRec, s Side) {
	old := t.slots
	*t = idTable{slots: make([]uint64, 2*len(old)), shift: t.shift - 1, shadowed: t.shadowed}
	mask := uint64(len(t.slots) - 1)
	for _, c := range old {
		if c == 0 {
			continue
		}
		j := t.slot(recs[uint32(c)-1].id[s])
		for t.slots[j] != 0 {
			j = (j + 1) & mask
		}
		t.slots[j] = c
		t.n++
	}
}

// putAll puts every record of recs with a non-zero ID hash on side s, in
// order, in batches of lookahead: the home slots of a batch are read
// first (see touch), so that their cache misses overlap. It returns a
// sum of what it read.
func (t *idTable) putAll(recs []compactRec, s Side) uint64 {
	var x uint64
	for lo := 0; lo < len(recs); lo += lookahead {
		batch := recs[lo:min(lo+lookahead, len(recs))]
		if len(t.slots) > 0 {
			for i := range batch {
				if h := batch[i].id[s]; h != 0 {
					x += t.slots[t.slot(h)]
				}
			}
		}
		for i := range batch {
			if h := batch[i].id[s]; h != 0 {
				t.put(recs, s, h, int32(lo+i))
			}
		}
	}
	return x
}

// get returns the index of the record with ID hash h on side s.
func (t *idTable) get(recs []compactRec, s Side, h uint64) (int32, bool) {
	if len(t.slots) == 0 {
		return -1, false
	}
	mask := uint64(len(t.slots) - 1)
	for j := t.slot(h); ; j = (j + 1) & mask {
		c := t.slots[j]
		if c == 0 {
			return -1, false
		}
		if c>>32 == h>>32 {
			if i := int32(uint32(c) - 1); recs[i].id[s] == h {
				return i, true
			}
		}
	}
}

// getNear is get that first tries record hint: a listing mostly yields
// items in the order of their baseline records (both follow the tree),
// so the record after the one the previous entry matched is usually the
// one sought, and comparing it costs no random access to the table (a
// cache miss per entry on a large tree). It returns what get returns, on
// the condition that every record with a non-zero ID hash on side s was
// put in t: a record whose hash is h and that no later one shadowed is
// then the one the table holds for h.
func (t *idTable) getNear(recs []compactRec, s Side, h uint64, hint int32) (int32, bool) {
	if hint >= 0 && int(hint) < len(recs) && recs[hint].id[s] == h && h != 0 &&
		(len(t.shadowed) == 0 || !t.shadowed[hint]) {
		return hint, true
	}
	return t.get(recs, s, h)
}

// lookahead is how many listed entries listSide buffers to probe the ID
// table for them at once (see idTable.touch).
const lookahead = 64

// touch reads, for the ID hashes hs of listed entries in the order
// listed, the home slot of each in the table and the record it points
// to, without using what it reads: on a large table nearly every probe
// misses the processor's caches, and independent reads in a row let it
// wait for those misses together, where get, probing one entry after
// the other, waits for each in turn. The entries that getNear will find
// at the record after the previous match (from hint on) are skipped:
// they need no probe. It returns a sum of what it read. hs holds at most
// 64 hashes.
func (t *idTable) touch(recs []compactRec, s Side, hs []uint64, hint int32) uint64 {
	if len(t.slots) == 0 || len(hs) > 64 {
		return 0
	}
	var x, near uint64 // near: bit j set for hs[j] found at the hint
	for j, h := range hs {
		if h == 0 {
			continue
		}
		if hint >= 0 && int(hint) < len(recs) && recs[hint].id[s] == h {
			near |= 1 << j
			hint++
			continue
		}
		x += t.slots[t.slot(h)]
	}
	for j, h := range hs {
		if h == 0 || near&(1<<j) != 0 {
			continue
		}
		if c := t.slots[t.slot(h)]; c != 0 && c>>32 == h>>32 {
			x += recs[uint32(c)-1].id[s]
		}
	}
	return x
}

// parentCache remembers the baseline record found for the last parent ID
// looked up on one side: a listing yields the items of a folder together,
// so most look-ups repeat the previous one.
type parentCache struct {
	pid string
	h   uint64
	i   int32
	ok  bool
}

type detector struct {
	p     *Pair
	store MetadataStore
	ps    PairState
	opt   detectOptions
	nm    namer
	in    *planInput
	root  [2]string

	feed [2]bool
	// Full-listing state.
	recs    []compactRec
	ids     [2]idTable
	pcache  [2]parentCache // see parentRec
	touched [2]uint64      // what idTable.touch read, kept so that its reads are not dropped
	seen    [2][]uint64
	changed [2]map[int32]storage.Entry
	newEnt  [2][]storage.Entry
	parents [2]map[uint64]int32 // parent ID hashes of changed entries → record index
	// Listing anomalies to confirm (see confirmListing): baseline records
	// whose ID the listing did not yield, records and new IDs it yielded
	// twice as different entries.
	dupRec [2]map[int32]bool
	// staleRec holds baseline folders whose listed path disagrees with
	// the paths of the items listed in them (renamed while listed).
	staleRec [2]map[int32]bool
	// dirs holds every folder as listed (the first time), by ID.
	dirs    [2]map[string]listedDir
	newIdx  [2]map[string]int
	dupNew  [2]map[string]bool
	missing [2][]*observation
	dupObs  [2][]*observation
	// Observations by baseline key.
	obs      map[int64]*observation
	set      map[int64]*[2]bool // sides explicitly observed
	observed [2]map[string]bool // IDs observed per side
}

func (d *detector) run(ctx context.Context, next *PairState) error {
	p, in := d.p, d.in
	d.obs = map[int64]*observation{}
	d.set = map[int64]*[2]bool{}
	d.observed = [2]map[string]bool{{}, {}}
	held, err := d.store.HeldDeletes(ctx, p.ID)
	if err != nil {
		return err
	}
	in.Held = map[int64]bool{}
	for _, h := range held {
		in.Held[h.Key] = true
	}
	fails, err := d.store.Failures(ctx, p.ID)
	if err != nil {
		return err
	}
	var due []Failure
	for _, f := range fails {
		if f.Quarantined {
			in.Quarantined = append(in.Quarantined, f)
		} else if !f.NextAttempt.After(in.Now) {
			due = append(due, f)
		}
	}
	if p.DeleteLimit > 0 {
		if in.DeletesInWindow, err = d.store.DeletesSince(ctx, p.ID, in.Now.Add(-24*time.Hour)); err != nil {
			return err
		}
	}
	if in.Initial && p.Initial == InitialStandard {
		for e, err := range p.B.List(ctx) {
			if err != nil {
				return fmt.Errorf("syncengine: list %s: %w", p.sideName(SideB), err)
			}
			return fmt.Errorf("%w: %s holds %q", ErrTargetNotEmpty, p.sideName(SideB), e.Path)
		}
	}
	// Change feeds first; an expired cursor turns that side to a listing.
	var changes [2][]storage.Change
	for s := range 2 {
		side := Side(s)
		cf, ok := p.storage(side).(storage.ChangeFeed)
		cur := *d.ps.Cursor(side)
		if !ok || cur == "" || d.opt.Full || in.Initial {
			continue
		}
		ch, nc, err := cf.Changes(ctx, cur)
		if errors.Is(err, storage.ErrCursorExpired) {
			continue
		}
		if err != nil {
			return fmt.Errorf("syncengine: changes of %s: %w", p.sideName(side), err)
		}
		d.feed[s] = true
		changes[s] = ch
		*next.Cursor(side) = nc
	}
	for s := range 2 {
		side := Side(s)
		if d.feed[s] {
			continue
		}
		*next.Cursor(side) = ""
		if cf, ok := p.storage(side).(storage.ChangeFeed); ok {
			c, err := cf.LatestCursor(ctx)
			if err != nil {
				return fmt.Errorf("syncengine: cursor of %s: %w", p.sideName(side), err)
			}
			*next.Cursor(side) = c
		}
	}
	if !d.feed[0] || !d.feed[1] {
		if err := d.listFull(ctx); err != nil {
			return err
		}
		for s := range 2 {
			if err := d.checkListingWindow(ctx, Side(s), next); err != nil {
				return err
			}
		}
	}
	for s := range 2 {
		if d.feed[s] {
			if err := d.applyFeed(ctx, Side(s), changes[s]); err != nil {
				return err
			}
		}
	}
	if err := d.retryDue(ctx, due); err != nil {
		return err
	}
	if err := d.finish(ctx); err != nil {
		return err
	}
	return nil
}

// fingerprint identifies an item's place and version on one side. It
// hashes strings (a listed entry) and bytes (a baseline row) alike, so
// that both give the same value for the same item.
func fingerprint[T string | []byte](parentID, p T, isDir bool, version T, size int64) uint64 {
	var h uint64
	if len(parentID) != 0 {
		h = strHash(strHash(seedFP, parentID), fpBase(p))
	} else {
		h = strHash(seedFP^1, p)
	}
	if isDir {
		return intHash(h, 'd')
	}
	return intHash(strHash(h, version), uint64(size))
}

// fpBase returns the last element of slash path p as path.Base does, but
// "" for "".
func fpBase[T string | []byte](p T) T {
	if len(p) == 0 {
		return p
	}
	q := p
	for len(q) > 0 && q[len(q)-1] == '/' {
		q = q[:len(q)-1]
	}
	if len(q) == 0 {
		return p[:1] // all slashes: "/"
	}
	for i := len(q) - 1; i >= 0; i-- {
		if q[i] == '/' {
			return q[i+1:]
		}
	}
	return q
}

// rowFP is the fingerprint of one side of a baseline row.
func rowFP(st *BaselineSide, isDir bool) uint64 {
	return fingerprint(st.ParentID, st.Path, isDir, st.Version, st.Size)
}

// entryFP is the fingerprint of a listed entry.
func entryFP(e *storage.Entry) uint64 {
	return fingerprint(e.ParentID, e.Path, e.IsDir, e.Version, e.Size)
}

// idHash hashes an item ID for the compact index. It is never 0, which
// stands for "no ID" there.
func idHash[T string | []byte](id T) uint64 {
	return nonZero(strHash(seedID, id))
}

// listFull indexes the baseline compactly and lists the sides without a
// usable feed, keeping only the entries that differ from the baseline.
func (d *detector) listFull(ctx context.Context) error {
	full := [2]bool{!d.feed[0], !d.feed[1]}
	if err := d.indexBaseline(ctx, full); err != nil {
		return err
	}
	if err := d.listSides(ctx, full); err != nil {
		return err
	}
	d.ids = [2]idTable{}
	d.pcache = [2]parentCache{}
	want, parentIdx := d.recordsWanted(full)
	if len(want) > 0 || len(parentIdx) > 0 {
		if err := d.observeRecords(ctx, full, want, parentIdx); err != nil {
			return err
		}
	}
	return d.confirmListings(ctx, full)
}

// indexBaseline builds the compact index of the baseline (d.recs) and the
// per-side tables of the sides listed in full.
func (d *detector) indexBaseline(ctx context.Context, full [2]bool) error {
	p := d.p
	for s := range 2 {
		if full[s] {
			d.changed[s] = map[int32]storage.Entry{}
			d.parents[s] = map[uint64]int32{}
			d.dupRec[s] = map[int32]bool{}
			d.staleRec[s] = map[int32]bool{}
			d.newIdx[s] = map[string]int{}
			d.dupNew[s] = map[string]bool{}
		}
	}
	if d.in.Initial && p.Initial != InitialMerge {
		d.recs = nil // an initial sync into an empty side has no baseline yet
		return nil
	}
	// A baseline whose index the store keeps from an earlier run, in the
	// state it has now, is not read at all.
	cache, caching := d.store.(BaselineIndexCache)
	if caching && d.loadIndex(ctx, cache) {
		d.maskIndex(full)
		return nil
	}
	size, err := d.store.CountItems(ctx, p.ID)
	if err != nil {
		return fmt.Errorf("syncengine: count baseline: %w", err)
	}
	if size == 0 {
		d.recs = nil
		return nil
	}
	// A cached index holds the hashes of both sides, whichever are listed.
	hashed := full
	var token uint64
	if caching = caching && cachedIndexFor(size); caching {
		if token, err = cache.BaselineToken(ctx, p.ID); err != nil {
			return fmt.Errorf("syncengine: read baseline: %w", err)
		}
		hashed = [2]bool{true, true}
	}
	d.recs = make([]compactRec, 0, size)
	rec := func(r *BaselineRow) compactRec {
		rec := compactRec{key: r.Key, fp: [2]uint64{rowFP(&r.A, r.IsDir), rowFP(&r.B, r.IsDir)}}
		for s := range 2 {
			if id := r.Side(Side(s)).ID; hashed[s] && len(id) != 0 {
				rec.id[s] = idHash(id)
			}
			if bs := r.Side(Side(s)); hashed[s] && len(bs.ParentID) != 0 && len(bs.Path) != 0 {
				rec.path[s] = pathHash(bs.Path)
			}
		}
		return rec
	}
	if err := d.scanIndex(ctx, size, rec); err != nil {
		return err
	}
	if caching {
		d.saveIndex(ctx, cache, token)
		d.maskIndex(full)
	}
	return nil
}

// scanIndex reads the baseline of size items into d.recs, rec of each row
// in the order of keys: in key ranges at once where scanRanges gives
// them, else with one ScanBaseline.
func (d *detector) scanIndex(ctx context.Context, size int, rec func(*BaselineRow) compactRec) error {
	p := d.p
	ranges, err := d.scanRanges(ctx, size)
	if err != nil {
		return fmt.Errorf("syncengine: read baseline: %w", err)
	}
	if ranges == nil {
		err = d.store.ScanBaseline(ctx, p.ID, func(r *BaselineRow) error {
			d.recs = append(d.recs, rec(r))
			return nil
		})
	} else {
		err = d.scanInRanges(ctx, ranges, rec)
	}
	if err != nil {
		return fmt.Errorf("syncengine: read baseline: %w", err)
	}
	return nil
}

// minRangeItems is the smallest number of baseline items per range worth
// a scan of its own (see scanRanges): below it, starting a scan costs
// more than it saves.
const minRangeItems = 50_000

// maxScanRanges bounds the number of ranges of keys the baseline is read
// in at once.
const maxScanRanges = 4

// scanRangesFor returns in how many ranges to read a baseline of size
// items (tests set it to exercise the ranges on small baselines).
var scanRangesFor = func(size int) int {
	return min(runtime.GOMAXPROCS(0), maxScanRanges, size/minRangeItems)
}

// scanRanges returns the ranges of keys, inclusive and in order, in which
// to read a baseline of size items at once, one goroutine each, or nil
// for one ScanBaseline: the store must be a BaselineRangeScanner, the
// baseline large enough (minRangeItems per range) and more than one core
// available (GOMAXPROCS). The keys between the lowest and the highest are
// cut into ranges of equal width; keys are handed out in increasing order,
// so that ranges of equal width hold about as many items. The first range
// starts at the lowest int64 and the last ends at the highest, so that the
// ranges cover every key, as one ScanBaseline would.
func (d *detector) scanRanges(ctx context.Context, size int) ([][2]int64, error) {
	rs, ok := d.store.(BaselineRangeScanner)
	n := scanRangesFor(size)
	if !ok || n < 2 {
		return nil, nil
	}
	lo, hi, ok, err := rs.BaselineKeys(ctx, d.p.ID)
	if err != nil || !ok {
		return nil, err
	}
	width := (uint64(hi) - uint64(lo)) / uint64(n) // hi-lo may overflow an int64
	if width == 0 {
		return nil, nil
	}
	ranges := make([][2]int64, n)
	from := lo
	for i := range ranges {
		to := hi
		if i < n-1 {
			to = int64(uint64(from) + width - 1)
		}
		ranges[i] = [2]int64{from, to}
		from = to + 1
	}
	ranges[0][0], ranges[n-1][1] = math.MinInt64, math.MaxInt64
	return ranges, nil
}

// scanInRanges reads the baseline in ranges of keys (see scanRanges), all
// at once, and appends rec of each row to d.recs in the order of keys.
// The first range appends to d.recs directly, the others to slices of
// their own that are appended after it. The first error cancels the other
// scans and is returned.
func (d *detector) scanInRanges(ctx context.Context, ranges [][2]int64, rec func(*BaselineRow) compactRec) error {
	rs := d.store.(BaselineRangeScanner)
	parts := make([][]compactRec, len(ranges))
	g, sctx := errgroup.WithContext(ctx)
	for i, r := range ranges {
		if i == 0 {
			parts[0] = d.recs
		} else {
			parts[i] = make([]compactRec, 0, cap(d.recs)/len(ranges)+cap(d.recs)/(8*len(ranges)))
		}
		g.Go(func() error {
			part := &parts[i]
			return rs.ScanBaselineRange(sctx, d.p.ID, r[0], r[1], func(row *BaselineRow) error {
				*part = append(*part, rec(row))
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	d.recs = parts[0]
	for _, part := range parts[1:] {
		d.recs = append(d.recs, part...)
	}
	return nil
}

// listSides lists the sides listed in full, both at once when both are
// (two services, or two cores for in-memory ones).
func (d *detector) listSides(ctx context.Context, full [2]bool) error {
	if !full[0] || !full[1] {
		for s := range 2 {
			if full[s] {
				if err := d.listSide(ctx, Side(s)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	g, lctx := errgroup.WithContext(ctx)
	for s := range 2 {
		g.Go(func() error { return d.listSide(lctx, Side(s)) })
	}
	return g.Wait()
}

// unseen reports whether the listing of side s missed baseline record i.
func (d *detector) unseen(s int, i int32) bool {
	return d.seen[s][i/64]&(1<<(uint(i)%64)) == 0
}

// recordsWanted returns the baseline records (by index) whose full record
// the listings need: those that changed, are stale or were not seen on a
// side listed in full, and the parents of changed entries.
func (d *detector) recordsWanted(full [2]bool) (want, parentIdx map[int32]bool) {
	want = map[int32]bool{}
	for s := range 2 {
		if !full[s] {
			continue
		}
		for i := range d.changed[s] {
			want[i] = true
		}
		for i := range d.staleRec[s] {
			want[i] = true
		}
		for i := range d.recs {
			if d.unseen(s, int32(i)) {
				want[int32(i)] = true
			}
		}
	}
	parentIdx = map[int32]bool{}
	for s := range 2 {
		for _, i := range d.parents[s] {
			parentIdx[i] = true
		}
	}
	return want, parentIdx
}

// observeRecords reads the full records of the baseline (in the order the
// index was built) and observes the wanted ones on each side listed in
// full; parents are kept for the entries that need them.
func (d *detector) observeRecords(ctx context.Context, full [2]bool, want, parentIdx map[int32]bool) error {
	i := int32(-1)
	for it, err := range d.store.Items(ctx, d.p.ID) {
		if err != nil {
			return fmt.Errorf("syncengine: read baseline: %w", err)
		}
		i++
		if int(i) >= len(d.recs) || d.recs[i].key != it.Key {
			return errors.New("syncengine: the baseline changed while it was being read")
		}
		if parentIdx[i] && it.IsDir {
			for s := range 2 {
				d.addParent(Side(s), it)
			}
		}
		if !want[i] {
			continue
		}
		item := it
		o := d.observation(&item)
		for s := range 2 {
			if full[s] {
				d.observeRecord(o, &item, s, i)
			}
		}
	}
	return nil
}

// observeRecord observes baseline record i (item, observation o) on side
// s, which was listed in full.
func (d *detector) observeRecord(o *observation, item *Item, s int, i int32) {
	if e, ok := d.changed[s][i]; ok {
		d.observe(o, item, Side(s), &e)
		if d.dupRec[s][i] || d.staleRec[s][i] {
			d.dupObs[s] = append(d.dupObs[s], o)
		}
	} else if d.staleRec[s][i] {
		d.dupObs[s] = append(d.dupObs[s], o)
	} else if d.unseen(s, i) {
		if item.Side(Side(s)).ID != "" {
			d.missing[s] = append(d.missing[s], o) // gone, unless confirmListings finds it
		} else {
			d.observe(o, item, Side(s), nil)
		}
	}
}

// checkListingWindow asks the change feed of side s, listed in full, what
// changed while the listing ran (from the cursor taken before it). A
// deletion, or a known item moved to a path the listing did not yield,
// can have shifted an offset-paged listing or a walk so that it missed an
// item the baseline does not know yet; the feed will never report that
// item (it did not change). The next run then lists side s in full again
// (its cursor is cleared), which finds it. Nothing changed, or only
// creations and edits: the cursor stands.
func (d *detector) checkListingWindow(ctx context.Context, side Side, next *PairState) error {
	cur := *next.Cursor(side)
	cf, ok := d.p.storage(side).(storage.ChangeFeed)
	if d.feed[side] || !ok || cur == "" {
		return nil
	}
	changes, _, err := cf.Changes(ctx, cur)
	if err != nil {
		return nil // the next run reads the feed from cur, or lists again if it expired
	}
	rules := d.p.storage(side).Features().Names
	for _, c := range changes {
		shifted := c.Deleted
		if !shifted && c.Entry.ID != "" && c.Entry.Path != "" {
			if _, listed := slices.BinarySearch(d.in.Occupied[side], pathKeyHash(rules, c.Entry.Path)); !listed {
				_, err := d.store.ItemByID(ctx, d.p.ID, side, c.Entry.ID)
				switch {
				case err == nil:
					shifted = true // a known item moved during the listing
				case !errors.Is(err, ErrNoItem):
					return err
				}
			}
		}
		if shifted {
			*next.Cursor(side) = ""
			return nil
		}
	}
	return nil
}

// maxConfirmStats is how many items of one side confirmListings looks up
// by ID (storage.IDStater) in one run; beyond that, one more listing of
// the side is cheaper.
const maxConfirmStats = 100

// confirmListings confirms, on each side listed in full, what the listing
// cannot be trusted with, because a listing is not a snapshot: an item
// moved between folders while a walk was under way, or shifted from one
// offset page to another by a deletion, is missing from it; an item
// renamed between two pages is listed twice; a folder renamed while it is
// listed is yielded under a path that the items listed in it disagree
// with. Before a baseline item is taken as deleted, and before an ID
// listed twice as two different entries or such a folder is taken in,
// the side is asked again: by ID where its storage is a storage.IDStater
// and there are at most maxConfirmStats such items (only one where its
// lookups of gone items walk the tree: storage.Features.StatIDWalks),
// else with one more listing of the side. An item found again is
// observed as it is now (moved, changed or unchanged); an item found
// nowhere is deleted.
func (d *detector) confirmListings(ctx context.Context, full [2]bool) error {
	for s := range 2 {
		if !full[s] {
			continue
		}
		if err := d.confirmSide(ctx, Side(s)); err != nil {
			return err
		}
	}
	return nil
}

func (d *detector) confirmSide(ctx context.Context, side Side) error {
	s, st := int(side), d.p.storage(side)
	var ids []string
	for _, o := range d.missing[s] {
		ids = append(ids, o.Base.Side(side).ID)
	}
	for _, o := range d.dupObs[s] {
		ids = append(ids, o.Base.Side(side).ID)
	}
	for id := range d.dupNew[s] {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	found := make(map[string]storage.Entry, len(ids))
	// Where a lookup of an item that is gone walks the tree, one listing
	// confirms several items for the price of one lookup.
	byID := len(ids) <= maxConfirmStats && (len(ids) == 1 || !st.Features().StatIDWalks)
	if is, ok := st.(storage.IDStater); ok && byID {
		for _, id := range ids {
			e, err := is.StatID(ctx, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("syncengine: confirm %s on %s: %w", id, d.p.sideName(side), err)
			}
			if e.Path != "" && e.ID == id {
				found[id] = e
			}
		}
	} else {
		want := make(map[string]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		for e, err := range st.List(ctx) {
			if err != nil {
				return fmt.Errorf("syncengine: list %s again: %w", d.p.sideName(side), err)
			}
			if want[e.ID] && e.Path != "" {
				found[e.ID] = e
			}
		}
	}
	rules := st.Features().Names
	occupied := false
	confirm := func(o *observation, listed bool) error {
		ss := o.Base.Side(side)
		e, ok := found[ss.ID]
		switch {
		case !ok:
			d.observe(o, o.Base, side, nil)
			return nil
		case entryFP(&e) == fingerprint(ss.ParentID, ss.Path, o.Base.IsDir, ss.Version, ss.Size):
			// As in the baseline: nothing to observe on this side.
			o.Entry[side], o.FromBase[side] = nil, false
			d.set[o.Base.Key][side] = false
			d.observed[side][ss.ID] = true
		default:
			d.observe(o, o.Base, side, &e)
			if err := d.confirmedParent(ctx, side, e.ParentID); err != nil {
				return err
			}
		}
		if !listed {
			d.in.Count[s]++
			d.in.Occupied[s] = append(d.in.Occupied[s], pathKeyHash(rules, e.Path))
			occupied = true
		}
		return nil
	}
	for _, o := range d.missing[s] {
		if err := confirm(o, false); err != nil {
			return err
		}
	}
	for _, o := range d.dupObs[s] {
		if err := confirm(o, true); err != nil {
			return err
		}
	}
	if len(d.dupNew[s]) > 0 {
		kept := d.newEnt[s][:0]
		for _, e := range d.newEnt[s] {
			if !d.dupNew[s][e.ID] {
				kept = append(kept, e)
			} else if f, ok := found[e.ID]; ok {
				kept = append(kept, f)
				if err := d.confirmedParent(ctx, side, f.ParentID); err != nil {
					return err
				}
			}
		}
		d.newEnt[s] = kept
	}
	if occupied {
		slices.Sort(d.in.Occupied[s])
		d.in.Occupied[s] = slices.Compact(d.in.Occupied[s])
	}
	d.missing[s], d.dupObs[s], d.dupNew[s] = nil, nil, nil
	// A folder found elsewhere than it was listed: the items listed in it
	// under its other path take the path it has now.
	moved := false
	for id, e := range found {
		if !e.IsDir {
			continue
		}
		if ld, ok := d.dirs[s][id]; !ok || !samePath(rules, ld.path, e.Path) {
			d.dirs[s][id] = listedDir{path: e.Path, parent: e.ParentID}
			moved = true
		}
	}
	if moved {
		d.repath(side)
	}
	return nil
}

// listedDir is a folder as a listing (or a confirmation) saw it. kh is
// pathKeyHash of its path where the listing computed it (0: not known).
type listedDir struct {
	path, parent string
	kh           uint64
}

// repath rewrites, on side s, the paths of the new and changed entries of
// the listing from their folders' paths (d.dirs), after confirmListings
// found folders elsewhere than the listing had them.
func (d *detector) repath(side Side) {
	s := int(side)
	var resolve func(id string, depth int) (string, bool)
	resolve = func(id string, depth int) (string, bool) {
		if id == d.root[s] {
			return "", true
		}
		ld, ok := d.dirs[s][id]
		if !ok || depth > 256 {
			return "", false
		}
		pp, ok := resolve(ld.parent, depth+1)
		if !ok {
			return ld.path, true
		}
		return joinPath(pp, baseOf(ld.path)), true
	}
	fix := func(e *storage.Entry) {
		if e.ParentID == "" {
			return
		}
		if pp, ok := resolve(e.ParentID, 0); ok {
			e.Path = joinPath(pp, e.Name())
		}
	}
	for i := range d.newEnt[s] {
		fix(&d.newEnt[s][i])
	}
	for k, o := range d.obs {
		if e := o.Entry[s]; e != nil && d.set[k][s] {
			fix(e)
		}
	}
}

// confirmedParent records the baseline record of folder pid on side s as
// a parent (planInput.Parents), for an entry that confirmListings found
// again, after the listing's parents were fetched.
func (d *detector) confirmedParent(ctx context.Context, s Side, pid string) error {
	if pid == "" || pid == d.root[s] {
		return nil
	}
	if _, ok := d.in.Parents[s][pid]; ok {
		return nil
	}
	it, err := d.store.ItemByID(ctx, d.p.ID, s, pid)
	if errors.Is(err, ErrNoItem) {
		return nil
	}
	if err != nil {
		return err
	}
	if it.IsDir {
		d.addParent(s, it)
	}
	return nil
}

// samePath reports whether p and q name the same path under rules (case
// and normal form as the storage compares them).
func samePath(rules storage.NameRules, p, q string) bool {
	return p == q || pathKeyHash(rules, p) == pathKeyHash(rules, q)
}

// sameEntry reports whether two entries of one ID say the same.
func sameEntry(a, b *storage.Entry) bool {
	return a.Path == b.Path && a.ParentID == b.ParentID && a.IsDir == b.IsDir &&
		a.Version == b.Version && a.Size == b.Size
}

// listSide indexes the baseline records by their side-s ID, lists side s
// in full and compares each entry with the record of the same ID through
// the compact index: entries it does not
// know are new, entries whose fingerprint differs changed, and records it
// does not see are gone (seen). It also records the paths taken on s and
// their number. It touches only side s's state, so that both sides can be
// listed at once.
func (d *detector) listSide(ctx context.Context, side Side) error {
	p, s := d.p, int(side)
	d.ids[s] = newIDTable(len(d.recs))
	d.pcache[s] = parentCache{}
	hint := int32(0) // the record the next entry likely matches (see getNear)
	d.touched[s] += d.ids[s].putAll(d.recs, side)
	seen := make([]uint64, (len(d.recs)+63)/64)
	rules := p.storage(side).Features().Names
	plain := !rules.CaseInsensitive && rules.Normalization == storage.NormNone // see pathKeyHash
	occ := make([]uint64, 0, len(d.recs)+16)
	count := 0
	// Folder paths as listed, to check that the items listed in a folder
	// agree with it: a folder renamed while it was listed is yielded
	// under one name and (some of) its items under the other.
	dirs := map[string]listedDir{}
	d.dirs[s] = dirs
	var pending [][2]string // parent ID, listed dir of items listed before their parent
	stale := map[string]bool{}
	// process compares one listed entry, whose ID hash is h (0: no ID),
	// with the baseline.
	process := func(e *storage.Entry, h uint64) {
		if e.Path == "" {
			return
		}
		count++
		pid := e.ParentID
		var (
			dp   listedDir
			dpOK bool
		)
		if pid != "" && pid != d.root[s] {
			dp, dpOK = dirs[pid]
		}
		var kh uint64
		if n := len(dp.path); plain && dpOK && dp.kh != 0 && len(e.Path) > n+1 && e.Path[n] == '/' && e.Path[:n] == dp.path {
			// pathKeyHash(rules, e.Path), from its folder's (see
			// keyStep).
			kh = keyStep(dp.kh, e.Path[n+1:])
		} else {
			kh = pathKeyHash(rules, e.Path)
		}
		occ = append(occ, kh)
		if e.IsDir && e.ID != "" {
			if _, ok := dirs[e.ID]; !ok {
				dirs[e.ID] = listedDir{path: e.Path, parent: e.ParentID, kh: kh}
			}
		}
		if pid != "" && pid != d.root[s] {
			if !dpOK {
				pending = append(pending, [2]string{pid, e.Dir()})
			} else if !samePath(rules, dp.path, e.Dir()) {
				stale[pid] = true
			}
		}
		i, ok := int32(-1), false
		if e.ID != "" {
			i, ok = d.ids[s].getNear(d.recs, side, h, hint)
			if ok {
				hint = i + 1
			}
		}
		if !ok {
			if e.ID != "" {
				// The same ID twice: a listing is not a snapshot (an item
				// renamed or moved between two pages or folders of a walk
				// is listed at both places). One entry is kept; two that
				// differ are resolved by confirmListing.
				if j, dup := d.newIdx[s][e.ID]; dup {
					count--
					if !sameEntry(&d.newEnt[s][j], e) {
						d.dupNew[s][e.ID] = true
					}
					return
				}
				d.newIdx[s][e.ID] = len(d.newEnt[s])
			}
			d.newEnt[s] = append(d.newEnt[s], *e)
			d.noteParent(side, e.ParentID)
			return
		}
		fp := entryFP(e)
		if seen[i/64]&(1<<(uint(i)%64)) != 0 {
			count--
			prev := d.recs[i].fp[s]
			if c, ok := d.changed[s][i]; ok {
				prev = entryFP(&c)
			}
			if fp == prev {
				return
			}
			d.dupRec[s][i] = true
		}
		seen[i/64] |= 1 << (uint(i) % 64)
		ph := nonZero(kh) // pathHash(e.Path): the same hash where names compare as bytes
		if !plain {
			ph = pathHash(e.Path)
		}
		if fp != d.recs[i].fp[s] || d.unknownParent(side, e.ParentID) || d.strayRecord(side, i, e, ph) {
			// Changed, or in a folder the baseline does not know, whose
			// moves no baseline record follows, or recorded at a path its
			// folder's record disagrees with: its path is read as it is.
			d.changed[s][i] = *e
			d.noteParent(side, e.ParentID)
		}
	}
	// Entries are compared in batches, in the order listed: the ID table
	// is probed for a whole batch first (see idTable.touch), so that its
	// cache misses overlap instead of coming one after the other.
	batch := make([]storage.Entry, 0, lookahead)
	hs := make([]uint64, lookahead)
	flush := func() {
		for j := range batch {
			hs[j] = 0
			if batch[j].ID != "" {
				hs[j] = idHash(batch[j].ID)
			}
		}
		d.touched[s] += d.ids[s].touch(d.recs, side, hs[:len(batch)], hint)
		for j := range batch {
			process(&batch[j], hs[j])
		}
		batch = batch[:0]
	}
	for e, err := range p.storage(side).List(ctx) {
		if err != nil {
			return fmt.Errorf("syncengine: list %s: %w", p.sideName(side), err)
		}
		if batch = append(batch, e); len(batch) == lookahead {
			flush()
		}
	}
	flush()
	for _, pd := range pending {
		if dp, ok := dirs[pd[0]]; ok && !samePath(rules, dp.path, pd[1]) {
			stale[pd[0]] = true
		}
	}
	for pid := range stale {
		if i, ok := d.ids[s].get(d.recs, side, idHash(pid)); ok {
			d.staleRec[s][i] = true
		} else if _, ok := d.newIdx[s][pid]; ok {
			d.dupNew[s][pid] = true
		}
	}
	sortHashes(occ)
	d.seen[s] = seen
	d.in.Occupied[s] = slices.Compact(occ)
	d.in.Count[s] = count
	return nil
}

// unknownParent reports whether pid, the parent of a baseline item listed
// on side s, is a folder the baseline does not know (not the root).
func (d *detector) unknownParent(s Side, pid string) bool {
	if pid == "" || pid == d.root[s] {
		return false
	}
	_, _, ok := d.parentRec(s, pid)
	return !ok
}

// parentRec returns the ID hash of pid, a parent ID listed on side s, and
// the baseline record of that ID, looked up once per run of entries with
// the same parent (see parentCache).
func (d *detector) parentRec(s Side, pid string) (h uint64, i int32, ok bool) {
	c := &d.pcache[s]
	if c.h == 0 || c.pid != pid {
		h := idHash(pid)
		i, ok := d.ids[s].get(d.recs, s, h)
		*c = parentCache{pid: pid, h: h, i: i, ok: ok}
	}
	return c.h, c.i, c.ok
}

// strayRecord reports whether baseline record i, listed on side s as e
// in the folder and under the name it records (its fingerprint is
// unchanged), records a path that does not lie in its folder's recorded
// path: the folder's record took a new path (say, a folder restored at
// the place a person moved it to on the other side) while the record of
// an item inside it, not yet synced again, kept the old one. Such a
// record would otherwise be read at a path where the item is not, for as
// long as it does not change.
//
// eph is pathHash(e.Path).
func (d *detector) strayRecord(s Side, i int32, e *storage.Entry, eph uint64) bool {
	ph := d.recs[i].path[s]
	if ph == 0 || e.ParentID == "" || ph == eph {
		return false // no path recorded apart from the fingerprint, or listed where recorded
	}
	dir := uint64(0)
	if e.ParentID != d.root[s] {
		_, j, ok := d.parentRec(s, e.ParentID)
		if !ok || d.recs[j].path[s] == 0 {
			return false
		}
		dir = d.recs[j].path[s]
	}
	return ph != childPathHash(dir, e.Name())
}

// noteParent remembers the parent of a changed entry, so its baseline
// record is fetched.
func (d *detector) noteParent(s Side, pid string) {
	if pid == "" || pid == d.root[s] {
		return
	}
	if h, i, ok := d.parentRec(s, pid); ok {
		d.parents[s][h] = i
	}
}

func (d *detector) addParent(s Side, it Item) {
	id := it.Side(s).ID
	if id == "" {
		return
	}
	if d.in.Parents[s] == nil {
		d.in.Parents[s] = map[string]Item{}
	}
	d.in.Parents[s][id] = it
}

// observation returns the observation of baseline item it.
func (d *detector) observation(it *Item) *observation {
	if o := d.obs[it.Key]; o != nil {
		return o
	}
	o := &observation{Base: it}
	d.obs[it.Key] = o
	d.set[it.Key] = &[2]bool{}
	return o
}

// observe records that item it is e on side s now (nil: gone).
func (d *detector) observe(o *observation, it *Item, s Side, e *storage.Entry) {
	o.Entry[s] = e
	o.FromBase[s] = false
	d.set[it.Key][s] = true
	if e != nil && e.ID != "" {
		d.observed[s][e.ID] = true
	}
	if id := it.Side(s).ID; id != "" {
		d.observed[s][id] = true
	}
}

// applyFeed turns one side's changes into observations.
func (d *detector) applyFeed(ctx context.Context, s Side, changes []storage.Change) error {
	last := map[string]int{}
	for i, c := range changes {
		if c.Entry.ID != "" {
			last[c.Entry.ID] = i
		}
	}
	alive := map[string]bool{}
	for i, c := range changes {
		if c.Entry.ID != "" && last[c.Entry.ID] == i && !c.Deleted {
			alive[c.Entry.ID] = true
		}
	}
	for i, c := range changes {
		if c.Entry.ID == "" || last[c.Entry.ID] != i || c.Entry.Path == "" && !c.Deleted {
			continue
		}
		base, err := d.store.ItemByID(ctx, d.p.ID, s, c.Entry.ID)
		if errors.Is(err, ErrNoItem) {
			if !c.Deleted {
				d.newEnt[s] = append(d.newEnt[s], c.Entry)
			}
			continue
		}
		if err != nil {
			return err
		}
		o := d.observation(&base)
		if !c.Deleted {
			e := c.Entry
			d.observe(o, o.Base, s, &e)
			continue
		}
		d.observe(o, o.Base, s, nil)
		if !base.IsDir {
			continue
		}
		// Everything below the folder went with it, except what was moved
		// out first (reported alive), with everything below that.
		var under []Item
		var out []string
		for it, err := range d.store.ItemsUnder(ctx, d.p.ID, s, base.Side(s).Path) {
			if err != nil {
				return err
			}
			if alive[it.Side(s).ID] {
				out = append(out, it.Side(s).Path)
				continue
			}
			under = append(under, it)
		}
		for i := range under {
			item := under[i]
			if slices.ContainsFunc(out, func(q string) bool { return isUnder(item.Side(s).Path, q) }) {
				continue
			}
			d.observe(d.observation(&item), d.obs[item.Key].Base, s, nil)
		}
	}
	return nil
}

// retryDue looks again at items whose failure is due for a retry, on
// sides read through a feed (a listing sees them anyway): on the source
// side (Stat of the failure's path) and on the target side (rereadTarget
// for baseline items; finish for new ones), so that a change the failed
// run's feed reported on either side is not forgotten once the cursor
// moved on. When only the target side is read through a feed, the source
// side's Stat serves to find the item's baseline record; the item is
// observed there as the listing saw it.
func (d *detector) retryDue(ctx context.Context, due []Failure) error {
	var lost [2][]*observation // baseline items not found where the baseline has them on a target side
	for _, f := range due {
		src := f.Side.Other()
		if !d.feed[src] && !d.feed[f.Side] {
			continue
		}
		var o *observation
		e, err := d.p.storage(src).Stat(ctx, f.Path)
		switch {
		case errors.Is(err, storage.ErrNotFound) && !d.feed[src]:
			// No longer at the failure's path on the listed source side:
			// the plan goes by the listing's reading of that side.
			continue
		case errors.Is(err, storage.ErrNotFound):
			base, err := d.store.ItemByPath(ctx, d.p.ID, src, f.Path)
			if errors.Is(err, ErrNoItem) {
				continue
			}
			if err != nil {
				return err
			}
			if o := d.obs[base.Key]; o != nil {
				continue
			}
			o = d.observation(&base)
			d.observe(o, o.Base, src, nil)
		case err != nil:
			return err
		default:
			base, err := d.store.ItemByID(ctx, d.p.ID, src, e.ID)
			if errors.Is(err, ErrNoItem) && !d.feed[src] {
				continue // new on src: the listing took it in
			}
			if errors.Is(err, ErrNoItem) {
				// New on src: the target's side of it (an item created
				// there too) is looked at by finish, at the path the plan
				// would give it.
				if !slices.ContainsFunc(d.newEnt[src], func(x storage.Entry) bool { return x.ID == e.ID }) {
					d.newEnt[src] = append(d.newEnt[src], e)
				}
				continue
			}
			if err != nil {
				return err
			}
			o = d.observation(&base)
			if d.feed[src] && !d.set[base.Key][src] {
				d.observe(o, o.Base, src, &e)
			}
		}
		found, err := d.rereadTarget(ctx, o, f.Side)
		if err != nil {
			return err
		}
		if !found {
			lost[f.Side] = append(lost[f.Side], o)
		}
	}
	for s := range 2 {
		if err := d.locate(ctx, Side(s), lost[s]); err != nil {
			return err
		}
	}
	return nil
}

// rereadTarget looks again at side t of a baseline item whose failure is
// due, when t is read through a feed and the feed did not report it in
// this run: it may have reported a change of it in the run that failed,
// and has moved on since. Found at its baseline path with its ID, the item
// is observed as it is now, so that a change on t is not mistaken for "no
// change"; found is false when it is not there (moved or deleted).
func (d *detector) rereadTarget(ctx context.Context, o *observation, t Side) (found bool, err error) {
	ss := o.Base.Side(t)
	if !d.feed[t] || d.set[o.Base.Key][t] || ss.ID == "" || ss.Path == "" {
		return true, nil
	}
	e, err := d.p.storage(t).Stat(ctx, ss.Path)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if e.ID != ss.ID {
		// Another item at its path: one the baseline does not know (a
		// file replaced by a new one, say) is taken in as new, for the
		// planner to match with this record.
		if e.ID != "" && !d.observed[t][e.ID] &&
			!slices.ContainsFunc(d.newEnt[t], func(x storage.Entry) bool { return x.ID == e.ID }) {
			if _, err := d.store.ItemByID(ctx, d.p.ID, t, e.ID); errors.Is(err, ErrNoItem) {
				d.newEnt[t] = append(d.newEnt[t], e)
			} else if err != nil {
				return false, err
			}
		}
		return false, nil
	}
	d.observe(o, o.Base, t, &e)
	return true, nil
}

// locate finds on side s, by ID, the baseline items of a due failure that
// are not where the baseline has them, with one listing of s (rare: the
// failed run's feed reported them moved or deleted): each is observed
// where it is now, or deleted when it is nowhere.
func (d *detector) locate(ctx context.Context, s Side, lost []*observation) error {
	if len(lost) == 0 {
		return nil
	}
	want := make(map[string]*observation, len(lost))
	for _, o := range lost {
		want[o.Base.Side(s).ID] = o
	}
	for e, err := range d.p.storage(s).List(ctx) {
		if err != nil {
			return fmt.Errorf("syncengine: list %s: %w", d.p.sideName(s), err)
		}
		if o := want[e.ID]; o != nil && e.ID != "" {
			delete(want, e.ID)
			d.observe(o, o.Base, s, &e)
		}
	}
	for _, o := range lost {
		if o := want[o.Base.Side(s).ID]; o != nil {
			d.observe(o, o.Base, s, nil)
		}
	}
	return nil
}

// finish fills unobserved sides from the baseline, fetches parents,
// matches items created on both sides (taking in, on feed sides, unsynced
// items at the paths new items would take: see candidates), compares their
// content, and records paths the plan may collide with on feed sides
// (candidate paths and conflict-copy names).
func (d *detector) finish(ctx context.Context) error {
	in := d.in
	keys := make([]int64, 0, len(d.obs))
	for k := range d.obs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	deletions := false
	for _, k := range keys {
		o := d.obs[k]
		for s := range 2 {
			if !d.set[k][s] {
				e := o.Base.Side(Side(s)).Entry(o.Base.IsDir)
				o.Entry[s], o.FromBase[s] = &e, true
			} else if o.Entry[s] == nil {
				deletions = true
			}
		}
		in.Observations = append(in.Observations, *o)
	}
	for s := range 2 {
		for i := range d.newEnt[s] {
			e := d.newEnt[s][i]
			var o observation
			o.Entry[s] = &e
			in.Observations = append(in.Observations, o)
		}
	}
	if err := d.fetchParents(ctx, in.Observations); err != nil {
		return err
	}
	for s := range 2 {
		if d.feed[s] && deletions {
			n, err := d.store.CountItems(ctx, d.p.ID)
			if err != nil {
				return err
			}
			in.Count[s] = n
		}
	}
	// Match creations with the planner's own rules.
	pl := newPlanner(in)
	pl.match()
	extra, err := d.candidates(ctx, pl)
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		if err := d.fetchParents(ctx, extra); err != nil {
			return err
		}
		in.Observations = append(in.Observations, extra...)
		pl = newPlanner(in)
		pl.match()
	}
	// Compare the content of files present on both sides.
	var out []observation
	for _, n := range pl.nodes {
		if n.dead {
			continue
		}
		o := n.o
		o.Entry, o.FromBase = n.e, n.fromBase
		if o.Entry[0] != nil && o.Entry[1] != nil && !n.dir && o.Same == verdictUnknown &&
			(n.base == nil || (n.modified[0] && n.modified[1])) {
			o.Same = d.compare(ctx, *o.Entry[0], *o.Entry[1])
		}
		n.o = o
		out = append(out, o)
		if err := d.conflictNames(ctx, n); err != nil {
			return err
		}
	}
	for _, n := range pl.invalid {
		out = append(out, n.o) // reported by buildPlan
	}
	for s := range 2 {
		slices.Sort(in.Occupied[s])
		in.Occupied[s] = slices.Compact(in.Occupied[s])
	}
	in.Observations = out
	return nil
}

// fetchParents records the baseline records of the parents of entries read
// from a feed or a retry (planInput.Parents).
func (d *detector) fetchParents(ctx context.Context, obs []observation) error {
	in := d.in
	for _, o := range obs {
		for s := range 2 {
			e := o.Entry[s]
			if e == nil || o.FromBase[s] || !d.feed[s] || e.ParentID == "" || e.ParentID == d.root[s] ||
				d.observed[s][e.ParentID] {
				continue
			}
			if _, ok := in.Parents[s][e.ParentID]; ok {
				continue
			}
			it, err := d.store.ItemByID(ctx, d.p.ID, Side(s), e.ParentID)
			if errors.Is(err, ErrNoItem) {
				continue
			}
			if err != nil {
				return err
			}
			d.addParent(Side(s), it)
		}
	}
	return nil
}

// candidates looks, on sides read from a feed, at the paths that new items
// would take there. An item found at such a path that the baseline does
// not know and the feed did not report (it was reported in a run whose
// action on it failed, and the cursor moved on since) is returned as a new
// observation, as a full listing would have seen it, so that it is matched
// with the new item (a merge or a conflict) rather than collided with;
// other items found there are recorded in Occupied.
func (d *detector) candidates(ctx context.Context, pl *planner) ([]observation, error) {
	var extra []observation
	taken := [2]map[string]bool{{}, {}}
	for s := range 2 {
		for _, e := range d.newEnt[s] {
			taken[s][e.ID] = true
		}
	}
	for _, n := range pl.nodes {
		if n.dead {
			continue
		}
		if n.base != nil {
			if err := d.moveTargets(ctx, pl, n); err != nil {
				return nil, err
			}
			continue
		}
		if n.present[0] == n.present[1] {
			continue
		}
		s := SideA
		if n.present[SideB] {
			s = SideB
		}
		t := s.Other()
		if !d.feed[t] {
			continue
		}
		parent, ok := pl.parentOn(n, s, t)
		if !ok {
			continue
		}
		name, err := d.nm.name(t, n.e[s].Name())
		if err != nil {
			continue
		}
		// The name, then (when it is taken) the alternatives buildPlan
		// tries in turn, up to the first free one.
		for i := 0; i <= maxDisambiguations; i++ {
			cand := joinPath(parent, name)
			if i > 0 {
				cand = joinPath(parent, d.nm.alternative(t, n.e[s].Name(), i))
			}
			e, err := d.p.storage(t).Stat(ctx, cand)
			if errors.Is(err, storage.ErrNotFound) {
				break
			}
			if err != nil {
				return nil, err
			}
			if e.ID != "" && !taken[t][e.ID] && !d.observed[t][e.ID] {
				_, err := d.store.ItemByID(ctx, d.p.ID, t, e.ID)
				if errors.Is(err, ErrNoItem) {
					taken[t][e.ID] = true
					var o observation
					o.Entry[t] = &e
					extra = append(extra, o)
					if i == 0 {
						break // matched with the new item
					}
					continue // a new item there, as a full listing would see it
				}
				if err != nil {
					return nil, err
				}
			}
			d.in.Occupied[t] = append(d.in.Occupied[t], pathKeyHash(d.nm.rules[t], cand))
		}
	}
	return extra, nil
}

// occupyAlternatives records in Occupied, on a side t read from a feed,
// the alternative names buildPlan tries for an item called original on the
// other side whose name is taken in folder parent on t, up to the first
// free one (or the one item self already holds): items there that the
// feed did not report are unknown to the planner otherwise.
func (d *detector) occupyAlternatives(ctx context.Context, t Side, parent, original, self string) error {
	for i := 1; i <= maxDisambiguations; i++ {
		cand := joinPath(parent, d.nm.alternative(t, original, i))
		e, err := d.p.storage(t).Stat(ctx, cand)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if self != "" && e.ID == self {
			return nil
		}
		d.in.Occupied[t] = append(d.in.Occupied[t], pathKeyHash(d.nm.rules[t], cand))
	}
	return nil
}

// moveTargets records in Occupied, on a side t read from a feed, the path
// that baseline item n would be moved to there after a move on the other
// side, when another item lies there: one the feed did not report (say,
// an item whose name differs between the sides, "b (~ffa0da).txt" on one,
// "b.txt" on the other) is unknown to the planner otherwise, and the
// Move would fail with "already exists" in every run.
func (d *detector) moveTargets(ctx context.Context, pl *planner, n *pnode) error {
	if !n.present[0] || !n.present[1] {
		return nil
	}
	for s := range 2 {
		s := Side(s)
		t := s.Other()
		if !d.feed[t] || !n.moved[s] || n.fromBase[s] {
			continue
		}
		parent, ok := pl.parentOn(n, s, t)
		if !ok {
			continue
		}
		name := baseOf(n.base.Side(t).Path)
		if e := n.e[s]; e.Name() != baseOf(n.base.Side(s).Path) || name == "" {
			m, err := d.nm.name(t, e.Name())
			if err != nil {
				continue
			}
			name = m
		}
		cand := joinPath(parent, name)
		if cand == n.now[t] {
			continue
		}
		e, err := d.p.storage(t).Stat(ctx, cand)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if e.ID == "" || e.ID != n.e[t].ID {
			d.in.Occupied[t] = append(d.in.Occupied[t], pathKeyHash(d.nm.rules[t], cand))
			if err := d.occupyAlternatives(ctx, t, parent, n.e[s].Name(), n.e[t].ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// conflictNames records, on a side read from a feed, the conflict-copy
// names already taken next to a file that may become a conflict loser
// there, so that buildPlan picks a free one.
func (d *detector) conflictNames(ctx context.Context, n *pnode) error {
	if n.dir || n.e[0] == nil || n.e[1] == nil || n.o.Same == verdictEqual ||
		!(n.base == nil || (n.modified[0] && n.modified[1])) {
		return nil
	}
	for s := range 2 {
		l := Side(s)
		if !d.feed[l] || (d.p.Conflict != ConflictKeepBoth && featuresOf(d.p.storage(l)).VersionHistory) {
			continue
		}
		name := ConflictName(baseOf(n.now[l]), d.in.Now, d.p.sideName(l))
		for i := 1; i <= maxConflictNumber; i++ {
			p := joinPath(dirOf(n.now[l]), numbered(name, i))
			_, err := d.p.storage(l).Stat(ctx, p)
			if errors.Is(err, storage.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			d.in.Occupied[l] = append(d.in.Occupied[l], pathKeyHash(d.nm.rules[l], p))
		}
	}
	return nil
}

// compare decides whether files a (on A) and b (on B) hold the same bytes
// (see compareContent; the bytes are read unless NoContentCompare).
// Failures leave the verdict unknown (a conflict, which keeps both).
func (d *detector) compare(ctx context.Context, a, b storage.Entry) verdict {
	v, err := compareContent(ctx, d.p.A, a, d.p.B, b, !d.opt.NoContentCompare)
	if err != nil {
		return verdictUnknown
	}
	return v
}

// sortHashes sorts hashes in increasing order, as slices.Sort does. Many
// hashes (a full listing's paths) are radix-sorted: first in place into
// buckets by their top byte, then each bucket by its other bytes, least
// significant first, through a scratch buffer the size of the largest
// bucket (a few passes over the values in order, where a comparison sort
// compares each about log2(n) times; hashes spread evenly, so buckets are
// small and stay in the caches).
func sortHashes(a []uint64) {
	if len(a) < 1<<12 {
		slices.Sort(a)
		return
	}
	var count, next, end [256]int
	for _, v := range a {
		count[v>>56]++
	}
	sum, largest := 0, 0
	for b := range count {
		next[b] = sum
		sum += count[b]
		end[b] = sum
		largest = max(largest, count[b])
	}
	// Each value goes to the next free place of its bucket, taking the
	// value found there on to its own bucket.
	for b := range 256 {
		for next[b] < end[b] {
			v := a[next[b]]
			for d := int(v >> 56); d != b; d = int(v >> 56) {
				a[next[d]], v = v, a[next[d]]
				next[d]++
			}
			a[next[b]] = v
			next[b]++
		}
	}
	scratch := make([]uint64, largest)
	lo := 0
	for b := range 256 {
		bucket := a[lo:end[b]]
		lo = end[b]
		if len(bucket) < 64 {
			slices.Sort(bucket)
			continue
		}
		radixLow(bucket, scratch[:len(bucket)])
	}
}

// radixLow sorts a, whose values share their top byte, by their seven
// other bytes, least significant first, through buf (as long as a).
func radixLow(a, buf []uint64) {
	var count [7][256]int
	for _, v := range a {
		for d := range 7 {
			count[d][byte(v>>(8*d))]++
		}
	}
	src, dst := a, buf
	for d := range 7 {
		c := &count[d]
		shift := uint(8 * d)
		if c[byte(a[0]>>shift)] == len(a) {
			continue // one value of this byte: the order stands
		}
		sum := 0
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		for _, v := range src {
			b := byte(v >> shift)
			dst[c[b]] = v
			c[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}

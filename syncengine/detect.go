package syncengine

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// DetectOptions tune Detect.
type DetectOptions struct {
	// Now is the time of the run (zero: time.Now()); the delete window and
	// failure retries are reckoned from it.
	Now time.Time
	// Force bypasses the mass-delete guard.
	Force bool
	// Full ignores change feeds and lists both sides in full (a periodic
	// full reconciliation).
	Full bool
	// NoContentCompare skips the byte-by-byte comparison of files that
	// share no content hash (they are then treated as different, and a
	// conflict keeps both).
	NoContentCompare bool
}

// Detect reads what changed on both sides since the baseline (I/O: the
// two storages and the store) and returns the input for BuildPlan and the
// pair state to save after the plan has been applied (new change-feed
// cursors, root IDs on first sight, Initialized set).
//
// Each side is read through its storage.ChangeFeed when it has one and
// ps holds a cursor for it; otherwise (no feed, no cursor, an expired
// cursor — for that side only — or opt.Full) it is listed in full, taking
// the feed's LatestCursor before listing so that nothing is missed. A full
// listing is compared with the baseline through a compact index (a few
// dozen bytes per item), so only the items that differ are kept. Moves are
// recognised by ID. Failures due for a retry are looked at again (Stat on
// their source side), so that they are retried after a feed cursor moved
// on; quarantined ones are passed on to be reported as skipped.
//
// Protected roots: Detect first looks at each side's root (Stat of "").
// If a root is gone (ErrNotFound) or is not the folder remembered in
// ps.RootA/RootB, Detect reads nothing else and returns a PlanInput whose
// RootGone names the side and the reason; BuildPlan then returns a Plan
// whose Refused is that reason and which holds no action (in particular no
// deletion). The engine recognises the case by PlanInput.RootGone != ""
// and pauses the pair. The returned PairState is then ps unchanged.
//
// On the initial sync (ps.Initialized false) with Pair.Initial Standard,
// side B must be empty: otherwise Detect returns an error wrapping
// ErrTargetNotEmpty.
func Detect(ctx context.Context, p *Pair, store MetadataStore, ps PairState, opt DetectOptions) (*PlanInput, PairState, error) {
	if p == nil || p.A == nil || p.B == nil || store == nil {
		return nil, ps, errors.New("syncengine: Detect needs a pair with both storages and a store")
	}
	if err := p.Filter.Validate(); err != nil {
		return nil, ps, err
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	d := &detector{p: p, store: store, ps: ps, opt: opt, nm: newNamer(p),
		in: &PlanInput{Pair: p, State: ps, Now: now, Force: opt.Force, Initial: !ps.Initialized}}
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

func rootOf(ps *PairState, s Side) *string {
	if s == SideA {
		return &ps.RootA
	}
	return &ps.RootB
}

// compactRec is what the full-listing index keeps of one baseline item.
type compactRec struct {
	key int64
	fp  [2]uint64
}

type detector struct {
	p     *Pair
	store MetadataStore
	ps    PairState
	opt   DetectOptions
	nm    namer
	in    *PlanInput
	root  [2]string

	feed [2]bool
	// Full-listing state.
	recs    []compactRec
	ids     [2]map[uint64]int32
	seen    [2][]uint64
	changed [2]map[int32]storage.Entry
	newEnt  [2][]storage.Entry
	parents [2]map[uint64]int32 // parent ID hashes of changed entries → record index
	// Observations by baseline key.
	obs      map[int64]*Observation
	set      map[int64]*[2]bool // sides explicitly observed
	observed [2]map[string]bool // IDs observed per side
}

func (d *detector) run(ctx context.Context, next *PairState) error {
	p, in := d.p, d.in
	d.obs = map[int64]*Observation{}
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
	if in.Initial && p.Initial == Standard {
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

// fingerprint identifies an item's place and version on one side.
func fingerprint(parentID, p string, isDir bool, version string, size int64) uint64 {
	h := uint64(fnvOffset)
	if parentID != "" {
		h = fnv64(h, parentID)
		h = fnv64(h, "\x00")
		h = fnv64(h, baseOf(p))
	} else {
		h = fnv64(h, "\x01")
		h = fnv64(h, p)
	}
	if isDir {
		return fnv64(h, "\x00d")
	}
	h = fnv64(h, "\x00")
	h = fnv64(h, version)
	return fnv64(h, "\x00"+strconv.FormatInt(size, 10))
}

func stateFP(st *SideState, isDir bool) uint64 {
	return fingerprint(st.ParentID, st.Path, isDir, st.Version, st.Size)
}

func entryFP(e *storage.Entry) uint64 {
	return fingerprint(e.ParentID, e.Path, e.IsDir, e.Version, e.Size)
}

func idHash(id string) uint64 { return fnv64(fnvOffset, id) }

// listFull indexes the baseline compactly and lists the sides without a
// usable feed, keeping only the entries that differ from the baseline.
func (d *detector) listFull(ctx context.Context) error {
	p := d.p
	full := [2]bool{!d.feed[0], !d.feed[1]}
	size := 0
	if !d.in.Initial || p.Initial == Merge {
		n, err := d.store.CountItems(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("syncengine: count baseline: %w", err)
		}
		size = n
	}
	for s := range 2 {
		if full[s] {
			d.ids[s] = make(map[uint64]int32, size)
			d.changed[s] = map[int32]storage.Entry{}
			d.parents[s] = map[uint64]int32{}
		}
	}
	d.recs = make([]compactRec, 0, size)
	if size > 0 {
		for it, err := range d.store.Items(ctx, p.ID) {
			if err != nil {
				return fmt.Errorf("syncengine: read baseline: %w", err)
			}
			i := int32(len(d.recs))
			d.recs = append(d.recs, compactRec{key: it.Key,
				fp: [2]uint64{stateFP(&it.A, it.IsDir), stateFP(&it.B, it.IsDir)}})
			for s := range 2 {
				if full[s] {
					if id := it.Side(Side(s)).ID; id != "" {
						d.ids[s][idHash(id)] = i
					}
				}
			}
		}
	}
	for s := range 2 {
		if !full[s] {
			continue
		}
		side := Side(s)
		d.seen[s] = make([]uint64, (len(d.recs)+63)/64)
		rules := p.storage(side).Features().Names
		occ := make([]uint64, 0, len(d.recs)+16)
		count := 0
		for e, err := range p.storage(side).List(ctx) {
			if err != nil {
				return fmt.Errorf("syncengine: list %s: %w", p.sideName(side), err)
			}
			if e.Path == "" {
				continue
			}
			count++
			occ = append(occ, pathKeyHash(rules, e.Path))
			i, ok := int32(-1), false
			if e.ID != "" {
				i, ok = d.ids[s][idHash(e.ID)]
			}
			if !ok {
				d.newEnt[s] = append(d.newEnt[s], e)
				d.noteParent(side, e.ParentID)
				continue
			}
			d.seen[s][i/64] |= 1 << (uint(i) % 64)
			if entryFP(&e) != d.recs[i].fp[s] {
				d.changed[s][i] = e
				d.noteParent(side, e.ParentID)
			}
		}
		slices.Sort(occ)
		d.in.Occupied[s] = slices.Compact(occ)
		d.in.Count[s] = count
	}
	// Fetch the full records of what changed, and of their parents.
	want := map[int32]bool{}
	for s := range 2 {
		if !full[s] {
			continue
		}
		for i := range d.changed[s] {
			want[i] = true
		}
		for i := range d.recs {
			if d.seen[s][i/64]&(1<<(uint(i)%64)) == 0 {
				want[int32(i)] = true
			}
		}
	}
	parentIdx := map[int32]bool{}
	for s := range 2 {
		for _, i := range d.parents[s] {
			parentIdx[i] = true
		}
	}
	if len(want) == 0 && len(parentIdx) == 0 {
		d.ids = [2]map[uint64]int32{}
		return nil
	}
	i := int32(-1)
	for it, err := range d.store.Items(ctx, p.ID) {
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
			if !full[s] {
				continue
			}
			if e, ok := d.changed[s][i]; ok {
				d.observe(o, &item, Side(s), &e)
			} else if d.seen[s][i/64]&(1<<(uint(i)%64)) == 0 {
				d.observe(o, &item, Side(s), nil)
			}
		}
	}
	d.ids = [2]map[uint64]int32{}
	return nil
}

// noteParent remembers the parent of a changed entry, so its baseline
// record is fetched.
func (d *detector) noteParent(s Side, pid string) {
	if pid == "" || pid == d.root[s] {
		return
	}
	h := idHash(pid)
	if i, ok := d.ids[s][h]; ok {
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
func (d *detector) observation(it *Item) *Observation {
	if o := d.obs[it.Key]; o != nil {
		return o
	}
	o := &Observation{Base: it}
	d.obs[it.Key] = o
	d.set[it.Key] = &[2]bool{}
	return o
}

// observe records that item it is e on side s now (nil: gone).
func (d *detector) observe(o *Observation, it *Item, s Side, e *storage.Entry) {
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
		for it, err := range d.store.ItemsUnder(ctx, d.p.ID, s, base.Side(s).Path) {
			if err != nil {
				return err
			}
			if alive[it.Side(s).ID] {
				continue
			}
			item := it
			d.observe(d.observation(&item), d.obs[item.Key].Base, s, nil)
		}
	}
	return nil
}

// retryDue looks again at items whose failure is due for a retry, on
// sides read through a feed (a listing sees them anyway).
func (d *detector) retryDue(ctx context.Context, due []Failure) error {
	for _, f := range due {
		src := f.Side.Other()
		if !d.feed[src] {
			continue
		}
		e, err := d.p.storage(src).Stat(ctx, f.Path)
		switch {
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
			d.observe(d.observation(&base), &base, src, nil)
		case err != nil:
			return err
		default:
			if d.observed[src][e.ID] {
				continue
			}
			base, err := d.store.ItemByID(ctx, d.p.ID, src, e.ID)
			if errors.Is(err, ErrNoItem) {
				if !slices.ContainsFunc(d.newEnt[src], func(x storage.Entry) bool { return x.ID == e.ID }) {
					d.newEnt[src] = append(d.newEnt[src], e)
				}
				continue
			}
			if err != nil {
				return err
			}
			d.observe(d.observation(&base), &base, src, &e)
		}
	}
	return nil
}

// finish fills unobserved sides from the baseline, fetches parents,
// matches items created on both sides, compares their content, and
// records paths the plan may collide with on feed sides.
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
			var o Observation
			o.Entry[s] = &e
			in.Observations = append(in.Observations, o)
		}
	}
	// Parents of entries read from a feed or a retry.
	for _, o := range in.Observations {
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
	for s := range 2 {
		if d.feed[s] && deletions {
			n, err := d.store.CountItems(ctx, d.p.ID)
			if err != nil {
				return err
			}
			in.Count[s] = n
		}
	}
	// Match creations with the planner's own rules, then compare content.
	pl := newPlanner(in)
	pl.match()
	var out []Observation
	for _, n := range pl.nodes {
		if n.dead {
			continue
		}
		o := n.o
		o.Entry, o.FromBase = n.e, n.fromBase
		if o.Entry[0] != nil && o.Entry[1] != nil && !n.dir && o.Same == VerdictUnknown &&
			(n.base == nil || (n.modified[0] && n.modified[1])) {
			o.Same = d.compare(ctx, *o.Entry[0], *o.Entry[1])
		}
		n.o = o
		out = append(out, o)
	}
	// Paths that new items would take on a side read from a feed.
	for _, n := range pl.nodes {
		if n.dead || n.base != nil || n.present[0] == n.present[1] {
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
		cand := joinPath(parent, name)
		if _, err := d.p.storage(t).Stat(ctx, cand); err == nil {
			in.Occupied[t] = append(in.Occupied[t], pathKeyHash(d.nm.rules[t], cand))
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	for s := range 2 {
		slices.Sort(in.Occupied[s])
		in.Occupied[s] = slices.Compact(in.Occupied[s])
	}
	in.Observations = out
	return nil
}

// compare decides whether files a (on A) and b (on B) hold the same bytes:
// by a common hash, by hashes computed on demand (storage.Hasher), or by
// reading both. Failures leave the verdict unknown (a conflict, which
// keeps both).
func (d *detector) compare(ctx context.Context, a, b storage.Entry) Verdict {
	if a.Size != b.Size {
		return VerdictDifferent
	}
	if eq, ok := a.Hashes.Equal(b.Hashes); ok {
		if eq {
			return VerdictEqual
		}
		return VerdictDifferent
	}
	ha, okA := d.p.A.(storage.Hasher)
	hb, okB := d.p.B.(storage.Hasher)
	for _, k := range []storage.HashKind{storage.HashSHA256, storage.HashSHA1, storage.HashDropbox,
		storage.HashQuickXor, storage.HashMD5} {
		va, vb := a.Hashes[k], b.Hashes[k]
		if va == "" && okA && (vb != "" || okB) {
			va, _ = ha.Hash(ctx, a, k)
		}
		if va == "" {
			continue
		}
		if vb == "" && okB {
			vb, _ = hb.Hash(ctx, b, k)
		}
		if vb == "" {
			continue
		}
		if va == vb {
			return VerdictEqual
		}
		return VerdictDifferent
	}
	if d.opt.NoContentCompare {
		return VerdictUnknown
	}
	eq, err := bytesEqual(ctx, d.p.A, a, d.p.B, b)
	if err != nil {
		return VerdictUnknown
	}
	if eq {
		return VerdictEqual
	}
	return VerdictDifferent
}

// bytesEqual compares two files' content by streaming both.
func bytesEqual(ctx context.Context, sa storage.Storage, a storage.Entry, sb storage.Storage, b storage.Entry) (bool, error) {
	ra, err := sa.Open(ctx, a)
	if err != nil {
		return false, err
	}
	defer ra.Close()
	rb, err := sb.Open(ctx, b)
	if err != nil {
		return false, err
	}
	defer rb.Close()
	ba, bb := bufio.NewReaderSize(ra, 64<<10), bufio.NewReaderSize(rb, 64<<10)
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(ba, bufA)
		nb, errB := io.ReadFull(bb, bufB)
		if na != nb || !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		if errA != nil && !endA {
			return false, errA
		}
		if errB != nil && !endB {
			return false, errB
		}
		if endA || endB {
			return endA && endB, nil
		}
	}
}

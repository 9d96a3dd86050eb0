package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// itemCols are the columns every item query reads, in itemScanner order.
const itemCols = `key, rest`

// The rest column packs the whole item but its Key, so that streaming items
// reads two columns per row and makes one string for all of an item's text:
// a flags byte (bit 0: IsDir), then for side A and then side B: the ID, the
// parent ID, the path and the version (uvarint length and bytes each), the
// size and the modification time in unix nanoseconds (varints), and the
// hashes (uvarint length and the compact form of hashes.go). The IDs and
// paths are also kept in their own columns, for the indexes.

// packRest returns the rest column of it.
func packRest(it *syncengine.Item) ([]byte, error) {
	var flags byte
	if it.IsDir {
		flags |= 1
	}
	out := make([]byte, 0, 64+len(it.A.ID)+len(it.A.ParentID)+len(it.A.Path)+len(it.A.Version)+
		len(it.B.ID)+len(it.B.ParentID)+len(it.B.Path)+len(it.B.Version))
	out = append(out, flags)
	for i, st := range [2]*syncengine.SideState{&it.A, &it.B} {
		mt, err := enc(st.ModTime, "side "+syncengine.Side(i).String()+" ModTime")
		if err != nil {
			return nil, err
		}
		for _, v := range [4]string{st.ID, st.ParentID, st.Path, st.Version} {
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
		}
		out = binary.AppendVarint(out, st.Size)
		out = binary.AppendVarint(out, mt)
		h := encodeHashes(st.Hashes)
		out = binary.AppendUvarint(out, uint64(len(h)))
		out = append(out, h...)
	}
	return out, nil
}

// span locates a string in an unpacker's buffer.
type span struct{ off, n int }

// hashRef is one hash of an item being unpacked.
type hashRef struct {
	side int
	kind storage.HashKind // known kinds; otherwise the name is at name
	name span
	val  span
}

// unpacker decodes rest columns. It gathers all the strings of one item in
// one buffer and converts that to a single string, so that an item costs one
// allocation for them all (plus one map per side that has hashes). It is
// reused from row to row and is not safe for concurrent use.
type unpacker struct {
	buf    []byte
	hashes []hashRef
}

// errCorrupt reports a rest column that cannot be decoded.
var errCorrupt = errors.New("sqlitestore: corrupt item record")

// unpack decodes rest into every field of it but Key.
func (u *unpacker) unpack(rest []byte, it *syncengine.Item) error {
	if len(rest) < 1 {
		return errCorrupt
	}
	it.IsDir = rest[0]&1 != 0
	b := rest[1:]
	buf := u.buf[:0]
	u.hashes = u.hashes[:0]
	var strs [2][4]span // ID, ParentID, Path, Version
	var size, mtime [2]int64
	var nHashes [2]int
	for side := range 2 {
		for j := range strs[side] {
			v, r, ok := field(b)
			if !ok {
				return errCorrupt
			}
			strs[side][j] = span{len(buf), len(v)}
			buf, b = append(buf, v...), r
		}
		for _, n := range []*int64{&size[side], &mtime[side]} {
			v, w := binary.Varint(b)
			if w <= 0 {
				return errCorrupt
			}
			*n, b = v, b[w:]
		}
		hb, r, ok := field(b)
		if !ok {
			return errCorrupt
		}
		b = r
		for len(hb) > 0 {
			tag := hb[0]
			code := tag &^ rawFlag
			hb = hb[1:]
			ref := hashRef{side: side}
			if code == 0 {
				name, r, ok := field(hb)
				if !ok {
					return errCorrupt
				}
				ref.name = span{len(buf), len(name)}
				buf, hb = append(buf, name...), r
			} else {
				if int(code) >= len(hashKinds) || hashKinds[code] == "" {
					return errCorrupt
				}
				ref.kind = hashKinds[code]
			}
			val, r, ok := field(hb)
			if !ok {
				return errCorrupt
			}
			hb = r
			off := len(buf)
			if code == 0 || tag&rawFlag != 0 {
				buf = append(buf, val...)
			} else {
				buf = expand(code, val, buf)
			}
			ref.val = span{off, len(buf) - off}
			u.hashes = append(u.hashes, ref)
			nHashes[side]++
		}
	}
	if len(b) != 0 {
		return errCorrupt
	}
	u.buf = buf
	str := string(buf)
	sub := func(sp span) string { return str[sp.off : sp.off+sp.n] }
	for side, st := range [2]*syncengine.SideState{&it.A, &it.B} {
		sp := &strs[side]
		st.ID, st.ParentID, st.Path, st.Version = sub(sp[0]), sub(sp[1]), sub(sp[2]), sub(sp[3])
		st.Size, st.ModTime = size[side], dec(mtime[side])
		st.Hashes = nil
		if nHashes[side] > 0 {
			st.Hashes = make(storage.Hashes, nHashes[side])
		}
	}
	for _, h := range u.hashes {
		k := h.kind
		if k == "" {
			k = storage.HashKind(sub(h.name))
		}
		it.Side(syncengine.Side(h.side)).Hashes[k] = sub(h.val)
	}
	return nil
}

// itemScanner scans item rows into reused variables, so that a row costs
// only the allocations of the values the Item keeps.
type itemScanner struct {
	it   syncengine.Item
	rest sql.RawBytes
	dest []any
	u    unpacker
}

// newItemScanner returns a scanner whose destinations are bound once.
func newItemScanner() *itemScanner {
	sc := &itemScanner{}
	sc.dest = []any{&sc.it.Key, &sc.rest}
	return sc
}

// scan reads the current row of rows into an Item.
func (sc *itemScanner) scan(rows *sql.Rows) (syncengine.Item, error) {
	if err := rows.Scan(sc.dest...); err != nil {
		return syncengine.Item{}, err
	}
	it := sc.it
	if err := sc.u.unpack(sc.rest, &it); err != nil {
		return syncengine.Item{}, fmt.Errorf("item %d: %w", it.Key, err)
	}
	return it, nil
}

// sideCol returns the name of column field ("id" or "path") of side s.
func sideCol(s syncengine.Side, field string) string {
	if s == syncengine.SideA {
		return "a_" + field
	}
	return "b_" + field
}

// queryItems runs a query whose rows are items and yields them one by one.
func (s *Store) queryItems(ctx context.Context, pairID string, query string, args func(pid int64) []any) iter.Seq2[syncengine.Item, error] {
	return func(yield func(syncengine.Item, error) bool) {
		pid, ok, err := s.readPID(ctx, pairID)
		if err != nil {
			yield(syncengine.Item{}, err)
			return
		}
		if !ok {
			return
		}
		rows, err := s.r.QueryContext(ctx, query, args(pid)...)
		if err != nil {
			yield(syncengine.Item{}, wrap(err))
			return
		}
		defer rows.Close()
		sc := newItemScanner()
		done := ctx.Done()
		for rows.Next() {
			select {
			case <-done:
				yield(syncengine.Item{}, ctx.Err())
				return
			default:
			}
			it, err := sc.scan(rows)
			if err != nil {
				yield(syncengine.Item{}, wrap(err))
				return
			}
			if !yield(it, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(syncengine.Item{}, wrap(err))
		}
	}
}

// Items streams every baseline item of the pair, ordered by Key. Each
// iteration holds a read connection until it ends.
func (s *Store) Items(ctx context.Context, pairID string) iter.Seq2[syncengine.Item, error] {
	return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items WHERE pair = ? ORDER BY key`, func(pid int64) []any { return []any{pid} })
}

// unpackLean decodes rest into the fields of r but Key, without copying:
// r's byte slices point into rest. Modification times and hashes are
// skipped.
func unpackLean(rest []byte, r *syncengine.BaselineRow) error {
	if len(rest) < 1 {
		return errCorrupt
	}
	r.IsDir = rest[0]&1 != 0
	b := rest[1:]
	for _, sd := range [2]*syncengine.BaselineSide{&r.A, &r.B} {
		for _, f := range [4]*[]byte{&sd.ID, &sd.ParentID, &sd.Path, &sd.Version} {
			v, rb, ok := field(b)
			if !ok {
				return errCorrupt
			}
			*f, b = v, rb
		}
		size, w := binary.Varint(b)
		if w <= 0 {
			return errCorrupt
		}
		sd.Size, b = size, b[w:]
		if _, w = binary.Varint(b); w <= 0 { // the modification time
			return errCorrupt
		}
		var ok bool
		if _, b, ok = field(b[w:]); !ok { // the hashes
			return errCorrupt
		}
	}
	if len(b) != 0 {
		return errCorrupt
	}
	return nil
}

// ScanBaseline calls fn with a lean view of every baseline item of the
// pair, ordered by Key. It reads the same two columns as Items, but the
// row's byte slices point into the record as the driver read it (through
// sql.RawBytes): a row costs no allocation beyond the driver's own (the
// record's bytes and the key), where Items makes the item's strings and
// hash maps. The scan holds a read connection until it returns.
func (s *Store) ScanBaseline(ctx context.Context, pairID string, fn func(*syncengine.BaselineRow) error) error {
	return s.scanBaseline(ctx, pairID, `SELECT key, rest FROM items WHERE pair = ? ORDER BY key`, nil, fn)
}

// ScanBaselineRange is ScanBaseline restricted to the items whose Key k
// lies in from <= k <= to (syncengine.BaselineRangeScanner): a range of
// the table's primary key (pair, key), read on its own read connection,
// so that scans of different ranges run at once.
func (s *Store) ScanBaselineRange(ctx context.Context, pairID string, from, to int64, fn func(*syncengine.BaselineRow) error) error {
	if from > to {
		return nil
	}
	return s.scanBaseline(ctx, pairID, `SELECT key, rest FROM items WHERE pair = ? AND key >= ? AND key <= ? ORDER BY key`,
		[]any{from, to}, fn)
}

// BaselineKeys returns the lowest and the highest Key of the pair's
// baseline items (syncengine.BaselineRangeScanner), two look-ups in the
// primary key; ok is false when the pair has none.
func (s *Store) BaselineKeys(ctx context.Context, pairID string) (lo, hi int64, ok bool, err error) {
	pid, found, err := s.readPID(ctx, pairID)
	if err != nil || !found {
		return 0, 0, false, err
	}
	// Two queries, not min() and max() in one: SQLite answers a lone
	// min() or max() from one end of the index, both at once with a scan.
	err = s.r.QueryRowContext(ctx, `SELECT key FROM items WHERE pair = ? ORDER BY key LIMIT 1`, pid).Scan(&lo)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, wrap(err)
	}
	err = s.r.QueryRowContext(ctx, `SELECT key FROM items WHERE pair = ? ORDER BY key DESC LIMIT 1`, pid).Scan(&hi)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil // deleted in between
	}
	if err != nil {
		return 0, 0, false, wrap(err)
	}
	return lo, hi, true, nil
}

// scanBaseline runs query (which selects key and rest of the items of
// one pair, ordered by key; its first argument is the pair's pid, args
// follow) and calls fn with each row, as ScanBaseline describes.
func (s *Store) scanBaseline(ctx context.Context, pairID, query string, args []any, fn func(*syncengine.BaselineRow) error) error {
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return err
	}
	rows, err := s.r.QueryContext(ctx, query, append([]any{pid}, args...)...)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	var (
		row  syncengine.BaselineRow
		rest sql.RawBytes
	)
	dest := []any{&row.Key, &rest}
	done := ctx.Done()
	for rows.Next() {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		if err := rows.Scan(dest...); err != nil {
			return wrap(err)
		}
		if err := unpackLean(rest, &row); err != nil {
			return wrap(fmt.Errorf("item %d: %w", row.Key, err))
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
	return wrap(rows.Err())
}

// CountItems returns the number of baseline items of the pair.
func (s *Store) CountItems(ctx context.Context, pairID string) (int, error) {
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return 0, err
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM items INDEXED BY items_a_id WHERE pair = ?`, pid).Scan(&n); err != nil {
		return 0, wrap(err)
	}
	return n, nil
}

// itemBy returns the item whose side-s column field equals v (the one with
// the lowest Key if there are several), or ErrNoItem.
func (s *Store) itemBy(ctx context.Context, pairID string, side syncengine.Side, field, v string) (syncengine.Item, error) {
	if err := checkSide(side); err != nil {
		return syncengine.Item{}, err
	}
	col := sideCol(side, field)
	q := `SELECT ` + itemCols + ` FROM items INDEXED BY items_` + col + ` WHERE pair = ? AND ` + col + ` = ? ORDER BY key LIMIT 1`
	for it, err := range s.queryItems(ctx, pairID, q, func(pid int64) []any { return []any{pid, v} }) {
		return it, err
	}
	if err := ctx.Err(); err != nil {
		return syncengine.Item{}, err
	}
	return syncengine.Item{}, fmt.Errorf("%w: pair %q side %s %s %q", syncengine.ErrNoItem, pairID, side, field, v)
}

// ItemByID returns the item whose side-s ID is id, or ErrNoItem.
func (s *Store) ItemByID(ctx context.Context, pairID string, side syncengine.Side, id string) (syncengine.Item, error) {
	return s.itemBy(ctx, pairID, side, "id", id)
}

// ItemByPath returns the item whose side-s path is p, or ErrNoItem.
func (s *Store) ItemByPath(ctx context.Context, pairID string, side syncengine.Side, p string) (syncengine.Item, error) {
	return s.itemBy(ctx, pairID, side, "path", p)
}

// prefixRange returns the bounds (exclusive) between which the paths below
// folder prefix lie: "prefix/" < p < "prefix0" ('0' follows '/'). Text
// compares byte-wise, so the range holds exactly the paths that start with
// "prefix/", whatever characters the prefix contains. The root ("") has
// every non-empty path below it.
func prefixRange(prefix string) (lo, hi string, all bool) {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return "", "", true
	}
	return prefix + "/", prefix + "0", false
}

// ItemsUnder streams the items whose side-s path lies below folder prefix
// (not the folder itself), ordered by that path. The prefix "" is the root:
// every item with a non-empty path.
func (s *Store) ItemsUnder(ctx context.Context, pairID string, side syncengine.Side, prefix string) iter.Seq2[syncengine.Item, error] {
	if err := checkSide(side); err != nil {
		return func(yield func(syncengine.Item, error) bool) { yield(syncengine.Item{}, err) }
	}
	col := sideCol(side, "path")
	lo, hi, all := prefixRange(prefix)
	if all {
		return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items INDEXED BY items_`+col+`
			WHERE pair = ? AND `+col+` > '' ORDER BY `+col+`, key`,
			func(pid int64) []any { return []any{pid} })
	}
	return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items INDEXED BY items_`+col+`
		WHERE pair = ? AND `+col+` > ? AND `+col+` < ? ORDER BY `+col+`, key`,
		func(pid int64) []any { return []any{pid, lo, hi} })
}

// itemArgs appends the column values of it after key, in itemCols order.
func itemArgs(it *syncengine.Item, args []any) ([]any, error) {
	rest, err := packRest(it)
	if err != nil {
		return nil, err
	}
	return append(args, it.A.ID, it.A.Path, it.B.ID, it.B.Path, rest), nil
}

// PutItems inserts the items with Key 0 (setting their new Key in the
// slice), replaces those with a Key by Key, then deletes the records with the
// keys in del, in one transaction. Replacing a Key the pair does not have
// fails with ErrNoItem; deleting one is not an error. When PutItems fails
// nothing is written and the Keys in items are left as they were.
func (s *Store) PutItems(ctx context.Context, pairID string, items []syncengine.Item, del []int64) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if len(items) == 0 && len(del) == 0 {
		return ctx.Err()
	}
	for i := range items {
		if items[i].Key < 0 {
			return invalid("item %d has negative Key %d", i, items[i].Key)
		}
	}
	var pid int64
	var inserted []int // indexes of items given a new Key
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if pid, err = s.writePID(ctx, tx, pairID); err != nil {
			return err
		}
		var ins, upd, rm *sql.Stmt
		defer func() {
			for _, st := range []*sql.Stmt{ins, upd, rm} {
				if st != nil {
					st.Close()
				}
			}
		}()
		var lastKey int64 = -1 // the item_key counter, read on the first insert
		args := make([]any, 0, 8)
		for i := range items {
			it := &items[i]
			if err := ctx.Err(); err != nil {
				return err
			}
			if it.Key == 0 {
				if ins == nil {
					if err := tx.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'item_key'`).Scan(&lastKey); err != nil {
						return err
					}
					if ins, err = tx.PrepareContext(ctx, `INSERT INTO items (pair, key, a_id, a_path, b_id, b_path, rest)
						VALUES (?,?,?,?,?,?,?)`); err != nil {
						return err
					}
				}
				if args, err = itemArgs(it, append(args[:0], pid, lastKey+1)); err != nil {
					return fmt.Errorf("item %d: %w", i, err)
				}
				if _, err := ins.ExecContext(ctx, args...); err != nil {
					return err
				}
				lastKey++
				it.Key = lastKey
				inserted = append(inserted, i)
				continue
			}
			if upd == nil {
				if upd, err = tx.PrepareContext(ctx, `UPDATE items SET a_id = ?, a_path = ?, b_id = ?, b_path = ?,
					rest = ? WHERE pair = ? AND key = ?`); err != nil {
					return err
				}
			}
			if args, err = itemArgs(it, args[:0]); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			res, err := upd.ExecContext(ctx, append(args, pid, it.Key)...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return fmt.Errorf("%w: pair %q has no item with Key %d to replace", syncengine.ErrNoItem, pairID, it.Key)
			}
		}
		if lastKey >= 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = ? WHERE name = 'item_key'`, lastKey); err != nil {
				return err
			}
		}
		for _, k := range del {
			if rm == nil {
				if rm, err = tx.PrepareContext(ctx, `DELETE FROM items WHERE pair = ? AND key = ?`); err != nil {
					return err
				}
			}
			if _, err := rm.ExecContext(ctx, pid, k); err != nil {
				return err
			}
		}
		return newBaselineToken(ctx, tx, pid)
	})
	if err != nil {
		for _, i := range inserted {
			items[i].Key = 0
		}
		return err
	}
	s.pids.Store(pairID, pid)
	return nil
}

// MovePrefix rewrites the side-s paths of every item below oldPrefix to lie
// below newPrefix, in one transaction. The folder's own record is left
// alone. The prefix "" (the root) cannot be moved; newPrefix "" moves the
// items to the top level.
func (s *Store) MovePrefix(ctx context.Context, pairID string, side syncengine.Side, oldPrefix, newPrefix string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if err := checkSide(side); err != nil {
		return err
	}
	lo, hi, all := prefixRange(oldPrefix)
	if all {
		return invalid("cannot move the root")
	}
	newPrefix = strings.TrimSuffix(newPrefix, "/")
	newBase := ""
	if newPrefix != "" {
		newBase = newPrefix + "/"
	}
	if newBase == lo {
		return ctx.Err()
	}
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return err
	}
	col := sideCol(side, "path")
	return s.write(ctx, func(tx *sql.Tx) error {
		// Read the subtree first (the write connection cannot read and
		// write at once), then rewrite each record: its path column and
		// the copy of the path in rest.
		rows, err := tx.QueryContext(ctx, `SELECT `+itemCols+` FROM items INDEXED BY items_`+col+`
			WHERE pair = ? AND `+col+` > ? AND `+col+` < ?`, pid, lo, hi)
		if err != nil {
			return err
		}
		var moved []syncengine.Item
		sc := newItemScanner()
		for rows.Next() {
			it, err := sc.scan(rows)
			if err != nil {
				rows.Close()
				return err
			}
			moved = append(moved, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(moved) == 0 {
			return nil
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE items SET `+col+` = ?, rest = ? WHERE pair = ? AND key = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for i := range moved {
			it := &moved[i]
			st := it.Side(side)
			st.Path = newBase + st.Path[len(lo):]
			rest, err := packRest(it)
			if err != nil {
				return err
			}
			if _, err := upd.ExecContext(ctx, st.Path, rest, pid, it.Key); err != nil {
				return err
			}
		}
		return newBaselineToken(ctx, tx, pid)
	})
}

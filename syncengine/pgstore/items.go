package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Each side's hashes are one bytea (NULL when there are none): for each
// hash, in kind order, the kind and then the value, each as a uvarint
// length and its bytes.

// packHashes returns the stored form of h, nil when h is empty.
func packHashes(h storage.Hashes) []byte {
	if len(h) == 0 {
		return nil
	}
	kinds := make([]storage.HashKind, 0, len(h))
	for k := range h {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var out []byte
	for _, k := range kinds {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
		out = binary.AppendUvarint(out, uint64(len(h[k])))
		out = append(out, h[k]...)
	}
	return out
}

// errCorrupt reports a hashes column that cannot be decoded.
var errCorrupt = errors.New("pgstore: corrupt hashes record")

// unpackHashes decodes the stored form of hashes (nil for none).
func unpackHashes(b []byte) (storage.Hashes, error) {
	if len(b) == 0 {
		return nil, nil
	}
	h := storage.Hashes{}
	for len(b) > 0 {
		var kv [2]string
		for i := range kv {
			n, w := binary.Uvarint(b)
			if w <= 0 || n > uint64(len(b)-w) {
				return nil, errCorrupt
			}
			kv[i], b = string(b[w:w+int(n)]), b[w+int(n):]
		}
		h[storage.HashKind(kv[0])] = kv[1]
	}
	return h, nil
}

// itemCols are the columns every item query reads, in itemScanner order.
const itemCols = `key, is_dir, a_id, a_parent_id, a_path, a_version, a_size, a_mtime, a_hashes,
	b_id, b_parent_id, b_path, b_version, b_size, b_mtime, b_hashes`

// itemScanner scans item rows into reused destinations.
type itemScanner struct {
	it     syncengine.Item
	mtime  [2]int64
	hashes [2][]byte
	dest   []any
}

// newItemScanner returns a scanner whose destinations are bound once.
func newItemScanner() *itemScanner {
	sc := &itemScanner{}
	sc.dest = []any{&sc.it.Key, &sc.it.IsDir}
	for i, st := range [2]*syncengine.SideState{&sc.it.A, &sc.it.B} {
		sc.dest = append(sc.dest, str(&st.ID), str(&st.ParentID), str(&st.Path), str(&st.Version),
			&st.Size, &sc.mtime[i], (*pgtype.DriverBytes)(&sc.hashes[i]))
	}
	return sc
}

// scan reads the current row of rows into an Item.
func (sc *itemScanner) scan(rows pgx.Rows) (syncengine.Item, error) {
	sc.hashes = [2][]byte{}
	if err := rows.Scan(sc.dest...); err != nil {
		return syncengine.Item{}, err
	}
	it := sc.it
	for i, st := range [2]*syncengine.SideState{&it.A, &it.B} {
		st.ModTime = fromNanos(sc.mtime[i])
		h, err := unpackHashes(sc.hashes[i])
		if err != nil {
			return syncengine.Item{}, fmt.Errorf("item %d: %w", it.Key, err)
		}
		st.Hashes = h
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
		rows, err := s.pool.Query(ctx, query, args(pid)...)
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
// iteration holds a pooled connection until it ends.
func (s *Store) Items(ctx context.Context, pairID string) iter.Seq2[syncengine.Item, error] {
	return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items WHERE pair = $1 ORDER BY key`,
		func(pid int64) []any { return []any{pid} })
}

// ScanBaseline calls fn with a lean view of every baseline item of the
// pair, ordered by Key. The row's byte slices point into the connection's
// read buffer (pgtype.DriverBytes): a row costs no allocation of its own.
// The scan holds a pooled connection until it returns.
func (s *Store) ScanBaseline(ctx context.Context, pairID string, fn func(*syncengine.BaselineRow) error) error {
	pid, ok, err := s.readPID(ctx, pairID)
	if err != nil || !ok {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT key, is_dir, a_id, a_parent_id, a_path, a_version, a_size,
		b_id, b_parent_id, b_path, b_version, b_size FROM items WHERE pair = $1 ORDER BY key`, pid)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	var row syncengine.BaselineRow
	dest := []any{&row.Key, &row.IsDir}
	for _, sd := range [2]*syncengine.BaselineSide{&row.A, &row.B} {
		dest = append(dest, (*pgtype.DriverBytes)(&sd.ID), (*pgtype.DriverBytes)(&sd.ParentID),
			(*pgtype.DriverBytes)(&sd.Path), (*pgtype.DriverBytes)(&sd.Version), &sd.Size)
	}
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
	ctx, cancel := s.bounded(ctx)
	defer cancel()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM items WHERE pair = $1`, pid).Scan(&n); err != nil {
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
	q := `SELECT ` + itemCols + ` FROM items WHERE pair = $1 AND ` + col + ` = $2 ORDER BY key LIMIT 1`
	for it, err := range s.queryItems(ctx, pairID, q, func(pid int64) []any { return []any{pid, bstr(v)} }) {
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

// below returns the bounds (exclusive) between which the paths below
// folder prefix lie: "prefix/" < p < "prefix0" ('0' follows '/'). bytea
// compares byte-wise, so the range holds exactly the paths that start with
// "prefix/". The root ("") has every non-empty path below it.
func below(prefix string) (lo, hi string, root bool) {
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
	lo, hi, root := below(prefix)
	if root {
		return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items
			WHERE pair = $1 AND `+col+` > ''::bytea ORDER BY `+col+`, key`,
			func(pid int64) []any { return []any{pid} })
	}
	return s.queryItems(ctx, pairID, `SELECT `+itemCols+` FROM items
		WHERE pair = $1 AND `+col+` > $2 AND `+col+` < $3 ORDER BY `+col+`, key`,
		func(pid int64) []any { return []any{pid, bstr(lo), bstr(hi)} })
}

// columns holds items column-wise, for unnest().
type columns struct {
	key   []int64
	isDir []bool
	side  [2]struct {
		id, parent, path, version, hashes [][]byte
		size, mtime                       []int64
	}
}

// add appends it to the columns.
func (c *columns) add(it *syncengine.Item) error {
	c.key = append(c.key, it.Key)
	c.isDir = append(c.isDir, it.IsDir)
	for i, st := range [2]*syncengine.SideState{&it.A, &it.B} {
		mt, err := nanos(st.ModTime, "side "+syncengine.Side(i).String()+" ModTime")
		if err != nil {
			return err
		}
		sc := &c.side[i]
		sc.id = append(sc.id, []byte(st.ID))
		sc.parent = append(sc.parent, []byte(st.ParentID))
		sc.path = append(sc.path, []byte(st.Path))
		sc.version = append(sc.version, []byte(st.Version))
		sc.hashes = append(sc.hashes, packHashes(st.Hashes))
		sc.size = append(sc.size, st.Size)
		sc.mtime = append(sc.mtime, mt)
	}
	return nil
}

// args returns the columns as statement arguments $2 to $17.
func (c *columns) args(pid int64) []any {
	a := []any{pid, c.key, c.isDir}
	for i := range c.side {
		sc := &c.side[i]
		a = append(a, sc.id, sc.parent, sc.path, sc.version, sc.size, sc.mtime, sc.hashes)
	}
	return a
}

// unnestItems is the FROM clause that turns the arguments of columns.args
// into rows named u.
const unnestItems = `unnest($2::bigint[], $3::boolean[],
	$4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bigint[], $10::bytea[],
	$11::bytea[], $12::bytea[], $13::bytea[], $14::bytea[], $15::bigint[], $16::bigint[], $17::bytea[])
	AS u(key, is_dir, a_id, a_parent_id, a_path, a_version, a_size, a_mtime, a_hashes,
	b_id, b_parent_id, b_path, b_version, b_size, b_mtime, b_hashes)`

// PutItems inserts the items with Key 0 (setting their new Key in the
// slice), replaces those with a Key by Key, then deletes the records with the
// keys in del, in one transaction: other readers see all of it or none.
// New Keys come from a sequence, so concurrent writers never share one.
// Replacing a Key the pair does not have fails with ErrNoItem; deleting one
// is not an error. When PutItems fails nothing is written and the Keys in
// items are left as they were. Whatever the batch size, it costs a fixed
// number of statements (the rows travel as arrays).
func (s *Store) PutItems(ctx context.Context, pairID string, items []syncengine.Item, del []int64) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if len(items) == 0 && len(del) == 0 {
		return ctx.Err()
	}
	var ins, upd columns
	var newIdx []int
	last := map[int64]int{} // Key → index of its last replacement
	for i := range items {
		switch k := items[i].Key; {
		case k < 0:
			return invalid("item %d has negative Key %d", i, k)
		case k == 0:
			newIdx = append(newIdx, i)
		default:
			last[k] = i
		}
	}
	for i := range items {
		it := &items[i]
		var err error
		switch {
		case it.Key == 0:
			err = ins.add(it)
		case last[it.Key] == i: // an earlier replacement of the same Key is overwritten by this one
			err = upd.add(it)
		default:
			err = (&columns{}).add(it) // still validated
		}
		if err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
	}
	var pid int64
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if pid, err = s.writePID(ctx, tx, pairID); err != nil {
			return err
		}
		if len(upd.key) > 0 {
			tag, err := tx.Exec(ctx, `UPDATE items SET is_dir = u.is_dir,
				a_id = u.a_id, a_parent_id = u.a_parent_id, a_path = u.a_path, a_version = u.a_version,
				a_size = u.a_size, a_mtime = u.a_mtime, a_hashes = u.a_hashes,
				b_id = u.b_id, b_parent_id = u.b_parent_id, b_path = u.b_path, b_version = u.b_version,
				b_size = u.b_size, b_mtime = u.b_mtime, b_hashes = u.b_hashes
				FROM `+unnestItems+` WHERE items.pair = $1 AND items.key = u.key`, upd.args(pid)...)
			if err != nil {
				return err
			}
			if n := int(tag.RowsAffected()); n != len(upd.key) {
				return fmt.Errorf("%w: pair %q has no item with %d of the Keys to replace", syncengine.ErrNoItem, pairID, len(upd.key)-n)
			}
		}
		if len(newIdx) > 0 {
			keys := make([]int64, 0, len(newIdx))
			rows, err := tx.Query(ctx, `SELECT nextval('item_key') FROM generate_series(1, $1)`, len(newIdx))
			if err != nil {
				return err
			}
			if keys, err = pgx.AppendRows(keys, rows, pgx.RowTo[int64]); err != nil {
				return err
			}
			slices.Sort(keys) // Keys grow in the order items were given
			copy(ins.key, keys)
			if _, err := tx.Exec(ctx, `INSERT INTO items (pair, key, is_dir,
				a_id, a_parent_id, a_path, a_version, a_size, a_mtime, a_hashes,
				b_id, b_parent_id, b_path, b_version, b_size, b_mtime, b_hashes)
				SELECT $1, u.* FROM `+unnestItems, ins.args(pid)...); err != nil {
				return err
			}
		}
		if len(del) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM items WHERE pair = $1 AND key = ANY($2)`, pid, del); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for j, i := range newIdx {
		items[i].Key = ins.key[j]
	}
	s.pids.Store(pairID, pid)
	return nil
}

// MovePrefix rewrites the side-s paths of every item below oldPrefix to lie
// below newPrefix, in one statement on the server (atomic, and no
// concurrent write to those items is lost). The folder's own record is
// left alone. The prefix "" (the root) cannot be moved; newPrefix "" moves
// the items to the top level.
func (s *Store) MovePrefix(ctx context.Context, pairID string, side syncengine.Side, oldPrefix, newPrefix string) error {
	if err := checkPair(pairID); err != nil {
		return err
	}
	if err := checkSide(side); err != nil {
		return err
	}
	lo, hi, root := below(oldPrefix)
	if root {
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
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// substring of bytea counts bytes from 1.
		_, err := tx.Exec(ctx, `UPDATE items SET `+col+` = $2::bytea || substring(`+col+` from $3)
			WHERE pair = $1 AND `+col+` > $4 AND `+col+` < $5`,
			pid, bstr(newBase), len(lo)+1, bstr(lo), bstr(hi))
		return err
	})
}

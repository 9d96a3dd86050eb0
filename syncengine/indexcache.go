package syncengine

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
)

// minCachedIndexItems is the smallest baseline whose compact index is kept
// in a BaselineIndexCache between runs: below it, a scan costs a few
// milliseconds and keeping the index would cost a write per changed run.
const minCachedIndexItems = 50_000

// cachedIndexMin is the smallest baseline whose index is kept
// (minCachedIndexItems; tests lower it to exercise the cache on small
// baselines).
var cachedIndexMin atomic.Int64

func init() { cachedIndexMin.Store(minCachedIndexItems) }

// cachedIndexFor reports whether to keep the compact index of a baseline
// of size items in the store's cache.
func cachedIndexFor(size int) bool { return int64(size) >= cachedIndexMin.Load() }

// The saved compact index is, in little-endian order: indexMagic, the
// format (indexFormat), the number of records, hashProbe of the build
// that wrote it, then per record its key and, per side, its fingerprint,
// ID hash and path hash, and last the CRC-32C of everything before it.
const (
	indexMagic  = "PSIX"
	indexFormat = 1
	indexHeader = 4 + 4 + 8 + 8
	indexRecord = 7 * 8
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// errIndexMismatch is why a saved index is not used: it was written by
// another format or other hash functions, for another number of items,
// or it is damaged.
var errIndexMismatch = errors.New("syncengine: the saved baseline index does not match")

// hashProbe is a value of the hash functions the compact index is made
// of, on fixed inputs: an index saved by a build whose fingerprint,
// idHash or pathHash differ from this build's has another probe and is
// not used.
func hashProbe() uint64 {
	side := BaselineSide{ID: []byte("id"), ParentID: []byte("parent"), Path: []byte("dir/name"), Version: []byte("v1"), Size: 1 << 40}
	h := rowFP(&side, false)
	h = h*31 + rowFP(&BaselineSide{Path: []byte("top")}, true)
	h = h*31 + idHash("id")
	h = h*31 + pathHash("dir/name")
	return h*31 + childPathHash(pathHash("dir"), "name")
}

// writeIndex writes recs in the format of the saved index.
func writeIndex(w io.Writer, recs []compactRec) error {
	sum := crc32.New(crc32c)
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 1<<16)
	var buf [indexRecord]byte
	copy(buf[:4], indexMagic)
	binary.LittleEndian.PutUint32(buf[4:8], indexFormat)
	binary.LittleEndian.PutUint64(buf[8:16], uint64(len(recs)))
	binary.LittleEndian.PutUint64(buf[16:24], hashProbe())
	if _, err := bw.Write(buf[:indexHeader]); err != nil {
		return err
	}
	for i := range recs {
		r := &recs[i]
		binary.LittleEndian.PutUint64(buf[0:], uint64(r.key))
		for s := range 2 {
			binary.LittleEndian.PutUint64(buf[8+24*s:], r.fp[s])
			binary.LittleEndian.PutUint64(buf[16+24*s:], r.id[s])
			binary.LittleEndian.PutUint64(buf[24+24*s:], r.path[s])
		}
		if _, err := bw.Write(buf[:]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.LittleEndian.AppendUint32(nil, sum.Sum32()))
	return err
}

// readIndex reads a saved index into a new slice, or returns an error
// wrapping errIndexMismatch when the data is not such an index (or the
// reader's error). The slice is allocated for the number of records the
// header gives only when the reader's length (an io.Seeker) confirms it;
// otherwise it grows as records arrive, so that a damaged header cannot
// make it allocate more than the data holds.
func readIndex(r io.Reader) ([]compactRec, error) {
	size, sized := remaining(r)
	sum := crc32.New(crc32c)
	br := bufio.NewReaderSize(r, 1<<16)
	var head [indexHeader]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return nil, mismatchOr(err)
	}
	_, _ = sum.Write(head[:])
	count := binary.LittleEndian.Uint64(head[8:16])
	switch {
	case string(head[:4]) != indexMagic:
		return nil, fmt.Errorf("%w: not an index", errIndexMismatch)
	case binary.LittleEndian.Uint32(head[4:8]) != indexFormat:
		return nil, fmt.Errorf("%w: format %d", errIndexMismatch, binary.LittleEndian.Uint32(head[4:8]))
	case binary.LittleEndian.Uint64(head[16:24]) != hashProbe():
		return nil, fmt.Errorf("%w: written with other hash functions", errIndexMismatch)
	case count > math.MaxInt32:
		return nil, fmt.Errorf("%w: %d records", errIndexMismatch, count)
	}
	var recs []compactRec
	if sized {
		if size != indexHeader+int64(count)*indexRecord+4 {
			return nil, fmt.Errorf("%w: wrong length", errIndexMismatch)
		}
		recs = make([]compactRec, 0, count)
	}
	chunk := make([]byte, 1024*indexRecord)
	for uint64(len(recs)) < count {
		n := int(min(count-uint64(len(recs)), 1024))
		b := chunk[:n*indexRecord]
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, mismatchOr(err)
		}
		_, _ = sum.Write(b)
		for i := range n {
			rb := b[i*indexRecord:]
			var rec compactRec
			rec.key = int64(binary.LittleEndian.Uint64(rb))
			for s := range 2 {
				rec.fp[s] = binary.LittleEndian.Uint64(rb[8+24*s:])
				rec.id[s] = binary.LittleEndian.Uint64(rb[16+24*s:])
				rec.path[s] = binary.LittleEndian.Uint64(rb[24+24*s:])
			}
			if len(recs) > 0 && rec.key <= recs[len(recs)-1].key {
				return nil, fmt.Errorf("%w: keys out of order", errIndexMismatch)
			}
			recs = append(recs, rec)
		}
	}
	var tail [5]byte
	n, err := io.ReadFull(br, tail[:])
	if err != io.ErrUnexpectedEOF || n != 4 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: wrong length", errIndexMismatch)
		}
		return nil, mismatchOr(err)
	}
	if binary.LittleEndian.Uint32(tail[:4]) != sum.Sum32() {
		return nil, fmt.Errorf("%w: checksum", errIndexMismatch)
	}
	return recs, nil
}

// remaining returns how many bytes r holds from its current offset, when
// r is an io.Seeker (a file) that can tell.
func remaining(r io.Reader) (int64, bool) {
	sk, ok := r.(io.Seeker)
	if !ok {
		return 0, false
	}
	cur, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, false
	}
	end, err := sk.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, false
	}
	if _, err := sk.Seek(cur, io.SeekStart); err != nil {
		return 0, false
	}
	return end - cur, true
}

// mismatchOr turns a short read into errIndexMismatch and returns other
// read errors as they are.
func mismatchOr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: cut short", errIndexMismatch)
	}
	return err
}

// loadIndex reads the compact index of the baseline's current state from
// the store's cache into d.recs and reports whether it did. An index
// that is missing, stale or unreadable is not an error: the caller scans
// the baseline instead.
func (d *detector) loadIndex(ctx context.Context, c BaselineIndexCache) bool {
	r, ok, err := c.LoadBaselineIndex(ctx, d.p.ID)
	if err != nil || !ok {
		if err != nil {
			d.log().WarnContext(ctx, "syncengine: reading the saved baseline index; scanning the baseline", "error", err)
		}
		return false
	}
	recs, err := readIndex(r)
	if cerr := r.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		d.log().WarnContext(ctx, "syncengine: the saved baseline index is not used; scanning the baseline", "error", err)
		return false
	}
	d.recs = recs
	return true
}

// saveIndex keeps d.recs, the compact index of the baseline state token
// (read before the scan that built it), in the store's cache, if the
// baseline is still in that state. A failure is logged, not returned:
// the next full listing scans the baseline again.
func (d *detector) saveIndex(ctx context.Context, c BaselineIndexCache, token uint64) {
	now, err := c.BaselineToken(ctx, d.p.ID)
	if err == nil && (now != token || token == 0) {
		return // changed during the scan, or not cacheable
	}
	if err == nil {
		err = c.SaveBaselineIndex(ctx, d.p.ID, token, func(w io.Writer) error { return writeIndex(w, d.recs) })
	}
	if err != nil {
		d.log().WarnContext(ctx, "syncengine: saving the baseline index", "error", err)
	}
}

// maskIndex clears the ID and path hashes of the sides not listed in full
// (a cached index holds them for both sides), as a scan for this listing
// would have left them.
func (d *detector) maskIndex(full [2]bool) {
	for s := range 2 {
		if full[s] {
			continue
		}
		for i := range d.recs {
			d.recs[i].id[s], d.recs[i].path[s] = 0, 0
		}
	}
}

// log is the detector's logger (a discarding one when none was given).
func (d *detector) log() *slog.Logger {
	if d.opt.Log != nil {
		return d.opt.Log
	}
	return slog.New(slog.DiscardHandler)
}

package syncengine

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/procoresync/procoresync/storage"
)

// compareContent decides whether entry a on storage sa and entry b on
// storage sb hold the same bytes. Two folders are equal, a folder and a
// file are not. For two files, in this order:
//
//   - different sizes: different (a size of -1, unknown, differs from
//     none);
//   - a hash both entries carry (storage.Hashes.Equal): its verdict;
//   - the first kind of storage.PreferredHashes that both sides have or
//     can compute (storage.Hasher; a side computes a kind only where the
//     other has it or can compute it too): its verdict. A Hasher that
//     does not support a kind (storage.ErrUnsupported) is passed over;
//   - otherwise, if read is true, both files are read and compared byte by
//     byte; if read is false, the verdict is verdictUnknown.
//
// Any other error (computing a hash, opening or reading a file) ends the
// comparison with that error and verdictUnknown: the caller decides what
// not knowing means (detection plans a conflict, which keeps both; the
// applier does not act on it).
func compareContent(ctx context.Context, sa storage.Storage, a storage.Entry, sb storage.Storage, b storage.Entry, read bool) (verdict, error) {
	if a.IsDir || b.IsDir {
		return verdictOf(a.IsDir == b.IsDir), nil
	}
	if sizesDiffer(a.Size, b.Size) {
		return verdictDifferent, nil
	}
	if eq, ok := a.Hashes.Equal(b.Hashes); ok {
		return verdictOf(eq), nil
	}
	ha, okA := sa.(storage.Hasher)
	hb, okB := sb.(storage.Hasher)
	for _, k := range storage.PreferredHashes() {
		va, vb := a.Hashes[k], b.Hashes[k]
		var err error
		if va == "" && okA && (vb != "" || okB) {
			if va, err = computeHash(ctx, ha, a, k); err != nil {
				return verdictUnknown, err
			}
		}
		if va != "" && vb == "" && okB {
			if vb, err = computeHash(ctx, hb, b, k); err != nil {
				return verdictUnknown, err
			}
		}
		if va != "" && vb != "" {
			return verdictOf(va == vb), nil
		}
	}
	if !read {
		return verdictUnknown, nil
	}
	ra, err := sa.Open(ctx, a)
	if err != nil {
		return verdictUnknown, err
	}
	defer ra.Close()
	rb, err := sb.Open(ctx, b)
	if err != nil {
		return verdictUnknown, err
	}
	defer rb.Close()
	eq, err := readersEqual(ra, rb)
	if err != nil {
		return verdictUnknown, err
	}
	return verdictOf(eq), nil
}

// sizesDiffer reports whether two file sizes are both known and differ. A
// source may list a file's size as -1, unknown (storage.Entry.Size).
func sizesDiffer(a, b int64) bool { return a >= 0 && b >= 0 && a != b }

// computeHash returns the kind-k hash of e that h computes, or "" when h
// does not support kind k.
func computeHash(ctx context.Context, h storage.Hasher, e storage.Entry, k storage.HashKind) (string, error) {
	v, err := h.Hash(ctx, e, k)
	if errors.Is(err, storage.ErrUnsupported) {
		return "", nil
	}
	return v, err
}

// verdictOf returns verdictEqual for true, verdictDifferent for false.
func verdictOf(equal bool) verdict {
	if equal {
		return verdictEqual
	}
	return verdictDifferent
}

// sameContent reports whether entry a on storage sa and entry b on storage
// sb hold the same bytes, reading both when no hash decides (see
// compareContent).
func sameContent(ctx context.Context, sa storage.Storage, a storage.Entry, sb storage.Storage, b storage.Entry) (bool, error) {
	v, err := compareContent(ctx, sa, a, sb, b, true)
	return v == verdictEqual, err
}

// readersEqual compares two streams in bounded memory.
func readersEqual(a, b io.Reader) (bool, error) {
	const chunk = 32 << 10
	ba, bb := make([]byte, chunk), make([]byte, chunk)
	for {
		na, ea := io.ReadFull(a, ba)
		nb, eb := io.ReadFull(b, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		endA := errors.Is(ea, io.EOF) || errors.Is(ea, io.ErrUnexpectedEOF)
		endB := errors.Is(eb, io.EOF) || errors.Is(eb, io.ErrUnexpectedEOF)
		if ea != nil && !endA {
			return false, ea
		}
		if eb != nil && !endB {
			return false, eb
		}
		if endA || endB {
			return endA && endB, nil
		}
	}
}

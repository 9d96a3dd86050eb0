package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// leanSide is a BaselineSide with its bytes copied into strings, so that it
// outlives the ScanBaseline callback and compares with require.Equal.
type leanSide struct {
	ID, ParentID, Path, Version string
	Size                        int64
}

// leanItem is a copied BaselineRow.
type leanItem struct {
	Key   int64
	IsDir bool
	A, B  leanSide
}

// leanOf returns what ScanBaseline must report of it.
func leanOf(it syncengine.Item) leanItem {
	side := func(s syncengine.SideState) leanSide {
		return leanSide{s.ID, s.ParentID, s.Path, s.Version, s.Size}
	}
	return leanItem{it.Key, it.IsDir, side(it.A), side(it.B)}
}

// copyRow copies r out of the store's buffers.
func copyRow(r *syncengine.BaselineRow) leanItem {
	side := func(s *syncengine.BaselineSide) leanSide {
		return leanSide{string(s.ID), string(s.ParentID), string(s.Path), string(s.Version), s.Size}
	}
	return leanItem{r.Key, r.IsDir, side(&r.A), side(&r.B)}
}

// scan collects the rows of ScanBaseline, failing the test on an error.
func scan(t *testing.T, s syncengine.MetadataStore, pair string) []leanItem {
	t.Helper()
	var out []leanItem
	require.NoError(t, s.ScanBaseline(context.Background(), pair, func(r *syncengine.BaselineRow) error {
		out = append(out, copyRow(r))
		return nil
	}))
	return out
}

func testScanBaseline(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	require.Empty(t, scan(t, s, "p"), "a pair the store has not seen has no baseline")

	// Files and folders, in several batches, with odd and empty strings,
	// large sizes, no hashes and many hashes; another pair alongside.
	var items []syncengine.Item
	for i := range 300 {
		it := file(fmt.Sprintf("d%d/f%03d", i%7, i))
		it.A.Size = int64(i) << 33
		it.B.Version = fmt.Sprintf("etag-%d", i)
		items = append(items, it)
	}
	odd := file("naïve/名前 \x00 with nul")
	odd.A.Hashes = storage.Hashes{storage.HashMD5: "d41d8cd98f00b204e9800998ecf8427e", storage.HashSHA1: "NOT-HEX",
		"custom": "value", storage.HashDropbox: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
	odd.B = syncengine.SideState{Size: -1}
	items = append(items, dir("d0"), dir("d1"), odd, syncengine.Item{})
	items = put(t, s, "p", items...)
	put(t, s, "q", file("d0/f000"), dir("elsewhere"))

	// Replace and delete some.
	items[3].A.Path, items[3].B.ParentID = "moved/f003", "new-parent"
	require.NoError(t, s.PutItems(ctx, "p", []syncengine.Item{items[3]}, []int64{items[10].Key, items[11].Key}))
	items = append(items[:10], items[12:]...)

	var want []leanItem
	for _, it := range collect(t, s.Items(ctx, "p")) {
		want = append(want, leanOf(it))
	}
	require.Len(t, want, len(items))
	got := scan(t, s, "p")
	require.Equal(t, want, got, "ScanBaseline must report what Items does, in Key order")
	byKey := map[int64]leanItem{}
	for _, it := range items {
		byKey[it.Key] = leanOf(it)
	}
	for _, g := range got {
		require.Equal(t, byKey[g.Key], g)
	}
	require.Len(t, scan(t, s, "q"), 2)

	// An error from fn ends the scan and comes back as it is.
	stop := errors.New("stop here")
	calls := 0
	err := s.ScanBaseline(ctx, "p", func(*syncengine.BaselineRow) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.Equal(t, stop, err)
	require.Equal(t, 2, calls)

	// Reading and writing from the callback.
	n := 0
	require.NoError(t, s.ScanBaseline(ctx, "p", func(r *syncengine.BaselineRow) error {
		it, err := s.ItemByID(ctx, "p", syncengine.SideA, string(r.A.ID))
		if err != nil || it.Key != r.Key {
			return fmt.Errorf("ItemByID(%q) = %d, %v", r.A.ID, it.Key, err)
		}
		n++
		if n == 1 {
			it.B.Version = "touched"
			return s.PutItems(ctx, "p", []syncengine.Item{it}, nil)
		}
		return nil
	}))
	require.Equal(t, len(items), n)

	// Cancelling during the scan ends it at the next row.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls = 0
	err = s.ScanBaseline(cctx, "p", func(*syncengine.BaselineRow) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 3, calls, "the scan must end at the row after the cancellation")
}

// testScanBaselineRange checks the optional BaselineRangeScanner: the
// bounds of the keys, and scans of key ranges that together report what
// ScanBaseline does, run one after the other and all at once.
func testScanBaselineRange(t *testing.T, s syncengine.MetadataStore) {
	rs, ok := s.(syncengine.BaselineRangeScanner)
	if !ok {
		t.Skip("the store does not implement syncengine.BaselineRangeScanner (optional)")
	}
	ctx := context.Background()
	_, _, ok, err := rs.BaselineKeys(ctx, "p")
	require.NoError(t, err)
	require.False(t, ok, "a pair the store has not seen has no keys")
	require.NoError(t, rs.ScanBaselineRange(ctx, "p", math.MinInt64, math.MaxInt64, func(*syncengine.BaselineRow) error {
		return errors.New("a pair the store has not seen has no rows")
	}))

	var items []syncengine.Item
	for i := range 200 {
		items = append(items, file(fmt.Sprintf("d%d/f%03d", i%5, i)))
	}
	items = put(t, s, "p", items...)
	put(t, s, "q", file("other"), dir("elsewhere"))
	// A hole in the keys.
	require.NoError(t, s.PutItems(ctx, "p", nil, []int64{items[50].Key, items[51].Key}))
	all := scan(t, s, "p")
	require.Len(t, all, 198)

	lo, hi, ok, err := rs.BaselineKeys(ctx, "p")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, all[0].Key, lo)
	require.Equal(t, all[len(all)-1].Key, hi)

	rangeScan := func(ctx context.Context, from, to int64) ([]leanItem, error) {
		var out []leanItem
		err := rs.ScanBaselineRange(ctx, "p", from, to, func(r *syncengine.BaselineRow) error {
			out = append(out, copyRow(r))
			return nil
		})
		return out, err
	}
	cases := []struct {
		name     string
		from, to int64
		want     []leanItem
	}{
		{"everything", math.MinInt64, math.MaxInt64, all},
		{"the bounds of the keys", lo, hi, all},
		{"one key", all[7].Key, all[7].Key, all[7:8]},
		{"bounds inclusive", all[10].Key, all[20].Key, all[10:21]},
		{"across the hole", items[49].Key, items[52].Key, []leanItem{leanOf(items[49]), leanOf(items[52])}},
		{"inside the hole", items[50].Key, items[51].Key, nil},
		{"empty: from after to", all[20].Key, all[10].Key, nil},
		{"above the highest", hi + 1, math.MaxInt64, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rangeScan(ctx, tc.from, tc.to)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	// Three ranges scanned at once add up to the whole baseline, in order.
	cuts := []int64{math.MinInt64, all[60].Key, all[130].Key, math.MaxInt64}
	parts := make([][]leanItem, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			to := cuts[i+1] - 1
			if i == len(parts)-1 {
				to = math.MaxInt64
			}
			parts[i], errs[i] = rangeScan(ctx, cuts[i], to)
		})
	}
	wg.Wait()
	var joined []leanItem
	for i := range parts {
		require.NoError(t, errs[i])
		joined = append(joined, parts[i]...)
	}
	require.Equal(t, all, joined)

	// An error from fn ends the scan and comes back as it is; a
	// cancellation ends it at the next row.
	stop := errors.New("stop here")
	calls := 0
	err = rs.ScanBaselineRange(ctx, "p", lo, hi, func(*syncengine.BaselineRow) error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	})
	require.Equal(t, stop, err)
	require.Equal(t, 2, calls)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls = 0
	err = rs.ScanBaselineRange(cctx, "p", lo, hi, func(*syncengine.BaselineRow) error {
		if calls++; calls == 3 {
			cancel()
		}
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 3, calls, "the scan must end at the row after the cancellation")
	_, _, _, err = rs.BaselineKeys(cctx, "p")
	require.ErrorIs(t, err, context.Canceled)
}

package storetest

import (
	"context"
	"errors"
	"fmt"
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

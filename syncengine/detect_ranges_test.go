package syncengine_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	se "github.com/procoresync/procoresync/syncengine"
)

// rangeStore wraps a BaselineRangeScanner store, failing or cancelling
// the scan of one range when told to, and counting the range scans.
type rangeStore struct {
	se.MetadataStore
	rs      se.BaselineRangeScanner
	failAt  int // the range (0-based, in key order) whose scan fails with errRange after its first row
	cancel  context.CancelFunc
	scanned chan [2]int64
}

var errRange = errors.New("range scan failed")

func (s *rangeStore) BaselineKeys(ctx context.Context, pairID string) (int64, int64, bool, error) {
	return s.rs.BaselineKeys(ctx, pairID)
}

func (s *rangeStore) ScanBaselineRange(ctx context.Context, pairID string, from, to int64, fn func(*se.BaselineRow) error) error {
	s.scanned <- [2]int64{from, to}
	first := from == math.MinInt64
	return s.rs.ScanBaselineRange(ctx, pairID, from, to, func(r *se.BaselineRow) error {
		if err := fn(r); err != nil {
			return err
		}
		switch {
		case s.failAt == 1 && !first:
			return errRange
		case s.cancel != nil && !first:
			s.cancel()
		}
		return nil
	})
}

// rangeFixture is a synced pair of 400 files in 8 folders, then changed
// on both sides: edits, deletions, creations and a move.
func rangeFixture(t *testing.T) *fixture {
	f := newFixture(t)
	for d := range 8 {
		for i := range 50 {
			p := fmt.Sprintf("dir-%d/f-%02d.txt", d, i)
			write(t, f.a, p, p)
			write(t, f.b, p, p)
		}
	}
	f.linkAll(t)
	write(t, f.a, "dir-0/f-01.txt", "edited on A")
	write(t, f.b, "dir-7/f-49.txt", "edited on B")
	ctx := context.Background()
	stat := func(s interface {
		Stat(context.Context, string) (storage.Entry, error)
	}, p string) storage.Entry {
		e, err := s.Stat(ctx, p)
		require.NoError(t, err)
		return e
	}
	require.NoError(t, f.a.Delete(ctx, stat(f.a, "dir-3/f-10.txt")))
	require.NoError(t, f.b.Delete(ctx, stat(f.b, "dir-6/f-20.txt")))
	write(t, f.a, "dir-5/new-on-a.txt", "new")
	write(t, f.b, "new-on-b.txt", "new")
	_, err := f.b.Move(ctx, stat(f.b, "dir-4/f-30.txt"), stat(f.b, "dir-1"), "moved.txt")
	require.NoError(t, err)
	return f
}

// TestDetectBaselineRanges checks that a baseline read in ranges of keys
// at once gives Detect the same input, and the same plan, as one scan.
func TestDetectBaselineRanges(t *testing.T) {
	f := rangeFixture(t)
	opt := se.DetectOptions{Now: now, Full: true}
	ctx := context.Background()
	// plainStore (see stoppolicy_test.go) hides BaselineRangeScanner:
	// Detect reads the baseline with one ScanBaseline.
	wantIn, wantNext, err := se.Detect(ctx, f.p, plainStore{f.store}, f.ps, opt)
	require.NoError(t, err)
	want := se.BuildPlan(wantIn)
	require.NotEmpty(t, want.Actions)
	for _, n := range []int{2, 3, 4} {
		t.Run(fmt.Sprint(n, " ranges"), func(t *testing.T) {
			defer se.SetScanRanges(n)()
			rs := &rangeStore{MetadataStore: f.store, rs: f.store, failAt: -1, scanned: make(chan [2]int64, n)}
			in, next, err := se.Detect(ctx, f.p, rs, f.ps, opt)
			require.NoError(t, err)
			require.Len(t, rs.scanned, n, "the baseline must be read in %d ranges", n)
			var ranges [][2]int64
			for range n {
				ranges = append(ranges, <-rs.scanned)
			}
			slices.SortFunc(ranges, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
			require.Equal(t, int64(math.MinInt64), ranges[0][0], "the first range must start at the lowest key")
			require.Equal(t, int64(math.MaxInt64), ranges[n-1][1], "the last range must end at the highest key")
			for i := 1; i < n; i++ {
				require.Equal(t, ranges[i-1][1]+1, ranges[i][0], "the ranges must follow each other")
			}
			require.Equal(t, wantIn, in)
			require.Equal(t, wantNext, next)
			require.Equal(t, want, se.BuildPlan(in))
		})
	}
}

// TestDetectBaselineRangeErrors checks that a range scan that fails, or a
// cancellation during the scans, ends Detect with that error.
func TestDetectBaselineRangeErrors(t *testing.T) {
	f := rangeFixture(t)
	defer se.SetScanRanges(2)()
	opt := se.DetectOptions{Now: now, Full: true}

	rs := &rangeStore{MetadataStore: f.store, rs: f.store, failAt: 1, scanned: make(chan [2]int64, 2)}
	_, _, err := se.Detect(context.Background(), f.p, rs, f.ps, opt)
	require.ErrorIs(t, err, errRange)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs = &rangeStore{MetadataStore: f.store, rs: f.store, failAt: -1, cancel: cancel, scanned: make(chan [2]int64, 2)}
	_, _, err = se.Detect(ctx, f.p, rs, f.ps, opt)
	require.ErrorIs(t, err, context.Canceled)
}

// TestDetectOccupiedHashes checks that a full listing records in
// Occupied the hash of every listed path, however deep (the listing
// derives a path's hash from its folder's), on storages that compare
// names as bytes and that fold case.
func TestDetectOccupiedHashes(t *testing.T) {
	for _, ci := range []bool{false, true} {
		t.Run(fmt.Sprint("case-insensitive ", ci), func(t *testing.T) {
			f := newFixture(t)
			if ci {
				f.a, f.b = memory.New(memory.CaseInsensitive()), memory.New(memory.CaseInsensitive())
				f.p.A, f.p.B = f.a, f.b
			}
			paths := []string{"top.txt", "A/b.txt", "A/B2/c.txt", "A/B2/Deep/er/still/d.txt", "x/y/z/Ünï.txt", "x/y/z/w"}
			for _, p := range paths {
				write(t, f.a, p, p)
				write(t, f.b, p, p)
			}
			f.linkAll(t)
			write(t, f.a, "x/y/new.txt", "new") // a new item too
			in, _, err := se.Detect(context.Background(), f.p, f.store, f.ps, se.DetectOptions{Now: now, Full: true})
			require.NoError(t, err)
			for s, st := range []*memory.Storage{f.a, f.b} {
				rules := st.Features().Names
				var want []uint64
				for e, err := range st.List(context.Background()) {
					require.NoError(t, err)
					want = append(want, se.OccupiedHash(rules, e.Path))
				}
				slices.Sort(want)
				require.Equal(t, slices.Compact(want), in.Occupied[s], "side %d", s)
			}
		})
	}
}

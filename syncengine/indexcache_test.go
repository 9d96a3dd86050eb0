package syncengine_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	se "github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// scanCountingStore is a store with every capability of sqlitestore that
// counts the reads of the baseline, and can change the baseline in the
// middle of a scan.
type scanCountingStore struct {
	*sqlitestore.Store
	scans  atomic.Int64
	during func() // called once, at the first row of the next scan
}

func (s *scanCountingStore) row() {
	if f := s.during; f != nil {
		s.during = nil
		f()
	}
}

func (s *scanCountingStore) ScanBaseline(ctx context.Context, pairID string, fn func(*se.BaselineRow) error) error {
	s.scans.Add(1)
	return s.Store.ScanBaseline(ctx, pairID, func(r *se.BaselineRow) error { s.row(); return fn(r) })
}

func (s *scanCountingStore) ScanBaselineRange(ctx context.Context, pairID string, from, to int64, fn func(*se.BaselineRow) error) error {
	s.scans.Add(1)
	return s.Store.ScanBaselineRange(ctx, pairID, from, to, fn)
}

// TestDetectSavedBaselineIndex checks the baseline index kept between runs
// (se.BaselineIndexCache): a full listing whose baseline did not
// change since the last scan reads the saved index instead, and gets the
// same input and plan as a scan; a change of the baseline, one during the
// scan that would have saved it, a damaged index and one side read
// through its change feed all give what a scan gives.
func TestDetectSavedBaselineIndex(t *testing.T) {
	defer se.SetCachedIndexMin(1)()
	f := rangeFixture(t)
	ctx := context.Background()
	var logs bytes.Buffer
	opt := se.DetectOptions{Now: now, Full: true, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	cs := &scanCountingStore{Store: f.store}
	// plainStore (see stoppolicy_test.go) hides the optional capabilities:
	// Detect scans the baseline every time.
	check := func(what string, wantScan bool, opt se.DetectOptions) {
		t.Helper()
		wantIn, wantNext, err := se.Detect(ctx, f.p, plainStore{f.store}, f.ps, opt)
		require.NoError(t, err)
		before := cs.scans.Load()
		in, next, err := se.Detect(ctx, f.p, cs, f.ps, opt)
		require.NoError(t, err)
		require.Equal(t, wantScan, cs.scans.Load() > before, "%s: scanned the baseline", what)
		require.Equal(t, wantIn, in, what)
		require.Equal(t, wantNext, next, what)
		require.Equal(t, se.BuildPlan(wantIn), se.BuildPlan(in), what)
	}
	check("first run", true, opt)
	check("baseline unchanged", false, opt)
	check("baseline unchanged, again", false, opt)

	// B read through its change feed: A alone is listed, and the saved
	// index holds B's hashes, which a scan for this listing leaves out.
	feedB := opt
	feedB.Full = false
	f.p.A = listOnly{Storage: f.a}
	check("side A listed, B on its feed", false, feedB)
	f.p.A = f.a

	// A record replaced.
	items, err := f.store.ItemByPath(ctx, f.p.ID, se.SideA, "dir-0/f-01.txt")
	require.NoError(t, err)
	items.A.Version = "stale"
	require.NoError(t, f.store.PutItems(ctx, f.p.ID, []se.Item{items}, nil))
	check("a record replaced", true, opt)
	check("then unchanged", false, opt)

	// Changed in the middle of the scan that would save the index: the
	// index of the state before must not be kept for the state after.
	require.NoError(t, f.store.PutItems(ctx, f.p.ID, nil, []int64{items.Key}))
	cs.during = func() {
		require.NoError(t, f.store.MovePrefix(ctx, f.p.ID, se.SideB, "dir-2", "dir-2-moved"))
	}
	before := cs.scans.Load()
	_, _, err = se.Detect(ctx, f.p, cs, f.ps, opt)
	require.NoError(t, err)
	require.Greater(t, cs.scans.Load(), before)
	check("after a change during the scan", true, opt)
	check("then unchanged", false, opt)

	// A damaged index is logged and scanned around.
	files, err := filepath.Glob(f.dbPath + ".index/*")
	require.NoError(t, err)
	require.Len(t, files, 1, "one pair, one saved index")
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 1
	require.NoError(t, os.WriteFile(files[0], data, 0o600))
	logs.Reset()
	check("a damaged index", true, opt)
	require.Contains(t, logs.String(), "the saved baseline index is not used")
	check("then unchanged", false, opt)
}

// A forgotten pair's index goes with it.
func TestForgetPairRemovesSavedIndex(t *testing.T) {
	defer se.SetCachedIndexMin(1)()
	f := rangeFixture(t)
	ctx := context.Background()
	_, _, err := se.Detect(ctx, f.p, f.store, f.ps, se.DetectOptions{Now: now, Full: true})
	require.NoError(t, err)
	files, err := filepath.Glob(f.dbPath + ".index/*")
	require.NoError(t, err)
	require.Len(t, files, 1)
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the saved index is its owner's alone")
	di, err := os.Stat(filepath.Dir(files[0]))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	require.NoError(t, f.store.ForgetPair(ctx, f.p.ID))
	require.NoFileExists(t, files[0])
}

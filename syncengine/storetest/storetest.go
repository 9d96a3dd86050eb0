// Package storetest is the conformance suite that every
// syncengine.MetadataStore must pass.
//
// An implementation's tests call Run with a function that returns a new,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) syncengine.MetadataStore {
//			s, err := mystore.Open(filepath.Join(t.TempDir(), "meta.db"))
//			require.NoError(t, err)
//			return s
//		})
//	}
//
// Run closes every store it gets when the subtest that made it ends, so
// newStore need not (Close must therefore tolerate being called twice if
// newStore closes it too).
//
// Beyond the interface's doc comments, the suite pins down these points,
// which every implementation must share so that the engine can rely on them:
//
//   - An empty pair ID and a Side other than SideA and SideB are errors.
//   - Hashes read back nil when none were stored (nil or empty map), and
//     times compare with time.Time.Equal (the location may change; the zero
//     time stays zero).
//   - PutItems replacing a Key the pair does not have (including another
//     pair's Key) fails with ErrNoItem and writes nothing; deleting an absent
//     Key is not an error.
//   - ItemsUnder(prefix "") yields every item with a non-empty path; a
//     trailing slash on a prefix is ignored.
//   - MovePrefix moves only descendants of the folder, not the folder's own
//     record.
//   - EndAction and FinishRun with an unknown ID fail with ErrNoItem;
//     DeleteUpload, ClearFailure and ReleaseHeld of something absent do not
//     fail.
//   - Logs (Runs, Activity, RunActivity, Errors) are ordered by their time (Started,
//     Time), newest first; a negative Page.Limit or Page.Offset is an error.
//   - A cancelled context makes every method fail with an error matching
//     context.Canceled, and cancelling it during an iteration of Items or
//     ItemsUnder, or during ScanBaseline, ends the iteration with such an
//     error at the next item.
//   - ScanBaseline reports the same items as Items, in the same order, with
//     the fields of BaselineRow equal to theirs; an error returned by its
//     callback comes back from ScanBaseline as it is (not wrapped).
//   - A store that implements the optional syncengine.AuditStore keeps
//     every entry as appended (an empty Details reads back nil) and lists
//     them newest first, by Time then by order of appending; a store that
//     implements syncengine.StopCounterStore keeps each pair's counters.
//     Forgetting a pair deletes its counters and keeps its audit entries.
//   - A store that implements the optional syncengine.PairForgetter
//     deletes every record of the pair and nothing of other pairs, and the
//     pair ID can be used again afterwards.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Run runs the conformance suite against the stores newStore makes. Each
// subtest calls newStore once for a new, empty store and closes it when it
// ends.
func Run(t *testing.T, newStore func(t *testing.T) syncengine.MetadataStore) {
	t.Helper()
	open := func(t *testing.T) syncengine.MetadataStore {
		s := newStore(t)
		require.NotNil(t, s, "newStore returned nil")
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}
	// The subtests are grouped by the role of MetadataStore they check
	// (go test -run 'Conformance/Baseline/' re-runs one role), then the
	// store as a whole.
	roles := []struct {
		role  string
		tests tests
	}{
		{"Pair", tests{
			{"PairState", testPairState},
		}},
		{"Baseline", tests{
			{"PutItemsInsert", testPutItemsInsert},
			{"PutItemsReplaceDelete", testPutItemsReplaceDelete},
			{"PutItemsAtomic", testPutItemsAtomic},
			{"HashesAndTimes", testHashesAndTimes},
			{"ItemLookups", testItemLookups},
			{"ItemsOrderedByKey", testItemsOrder},
			{"ItemsEarlyStopAndNesting", testItemsNesting},
			{"ItemsUnder", testItemsUnder},
			{"ScanBaseline", testScanBaseline},
			{"ScanBaselineRange", testScanBaselineRange},
			{"BaselineIndexCache", testBaselineIndexCache},
			{"MovePrefix", testMovePrefix},
			{"CancelDuringIteration", testCancelDuringIteration},
		}},
		{"Journal", tests{
			{"Journal", testJournal},
			{"Uploads", testUploads},
		}},
		{"History", tests{
			{"Runs", testRuns},
			{"Activity", testActivity},
			{"Errors", testErrors},
		}},
		{"Failure", tests{
			{"Failures", testFailures},
		}},
		{"Delete", tests{
			{"DeleteLedger", testDeleteLedger},
			{"HeldDeletes", testHeldDeletes},
		}},
		{"Audit", tests{
			{"AuditLog", testAudit},
			{"StopCounts", testStopCounts},
		}},
		{"Store", tests{
			{"BadInput", testBadInput},
			{"PairsIsolated", testPairsIsolated},
			{"ConcurrentWriters", testConcurrent},
			{"CancelledContext", testCancelled},
			{"ForgetPair", testForgetPair},
		}},
	}
	for _, r := range roles {
		t.Run(r.role, func(t *testing.T) {
			for _, tc := range r.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, open(t))
				})
			}
		})
	}
}

// tests lists the subtests of one role.
type tests = []struct {
	name string
	fn   func(t *testing.T, s syncengine.MetadataStore)
}

// t0 is the suite's reference time: not UTC, with nanoseconds, so that
// stores must keep full precision.
var t0 = time.Date(2026, 11, 22, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// normTime makes times comparable with require.Equal: UTC, no monotonic
// reading; the zero time stays zero.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// normHashes makes an empty map nil.
func normHashes(h storage.Hashes) storage.Hashes {
	if len(h) == 0 {
		return nil
	}
	return h
}

// normSide normalises a SideState for comparison.
func normSide(s syncengine.SideState) syncengine.SideState {
	s.ModTime = normTime(s.ModTime)
	s.Hashes = normHashes(s.Hashes)
	return s
}

// normItem normalises an Item for comparison.
func normItem(it syncengine.Item) syncengine.Item {
	it.A, it.B = normSide(it.A), normSide(it.B)
	return it
}

// normItems normalises a slice of items.
func normItems(its []syncengine.Item) []syncengine.Item {
	out := make([]syncengine.Item, len(its))
	for i, it := range its {
		out[i] = normItem(it)
	}
	return out
}

// normEntry normalises a storage.Entry for comparison.
func normEntry(e storage.Entry) storage.Entry {
	e.ModTime = normTime(e.ModTime)
	e.Hashes = normHashes(e.Hashes)
	return e
}

// requireItemsEqual compares items field by field after normalisation.
func requireItemsEqual(t *testing.T, want, got []syncengine.Item, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normItems(want), normItems(got), msgAndArgs...)
}

// collect drains an item iterator, failing the test on an error.
func collect(t *testing.T, seq func(func(syncengine.Item, error) bool)) []syncengine.Item {
	t.Helper()
	var out []syncengine.Item
	for it, err := range seq {
		require.NoError(t, err)
		out = append(out, it)
	}
	return out
}

// paths returns the side-s paths of items.
func paths(items []syncengine.Item, s syncengine.Side) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		out = append(out, items[i].Side(s).Path)
	}
	return out
}

// file returns a baseline item for a file at path p on both sides (side B's
// path is p with a "b:" marker in IDs only), with distinct IDs per path.
func file(p string) syncengine.Item {
	return syncengine.Item{
		A: syncengine.SideState{ID: "a:" + p, ParentID: "a-parent", Path: p, Version: "v1", Size: 10,
			ModTime: t0, Hashes: storage.Hashes{storage.HashSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
		B: syncengine.SideState{ID: "b:" + p, ParentID: "b-parent", Path: p, Version: "etag-1", Size: 10,
			ModTime: at(time.Second), Hashes: storage.Hashes{storage.HashQuickXor: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},
	}
}

// dir returns a baseline item for a folder at path p on both sides.
func dir(p string) syncengine.Item {
	return syncengine.Item{IsDir: true,
		A: syncengine.SideState{ID: "a:" + p, Path: p},
		B: syncengine.SideState{ID: "b:" + p, Path: p}}
}

// put stores items (all new) in pair and returns them with their Keys.
func put(t *testing.T, s syncengine.MetadataStore, pair string, items ...syncengine.Item) []syncengine.Item {
	t.Helper()
	require.NoError(t, s.PutItems(context.Background(), pair, items, nil))
	for _, it := range items {
		require.NotZero(t, it.Key, "PutItems must set the Key of inserted items")
	}
	return items
}

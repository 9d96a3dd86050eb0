package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	se "github.com/procoresync/procoresync/syncengine"
)

// TestDetectFullMatchesFeeds changes both sides of a synced pair and checks
// that listing both in full (the compact index, both sides listed at once)
// plans what reading their change feeds plans.
func TestDetectFullMatchesFeeds(t *testing.T) {
	f := newFixture(t)
	for _, s := range []*memory.Storage{f.a, f.b} {
		for _, p := range []string{"docs/m.txt", "docs/r.txt", "docs/d.txt", "keep.txt", "dir/sub/x.txt", "gone/y.txt"} {
			write(t, s, p, "v1 "+p)
		}
	}
	f.linkAll(t)
	write(t, f.a, "docs/m.txt", "v2 on A")
	_, err := f.b.Rename("docs/r.txt", "docs/r2.txt")
	require.NoError(t, err)
	require.NoError(t, f.a.Remove("docs/d.txt"))
	require.NoError(t, f.b.Remove("gone"))
	_, err = f.a.Rename("dir", "dir renamed")
	require.NoError(t, err)
	write(t, f.b, "docs/new.txt", "new on B")
	write(t, f.a, "new dir/n.txt", "new on A")

	sorted := func(pl se.Plan) []string {
		k := kinds(pl)
		slices.Sort(k)
		return k
	}
	lists := func() [2]int { return [2]int{f.a.Calls()[memory.OpList], f.b.Calls()[memory.OpList]} }
	before := lists()
	fromFeeds, _, _ := f.plan(t, se.DetectOptions{})
	require.Equal(t, before, lists(), "the feeds are read, nothing is listed")
	fromLists, in, _ := f.plan(t, se.DetectOptions{Full: true})
	// Both sides lose an item: its absence is confirmed by ID where the
	// storage can look items up, else with a second listing of that side.
	again := 1
	if _, ok := any(f.a).(storage.IDStater); ok {
		again = 0
	}
	require.Equal(t, [2]int{before[0] + 1 + again, before[1] + 1 + again}, lists(), "both sides are listed in full")
	require.NotEmpty(t, fromFeeds.Actions)
	require.Equal(t, sorted(fromFeeds), sorted(fromLists))
	require.Equal(t, [2]int{11, 9}, in.Count, "items listed per side, roots excluded")
}

// TestDetectFullMatchesFeedsAcrossBatches is TestDetectFullMatchesFeeds
// on a tree of several hundred items, which the full listing compares in
// batches (see listSide): changes, new items, renames and deletions fall
// at the start, in the middle and at the end of batches, on both sides.
func TestDetectFullMatchesFeedsAcrossBatches(t *testing.T) {
	f := newFixture(t)
	for _, s := range []*memory.Storage{f.a, f.b} {
		for i := range 300 {
			write(t, s, fmt.Sprintf("d%d/f%03d.txt", i%5, i), fmt.Sprint("v1 ", i))
		}
	}
	f.linkAll(t)
	for _, i := range []int{0, 63, 64, 65, 127, 128, 200, 299} {
		write(t, f.a, fmt.Sprintf("d%d/f%03d.txt", i%5, i), fmt.Sprint("v2 on A ", i))
	}
	for _, i := range []int{1, 66, 190} {
		_, err := f.b.Rename(fmt.Sprintf("d%d/f%03d.txt", i%5, i), fmt.Sprintf("d%d/renamed %03d.txt", i%5, i))
		require.NoError(t, err)
	}
	for _, i := range []int{2, 67, 191, 298} {
		require.NoError(t, f.a.Remove(fmt.Sprintf("d%d/f%03d.txt", i%5, i)))
	}
	for i := range 70 {
		write(t, f.b, fmt.Sprintf("d%d/new %03d.txt", i%5, i), fmt.Sprint("new on B ", i))
	}
	_, err := f.a.Rename("d3", "d3 renamed")
	require.NoError(t, err)
	sorted := func(pl se.Plan) []string {
		k := kinds(pl)
		slices.Sort(k)
		return k
	}
	fromFeeds, _, _ := f.plan(t, se.DetectOptions{})
	fromLists, in, _ := f.plan(t, se.DetectOptions{Full: true})
	require.Len(t, fromFeeds.Actions, 8+2*3+4+70+1, "edits, renames (a move and a link each), deletions, new files, a folder rename")
	require.Equal(t, sorted(fromFeeds), sorted(fromLists))
	require.Equal(t, [2]int{5 + 300 - 4, 5 + 300 + 70}, in.Count, "items listed per side, roots excluded")
}

// TestDetectFullListingFails checks that a side failing to list fails
// Detect with its error, and that the other side's listing, running at the
// same time, is cancelled rather than waited for.
func TestDetectFullListingFails(t *testing.T) {
	boom := errors.New("boom")
	for _, failing := range []se.Side{se.SideA, se.SideB} {
		t.Run(failing.String(), func(t *testing.T) {
			f := newFixture(t)
			for _, s := range []*memory.Storage{f.a, f.b} {
				write(t, s, "a.txt", "a")
			}
			f.linkAll(t)
			bad, slow := f.a, f.b
			if failing == se.SideB {
				bad, slow = f.b, f.a
			}
			slow.SetLatency(memory.OpList, time.Hour) // until its context is cancelled
			bad.FailAlways(memory.OpList, boom)
			_, _, err := se.Detect(context.Background(), f.p, f.store, f.ps, se.DetectOptions{Now: now, Full: true})
			require.ErrorIs(t, err, boom)
			require.NotErrorIs(t, err, context.Canceled)
		})
	}
}

package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// normRecord normalises a JournalRecord for comparison.
func normRecord(r syncengine.JournalRecord) syncengine.JournalRecord {
	r.Action.Source, r.Action.Target = normEntry(r.Action.Source), normEntry(r.Action.Target)
	r.Started, r.Ended = normTime(r.Started), normTime(r.Ended)
	return r
}

func testJournal(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	conflict := syncengine.JournalRecord{PairID: "p", RunID: 7, State: syncengine.JournalPending, Started: t0,
		Action: syncengine.Action{Kind: syncengine.ActionConflict, Side: syncengine.SideB, Path: "Docs/plan.pdf", Key: 42,
			Source: storage.Entry{ID: "123", ParentID: "9", Path: "Docs/plan.pdf", Size: 2048, ModTime: at(time.Minute),
				Version: "v7", Hashes: storage.Hashes{storage.HashSHA256: "abc", "custom": "x"},
				CreatedBy: "Ann", ModifiedBy: "Bob"},
			Target: storage.Entry{ID: "01XY", ParentID: "01P", Path: "Docs/plan.pdf", Size: 1024, ModTime: t0,
				Version: "\"{etag},3\"", Hashes: storage.Hashes{storage.HashQuickXor: "AAAA"}},
			Conflict: &syncengine.ConflictInfo{Winner: syncengine.SideA, LoserCopy: "plan (conflict 2026-11-22 from SharePoint).pdf"},
			Reason:   "both changed"}}
	mkdir := syncengine.JournalRecord{PairID: "p", RunID: 7, Started: at(time.Second),
		Action: syncengine.Action{Kind: syncengine.ActionMkdir, Side: syncengine.SideA, Path: "New folder", IsDir: true,
			Source: storage.Entry{ID: "f1", Path: "New folder", IsDir: true}}}
	copyQ := syncengine.JournalRecord{PairID: "q", RunID: 8, Started: t0,
		Action: syncengine.Action{Kind: syncengine.ActionCopy, Side: syncengine.SideB, Path: "x"}}

	ids := map[string]int64{}
	for name, rec := range map[string]syncengine.JournalRecord{"conflict": conflict, "mkdir": mkdir, "copyQ": copyQ} {
		id, err := s.BeginAction(ctx, rec)
		require.NoError(t, err)
		require.NotZero(t, id)
		ids[name] = id
	}
	// Begin in a known order for "oldest first".
	first, err := s.BeginAction(ctx, conflict)
	require.NoError(t, err)
	second, err := s.BeginAction(ctx, mkdir)
	require.NoError(t, err)
	require.NoError(t, s.EndAction(ctx, ids["conflict"], syncengine.JournalDone, ""))
	require.NoError(t, s.EndAction(ctx, ids["mkdir"], syncengine.JournalFailed, "boom"))

	open, err := s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 2)
	wantC, wantM := conflict, mkdir
	wantC.ID, wantM.ID = first, second
	require.Equal(t, normRecord(wantC), normRecord(open[0]), "oldest first, every field")
	require.Equal(t, normRecord(wantM), normRecord(open[1]))
	require.NotNil(t, open[0].Action.Conflict)
	require.Equal(t, *conflict.Action.Conflict, *open[0].Action.Conflict)
	require.Nil(t, open[1].Action.Conflict)
	require.True(t, conflict.Action.Source.ModTime.Equal(open[0].Action.Source.ModTime))

	require.NoError(t, s.EndAction(ctx, first, syncengine.JournalDone, ""))
	open, err = s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, second, open[0].ID)
	require.NoError(t, s.EndAction(ctx, second, syncengine.JournalFailed, "403 forbidden"))
	open, err = s.OpenActions(ctx, "p")
	require.NoError(t, err)
	require.Empty(t, open)

	open, err = s.OpenActions(ctx, "q")
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, ids["copyQ"], open[0].ID)
	open, err = s.OpenActions(ctx, "none")
	require.NoError(t, err)
	require.Empty(t, open)

	require.ErrorIs(t, s.EndAction(ctx, ids["copyQ"]+1000, syncengine.JournalDone, ""), syncengine.ErrNoItem)
}

func testUploads(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	st := storage.UploadState{ParentID: "01P", Name: "big file.mp4", Size: 5 << 30, Offset: 320 << 10,
		Token: "https://upload.example/session?sig=%2F&x=1", Expires: at(24 * time.Hour)}
	require.NoError(t, s.SaveUpload(ctx, "p", "k1", st))
	require.NoError(t, s.SaveUpload(ctx, "q", "k1", storage.UploadState{Name: "other"}))

	got, err := s.LoadUpload(ctx, "p", "k1")
	require.NoError(t, err)
	require.True(t, st.Expires.Equal(got.Expires))
	st.Expires, got.Expires = normTime(st.Expires), normTime(got.Expires)
	require.Equal(t, st, got)

	st.Offset, st.Expires = 640<<10, time.Time{}
	require.NoError(t, s.SaveUpload(ctx, "p", "k1", st))
	got, err = s.LoadUpload(ctx, "p", "k1")
	require.NoError(t, err)
	require.Equal(t, st, got, "SaveUpload replaces; a zero Expires stays zero")

	tests := []struct{ pair, key string }{{"p", "k2"}, {"none", "k1"}, {"p", ""}}
	for _, tc := range tests {
		_, err := s.LoadUpload(ctx, tc.pair, tc.key)
		require.ErrorIs(t, err, syncengine.ErrNoItem, "%s/%s", tc.pair, tc.key)
	}

	require.NoError(t, s.DeleteUpload(ctx, "p", "k1"))
	_, err = s.LoadUpload(ctx, "p", "k1")
	require.ErrorIs(t, err, syncengine.ErrNoItem)
	require.NoError(t, s.DeleteUpload(ctx, "p", "k1"), "deleting an absent upload is not an error")
	got, err = s.LoadUpload(ctx, "q", "k1")
	require.NoError(t, err)
	require.Equal(t, "other", got.Name)
}

// normRun normalises a Run for comparison.
func normRun(r syncengine.Run) syncengine.Run {
	r.Started, r.Ended = normTime(r.Started), normTime(r.Ended)
	return r
}

func testRuns(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	runs := []syncengine.Run{
		{PairID: "p", Initial: true, Started: t0, Status: syncengine.RunRunning},
		{PairID: "p", Started: at(2 * time.Hour), Status: syncengine.RunRunning},
		{PairID: "p", Started: at(time.Hour), Status: syncengine.RunRunning}, // started out of order
		{PairID: "q", Started: at(time.Hour), Status: syncengine.RunRunning},
	}
	for i := range runs {
		id, err := s.StartRun(ctx, runs[i])
		require.NoError(t, err)
		require.NotZero(t, id)
		runs[i].ID = id
	}
	runs[0].Ended = at(30 * time.Minute)
	runs[0].Status = syncengine.RunPartial
	runs[0].Error = "3 items failed"
	runs[0].Counts = syncengine.RunCounts{FilesCopied: 1, FoldersMade: 2, Moved: 3, Deleted: 4, Linked: 5,
		Conflicts: 6, Held: 7, Failed: 8, BytesCopied: 1 << 40, BytesDeleted: 10, TransferNanos: int64(time.Hour),
		Waiting: 9, Replanned: 11, Skipped: 12}
	runs[0].Undone = "9 items wait for a retry\n11 items changed during the run"
	require.NoError(t, s.FinishRun(ctx, runs[0]))

	newest := []syncengine.Run{runs[1], runs[2], runs[0]}
	tests := []struct {
		name string
		page syncengine.Page
		want []syncengine.Run
	}{
		{"all", syncengine.Page{}, newest},
		{"limit", syncengine.Page{Limit: 2}, newest[:2]},
		{"offset", syncengine.Page{Offset: 1}, newest[1:]},
		{"limit and offset", syncengine.Page{Limit: 1, Offset: 1}, newest[1:2]},
		{"offset past the end", syncengine.Page{Offset: 3}, nil},
		{"since, inclusive", syncengine.Page{Since: at(time.Hour)}, newest[:2]},
		{"since and limit", syncengine.Page{Since: at(time.Hour), Limit: 1}, newest[:1]},
		{"since the future", syncengine.Page{Since: at(100 * time.Hour)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Runs(ctx, "p", tc.page)
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i := range got {
				require.Equal(t, normRun(tc.want[i]), normRun(got[i]))
			}
		})
	}
	got, err := s.Runs(ctx, "q", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, runs[3].ID, got[0].ID)

	missing := runs[0]
	missing.ID = runs[3].ID + 1000
	require.ErrorIs(t, s.FinishRun(ctx, missing), syncengine.ErrNoItem)
	wrongPair := runs[3]
	wrongPair.PairID = "p"
	require.ErrorIs(t, s.FinishRun(ctx, wrongPair), syncengine.ErrNoItem, "a run of another pair")
}

func testActivity(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	acts := []syncengine.Activity{
		{PairID: "p", RunID: 1, Time: at(time.Minute), Kind: syncengine.ActionCopy, Side: syncengine.SideB, Path: "a.pdf", Size: 100, Detail: "copied"},
		{PairID: "p", RunID: 1, Time: t0, Kind: syncengine.ActionMkdir, Side: syncengine.SideA, Path: "Docs"},
		{PairID: "q", RunID: 2, Time: at(time.Minute), Kind: syncengine.ActionDelete, Side: syncengine.SideA, Path: "x"},
		{PairID: "p", RunID: 2, Time: at(time.Hour), Kind: syncengine.ActionMove, Side: syncengine.SideA, Path: "b.pdf", Detail: "from a.pdf"},
	}
	require.NoError(t, s.AddActivity(ctx, acts[:2]))
	require.NoError(t, s.AddActivity(ctx, acts[2:]))
	require.NoError(t, s.AddActivity(ctx, nil))

	norm := func(as []syncengine.Activity) []syncengine.Activity {
		out := make([]syncengine.Activity, len(as))
		for i, a := range as {
			a.ID, a.Time = 0, normTime(a.Time)
			out[i] = a
		}
		return out
	}
	newest := []syncengine.Activity{acts[3], acts[0], acts[1]}
	tests := []struct {
		name string
		page syncengine.Page
		want []syncengine.Activity
	}{
		{"all", syncengine.Page{}, newest},
		{"limit", syncengine.Page{Limit: 1}, newest[:1]},
		{"offset", syncengine.Page{Offset: 2}, newest[2:]},
		{"limit and offset", syncengine.Page{Limit: 1, Offset: 1}, newest[1:2]},
		{"since, inclusive", syncengine.Page{Since: at(time.Minute)}, newest[:2]},
		{"since with offset", syncengine.Page{Since: at(time.Minute), Offset: 1}, newest[1:2]},
		{"nothing", syncengine.Page{Offset: 10}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Activity(ctx, "p", tc.page)
			require.NoError(t, err)
			for _, a := range got {
				require.NotZero(t, a.ID)
			}
			require.Equal(t, norm(tc.want), norm(got))
		})
	}
	got, err := s.Activity(ctx, "q", syncengine.Page{})
	require.NoError(t, err)
	require.Equal(t, norm(acts[2:3]), norm(got))

	// One run's activity: only that run of that pair, newest first, paged
	// like the whole log.
	more := []syncengine.Activity{
		{PairID: "p", RunID: 1, Time: at(2 * time.Minute), Kind: syncengine.ActionDelete, Side: syncengine.SideB, Path: "old.pdf"},
		{PairID: "q", RunID: 1, Time: at(2 * time.Minute), Kind: syncengine.ActionCopy, Side: syncengine.SideB, Path: "other pair"},
	}
	require.NoError(t, s.AddActivity(ctx, more))
	run1 := []syncengine.Activity{more[0], acts[0], acts[1]}
	runTests := []struct {
		name string
		pair string
		run  int64
		page syncengine.Page
		want []syncengine.Activity
	}{
		{"run 1", "p", 1, syncengine.Page{}, run1},
		{"run 2", "p", 2, syncengine.Page{}, acts[3:4]},
		{"run 1 limit and offset", "p", 1, syncengine.Page{Limit: 1, Offset: 1}, run1[1:2]},
		{"run 1 since", "p", 1, syncengine.Page{Since: at(time.Minute)}, run1[:2]},
		{"other pair's run 1", "q", 1, syncengine.Page{}, more[1:]},
		{"unknown run", "p", 99, syncengine.Page{}, nil},
		{"unknown pair", "r", 1, syncengine.Page{}, nil},
	}
	for _, tc := range runTests {
		t.Run("RunActivity "+tc.name, func(t *testing.T) {
			got, err := s.RunActivity(ctx, tc.pair, tc.run, tc.page)
			require.NoError(t, err)
			require.Equal(t, norm(tc.want), norm(got))
		})
	}
}

func testErrors(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	errs := []syncengine.ErrorRecord{
		{PairID: "p", RunID: 1, Time: at(time.Hour), Side: syncengine.SideB, Path: "a.pdf", Op: "put", Error: "429 throttled"},
		{PairID: "p", RunID: 1, Time: t0, Side: syncengine.SideA, Path: "b.pdf", Op: "open", Error: "not found"},
		{PairID: "q", RunID: 2, Time: at(time.Minute), Side: syncengine.SideA, Path: "x", Op: "delete", Error: "locked"},
		{PairID: "p", RunID: 2, Time: at(2 * time.Hour), Side: syncengine.SideA, Path: "c.pdf", Op: "move", Error: "exists"},
	}
	for _, e := range errs {
		require.NoError(t, s.AddError(ctx, e))
	}
	norm := func(es []syncengine.ErrorRecord) []syncengine.ErrorRecord {
		out := make([]syncengine.ErrorRecord, len(es))
		for i, e := range es {
			e.ID, e.Time = 0, normTime(e.Time)
			out[i] = e
		}
		return out
	}
	newest := []syncengine.ErrorRecord{errs[3], errs[0], errs[1]}
	tests := []struct {
		name string
		page syncengine.Page
		want []syncengine.ErrorRecord
	}{
		{"all", syncengine.Page{}, newest},
		{"limit", syncengine.Page{Limit: 2}, newest[:2]},
		{"offset", syncengine.Page{Offset: 1}, newest[1:]},
		{"since, inclusive", syncengine.Page{Since: at(time.Hour)}, newest[:2]},
		{"since between", syncengine.Page{Since: at(time.Hour + 1)}, newest[:1]},
		{"since, limit and offset", syncengine.Page{Since: t0, Limit: 1, Offset: 2}, newest[2:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Errors(ctx, "p", tc.page)
			require.NoError(t, err)
			for _, e := range got {
				require.NotZero(t, e.ID)
			}
			require.Equal(t, norm(tc.want), norm(got))
		})
	}
	got, err := s.Errors(ctx, "q", syncengine.Page{})
	require.NoError(t, err)
	require.Equal(t, norm(errs[2:3]), norm(got))
}

func testFailures(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	fs := []syncengine.Failure{
		{PairID: "p", Side: syncengine.SideA, Path: "x", Error: "e1", Attempts: 1, NextAttempt: at(time.Minute), Updated: t0},
		{PairID: "p", Side: syncengine.SideB, Path: "x", Error: "e2", Attempts: 1, Updated: t0},
		{PairID: "p", Side: syncengine.SideA, Path: "y/z", Error: "e3", Attempts: 3, Quarantined: true, Updated: t0},
		{PairID: "q", Side: syncengine.SideA, Path: "x", Error: "e4", Attempts: 1, Updated: t0},
	}
	for _, f := range fs {
		require.NoError(t, s.PutFailure(ctx, f))
	}
	norm := func(fs []syncengine.Failure) []syncengine.Failure {
		out := make([]syncengine.Failure, len(fs))
		for i, f := range fs {
			f.NextAttempt, f.Updated = normTime(f.NextAttempt), normTime(f.Updated)
			out[i] = f
		}
		return out
	}
	list := func(pair string) []syncengine.Failure {
		got, err := s.Failures(ctx, pair)
		require.NoError(t, err)
		return norm(got)
	}
	require.ElementsMatch(t, norm(fs[:3]), list("p"))

	fs[0].Attempts, fs[0].Error, fs[0].Quarantined, fs[0].NextAttempt = 2, "e1 again", true, at(time.Hour)
	require.NoError(t, s.PutFailure(ctx, fs[0]))
	require.ElementsMatch(t, norm(fs[:3]), list("p"), "PutFailure replaces by pair, side and path")

	require.NoError(t, s.ClearFailure(ctx, "p", syncengine.SideA, "x"))
	require.ElementsMatch(t, norm(fs[1:3]), list("p"), "only side A's failure of x is cleared")
	require.NoError(t, s.ClearFailure(ctx, "p", syncengine.SideA, "x"), "clearing an absent failure is not an error")
	require.ElementsMatch(t, norm(fs[3:]), list("q"))
	require.Empty(t, list("none"))
}

func testDeleteLedger(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	require.NoError(t, s.RecordDeletes(ctx, "p", t0, 3))
	require.NoError(t, s.RecordDeletes(ctx, "p", at(time.Hour), 2))
	require.NoError(t, s.RecordDeletes(ctx, "p", at(25*time.Hour), 4))
	require.NoError(t, s.RecordDeletes(ctx, "p", at(26*time.Hour), 0))
	require.NoError(t, s.RecordDeletes(ctx, "q", at(time.Hour), 100))
	tests := []struct {
		name  string
		pair  string
		since time.Time
		want  int
	}{
		{"everything", "p", time.Time{}, 9},
		{"from the first", "p", t0, 9},
		{"window start is inclusive", "p", at(time.Hour), 6},
		{"just after", "p", at(time.Hour + time.Nanosecond), 4},
		{"rolling 24 h at +25 h", "p", at(25 * time.Hour).Add(-24 * time.Hour), 6},
		{"future", "p", at(26 * time.Hour), 0},
		{"other pair", "q", t0, 100},
		{"unknown pair", "none", t0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.DeletesSince(ctx, tc.pair, tc.since)
			require.NoError(t, err)
			require.Equal(t, tc.want, n)
		})
	}
}

func testHeldDeletes(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	hs := []syncengine.HeldDelete{
		{PairID: "p", Key: 1, DeletedOn: syncengine.SideA, Path: "one.pdf", Size: 10, Held: at(time.Hour), Version: "v7"},
		{PairID: "p", Key: 2, DeletedOn: syncengine.SideA, Path: "Folder", IsDir: true, Held: t0},
		{PairID: "p", Key: 1, DeletedOn: syncengine.SideB, Path: "one-b.pdf", Size: 10, Held: at(2 * time.Hour)},
		{PairID: "q", Key: 1, DeletedOn: syncengine.SideA, Path: "q.pdf", Held: t0},
	}
	require.NoError(t, s.HoldDeletes(ctx, hs))
	norm := func(hs []syncengine.HeldDelete) []syncengine.HeldDelete {
		out := make([]syncengine.HeldDelete, len(hs))
		for i, h := range hs {
			h.ID, h.Held = 0, normTime(h.Held)
			out[i] = h
		}
		return out
	}
	list := func(pair string) []syncengine.HeldDelete {
		got, err := s.HeldDeletes(ctx, pair)
		require.NoError(t, err)
		for _, h := range got {
			require.NotZero(t, h.ID)
		}
		return got
	}
	oldest := []syncengine.HeldDelete{hs[1], hs[0], hs[2]}
	got := list("p")
	require.Equal(t, norm(oldest), norm(got), "oldest first")

	dup := hs[0]
	dup.Path, dup.Held = "changed.pdf", at(10*time.Hour)
	require.NoError(t, s.HoldDeletes(ctx, []syncengine.HeldDelete{dup, hs[1]}))
	require.Equal(t, norm(oldest), norm(list("p")), "a duplicate (same Key and DeletedOn) is skipped")

	q := list("q")
	require.Len(t, q, 1)
	require.NoError(t, s.ReleaseHeld(ctx, "p", []int64{got[0].ID, q[0].ID, got[2].ID + 1000}))
	require.Equal(t, norm(oldest[1:]), norm(list("p")))
	require.Len(t, list("q"), 1, "a held delete of another pair is not released")
	require.NoError(t, s.ReleaseHeld(ctx, "p", nil))

	require.NoError(t, s.HoldDeletes(ctx, []syncengine.HeldDelete{hs[1]}))
	require.Len(t, list("p"), 3, "a released deletion can be held again")
	require.Empty(t, list("none"))
}

func testConcurrent(t *testing.T, s syncengine.MetadataStore) {
	ctx := context.Background()
	const workers, rounds, batch = 8, 15, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			errs <- func() error {
				own := fmt.Sprintf("pair-%d", w)
				for r := range rounds {
					items := make([]syncengine.Item, batch)
					for i := range items {
						items[i] = file(fmt.Sprintf("w%d/r%d/f%d", w, r, i))
					}
					if err := s.PutItems(ctx, own, items, nil); err != nil {
						return err
					}
					shared := []syncengine.Item{items[0], items[1]}
					shared[0].Key, shared[1].Key = 0, 0
					if err := s.PutItems(ctx, "shared", shared, nil); err != nil {
						return err
					}
					items[0].A.Version = "v2"
					if err := s.PutItems(ctx, own, items[:1], []int64{items[1].Key}); err != nil {
						return err
					}
					if err := s.SavePair(ctx, own, syncengine.PairState{CursorA: fmt.Sprint(r)}); err != nil {
						return err
					}
					id, err := s.BeginAction(ctx, syncengine.JournalRecord{PairID: "shared", Started: t0})
					if err != nil {
						return err
					}
					if err := s.EndAction(ctx, id, syncengine.JournalDone, ""); err != nil {
						return err
					}
					if err := s.AddActivity(ctx, []syncengine.Activity{{PairID: "shared", Time: t0, Path: own}}); err != nil {
						return err
					}
					if err := s.RecordDeletes(ctx, "shared", t0, 1); err != nil {
						return err
					}
					for _, err := range s.Items(ctx, own) {
						if err != nil {
							return err
						}
					}
					if _, err := s.ItemByID(ctx, "shared", syncengine.SideA, items[0].A.ID); err != nil {
						return err
					}
				}
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for w := range workers {
		n, err := s.CountItems(ctx, fmt.Sprintf("pair-%d", w))
		require.NoError(t, err)
		require.Equal(t, rounds*(batch-1), n)
		st, err := s.LoadPair(ctx, fmt.Sprintf("pair-%d", w))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(rounds-1), st.CursorA)
	}
	n, err := s.CountItems(ctx, "shared")
	require.NoError(t, err)
	require.Equal(t, workers*rounds*2, n)
	acts, err := s.Activity(ctx, "shared", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, acts, workers*rounds)
	d, err := s.DeletesSince(ctx, "shared", time.Time{})
	require.NoError(t, err)
	require.Equal(t, workers*rounds, d)
	open, err := s.OpenActions(ctx, "shared")
	require.NoError(t, err)
	require.Empty(t, open)
}

func testCancelled(t *testing.T, s syncengine.MetadataStore) {
	bg := context.Background()
	items := put(t, s, "p", file("a"))
	id, err := s.BeginAction(bg, syncengine.JournalRecord{PairID: "p"})
	require.NoError(t, err)
	run, err := s.StartRun(bg, syncengine.Run{PairID: "p", Started: t0})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(bg)
	cancel()
	first := func(seq func(func(syncengine.Item, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"LoadPair", func() error { _, err := s.LoadPair(ctx, "p"); return err }},
		{"SavePair", func() error { return s.SavePair(ctx, "p", syncengine.PairState{}) }},
		{"Items", func() error { return first(s.Items(ctx, "p")) }},
		{"CountItems", func() error { _, err := s.CountItems(ctx, "p"); return err }},
		{"ScanBaseline", func() error {
			return s.ScanBaseline(ctx, "p", func(*syncengine.BaselineRow) error { return nil })
		}},
		{"ItemByID", func() error { _, err := s.ItemByID(ctx, "p", syncengine.SideA, "a:a"); return err }},
		{"ItemByPath", func() error { _, err := s.ItemByPath(ctx, "p", syncengine.SideA, "a"); return err }},
		{"ItemsUnder", func() error { return first(s.ItemsUnder(ctx, "p", syncengine.SideA, "")) }},
		{"PutItems", func() error { return s.PutItems(ctx, "p", []syncengine.Item{file("b")}, nil) }},
		{"PutItems delete", func() error { return s.PutItems(ctx, "p", nil, []int64{items[0].Key}) }},
		{"MovePrefix", func() error { return s.MovePrefix(ctx, "p", syncengine.SideA, "a", "b") }},
		{"BeginAction", func() error { _, err := s.BeginAction(ctx, syncengine.JournalRecord{PairID: "p"}); return err }},
		{"EndAction", func() error { return s.EndAction(ctx, id, syncengine.JournalDone, "") }},
		{"OpenActions", func() error { _, err := s.OpenActions(ctx, "p"); return err }},
		{"SaveUpload", func() error { return s.SaveUpload(ctx, "p", "k", storage.UploadState{}) }},
		{"LoadUpload", func() error { _, err := s.LoadUpload(ctx, "p", "k"); return err }},
		{"DeleteUpload", func() error { return s.DeleteUpload(ctx, "p", "k") }},
		{"StartRun", func() error { _, err := s.StartRun(ctx, syncengine.Run{PairID: "p"}); return err }},
		{"FinishRun", func() error { return s.FinishRun(ctx, syncengine.Run{ID: run, PairID: "p"}) }},
		{"Runs", func() error { _, err := s.Runs(ctx, "p", syncengine.Page{}); return err }},
		{"AddActivity", func() error { return s.AddActivity(ctx, []syncengine.Activity{{PairID: "p"}}) }},
		{"Activity", func() error { _, err := s.Activity(ctx, "p", syncengine.Page{}); return err }},
		{"RunActivity", func() error { _, err := s.RunActivity(ctx, "p", run, syncengine.Page{}); return err }},
		{"AddError", func() error { return s.AddError(ctx, syncengine.ErrorRecord{PairID: "p"}) }},
		{"Errors", func() error { _, err := s.Errors(ctx, "p", syncengine.Page{}); return err }},
		{"PutFailure", func() error { return s.PutFailure(ctx, syncengine.Failure{PairID: "p", Path: "x"}) }},
		{"ClearFailure", func() error { return s.ClearFailure(ctx, "p", syncengine.SideA, "x") }},
		{"Failures", func() error { _, err := s.Failures(ctx, "p"); return err }},
		{"RecordDeletes", func() error { return s.RecordDeletes(ctx, "p", t0, 1) }},
		{"DeletesSince", func() error { _, err := s.DeletesSince(ctx, "p", t0); return err }},
		{"HoldDeletes", func() error { return s.HoldDeletes(ctx, []syncengine.HeldDelete{{PairID: "p", Key: 1}}) }},
		{"HeldDeletes", func() error { _, err := s.HeldDeletes(ctx, "p"); return err }},
		{"ReleaseHeld", func() error { return s.ReleaseHeld(ctx, "p", []int64{1}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.call(), context.Canceled)
		})
	}
	// Nothing was written.
	n, err := s.CountItems(bg, "p")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	open, err := s.OpenActions(bg, "p")
	require.NoError(t, err)
	require.Len(t, open, 1)
}

func testCancelDuringIteration(t *testing.T, s syncengine.MetadataStore) {
	var items []syncengine.Item
	for i := range 20 {
		items = append(items, file(fmt.Sprintf("d/f%02d", i)))
	}
	put(t, s, "p", items...)
	iters := []struct {
		name string
		seq  func(ctx context.Context) func(func(syncengine.Item, error) bool)
	}{
		{"Items", func(ctx context.Context) func(func(syncengine.Item, error) bool) { return s.Items(ctx, "p") }},
		{"ItemsUnder", func(ctx context.Context) func(func(syncengine.Item, error) bool) {
			return s.ItemsUnder(ctx, "p", syncengine.SideA, "d")
		}},
	}
	for _, tc := range iters {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var got int
			var last error
			for _, err := range tc.seq(ctx) {
				if err != nil {
					last = err
					break
				}
				got++
				if got == 3 {
					cancel()
				}
			}
			require.Equal(t, 3, got, "the iteration must end at the item after the cancellation")
			require.ErrorIs(t, last, context.Canceled)
		})
	}
}

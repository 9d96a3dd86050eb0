package syncengine_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

func TestFolderViewShowsBothSidesWithStatus(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.DeleteLimit = 1 })
	e.write(e.a, "Docs/same.txt", "same")
	e.write(e.a, "Docs/edited.txt", "v1")
	e.write(e.a, "Docs/gone1.txt", "g1")
	e.write(e.a, "Docs/gone2.txt", "g2")
	e.write(e.a, "Docs/bad.txt", "bad")
	e.write(e.a, "Docs/Sub/x.txt", "x")
	e.run()

	e.write(e.a, "Docs/only-a.txt", "a")
	e.write(e.b, "Docs/only-b.txt", "b")
	e.write(e.b, "Docs/edited.txt", "v2")
	require.NoError(t, e.a.Remove("Docs/gone1.txt"))
	require.NoError(t, e.a.Remove("Docs/gone2.txt"))
	ws := &failingPuts{Storage: e.b, name: "bad.txt", err: errors.New("boom")}
	e.write(e.a, "Docs/bad.txt", "bad v2")
	e.pair.B = ws
	e.restart()
	e.clk.Advance(time.Minute)
	// Sync only the pair root level: nothing under Docs changes.
	r, err := e.eng.SyncFolderLevel(e.ctx, "p1", "")
	require.NoError(t, err)
	require.Zero(t, r.Counts.FilesCopied)

	view, err := e.eng.FolderView(e.ctx, "p1", "Docs")
	require.NoError(t, err)
	got := map[string]syncengine.SyncStatus{}
	for _, v := range view {
		got[v.Name] = v.Status
	}
	require.Equal(t, map[string]syncengine.SyncStatus{
		"Sub":        syncengine.StatusInSync,
		"same.txt":   syncengine.StatusInSync,
		"edited.txt": syncengine.StatusDiffers,
		"bad.txt":    syncengine.StatusDiffers,
		"only-a.txt": syncengine.StatusOnlyA,
		"only-b.txt": syncengine.StatusOnlyB,
		"gone1.txt":  syncengine.StatusOnlyB,
		"gone2.txt":  syncengine.StatusOnlyB,
	}, got)
	require.Equal(t, "Sub", view[0].Name, "folders first")

	// Sync that level: one deletion applied, one held, bad.txt fails.
	r, err = e.eng.SyncFolderLevel(e.ctx, "p1", "/Docs/")
	require.NoError(t, err)
	require.Equal(t, syncengine.RunPartial, r.Status)
	require.Equal(t, 3, r.Counts.FilesCopied) // only-a, only-b, edited
	require.Equal(t, 1, r.Counts.Deleted)
	require.Equal(t, 1, r.Counts.Held)
	require.Equal(t, 1, r.Counts.Failed)

	view, err = e.eng.FolderView(e.ctx, "p1", "Docs")
	require.NoError(t, err)
	got = map[string]syncengine.SyncStatus{}
	for _, v := range view {
		got[v.Name] = v.Status
		if v.Status == syncengine.StatusFailed {
			require.Contains(t, v.Detail, "boom")
		}
	}
	require.Equal(t, syncengine.StatusInSync, got["edited.txt"])
	require.Equal(t, syncengine.StatusInSync, got["only-a.txt"])
	require.Equal(t, syncengine.StatusInSync, got["only-b.txt"])
	require.Equal(t, syncengine.StatusFailed, got["bad.txt"])
	held := 0
	for _, n := range []string{"gone1.txt", "gone2.txt"} {
		if s, ok := got[n]; ok {
			require.Equal(t, syncengine.StatusHeld, s)
			held++
		}
	}
	require.Equal(t, 1, held, "one deletion applied, one held")

	_, err = e.eng.FolderView(e.ctx, "nope", "")
	require.ErrorIs(t, err, syncengine.ErrUnknownPair)
}

func TestSyncFolderLevelKeepsOtherChangesForTheNextRun(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "top.txt", "t")
	e.write(e.a, "A/one.txt", "1")
	e.write(e.a, "A/Deep/two.txt", "2")
	e.write(e.a, "B/three.txt", "3")
	r, err := e.eng.SyncFolderLevel(e.ctx, "p1", "A/Deep")
	require.NoError(t, err)
	require.Equal(t, 1, r.Counts.FilesCopied)
	require.Equal(t, 2, r.Counts.FoldersMade, "the folders leading to it")
	require.Equal(t, map[string]string{"A": "/", "A/Deep": "/", "A/Deep/two.txt": "2"}, tree(t, e.b))

	e.run()
	require.Equal(t, tree(t, e.a), tree(t, e.b), "the next run still sees the rest")
}

func TestHistoryActivityErrorsAndCSV(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "a.txt", "aaaa")
	e.run()
	e.clk.Advance(time.Minute)
	e.write(e.a, "b.txt", "bb")
	e.run()

	runs, err := e.eng.History(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.False(t, runs[0].Initial)
	require.True(t, runs[1].Initial)
	page, err := e.eng.History(e.ctx, "p1", syncengine.Page{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, runs[:1], page)

	acts, err := e.eng.Activity(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	require.Len(t, acts, 2)
	require.Equal(t, "b.txt", acts[0].Path)
	require.Equal(t, syncengine.ActionCopy, acts[0].Kind)
	require.Equal(t, syncengine.SideB, acts[0].Side)

	// Each run's activity, by the run's ID.
	for i, want := range []string{"b.txt", "a.txt"} {
		ra, err := e.eng.RunActivity(e.ctx, "p1", runs[i].ID, syncengine.Page{})
		require.NoError(t, err)
		require.Len(t, ra, 1)
		require.Equal(t, want, ra[0].Path)
		require.Equal(t, runs[i].ID, ra[0].RunID)
	}
	ra, err := e.eng.RunActivity(e.ctx, "p1", runs[0].ID+100, syncengine.Page{})
	require.NoError(t, err)
	require.Empty(t, ra, "an unknown run did nothing")
	_, err = e.eng.RunActivity(e.ctx, "nope", runs[0].ID, syncengine.Page{})
	require.ErrorIs(t, err, syncengine.ErrUnknownPair)

	errs, err := e.eng.Errors(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	require.Empty(t, errs)

	var buf bytes.Buffer
	require.NoError(t, e.eng.WriteHistoryCSV(e.ctx, &buf, "p1", syncengine.Page{}))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Equal(t, "run", rows[0][0])
	require.Equal(t, "succeeded", rows[1][5])
	require.Equal(t, "1", rows[1][7], "files copied")
	require.Equal(t, "undone", rows[0][len(rows[0])-1])
	require.Equal(t, "", rows[1][len(rows[1])-1], "nothing left undone")

	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, 2, st.Runs)
	require.Equal(t, int64(6), st.BytesCopied)
	require.Equal(t, int64(6), st.BytesInSync)
	require.Equal(t, runs[0].Started, st.LastSuccess)
	require.Zero(t, st.AverageBytesPerSecond, "the manual clock does not move during transfers")
}

package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

// testAudit checks syncengine.AuditStore, for stores that implement it:
// entries round-trip, come back newest first, and every filter and the
// paging select what they say.
func testAudit(t *testing.T, s syncengine.MetadataStore) {
	as, ok := s.(syncengine.AuditStore)
	if !ok {
		t.Skip("the store does not implement syncengine.AuditStore (optional)")
	}
	ctx := context.Background()
	entries := []syncengine.AuditEntry{
		{Time: at(0), Actor: "alice@example.com", Kind: syncengine.AuditProjectAdded, Project: "42/1001",
			Details: map[string]string{"tools": "documents,photos", "target": "Procore/Tower 3"}},
		{Time: at(time.Second), Actor: "system", Kind: syncengine.AuditStopPolicyFired, PairID: "p1", Project: "42/1001",
			Details: map[string]string{"reason": "stopped after 3 runs"}},
		{Time: at(2 * time.Second), Actor: "bob@example.com", Kind: syncengine.AuditPairPaused, PairID: "p2",
			Details: map[string]string{"reason": "holiday: ünïcode, \"quotes\", \\ and \u2028"}},
		{Time: at(2 * time.Second), Actor: "alice@example.com", Kind: syncengine.AuditPairResumed, PairID: "p1"},
		{Time: at(3 * time.Second), Actor: "alice@example.com", Kind: syncengine.AuditHeldApproved, PairID: "p1",
			Project: "42/1001", Details: map[string]string{}},
	}
	for i := range entries {
		id, err := as.AppendAudit(ctx, entries[i])
		require.NoError(t, err)
		require.NotZero(t, id)
		entries[i].ID = id
		if len(entries[i].Details) == 0 {
			entries[i].Details = nil // an empty map reads back nil
		}
		entries[i].Time = normTime(entries[i].Time)
	}
	require.Less(t, entries[2].ID, entries[3].ID, "IDs grow in the order of appending")
	list := func(f syncengine.AuditFilter) []syncengine.AuditEntry {
		t.Helper()
		got, err := as.ListAudit(ctx, f)
		require.NoError(t, err)
		for i := range got {
			got[i].Time = normTime(got[i].Time)
		}
		return got
	}
	pick := func(idx ...int) []syncengine.AuditEntry {
		var out []syncengine.AuditEntry
		for _, i := range idx {
			out = append(out, entries[i])
		}
		return out
	}
	// Newest first; of two entries at the same time, the latest appended first.
	require.Equal(t, pick(4, 3, 2, 1, 0), list(syncengine.AuditFilter{}))
	require.Equal(t, pick(4, 3, 1), list(syncengine.AuditFilter{PairID: "p1"}))
	require.Equal(t, pick(4, 1, 0), list(syncengine.AuditFilter{Project: "42/1001"}))
	require.Equal(t, pick(4, 3, 0), list(syncengine.AuditFilter{Actor: "alice@example.com"}))
	require.Equal(t, pick(3, 2), list(syncengine.AuditFilter{Kinds: []syncengine.AuditKind{
		syncengine.AuditPairPaused, syncengine.AuditPairResumed}}))
	require.Equal(t, pick(3, 2, 1), list(syncengine.AuditFilter{Since: at(time.Second), Until: at(3 * time.Second)}),
		"Since is inclusive, Until exclusive")
	require.Equal(t, pick(4), list(syncengine.AuditFilter{Since: at(2*time.Second + 1)}))
	require.Equal(t, pick(1, 0), list(syncengine.AuditFilter{Until: at(2 * time.Second)}))
	require.Equal(t, pick(4, 3), list(syncengine.AuditFilter{Actor: "alice@example.com", PairID: "p1"}))
	require.Empty(t, list(syncengine.AuditFilter{Actor: "mallory"}))
	require.Empty(t, list(syncengine.AuditFilter{Since: at(time.Hour)}))
	// Paging.
	require.Equal(t, pick(4, 3), list(syncengine.AuditFilter{Limit: 2}))
	require.Equal(t, pick(2, 1), list(syncengine.AuditFilter{Limit: 2, Offset: 2}))
	require.Equal(t, pick(0), list(syncengine.AuditFilter{Limit: 2, Offset: 4}))
	require.Empty(t, list(syncengine.AuditFilter{Offset: 5}))
	// Bad input.
	_, err := as.ListAudit(ctx, syncengine.AuditFilter{Limit: -1})
	require.Error(t, err)
	_, err = as.ListAudit(ctx, syncengine.AuditFilter{Offset: -1})
	require.Error(t, err)
	_, err = as.AppendAudit(ctx, syncengine.AuditEntry{Time: t0, Actor: "a"})
	require.Error(t, err, "an entry without kind")
	_, err = as.AppendAudit(ctx, syncengine.AuditEntry{Time: t0, Kind: syncengine.AuditPairPaused})
	require.Error(t, err, "an entry without actor")
	_, err = as.AppendAudit(ctx, syncengine.AuditEntry{Actor: "a", Kind: syncengine.AuditPairPaused})
	require.Error(t, err, "an entry without time")
	require.Len(t, list(syncengine.AuditFilter{}), len(entries), "refused entries are not stored")
	// A cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = as.AppendAudit(cctx, entries[0])
	require.ErrorIs(t, err, context.Canceled)
	_, err = as.ListAudit(cctx, syncengine.AuditFilter{})
	require.ErrorIs(t, err, context.Canceled)
	// Forgetting a pair keeps its audit entries: the log is the record of
	// what people did.
	if f, ok := s.(syncengine.PairForgetter); ok {
		require.NoError(t, f.ForgetPair(ctx, "p1"))
		require.Equal(t, pick(4, 3, 1), list(syncengine.AuditFilter{PairID: "p1"}))
	}
}

// testStopCounts checks syncengine.StopCounterStore, for stores that
// implement it: counters round-trip per pair, start at zero, and go with a
// forgotten pair.
func testStopCounts(t *testing.T, s syncengine.MetadataStore) {
	cs, ok := s.(syncengine.StopCounterStore)
	if !ok {
		t.Skip("the store does not implement syncengine.StopCounterStore (optional)")
	}
	ctx := context.Background()
	c, err := cs.LoadStopCounts(ctx, "p1")
	require.NoError(t, err)
	require.Zero(t, c)
	c1 := syncengine.StopCounts{Runs: 7, Successes: 4, Failures: 3, ConsecutiveFailures: 2, LastRunID: 1 << 40}
	c2 := syncengine.StopCounts{Runs: 1, Failures: 1, ConsecutiveFailures: 1, LastRunID: 9}
	require.NoError(t, cs.SaveStopCounts(ctx, "p1", c1))
	require.NoError(t, cs.SaveStopCounts(ctx, "p2", c2))
	got, err := cs.LoadStopCounts(ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, c1, got)
	c1.Runs, c1.LastRunID = 8, 1<<40+1
	require.NoError(t, cs.SaveStopCounts(ctx, "p1", c1), "saving again replaces")
	got, err = cs.LoadStopCounts(ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, c1, got)
	got, err = cs.LoadStopCounts(ctx, "p2")
	require.NoError(t, err)
	require.Equal(t, c2, got)
	// Bad input.
	_, err = cs.LoadStopCounts(ctx, "")
	require.Error(t, err)
	require.Error(t, cs.SaveStopCounts(ctx, "", c1))
	require.Error(t, cs.SaveStopCounts(ctx, "p1", syncengine.StopCounts{Runs: -1}))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = cs.LoadStopCounts(cctx, "p1")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, cs.SaveStopCounts(cctx, "p1", c1), context.Canceled)
	if f, ok := s.(syncengine.PairForgetter); ok {
		require.NoError(t, f.ForgetPair(ctx, "p1"))
		got, err = cs.LoadStopCounts(ctx, "p1")
		require.NoError(t, err)
		require.Zero(t, got, "a forgotten pair's counters are gone")
		got, err = cs.LoadStopCounts(ctx, "p2")
		require.NoError(t, err)
		require.Equal(t, c2, got)
	}
}

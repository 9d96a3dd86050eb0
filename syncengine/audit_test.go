package syncengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

func auditKinds(k ...syncengine.AuditKind) []syncengine.AuditKind { return k }

// The admin actions record who did them, when, and what.
func TestAuditAdminActions(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.DeleteLimit = 2 })
	alice := syncengine.WithActor(e.ctx, "alice@example.com")
	bob := syncengine.WithActor(e.ctx, "bob@example.com")
	for i := range 5 {
		e.write(e.a, fmt.Sprintf("f%d.txt", i), "x")
	}
	e.run()
	for i := range 5 {
		require.NoError(t, e.a.Remove(fmt.Sprintf("f%d.txt", i)))
	}
	e.run()
	held, err := e.eng.Held(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, held, 3)

	e.clk.Advance(time.Minute)
	require.NoError(t, e.eng.ApproveHeld(alice, "p1", []int64{held[0].ID}))
	e.clk.Advance(time.Minute)
	require.NoError(t, e.eng.RejectHeld(bob, "p1", []int64{held[1].ID, held[2].ID}))
	e.clk.Advance(time.Minute)
	require.NoError(t, e.eng.Pause(alice, "p1", "site closed for the holidays"))
	e.clk.Advance(time.Minute)
	require.NoError(t, e.eng.Resume(bob, "p1"))

	got := e.audit(syncengine.AuditFilter{PairID: "p1"})
	require.Len(t, got, 4)
	resumed, paused, rejected, approved := got[0], got[1], got[2], got[3]

	require.Equal(t, syncengine.AuditHeldApproved, approved.Kind)
	require.Equal(t, "alice@example.com", approved.Actor)
	require.Equal(t, epoch.Add(time.Minute), approved.Time)
	require.Equal(t, map[string]string{"count": "1", "ids": fmt.Sprint(held[0].ID), "paths": "B:" + held[0].Path},
		approved.Details)

	require.Equal(t, syncengine.AuditHeldRejected, rejected.Kind)
	require.Equal(t, "bob@example.com", rejected.Actor)
	require.Equal(t, "2", rejected.Details["count"])
	require.Equal(t, fmt.Sprintf("%d,%d", held[1].ID, held[2].ID), rejected.Details["ids"])
	require.Equal(t, "B:"+held[1].Path+"\nB:"+held[2].Path, rejected.Details["paths"])

	require.Equal(t, syncengine.AuditPairPaused, paused.Kind)
	require.Equal(t, "alice@example.com", paused.Actor)
	require.Equal(t, map[string]string{"reason": "site closed for the holidays"}, paused.Details)

	require.Equal(t, syncengine.AuditPairResumed, resumed.Kind)
	require.Equal(t, "bob@example.com", resumed.Actor)
	require.Equal(t, epoch.Add(4*time.Minute), resumed.Time)

	// Resuming a pair that is not paused records nothing.
	require.NoError(t, e.eng.Resume(bob, "p1"))
	require.Len(t, e.audit(syncengine.AuditFilter{PairID: "p1"}), 4)

	// Filters reach the engine's store.
	require.Len(t, e.audit(syncengine.AuditFilter{Actor: "alice@example.com"}), 2)
	require.Len(t, e.audit(syncengine.AuditFilter{Kinds: auditKinds(syncengine.AuditPairPaused, syncengine.AuditPairResumed)}), 2)
	require.Len(t, e.audit(syncengine.AuditFilter{Since: epoch.Add(2 * time.Minute)}), 3)
	require.Len(t, e.audit(syncengine.AuditFilter{Limit: 1, Offset: 3}), 1)
	_, err = e.eng.AuditLog(e.ctx, syncengine.AuditFilter{Limit: -1})
	require.ErrorIs(t, err, syncengine.ErrInvalidAudit)
}

func TestAuditQuarantineReleased(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "bad.txt", "bad")
	ws := &failingPuts{Storage: e.b, name: "bad.txt", err: errors.New("connection reset")}
	e.pair.B = ws
	e.restart()
	for range 4 {
		e.run()
		e.clk.Advance(2 * time.Hour)
	}
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.True(t, fs[0].Quarantined)
	require.NoError(t, e.eng.ReleaseQuarantine(syncengine.WithActor(e.ctx, "carol@example.com"), "p1", fs[0].Side, fs[0].Path))
	got := e.audit(syncengine.AuditFilter{Kinds: auditKinds(syncengine.AuditQuarantineReleased)})
	require.Len(t, got, 1)
	require.Equal(t, "carol@example.com", got[0].Actor)
	require.Equal(t, map[string]string{"side": "B", "path": "bad.txt"}, got[0].Details)
}

// A protected root gone pauses the pair: the engine did it, so the actor
// is the system even when the run was asked for by a person.
func TestAuditRootGonePause(t *testing.T) {
	root := memory.New()
	folder, err := root.Mkdirs("Projects/Tower 3")
	require.NoError(t, err)
	sub := root.Sub(folder.ID)
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.A = sub })
	e.write(sub, "b.txt", "b")
	e.run()
	require.NoError(t, root.Remove("Projects/Tower 3"))
	r, err := e.eng.RunOnce(syncengine.WithActor(e.ctx, "alice@example.com"), "p1", syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunRefused, r.Status)
	got := e.audit(syncengine.AuditFilter{Kinds: auditKinds(syncengine.AuditPairPaused)})
	require.Len(t, got, 1)
	require.Equal(t, syncengine.SystemActor, got[0].Actor)
	require.True(t, strings.HasPrefix(got[0].Details["reason"], "protected root: "), got[0].Details["reason"])
}

// Engine.Audit is how other code (the projects package) records what it
// does: defaults, validation, secrets redacted.
func TestEngineAudit(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, func(_ *syncengine.Pair, o *syncengine.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	ctx := syncengine.WithActor(e.ctx, "dana@example.com")
	require.NoError(t, e.eng.Audit(ctx, syncengine.AuditEntry{Kind: syncengine.AuditProjectAdded, Project: "42/1001",
		Details: map[string]string{"tools": "documents,photos", "client_secret": "s3cr3t-value", "Access-Token": "tok-123",
			"webhook_signing_key": "k-456"}}))
	require.NoError(t, e.eng.Audit(e.ctx, syncengine.AuditEntry{Kind: "custom_kind_2", PairID: "p1",
		Time: epoch.Add(-time.Hour)}))

	got := e.audit(syncengine.AuditFilter{})
	require.Len(t, got, 2)
	require.Equal(t, "dana@example.com", got[0].Actor)
	require.Equal(t, epoch, got[0].Time, "the time defaults to the engine's clock")
	require.Equal(t, "42/1001", got[0].Project)
	require.Equal(t, map[string]string{"tools": "documents,photos", "client_secret": "[redacted]",
		"Access-Token": "[redacted]", "webhook_signing_key": "[redacted]"}, got[0].Details)
	require.Equal(t, syncengine.SystemActor, got[1].Actor, "no actor in the context: the system")
	require.Equal(t, syncengine.AuditKind("custom_kind_2"), got[1].Kind)
	require.Equal(t, epoch.Add(-time.Hour), got[1].Time)
	for _, secret := range []string{"s3cr3t-value", "tok-123", "k-456"} {
		require.NotContains(t, logs.String(), secret, "secrets are not logged")
	}
	require.Contains(t, logs.String(), "project_added")

	for _, bad := range []syncengine.AuditEntry{
		{},
		{Kind: "Project Added"},
		{Kind: syncengine.AuditKind(strings.Repeat("k", syncengine.MaxAuditKind+1))},
		{Kind: syncengine.AuditPairPaused, Actor: "eve\nadmin"},
		{Kind: syncengine.AuditPairPaused, Actor: strings.Repeat("a", syncengine.MaxAuditActor+1)},
		{Kind: syncengine.AuditPairPaused, PairID: "p\x00"},
		{Kind: syncengine.AuditPairPaused, Project: "\xff"},
		{Kind: syncengine.AuditPairPaused, Details: map[string]string{"": "x"}},
		{Kind: syncengine.AuditPairPaused, Details: map[string]string{"x": strings.Repeat("v", syncengine.MaxAuditDetailSize+1)}},
		{Kind: syncengine.AuditPairPaused, Details: manyDetails(syncengine.MaxAuditDetails + 1)},
	} {
		require.ErrorIs(t, e.eng.Audit(ctx, bad), syncengine.ErrInvalidAudit, "%+v", bad)
	}
	require.Len(t, e.audit(syncengine.AuditFilter{}), 2, "invalid entries are not recorded")
}

func manyDetails(n int) map[string]string {
	d := map[string]string{}
	for i := range n {
		d[fmt.Sprint("k", i)] = "v"
	}
	return d
}

// A store without the audit role: Engine.Audit only logs, AuditLog says
// there is no log, and the admin actions work all the same.
func TestAuditWithoutAuditStore(t *testing.T) {
	e := newEnv(t, func(_ *syncengine.Pair, o *syncengine.Options) { o.Store = plainStore{o.Store} })
	require.NoError(t, e.eng.Audit(e.ctx, syncengine.AuditEntry{Kind: syncengine.AuditProjectRemoved}))
	_, err := e.eng.AuditLog(e.ctx, syncengine.AuditFilter{})
	require.ErrorIs(t, err, syncengine.ErrNoAuditStore)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	require.NoError(t, e.eng.Pause(e.ctx, "p1", ""))
	require.NoError(t, e.eng.Resume(e.ctx, "p1"))
	got, err := e.store.ListAudit(context.Background(), syncengine.AuditFilter{})
	require.NoError(t, err)
	require.Empty(t, got)
}

func TestActorFrom(t *testing.T) {
	require.Equal(t, syncengine.SystemActor, syncengine.ActorFrom(context.Background()))
	require.Equal(t, syncengine.SystemActor, syncengine.ActorFrom(syncengine.WithActor(context.Background(), "")))
	require.Equal(t, "x@y.z", syncengine.ActorFrom(syncengine.WithActor(context.Background(), "x@y.z")))
}

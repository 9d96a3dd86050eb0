package records_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/records"
)

// TestWebhookWakeUps: a person's edit of an RFI in Procore reaches the
// receiver as an "RFIs" event and wakes the RFIs storage, not the Forms
// storage.
func TestWebhookWakeUps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &fakeClock{t: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	srv, c := newFake(t, clk)
	rcv, err := procore.NewReceiver("Bearer wake-secret")
	require.NoError(t, err)
	hs := httptest.NewServer(rcv)
	defer hs.Close()
	var names []string
	for _, tool := range []string{procore.ToolRFIs, procore.ToolForms, procore.ToolInspections} {
		names = append(names, procore.RecordResources[tool]...)
	}
	// RegisterHookV2 subscribes the events Procore offers and names the
	// others ("Inspection Checklists" has no delete event).
	_, err = c.Webhooks.RegisterHookV2(ctx, procore.WebhookScope{CompanyID: srv.CompanyID, ProjectID: srv.ProjectID}, "records", hs.URL,
		"Bearer wake-secret", "v2.0", names)
	var unsub *procore.UnsubscribableError
	require.ErrorAs(t, err, &unsub)
	require.Equal(t, []string{"Inspection Checklists/delete"}, unsub.Missing)
	p := records.Project{ID: srv.ProjectID, Name: "P"}
	rfis := storageOf(t, c, records.NewRFIs(c, p, nil), clk)
	forms := storageOf(t, c, records.NewForms(c, p, nil), clk)
	require.Equal(t, 2, records.WatchWebhooks(rcv, srv.ProjectID, rfis, forms))
	rw, err := rfis.Watch(ctx)
	require.NoError(t, err)
	fw, err := forms.Watch(ctx)
	require.NoError(t, err)

	id, err := srv.UICreateRecord(srv.ProjectID, procoretest.ToolRFIs, "1", "Door hardware", "open")
	require.NoError(t, err)
	require.NoError(t, srv.UIEditRecord(srv.ProjectID, procoretest.ToolRFIs, id, "Door hardware (rev)", ""))
	srv.WaitWebhooks()
	select {
	case <-rw:
	case <-time.After(5 * time.Second):
		t.Fatal("the RFIs storage was not woken")
	}
	select {
	case <-fw:
		t.Fatal("the Forms storage was woken by an RFI event")
	default:
	}
}

// TestWebhookWakeUpsDrawingsDailyLog: a new drawing revision reaches the
// receiver as a "Drawings" event and wakes the Drawings storage only; a
// person's notes log entry ("Notes Logs") wakes the Daily Log only; a
// weather log deletion sends no event ("Weather Logs" has no delete
// event).
func TestWebhookWakeUpsDrawingsDailyLog(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, c, clk := ftFake(t)
	pid := srv.ProjectID
	rcv, err := procore.NewReceiver("Bearer wake-secret")
	require.NoError(t, err)
	hs := httptest.NewServer(rcv)
	defer hs.Close()
	names := append(append([]string(nil), procore.RecordResources[procore.ToolDrawings]...),
		procore.RecordResources[procore.ToolDailyLog]...)
	_, err = c.Webhooks.RegisterHookV2(ctx, procore.WebhookScope{CompanyID: srv.CompanyID, ProjectID: pid}, "records", hs.URL,
		"Bearer wake-secret", "v2.0", names)
	var unsub *procore.UnsubscribableError
	require.ErrorAs(t, err, &unsub)
	require.Equal(t, []string{"Weather Logs/delete"}, unsub.Missing)
	for _, n := range names {
		require.NotEmpty(t, procore.ToolOf(n), n)
	}

	dw := newDrawings(t, c, pid, clk, nil)
	dl := newDailyLog(c, pid, clk, nil)
	require.Equal(t, 1, records.WatchWebhooks(rcv, pid, dw))
	records.WatchDailyLogWebhooks(rcv, dl)
	dww, err := dw.Watch(ctx)
	require.NoError(t, err)
	dlw, err := dl.Watch(ctx)
	require.NoError(t, err)
	woken := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(5 * time.Second):
			return false
		}
	}
	quiet := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return false
		default:
			return true
		}
	}

	area := srv.UIAddDrawingArea(pid, "Building A")
	d, _, err := srv.UIAddDrawing(pid, area, "Architectural", "A-101", "Ground Floor Plan", nil)
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.True(t, woken(dww), "the Drawings storage was not woken by a new drawing")
	require.True(t, quiet(dlw), "the Daily Log was woken by a drawing event")
	_, err = srv.UIAddDrawingRevision(d, "1", procoretest.TinyPDF("A-101 rev 1"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.True(t, woken(dww), "the Drawings storage was not woken by a new revision")
	require.NoError(t, srv.UIRenameDrawingArea(area, "Building A (north)"))
	srv.WaitWebhooks()
	require.True(t, woken(dww), "the Drawings storage was not woken by an area rename")

	id, err := srv.UIAddDailyLogEntry(pid, "notes_logs", "2026-12-03", map[string]any{"comment": "Crane inspection"})
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.True(t, woken(dlw), "the Daily Log was not woken by a notes log entry")
	require.True(t, quiet(dww), "the Drawings storage was woken by a daily log event")
	require.NoError(t, srv.UIEditDailyLogEntry(id, map[string]any{"comment": "Crane inspection passed"}))
	srv.WaitWebhooks()
	require.True(t, woken(dlw), "the Daily Log was not woken by an edit")
	w, err := srv.UIAddDailyLogEntry(pid, "weather_logs", "2026-12-03", nil)
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.True(t, woken(dlw), "the Daily Log was not woken by a weather log entry")
	require.NoError(t, srv.UIDeleteDailyLogEntry(w))
	srv.WaitWebhooks()
	require.True(t, quiet(dlw), "a weather log deletion sent an event Procore does not offer")
	require.NoError(t, srv.UIDeleteDailyLogEntry(id))
	srv.WaitWebhooks()
	require.True(t, woken(dlw), "the Daily Log was not woken by a notes log deletion")
}

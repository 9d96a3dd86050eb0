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

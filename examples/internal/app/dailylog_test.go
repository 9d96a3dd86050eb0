package app

import (
	"context"
	"testing"
	"time"
)

// TestDailyLogWebhookWakeUp: the service registers the Daily Log with the
// Procore receiver, and a person's notes log entry in Procore, delivered
// as a "Notes Logs" event to the service's hook, wakes the Daily Log.
func TestDailyLogWebhookWakeUp(t *testing.T) {
	sv := startServiceOn(t, Box, nil)
	sv.settle(t)
	if sv.s.DailyLog == nil {
		t.Fatal("no Daily Log storage with -tools all")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := sv.s.DailyLog.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.f.Procore.UIAddDailyLogEntry(sv.cfg.ProcoreProjectID, "notes_logs", time.Now().UTC().Format("2006-01-02"),
		map[string]any{"comment": "Crane inspection"}); err != nil {
		t.Fatal(err)
	}
	sv.f.Procore.WaitWebhooks()
	select {
	case <-w:
	case <-time.After(10 * time.Second):
		t.Fatal("the Daily Log was not woken by its webhook event")
	}
	sv.stop()
}

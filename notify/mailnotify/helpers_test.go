package mailnotify_test

import (
	"context"
	"testing"
	"time"

	"github.com/procoresync/procoresync/notify"
	"github.com/procoresync/procoresync/notify/mailnotify"
	"github.com/procoresync/procoresync/syncengine"
)

func batchOf(evs ...syncengine.Event) notify.Batch {
	return notify.Batch{Group: "pm@example.com", Events: evs}
}

// sendNow sends one event synchronously through n's Sender, as the
// Batcher would, and returns its error.
func sendNow(t *testing.T, n *mailnotify.Notifier) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return n.Send(ctx, batchOf(syncengine.Event{Kind: syncengine.EventRunFailed, PairID: "p", Message: "Sync of p failed"}))
}

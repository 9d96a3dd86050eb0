package records

import (
	"context"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
)

var _ storage.Watcher = (*Storage)(nil)

// Watch returns a channel signalled by Notify (the webhook receiver wakes
// the storage on its tool's events, see WatchWebhooks).
func (s *Storage) Watch(ctx context.Context) (<-chan struct{}, error) {
	return s.wake.Watch(ctx), nil
}

// Notify wakes every watcher (coalesced).
func (s *Storage) Notify() { s.wake.Notify() }

// webhookTool is implemented by tools with webhook events.
type webhookTool interface {
	// WebhookTool is the procore.Tool* name its events map to.
	WebhookTool() string
}

// WebhookTool is procore.ToolRFIs.
func (t *RFIsTool) WebhookTool() string { return procore.ToolRFIs }

// WebhookTool is procore.ToolSubmittals.
func (t *SubmittalsTool) WebhookTool() string { return procore.ToolSubmittals }

// WebhookTool is procore.ToolObservations.
func (t *ObservationsTool) WebhookTool() string { return procore.ToolObservations }

// WebhookTool is procore.ToolInspections.
func (t *InspectionsTool) WebhookTool() string { return procore.ToolInspections }

// WebhookTool is procore.ToolIncidents.
func (t *IncidentsTool) WebhookTool() string { return procore.ToolIncidents }

// WebhookTool is procore.ToolForms.
func (t *FormsTool) WebhookTool() string { return procore.ToolForms }

// WebhookTool is procore.ToolCommitments.
func (t *CommitmentsTool) WebhookTool() string { return procore.ToolCommitments }

// WebhookTool is procore.ToolDrawings.
func (d *Drawings) WebhookTool() string { return procore.ToolDrawings }

// WebhookTool is procore.ToolDailyLog.
func (l *DailyLog) WebhookTool() string { return procore.ToolDailyLog }

var _ storage.Watcher = (*DailyLog)(nil)

// Watch returns a channel signalled by Notify (the webhook receiver wakes
// the Daily Log on its events, see WatchDailyLogWebhooks).
func (l *DailyLog) Watch(ctx context.Context) (<-chan struct{}, error) {
	return l.wake.Watch(ctx), nil
}

// Notify wakes every watcher of the Daily Log (coalesced).
func (l *DailyLog) Notify() { l.wake.Notify() }

// WatchDailyLogWebhooks registers l with r so that the Daily Log webhook
// events of its project (procore.RecordResources[procore.ToolDailyLog])
// wake it.
func WatchDailyLogWebhooks(r *procore.Receiver, l *DailyLog) {
	r.Watch(0, l.projectID, l.WebhookTool(), l)
}

// WatchWebhooks registers the storages with r so that their tools'
// webhook events (procore.RecordResources) in project projectID wake
// them. Storages whose tool has no webhook events are left out; it
// returns how many were registered.
func WatchWebhooks(r *procore.Receiver, projectID int64, storages ...*Storage) int {
	n := 0
	for _, s := range storages {
		if wt, ok := s.tool.(webhookTool); ok {
			r.Watch(0, projectID, wt.WebhookTool(), s)
			n++
		}
	}
	return n
}

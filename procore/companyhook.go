package procore

import (
	"context"
	"slices"
	"time"
)

// ProjectResources returns the webhook resource names of every project
// tool this package syncs (Documents, Photos and each record tool), sorted.
func ProjectResources() []string {
	out := slices.Concat(DocumentResources, PhotoResources)
	for _, names := range RecordResources {
		out = append(out, names...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RegisterCompanyHook makes sure one company-scoped hook of namespace
// (POST /rest/v2.0/companies/{company_id}/webhooks/hooks, with bulk
// triggers) delivers to destination the events of resources in every
// project of the Client's company, present and future, and of the company
// itself: one registration instead of one per project. With resources nil
// it subscribes ProjectResources and CompanyDocumentResources. A Receiver
// routes each event to the storages watching its project and tool. Like
// RegisterHook it is idempotent; an *UnsubscribableError next to the hook
// names the resources Procore offers no trigger for.
func (s *WebhooksService) RegisterCompanyHook(ctx context.Context, namespace, destination, authorization, payloadVersion string, resources []string) (*Hook, error) {
	if resources == nil {
		resources = slices.Concat(ProjectResources(), CompanyDocumentResources)
	}
	return s.RegisterHook(ctx, WebhookScope{CompanyID: s.c.CompanyID}, namespace, destination, authorization, payloadVersion, resources)
}

// Unwatch removes n from the storages woken by events of tool in project
// projectID (or the company-level tool of companyID): a removed pair's
// storage is no longer woken.
func (r *Receiver) Unwatch(companyID, projectID int64, tool string, n Notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := targetKey(companyID, projectID, tool)
	r.targets[k] = slices.DeleteFunc(r.targets[k], func(x Notifier) bool { return x == n })
	if len(r.targets[k]) == 0 {
		delete(r.targets, k)
	}
}

// Watching returns how many (project or company, tool) targets have at
// least one storage registered.
func (r *Receiver) Watching() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.targets)
}

// LastEvent returns when the Receiver last accepted an authentic event
// (zero: never), for a health check of the webhook path.
func (r *Receiver) LastEvent() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastEvent
}

package portal

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/procoresync/procoresync/syncengine"
)

// AuditEntry is one line of the admin audit log: a change someone made.
type AuditEntry struct {
	ID    int64     `json:"id"`
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	// Kind names the change, e.g. "held_delete_approved",
	// "project_added", "account_created", "connection_added" (the
	// syncengine Audit kinds, and the portal's own).
	Kind    string `json:"kind"`
	PairID  string `json:"pair_id,omitempty"`
	Project string `json:"project,omitempty"`
	// Details describe the change (never a secret).
	Details map[string]string `json:"details,omitempty"`
}

// AuditQuery filters the audit log. Zero fields do not filter.
type AuditQuery struct {
	PairID, Project, Actor, Kind string
	Range                        DateRange
	Limit, Offset                int
}

func (q AuditQuery) match(e AuditEntry) bool {
	return (q.PairID == "" || e.PairID == q.PairID) && (q.Project == "" || e.Project == q.Project) &&
		(q.Actor == "" || e.Actor == q.Actor) && (q.Kind == "" || e.Kind == q.Kind) && q.Range.contains(e.Time)
}

// AuditLog keeps the audit log. The syncengine AuditStore of the metadata
// store is the durable implementation; MemoryAudit keeps it in memory.
type AuditLog interface {
	// Append records an entry (its ID is assigned by the log).
	Append(ctx context.Context, e AuditEntry) error
	// List returns the entries q selects, newest first.
	List(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// MemoryAudit is an AuditLog in memory.
type MemoryAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
}

// NewMemoryAudit returns an empty in-memory audit log.
func NewMemoryAudit() *MemoryAudit { return &MemoryAudit{} }

// Append implements AuditLog.
func (m *MemoryAudit) Append(_ context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.ID = int64(len(m.entries) + 1)
	e.Details = cloneMap(e.Details)
	m.entries = append(m.entries, e)
	return nil
}

// List implements AuditLog.
func (m *MemoryAudit) List(_ context.Context, q AuditQuery) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AuditEntry
	skipped := 0
	for _, e := range slices.Backward(m.entries) {
		if !q.match(e) {
			continue
		}
		if skipped < q.Offset {
			skipped++
			continue
		}
		e.Details = cloneMap(e.Details)
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// EngineAudit is the AuditLog kept by the engine's metadata store (the
// syncengine AuditStore role): durable, shared with the entries the engine
// records itself (held deletions approved or rejected, quarantines
// released, pauses and resumes, stop policies).
type EngineAudit struct {
	Engine *syncengine.Engine
}

// Append implements AuditLog (Engine.Audit: secrets in details are
// redacted).
func (a EngineAudit) Append(ctx context.Context, e AuditEntry) error {
	return a.Engine.Audit(syncengine.WithActor(ctx, e.Actor), syncengine.AuditEntry{Time: e.Time, Actor: e.Actor,
		Kind: syncengine.AuditKind(e.Kind), PairID: e.PairID, Project: e.Project, Details: e.Details})
}

// List implements AuditLog.
func (a EngineAudit) List(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	f := syncengine.AuditFilter{PairID: q.PairID, Project: q.Project, Actor: q.Actor, Since: q.Range.From,
		Until: q.Range.To, Limit: q.Limit, Offset: q.Offset}
	if q.Kind != "" {
		f.Kinds = []syncengine.AuditKind{syncengine.AuditKind(q.Kind)}
	}
	es, err := a.Engine.AuditLog(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, len(es))
	for i, e := range es {
		out[i] = AuditEntry{ID: e.ID, Time: e.Time.UTC(), Actor: e.Actor, Kind: string(e.Kind), PairID: e.PairID,
			Project: e.Project, Details: e.Details}
	}
	return out, nil
}

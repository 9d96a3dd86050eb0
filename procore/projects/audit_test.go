package projects_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// TestAuditEntries: every change of a project through the Manager is an
// audit entry with the actor of the context, and only one.
func TestAuditEntries(t *testing.T) {
	_, c, pid := newFake(t)
	e := newEnv(t, t.TempDir())
	ctx := syncengine.WithActor(t.Context(), "alice@example.com")
	p := project(c, pid, memTarget{memory.New()}, projects.Documents)
	_, err := e.m.Add(ctx, p)
	require.NoError(t, err)
	p.Options.DeleteLimit = 7
	require.NoError(t, e.m.Update(ctx, p))
	require.NoError(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.RFIs}))
	require.NoError(t, e.m.RemoveTool(ctx, p.Key(), projects.RFIs, projects.RemoveOptions{}))
	require.NoError(t, e.m.Remove(syncengine.WithActor(t.Context(), "bob@example.com"), p.Key(), projects.RemoveOptions{}))

	got, err := e.eng.AuditLog(t.Context(), syncengine.AuditFilter{Project: p.Key().String()})
	require.NoError(t, err)
	var kinds, actors []string
	for i := len(got) - 1; i >= 0; i-- { // oldest first
		kinds = append(kinds, string(got[i].Kind))
		actors = append(actors, got[i].Actor)
	}
	require.Equal(t, []string{"project_added", "project_updated", "project_updated", "project_updated", "project_removed"}, kinds)
	require.Equal(t, []string{"alice@example.com", "alice@example.com", "alice@example.com", "alice@example.com", "bob@example.com"}, actors)
	require.Equal(t, "changed", got[3].Details["options"])
	require.Equal(t, "rfis", got[2].Details["tool_added"])
	require.Equal(t, "rfis", got[1].Details["tool_removed"])
}

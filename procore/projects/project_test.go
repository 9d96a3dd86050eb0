package projects_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

func TestValidate(t *testing.T) {
	srv, c, pid := newFake(t)
	other := newClient(t, srv, srv.CompanyID+1)
	target := memTarget{memory.New()}
	ok := func() projects.Project { return project(c, pid, target, projects.Documents, projects.RFIs) }
	for _, tc := range []struct {
		name  string
		edit  func(p *projects.Project)
		field string // "" valid
	}{
		{"valid", func(p *projects.Project) {}, ""},
		{"no client", func(p *projects.Project) { p.Client = nil }, "Client"},
		{"client of another company", func(p *projects.Project) { p.Client = other }, "Client"},
		{"no company", func(p *projects.Project) { p.CompanyID = 0 }, "CompanyID"},
		{"negative project", func(p *projects.Project) { p.ProjectID = -1 }, "ProjectID"},
		{"no target", func(p *projects.Project) { p.Target = nil }, "Target"},
		{"no tools", func(p *projects.Project) { p.Tools = nil }, "Tools"},
		{"unknown tool", func(p *projects.Project) { p.Tools = projects.WithTools("punch-list") }, "Tools"},
		{"tool twice", func(p *projects.Project) { p.Tools = projects.WithTools(projects.RFIs, projects.RFIs) }, "Tools"},
		{"bad direction", func(p *projects.Project) { p.Tools[0].Direction = 7 }, "Tools"},
		{"absolute root", func(p *projects.Project) { p.Root = "/Procore" }, "Root"},
		{"dot-dot root", func(p *projects.Project) { p.Root = "Procore/../x" }, "Root"},
		{"trailing slash root", func(p *projects.Project) { p.Root = "Procore/" }, "Root"},
		{"nested root", func(p *projects.Project) { p.Root = "Shared/Procore" }, ""},
		{"empty root", func(p *projects.Project) { p.Root = "" }, ""},
		{"integration name of 70", func(p *projects.Project) { p.Options.IntegrationName = strings.Repeat("a", 70) }, ""},
		{"integration name of 70 runes", func(p *projects.Project) { p.Options.IntegrationName = strings.Repeat("Ø", 70) }, ""},
		{"integration name of 71", func(p *projects.Project) { p.Options.IntegrationName = strings.Repeat("a", 71) }, "Options.IntegrationName"},
		{"integration name with newline", func(p *projects.Project) { p.Options.IntegrationName = "a\nb" }, "Options.IntegrationName"},
		{"negative delete limit", func(p *projects.Project) { p.Options.DeleteLimit = -1 }, "Options.DeleteLimit"},
		{"negative interval", func(p *projects.Project) { p.Options.Interval = -1 }, "Options.Interval"},
		{"bad initial mode", func(p *projects.Project) { p.Options.Initial = 9 }, "Options.Initial"},
		{"slash replacement", func(p *projects.Project) { p.Options.Replacement = "/" }, "Options.Replacement"},
		{"bad recipient", func(p *projects.Project) { p.Options.Recipients = []string{"pm at example.com"} }, "Options.Recipients"},
		{"recipient", func(p *projects.Project) { p.Options.Recipients = []string{"pm@example.com"} }, ""},
		{"bad filter", func(p *projects.Project) { p.Options.Filter.Exclude = []string{"["} }, "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.edit(&p)
			err := p.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.field == "?" {
				return
			}
			require.ErrorIs(t, err, projects.ErrInvalidProject)
			var ce *projects.ConfigError
			require.True(t, errors.As(err, &ce), "%T", err)
			require.Equal(t, tc.field, ce.Field)
		})
	}
}

func TestParseTool(t *testing.T) {
	for in, want := range map[string]projects.Tool{"rfis": projects.RFIs, "RFIs": projects.RFIs, "Daily Log": projects.DailyLog,
		" daily-log ": projects.DailyLog, "company documents": projects.CompanyDocuments} {
		got, err := projects.ParseTool(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	_, err := projects.ParseTool("punch")
	require.ErrorIs(t, err, projects.ErrInvalidProject)
	for _, tool := range projects.AllTools {
		require.NotEmpty(t, tool.Folder())
		require.Equal(t, tool == projects.Documents || tool == projects.Photos || tool == projects.CompanyDocuments, tool.TwoWay())
	}
}

func TestDefaultPairID(t *testing.T) {
	k := projects.Key{CompanyID: 7, ProjectID: 42}
	require.Equal(t, "procore/7/42/rfis", projects.DefaultPairID(k, projects.RFIs))
	require.Equal(t, "procore/7/42/daily-log", projects.DefaultPairID(k, projects.DailyLog))
	require.Equal(t, "procore/7/company-documents", projects.DefaultPairID(k, projects.CompanyDocuments))
	require.Equal(t, "procore/7/company-documents", projects.DefaultPairID(projects.Key{CompanyID: 7, ProjectID: 43}, projects.CompanyDocuments))
}

// TestPairDerivation: each tool becomes one pair with a stable ID, its
// folder in the layout, its direction and delete policy; company
// Documents is one pair per company.
func TestPairDerivation(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	pid2 := srv.AddProject(srv.CompanyID, "Depot: North/South?")
	target := memTarget{memory.New()}
	e := newEnv(t, t.TempDir())

	p := project(c, pid, target, projects.Documents, projects.Photos, projects.RFIs, projects.Drawings, projects.CompanyDocuments)
	p.Tools[0].Direction = syncengine.DirectionOneWayAB // forced one way
	p.Tools[2].Direction = syncengine.DirectionTwoWay   // a one-way tool stays one way
	p.Options.KeepDeletes = false
	info, err := e.m.Add(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "Tower 3", info.Name)
	require.Equal(t, "Procore/Tower 3", info.Folder)

	type row struct {
		tool    projects.Tool
		id      string
		folder  string
		dir     syncengine.Direction
		deletes syncengine.DeletePolicy
	}
	k := p.Key()
	want := []row{
		{projects.Documents, projects.DefaultPairID(k, projects.Documents), "Procore/Tower 3/Documents", syncengine.DirectionOneWayAB, syncengine.DeletePropagate},
		{projects.Photos, projects.DefaultPairID(k, projects.Photos), "Procore/Tower 3/Photos", syncengine.DirectionTwoWay, syncengine.DeleteKeep},
		{projects.RFIs, projects.DefaultPairID(k, projects.RFIs), "Procore/Tower 3/RFIs", syncengine.DirectionOneWayAB, syncengine.DeletePropagate},
		{projects.Drawings, projects.DefaultPairID(k, projects.Drawings), "Procore/Tower 3/Drawings", syncengine.DirectionOneWayAB, syncengine.DeletePropagate},
		{projects.CompanyDocuments, projects.DefaultPairID(k, projects.CompanyDocuments), "Procore/Company Documents", syncengine.DirectionTwoWay, syncengine.DeletePropagate},
	}
	require.Len(t, info.Pairs, len(want))
	for i, w := range want {
		got := info.Pairs[i]
		require.Equal(t, w.tool, got.Tool)
		require.Equal(t, w.id, got.PairID)
		require.Equal(t, w.folder, got.Folder)
		require.Equal(t, w.dir, got.Direction)
		ep, ok := e.eng.Pair(w.id)
		require.True(t, ok, w.id)
		require.Equal(t, w.dir, ep.Direction, w.id)
		require.Equal(t, w.deletes, ep.Deletes, w.id)
		require.Equal(t, 25, ep.DeleteLimit)
		require.True(t, ep.NameMapping)
		require.Equal(t, "Memory", ep.BName)
		_, err := target.m.Stat(ctx, w.folder)
		require.NoError(t, err, "folder %s made", w.folder)
	}

	// A second project of the company: its name mapped into a folder
	// name, company Documents shared.
	p2 := project(c, pid2, target, projects.Documents, projects.CompanyDocuments)
	p2.Options.KeepDeletes = true
	p2.Options.IntegrationName = "Depot sync"
	info2, err := e.m.Add(ctx, p2)
	require.NoError(t, err)
	require.Equal(t, "Procore/Depot- North-South-", info2.Folder)
	require.Len(t, e.eng.Pairs(), 6)
	ep, _ := e.eng.Pair(info2.Pairs[0].PairID)
	require.Equal(t, syncengine.DeleteKeep, ep.Deletes)
	require.Equal(t, "Depot sync / Documents", ep.Name)
	require.Equal(t, info.Pairs[4].PairID, info2.Pairs[1].PairID)

	_, err = e.m.Add(ctx, p2)
	require.ErrorIs(t, err, projects.ErrProjectExists)

	// Company Documents leaves with the company's last project.
	require.NoError(t, e.m.Remove(ctx, p.Key(), projects.RemoveOptions{}))
	require.Len(t, e.eng.Pairs(), 2)
	require.NoError(t, e.m.Remove(ctx, p2.Key(), projects.RemoveOptions{}))
	require.Empty(t, e.eng.Pairs())
	require.Empty(t, e.m.List())
	require.ErrorIs(t, e.m.Remove(ctx, p2.Key(), projects.RemoveOptions{}), projects.ErrUnknownProject)
}

package projects_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// TestAddRemoveKeepsFilesAndState: a project's pairs sync into the
// layout; removing the project stops its pairs and keeps the target's
// files; adding it again (and after a restart) carries on from the kept
// state, copying nothing again; ForgetState forgets it.
func TestAddRemoveKeepsFilesAndState(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	docs := procoretest.ProjectDocs(pid)
	_, err := srv.UIPutFile(docs, "Specs/03 30 00 Concrete.pdf", []byte("concrete spec"))
	require.NoError(t, err)
	_, err = srv.UIPutFile(docs, "Drawings/A-101.pdf", []byte("plan"))
	require.NoError(t, err)
	_, err = srv.UICreateRecord(pid, procoretest.ToolRFIs, "12", "Slab edge", "open")
	require.NoError(t, err)
	target := memTarget{memory.New()}
	dir := t.TempDir()
	e := newEnv(t, dir)
	p := project(c, pid, target, projects.Documents, projects.RFIs)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	e.runAll(t)
	got := files(t, target.m, "Procore/Tower 3/Documents")
	require.Contains(t, got, "Procore/Tower 3/Documents/Specs/03 30 00 Concrete.pdf")
	require.Contains(t, got, "Procore/Tower 3/Documents/Drawings/A-101.pdf")
	rfis := files(t, target.m, "Procore/Tower 3/RFIs")
	require.NotEmpty(t, rfis)
	docID := projects.DefaultPairID(p.Key(), projects.Documents)
	n, err := e.store.CountItems(ctx, docID)
	require.NoError(t, err)
	require.Positive(t, n)

	require.NoError(t, e.m.Remove(ctx, p.Key(), projects.RemoveOptions{}))
	require.Empty(t, e.eng.Pairs())
	require.Equal(t, got, files(t, target.m, "Procore/Tower 3/Documents"), "removal keeps the target's files")
	require.Equal(t, rfis, files(t, target.m, "Procore/Tower 3/RFIs"))

	// Added again: the state is kept, nothing is copied again.
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	run, err := e.eng.RunOnce(ctx, docID, syncengine.RunOptions{})
	require.NoError(t, err)
	require.False(t, run.Initial)
	require.Zero(t, run.Counts.FilesCopied)

	// A restart: a new engine and Manager on the same store.
	e.close()
	e = newEnv(t, dir)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	run, err = e.eng.RunOnce(ctx, docID, syncengine.RunOptions{})
	require.NoError(t, err)
	require.False(t, run.Initial)
	require.Zero(t, run.Counts.FilesCopied)

	require.NoError(t, e.m.Remove(ctx, p.Key(), projects.RemoveOptions{ForgetState: true}))
	n, err = e.store.CountItems(ctx, docID)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, got, files(t, target.m, "Procore/Tower 3/Documents"))
}

// TestInterruptedInitialSyncResumes: a standard initial sync that was
// cut short (its target no longer empty) resumes as a merge after a
// restart, instead of being refused.
func TestInterruptedInitialSyncResumes(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	docs := procoretest.ProjectDocs(pid)
	for _, name := range []string{"a.txt", "b.txt", "c.txt", "d.txt"} {
		_, err := srv.UIPutFile(docs, "Specs/"+name, []byte("content of "+name))
		require.NoError(t, err)
	}
	mem := memory.New()
	target := memTarget{mem}
	dir := t.TempDir()
	e := newEnv(t, dir)
	p := project(c, pid, target, projects.Documents)
	_, err := e.m.Add(ctx, p)
	require.NoError(t, err)
	id := projects.DefaultPairID(p.Key(), projects.Documents)
	// The process stops during the first upload: the run is recorded, the
	// initial sync is not complete.
	info, _ := e.m.Get(p.Key())
	sub := info.Pairs[0].Target.(*memory.Storage)
	runCtx, stop := context.WithCancel(ctx)
	var puts atomic.Int64 // uploads run concurrently
	sub.SetHook(func(op memory.Op) error {
		if op == memory.OpPut {
			if puts.Add(1) == 2 {
				stop()
				return context.Canceled
			}
		}
		return nil
	})
	_, err = e.eng.RunOnce(runCtx, id, syncengine.RunOptions{})
	require.Error(t, err)
	sub.SetHook(nil)
	ps, err := e.store.LoadPair(ctx, id)
	require.NoError(t, err)
	require.False(t, ps.Initialized)
	// A person's file lands in the target meanwhile: a standard initial
	// sync would refuse the non-empty folder.
	_, err = mem.WriteFile("Procore/Tower 3/Documents/notes.txt", []byte("mine"))
	require.NoError(t, err)
	e.close()
	e = newEnv(t, dir)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	ep, _ := e.eng.Pair(id)
	require.Equal(t, syncengine.InitialMerge, ep.Initial)
	run, err := e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunSucceeded, run.Status, run.Error+run.Undone)
	got := files(t, mem, "Procore/Tower 3/Documents/Specs")
	require.Len(t, got, 5)
}

// TestUpdateKeepsState: changing options and directions keeps the pairs'
// baseline; tools added and removed by Update come and go.
func TestUpdateKeepsState(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	_, err := srv.UIPutFile(procoretest.ProjectDocs(pid), "Specs/a.txt", []byte("a"))
	require.NoError(t, err)
	target := memTarget{memory.New()}
	e := newEnv(t, t.TempDir())
	p := project(c, pid, target, projects.Documents, projects.Photos)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	e.runAll(t)
	docID := projects.DefaultPairID(p.Key(), projects.Documents)
	before, err := e.store.CountItems(ctx, docID)
	require.NoError(t, err)

	p.Options.DeleteLimit = 3
	p.Options.IntegrationName = "Tower 3 (SharePoint)"
	p.Options.Filter.Exclude = []string{"*.tmp"}
	p.Tools = []projects.ToolConfig{{Tool: projects.Documents, Direction: syncengine.DirectionOneWayAB}, {Tool: projects.RFIs}}
	require.NoError(t, e.m.Update(ctx, p))
	ep, ok := e.eng.Pair(docID)
	require.True(t, ok)
	require.Equal(t, 3, ep.DeleteLimit)
	require.Equal(t, syncengine.DirectionOneWayAB, ep.Direction)
	require.Equal(t, []string{"*.tmp"}, ep.Filter.Exclude)
	require.Equal(t, "Tower 3 (SharePoint) / Documents", ep.Name)
	_, ok = e.eng.Pair(projects.DefaultPairID(p.Key(), projects.Photos))
	require.False(t, ok, "Photos removed")
	_, ok = e.eng.Pair(projects.DefaultPairID(p.Key(), projects.RFIs))
	require.True(t, ok, "RFIs added")
	after, err := e.store.CountItems(ctx, docID)
	require.NoError(t, err)
	require.Equal(t, before, after)
	run, err := e.eng.RunOnce(ctx, docID, syncengine.RunOptions{})
	require.NoError(t, err)
	require.False(t, run.Initial)
	require.Zero(t, run.Counts.FilesCopied)

	// The target and root cannot change through Update.
	q := p
	q.Root = "Elsewhere"
	require.ErrorIs(t, e.m.Update(ctx, q), projects.ErrInvalidProject)
	q = p
	q.ProjectID++
	require.ErrorIs(t, e.m.Update(ctx, q), projects.ErrUnknownProject)

	// Single tools.
	require.NoError(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.Submittals}))
	require.ErrorIs(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.Submittals}), projects.ErrInvalidProject)
	info, _ := e.m.Get(p.Key())
	require.Equal(t, "Procore/Tower 3/Submittals", info.Pairs[len(info.Pairs)-1].Folder)
	require.NoError(t, e.m.RemoveTool(ctx, p.Key(), projects.Submittals, projects.RemoveOptions{}))
	require.ErrorIs(t, e.m.RemoveTool(ctx, p.Key(), projects.Submittals, projects.RemoveOptions{}), projects.ErrUnknownTool)
	_, err = target.m.Stat(ctx, "Procore/Tower 3/Submittals")
	require.NoError(t, err, "a removed tool's folder stays")
}

// TestRecipients: events of a project's pairs go to its recipients.
func TestRecipients(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	pid2 := srv.AddProject(srv.CompanyID, "Depot")
	target := memTarget{memory.New()}
	e := newEnv(t, t.TempDir())
	p := project(c, pid, target, projects.Documents, projects.CompanyDocuments)
	p.Options.Recipients = []string{"pm@example.com", "super@example.com"}
	_, err := e.m.Add(ctx, p)
	require.NoError(t, err)
	p2 := project(c, pid2, target, projects.Documents, projects.CompanyDocuments)
	p2.Options.Recipients = []string{"depot@example.com"}
	_, err = e.m.Add(ctx, p2)
	require.NoError(t, err)
	ev := func(id string) syncengine.Event { return syncengine.Event{PairID: id, Time: time.Now()} }
	require.Equal(t, []string{"pm@example.com", "super@example.com"}, e.m.Recipients(ev(projects.DefaultPairID(p.Key(), projects.Documents))))
	require.Equal(t, []string{"depot@example.com"}, e.m.Recipients(ev(projects.DefaultPairID(p2.Key(), projects.Documents))))
	require.Equal(t, []string{"depot@example.com", "pm@example.com", "super@example.com"},
		e.m.Recipients(ev(projects.DefaultPairID(p.Key(), projects.CompanyDocuments))))
	require.Empty(t, e.m.Recipients(ev("other")))
}

package projects_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// TestRunTimeManagementUnderLoad: while the engine's scheduler runs and
// people keep changing files on both sides, projects and single tools
// are added, updated and removed. Afterwards both sides agree, no pair
// ran its initial sync twice (its state survived Update, RemoveTool and
// AddTool), and a removed project's files are still on the target.
func TestRunTimeManagementUnderLoad(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	pid2 := srv.AddProject(srv.CompanyID, "Depot")
	docs, docs2 := procoretest.ProjectDocs(pid), procoretest.ProjectDocs(pid2)
	_, err := srv.UIPutFile(docs, "Specs/seed.txt", []byte("seed"))
	require.NoError(t, err)
	_, err = srv.UIPutFile(docs2, "Specs/depot.txt", []byte("depot"))
	require.NoError(t, err)
	_, err = srv.UICreateRecord(pid, procoretest.ToolRFIs, "1", "Slab edge", "open")
	require.NoError(t, err)
	mem := memory.New()
	target := memTarget{mem}
	e := newEnv(t, t.TempDir())
	p := project(c, pid, target, projects.Documents, projects.Photos)
	p.Options.Interval = 50 * time.Millisecond
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = e.eng.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()

	docID := projects.DefaultPairID(p.Key(), projects.Documents)
	waitFor(t, func() bool { ps, err := e.store.LoadPair(ctx, docID); return err == nil && ps.Initialized })

	// People at work on both sides of Tower 3's Documents.
	n := 40
	if testing.Short() || raceEnabled {
		n = 12
	}
	load, loadDone := context.WithCancel(ctx)
	var people sync.WaitGroup
	people.Go(func() {
		for i := 0; i < n && load.Err() == nil; i++ {
			_, err := srv.UIPutFile(docs, fmt.Sprintf("Load/procore-%03d.txt", i), []byte(strings.Repeat("p", i+1)))
			require.NoError(t, err)
			time.Sleep(5 * time.Millisecond)
		}
	})
	people.Go(func() {
		for i := 0; i < n && load.Err() == nil; i++ {
			if _, err := mem.WriteFile(fmt.Sprintf("Procore/Tower 3/Documents/Site/target-%03d.txt", i), []byte(strings.Repeat("t", i+1))); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	// The admin meanwhile.
	p2 := project(c, pid2, target, projects.Documents, projects.CompanyDocuments)
	p2.Options.Interval = 50 * time.Millisecond
	_, err = e.m.Add(ctx, p2)
	require.NoError(t, err)
	require.NoError(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.RFIs}))
	time.Sleep(50 * time.Millisecond)
	p.Options.DeleteLimit = 10
	p.Options.IntegrationName = "Tower 3 (SharePoint)"
	p.Tools = append(p.Tools, projects.ToolConfig{Tool: projects.RFIs})
	require.NoError(t, e.m.Update(ctx, p))
	require.NoError(t, e.m.RemoveTool(ctx, p.Key(), projects.Photos, projects.RemoveOptions{Grace: time.Second}))
	waitFor(t, func() bool { return exists(mem, "Procore/Depot/Documents/Specs/depot.txt") })
	require.NoError(t, e.m.Remove(ctx, p2.Key(), projects.RemoveOptions{Grace: time.Second}))
	require.NoError(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.Photos}))
	people.Wait()
	loadDone()

	// Both sides agree.
	waitFor(t, func() bool {
		var procoreFiles []string
		for _, q := range srv.UIPaths(docs) {
			if !strings.HasSuffix(q, "/") {
				procoreFiles = append(procoreFiles, q)
			}
		}
		var targetFiles []string
		for e, err := range mem.List(ctx) {
			if err == nil && !e.IsDir && strings.HasPrefix(e.Path, "Procore/Tower 3/Documents/") {
				targetFiles = append(targetFiles, strings.TrimPrefix(e.Path, "Procore/Tower 3/Documents/"))
			}
		}
		slices.Sort(targetFiles)
		return len(procoreFiles) == 2*n+1 && slices.Equal(procoreFiles, targetFiles)
	})
	require.True(t, exists(mem, "Procore/Tower 3/RFIs"))
	waitFor(t, func() bool { return len(files(t, mem, "Procore/Tower 3/RFIs")) > 1 })

	// One initial sync per pair: the state survived every change.
	for _, id := range []string{docID, projects.DefaultPairID(p.Key(), projects.RFIs), projects.DefaultPairID(p.Key(), projects.Photos)} {
		runs, err := e.store.Runs(ctx, id, syncengine.Page{Limit: 1000})
		require.NoError(t, err)
		initial := 0
		for _, r := range runs {
			if r.Initial && r.Status != syncengine.RunFailed {
				initial++
			}
		}
		require.LessOrEqual(t, initial, 1, id)
	}
	ep, _ := e.eng.Pair(docID)
	require.Equal(t, 10, ep.DeleteLimit)
	// The removed project's files stay on the target.
	require.True(t, exists(mem, "Procore/Depot/Documents/Specs/depot.txt"))
	require.ElementsMatch(t, []string{docID, projects.DefaultPairID(p.Key(), projects.RFIs), projects.DefaultPairID(p.Key(), projects.Photos)},
		e.eng.Pairs())
}

func exists(mem *memory.Storage, p string) bool {
	_, err := mem.Stat(context.Background(), p)
	return err == nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, time.Minute, 20*time.Millisecond)
}

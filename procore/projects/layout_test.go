package projects_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
)

// layoutWorld is a target as seen by a person: rename, delete, look.
type layoutWorld struct {
	target projects.Target
	rename func(from, toName string)
	remove func(p string)
	exists func(p string) bool
}

func memWorld(t *testing.T) layoutWorld {
	mem := memory.New()
	return layoutWorld{
		target: memTarget{mem},
		rename: func(from, toName string) {
			_, err := mem.Rename(from, "Procore/"+toName)
			require.NoError(t, err)
		},
		remove: func(p string) { require.NoError(t, mem.Remove(p)) },
		exists: func(p string) bool { _, err := mem.Stat(context.Background(), p); return err == nil },
	}
}

// sharePointWorld is a SharePoint library on the Graph fake.
func sharePointWorld(t *testing.T) layoutWorld {
	srv := graphtest.NewServer(t, graphtest.Options{})
	site := srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := srv.AddLibrary(site, "Project Files")
	gc, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(),
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token()})})
	require.NoError(t, err)
	return layoutWorld{
		target: projects.TargetFunc{Label: "SharePoint", Func: func(ctx context.Context, rel string) (storage.Storage, error) {
			return sharepoint.New(ctx, gc, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects",
				Library: "Project Files", RootPath: rel})
		}},
		rename: func(from, toName string) {
			_, err := srv.WebRename(lib, from, toName)
			require.NoError(t, err)
		},
		remove: func(p string) { require.NoError(t, srv.WebDelete(lib, p)) },
		exists: func(p string) bool { _, ok := srv.Stat(lib, p); return ok },
	}
}

func TestLayoutProtection(t *testing.T) {
	for name, world := range map[string]func(*testing.T) layoutWorld{"memory": memWorld, "sharepoint": sharePointWorld} {
		t.Run(name, func(t *testing.T) { testLayoutProtection(t, world(t)) })
	}
}

// testLayoutProtection: a renamed project folder is followed (at run time
// and after a restart), new files and new tools land in it; a vanished
// one pauses the pairs, deletes nothing in Procore, and keeps them paused
// across a restart.
func testLayoutProtection(t *testing.T, w layoutWorld) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	docs := procoretest.ProjectDocs(pid)
	_, err := srv.UIPutFile(docs, "Specs/a.txt", []byte("a"))
	require.NoError(t, err)
	dir := t.TempDir()
	e := newEnv(t, dir)
	p := project(c, pid, w.target, projects.Documents, projects.RFIs)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	e.runAll(t)
	require.True(t, w.exists("Procore/Tower 3/Documents/Specs/a.txt"))

	// A person renames the project folder.
	w.rename("Procore/Tower 3", "Tower 3 (2026)")
	require.NoError(t, e.m.CheckLayout(ctx))
	renamed := e.rec.OfKind(projects.EventProtectedFolderRenamed)
	require.Len(t, renamed, 1)
	require.Equal(t, []string{"Procore/Tower 3", "Procore/Tower 3 (2026)"}, renamed[0].Paths)
	info, _ := e.m.Get(p.Key())
	require.Equal(t, "Procore/Tower 3 (2026)", info.Folder)
	require.Equal(t, "Procore/Tower 3 (2026)/Documents", info.Pairs[0].Folder)
	_, err = srv.UIPutFile(docs, "Specs/b.txt", []byte("b"))
	require.NoError(t, err)
	e.runAll(t)
	require.True(t, w.exists("Procore/Tower 3 (2026)/Documents/Specs/b.txt"))
	require.False(t, w.exists("Procore/Tower 3"), "the old folder is not made again")
	require.NoError(t, e.m.AddTool(ctx, p.Key(), projects.ToolConfig{Tool: projects.Submittals}))
	require.True(t, w.exists("Procore/Tower 3 (2026)/Submittals"))
	require.NoError(t, e.m.CheckLayout(ctx))
	require.Len(t, e.rec.OfKind(projects.EventProtectedFolderRenamed), 1, "reported once")

	// Renamed while the service was down: found by the remembered IDs.
	e.close()
	w.rename("Procore/Tower 3 (2026)", "Tower 3 - Riverside")
	e = newEnv(t, dir)
	p.Tools = append(p.Tools, projects.ToolConfig{Tool: projects.Submittals})
	info, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "Procore/Tower 3 - Riverside", info.Folder)
	require.False(t, w.exists("Procore/Tower 3"))
	require.Len(t, e.rec.OfKind(projects.EventProtectedFolderRenamed), 1)
	run, err := e.eng.RunOnce(ctx, info.Pairs[0].PairID, syncengine.RunOptions{})
	require.NoError(t, err)
	require.Zero(t, run.Counts.FilesCopied, "state kept: %+v", run)

	// The project folder vanishes: the pairs pause, Procore keeps its files.
	before := srv.UIPaths(docs)
	w.remove("Procore/Tower 3 - Riverside")
	require.NoError(t, e.m.CheckLayout(ctx))
	deleted := e.rec.OfKind(projects.EventProtectedFolderDeleted)
	require.Len(t, deleted, 1)
	require.Equal(t, []string{"Procore/Tower 3 - Riverside"}, deleted[0].Paths)
	info, _ = e.m.Get(p.Key())
	require.True(t, info.FolderMissing)
	for _, pi := range info.Pairs {
		ps, err := e.store.LoadPair(ctx, pi.PairID)
		require.NoError(t, err)
		require.True(t, ps.Paused, pi.PairID)
		_, err = e.eng.RunOnce(ctx, pi.PairID, syncengine.RunOptions{})
		require.ErrorIs(t, err, syncengine.ErrPaused)
	}
	require.NoError(t, e.m.CheckLayout(ctx))
	require.Len(t, e.rec.OfKind(projects.EventProtectedFolderDeleted), 1, "reported once")
	require.Equal(t, before, srv.UIPaths(docs))

	// After a restart the pairs stay paused.
	e.close()
	e = newEnv(t, dir)
	info, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	for _, pi := range info.Pairs {
		_, err = e.eng.RunOnce(ctx, pi.PairID, syncengine.RunOptions{})
		require.True(t, errors.Is(err, syncengine.ErrPaused), "%s: %v", pi.PairID, err)
	}
	require.Equal(t, before, srv.UIPaths(docs))
}

// TestLayoutFolderBack: a project folder moved out of the target's root
// pauses the pairs; moved back, the pairs resume and sync again.
func TestLayoutFolderBack(t *testing.T) {
	ctx := t.Context()
	srv, c, pid := newFake(t)
	docs := procoretest.ProjectDocs(pid)
	_, err := srv.UIPutFile(docs, "Specs/a.txt", []byte("a"))
	require.NoError(t, err)
	mem := memory.New()
	org, err := mem.Mkdirs("Org")
	require.NoError(t, err)
	_, err = mem.Mkdirs("Elsewhere")
	require.NoError(t, err)
	target := memTarget{mem.Sub(org.ID)}
	e := newEnv(t, t.TempDir())
	p := project(c, pid, target, projects.Documents)
	_, err = e.m.Add(ctx, p)
	require.NoError(t, err)
	e.runAll(t)
	id := projects.DefaultPairID(p.Key(), projects.Documents)

	_, err = mem.Rename("Org/Procore/Tower 3", "Elsewhere/Tower 3")
	require.NoError(t, err)
	require.NoError(t, e.m.CheckLayout(ctx))
	require.Len(t, e.rec.OfKind(projects.EventProtectedFolderDeleted), 1)
	_, err = e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrPaused)

	_, err = mem.Rename("Elsewhere/Tower 3", "Org/Procore/Tower 3")
	require.NoError(t, err)
	require.NoError(t, e.m.CheckLayout(ctx))
	require.Len(t, e.rec.OfKind(projects.EventProtectedFolderRestored), 1)
	info, _ := e.m.Get(p.Key())
	require.False(t, info.FolderMissing)
	_, err = srv.UIPutFile(docs, "Specs/b.txt", []byte("b"))
	require.NoError(t, err)
	run, err := e.eng.RunOnce(ctx, id, syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, run.Counts.FilesCopied)
	require.True(t, exists(mem, "Org/Procore/Tower 3/Documents/Specs/b.txt"))
}

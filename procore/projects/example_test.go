package projects_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// ExampleManager syncs a Procore project's Documents and RFIs into a
// target folder "Procore/<project>/<Tool>", then removes the project
// while keeping the target's files. It runs on the in-process Procore fake
// and a memory storage; against the real services, the client comes from
// procore.NewClient with the app's credentials and the target opens
// SharePoint folders (sharepoint.New with RootPath rel).
func ExampleManager() {
	ctx := context.Background()
	fake := procoretest.New(procoretest.Options{})
	defer fake.Close()
	projectID := fake.AddProject(fake.CompanyID, "Tower 3")
	if _, err := fake.UIPutFile(procoretest.ProjectDocs(projectID), "Specs/Concrete.pdf", []byte("%PDF-1.7")); err != nil {
		log.Fatal(err)
	}
	pc, err := procore.NewClient(procore.Options{BaseURL: fake.URL, FileHosts: fake.FileHosts(), CompanyID: fake.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fake.IssueToken(), Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "projects-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(filepath.Join(dir, "procoresync.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	quiet := slog.New(slog.DiscardHandler)
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, StateDir: dir, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}

	// The target: here a memory storage, whose folders are opened by path.
	mem := memory.New()
	target := projects.TargetFunc{Label: "Memory", Func: func(ctx context.Context, rel string) (storage.Storage, error) {
		e, err := mem.Stat(ctx, rel)
		if err != nil {
			return nil, err
		}
		return mem.Sub(e.ID), nil
	}}
	info, err := m.Add(ctx, projects.Project{
		Client: pc, CompanyID: fake.CompanyID, ProjectID: projectID,
		Tools:  projects.WithTools(projects.Documents, projects.RFIs),
		Target: target, Root: "Procore",
		Options: projects.Options{IntegrationName: "Tower 3 to the file share", DeleteLimit: 25,
			Recipients: []string{"pm@example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// eng.Run(ctx) and m.Run(ctx) keep them in sync; here, one run each.
	for _, p := range info.Pairs {
		if _, err := eng.RunOnce(ctx, p.PairID, syncengine.RunOptions{}); err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.PairID[strings.LastIndex(p.PairID, "/")+1:], "->", p.Folder)
	}
	if err := m.Remove(ctx, info.Project.Key(), projects.RemoveOptions{}); err != nil {
		log.Fatal(err)
	}
	_, err = mem.Stat(ctx, "Procore/Tower 3/Documents/Specs/Concrete.pdf")
	fmt.Println("pairs left:", len(eng.Pairs()), "file kept:", err == nil)
	// Output:
	// documents -> Procore/Tower 3/Documents
	// rfis -> Procore/Tower 3/RFIs
	// pairs left: 0 file kept: true
}

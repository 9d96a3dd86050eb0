package managed_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/managed"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

type tokens struct{ srv *procoretest.Server }

func (f tokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: f.srv.IssueToken()}, nil
}

type memTarget struct{ m *memory.Storage }

func (t memTarget) Name() string { return "SharePoint" }
func (t memTarget) Open(ctx context.Context, rel string) (storage.Storage, error) {
	if rel == "" {
		return t.m, nil
	}
	e, err := t.m.Stat(ctx, rel)
	if err != nil {
		return nil, err
	}
	return t.m.Sub(e.ID), nil
}

// connectors opens the Procore fake's client for connection "procore-1"
// and a memory target for "sharepoint-1".
type connectors struct {
	srv    *procoretest.Server
	target memTarget
}

func (c connectors) Procore(_ context.Context, conn string, company int64) (*procore.Client, error) {
	if conn != "procore-1" {
		return nil, errors.New("no such Procore connection")
	}
	return procore.NewClient(procore.Options{BaseURL: c.srv.URL, FileHosts: c.srv.FileHosts(), CompanyID: company,
		TokenSource: tokens{c.srv}, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
}

func (c connectors) Target(_ context.Context, conn string) (projects.Target, error) {
	if conn != "sharepoint-1" {
		return nil, errors.New("no such target connection")
	}
	return c.target, nil
}

func TestManagedProjects(t *testing.T) {
	ctx := context.Background()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	pid := srv.AddProject(srv.CompanyID, "Tower 3")
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	quiet := slog.New(slog.DiscardHandler)
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, Logger: quiet, StateDir: t.TempDir(), NoAudit: true})
	if err != nil {
		t.Fatal(err)
	}
	target := memTarget{memory.New()}
	a, err := auth.New(auth.Options{Hasher: &auth.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.CreateAccount(ctx, "admin@example.com", "", auth.RoleAdmin, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := portal.New(portal.Options{Engine: eng, Store: store, Auth: a, Logger: quiet,
		Projects: managed.New(m, connectors{srv, target})})
	if err != nil {
		t.Fatal(err)
	}
	as := portal.WithCaller(ctx, portal.Caller{Account: admin})

	cfg := portal.ProjectConfig{CompanyID: srv.CompanyID, ProcoreProjectID: pid, Name: "Tower 3",
		Connection: "procore-1", Target: "sharepoint-1", TargetFolder: "Procore",
		Tools:      []portal.ToolConfig{{Tool: "documents"}, {Tool: "rfis"}},
		Options:    portal.ProjectOptions{SyncDeletes: true, DeleteLimit: 10, NameMapping: true},
		Recipients: []string{"pm@example.com"}}
	got, err := svc.AddProject(as, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != managed.ID(projects.Key{CompanyID: srv.CompanyID, ProjectID: pid}) || len(got.Tools) != 2 ||
		got.Tools[0].PairID != projects.DefaultPairID(projects.Key{CompanyID: srv.CompanyID, ProjectID: pid}, projects.Documents) ||
		got.Tools[1].Direction != "one_way" || got.Options.DeleteLimit != 10 || got.Connection != "procore-1" {
		t.Fatalf("added: %+v", got)
	}
	if _, ok := eng.Pair(got.Tools[1].PairID); !ok {
		t.Fatal("the RFI pair is not in the engine")
	}
	if _, err := target.m.Stat(ctx, "Procore/Tower 3/Documents"); err != nil {
		t.Fatalf("layout not made: %v", err)
	}
	// The summary the portal shows comes from the engine's pairs.
	sums, err := svc.Projects(as)
	if err != nil || len(sums) != 1 || len(sums[0].Tools) != 2 || sums[0].ProcoreProjectID != pid {
		t.Fatalf("projects: %+v %v", sums, err)
	}

	// The connection check passes every step; a vanished target folder
	// is named.
	checks, err := svc.CheckProject(as, got.ID)
	if err != nil || len(checks) < 5 {
		t.Fatalf("check: %+v %v", checks, err)
	}
	for _, c := range checks {
		if !c.OK {
			t.Fatalf("check step failed: %+v", c)
		}
	}
	if _, err := target.m.Rename("Procore", "Moved"); err != nil {
		t.Fatal(err)
	}
	checks, _ = svc.CheckProject(as, got.ID)
	failed := false
	for _, c := range checks {
		if !c.OK && !c.Skipped && c.Step == "folder" && strings.Contains(c.Message, "Procore") {
			failed = true
		}
	}
	if !failed {
		t.Fatalf("a missing target folder is not named: %+v", checks)
	}
	if _, err := target.m.Rename("Moved", "Procore"); err != nil {
		t.Fatal(err)
	}

	// Update: documents forced one way, RFIs dropped, photos added, new
	// delete limit.
	got.Tools = []portal.ToolConfig{{Tool: "documents", Direction: "one_way"}, {Tool: "photos"}}
	got.Options.DeleteLimit = 3
	up, err := svc.UpdateProject(as, got)
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Tools) != 2 || up.Tools[0].Direction != "one_way" || up.Tools[1].Tool != "photos" || up.Tools[1].PairID == "" {
		t.Fatalf("updated: %+v", up.Tools)
	}
	if up.Tools[0].PairID != sums[0].Tools[0].PairID {
		t.Fatalf("the documents pair changed: %s, was %s", up.Tools[0].PairID, sums[0].Tools[0].PairID)
	}
	if p, _ := eng.Pair(up.Tools[0].PairID); p.DeleteLimit != 3 || p.Direction != syncengine.DirectionOneWayAB {
		t.Fatalf("engine pair not updated: limit %d direction %d", p.DeleteLimit, p.Direction)
	}
	if _, ok := eng.Pair(projects.DefaultPairID(projects.Key{CompanyID: srv.CompanyID, ProjectID: pid}, projects.RFIs)); ok {
		t.Fatal("the RFI pair is still in the engine")
	}
	moved := up
	moved.TargetFolder = "Elsewhere"
	if _, err := svc.UpdateProject(as, moved); !errors.Is(err, portal.ErrInvalid) {
		t.Fatalf("moving the target folder: %v", err)
	}
	bad := cfg
	bad.Connection = "nope"
	bad.ProcoreProjectID = pid + 1
	var ie *portal.InputError
	if _, err := svc.AddProject(as, bad); !errors.As(err, &ie) || ie.Field != "connection" {
		t.Fatalf("unknown connection: %v", err)
	}
	if _, err := svc.AddProject(as, cfg); !errors.Is(err, portal.ErrConflict) {
		t.Fatalf("adding twice: %v", err)
	}
	if err := svc.RemoveProject(as, up.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := eng.Pair(up.Tools[0].PairID); ok {
		t.Fatal("pair still in the engine after Remove")
	}
	if _, err := target.m.Stat(ctx, "Procore/Tower 3/Documents"); err != nil {
		t.Fatalf("Remove deleted the target's folder: %v", err)
	}
	if _, err := svc.ProjectConfig(as, up.ID); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("removed project: %v", err)
	}
}

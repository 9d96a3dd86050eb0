package projects_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// ExampleDeliveryChecker wires the webhook safety net: one company hook
// for every project, its delivery log checked at a period the budget (600
// calls an hour) gives, and the engine's per-pair reconciliation made rare
// while the checker is healthy. A change whose webhook the receiver lost
// (here: a destination that answers 500) is found by the next check,
// which wakes its pair. It runs on the in-process Procore fake.
func ExampleDeliveryChecker() {
	ctx := context.Background()
	fake := procoretest.New(procoretest.Options{WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond, Attempts: 2}})
	defer fake.Close()
	projectID := fake.AddProject(fake.CompanyID, "Tower 3")
	pc, err := procore.NewClient(procore.Options{BaseURL: fake.URL, FileHosts: fake.FileHosts(), CompanyID: fake.CompanyID,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fake.IssueToken(), Expiry: time.Now().Add(time.Hour)})})
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "deliverycheck-example")
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

	// The checker first: the engine takes its Reconcile policy.
	chk, err := projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: 600, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: quiet, Reconcile: chk.Reconcile(0)})
	if err != nil {
		log.Fatal(err)
	}
	m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, Logger: quiet, DeliveryCheck: chk})
	if err != nil {
		log.Fatal(err)
	}
	mem := memory.New()
	if _, err := m.Add(ctx, projects.Project{Client: pc, CompanyID: fake.CompanyID, ProjectID: projectID,
		Tools: projects.WithTools(projects.Documents), Target: memTarget{mem}, Root: "Procore"}); err != nil {
		log.Fatal(err)
	}

	// One hook for the company (its receiver is down here).
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer down.Close()
	hook, err := pc.Webhooks.RegisterCompanyHook(ctx, "example", down.URL, "Bearer secret", "v2.0", nil)
	var unsub *procore.UnsubscribableError
	if err != nil && !errors.As(err, &unsub) {
		log.Fatal(err)
	}
	if err := chk.AddHook(projects.CompanyHook{Client: pc, HookID: hook.ID}); err != nil {
		log.Fatal(err)
	}
	// m.Run(ctx) runs chk.Run; here one check at a time.
	if _, err := chk.Check(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("healthy:", chk.Healthy(), "- checked every", chk.Period())

	if _, err := fake.UIPutFile(procoretest.ProjectDocs(projectID), "Specs/Concrete.pdf", []byte("%PDF-1.7")); err != nil {
		log.Fatal(err)
	}
	fake.WaitWebhooks() // the deliveries failed
	rep, err := chk.Check(ctx)
	if err != nil {
		log.Fatal(err)
	}
	docs := projects.DefaultPairID(projects.Key{CompanyID: fake.CompanyID, ProjectID: projectID}, projects.Documents)
	fmt.Printf("%d deliveries not delivered (a folder, a file, its version); Documents pair woken: %v\n",
		rep.Failed, len(rep.Woken) == 1 && rep.Woken[0] == docs)
	// Output:
	// healthy: true - checked every 12m0s
	// 3 deliveries not delivered (a folder, a file, its version); Documents pair woken: true
}

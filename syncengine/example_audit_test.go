package syncengine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// ExampleEngine_AuditLog shows the admin audit log: the engine records
// who paused and resumed a pair (the actor comes from the context), and
// other code records what it does with Engine.Audit.
func ExampleEngine_AuditLog() {
	store, cleanup := openStore()
	defer cleanup()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	pair := syncengine.Pair{ID: "tower-3-documents", A: memory.New(), B: memory.New()}
	if err := eng.AddPair(pair); err != nil {
		log.Fatal(err)
	}
	alice := syncengine.WithActor(context.Background(), "alice@example.com")
	if err := eng.Audit(alice, syncengine.AuditEntry{Kind: syncengine.AuditProjectAdded, Project: "42/1001",
		Details: map[string]string{"tools": "documents", "client_secret": "never stored"}}); err != nil {
		log.Fatal(err)
	}
	if err := eng.Pause(alice, pair.ID, "site closed"); err != nil {
		log.Fatal(err)
	}
	if err := eng.Resume(syncengine.WithActor(context.Background(), "bob@example.com"), pair.ID); err != nil {
		log.Fatal(err)
	}
	entries, err := eng.AuditLog(context.Background(), syncengine.AuditFilter{})
	if err != nil {
		log.Fatal(err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		fmt.Println(e.Actor, e.Kind, e.PairID+e.Project, e.Details)
	}
	// Output:
	// alice@example.com project_added 42/1001 map[client_secret:[redacted] tools:documents]
	// alice@example.com pair_paused tower-3-documents map[reason:site closed]
	// bob@example.com pair_resumed tower-3-documents map[paused_for:site closed]
}

// ExampleStopPolicy runs a pair as a one-off job: it stops (is paused)
// after its first successful run.
func ExampleStopPolicy() {
	store, cleanup := openStore()
	defer cleanup()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	procore := memory.New()
	procore.WriteFile("Specs/03 30 00 Concrete.pdf", []byte("%PDF"))
	pair := syncengine.Pair{ID: "archive-tower-2", A: procore, B: memory.New(),
		Direction: syncengine.DirectionOneWayAB, Stop: syncengine.StopPolicy{AfterSuccesses: 1}}
	if err := eng.AddPair(pair); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	run, err := eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run:", run.Status)
	_, err = eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{})
	fmt.Println(err)
	// Output:
	// run: succeeded
	// syncengine: pair is paused: archive-tower-2: stop policy: stopped after 1 successful run
}

package syncengine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// openStore opens a metadata store in a temporary folder; cleanup closes
// and removes it.
func openStore() (store *sqlitestore.Store, cleanup func()) {
	dir, err := os.MkdirTemp("", "procoresync-example")
	if err != nil {
		log.Fatal(err)
	}
	store, err = sqlitestore.Open(filepath.Join(dir, "sync.db"))
	if err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	return store, func() {
		store.Close()
		os.RemoveAll(dir)
	}
}

// ExampleEngine_Run runs the engine as a service does: Run syncs every
// pair on its interval and whenever a side signals a change (the memory
// storage is a storage.Watcher, as the Procore and Graph storages are
// with webhooks and change notifications), until its context is done.
func ExampleEngine_Run() {
	store, cleanup := openStore()
	defer cleanup()
	procore, sharepoint := memory.New(), memory.New()
	procore.WriteFile("Drawings/A-101.pdf", []byte("%PDF floor plan"))

	eng, err := syncengine.New(syncengine.Options{
		Store:     store,
		Logger:    slog.New(slog.DiscardHandler),
		WakeDelay: 10 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	err = eng.AddPair(syncengine.Pair{
		ID: "tower-3-documents", A: procore, B: sharepoint, AName: "Procore", BName: "SharePoint",
		Initial: syncengine.InitialStandard, Interval: time.Hour,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()

	waitFor := func(s *memory.Storage, p string) {
		for range 1000 {
			if _, err := s.ReadFile(p); err == nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		log.Fatalf("%s never arrived", p)
	}
	waitFor(sharepoint, "Drawings/A-101.pdf") // the initial sync
	// A person adds a file on SharePoint: the pair is woken and synced
	// long before its hourly interval.
	sharepoint.WriteFile("Drawings/Markups/A-101 markup.pdf", []byte("%PDF markup"))
	waitFor(procore, "Drawings/Markups/A-101 markup.pdf")
	stop()
	fmt.Println("Run returned:", <-done)

	runs, err := eng.History(context.Background(), "tower-3-documents", syncengine.Page{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("runs:", len(runs) >= 2)
	// Output:
	// Run returned: <nil>
	// runs: true
}

// ExampleEngine_ApproveHeld shows the delete limit: deletions beyond it
// are held, not applied, until an admin approves (or rejects) them.
func ExampleEngine_ApproveHeld() {
	store, cleanup := openStore()
	defer cleanup()
	ctx := context.Background()
	procore, sharepoint := memory.New(), memory.New()
	for _, n := range []string{"A-101", "A-102", "A-103", "A-104", "A-105", "A-106", "A-107", "A-108"} {
		procore.WriteFile("Drawings/"+n+".pdf", []byte("%PDF "+n))
	}
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	const pair = "tower-3-documents"
	err = eng.AddPair(syncengine.Pair{
		ID: pair, A: procore, B: sharepoint, AName: "Procore", BName: "SharePoint",
		DeleteLimit: 1, // per rolling 24 hours
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := eng.RunOnce(ctx, pair, syncengine.RunOptions{}); err != nil {
		log.Fatal(err)
	}

	// Someone deletes three drawings in Procore.
	for _, n := range []string{"A-101", "A-102", "A-103"} {
		if err := procore.Remove("Drawings/" + n + ".pdf"); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := eng.RunOnce(ctx, pair, syncengine.RunOptions{}); err != nil {
		log.Fatal(err)
	}
	held, err := eng.Held(ctx, pair)
	if err != nil {
		log.Fatal(err)
	}
	var ids []int64
	var paths []string
	for _, h := range held {
		ids = append(ids, h.ID)
		paths = append(paths, h.Path)
	}
	sort.Strings(paths)
	fmt.Println("held:", paths)

	// An admin reviews them in the portal and approves.
	if err := eng.ApproveHeld(ctx, pair, ids); err != nil {
		log.Fatal(err)
	}
	left, _ := eng.Held(ctx, pair)
	_, err = sharepoint.ReadFile("Drawings/A-102.pdf")
	fmt.Println("held after approval:", len(left), "- A-102 on SharePoint:", err == nil)
	// Output:
	// held: [Drawings/A-102.pdf Drawings/A-103.pdf]
	// held after approval: 0 - A-102 on SharePoint: false
}

package syncengine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// ExampleEngine_UpdatePair changes a pair's options while the engine
// runs: its baseline and history stay, and its next run uses the new
// options. RemovePair then takes it out of the schedule (a run in progress
// gets a grace period), keeping its state unless ForgetState is set.
func ExampleEngine_UpdatePair() {
	store, cleanup := openStore()
	defer cleanup()
	procore, sharepoint := memory.New(), memory.New()
	procore.WriteFile("Drawings/A-101.pdf", []byte("%PDF floor plan"))
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	pair := syncengine.Pair{ID: "tower-3-documents", A: procore, B: sharepoint, AName: "Procore", BName: "SharePoint",
		Initial: syncengine.InitialStandard, Interval: time.Hour}
	if err := eng.AddPair(pair); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{}); err != nil {
		log.Fatal(err)
	}

	// Leave scratch files alone from now on.
	pair.Filter.Exclude = []string{"*.tmp"}
	if err := eng.UpdatePair(pair); err != nil {
		log.Fatal(err)
	}
	procore.WriteFile("Drawings/A-102.pdf", []byte("%PDF elevations"))
	procore.WriteFile("Drawings/~A-102.tmp", []byte("scratch"))
	run, err := eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("initial:", run.Initial, "copied:", run.Counts.FilesCopied)

	if err := eng.RemovePair(ctx, pair.ID, syncengine.RemoveOptions{Grace: time.Minute}); err != nil {
		log.Fatal(err)
	}
	_, err = eng.RunOnce(ctx, pair.ID, syncengine.RunOptions{})
	fmt.Println("after removal:", err != nil)
	n, _ := store.CountItems(ctx, pair.ID)
	fmt.Println("baseline items kept:", n)
	// Output:
	// initial: false copied: 1
	// after removal: true
	// baseline items kept: 3
}

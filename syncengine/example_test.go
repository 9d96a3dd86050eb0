package syncengine_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// Example keeps two storages in two-way sync: an in-memory stand-in for
// Procore on side A and one for SharePoint on side B, with the embedded
// SQLite metadata store.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "procoresync-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(filepath.Join(dir, "sync.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	procore, sharepoint := memory.New(), memory.New()
	procore.WriteFile("Drawings/A-101 Floor plan.pdf", []byte("%PDF floor plan"))
	procore.WriteFile("Specifications/03 30 00 Concrete.docx", []byte("concrete spec"))
	sharepoint.WriteFile("Site photos/2026-03-01.jpg", []byte("jpeg bytes"))

	eng, err := syncengine.New(syncengine.Options{
		Store:  store,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	err = eng.AddPair(syncengine.Pair{
		ID: "tower-3-documents", Name: "Tower 3 / Documents",
		A: procore, B: sharepoint, AName: "Procore", BName: "SharePoint",
		Initial: syncengine.InitialMerge, // both sides already hold data
	})
	if err != nil {
		log.Fatal(err)
	}
	run, err := eng.RunOnce(ctx, "tower-3-documents", syncengine.RunOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("run:", run.Status, "- files copied:", run.Counts.FilesCopied, "- folders made:", run.Counts.FoldersMade)

	st, err := eng.Stats(ctx, "tower-3-documents")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("in sync: %d files, %d folders, %d bytes\n", st.Files, st.Folders, st.BytesInSync)
	photo, _ := procore.ReadFile("Site photos/2026-03-01.jpg")
	fmt.Printf("on Procore: %s\n", photo)
	// Output:
	// run: succeeded - files copied: 3 - folders made: 3
	// in sync: 3 files, 3 folders, 38 bytes
	// on Procore: jpeg bytes
}

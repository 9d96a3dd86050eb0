package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// Open a store and read a pair's state: the zero state until the engine
// saves one.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "procoresync")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlitestore.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	st, err := store.LoadPair(context.Background(), "tower-3/documents")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("initialized:", st.Initialized)
	// Output: initialized: false
}

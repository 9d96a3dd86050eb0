package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// Open the shared store of a cluster of workers; the tables go into the
// schema named by search_path.
func ExampleOpen() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, "postgres://sync@db.internal:5432/procoresync?sslmode=verify-full&search_path=sync")
	if err != nil {
		log.Fatal(err) // never contains the password
	}
	defer store.Close()

	st, err := store.LoadPair(ctx, "tower-3/documents")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("initialized:", st.Initialized)
}

// A worker takes a pair, writes its state only while it holds the pair,
// renews the lease as it goes and releases it at the end.
func ExampleStore_AcquirePair() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, "postgres://sync@db.internal:5432/procoresync?search_path=sync")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	lease, err := store.AcquirePair(ctx, "tower-3/documents", "worker-7", time.Minute)
	if errors.Is(err, pgstore.ErrPairLeased) {
		fmt.Println("another worker has the pair:", err)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Release(ctx)

	// Hand the fenced view to the engine: once the lease is lost, its
	// writes fail with ErrLeaseLost instead of overwriting the new owner's.
	var meta syncengine.MetadataStore = store.Fenced(lease)
	_ = meta
	if err := lease.Renew(ctx, time.Minute); err != nil {
		log.Fatal(err)
	}
}

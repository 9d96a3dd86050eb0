package cluster_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/procoresync/procoresync/cluster"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/pgstore"
)

// A worker process: it migrates, registers its pairs and works runs until
// SIGTERM, then drains. Start as many as needed on any machines.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	const dsn = "postgres://sync@db.internal:5432/procoresync?sslmode=verify-full&search_path=sync"
	store, err := pgstore.Open(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := cluster.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	if err := cluster.Register(ctx, pool, "tower-3/documents", 5*time.Minute); err != nil {
		log.Fatal(err)
	}
	w, err := cluster.New(cluster.Config{
		Pool:  pool,
		Store: store,
		Pairs: func(ctx context.Context, id string) (syncengine.Pair, error) {
			// Open the pair's storages here (Procore, SharePoint …).
			return syncengine.Pair{ID: id, A: memory.New(), B: memory.New()}, nil
		},
		DrainTimeout: 10 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// A webhook ingress wakes a pair with an insert-only River client; the
// run happens on whichever worker takes it.
func ExampleWake() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://sync@db.internal:5432/procoresync?search_path=sync")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := cluster.Wake(ctx, client, pool, "", "tower-3/documents"); err != nil {
		log.Fatal(err)
	}
}

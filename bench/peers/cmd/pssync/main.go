// Command pssync runs one two-way sync of two local folders with the
// procoresync engine (storage/local on both sides, sqlitestore for the
// state), as the peer benchmark's stand-in for rclone bisync and Unison.
// It is a separate process so that the benchmark measures its CPU time and
// peak memory alone.
//
//	pssync -a /data/a -b /data/b -db /state/pair.db [-cpuprofile cpu.out] [-trace trace.out]
//
// The exit status is 0 when the run succeeded (both sides in sync), 1
// otherwise; the run's counts go to standard error with -v.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/procoresync/procoresync/storage/local"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

func main() {
	a := flag.String("a", "", "folder of side A")
	b := flag.String("b", "", "folder of side B")
	db := flag.String("db", "", "SQLite file of the sync state (made on first use)")
	timeout := flag.Duration("timeout", time.Hour, "give up after this long")
	verbose := flag.Bool("v", false, "print the run's counts to standard error")
	conc := flag.Int("concurrency", 0, "actions at once when the run starts (0: the engine's default)")
	maxConc := flag.Int("max-concurrency", 0, "upper bound of the adaptive concurrency (0: the engine's default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile (pprof) to this file")
	traceFile := flag.String("trace", "", "write an execution trace (go tool trace) to this file")
	flag.Parse()
	if *a == "" || *b == "" || *db == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: pssync -a DIR -b DIR -db FILE [-timeout D] [-v]")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pssync:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pssync:", err)
			os.Exit(2)
		}
		defer trace.Stop()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, *a, *b, *db, *verbose, *conc, *maxConc); err != nil {
		fmt.Fprintln(os.Stderr, "pssync:", err)
		pprof.StopCPUProfile()
		trace.Stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, a, b, db string, verbose bool, conc, maxConc int) error {
	as, err := local.New(a)
	if err != nil {
		return err
	}
	defer as.Close()
	bs, err := local.New(b)
	if err != nil {
		return err
	}
	defer bs.Close()
	store, err := sqlitestore.Open(db)
	if err != nil {
		return err
	}
	defer store.Close()
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := eng.AddPair(syncengine.Pair{ID: "bench", A: as, B: bs, Initial: syncengine.InitialMerge,
		Concurrency: conc, MaxConcurrency: maxConc}); err != nil {
		return err
	}
	r, err := eng.RunOnce(ctx, "bench", syncengine.RunOptions{})
	if err != nil {
		return err
	}
	if verbose {
		fmt.Fprintf(os.Stderr, "pssync: %s %+v\n", r.Status, r.Counts)
	}
	if !r.Succeeded() {
		return fmt.Errorf("run %s: %s %s", r.Status, r.Error, r.Undone)
	}
	return nil
}

// Command benchmark prints one table of procoresync's headline figures,
// measured on the in-process fakes of Procore, Microsoft Graph, Box and
// Dropbox:
//
//   - API calls per file each way (Procore to the target and back) for
//     SharePoint, OneDrive, Box and Dropbox, and the files an hour a
//     Procore budget allows;
//   - planning time and memory for a pair of 1,000,000 items;
//   - the idle cost of 1,000 projects × 3 tools (Documents, Photos, RFIs)
//     in one SharePoint library, under a Procore budget of 3,600 and of
//     600 calls an hour: idle Procore calls as a share of the budget, the
//     safety net's cost (the company hook's delivery-log check,
//     projects.DeliveryChecker, and the rare per-pair reconciliation it
//     allows), Graph calls per minute for the library, the engine's memory
//     per idle pair, and the time from a change in Procore (webhook) or in
//     the library (change notification) to the file on the other side, on
//     loopback.
//
// Usage:
//
//	go run ./examples/benchmark            # the full figures (several minutes)
//	go run ./examples/benchmark -quick     # small sizes, a smoke test
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Config chooses the sizes.
type Config struct {
	Files        int           // files per direction for the calls per file
	Targets      []string      // sharepoint, onedrive, box, dropbox
	PlanItems    int           // items of the planning measurement (0: skip)
	Projects     int           // projects of the idle measurement (0: skip)
	Budgets      []int         // Procore calls per hour, one idle run each
	IdleWindow   time.Duration // how long the idle engine is watched
	Samples      int           // changes timed each way
	FeedInterval time.Duration // the library feed's safety-net poll
}

// Row is one line of the table.
type Row struct {
	Figure, Value, Goal string
}

func defaults(quick bool) Config {
	c := Config{Files: 100, Targets: []string{"sharepoint", "onedrive", "box", "dropbox"}, PlanItems: 1_000_000,
		Projects: 1000, Budgets: []int{3600, 600}, IdleWindow: 2 * time.Minute, Samples: 5, FeedInterval: time.Minute}
	if quick {
		c.Files, c.PlanItems, c.Projects, c.IdleWindow, c.Samples = 5, 5_000, 4, 2*time.Second, 2
	}
	return c
}

func main() {
	quick := flag.Bool("quick", false, "small sizes: a smoke test of every measurement")
	files := flag.Int("files", 0, "files per direction for the calls per file (default 100; quick 5)")
	targets := flag.String("targets", "", "targets for the calls per file, or none (default sharepoint,onedrive,box,dropbox)")
	plan := flag.Int("plan-items", -1, "items of the planning measurement, 0 to skip (default 1000000; quick 5000)")
	projects := flag.Int("projects", -1, "projects (× 3 tools) of the idle measurement, 0 to skip (default 1000; quick 4)")
	budgets := flag.String("budgets", "", "Procore budgets in calls per hour, one idle run each (default 3600,600)")
	idle := flag.Duration("idle", 0, "how long the idle engine is watched (default 2m; quick 3s)")
	samples := flag.Int("samples", 0, "changes timed each way (default 5; quick 2)")
	flag.Parse()
	c := defaults(*quick)
	if *files > 0 {
		c.Files = *files
	}
	switch *targets {
	case "":
	case "none":
		c.Targets = nil
	default:
		c.Targets = strings.Split(*targets, ",")
	}
	if *plan >= 0 {
		c.PlanItems = *plan
	}
	if *projects >= 0 {
		c.Projects = *projects
	}
	if *budgets != "" {
		c.Budgets = nil
		for _, b := range strings.Split(*budgets, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(b))
			if err != nil || n <= 0 {
				fmt.Fprintln(os.Stderr, "benchmark: -budgets takes positive numbers")
				os.Exit(2)
			}
			c.Budgets = append(c.Budgets, n)
		}
	}
	if *idle > 0 {
		c.IdleWindow = *idle
	}
	if *samples > 0 {
		c.Samples = *samples
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rows, err := Run(ctx, c, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	Print(os.Stdout, rows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}

// Run takes every measurement of c and returns the rows of the table.
func Run(ctx context.Context, c Config, log *slog.Logger) ([]Row, error) {
	var rows []Row
	defer func(start time.Time) { log.Info("benchmark: done", "took", time.Since(start)) }(time.Now())
	for _, t := range c.Targets {
		t0 := time.Now()
		r, err := callsPerFile(ctx, t, c.Files, c.Budgets, log)
		log.Info("benchmark: calls per file", "target", t, "took", time.Since(t0))
		rows = append(rows, r...)
		if err != nil {
			return rows, fmt.Errorf("calls per file on %s: %w", t, err)
		}
	}
	if c.PlanItems > 0 {
		t0 := time.Now()
		r, err := planning(ctx, c.PlanItems)
		log.Info("benchmark: planning", "took", time.Since(t0))
		rows = append(rows, r...)
		if err != nil {
			return rows, fmt.Errorf("planning: %w", err)
		}
	}
	if c.Projects > 0 {
		for _, b := range c.Budgets {
			t0 := time.Now()
			r, err := idleCost(ctx, c, b, log)
			log.Info("benchmark: idle cost", "budget", b, "took", time.Since(t0))
			rows = append(rows, r...)
			if err != nil {
				return rows, fmt.Errorf("idle cost at %d calls/hour: %w", b, err)
			}
		}
	}
	return rows, nil
}

// Print writes the table.
func Print(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tgoal")
	fmt.Fprintln(tw, "------\t-----\t----")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Figure, r.Value, r.Goal)
	}
	_ = tw.Flush()
}

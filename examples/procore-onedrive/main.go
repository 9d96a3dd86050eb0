// Command procore-onedrive is a long-running service that keeps one Procore
// project (Documents, Photos) and the company Documents in two-way sync
// with a OneDrive folder: configuration from flags or environment variables,
// the sync engine with an SQLite store, one HTTP listener for Procore
// webhooks (/procore/webhook) and Graph change notifications
// (/graph/notify), the interval as the fallback, structured logs, and a
// graceful shutdown on SIGINT or SIGTERM.
//
//	go run ./examples/procore-onedrive -h
//
// With -fake it runs against the in-process fakes (no credentials).
// See examples/README.md for the real-tenant set-up.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/procoresync/procoresync/examples/internal/app"
)

func main() {
	cfg := app.Config{Target: app.OneDrive}
	app.Flags(flag.CommandLine, &cfg)
	fake := flag.Bool("fake", false, "run against the in-process Procore and Graph fakes (seeded with a demo project)")
	flag.Parse()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, &cfg, *fake, logger); err != nil {
		logger.Error("procore-onedrive failed", "err", err)
		os.Exit(1)
	}
}

// serve runs the service until ctx is done.
func serve(ctx context.Context, cfg *app.Config, fake bool, logger *slog.Logger) error {
	if fake {
		f := app.StartFakes(cfg)
		defer f.Close()
		if _, _, err := f.Seed(); err != nil {
			return err
		}
	} else if !cfg.Real() {
		return fmt.Errorf("no credentials: set the Procore and Microsoft flags or environment variables (see -h), or use -fake")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return app.Serve(ctx, cfg, ln, logger)
}

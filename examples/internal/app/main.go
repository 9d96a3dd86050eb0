package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole main function of a reference service for target (the
// default of its -target flag): flags and environment, JSON logs on
// stderr, SIGINT/SIGTERM for a graceful stop, exit status 1 on failure.
// name labels the log line of a failure.
func Main(target Target, name string) {
	cfg := Config{Target: target}
	Flags(flag.CommandLine, &cfg)
	fake := flag.Bool("fake", false, "run against the in-process fakes of Procore and the target (seeded with a demo project)")
	flag.Parse()
	if err := cfg.LoadSecrets(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := RunService(ctx, &cfg, *fake, logger); err != nil {
		logger.Error(name+" failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// RunService runs the service until ctx is done: against the in-process
// fakes, seeded with a demo project, when fake is set; otherwise against
// the real services that cfg names. It refuses to listen without the
// listener's secrets (on the fakes it makes random ones).
func RunService(ctx context.Context, cfg *Config, fake bool, logger *slog.Logger) error {
	var f *Fakes
	if fake {
		f = StartFakes(cfg)
		defer f.Close()
		cfg.RandomSecrets() // nobody else needs them
		if _, _, err := f.Seed(); err != nil {
			return err
		}
	} else if !cfg.Real() {
		return fmt.Errorf("no credentials: set the Procore and %s flags or environment variables (see -h), or use -fake", cfg.Target)
	}
	if err := cfg.CheckService(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	if f != nil && cfg.PublicURL == "" {
		f.listening(cfg, ln.Addr())
	}
	return Serve(ctx, cfg, ln, logger)
}

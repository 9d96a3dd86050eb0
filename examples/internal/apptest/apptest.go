// Package apptest checks a long-running example service against the fakes:
// a change made on either side arrives on the other.
package apptest

import (
	"context"
	"log/slog"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
)

// Serve is a service's entry point: it runs until ctx is done.
type Serve func(ctx context.Context, cfg *app.Config, fake bool, logger *slog.Logger) error

// RoundTrip starts the service serve against the fakes for target and
// checks that the initial sync happens, that a file added in Procore
// arrives on the target and one added on the target arrives in Procore
// (pushed by the webhook and the target's change signal: the interval is
// an hour), and that the service stops cleanly when its context ends.
func RoundTrip(t *testing.T, target app.Target, serve Serve) {
	cfg := &app.Config{Target: target, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"),
		Interval: time.Hour, DeleteLimit: 25, Listen: "127.0.0.1:0", ProcoreHookSecret: "procore-hook-0123456789", GraphClientState: "graph-state-0123456789"}
	f := app.StartFakes(cfg)
	t.Cleanup(f.Close)
	if _, _, err := f.Seed(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, false, slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("service did not stop")
		}
	}()
	docs := path.Join(cfg.Root, app.ProjectName, "Documents")
	onTarget := func(p string) func() bool {
		return func() bool { _, ok := f.WebFile(path.Join(docs, p)); return ok }
	}
	waitFor(t, 30*time.Second, "initial sync", onTarget("01 Drawings/Full Drawing Set (IFC).pdf"), done)

	if _, err := f.Procore.UIPutFile(f.Docs(), "03 RFIs/RFI 013 - Embed plates.pdf", []byte("new RFI")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "Procore → target", onTarget("03 RFIs/RFI 013 - Embed plates.pdf"), done)

	if err := f.WebUpload(path.Join(docs, "05 Meeting Minutes/Field note.txt"), []byte("from the field")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "target → Procore", func() bool {
		b, err := f.Procore.UIFile(f.Docs(), "05 Meeting Minutes/Field note.txt")
		return err == nil && string(b) == "from the field"
	}, done)
}

// waitFor polls cond until it holds (a generous bound, not a measurement),
// failing early if the service stopped.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool, done chan error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s: the service stopped: %v", what, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

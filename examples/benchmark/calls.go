package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/syncengine"
)

func targetOf(name string) (app.Target, error) {
	for _, t := range []app.Target{app.SharePoint, app.OneDrive, app.Box, app.Dropbox} {
		if strings.EqualFold(string(t), name) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown target %q (sharepoint, onedrive, box, dropbox)", name)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// callsPerFile syncs n new files of a project's Documents from Procore to
// the target, then n new files back, counting the calls of each service
// per file (the runs' listings included).
func callsPerFile(ctx context.Context, target string, n int, budgets []int, log *slog.Logger) ([]Row, error) {
	t, err := targetOf(target)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "procoresync-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := &app.Config{Target: t, Root: "Procore", Tools: "none", Store: filepath.Join(dir, "sync.db"),
		Interval: time.Hour, DeleteLimit: 1000}
	cfg.RandomSecrets()
	f := app.StartFakes(cfg)
	defer f.Close()
	f.Procore.SetRateLimits(-1, -1)
	s, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	docs := s.Pairs[0]
	if _, err := s.Engine.RunOnce(ctx, docs, syncengine.RunOptions{}); err != nil {
		return nil, err
	}
	data := []byte(strings.Repeat("procoresync benchmark file\n", 40))
	for i := range n {
		if _, err := f.Procore.UIPutFile(f.Docs(), fmt.Sprintf("Bench/up-%04d.pdf", i), data); err != nil {
			return nil, err
		}
	}
	p0, t0 := sum(f.Procore.Calls()), f.TargetCalls()
	run, err := s.Engine.RunOnce(ctx, docs, syncengine.RunOptions{})
	if err != nil {
		return nil, err
	}
	if got := run.Counts.FilesCopied; got < n {
		return nil, fmt.Errorf("%d of %d files reached %s", got, n, t)
	}
	upP, upT := float64(sum(f.Procore.Calls())-p0)/float64(n), float64(f.TargetCalls()-t0)/float64(n)
	folder := path.Join("Procore", app.ProjectName, "Documents", "Back")
	for i := range n {
		if err := f.WebUpload(path.Join(folder, fmt.Sprintf("down-%04d.pdf", i)), data); err != nil {
			return nil, err
		}
	}
	p0, t0 = sum(f.Procore.Calls()), f.TargetCalls()
	run, err = s.Engine.RunOnce(ctx, docs, syncengine.RunOptions{})
	if err != nil {
		return nil, err
	}
	if got := run.Counts.FilesCopied; got < n {
		return nil, fmt.Errorf("%d of %d files reached Procore from %s", got, n, t)
	}
	downP, downT := float64(sum(f.Procore.Calls())-p0)/float64(n), float64(f.TargetCalls()-t0)/float64(n)
	rows := []Row{
		{fmt.Sprintf("Procore → %s: calls per file (Procore + %s)", t, t), fmt.Sprintf("%.2f + %.2f", upP, upT), ""},
		{fmt.Sprintf("%s → Procore: calls per file (Procore + %s)", t, t), fmt.Sprintf("%.2f + %.2f", downP, downT), ""},
	}
	for _, b := range budgets {
		rows = append(rows, Row{fmt.Sprintf("%s: files per hour at %d Procore calls/hour (to / from)", t, b),
			fmt.Sprintf("%.0f / %.0f", float64(b)/upP, float64(b)/downP), ""})
	}
	return rows, nil
}

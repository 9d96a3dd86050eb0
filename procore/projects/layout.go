package projects

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// pauseGone pauses the pairs tps, whose folder at gone vanished, and tells
// the notifier once.
func (m *Manager) pauseGone(ctx context.Context, label string, tps []*toolPair, gone string) {
	var errs []error
	for _, tp := range tps {
		if err := m.e.Pause(ctx, tp.id, layoutPausePrefix+gone); err != nil {
			errs = append(errs, err)
		}
	}
	ev := syncengine.Event{Kind: EventProtectedFolderDeleted, PairName: label, Paths: []string{gone},
		Message: fmt.Sprintf("The folder %s of %s was deleted or moved away on the target: its sync is paused; nothing is deleted in Procore", gone, label)}
	if len(tps) == 1 {
		ev.PairID = tps[0].id
	}
	if err := errors.Join(errs...); err != nil {
		ev.Err = err.Error()
	}
	m.notify(ctx, ev)
}

// resumeGone resumes the pairs tps that the Manager paused because their
// folder vanished.
func (m *Manager) resumeGone(ctx context.Context, label string, tps []*toolPair, folder string) error {
	var errs []error
	for _, tp := range tps {
		ps, err := m.o.Store.LoadPair(ctx, tp.id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ps.Paused && (strings.HasPrefix(ps.PauseReason, layoutPausePrefix) || strings.HasPrefix(ps.PauseReason, "protected root: ")) {
			if err := m.e.Resume(ctx, tp.id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	m.notify(ctx, syncengine.Event{Kind: EventProtectedFolderRestored, PairName: label, Paths: []string{folder},
		Message: fmt.Sprintf("The folder %s of %s is back: its sync resumes", folder, label)})
	return errors.Join(errs...)
}

// CheckLayout checks every project's folder on its target (one call per
// project, one per company Documents folder): a folder a person renamed
// or moved is followed (the pairs' roots move with it, their state kept;
// EventProtectedFolderRenamed), a folder that vanished pauses the pairs
// (EventProtectedFolderDeleted; nothing is deleted in Procore), and a
// vanished folder that is back where it was (restored from the recycle
// bin) resumes them. Run calls it every LayoutInterval.
func (m *Manager) CheckLayout(ctx context.Context) error {
	m.op.Lock()
	defer m.op.Unlock()
	m.mu.Lock()
	prs := make([]*project, 0, len(m.projects))
	for _, pr := range m.projects {
		prs = append(prs, pr)
	}
	cos := make([]*company, 0, len(m.companies))
	for _, co := range m.companies {
		cos = append(cos, co)
	}
	m.mu.Unlock()
	var errs []error
	for _, pr := range prs {
		if err := ctx.Err(); err != nil {
			return err
		}
		errs = append(errs, m.checkProject(ctx, pr))
	}
	for _, co := range cos {
		errs = append(errs, m.checkCompany(ctx, co))
	}
	return errors.Join(errs...)
}

// locate finds the folder of ID id that was at want on root: its entry,
// or found false when it vanished.
func locate(ctx context.Context, root storage.Storage, want, id string) (storage.Entry, bool, error) {
	if ids, ok := root.(storage.IDStater); ok {
		e, err := ids.StatID(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return storage.Entry{}, false, nil
		case err != nil:
			return storage.Entry{}, false, err
		}
		return e, e.IsDir, nil
	}
	e, err := root.Stat(ctx, want)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Entry{}, false, nil
	case err != nil:
		return storage.Entry{}, false, err
	}
	return e, e.IsDir && e.ID == id, nil
}

// checkProject checks pr's project folder (see CheckLayout).
func (m *Manager) checkProject(ctx context.Context, pr *project) error {
	m.mu.Lock()
	folder, id, gone, label := pr.folder, pr.folderID, pr.gone, pr.label()
	tps := append([]*toolPair(nil), pr.pairs...)
	m.mu.Unlock()
	e, found, err := locate(ctx, pr.root, folder, id)
	if err != nil {
		return fmt.Errorf("projects: checking %s: %w", folder, err)
	}
	switch {
	case !found && !gone:
		m.mu.Lock()
		pr.gone = true
		m.mu.Unlock()
		m.pauseGone(ctx, label, tps, folder)
		return nil
	case !found:
		return nil
	}
	var errs []error
	if e.Path != folder {
		errs = append(errs, m.follow(ctx, &pr.cfg, label, tps, folder, e.Path))
		m.mu.Lock()
		pr.folder = e.Path
		m.mu.Unlock()
	}
	if gone {
		m.mu.Lock()
		pr.gone = false
		m.mu.Unlock()
		errs = append(errs, m.resumeGone(ctx, label, tps, e.Path))
	}
	return errors.Join(errs...)
}

// checkCompany checks the company Documents folder of co.
func (m *Manager) checkCompany(ctx context.Context, co *company) error {
	m.mu.Lock()
	tp, gone, cfg := co.tp, co.gone, co.cfg
	folder, id := tp.folder, tp.rootID
	m.mu.Unlock()
	e, found, err := locate(ctx, co.root, folder, id)
	if err != nil {
		return fmt.Errorf("projects: checking %s: %w", folder, err)
	}
	switch {
	case !found && !gone:
		m.mu.Lock()
		co.gone = true
		m.mu.Unlock()
		m.pauseGone(ctx, CompanyFolder, []*toolPair{tp}, folder)
		return nil
	case !found:
		return nil
	}
	var errs []error
	if e.Path != folder {
		errs = append(errs, m.reopen(ctx, &cfg, CompanyFolder, tp, e.Path))
		m.notifyRenamed(ctx, CompanyFolder, tp.id, folder, e.Path)
	}
	if gone {
		m.mu.Lock()
		co.gone = false
		m.mu.Unlock()
		errs = append(errs, m.resumeGone(ctx, CompanyFolder, []*toolPair{tp}, e.Path))
	}
	return errors.Join(errs...)
}

// follow moves the roots of the pairs tps from the project folder old to
// its new path.
func (m *Manager) follow(ctx context.Context, cfg *Project, label string, tps []*toolPair, old, moved string) error {
	var errs []error
	for _, tp := range tps {
		rel := strings.TrimPrefix(tp.folder, old+"/")
		if rel == tp.folder {
			rel = tp.tool.Folder()
		}
		errs = append(errs, m.reopen(ctx, cfg, label, tp, path.Join(moved, rel)))
	}
	m.notifyRenamed(ctx, label, "", old, moved)
	return errors.Join(errs...)
}

// notifyRenamed reports a folder followed from old to moved.
func (m *Manager) notifyRenamed(ctx context.Context, label, pairID, old, moved string) {
	m.notify(ctx, syncengine.Event{Kind: EventProtectedFolderRenamed, PairID: pairID, PairName: label,
		Paths:   []string{old, moved},
		Message: fmt.Sprintf("The folder %s of %s was renamed or moved to %s on the target; the sync follows it", old, label, moved)})
}

// reopen roots tp's target side at folder (where its folder is now) and
// updates the pair, keeping its state.
func (m *Manager) reopen(ctx context.Context, cfg *Project, label string, tp *toolPair, folder string) error {
	b, err := cfg.Target.Open(ctx, folder)
	if err != nil {
		return fmt.Errorf("projects: opening %s: %w", folder, err)
	}
	if m.o.Wrap != nil {
		b = m.o.Wrap(tp.id, b)
	}
	m.mu.Lock()
	next := *tp
	m.mu.Unlock()
	next.b, next.folder = b, folder
	if err := m.e.UpdatePair(m.pair(cfg, label, &next)); err != nil {
		return fmt.Errorf("projects: updating pair %s: %w", tp.id, err)
	}
	m.mu.Lock()
	*tp = next
	m.mu.Unlock()
	return nil
}

// runStepTimeout bounds one layout check or one round of Daily Log
// imports of Run.
const runStepTimeout = 10 * time.Minute

// Run checks the layout every LayoutInterval and imports the photos
// dropped into the Daily Log folders after each run of a Daily Log pair,
// until ctx ends; run it beside the engine's Run. Failures are logged and
// retried at the next tick. With ManagerOptions.DeliveryCheck it also
// runs the webhook delivery checks (DeliveryChecker.Run).
func (m *Manager) Run(ctx context.Context) error {
	if chk := m.o.DeliveryCheck; chk != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); _ = chk.Run(ctx) }()
	}
	layout := time.NewTicker(m.o.LayoutInterval)
	defer layout.Stop()
	imports := time.NewTicker(m.o.ImportPoll)
	defer imports.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-layout.C:
			cctx, cancel := context.WithTimeout(ctx, runStepTimeout)
			if err := m.CheckLayout(cctx); err != nil && ctx.Err() == nil {
				m.o.Logger.Warn("projects: layout check", "err", err)
			}
			cancel()
		case <-imports.C:
			cctx, cancel := context.WithTimeout(ctx, runStepTimeout)
			m.importAfterRuns(cctx)
			cancel()
		}
	}
}

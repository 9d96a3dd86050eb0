package projects

import (
	"context"
	"fmt"
	"os"

	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/syncengine"
)

// dailyLogImport brings the photos dropped into a project's Daily Log
// folder into Procore.
type dailyLogImport struct {
	im      *records.DailyLogPhotoImporter
	log     *records.FileImportLog
	lastRun int64 // the last run of the pair after which photos were imported
}

// newDailyLogImport opens pr's import log in StateDir.
func (m *Manager) newDailyLogImport(pr *project) (*dailyLogImport, error) {
	if err := os.MkdirAll(m.o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("projects: state folder: %w", err)
	}
	log, err := records.OpenFileImportLog(m.importLogPath(pr.cfg.Key()))
	if err != nil {
		return nil, err
	}
	return &dailyLogImport{im: records.NewDailyLogPhotoImporter(pr.cfg.Client, pr.cfg.ProjectID, log), log: log}, nil
}

// ImportDailyLogPhotos imports into Procore the photos a person dropped
// into "Daily Log/<day>/Photos/" of project k on the target: each becomes
// one Daily Log image of that day (records.DailyLogPhotoImporter), never
// twice, across restarts too (the project's import log in StateDir). When
// photos were uploaded it wakes the Daily Log pair, whose next run sees
// both sides agree. Run calls it after each run of the pair.
func (m *Manager) ImportDailyLogPhotos(ctx context.Context, k Key) (records.PhotoImportResult, error) {
	pr, ok := m.get(k)
	if !ok {
		return records.PhotoImportResult{}, fmt.Errorf("%w: %s", ErrUnknownProject, k)
	}
	m.mu.Lock()
	d, gone := pr.dailyLog, pr.gone
	var im *records.DailyLogPhotoImporter
	if d != nil {
		im = d.im
	}
	var tp *toolPair
	for _, x := range pr.pairs {
		if x.tool == DailyLog {
			c := *x
			tp = &c
		}
	}
	m.mu.Unlock()
	if d == nil || tp == nil {
		return records.PhotoImportResult{}, fmt.Errorf("%w: %s %s", ErrUnknownTool, k, DailyLog)
	}
	if gone {
		return records.PhotoImportResult{}, nil
	}
	ps, err := m.o.Store.LoadPair(ctx, tp.id)
	if err != nil {
		return records.PhotoImportResult{}, err
	}
	if ps.Paused {
		// A paused pair's folder may not be the one people see.
		return records.PhotoImportResult{}, nil
	}
	dir, err := tp.b.Stat(ctx, "")
	if err != nil {
		return records.PhotoImportResult{}, fmt.Errorf("projects: the Daily Log folder: %w", err)
	}
	res, err := im.Import(ctx, tp.b, dir)
	if len(res.Uploaded) > 0 {
		m.o.Logger.Info("projects: Daily Log photos imported", "project", k.String(), "photos", len(res.Uploaded))
		m.e.Wake(tp.id)
	}
	for p, ferr := range res.Failed {
		m.o.Logger.Warn("projects: Daily Log photo not imported", "project", k.String(), "path", p, "err", ferr)
	}
	return res, err
}

// importAfterRuns imports the dropped photos of every Daily Log pair whose
// run ended since the last import.
func (m *Manager) importAfterRuns(ctx context.Context) {
	type job struct {
		k  Key
		id string
		d  *dailyLogImport
	}
	var jobs []job
	m.mu.Lock()
	for k, pr := range m.projects {
		if pr.dailyLog == nil {
			continue
		}
		for _, tp := range pr.pairs {
			if tp.tool == DailyLog {
				jobs = append(jobs, job{k, tp.id, pr.dailyLog})
			}
		}
	}
	m.mu.Unlock()
	for _, j := range jobs {
		runs, err := m.o.Store.Runs(ctx, j.id, syncengine.Page{Limit: 1})
		if err != nil || len(runs) == 0 || runs[0].Ended.IsZero() {
			continue
		}
		m.mu.Lock()
		seen := runs[0].ID == j.d.lastRun
		m.mu.Unlock()
		if seen {
			continue
		}
		if _, err := m.ImportDailyLogPhotos(ctx, j.k); err != nil {
			if ctx.Err() == nil {
				m.o.Logger.Warn("projects: Daily Log photo import", "project", j.k.String(), "err", err)
			}
			continue
		}
		m.mu.Lock()
		j.d.lastRun = runs[0].ID
		m.mu.Unlock()
	}
}

package portal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Page bounds a list: at most Limit entries (0: DefaultLimit; at most
// MaxLimit), skipping Offset, newest first.
type Page struct {
	Limit, Offset int
}

// List bounds.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (p Page) engine() (syncengine.Page, error) {
	if p.Limit < 0 || p.Offset < 0 {
		return syncengine.Page{}, invalid("limit", "must not be negative")
	}
	if p.Limit > MaxLimit {
		return syncengine.Page{}, invalid("limit", fmt.Sprintf("at most %d", MaxLimit))
	}
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	return syncengine.Page{Limit: p.Limit, Offset: p.Offset}, nil
}

// projects returns the configured projects, or one per engine pair when
// the service has no ProjectManager.
func (s *Service) projects(ctx context.Context) ([]ProjectConfig, error) {
	if s.opt.Projects != nil {
		return s.opt.Projects.List(ctx)
	}
	var out []ProjectConfig
	for _, id := range s.eng.Pairs() {
		p, ok := s.eng.Pair(id)
		if !ok {
			continue
		}
		dir := "two_way"
		if p.Direction == syncengine.DirectionOneWayAB {
			dir = "one_way"
		}
		out = append(out, ProjectConfig{ID: id, Name: cmp.Or(p.Name, id),
			Tools: []ToolConfig{{Tool: "", Direction: dir, PairID: id}}})
	}
	slices.SortFunc(out, func(a, b ProjectConfig) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Service) project(ctx context.Context, id string) (ProjectConfig, error) {
	ps, err := s.projects(ctx)
	if err != nil {
		return ProjectConfig{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return ProjectConfig{}, fmt.Errorf("portal: project %q: %w", id, ErrNotFound)
}

func ptime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func runInfo(r syncengine.Run) RunInfo {
	c := r.Counts
	return RunInfo{ID: r.ID, PairID: r.PairID, Initial: r.Initial, Started: r.Started.UTC(), Ended: ptime(r.Ended),
		Status: string(r.Status), Error: r.Error, Undone: r.Undone,
		Counts: RunCounts{FilesCopied: c.FilesCopied, FoldersMade: c.FoldersMade, Moved: c.Moved, Deleted: c.Deleted,
			Linked: c.Linked, Conflicts: c.Conflicts, Held: c.Held, Failed: c.Failed, Waiting: c.Waiting,
			Replanned: c.Replanned, Skipped: c.Skipped, BytesCopied: c.BytesCopied, BytesDeleted: c.BytesDeleted}}
}

// toolFigures computes one pair's figures over r.
func (s *Service) toolFigures(ctx context.Context, t ToolConfig, r DateRange) (ToolFigures, error) {
	st, err := s.eng.Stats(ctx, t.PairID)
	if err != nil {
		return ToolFigures{}, engineErr(err)
	}
	f := ToolFigures{Tool: t.Tool, PairID: t.PairID, Name: st.Name, Paused: st.Paused,
		Running: st.LastRun.Status == syncengine.RunRunning}
	f.Files, f.Folders, f.Bytes = st.Files, st.Folders, st.BytesInSync
	f.Held, f.Failing, f.Quarantined = st.Held, st.Failing, st.Quarantined
	f.LastSuccess = ptime(st.LastSuccess)
	runs, err := s.eng.History(ctx, t.PairID, syncengine.Page{Since: r.From})
	if err != nil {
		return ToolFigures{}, engineErr(err)
	}
	var nanos int64
	for _, run := range runs {
		if !r.contains(run.Started) {
			continue
		}
		f.Runs++
		if run.Status == syncengine.RunFailed || run.Status == syncengine.RunRefused {
			f.FailedRuns++
		}
		if f.LastSync == nil || run.Started.After(*f.LastSync) {
			f.LastSync = ptime(run.Started)
		}
		f.FilesSynced += run.Counts.FilesCopied
		f.BytesSynced += run.Counts.BytesCopied
		f.Deleted += run.Counts.Deleted
		f.BytesDeleted += run.Counts.BytesDeleted
		nanos += run.Counts.TransferNanos
	}
	if nanos > 0 {
		f.AverageBytesPerSecond = float64(f.BytesSynced) / (float64(nanos) / float64(time.Second))
	}
	return f, nil
}

// add adds o's figures to f (the average speed is recomputed by the
// caller from the sums).
func (f *Figures) add(o Figures) {
	f.Files += o.Files
	f.Folders += o.Folders
	f.Bytes += o.Bytes
	f.FilesSynced += o.FilesSynced
	f.BytesSynced += o.BytesSynced
	f.Deleted += o.Deleted
	f.BytesDeleted += o.BytesDeleted
	f.Runs += o.Runs
	f.FailedRuns += o.FailedRuns
	f.Held += o.Held
	f.Failing += o.Failing
	f.Quarantined += o.Quarantined
	if o.LastSync != nil && (f.LastSync == nil || o.LastSync.After(*f.LastSync)) {
		f.LastSync = o.LastSync
	}
	if o.LastSuccess != nil && (f.LastSuccess == nil || o.LastSuccess.After(*f.LastSuccess)) {
		f.LastSuccess = o.LastSuccess
	}
}

// seconds returns the transfer time behind f's average speed.
func (f Figures) seconds() float64 {
	if f.AverageBytesPerSecond <= 0 {
		return 0
	}
	return float64(f.BytesSynced) / f.AverageBytesPerSecond
}

// Dashboard returns the figures of every project and tool over r: what is
// in sync now, and what the runs started in r did (engine Stats and
// History). Viewer.
func (s *Service) Dashboard(ctx context.Context, r DateRange) (Dashboard, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return Dashboard{}, err
	}
	if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
		return Dashboard{}, invalid("to", "must be after from")
	}
	ps, err := s.projects(ctx)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Range: DateRange{From: r.From.UTC(), To: r.To.UTC()}, Projects: []ProjectFigures{}}
	if r.From.IsZero() {
		d.Range.From = time.Time{}
	}
	if r.To.IsZero() {
		d.Range.To = time.Time{}
	}
	var totalSecs float64
	for _, p := range ps {
		pf := ProjectFigures{ProjectID: p.ID, Name: p.Name, Tools: []ToolFigures{}}
		var secs float64
		for _, t := range p.Tools {
			tf, err := s.toolFigures(ctx, t, r)
			if errors.Is(err, ErrNotFound) {
				continue // a tool whose pair is being added or removed
			}
			if err != nil {
				return Dashboard{}, err
			}
			secs += tf.seconds()
			pf.add(tf.Figures)
			pf.Tools = append(pf.Tools, tf)
		}
		if secs > 0 {
			pf.AverageBytesPerSecond = float64(pf.BytesSynced) / secs
		}
		totalSecs += secs
		d.Totals.add(pf.Figures)
		d.Projects = append(d.Projects, pf)
	}
	if totalSecs > 0 {
		d.Totals.AverageBytesPerSecond = float64(d.Totals.BytesSynced) / totalSecs
	}
	return d, nil
}

// toolSummary describes one tool's pair now.
func (s *Service) toolSummary(ctx context.Context, t ToolConfig) (ToolSummary, error) {
	st, err := s.eng.Stats(ctx, t.PairID)
	if err != nil {
		return ToolSummary{}, engineErr(err)
	}
	ts := ToolSummary{Tool: t.Tool, PairID: t.PairID, Name: st.Name, Direction: t.Direction, State: "idle",
		PauseReason: st.PauseReason, Initialized: st.Initialized, InSync: st.Files + st.Folders}
	if st.Runs > 0 {
		ri := runInfo(st.LastRun)
		ts.LastRun = &ri
		ts.LastSync = ptime(st.LastRun.Started)
		if st.LastRun.Status == syncengine.RunRunning {
			ts.State = "running"
		}
	}
	if st.Paused {
		ts.State = "paused"
	}
	return ts, nil
}

func (s *Service) summary(ctx context.Context, p ProjectConfig) (ProjectSummary, error) {
	out := ProjectSummary{ID: p.ID, Name: p.Name, CompanyID: p.CompanyID, ProcoreProjectID: p.ProcoreProjectID,
		Tools: []ToolSummary{}}
	for _, t := range p.Tools {
		ts, err := s.toolSummary(ctx, t)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return ProjectSummary{}, err
		}
		if ts.State != "paused" {
			out.Active = true
		}
		if ts.LastSync != nil && (out.LastSync == nil || ts.LastSync.After(*out.LastSync)) {
			out.LastSync = ts.LastSync
		}
		out.Tools = append(out.Tools, ts)
	}
	return out, nil
}

// Projects lists the projects with their IDs, tools, state and last sync
// time. Viewer.
func (s *Service) Projects(ctx context.Context) ([]ProjectSummary, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	ps, err := s.projects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ProjectSummary, 0, len(ps))
	for _, p := range ps {
		sum, err := s.summary(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// Project returns one project's summary. Viewer.
func (s *Service) Project(ctx context.Context, id string) (ProjectSummary, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return ProjectSummary{}, err
	}
	p, err := s.project(ctx, id)
	if err != nil {
		return ProjectSummary{}, err
	}
	return s.summary(ctx, p)
}

// Runs returns a pair's runs (start, end, result), newest first. Viewer.
func (s *Service) Runs(ctx context.Context, pairID string, pg Page) ([]RunInfo, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	ep, err := pg.engine()
	if err != nil {
		return nil, err
	}
	runs, err := s.eng.History(ctx, pairID, ep)
	if err != nil {
		return nil, engineErr(err)
	}
	out := make([]RunInfo, len(runs))
	for i, r := range runs {
		out[i] = runInfo(r)
	}
	return out, nil
}

func sideName(p syncengine.Pair, side syncengine.Side) string {
	if side == syncengine.SideA {
		return cmp.Or(p.AName, "A")
	}
	return cmp.Or(p.BName, "B")
}

// Activity returns a pair's activity log, newest first. Viewer.
func (s *Service) Activity(ctx context.Context, pairID string, pg Page) ([]ActivityEntry, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return nil, err
	}
	ep, err := pg.engine()
	if err != nil {
		return nil, err
	}
	as, err := s.eng.Activity(ctx, pairID, ep)
	if err != nil {
		return nil, engineErr(err)
	}
	out := make([]ActivityEntry, len(as))
	for i, a := range as {
		out[i] = activityEntry(p, a)
	}
	return out, nil
}

func activityEntry(p syncengine.Pair, a syncengine.Activity) ActivityEntry {
	return ActivityEntry{ID: a.ID, PairID: a.PairID, RunID: a.RunID, Time: a.Time.UTC(), Action: a.Kind.String(),
		Side: sideName(p, a.Side), Path: a.Path, Size: a.Size, Detail: a.Detail}
}

func errorEntry(p syncengine.Pair, e syncengine.ErrorRecord) ErrorEntry {
	return ErrorEntry{ID: e.ID, PairID: e.PairID, RunID: e.RunID, Time: e.Time.UTC(), Side: sideName(p, e.Side),
		Path: e.Path, Op: e.Op, Error: e.Error}
}

// Errors returns a pair's error log, newest first. Viewer.
func (s *Service) Errors(ctx context.Context, pairID string, pg Page) ([]ErrorEntry, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return nil, err
	}
	ep, err := pg.engine()
	if err != nil {
		return nil, err
	}
	es, err := s.eng.Errors(ctx, pairID, ep)
	if err != nil {
		return nil, engineErr(err)
	}
	out := make([]ErrorEntry, len(es))
	for i, e := range es {
		out[i] = errorEntry(p, e)
	}
	return out, nil
}

// ProjectErrors returns the error log of every tool of a project merged,
// newest first. Viewer.
func (s *Service) ProjectErrors(ctx context.Context, projectID string, pg Page) ([]ErrorEntry, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	ep, err := pg.engine()
	if err != nil {
		return nil, err
	}
	proj, err := s.project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	all := []ErrorEntry{}
	for _, t := range proj.Tools {
		p, ok := s.eng.Pair(t.PairID)
		if !ok {
			continue
		}
		es, err := s.eng.Errors(ctx, t.PairID, syncengine.Page{Limit: ep.Limit + ep.Offset})
		if err != nil {
			return nil, engineErr(err)
		}
		for _, e := range es {
			all = append(all, errorEntry(p, e))
		}
	}
	slices.SortStableFunc(all, func(a, b ErrorEntry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	lo := min(ep.Offset, len(all))
	hi := min(lo+ep.Limit, len(all))
	return all[lo:hi], nil
}

// Folder lays out one folder level of a pair, both sides next to each
// other with each item's sync status (in sync, differs, only on one side,
// held, failed, quarantined) and each side's web address where the
// storage gives one (engine FolderView). folder is a path on side A ("":
// the pair root). Viewer.
func (s *Service) Folder(ctx context.Context, pairID, folder string) (Folder, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return Folder{}, err
	}
	folder, err := cleanPath(folder)
	if err != nil {
		return Folder{}, err
	}
	p, err := s.pair(pairID)
	if err != nil {
		return Folder{}, err
	}
	view, err := s.eng.FolderView(ctx, pairID, folder)
	if err != nil {
		return Folder{}, engineErr(err)
	}
	out := Folder{PairID: pairID, Path: folder, AName: sideName(p, syncengine.SideA), BName: sideName(p, syncengine.SideB),
		Entries: make([]FolderItem, 0, len(view))}
	if folder != "" {
		parent := path.Dir(folder)
		if parent == "." {
			parent = ""
		}
		out.Parent = &parent
	}
	for _, v := range view {
		out.Entries = append(out.Entries, FolderItem{Name: v.Name, IsDir: v.IsDir, Status: string(v.Status),
			Detail: v.Detail, A: s.sideItem(ctx, pairID, p, syncengine.SideA, v.A),
			B: s.sideItem(ctx, pairID, p, syncengine.SideB, v.B)})
	}
	return out, nil
}

func (s *Service) sideItem(ctx context.Context, pairID string, p syncengine.Pair, side syncengine.Side, e *storage.Entry) *SideItem {
	if e == nil {
		return nil
	}
	it := &SideItem{ID: e.ID, Path: e.Path, Size: e.Size, ModTime: e.ModTime.UTC(), Version: e.Version}
	if e.ModTime.IsZero() {
		it.ModTime = time.Time{}
	}
	st := p.A
	if side == syncengine.SideB {
		st = p.B
	}
	if wl, ok := st.(WebLinker); ok {
		if u, err := wl.WebURL(ctx, *e); err == nil {
			it.WebURL = u
		}
	} else if s.opt.WebURL != nil {
		it.WebURL = s.opt.WebURL(pairID, side, *e)
	}
	return it
}

// cleanPath validates a folder path given by a client.
func cleanPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if len(p) > 4096 || strings.ContainsRune(p, 0) {
		return "", invalid("path", "not a valid path")
	}
	if p == "" {
		return "", nil
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return "", invalid("path", "not a valid path")
		}
	}
	return p, nil
}

// maxProgressCount bounds the activity Progress reads of a running run.
const maxProgressCount = 100000

// Progress says how far a pair's current run is: whether it runs, what
// it did so far and how many items are in sync. Viewer.
func (s *Service) Progress(ctx context.Context, pairID string) (Progress, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return Progress{}, err
	}
	st, err := s.eng.Stats(ctx, pairID)
	if err != nil {
		return Progress{}, engineErr(err)
	}
	pr := Progress{PairID: pairID, InSync: st.Files + st.Folders}
	if st.Runs == 0 {
		return pr, nil
	}
	ri := runInfo(st.LastRun)
	pr.Run = &ri
	pr.Running = st.LastRun.Status == syncengine.RunRunning
	if pr.Running {
		as, err := s.eng.RunActivity(ctx, pairID, st.LastRun.ID, syncengine.Page{Limit: maxProgressCount})
		if err != nil {
			return Progress{}, engineErr(err)
		}
		pr.Done = len(as)
	} else {
		c := st.LastRun.Counts
		pr.Done = c.FilesCopied + c.FoldersMade + c.Moved + c.Deleted + c.Linked
	}
	return pr, nil
}

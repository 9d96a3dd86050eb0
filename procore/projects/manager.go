package projects

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Event kinds the Manager sends to its Notifier, besides the engine's.
const (
	// EventProtectedFolderRenamed: a person renamed or moved a project
	// folder (or a tool folder); the pairs follow it. Paths holds the old
	// and the new path.
	EventProtectedFolderRenamed = syncengine.EventProtectedFolderRenamed
	// EventProtectedFolderDeleted: a project folder (or a tool folder)
	// vanished from the target; the project's pairs are paused, nothing is
	// deleted in Procore. Paths holds the folder's path.
	EventProtectedFolderDeleted = syncengine.EventProtectedFolderDeleted
	// EventProtectedFolderRestored: a vanished folder is back where it
	// was; the pairs the Manager paused are resumed.
	EventProtectedFolderRestored = syncengine.EventProtectedFolderRestored
)

// layoutPausePrefix starts the pause reason of pairs the Manager paused
// because their folder vanished.
const layoutPausePrefix = "protected folder deleted: "

// ManagerOptions configure a Manager.
type ManagerOptions struct {
	// Store is the engine's metadata store (required): the Manager reads a
	// pair's state to resume an interrupted initial sync and to find a
	// renamed folder by the ID the engine remembers for it.
	Store syncengine.MetadataStore
	// StateDir is the folder of the Manager's own files, the Daily Log
	// photo import logs (one records.FileImportLog per project, mode
	// 0600); put it next to the metadata store. Required for projects
	// that sync the Daily Log.
	StateDir string
	// Notifier receives the Manager's events (EventProtectedFolder...);
	// nil: they are only logged.
	Notifier syncengine.Notifier
	// Logger receives the Manager's logs (default slog.Default()).
	Logger *slog.Logger
	// PairID derives a pair's ID from the project and the tool (default
	// DefaultPairID). It must be stable: the ID keys the pair's state.
	PairID func(k Key, t Tool) string
	// Wrap, when set, wraps each target storage (progress counting).
	Wrap func(pairID string, s storage.Storage) storage.Storage
	// LayoutInterval is how often Run checks the project folders (default
	// 1 hour). A check costs one target call per project and one per
	// company Documents folder; between checks a renamed folder is still
	// followed by storages that address their root by ID (SharePoint,
	// OneDrive, Box), and a vanished one pauses its pairs at their next
	// run.
	LayoutInterval time.Duration
	// ImportPoll is how often Run looks for ended runs of Daily Log pairs,
	// after which it imports dropped photos (default 2 seconds; reads the
	// metadata store only).
	ImportPoll time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NoAudit stops the Manager from recording project changes (added,
	// updated, removed, a tool added or removed) in the engine's audit log
	// (Engine.Audit, with the context's syncengine.WithActor). Set it when
	// a layer above records them itself, as the portal package does.
	NoAudit bool
	// DeliveryCheck, when set, is the webhook safety net: the Manager
	// fills in its Store, Waker (the engine) and Pairs (the Manager's
	// pairs of each project and tool) when they are not set, and Run runs
	// its checks (DeliveryChecker.Run). Give the engine its policy,
	// Options.Reconcile = DeliveryCheck.Reconcile(0), and add each
	// company's hook (DeliveryChecker.AddHook with the ID
	// procore.WebhooksService.RegisterCompanyHook returned).
	DeliveryCheck *DeliveryChecker
}

// DefaultPairID is the default pair ID: "procore/<company>/<project>/<tool>",
// and "procore/<company>/company-documents" for company Documents.
func DefaultPairID(k Key, t Tool) string {
	if t.CompanyLevel() {
		return fmt.Sprintf("procore/%d/%s", k.CompanyID, t)
	}
	return fmt.Sprintf("procore/%d/%d/%s", k.CompanyID, k.ProjectID, t)
}

// Manager turns Projects into the pairs of an Engine and keeps them: Add,
// Update, Remove, AddTool and RemoveTool work while the engine runs. Its
// methods are safe for concurrent use.
type Manager struct {
	e *syncengine.Engine
	o ManagerOptions

	op sync.Mutex // serialises the methods that change projects

	mu        sync.Mutex // guards the maps and the records in them
	projects  map[Key]*project
	companies map[int64]*company
}

// project is the Manager's record of one project.
type project struct {
	cfg      Project
	name     string          // the project's name
	folder   string          // the project folder, below the target's root
	folderID string          // its item ID
	root     storage.Storage // the target's root
	pairs    []*toolPair     // project-level tools, in cfg.Tools order
	gone     bool            // the project folder vanished; its pairs are paused
	dailyLog *dailyLogImport
}

// company is the company Documents pair shared by a company's projects.
type company struct {
	tp    *toolPair
	cfg   Project // the project whose target and options it uses
	root  storage.Storage
	users map[int64]bool
	gone  bool
}

// toolPair is one pair of a project.
type toolPair struct {
	tool   Tool
	id     string
	folder string // below the target's root
	rootID string // the folder's item ID
	dir    syncengine.Direction
	a, b   storage.Storage
}

// NewManager returns a Manager adding pairs to e.
func NewManager(e *syncengine.Engine, o ManagerOptions) (*Manager, error) {
	if e == nil {
		return nil, errors.New("projects: nil engine")
	}
	if o.Store == nil {
		return nil, errors.New("projects: ManagerOptions.Store is required")
	}
	if o.LayoutInterval < 0 || o.ImportPoll < 0 {
		return nil, errors.New("projects: negative interval")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PairID == nil {
		o.PairID = DefaultPairID
	}
	if o.LayoutInterval == 0 {
		o.LayoutInterval = time.Hour
	}
	if o.ImportPoll == 0 {
		o.ImportPoll = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Manager{e: e, o: o, projects: map[Key]*project{}, companies: map[int64]*company{}}
	if o.DeliveryCheck != nil {
		o.DeliveryCheck.attach(m)
	}
	return m, nil
}

// PairInfo describes one pair of a project.
type PairInfo struct {
	Tool      Tool
	PairID    string
	Folder    string // the target folder, below the target's root
	Direction syncengine.Direction
	// Procore and Target are the pair's storages (register Procore's with
	// a webhook receiver: procore.Receiver, records.WatchWebhooks).
	Procore, Target storage.Storage
}

// ProjectInfo describes a project the Manager syncs.
type ProjectInfo struct {
	Project Project
	// Name is the project's name; Folder the project folder below the
	// target's root.
	Name, Folder string
	// Pairs are the project's pairs, company Documents included.
	Pairs []PairInfo
	// FolderMissing: the project folder vanished and the pairs are paused.
	FolderMissing bool
}

// Add adds project p: it makes the layout <Root>/<project name>/<Tool>
// (and <Root>/Company Documents once per company) on the target, unless
// earlier folders of the project are found (by the IDs the engine
// remembers, wherever a person moved them), and adds a pair per tool to
// the engine, which runs them at once if its scheduler runs. A pair whose
// folder vanished since it last ran is added paused. An initial sync that
// was interrupted resumes as a merge.
func (m *Manager) Add(ctx context.Context, p Project) (ProjectInfo, error) {
	if err := p.Validate(); err != nil {
		return ProjectInfo{}, err
	}
	if p.has(DailyLog) && m.o.StateDir == "" {
		return ProjectInfo{}, &ConfigError{Field: "Tools", Reason: "the Daily Log needs ManagerOptions.StateDir for its photo import log"}
	}
	m.op.Lock()
	defer m.op.Unlock()
	if _, ok := m.get(p.Key()); ok {
		return ProjectInfo{}, fmt.Errorf("%w: %s", ErrProjectExists, p.Key())
	}
	p.Tools = slices.Clone(p.Tools)
	pr := &project{cfg: p, name: strings.TrimSpace(p.Name)}
	if pr.name == "" {
		got, _, err := p.Client.Projects.Get(ctx, p.CompanyID, p.ProjectID)
		if err != nil {
			return ProjectInfo{}, fmt.Errorf("projects: procore project %d: %w", p.ProjectID, err)
		}
		if pr.name = strings.TrimSpace(got.Name); pr.name == "" {
			pr.name = fmt.Sprint("Project ", p.ProjectID)
		}
	}
	root, err := p.Target.Open(ctx, "")
	if err != nil {
		return ProjectInfo{}, fmt.Errorf("projects: opening the target: %w", err)
	}
	pr.root = root
	if err := m.locateProject(ctx, pr); err != nil {
		return ProjectInfo{}, err
	}
	var added []string
	undo := func() {
		for _, id := range added {
			_ = m.e.RemovePair(context.WithoutCancel(ctx), id, syncengine.RemoveOptions{Grace: -1})
		}
	}
	for _, tc := range p.Tools {
		if tc.Tool.CompanyLevel() {
			continue
		}
		tp, err := m.addTool(ctx, pr, tc)
		if err != nil {
			undo()
			return ProjectInfo{}, err
		}
		added = append(added, tp.id)
		pr.pairs = append(pr.pairs, tp)
	}
	if p.has(CompanyDocuments) {
		if err := m.joinCompany(ctx, pr); err != nil {
			undo()
			return ProjectInfo{}, err
		}
	}
	if p.has(DailyLog) {
		pr.dailyLog, err = m.newDailyLogImport(pr)
		if err != nil {
			undo()
			m.leaveCompany(ctx, pr, RemoveOptions{})
			return ProjectInfo{}, err
		}
	}
	m.mu.Lock()
	m.projects[p.Key()] = pr
	m.mu.Unlock()
	m.o.Logger.Info("projects: project added", "project", p.Key().String(), "name", pr.name, "pairs", len(pr.pairs))
	m.audit(ctx, syncengine.AuditProjectAdded, p.Key(), map[string]string{"name": pr.name, "tools": toolList(p.Tools)})
	return m.info(pr), nil
}

// label is the project's label in pair names and reports.
func (pr *project) label() string {
	if pr.cfg.Options.IntegrationName != "" {
		return pr.cfg.Options.IntegrationName
	}
	return pr.name
}

// folderNameRules are the characters no target takes in a folder name.
var folderNameRules = storage.NameRules{InvalidChars: `"*:<>?/\|#%~`, NoTrailingSpace: true, NoTrailingPeriod: true}

// locateProject sets pr.folder and pr.folderID: where the project's
// earlier tool folders are (found by the root IDs the engine remembers),
// else <Root>/<mapped name>, made if missing.
func (m *Manager) locateProject(ctx context.Context, pr *project) error {
	expected := path.Join(pr.cfg.Root, folderNameRules.Map(pr.name, replacement(pr.cfg.Options)))
	ids, _ := pr.root.(storage.IDStater)
	for _, tc := range pr.cfg.Tools {
		if tc.Tool.CompanyLevel() {
			continue
		}
		ps, err := m.o.Store.LoadPair(ctx, m.o.PairID(pr.cfg.Key(), tc.Tool))
		if err != nil {
			return fmt.Errorf("projects: loading pair state: %w", err)
		}
		if ps.RootB == "" {
			continue
		}
		if e, err := pr.root.Stat(ctx, path.Join(expected, tc.Tool.Folder())); err == nil && e.ID == ps.RootB {
			break
		}
		if ids == nil {
			continue
		}
		e, err := ids.StatID(ctx, ps.RootB)
		if err != nil || e.Path == "" || path.Dir(e.Path) == "." {
			continue
		}
		if dir := path.Dir(e.Path); dir != expected {
			m.o.Logger.Info("projects: project folder found elsewhere", "project", pr.cfg.Key().String(), "folder", dir)
			m.notify(ctx, syncengine.Event{Kind: EventProtectedFolderRenamed, PairName: pr.label(),
				Message: fmt.Sprintf("The folder of %s was moved to %s; the sync follows it", pr.label(), dir),
				Paths:   []string{expected, dir}, Count: 2})
			expected = dir
		}
		break
	}
	e, err := makeDirs(ctx, pr.root, expected)
	if err != nil {
		return err
	}
	pr.folder, pr.folderID = expected, e.ID
	return nil
}

// makeDirs makes folder rel and its missing parents on root and returns
// it: one Stat when it exists, else a Stat per missing level and one up,
// and a MakeDir per missing level.
func makeDirs(ctx context.Context, root storage.Storage, rel string) (storage.Entry, error) {
	if rel == "." {
		rel = ""
	}
	e, err := root.Stat(ctx, rel)
	switch {
	case err == nil && !e.IsDir:
		return storage.Entry{}, fmt.Errorf("projects: making %s: %w", rel, storage.NewError("mkdir", e.Path, storage.ErrNotDir, nil))
	case err == nil:
		return e, nil
	case !errors.Is(err, storage.ErrNotFound) || rel == "":
		return storage.Entry{}, fmt.Errorf("projects: %s: %w", rel, err)
	}
	parent, err := makeDirs(ctx, root, path.Dir(rel))
	if err != nil {
		return storage.Entry{}, err
	}
	e, err = root.MakeDir(ctx, parent, path.Base(rel))
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Made meanwhile (by a person, or another worker).
		if e, err = root.Stat(ctx, rel); err == nil && !e.IsDir {
			err = storage.NewError("mkdir", e.Path, storage.ErrNotDir, nil)
		}
	}
	if err != nil {
		return storage.Entry{}, fmt.Errorf("projects: making %s: %w", rel, err)
	}
	return e, nil
}

// replacement is the replacement of invalid characters of o.
func replacement(o Options) string {
	if o.Replacement != "" {
		return o.Replacement
	}
	return "-"
}

// addTool makes (or finds) the folder of a project-level tool, builds its
// pair and adds it to the engine.
func (m *Manager) addTool(ctx context.Context, pr *project, tc ToolConfig) (*toolPair, error) {
	tp := &toolPair{tool: tc.Tool, id: m.o.PairID(pr.cfg.Key(), tc.Tool), dir: tc.direction()}
	a, err := m.procoreSide(pr, tc.Tool)
	if err != nil {
		return nil, err
	}
	tp.a = a
	gone, err := m.openToolFolder(ctx, &pr.cfg, pr.root, tp, path.Join(pr.folder, tc.Tool.Folder()))
	if err != nil {
		return nil, err
	}
	if err := m.addPair(ctx, &pr.cfg, pr.label(), tp); err != nil {
		return nil, err
	}
	if gone != "" {
		m.pauseGone(ctx, pr.label(), []*toolPair{tp}, gone)
	}
	return tp, nil
}

// openToolFolder finds the folder of tp (where the engine's remembered
// root ID is now, else at want, made if missing) and opens it as tp.b. It
// returns the path of a folder that vanished since the pair last ran, in
// which case a new one was made at want and the pair must be paused.
func (m *Manager) openToolFolder(ctx context.Context, cfg *Project, root storage.Storage, tp *toolPair, want string) (gone string, err error) {
	ps, err := m.o.Store.LoadPair(ctx, tp.id)
	if err != nil {
		return "", fmt.Errorf("projects: loading pair state: %w", err)
	}
	folder := want
	if ps.RootB != "" {
		e, err := root.Stat(ctx, want)
		switch {
		case err == nil && e.ID == ps.RootB:
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return "", fmt.Errorf("projects: %s: %w", want, err)
		default:
			if ids, ok := root.(storage.IDStater); ok {
				if e, err := ids.StatID(ctx, ps.RootB); err == nil && e.IsDir {
					folder = e.Path
					break
				} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
					return "", fmt.Errorf("projects: %s: %w", want, err)
				}
			}
			gone = want
		}
	}
	e, err := makeDirs(ctx, root, folder)
	if err != nil {
		return "", err
	}
	b, err := cfg.Target.Open(ctx, folder)
	if err != nil {
		return "", fmt.Errorf("projects: opening %s: %w", folder, err)
	}
	if m.o.Wrap != nil {
		b = m.o.Wrap(tp.id, b)
	}
	tp.folder, tp.rootID, tp.b = folder, e.ID, b
	return gone, nil
}

// pair is the engine pair of tp in project cfg.
func (m *Manager) pair(cfg *Project, label string, tp *toolPair) syncengine.Pair {
	o := cfg.Options
	deletes := syncengine.DeletePropagate
	if o.KeepDeletes || tp.tool == Photos {
		// Photos deletions never propagate (as the products people know).
		deletes = syncengine.DeleteKeep
	}
	name := label + " / " + tp.tool.Folder()
	if tp.tool.CompanyLevel() {
		name = CompanyFolder
	}
	return syncengine.Pair{
		ID: tp.id, Name: name, A: tp.a, B: tp.b, AName: "Procore", BName: cfg.Target.Name(),
		Direction: tp.dir, Initial: o.Initial, Deletes: deletes, DeleteLimit: o.DeleteLimit,
		NameMapping: !o.NoNameMapping, Replacement: o.Replacement, Filter: o.Filter,
		Interval: o.Interval, Budgets: slices.Clone(o.Budgets),
	}
}

// addPair adds tp's pair to the engine, resuming an interrupted standard
// initial sync as a merge.
func (m *Manager) addPair(ctx context.Context, cfg *Project, label string, tp *toolPair) error {
	p := m.pair(cfg, label, tp)
	if p.Initial == syncengine.InitialStandard {
		merge, err := m.interrupted(ctx, tp.id)
		if err != nil {
			return err
		}
		if merge {
			p.Initial = syncengine.InitialMerge
		}
	}
	if err := m.e.AddPair(p); err != nil {
		return fmt.Errorf("projects: adding pair %s: %w", tp.id, err)
	}
	return nil
}

// interrupted reports whether the pair's initial sync started and did not
// complete: its target may hold part of the sync's own work, which a
// standard initial sync would refuse.
func (m *Manager) interrupted(ctx context.Context, id string) (bool, error) {
	ps, err := m.o.Store.LoadPair(ctx, id)
	if err != nil {
		return false, fmt.Errorf("projects: loading pair state: %w", err)
	}
	if ps.Initialized {
		return false, nil
	}
	runs, err := m.o.Store.Runs(ctx, id, syncengine.Page{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("projects: loading run history: %w", err)
	}
	return len(runs) > 0, nil
}

// procoreSide makes the Procore storage of a tool of pr.
func (m *Manager) procoreSide(pr *project, t Tool) (storage.Storage, error) {
	c, pid := pr.cfg.Client, pr.cfg.ProjectID
	rp := records.Project{ID: pid, Name: pr.name}
	var tool records.Tool
	switch t {
	case Documents:
		return procore.NewProjectDocuments(c, pid, nil), nil
	case Photos:
		return procore.NewProjectPhotos(c, pid, &procore.PhotosOptions{ReplaceSpecialChars: !pr.cfg.Options.NoNameMapping}), nil
	case CompanyDocuments:
		return procore.NewCompanyDocuments(c, nil), nil
	case DailyLog:
		// Between full re-reads every quarter of an hour, a check costs
		// two calls (counts by type, day photos).
		o := &records.DailyLogOptions{Project: pr.name, Renderer: records.DefaultRenderer,
			RendererVersion: records.DefaultRendererVersion, EditCheckInterval: 15 * time.Minute}
		days := pr.cfg.Options.DailyLogDays
		if days == 0 {
			days = 365
		}
		o.Start = m.o.Now().UTC().AddDate(0, 0, 1-days).Format("2006-01-02")
		return records.NewDailyLog(c, pid, o), nil
	case RFIs:
		tool = records.NewRFIs(c, rp, nil)
	case Submittals:
		tool = records.NewSubmittals(c, rp, nil)
	case Drawings:
		tool = records.NewDrawings(c, pid, nil)
	case Forms:
		tool = records.NewForms(c, rp, nil)
	case Observations:
		tool = records.NewObservations(c, rp, nil)
	case Inspections:
		tool = records.NewInspections(c, rp, nil)
	case Incidents:
		tool = records.NewIncidents(c, rp, nil)
	case Commitments:
		tool = records.NewCommitments(c, rp, nil)
	default:
		return nil, &ConfigError{Field: "Tools", Reason: fmt.Sprintf("unknown tool %q", t)}
	}
	return records.New(c, tool, nil)
}

// joinCompany adds pr to its company's company Documents pair, adding the
// pair for the company's first project.
func (m *Manager) joinCompany(ctx context.Context, pr *project) error {
	m.mu.Lock()
	co, ok := m.companies[pr.cfg.CompanyID]
	if ok {
		co.users[pr.cfg.ProjectID] = true
	}
	m.mu.Unlock()
	if ok {
		return nil
	}
	tc, _ := pr.cfg.tool(CompanyDocuments)
	tp := &toolPair{tool: CompanyDocuments, id: m.o.PairID(pr.cfg.Key(), CompanyDocuments), dir: tc.direction()}
	tp.a, _ = m.procoreSide(pr, CompanyDocuments)
	gone, err := m.openToolFolder(ctx, &pr.cfg, pr.root, tp, path.Join(pr.cfg.Root, CompanyFolder))
	if err != nil {
		return err
	}
	if err := m.addPair(ctx, &pr.cfg, pr.label(), tp); err != nil {
		return err
	}
	co = &company{tp: tp, cfg: pr.cfg, root: pr.root, users: map[int64]bool{pr.cfg.ProjectID: true}}
	if gone != "" {
		co.gone = true
		m.pauseGone(ctx, CompanyFolder, []*toolPair{tp}, gone)
	}
	m.mu.Lock()
	m.companies[pr.cfg.CompanyID] = co
	m.mu.Unlock()
	return nil
}

// leaveCompany removes pr from its company's company Documents pair,
// removing the pair with the company's last project.
func (m *Manager) leaveCompany(ctx context.Context, pr *project, o RemoveOptions) error {
	m.mu.Lock()
	co, ok := m.companies[pr.cfg.CompanyID]
	if !ok || !co.users[pr.cfg.ProjectID] {
		m.mu.Unlock()
		return nil
	}
	delete(co.users, pr.cfg.ProjectID)
	last := len(co.users) == 0
	if last {
		delete(m.companies, pr.cfg.CompanyID)
	}
	m.mu.Unlock()
	if !last {
		return nil
	}
	return m.e.RemovePair(ctx, co.tp.id, o.engine())
}

// RemoveOptions tune Remove and RemoveTool.
type RemoveOptions struct {
	// Grace is how long a run in progress may go on before it is
	// cancelled (see syncengine.RemoveOptions).
	Grace time.Duration
	// ForgetState deletes the pairs' state (baseline, cursors, history)
	// and the Daily Log import log; without it, adding the project again
	// carries on where it stopped.
	ForgetState bool
}

func (o RemoveOptions) engine() syncengine.RemoveOptions {
	return syncengine.RemoveOptions{Grace: o.Grace, ForgetState: o.ForgetState}
}

// Remove stops the project's pairs and removes them from the engine. The
// target's files stay where they are; the pairs' state is kept unless
// o.ForgetState. Company Documents are removed with the company's last
// project.
func (m *Manager) Remove(ctx context.Context, k Key, o RemoveOptions) error {
	m.op.Lock()
	defer m.op.Unlock()
	pr, ok := m.get(k)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProject, k)
	}
	m.mu.Lock()
	delete(m.projects, k)
	m.mu.Unlock()
	var errs []error
	for _, tp := range pr.pairs {
		if err := m.e.RemovePair(ctx, tp.id, o.engine()); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.leaveCompany(ctx, pr, o); err != nil {
		errs = append(errs, err)
	}
	if pr.dailyLog != nil && o.ForgetState {
		if err := pr.dailyLog.log.Remove(); err != nil {
			errs = append(errs, err)
		}
	}
	m.o.Logger.Info("projects: project removed", "project", k.String(), "forget_state", o.ForgetState)
	m.audit(ctx, syncengine.AuditProjectRemoved, k, map[string]string{"name": pr.name, "forget_state": fmt.Sprint(o.ForgetState)})
	return errors.Join(errs...)
}

// Update changes the configuration of the project p.Key(): its options,
// client, tools and their directions. The pairs of tools it keeps keep
// their state (the engine's UpdatePair); tools no longer chosen are
// removed as RemoveTool does (state kept); new tools are added as AddTool
// does. The target, the root and the name stay as they were added: the
// project's folder does not move.
func (m *Manager) Update(ctx context.Context, p Project) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.op.Lock()
	defer m.op.Unlock()
	pr, ok := m.get(p.Key())
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProject, p.Key())
	}
	if !sameTarget(p.Target, pr.cfg.Target) || p.Root != pr.cfg.Root {
		return &ConfigError{Field: "Target", Reason: "the target and root of a project cannot change: remove it and add it again"}
	}
	if p.has(DailyLog) && m.o.StateDir == "" {
		return &ConfigError{Field: "Tools", Reason: "the Daily Log needs ManagerOptions.StateDir for its photo import log"}
	}
	p.Tools = slices.Clone(p.Tools)
	p.Name = pr.cfg.Name
	old := pr.cfg
	m.mu.Lock()
	pr.cfg = p
	m.mu.Unlock()
	var errs []error
	for _, tp := range slices.Clone(pr.pairs) {
		if !p.has(tp.tool) {
			errs = append(errs, m.removeTool(ctx, pr, tp.tool, RemoveOptions{}))
			continue
		}
		tc, _ := p.tool(tp.tool)
		next := *tp
		next.dir = tc.direction()
		if p.Client != old.Client || p.Options.DailyLogDays != old.Options.DailyLogDays ||
			p.Options.NoNameMapping != old.Options.NoNameMapping {
			a, err := m.procoreSide(pr, tp.tool)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			next.a = a
		}
		if err := m.e.UpdatePair(m.pair(&p, pr.label(), &next)); err != nil {
			errs = append(errs, fmt.Errorf("projects: updating pair %s: %w", tp.id, err))
			continue
		}
		m.mu.Lock()
		*tp = next
		m.mu.Unlock()
	}
	for _, tc := range p.Tools {
		if old.has(tc.Tool) && (!tc.Tool.CompanyLevel() || m.inCompany(pr)) {
			continue
		}
		errs = append(errs, m.addToolLocked(ctx, pr, tc))
	}
	if old.has(CompanyDocuments) && !p.has(CompanyDocuments) {
		errs = append(errs, m.leaveCompany(ctx, pr, RemoveOptions{}))
	}
	m.mu.Lock()
	if p.Client != old.Client && pr.dailyLog != nil {
		pr.dailyLog.im = records.NewDailyLogPhotoImporter(p.Client, p.ProjectID, pr.dailyLog.log)
	}
	m.mu.Unlock()
	details := map[string]string{"name": pr.name, "tools": toolList(p.Tools)}
	if !reflect.DeepEqual(old.Options, p.Options) {
		details["options"] = "changed"
	}
	m.audit(ctx, syncengine.AuditProjectUpdated, p.Key(), details)
	return errors.Join(errs...)
}

// inCompany reports whether pr uses its company's company Documents pair.
func (m *Manager) inCompany(pr *project) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	co, ok := m.companies[pr.cfg.CompanyID]
	return ok && co.users[pr.cfg.ProjectID]
}

// AddTool adds one tool to project k, into <project folder>/<Tool> (company
// Documents: <Root>/Company Documents).
func (m *Manager) AddTool(ctx context.Context, k Key, tc ToolConfig) error {
	m.op.Lock()
	defer m.op.Unlock()
	pr, ok := m.get(k)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProject, k)
	}
	if !tc.Tool.Known() {
		return &ConfigError{Field: "Tools", Reason: fmt.Sprintf("unknown tool %q", tc.Tool)}
	}
	if pr.cfg.has(tc.Tool) {
		return &ConfigError{Field: "Tools", Reason: fmt.Sprintf("%s is already synced", tc.Tool)}
	}
	if tc.Tool == DailyLog && m.o.StateDir == "" {
		return &ConfigError{Field: "Tools", Reason: "the Daily Log needs ManagerOptions.StateDir for its photo import log"}
	}
	m.mu.Lock()
	pr.cfg.Tools = append(slices.Clone(pr.cfg.Tools), tc)
	m.mu.Unlock()
	if err := m.addToolLocked(ctx, pr, tc); err != nil {
		m.mu.Lock()
		pr.cfg.Tools = slices.DeleteFunc(slices.Clone(pr.cfg.Tools), func(x ToolConfig) bool { return x.Tool == tc.Tool })
		m.mu.Unlock()
		return err
	}
	m.audit(ctx, syncengine.AuditProjectUpdated, k, map[string]string{"name": pr.name, "tool_added": string(tc.Tool)})
	return nil
}

// addToolLocked adds tool tc to pr (the caller holds m.op; tc is in
// pr.cfg.Tools).
func (m *Manager) addToolLocked(ctx context.Context, pr *project, tc ToolConfig) error {
	if tc.Tool.CompanyLevel() {
		return m.joinCompany(ctx, pr)
	}
	tp, err := m.addTool(ctx, pr, tc)
	if err != nil {
		return err
	}
	m.mu.Lock()
	pr.pairs = append(pr.pairs, tp)
	m.mu.Unlock()
	if tc.Tool == DailyLog && pr.dailyLog == nil {
		d, err := m.newDailyLogImport(pr)
		if err != nil {
			return err
		}
		m.mu.Lock()
		pr.dailyLog = d
		m.mu.Unlock()
	}
	return nil
}

// RemoveTool stops one tool of project k and removes its pair; the
// target's files stay.
func (m *Manager) RemoveTool(ctx context.Context, k Key, t Tool, o RemoveOptions) error {
	m.op.Lock()
	defer m.op.Unlock()
	pr, ok := m.get(k)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownProject, k)
	}
	if !pr.cfg.has(t) {
		return fmt.Errorf("%w: %s %s", ErrUnknownTool, k, t)
	}
	m.mu.Lock()
	pr.cfg.Tools = slices.DeleteFunc(slices.Clone(pr.cfg.Tools), func(x ToolConfig) bool { return x.Tool == t })
	m.mu.Unlock()
	err := m.removeTool(ctx, pr, t, o)
	m.audit(ctx, syncengine.AuditProjectUpdated, k, map[string]string{"name": pr.name, "tool_removed": string(t)})
	return err
}

// removeTool removes tool t's pair of pr (the caller holds m.op).
func (m *Manager) removeTool(ctx context.Context, pr *project, t Tool, o RemoveOptions) error {
	if t.CompanyLevel() {
		return m.leaveCompany(ctx, pr, o)
	}
	m.mu.Lock()
	i := slices.IndexFunc(pr.pairs, func(tp *toolPair) bool { return tp.tool == t })
	if i < 0 {
		m.mu.Unlock()
		return nil
	}
	tp := pr.pairs[i]
	pr.pairs = slices.Delete(slices.Clone(pr.pairs), i, i+1)
	var d *dailyLogImport
	if t == DailyLog {
		d, pr.dailyLog = pr.dailyLog, nil
	}
	m.mu.Unlock()
	err := m.e.RemovePair(ctx, tp.id, o.engine())
	if d != nil && o.ForgetState {
		err = errors.Join(err, d.log.Remove())
	}
	return err
}

// get returns the project of key k.
func (m *Manager) get(k Key) (*project, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pr, ok := m.projects[k]
	return pr, ok
}

// Get describes project k.
func (m *Manager) Get(k Key) (ProjectInfo, bool) {
	pr, ok := m.get(k)
	if !ok {
		return ProjectInfo{}, false
	}
	return m.info(pr), true
}

// List describes every project, by company and project ID.
func (m *Manager) List() []ProjectInfo {
	m.mu.Lock()
	prs := make([]*project, 0, len(m.projects))
	for _, pr := range m.projects {
		prs = append(prs, pr)
	}
	m.mu.Unlock()
	slices.SortFunc(prs, func(a, b *project) int {
		if a.cfg.CompanyID != b.cfg.CompanyID {
			return compare(a.cfg.CompanyID, b.cfg.CompanyID)
		}
		return compare(a.cfg.ProjectID, b.cfg.ProjectID)
	})
	out := make([]ProjectInfo, 0, len(prs))
	for _, pr := range prs {
		out = append(out, m.info(pr))
	}
	return out
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// info describes pr.
func (m *Manager) info(pr *project) ProjectInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg := pr.cfg
	cfg.Tools = slices.Clone(cfg.Tools)
	in := ProjectInfo{Project: cfg, Name: pr.name, Folder: pr.folder, FolderMissing: pr.gone}
	for _, tp := range pr.pairs {
		in.Pairs = append(in.Pairs, tp.info())
	}
	if co, ok := m.companies[cfg.CompanyID]; ok && co.users[cfg.ProjectID] {
		in.Pairs = append(in.Pairs, co.tp.info())
	}
	return in
}

func (tp *toolPair) info() PairInfo {
	return PairInfo{Tool: tp.tool, PairID: tp.id, Folder: tp.folder, Direction: tp.dir, Procore: tp.a, Target: tp.b}
}

// Recipients returns the notification recipients of the project an event
// is about (Options.Recipients; for company Documents, those of every
// project of the company), for mailnotify.Options.Recipients.
func (m *Manager) Recipients(ev syncengine.Event) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	add := func(rs []string) {
		for _, r := range rs {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, pr := range m.projects {
		if ev.PairName == pr.label() && ev.PairID == "" {
			add(pr.cfg.Options.Recipients)
		}
		for _, tp := range pr.pairs {
			if tp.id == ev.PairID {
				add(pr.cfg.Options.Recipients)
			}
		}
	}
	for _, co := range m.companies {
		if co.tp.id != ev.PairID {
			continue
		}
		for pid := range co.users {
			if pr, ok := m.projects[Key{co.cfg.CompanyID, pid}]; ok {
				add(pr.cfg.Options.Recipients)
			}
		}
	}
	slices.Sort(out)
	return out
}

// notify sends ev to the Manager's notifier and logs it.
func (m *Manager) notify(ctx context.Context, ev syncengine.Event) {
	if ev.Time.IsZero() {
		ev.Time = m.o.Now()
	}
	if ev.Count == 0 {
		ev.Count = len(ev.Paths)
	}
	m.o.Logger.Info("projects: "+string(ev.Kind), "pair", ev.PairID, "message", ev.Message)
	if m.o.Notifier != nil {
		m.o.Notifier.Notify(context.WithoutCancel(ctx), ev)
	}
}

// importLogPath is the file of project k's Daily Log import log.
func (m *Manager) importLogPath(k Key) string {
	return filepath.Join(m.o.StateDir, fmt.Sprintf("dailylog-photos-%d-%d.json", k.CompanyID, k.ProjectID))
}

// audit records an admin change of project k in the engine's audit log,
// with the actor of ctx (syncengine.WithActor). A store without the audit
// role only logs it; an error is logged, not returned: the change itself
// happened.
func (m *Manager) audit(ctx context.Context, kind syncengine.AuditKind, k Key, details map[string]string) {
	if m.o.NoAudit {
		return
	}
	err := m.e.Audit(ctx, syncengine.AuditEntry{Kind: kind, Project: k.String(), Details: details})
	if err != nil {
		m.o.Logger.Warn("projects: audit entry not recorded", "kind", string(kind), "project", k.String(), "err", err)
	}
}

// toolList names tools for audit details, in the configured order.
func toolList(tools []ToolConfig) string {
	names := make([]string, len(tools))
	for i, tc := range tools {
		names[i] = string(tc.Tool)
	}
	return strings.Join(names, ", ")
}

// Package managed configures the portal's projects with the
// procore/projects Manager: it is the portal.ProjectManager of a program
// that syncs real Procore projects, opening each project's Procore client
// and target through the connections the portal made (Connectors).
package managed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/syncengine"
)

// Connectors opens what a project configuration names.
type Connectors interface {
	// Procore returns the Procore client of company companyID through
	// the Procore connection connection (ProjectConfig.Connection; ""
	// names the program's default).
	Procore(ctx context.Context, connection string, companyID int64) (*procore.Client, error)
	// Target returns the target of connection (ProjectConfig.Target).
	// The same connection must give the same Target value each time:
	// the Manager keeps a project's target for its life.
	Target(ctx context.Context, connection string) (projects.Target, error)
}

// Projects is a portal.ProjectManager over a projects.Manager.
type Projects struct {
	m *projects.Manager
	c Connectors

	mu    sync.Mutex
	conns map[projects.Key][2]string // Procore and target connection of each project
}

var _ portal.ProjectManager = (*Projects)(nil)

// New returns the ProjectManager of m, opening clients and targets with c.
// The portal records every project change in the audit log itself: make m
// with projects.ManagerOptions.NoAudit, so that each change is one entry.
func New(m *projects.Manager, c Connectors) *Projects {
	return &Projects{m: m, c: c, conns: map[projects.Key][2]string{}}
}

// ID is the portal's ID of a project: "<company>-<project>".
func ID(k projects.Key) string { return fmt.Sprintf("%d-%d", k.CompanyID, k.ProjectID) }

func parseID(id string) (projects.Key, error) {
	var k projects.Key
	var rest string
	if n, _ := fmt.Sscanf(id+" x", "%d-%d %s", &k.CompanyID, &k.ProjectID, &rest); n != 3 || ID(k) != id {
		return k, fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	return k, nil
}

// mapErr turns the projects package's errors into the portal's.
func mapErr(err error) error {
	var ce *projects.ConfigError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &portal.InputError{Field: ce.Field, Reason: ce.Reason}
	case errors.Is(err, projects.ErrUnknownProject):
		return fmt.Errorf("%w: %w", portal.ErrNotFound, err)
	case errors.Is(err, projects.ErrProjectExists):
		return fmt.Errorf("%w: %w", portal.ErrConflict, err)
	case errors.Is(err, projects.ErrInvalidProject):
		return fmt.Errorf("%w: %w", portal.ErrInvalid, err)
	}
	return err
}

// config converts a project the Manager syncs to the portal's form.
func (p *Projects) config(info projects.ProjectInfo) portal.ProjectConfig {
	pr := info.Project
	k := pr.Key()
	p.mu.Lock()
	conns := p.conns[k]
	p.mu.Unlock()
	o := pr.Options
	cfg := portal.ProjectConfig{ID: ID(k), Name: info.Name, CompanyID: k.CompanyID, ProcoreProjectID: k.ProjectID,
		Connection: conns[0], Target: conns[1], TargetFolder: pr.Root,
		Options: portal.ProjectOptions{SyncDeletes: !o.KeepDeletes, DeleteLimit: o.DeleteLimit,
			NameMapping: !o.NoNameMapping, Replacement: o.Replacement, InitialMode: "standard",
			Include: slices.Clone(o.Filter.Include), Exclude: slices.Clone(o.Filter.Exclude),
			IntegrationName: o.IntegrationName},
		Recipients: slices.Clone(o.Recipients)}
	if o.Initial == syncengine.InitialMerge {
		cfg.Options.InitialMode = "merge"
	}
	for _, tc := range pr.Tools {
		t := portal.ToolConfig{Tool: string(tc.Tool), Direction: "two_way"}
		if !tc.Tool.TwoWay() || tc.Direction == syncengine.DirectionOneWayAB {
			t.Direction = "one_way"
		}
		for _, pi := range info.Pairs {
			if pi.Tool == tc.Tool {
				t.PairID = pi.PairID
			}
		}
		cfg.Tools = append(cfg.Tools, t)
	}
	return cfg
}

// apply sets the tools and options of cfg on pr.
func apply(pr *projects.Project, cfg portal.ProjectConfig) error {
	pr.Tools = nil
	for _, t := range cfg.Tools {
		tool, err := projects.ParseTool(t.Tool)
		if err != nil {
			return mapErr(err)
		}
		tc := projects.ToolConfig{Tool: tool}
		if t.Direction == "one_way" {
			tc.Direction = syncengine.DirectionOneWayAB
		}
		pr.Tools = append(pr.Tools, tc)
	}
	o := &pr.Options
	o.KeepDeletes, o.DeleteLimit = !cfg.Options.SyncDeletes, cfg.Options.DeleteLimit
	o.NoNameMapping, o.Replacement = !cfg.Options.NameMapping, cfg.Options.Replacement
	o.Initial = syncengine.InitialStandard
	if cfg.Options.InitialMode == "merge" {
		o.Initial = syncengine.InitialMerge
	}
	o.Filter.Include, o.Filter.Exclude = slices.Clone(cfg.Options.Include), slices.Clone(cfg.Options.Exclude)
	o.IntegrationName = cfg.Options.IntegrationName
	o.Recipients = slices.Clone(cfg.Recipients)
	return nil
}

// List implements portal.ProjectManager.
func (p *Projects) List(context.Context) ([]portal.ProjectConfig, error) {
	var out []portal.ProjectConfig
	for _, info := range p.m.List() {
		out = append(out, p.config(info))
	}
	slices.SortFunc(out, func(a, b portal.ProjectConfig) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Get implements portal.ProjectManager.
func (p *Projects) Get(_ context.Context, id string) (portal.ProjectConfig, error) {
	k, err := parseID(id)
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	info, ok := p.m.Get(k)
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	return p.config(info), nil
}

// Add implements portal.ProjectManager: it opens the Procore client and
// the target through the connections the configuration names and adds
// the project to the Manager (which makes its folders and pairs).
func (p *Projects) Add(ctx context.Context, cfg portal.ProjectConfig) (portal.ProjectConfig, error) {
	client, err := p.c.Procore(ctx, cfg.Connection, cfg.CompanyID)
	if err != nil {
		return portal.ProjectConfig{}, &portal.InputError{Field: "connection", Reason: err.Error()}
	}
	target, err := p.c.Target(ctx, cfg.Target)
	if err != nil {
		return portal.ProjectConfig{}, &portal.InputError{Field: "target", Reason: err.Error()}
	}
	pr := projects.Project{Client: client, CompanyID: cfg.CompanyID, ProjectID: cfg.ProcoreProjectID, Name: cfg.Name,
		Target: target, Root: cfg.TargetFolder}
	if err := apply(&pr, cfg); err != nil {
		return portal.ProjectConfig{}, err
	}
	p.mu.Lock()
	p.conns[pr.Key()] = [2]string{cfg.Connection, cfg.Target}
	p.mu.Unlock()
	info, err := p.m.Add(ctx, pr)
	if err != nil {
		if !errors.Is(err, projects.ErrProjectExists) {
			p.mu.Lock()
			delete(p.conns, pr.Key())
			p.mu.Unlock()
		}
		return portal.ProjectConfig{}, mapErr(err)
	}
	return p.config(info), nil
}

// Update implements portal.ProjectManager: tools and options change; the
// target, its folder and the connections cannot (remove and add the
// project again).
func (p *Projects) Update(ctx context.Context, cfg portal.ProjectConfig) (portal.ProjectConfig, error) {
	k, err := parseID(cfg.ID)
	if err != nil {
		return portal.ProjectConfig{}, err
	}
	info, ok := p.m.Get(k)
	if !ok {
		return portal.ProjectConfig{}, fmt.Errorf("project %q: %w", cfg.ID, portal.ErrNotFound)
	}
	cur := p.config(info)
	switch {
	case cfg.CompanyID != k.CompanyID || cfg.ProcoreProjectID != k.ProjectID:
		return portal.ProjectConfig{}, &portal.InputError{Field: "procore_project_id", Reason: "cannot change"}
	case cfg.TargetFolder != cur.TargetFolder || cfg.Target != cur.Target || cfg.Connection != cur.Connection:
		return portal.ProjectConfig{}, &portal.InputError{Field: "target",
			Reason: "the target, its folder and the connections cannot change: remove the project and add it again"}
	}
	pr := info.Project
	if err := apply(&pr, cfg); err != nil {
		return portal.ProjectConfig{}, err
	}
	if err := p.m.Update(ctx, pr); err != nil {
		return portal.ProjectConfig{}, mapErr(err)
	}
	info, _ = p.m.Get(k)
	return p.config(info), nil
}

// Remove implements portal.ProjectManager.
func (p *Projects) Remove(ctx context.Context, id string, forget bool) error {
	k, err := parseID(id)
	if err != nil {
		return err
	}
	if err := p.m.Remove(ctx, k, projects.RemoveOptions{ForgetState: forget}); err != nil {
		return mapErr(err)
	}
	p.mu.Lock()
	delete(p.conns, k)
	p.mu.Unlock()
	return nil
}

// Check implements portal.ProjectChecker with the procore/projects
// connection checks: Procore (credentials, company, project, each tool's
// listing) and the target (folder, writable probe).
func (p *Projects) Check(ctx context.Context, id string) ([]portal.CheckResult, error) {
	k, err := parseID(id)
	if err != nil {
		return nil, err
	}
	info, ok := p.m.Get(k)
	if !ok {
		return nil, fmt.Errorf("project %q: %w", id, portal.ErrNotFound)
	}
	pr := info.Project
	tools := make([]projects.Tool, 0, len(pr.Tools))
	for _, tc := range pr.Tools {
		tools = append(tools, tc.Tool)
	}
	reps := []projects.CheckReport{
		projects.CheckProcore(ctx, projects.CheckProcoreOptions{Client: pr.Client, ProjectID: pr.ProjectID, Tools: tools}),
		projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: pr.Target, Folder: pr.Root}),
	}
	var out []portal.CheckResult
	for _, rep := range reps {
		for _, r := range rep.Results {
			out = append(out, portal.CheckResult{Service: rep.Service, Step: string(r.Step), Subject: r.Subject,
				OK: r.OK, Skipped: r.Skipped, Message: r.Message})
		}
	}
	return out, nil
}

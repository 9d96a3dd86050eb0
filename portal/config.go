package portal

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/procoresync/procoresync/syncengine"
)

// Tools a project may sync.
var knownTools = []string{"documents", "photos", "rfis", "submittals", "drawings", "forms", "observations",
	"inspections", "incidents", "commitments", "daily-log", "company-documents"}

// twoWayTools may sync both ways; the others are one way (Procore to the
// target).
var twoWayTools = []string{"documents", "photos", "company-documents"}

// validate checks a project configuration before it reaches the manager.
func (p *ProjectConfig) validate() error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 200 {
		return invalid("name", "required, at most 200 characters")
	}
	if p.CompanyID <= 0 {
		return invalid("company_id", "required")
	}
	if p.ProcoreProjectID <= 0 {
		return invalid("procore_project_id", "required")
	}
	if len(p.TargetFolder) > 1024 {
		return invalid("target_folder", "at most 1024 characters")
	}
	if len(p.Tools) == 0 {
		return invalid("tools", "choose at least one tool")
	}
	seen := map[string]bool{}
	for i := range p.Tools {
		t := &p.Tools[i]
		if !slices.Contains(knownTools, t.Tool) {
			return invalid("tools", fmt.Sprintf("unknown tool %q", t.Tool))
		}
		if seen[t.Tool] {
			return invalid("tools", fmt.Sprintf("tool %q given twice", t.Tool))
		}
		seen[t.Tool] = true
		switch t.Direction {
		case "":
			t.Direction = "one_way"
			if slices.Contains(twoWayTools, t.Tool) {
				t.Direction = "two_way"
			}
		case "one_way":
		case "two_way":
			if !slices.Contains(twoWayTools, t.Tool) {
				return invalid("tools", fmt.Sprintf("tool %q syncs one way only", t.Tool))
			}
		default:
			return invalid("tools", `direction must be "one_way" or "two_way"`)
		}
	}
	o := &p.Options
	if o.DeleteLimit < 0 {
		return invalid("options.delete_limit", "must not be negative")
	}
	switch o.InitialMode {
	case "":
		o.InitialMode = "standard"
	case "standard", "merge":
	default:
		return invalid("options.initial_mode", `must be "standard" or "merge"`)
	}
	if len(o.Replacement) > 8 || strings.ContainsAny(o.Replacement, `/\:*?"<>|`) {
		return invalid("options.replacement", "at most 8 characters, none invalid in file names")
	}
	if len([]rune(o.IntegrationName)) > 70 {
		return invalid("options.integration_name", "at most 70 characters")
	}
	for _, pat := range append(slices.Clone(o.Include), o.Exclude...) {
		if pat == "" || len(pat) > 1024 {
			return invalid("options.include", "empty or too long pattern")
		}
	}
	var err error
	if p.Recipients, err = cleanRecipients(p.Recipients); err != nil {
		return err
	}
	return nil
}

// cleanRecipients validates and de-duplicates email addresses.
func cleanRecipients(rs []string) ([]string, error) {
	if len(rs) > 100 {
		return nil, invalid("recipients", "at most 100")
	}
	out := []string{}
	for _, r := range rs {
		r = strings.ToLower(strings.TrimSpace(r))
		a, err := mail.ParseAddress(r)
		if err != nil || a.Address != r {
			return nil, invalid("recipients", fmt.Sprintf("%q is not an email address", r))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// normalized returns p with empty lists instead of nil ones, as the API
// shows them.
func (p ProjectConfig) normalized() ProjectConfig {
	if p.Tools == nil {
		p.Tools = []ToolConfig{}
	}
	if p.Recipients == nil {
		p.Recipients = []string{}
	}
	if p.Options.Include == nil {
		p.Options.Include = []string{}
	}
	if p.Options.Exclude == nil {
		p.Options.Exclude = []string{}
	}
	return p
}

func (s *Service) manager() (ProjectManager, error) {
	if s.opt.Projects == nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, errNoProjects)
	}
	return s.opt.Projects, nil
}

// ProjectConfig returns a project's configuration. Viewer.
func (s *Service) ProjectConfig(ctx context.Context, id string) (ProjectConfig, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return ProjectConfig{}, err
	}
	m, err := s.manager()
	if err != nil {
		return ProjectConfig{}, err
	}
	p, err := m.Get(ctx, id)
	return p.normalized(), err
}

// AddProject adds a project: its tools become pairs of the engine through
// the ProjectManager. Admin.
func (s *Service) AddProject(ctx context.Context, p ProjectConfig) (ProjectConfig, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return ProjectConfig{}, err
	}
	m, err := s.manager()
	if err != nil {
		return ProjectConfig{}, err
	}
	p.ID = ""
	if err := p.validate(); err != nil {
		return ProjectConfig{}, err
	}
	out, err := m.Add(ctx, p)
	if err != nil {
		return ProjectConfig{}, err
	}
	out = out.normalized()
	return out, s.audit(ctx, c, string(syncengine.AuditProjectAdded), "", out.ID, projectDetails(out))
}

func projectDetails(p ProjectConfig) map[string]string {
	tools := make([]string, len(p.Tools))
	for i, t := range p.Tools {
		tools[i] = t.Tool + ":" + t.Direction
	}
	return map[string]string{"name": p.Name, "company_id": fmt.Sprint(p.CompanyID),
		"procore_project_id": fmt.Sprint(p.ProcoreProjectID), "tools": strings.Join(tools, ","),
		"target": p.Target, "target_folder": p.TargetFolder,
		"sync_deletes": fmt.Sprint(p.Options.SyncDeletes), "delete_limit": fmt.Sprint(p.Options.DeleteLimit),
		"initial_mode": p.Options.InitialMode, "recipients": strings.Join(p.Recipients, ",")}
}

// UpdateProject changes a project's tools, target folder, options or
// recipients; the pairs it keeps keep their state. Admin.
func (s *Service) UpdateProject(ctx context.Context, p ProjectConfig) (ProjectConfig, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return ProjectConfig{}, err
	}
	m, err := s.manager()
	if err != nil {
		return ProjectConfig{}, err
	}
	old, err := m.Get(ctx, p.ID)
	if err != nil {
		return ProjectConfig{}, err
	}
	if err := p.validate(); err != nil {
		return ProjectConfig{}, err
	}
	out, err := m.Update(ctx, p)
	if err != nil {
		return ProjectConfig{}, err
	}
	out = out.normalized()
	details := diffDetails(projectDetails(old), projectDetails(out))
	return out, s.audit(ctx, c, string(syncengine.AuditProjectUpdated), "", out.ID, details)
}

// diffDetails keeps the keys whose value changed, as "old -> new".
func diffDetails(old, cur map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range cur {
		if old[k] != v {
			out[k] = old[k] + " -> " + v
		}
	}
	return out
}

// RemoveProject stops a project's pairs and forgets it; the target's
// files stay; forget also drops the pairs' sync state. Admin.
func (s *Service) RemoveProject(ctx context.Context, id string, forget bool) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	m, err := s.manager()
	if err != nil {
		return err
	}
	old, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := m.Remove(ctx, id, forget); err != nil {
		return err
	}
	return s.audit(ctx, c, string(syncengine.AuditProjectRemoved), "", id, map[string]string{"name": old.Name, "forget": fmt.Sprint(forget)})
}

// Recipients returns a project's notification recipients. Viewer.
func (s *Service) Recipients(ctx context.Context, projectID string) ([]string, error) {
	p, err := s.ProjectConfig(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if p.Recipients == nil {
		return []string{}, nil
	}
	return p.Recipients, nil
}

// SetRecipients replaces a project's notification recipients. Admin.
func (s *Service) SetRecipients(ctx context.Context, projectID string, recipients []string) ([]string, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return nil, err
	}
	m, err := s.manager()
	if err != nil {
		return nil, err
	}
	rs, err := cleanRecipients(recipients)
	if err != nil {
		return nil, err
	}
	p, err := m.Get(ctx, projectID)
	if err != nil {
		return nil, err
	}
	old := strings.Join(p.Recipients, ",")
	p.Recipients = rs
	out, err := m.Update(ctx, p)
	if err != nil {
		return nil, err
	}
	if out.Recipients == nil {
		out.Recipients = []string{}
	}
	return out.Recipients, s.audit(ctx, c, "recipients_changed", "", projectID,
		map[string]string{"recipients": old + " -> " + strings.Join(out.Recipients, ",")})
}

// AuditLog returns the audit log, newest first. Viewer.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	if q.Limit < 0 || q.Offset < 0 || q.Limit > MaxLimit {
		return nil, invalid("limit", fmt.Sprintf("between 0 and %d", MaxLimit))
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	out, err := s.opt.Audit.List(ctx, q)
	if out == nil {
		out = []AuditEntry{}
	}
	return out, err
}

// CheckProject checks a project's connections step by step (Procore:
// credentials, company, project, each tool; the target: credentials,
// folder, writable), when the ProjectManager can (ProjectChecker). A
// failed step says exactly what is wrong. Admin.
func (s *Service) CheckProject(ctx context.Context, id string) ([]CheckResult, error) {
	if _, err := s.require(ctx, RoleAdmin); err != nil {
		return nil, err
	}
	m, err := s.manager()
	if err != nil {
		return nil, err
	}
	pc, ok := m.(ProjectChecker)
	if !ok {
		return nil, fmt.Errorf("%w: the project manager cannot check connections", ErrUnavailable)
	}
	out, err := pc.Check(ctx, id)
	if out == nil && err == nil {
		out = []CheckResult{}
	}
	return out, err
}

package portal

import (
	"context"
	"errors"
)

// ProjectConfig is a project's configuration as the portal edits it: the
// Procore project, the tools synced, the target and the options.
type ProjectConfig struct {
	// ID is the portal's identifier of the project (set by Add).
	ID               string `json:"id"`
	Name             string `json:"name"`
	CompanyID        int64  `json:"company_id"`
	ProcoreProjectID int64  `json:"procore_project_id"`
	// Connection names the Procore connection; Target the target's
	// connection (see Connections) and TargetFolder the folder on it.
	Connection   string         `json:"connection"`
	Target       string         `json:"target"`
	TargetFolder string         `json:"target_folder"`
	Tools        []ToolConfig   `json:"tools"`
	Options      ProjectOptions `json:"options"`
	// Recipients receive the project's notifications (email addresses).
	Recipients []string `json:"recipients"`
}

// ToolConfig is one tool of a project.
type ToolConfig struct {
	// Tool is the tool's name: documents, photos, rfis, submittals,
	// drawings, forms, observations, inspections, incidents, commitments,
	// daily-log or company-documents (the procore/projects tool names).
	Tool string `json:"tool"`
	// Direction is "two_way" or "one_way" (Procore to the target).
	Direction string `json:"direction"`
	// PairID is the engine pair of the tool (set by the manager).
	PairID string `json:"pair_id,omitempty"`
}

// ProjectOptions are a project's sync options.
type ProjectOptions struct {
	SyncDeletes bool   `json:"sync_deletes"`
	DeleteLimit int    `json:"delete_limit"`
	NameMapping bool   `json:"name_mapping"`
	Replacement string `json:"replacement"`
	// InitialMode is "standard" (the target starts empty) or "merge".
	InitialMode     string   `json:"initial_mode"`
	Include         []string `json:"include"`
	Exclude         []string `json:"exclude"`
	IntegrationName string   `json:"integration_name"`
}

// ProjectManager configures projects: it turns a ProjectConfig into the
// engine's pairs and keeps their state across changes. The procore/projects
// Manager is the implementation the portal is made for.
type ProjectManager interface {
	// List returns every project, ordered by name.
	List(ctx context.Context) ([]ProjectConfig, error)
	// Get returns one project or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (ProjectConfig, error)
	// Add adds a project (and its pairs) and returns it with its ID and
	// pair IDs set.
	Add(ctx context.Context, p ProjectConfig) (ProjectConfig, error)
	// Update changes a project's tools, target folder, options or
	// recipients without losing the state of the pairs it keeps.
	Update(ctx context.Context, p ProjectConfig) (ProjectConfig, error)
	// Remove stops the project's pairs and forgets the project; the
	// target's files stay. forget also drops the pairs' sync state.
	Remove(ctx context.Context, id string, forget bool) error
}

// errNoProjects is returned by configuration calls when the service has
// no ProjectManager.
var errNoProjects = errors.New("portal: projects are not configurable here (no ProjectManager)")

// CheckResult is one step of a project's connection check: which service
// and step, and a message that says what was verified or exactly what is
// wrong (never a secret).
type CheckResult struct {
	// Service is "Procore" or the target's name ("SharePoint").
	Service string `json:"service"`
	// Step is credentials, company, project, tool, folder or writable.
	Step    string `json:"step"`
	Subject string `json:"subject"`
	OK      bool   `json:"ok"`
	// Skipped: an earlier step failed, so this one could not run.
	Skipped bool   `json:"skipped"`
	Message string `json:"message"`
}

// ProjectChecker is implemented by ProjectManagers that can check a
// project's connections step by step (portal/managed, with the
// procore/projects connection checks).
type ProjectChecker interface {
	Check(ctx context.Context, id string) ([]CheckResult, error)
}

package projects

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/syncengine"
)

// Tool names a Procore tool a project syncs.
type Tool string

// The tools. Documents, Photos and CompanyDocuments sync two-way by
// default; the others are one-way exports (Procore → target) as PDFs with
// their attachments. CompanyDocuments is a company-level tool: one pair
// per company, into "<root>/Company Documents", shared by every project
// of the company that chooses it.
const (
	Documents        Tool = "documents"
	Photos           Tool = "photos"
	RFIs             Tool = "rfis"
	Submittals       Tool = "submittals"
	Drawings         Tool = "drawings"
	Forms            Tool = "forms"
	Observations     Tool = "observations"
	Inspections      Tool = "inspections"
	Incidents        Tool = "incidents"
	Commitments      Tool = "commitments"
	DailyLog         Tool = "daily-log"
	CompanyDocuments Tool = "company-documents"
)

// AllTools lists every tool, in the order a project's pairs are added.
var AllTools = []Tool{Documents, Photos, RFIs, Submittals, Drawings, Forms, Observations, Inspections,
	Incidents, Commitments, DailyLog, CompanyDocuments}

// RecordTools are the one-way tools (PDFs and attachments), Daily Log
// included.
var RecordTools = []Tool{RFIs, Submittals, Drawings, Forms, Observations, Inspections, Incidents,
	Commitments, DailyLog}

// CompanyFolder is the folder below the root that holds company Documents.
const CompanyFolder = "Company Documents"

// Folder returns the tool's folder name in the layout ("RFIs",
// "Daily Log", "Company Documents"), or "" for an unknown tool.
func (t Tool) Folder() string {
	switch t {
	case Documents:
		return "Documents"
	case Photos:
		return "Photos"
	case RFIs:
		return "RFIs"
	case Submittals:
		return "Submittals"
	case Drawings:
		return "Drawings"
	case Forms:
		return "Forms"
	case Observations:
		return "Observations"
	case Inspections:
		return "Inspections"
	case Incidents:
		return "Incidents"
	case Commitments:
		return "Commitments"
	case DailyLog:
		return "Daily Log"
	case CompanyDocuments:
		return CompanyFolder
	}
	return ""
}

// TwoWay reports whether the tool can sync both ways (Documents, Photos,
// company Documents).
func (t Tool) TwoWay() bool { return t == Documents || t == Photos || t == CompanyDocuments }

// CompanyLevel reports whether the tool belongs to the company rather than
// the project.
func (t Tool) CompanyLevel() bool { return t == CompanyDocuments }

// Known reports whether t is one of AllTools.
func (t Tool) Known() bool { return t.Folder() != "" }

// ParseTool reads a tool name: its constant ("rfis", "daily-log") or its
// folder name ("RFIs", "Daily Log"), without regard to case.
func ParseTool(s string) (Tool, error) {
	s = strings.TrimSpace(s)
	for _, t := range AllTools {
		if strings.EqualFold(s, string(t)) || strings.EqualFold(s, t.Folder()) {
			return t, nil
		}
	}
	return "", &ConfigError{Field: "Tools", Reason: fmt.Sprintf("unknown tool %q", s)}
}

// ToolConfig is one tool of a project and the direction it syncs.
type ToolConfig struct {
	Tool Tool
	// Direction: DirectionTwoWay (the zero value) for the two-way tools
	// unless forced to DirectionOneWayAB (Procore → target only); the
	// one-way tools always sync DirectionOneWayAB, whatever is set here.
	Direction syncengine.Direction
}

// WithTools returns the ToolConfigs of tools with their default
// directions.
func WithTools(tools ...Tool) []ToolConfig {
	out := make([]ToolConfig, 0, len(tools))
	for _, t := range tools {
		out = append(out, ToolConfig{Tool: t})
	}
	return out
}

// direction is the direction tool tc syncs in.
func (tc ToolConfig) direction() syncengine.Direction {
	if !tc.Tool.TwoWay() {
		return syncengine.DirectionOneWayAB
	}
	return tc.Direction
}

// MaxIntegrationName is the longest integration name, in characters.
const MaxIntegrationName = 70

// Options are the per-project (or per-integration) settings people know
// from Procore sync products.
type Options struct {
	// IntegrationName labels the integration in reports and mails (at most
	// MaxIntegrationName characters; default the project's name).
	IntegrationName string
	// KeepDeletes, when set, stops deletions from travelling between the
	// sides ("sync deletes" off); by default they travel, under
	// DeleteLimit. Photos never propagate deletions.
	KeepDeletes bool
	// DeleteLimit is how many deletions per pair and rolling 24 hours are
	// applied before the rest is held for approval (0: no limit).
	DeleteLimit int
	// Replacement replaces characters the other side does not allow
	// ("special-character replacement"; default "-"). Photos' album names
	// have theirs replaced too.
	Replacement string
	// NoNameMapping turns name mapping off: names the target refuses fail
	// with an invalid-name error instead of being mapped.
	NoNameMapping bool
	// Initial is how the first run treats the target's existing files:
	// InitialStandard (the target folder starts empty) or InitialMerge
	// (merge from the target).
	Initial syncengine.InitialMode
	// Filter selects the items each pair syncs.
	Filter syncengine.Filter
	// Recipients are the e-mail addresses told about this project's events
	// (see Manager.Recipients).
	Recipients []string
	// Interval is how often the pairs run when nothing wakes them (0: the
	// engine's default).
	Interval time.Duration
	// DailyLogDays is how many days of the Daily Log are exported, today
	// included (default 365).
	DailyLogDays int
	// Budgets are the limiter keys the project's connectors draw on (the
	// Procore app's, the target's), given to each pair.
	Budgets []string
}

// Key identifies a project in a Manager.
type Key struct {
	CompanyID, ProjectID int64
}

func (k Key) String() string { return fmt.Sprintf("%d/%d", k.CompanyID, k.ProjectID) }

// Project is what a Manager syncs for one Procore project.
type Project struct {
	// Client is the Procore client of the company (one per company and
	// app); its CompanyID must equal CompanyID.
	Client *procore.Client
	// CompanyID and ProjectID name the project.
	CompanyID, ProjectID int64
	// Name is the project's name, the project folder's name (mapped to
	// the target's rules). "": read from Procore when the project is added.
	Name string
	// Tools are the tools synced, each once.
	Tools []ToolConfig
	// Target opens the target's folders; Root is the folder below the
	// target's root that holds the project folders (and Company
	// Documents), e.g. "Procore".
	Target Target
	Root   string
	// Options are the project's settings.
	Options Options
}

// Key returns the project's key.
func (p *Project) Key() Key { return Key{p.CompanyID, p.ProjectID} }

// Errors of the package. Test for them with errors.Is.
var (
	// ErrInvalidProject: a Project failed validation (a *ConfigError).
	ErrInvalidProject = errors.New("projects: invalid project")
	// ErrUnknownProject: no project of that key was added.
	ErrUnknownProject = errors.New("projects: unknown project")
	// ErrProjectExists: a project of that key was already added.
	ErrProjectExists = errors.New("projects: project already added")
	// ErrUnknownTool: the project does not sync that tool.
	ErrUnknownTool = errors.New("projects: the project does not sync that tool")
)

// ConfigError says which field of a Project is wrong and why. It matches
// ErrInvalidProject.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("projects: invalid %s: %s", e.Field, e.Reason)
}

// Is reports whether target is ErrInvalidProject.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidProject }

// Validate checks the project's configuration; the error is a
// *ConfigError.
func (p *Project) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case p.Client == nil:
		return bad("Client", "a Procore client is required")
	case p.CompanyID <= 0:
		return bad("CompanyID", "must be positive, not %d", p.CompanyID)
	case p.ProjectID <= 0:
		return bad("ProjectID", "must be positive, not %d", p.ProjectID)
	case p.Client.CompanyID != p.CompanyID:
		return bad("Client", "its company is %d, not %d: use one client per company", p.Client.CompanyID, p.CompanyID)
	case p.Target == nil:
		return bad("Target", "a target is required")
	case len(p.Tools) == 0:
		return bad("Tools", "choose at least one tool")
	}
	if err := validRoot(p.Root); err != nil {
		return err
	}
	seen := map[Tool]bool{}
	for _, tc := range p.Tools {
		switch {
		case !tc.Tool.Known():
			return bad("Tools", "unknown tool %q", tc.Tool)
		case seen[tc.Tool]:
			return bad("Tools", "%s chosen twice", tc.Tool)
		case tc.Direction > syncengine.DirectionOneWayAB:
			return bad("Tools", "%s: unknown direction %d", tc.Tool, tc.Direction)
		}
		seen[tc.Tool] = true
	}
	return p.Options.validate()
}

func validRoot(root string) error {
	if strings.HasPrefix(root, "/") || strings.HasSuffix(root, "/") && root != "" {
		return &ConfigError{Field: "Root", Reason: fmt.Sprintf("%q: a relative path without leading or trailing slash", root)}
	}
	if root == "" {
		return nil
	}
	for _, seg := range strings.Split(root, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return &ConfigError{Field: "Root", Reason: fmt.Sprintf("%q has an empty, . or .. segment", root)}
		}
	}
	return nil
}

func (o *Options) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: "Options." + field, Reason: fmt.Sprintf(format, args...)}
	}
	switch n := utf8.RuneCountInString(o.IntegrationName); {
	case !utf8.ValidString(o.IntegrationName):
		return bad("IntegrationName", "not valid UTF-8")
	case n > MaxIntegrationName:
		return bad("IntegrationName", "%d characters, at most %d", n, MaxIntegrationName)
	case strings.ContainsFunc(o.IntegrationName, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("IntegrationName", "contains control characters")
	}
	switch {
	case o.DeleteLimit < 0:
		return bad("DeleteLimit", "negative")
	case o.Interval < 0:
		return bad("Interval", "negative")
	case o.DailyLogDays < 0:
		return bad("DailyLogDays", "negative")
	case o.Initial > syncengine.InitialMerge:
		return bad("Initial", "unknown initial mode %d", o.Initial)
	case strings.ContainsAny(o.Replacement, `/\`):
		return bad("Replacement", "%q contains a path separator", o.Replacement)
	}
	for _, r := range o.Recipients {
		if at := strings.LastIndexByte(r, '@'); at <= 0 || at == len(r)-1 || strings.ContainsAny(r, " \t\r\n<>,;") {
			return bad("Recipients", "%q is not an e-mail address", r)
		}
	}
	return o.Filter.Validate()
}

// has reports whether p syncs tool t.
func (p *Project) has(t Tool) bool {
	return slices.ContainsFunc(p.Tools, func(tc ToolConfig) bool { return tc.Tool == t })
}

// tool returns p's configuration of tool t.
func (p *Project) tool(t Tool) (ToolConfig, bool) {
	i := slices.IndexFunc(p.Tools, func(tc ToolConfig) bool { return tc.Tool == t })
	if i < 0 {
		return ToolConfig{}, false
	}
	return p.Tools[i], true
}

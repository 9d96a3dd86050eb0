package portal

import (
	"time"

	"github.com/procoresync/procoresync/portal/auth"
)

// DateRange bounds dashboard figures and exports to runs that started in
// [From, To). Zero bounds are open.
type DateRange struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

func (r DateRange) contains(t time.Time) bool {
	return (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To))
}

// Figures are the dashboard numbers of a tool, a project or everything.
type Figures struct {
	// Files, Folders and Bytes are what is in sync now (the baseline).
	Files   int   `json:"files"`
	Folders int   `json:"folders"`
	Bytes   int64 `json:"bytes"`
	// FilesSynced, BytesSynced, Deleted and BytesDeleted add up the runs
	// that started in the range; AverageBytesPerSecond is BytesSynced over
	// their transfer time.
	FilesSynced           int     `json:"files_synced"`
	BytesSynced           int64   `json:"bytes_synced"`
	Deleted               int     `json:"deleted"`
	BytesDeleted          int64   `json:"bytes_deleted"`
	AverageBytesPerSecond float64 `json:"average_bytes_per_second"`
	Runs                  int     `json:"runs"`
	FailedRuns            int     `json:"failed_runs"`
	// LastSync is when the newest run in the range started (nil: none);
	// LastSuccess when the newest fully successful run started.
	LastSync    *time.Time `json:"last_sync"`
	LastSuccess *time.Time `json:"last_success"`
	// Held, Failing and Quarantined count items waiting for an admin or
	// a retry now.
	Held        int `json:"held"`
	Failing     int `json:"failing"`
	Quarantined int `json:"quarantined"`
}

// ToolFigures are one tool's (one pair's) figures.
type ToolFigures struct {
	Tool    string `json:"tool"`
	PairID  string `json:"pair_id"`
	Name    string `json:"name"`
	Paused  bool   `json:"paused"`
	Running bool   `json:"running"`
	Figures
}

// ProjectFigures are a project's figures, in total and per tool.
type ProjectFigures struct {
	ProjectID string        `json:"project_id"`
	Name      string        `json:"name"`
	Tools     []ToolFigures `json:"tools"`
	Figures
}

// Dashboard is the dashboard over a date range.
type Dashboard struct {
	Range    DateRange        `json:"range"`
	Totals   Figures          `json:"totals"`
	Projects []ProjectFigures `json:"projects"`
}

// ProjectSummary is one line of the projects list.
type ProjectSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// CompanyID and ProcoreProjectID are the Procore IDs (0 when unknown).
	CompanyID        int64 `json:"company_id"`
	ProcoreProjectID int64 `json:"procore_project_id"`
	// Active is false when every tool of the project is paused.
	Active   bool          `json:"active"`
	LastSync *time.Time    `json:"last_sync"`
	Tools    []ToolSummary `json:"tools"`
}

// ToolSummary is one tool of a project: its pair and state.
type ToolSummary struct {
	Tool      string `json:"tool"`
	PairID    string `json:"pair_id"`
	Name      string `json:"name"`
	Direction string `json:"direction"`
	// State is "idle", "running" or "paused".
	State       string     `json:"state"`
	PauseReason string     `json:"pause_reason,omitempty"`
	Initialized bool       `json:"initialized"`
	LastRun     *RunInfo   `json:"last_run"`
	LastSync    *time.Time `json:"last_sync"`
	// InSync counts the items in sync now (files and folders).
	InSync int `json:"in_sync"`
}

// RunInfo is one run of a pair: the sync status.
type RunInfo struct {
	ID      int64      `json:"id"`
	PairID  string     `json:"pair_id"`
	Initial bool       `json:"initial"`
	Started time.Time  `json:"started"`
	Ended   *time.Time `json:"ended"`
	// Status is running, succeeded, partial, failed, refused or cancelled.
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Undone string    `json:"undone,omitempty"`
	Counts RunCounts `json:"counts"`
}

// RunCounts are what a run did.
type RunCounts struct {
	FilesCopied  int   `json:"files_copied"`
	FoldersMade  int   `json:"folders_made"`
	Moved        int   `json:"moved"`
	Deleted      int   `json:"deleted"`
	Linked       int   `json:"linked"`
	Conflicts    int   `json:"conflicts"`
	Held         int   `json:"held"`
	Failed       int   `json:"failed"`
	Waiting      int   `json:"waiting"`
	Replanned    int   `json:"replanned"`
	Skipped      int   `json:"skipped"`
	BytesCopied  int64 `json:"bytes_copied"`
	BytesDeleted int64 `json:"bytes_deleted"`
}

// ActivityEntry is one line of a pair's activity log.
type ActivityEntry struct {
	ID     int64     `json:"id"`
	PairID string    `json:"pair_id"`
	RunID  int64     `json:"run_id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	// Side is the side acted upon, by its label ("Procore", "SharePoint").
	Side   string `json:"side"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Detail string `json:"detail,omitempty"`
}

// ErrorEntry is one line of an error log.
type ErrorEntry struct {
	ID     int64     `json:"id"`
	PairID string    `json:"pair_id"`
	RunID  int64     `json:"run_id"`
	Time   time.Time `json:"time"`
	Side   string    `json:"side"`
	Path   string    `json:"path"`
	Op     string    `json:"op"`
	Error  string    `json:"error"`
}

// Folder is one folder level of a pair in the file manager: both sides
// next to each other.
type Folder struct {
	PairID string `json:"pair_id"`
	// Path is the folder's path on side A ("" is the pair root); Parent is
	// the folder above (nil at the root).
	Path   string  `json:"path"`
	Parent *string `json:"parent"`
	// AName and BName label the two sides.
	AName   string       `json:"a_name"`
	BName   string       `json:"b_name"`
	Entries []FolderItem `json:"entries"`
}

// FolderItem is one item of a Folder.
type FolderItem struct {
	Name  string `json:"name"`
	IsDir bool   `json:"is_dir"`
	// Status is in_sync, differs, only_a, only_b, held, failed or
	// quarantined.
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	// A and B are the item on each side (nil: absent there).
	A *SideItem `json:"a"`
	B *SideItem `json:"b"`
}

// SideItem is an item on one side.
type SideItem struct {
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time,omitzero"`
	Version string    `json:"version,omitempty"`
	// WebURL opens the item in the storage's web interface, where the
	// storage gives one (see WebLinker).
	WebURL string `json:"web_url,omitempty"`
}

// HeldItem is a deletion waiting for approval.
type HeldItem struct {
	ID     int64  `json:"id"`
	PairID string `json:"pair_id"`
	// Side is where the deletion would apply; DeletedOn where the item
	// was deleted.
	Side      string    `json:"side"`
	DeletedOn string    `json:"deleted_on"`
	Path      string    `json:"path"`
	IsDir     bool      `json:"is_dir"`
	Size      int64     `json:"size"`
	Held      time.Time `json:"held"`
}

// QuarantinedItem is an item that keeps failing: waiting for a retry, or
// quarantined until an admin releases it.
type QuarantinedItem struct {
	PairID string `json:"pair_id"`
	// Side is "A" or "B", the side the failing action targets; SideName
	// its label.
	Side        string     `json:"side"`
	SideName    string     `json:"side_name"`
	Path        string     `json:"path"`
	Error       string     `json:"error"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"next_attempt"`
	Quarantined bool       `json:"quarantined"`
	Updated     time.Time  `json:"updated"`
}

// PlannedAction is one action of a dry run.
type PlannedAction struct {
	Action string `json:"action"`
	Side   string `json:"side"`
	Path   string `json:"path"`
	Text   string `json:"text"`
}

// DryRunResult is the plan a run would apply now, not applied.
type DryRunResult struct {
	PairID string `json:"pair_id"`
	// Refused says why a run would apply nothing ("" when it would run).
	Refused string          `json:"refused,omitempty"`
	Actions []PlannedAction `json:"actions"`
	// Text is the plan printed.
	Text string `json:"text"`
}

// Progress is how far a pair's current run is: for the initial sync's
// progress bar.
type Progress struct {
	PairID  string   `json:"pair_id"`
	Running bool     `json:"running"`
	Run     *RunInfo `json:"run"`
	// Done counts what the current run did so far (activity entries, at
	// most 100,000 counted); InSync counts the items in sync now.
	Done   int `json:"done"`
	InSync int `json:"in_sync"`
}

// Role is an account's role: owner, admin or viewer.
type Role = auth.Role

// Roles.
const (
	RoleOwner  = auth.RoleOwner
	RoleAdmin  = auth.RoleAdmin
	RoleViewer = auth.RoleViewer
)

// AccountInfo is an account as the API shows it (never its password).
type AccountInfo struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     Role      `json:"role"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
}

// SessionInfo is a signed-in session as the API shows it (never its
// secret token).
type SessionInfo struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	LastSeen  time.Time `json:"last_seen"`
	UserAgent string    `json:"user_agent"`
	Address   string    `json:"address"`
	// Current marks the session of the request.
	Current bool `json:"current"`
}

// Me is who is signed in, with the CSRF token their state-changing
// requests must carry.
type Me struct {
	Account   AccountInfo `json:"account"`
	SessionID string      `json:"session_id"`
	CSRFToken string      `json:"csrf_token"`
	Expires   time.Time   `json:"expires"`
}

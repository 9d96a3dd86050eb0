// Package app is the wiring the examples share: configuration from flags
// and environment variables, connections to Procore and to the target
// (a SharePoint library or a OneDrive through Microsoft Graph, a Box
// folder, a Dropbox folder; the real services or the in-process fakes,
// through the same code), one project for procore/projects (project
// Documents, project Photos, company Documents, the record tools chosen
// with -tools), the engine, and one HTTP listener
// for Procore webhooks and the target's change signals (Graph change
// notifications, Box webhooks v2, Dropbox webhooks).
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/procore/records"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/msauth"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// Target is the storage service Procore syncs with.
type Target string

// The targets.
const (
	SharePoint Target = "SharePoint"
	OneDrive   Target = "OneDrive"
	Box        Target = "Box"
	Dropbox    Target = "Dropbox"
)

// Config says what to sync where. Fields come from flags or environment
// variables (see Flags); secrets come from the environment or from files
// only (see LoadSecrets); zero values mean "not configured".
type Config struct {
	Target Target

	// Procore: an app's client credentials (a Developer Managed Service
	// Account), the environment's hosts, the company and the project.
	ProcoreClientID, ProcoreClientSecret string
	ProcoreAPIURL, ProcoreAuthURL        string
	ProcoreCompanyID, ProcoreProjectID   int64
	// Projects lists more projects (-projects): comma-separated project
	// IDs of ProcoreCompanyID, or "company:project" for projects of other
	// companies (one Procore client per company, one budget per app).
	// With ProcoreProjectID they are the projects synced; see
	// ProjectKeys.
	Projects string
	// ProcoreBudget is the Procore app's calls per hour (-procore-budget;
	// 0: Procore's X-Rate-Limit-Limit when it reports the hourly window,
	// else 3,600): the engine's limiter and the safety-net reconciliation
	// (syncengine.Reconcile) are sized from it.
	ProcoreBudget int

	// Microsoft: an app registration with Files.ReadWrite.All /
	// Sites.ReadWrite.All application permissions.
	MSTenant, MSClientID, MSClientSecret string
	// MSLoginURL and MSGraphURL override the cloud's hosts (the fake).
	MSLoginURL, MSGraphURL string
	// SharePoint: site host, site path and library; OneDrive: the user.
	SiteHost, SitePath, Library string
	OneDriveUser                string

	// Box: a Platform app with server authentication (Client Credentials
	// Grant) acting for the enterprise's service account
	// (BoxEnterpriseID) or for a user (BoxUserID); or a developer token.
	// BoxWebhookPrimaryKey and BoxWebhookSecondaryKey verify webhook v2
	// deliveries (none: the service long-polls Box's events instead).
	BoxClientID, BoxClientSecret, BoxEnterpriseID, BoxUserID string
	BoxDeveloperToken                                        string
	BoxWebhookPrimaryKey, BoxWebhookSecondaryKey             string
	// BoxWebhookBudget is how many webhooks v2 the service sets at most
	// (0: box.DefaultWebhookBudget, 900 of Box's 1000 per app and user);
	// beyond it, folders that hold several pairs are watched instead
	// (box.WebhookFolders).
	BoxWebhookBudget int
	// BoxAPIURL, BoxUploadURL and BoxTokenURL override Box's hosts (the
	// fake).
	BoxAPIURL, BoxUploadURL, BoxTokenURL string

	// Dropbox: a scoped-access app's key and secret and the offline
	// refresh token of the account it syncs; the app secret also verifies
	// webhook notifications.
	DropboxAppKey, DropboxAppSecret, DropboxRefreshToken string
	// The Dropbox hosts and token endpoint, overridden for the fake.
	DropboxAPIURL, DropboxContentURL, DropboxNotifyURL, DropboxTokenURL string

	// Root is the folder below the library (or drive) root that holds
	// "<project name>/Documents|Photos" and "Company Documents".
	Root string
	// Tools are the one-way record tools exported (-tools: all, none or
	// a comma-separated list of RecordTools).
	Tools string
	// DailyLogDays is how many days back the Daily Log is exported
	// (-daily-log-days, default 365).
	DailyLogDays int
	// Store is the SQLite file.
	Store string
	// Interval is the fallback polling interval.
	Interval time.Duration
	// WakeDelay coalesces a pair's wake-ups (webhooks, notifications):
	// the first after a quiet period runs the pair at once, later ones at
	// most one run per WakeDelay after a run's end (0: the engine's
	// default), however many deliveries arrive.
	WakeDelay time.Duration
	// DeleteLimit is the delete limit per pair and 24 hours.
	DeleteLimit int
	// Listen is the address of the HTTP listener (services); PublicURL is
	// how Procore and Graph reach it: an https URL, or an http one on a
	// loopback host ("": none is registered, except on the fakes; see
	// defaultPublicURL).
	Listen, PublicURL string
	// MaxConns bounds the listener's open connections (0: DefaultMaxConns).
	MaxConns int
	// ProcoreHookSecret authenticates Procore webhook deliveries: Procore
	// sends "Authorization: Bearer <secret>" with each. GraphClientState
	// authenticates Graph change notifications (their clientState). The
	// services refuse to listen without both, and they must differ.
	ProcoreHookSecret, GraphClientState string

	// Files to read the secrets from (see LoadSecrets).
	ProcoreClientSecretFile, MSClientSecretFile          string
	ProcoreHookSecretFile, GraphClientStateFile          string
	BoxClientSecretFile, BoxDeveloperTokenFile           string
	BoxWebhookPrimaryKeyFile, BoxWebhookSecondaryKeyFile string
	DropboxAppSecretFile, DropboxRefreshTokenFile        string
}

// DefaultMaxConns is the listener's default connection limit.
const DefaultMaxConns = 64

// secretSource names where one secret of a Config comes from.
type secretSource struct {
	value *string
	env   string  // the environment variable holding the secret
	flag  string  // the flag naming a file that holds it
	file  *string // that flag's value
}

func (c *Config) secretSources() []secretSource {
	return []secretSource{
		{&c.ProcoreClientSecret, "PROCORE_CLIENT_SECRET", "procore-client-secret-file", &c.ProcoreClientSecretFile},
		{&c.MSClientSecret, "MS_CLIENT_SECRET", "ms-client-secret-file", &c.MSClientSecretFile},
		{&c.ProcoreHookSecret, "PROCORESYNC_PROCORE_HOOK_SECRET", "procore-hook-secret-file", &c.ProcoreHookSecretFile},
		{&c.GraphClientState, "PROCORESYNC_GRAPH_CLIENT_STATE", "graph-client-state-file", &c.GraphClientStateFile},
	}
}

// allSecretSources are the secrets of every target.
func (c *Config) allSecretSources() []secretSource {
	return append(c.secretSources(), c.targetSecretSources()...)
}

// Flags registers the configuration flags on fs, with defaults from the
// environment variables named in each flag's usage. Secrets are not flags
// (every local user can read a process's command line) and their values
// never appear in the usage text: for each, a flag names a file holding
// it, or an environment variable holds it; LoadSecrets reads them after
// fs is parsed.
func Flags(fs *flag.FlagSet, c *Config) {
	s := func(p *string, name, env, def, usage string) {
		if v := os.Getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" ($"+env+")")
	}
	i := func(p *int64, name, env, usage string) {
		v, _ := strconv.ParseInt(os.Getenv(env), 10, 64)
		fs.Int64Var(p, name, v, usage+" ($"+env+")")
	}
	targetFlags(fs, c, s, os.Getenv)
	s(&c.ProcoreClientID, "procore-client-id", "PROCORE_CLIENT_ID", "", "Procore app client ID")
	s(&c.ProcoreAPIURL, "procore-api", "PROCORE_API_URL", procore.Production.APIURL, "Procore API host")
	s(&c.ProcoreAuthURL, "procore-login", "PROCORE_LOGIN_URL", procore.Production.AuthURL, "Procore OAuth host")
	i(&c.ProcoreCompanyID, "procore-company", "PROCORE_COMPANY_ID", "Procore company ID")
	i(&c.ProcoreProjectID, "procore-project", "PROCORE_PROJECT_ID", "Procore project ID")
	s(&c.Projects, "projects", "PROCORESYNC_PROJECTS", "", "more Procore projects: comma-separated project IDs of -procore-company, or company:project")
	budget, _ := strconv.Atoi(os.Getenv("PROCORESYNC_PROCORE_BUDGET"))
	fs.IntVar(&c.ProcoreBudget, "procore-budget", budget, "Procore app calls per hour (0: from X-Rate-Limit-Limit, else 3600) ($PROCORESYNC_PROCORE_BUDGET)")
	s(&c.MSTenant, "ms-tenant", "MS_TENANT_ID", "", "Microsoft Entra tenant ID or domain")
	s(&c.MSClientID, "ms-client-id", "MS_CLIENT_ID", "", "Microsoft app (client) ID")
	s(&c.SiteHost, "sp-host", "SHAREPOINT_HOST", "", "SharePoint host, e.g. contoso.sharepoint.com")
	s(&c.SitePath, "sp-site", "SHAREPOINT_SITE", "", "SharePoint site path, e.g. sites/Projects")
	s(&c.Library, "sp-library", "SHAREPOINT_LIBRARY", "", "document library (default: the site's default library)")
	s(&c.OneDriveUser, "onedrive-user", "ONEDRIVE_USER", "", "OneDrive owner (user principal name or ID)")
	s(&c.Root, "root", "PROCORESYNC_ROOT", "Procore", "folder below the library or drive root, Box's All Files or the Dropbox root")
	s(&c.Tools, "tools", "PROCORESYNC_TOOLS", "all", "one-way record tools exported into <root>/<project>/<Tool>: all, none, or a comma-separated list of "+strings.Join(RecordTools, ","))
	fs.IntVar(&c.DailyLogDays, "daily-log-days", 365, "days of the Daily Log exported, today included")
	s(&c.Store, "store", "PROCORESYNC_STORE", "procoresync.db", "SQLite metadata store")
	fs.DurationVar(&c.Interval, "interval", 5*time.Minute, "fallback polling interval")
	fs.DurationVar(&c.WakeDelay, "wake-delay", time.Second, "after a run, wait this long before another run for webhooks and notifications (they are coalesced)")
	fs.IntVar(&c.DeleteLimit, "delete-limit", 25, "deletions per pair and 24 hours before they are held")
	s(&c.Listen, "listen", "PROCORESYNC_LISTEN", "127.0.0.1:8080", "HTTP listener for webhooks and notifications")
	s(&c.PublicURL, "public-url", "PROCORESYNC_PUBLIC_URL", "", "public https URL of the listener, where Procore and the target deliver (none: no webhooks or notifications; the interval, and Box's and Dropbox's long-polls, sync)")
	fs.IntVar(&c.MaxConns, "max-conns", DefaultMaxConns, "most connections the listener keeps open")
	for _, src := range c.allSecretSources() {
		s(src.file, src.flag, src.env+"_FILE", "", "file holding the secret that $"+src.env+" otherwise holds")
	}
}

// LoadSecrets sets the secrets of c from the files named by the *-file
// flags, else from the environment variables (getenv; nil: os.Getenv).
// A secret with neither keeps its value. A file's surrounding white space
// is dropped. Errors name the flag or variable, never the value.
func (c *Config) LoadSecrets(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("PROCORESYNC_HOOK_SECRET") != "" {
		return errors.New("$PROCORESYNC_HOOK_SECRET is no longer read: set two different secrets, " +
			"$PROCORESYNC_PROCORE_HOOK_SECRET (Procore webhooks) and $PROCORESYNC_GRAPH_CLIENT_STATE (Graph notifications)")
	}
	for _, src := range c.allSecretSources() {
		env := getenv(src.env)
		switch {
		case *src.file != "" && env != "":
			return fmt.Errorf("both -%s and $%s are set: use one", src.flag, src.env)
		case *src.file != "":
			v, err := readSecretFile(*src.file)
			if err != nil {
				return fmt.Errorf("-%s: %w", src.flag, err)
			}
			*src.value = v
		case env != "":
			*src.value = env
		}
	}
	return nil
}

// readSecretFile reads a secret (at most 4 KiB) from name.
func readSecretFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<10+1))
	if err != nil {
		return "", err
	}
	if len(b) > 4<<10 {
		return "", fmt.Errorf("%s: longer than 4 KiB", name)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return v, nil
}

// Real reports whether c names real credentials for Procore and the
// target.
func (c *Config) Real() bool {
	return c.ProcoreClientID != "" && c.targetConfigured()
}

// Conn is the connection to Procore and the target: Graph for SharePoint
// and OneDrive, Box or Dropbox for theirs.
type Conn struct {
	// Procore is the client of the first project's company; Companies
	// holds one client per company (the same app and token).
	Procore   *procore.Client
	Companies map[int64]*procore.Client
	Graph     *msgraph.Client
	Box       *box.Client
	Dropbox   *dropbox.Client
	// ProjectName is the first project's name.
	ProjectName string
	// CompanyFolders are the folders below the root of the companies
	// other than the first project's, when the projects span several
	// (see Config.ProjectList).
	CompanyFolders map[int64]string
	// Target opens the target's folders: for SharePoint and OneDrive a
	// projects.SharePointTarget or OneDriveTarget, which resolve the site
	// and library (or the drive) once.
	Target projects.Target
	// boxFeed and dropboxFeed are the shared change feeds of a Box or
	// Dropbox target (nil: each pair reads its own; see
	// Options.SharedFeeds).
	boxFeed     *box.EventsFeed
	dropboxFeed *dropbox.FolderFeed
	// projectNames are the names of projects read from a company's
	// project listing (see projectNames).
	projectNames map[projects.Key]string
	// HourlyLimit is the hourly limit Procore reported
	// (X-Rate-Limit-Limit of a response whose window resets more than a
	// minute later; 0: not seen).
	HourlyLimit int
}

// Connect opens both clients. pacer, when set, paces Procore calls with
// the engine's limiter under key ProcoreBudgetKey.
func Connect(ctx context.Context, c *Config, pacer storage.Pacer) (*Conn, error) {
	keys, err := c.ProjectKeys()
	if err != nil {
		return nil, err
	}
	penv := procore.Environment{Name: "configured", AuthURL: c.ProcoreAuthURL, APIURL: c.ProcoreAPIURL}
	pcfg := procore.Config{ClientID: c.ProcoreClientID, ClientSecret: c.ProcoreClientSecret, Env: penv}
	ts := pcfg.ClientCredentials(ctx) // one token for every company of the app
	conn := &Conn{Companies: map[int64]*procore.Client{}}
	for _, k := range keys {
		if conn.Companies[k.CompanyID] != nil {
			continue
		}
		pc, err := procore.NewClient(procore.Options{
			BaseURL: c.ProcoreAPIURL, CompanyID: k.CompanyID,
			TokenSource: ts, Pacer: pacer, PaceKey: ProcoreBudgetKey(c),
		})
		if err != nil {
			return nil, err
		}
		conn.Companies[k.CompanyID] = pc
	}
	pc := conn.Companies[keys[0].CompanyID]
	conn.Procore = pc
	switch c.Target {
	case Box:
		if conn.Box, err = connectBox(ctx, c); err != nil {
			return nil, err
		}
	case Dropbox:
		if conn.Dropbox, err = connectDropbox(ctx, c); err != nil {
			return nil, err
		}
	default:
		cloud := msauth.Global
		if c.MSLoginURL != "" {
			cloud = msauth.Cloud{Name: "configured", Login: c.MSLoginURL, Graph: c.MSGraphURL}
		}
		conn.Graph, err = msgraph.NewClient(msgraph.Options{
			BaseURL:     cloud.BaseURL(),
			TokenSource: msauth.AppOnlySource(ctx, cloud, c.MSTenant, c.MSClientID, c.MSClientSecret),
			UserAgent:   "ISV|procoresync|examples/0.1",
		})
		if err != nil {
			return nil, err
		}
	}
	conn.Target = c.target(conn)
	p, resp, err := pc.Projects.Get(ctx, keys[0].CompanyID, keys[0].ProjectID)
	if err != nil {
		return nil, fmt.Errorf("procore project %d: %w", keys[0].ProjectID, err)
	}
	if resp != nil {
		conn.HourlyLimit = hourlyLimit(resp.Rate, time.Now())
	}
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name = fmt.Sprint("Project ", p.ID)
	}
	conn.ProjectName = name
	if conn.projectNames, err = projectNames(ctx, conn, keys); err != nil {
		return nil, err
	}
	if len(conn.Companies) > 1 {
		if conn.CompanyFolders, err = companyFolders(ctx, pc, keys); err != nil {
			return nil, err
		}
	}
	return conn, nil
}

// ProcoreBudgetKey is the limiter key of the configured Procore app.
func ProcoreBudgetKey(c *Config) string { return "procore:" + c.ProcoreClientID }

// target is the target c names, on conn's clients.
func (c *Config) target(conn *Conn) projects.Target {
	switch {
	case c.Target == OneDrive:
		return &projects.OneDriveTarget{Client: conn.Graph, Options: onedrive.Options{User: c.OneDriveUser}, Label: string(c.Target)}
	case c.Target.graph():
		return &projects.SharePointTarget{Client: conn.Graph, Label: string(c.Target),
			Options: sharepoint.Options{Host: c.SiteHost, SitePath: c.SitePath, Library: c.Library}}
	}
	return projects.TargetFunc{Label: string(c.Target), Func: func(ctx context.Context, rel string) (storage.Storage, error) {
		return openTargetAt(ctx, c, conn, rel)
	}}
}

// Sync is an engine with the pairs of the configured projects, added
// through a projects.Manager.
type Sync struct {
	Engine  *syncengine.Engine
	Store   *sqlitestore.Store
	Events  *syncengine.Recorder
	Limiter *syncengine.RateLimiter
	Conn    *Conn
	// Manager keeps the projects' pairs; Project is the first project's
	// key, Projects the keys of all.
	Manager  *projects.Manager
	Project  projects.Key
	Projects []projects.Key
	// Pairs are the IDs of every pair: for each project in turn, those of
	// project Documents, project Photos and company Documents (once per
	// company), in that order, then those of the record tools.
	Pairs []string
	// Budget is the Procore budget (calls per hour) the safety-net
	// reconciliation is sized from (see Config.ProcoreBudget).
	Budget float64
	// Docs, Photos and CompanyDocs are the first project's Procore sides
	// (Records and DailyLog too); Targets the target sides of every pair
	// (by pair ID).
	Docs        *procore.DocumentsStorage
	Photos      *procore.PhotosStorage
	CompanyDocs *procore.DocumentsStorage
	// Records are the record tools' storages (not the Daily Log), woken
	// by their Procore webhooks.
	Records []*records.Storage
	// DailyLog is the Daily Log storage when chosen with -tools, woken by
	// its Procore webhooks.
	DailyLog *records.DailyLog
	Targets  map[string]storage.Storage

	log *slog.Logger
	// infos describe every project's pairs (for the webhook receiver).
	infos []projects.ProjectInfo
	// feeds are the shared change feeds of the Graph drives (nil: each
	// pair reads its own delta; see Options.SharedFeeds).
	feeds *driveFeeds
	// health says whether changes arrive by webhooks and notifications;
	// the engine's Reconcile policy polls every interval while they do not.
	health health
	// checker reads the company hooks' delivery logs (the safety net of
	// the webhooks), run by the Manager.
	checker *projects.DeliveryChecker
	// The target's push endpoints, set up by Handler: Box webhook v2
	// deliveries (when the signature keys are configured) and Dropbox
	// webhook notifications.
	boxHooks    *box.WebhookReceiver
	dropboxHook *dropbox.Webhook
}

// Options tune New.
type Options struct {
	Logger *slog.Logger
	// Wrap, when set, wraps the target storages of project Documents,
	// project Photos and company Documents (progress counting).
	Wrap func(pairID string, s storage.Storage) storage.Storage
	// SharedFeeds makes the pairs on a Graph drive read their changes from
	// one shared feed per drive (one delta query for every pair, polled
	// when a change notification arrives and every Config.Interval),
	// instead of one delta query each. Serve's long-running service sets
	// it; callers that run pairs themselves (RunOnce) leave it unset, so
	// that a run reads the drive's changes at once.
	SharedFeeds bool
	// ProcoreLimits, when it has windows, is the limiter's budget of the
	// Procore app instead of Config.ProcoreBudget an hour and Procore's
	// spike window of 100 calls per 10 seconds (for an app Procore granted
	// other limits).
	ProcoreLimits syncengine.BudgetConfig
}

// PairID is the pair ID scheme of the examples' stores:
// "<project>/documents", "<project>/photos", "<project>/<tool>" and
// "company-<company>/documents", kept so that existing stores carry on.
func PairID(k projects.Key, t projects.Tool) string {
	switch t {
	case projects.CompanyDocuments:
		return fmt.Sprintf("company-%d/documents", k.CompanyID)
	}
	return fmt.Sprintf("%d/%s", k.ProjectID, t)
}

// StateDir is the folder of the Manager's files (the Daily Log photo
// import log) beside store: "<store without extension>-state".
func StateDir(store string) string {
	return strings.TrimSuffix(store, filepath.Ext(store)) + "-state"
}

// Project is the first project that c names, on conn: project Documents,
// project Photos, company Documents and the record tools chosen with
// -tools, into <root>/<project name>/<Tool> on the target.
func (c *Config) Project(conn *Conn) (projects.Project, error) {
	ps, err := c.ProjectList(conn)
	if err != nil {
		return projects.Project{}, err
	}
	return ps[0], nil
}

// ProjectList is every project that c names (ProjectKeys), on conn, as
// Project describes the first. The projects of the first project's company
// are laid out in the root as ever, so that a configuration of one project
// carries on when more are added; those of each other company in
// <root>/<company name> (Conn.CompanyFolders), with their own
// "Company Documents".
func (c *Config) ProjectList(conn *Conn) ([]projects.Project, error) {
	keys, err := c.ProjectKeys()
	if err != nil {
		return nil, err
	}
	recs, err := ParseTools(c.Tools)
	if err != nil {
		return nil, err
	}
	tools := []projects.Tool{projects.Documents, projects.Photos, projects.CompanyDocuments}
	for _, r := range recs {
		t, err := projects.ParseTool(r)
		if err != nil {
			return nil, err
		}
		tools = append(tools, t)
	}
	var out []projects.Project
	for i, k := range keys {
		pc := conn.Companies[k.CompanyID]
		if pc == nil {
			return nil, fmt.Errorf("no Procore client for company %d", k.CompanyID)
		}
		name := conn.projectNames[k] // "": the Manager reads it from Procore
		if i == 0 {
			name = conn.ProjectName
		}
		root := c.Root
		if k.CompanyID != keys[0].CompanyID {
			// Each company's projects and company Documents in a folder
			// of their own: two companies' Documents never share one.
			root = path.Join(c.Root, conn.CompanyFolders[k.CompanyID])
		}
		out = append(out, projects.Project{
			Client: pc, CompanyID: k.CompanyID, ProjectID: k.ProjectID, Name: name,
			Tools: projects.WithTools(tools...), Root: root, Target: conn.Target,
			Options: projects.Options{DeleteLimit: c.DeleteLimit, Interval: c.Interval, DailyLogDays: c.DailyLogDays},
		})
	}
	return out, nil
}

// New connects to both services, opens the store and sets up the engine
// and a projects.Manager with the configured projects. The engine polls
// each pair every Config.Interval until Serve finds the webhooks and
// notifications working; then only a safety-net reconciliation sized from
// the Procore budget runs (syncengine.Reconcile).
func New(ctx context.Context, c *Config, o Options) (*Sync, error) {
	if err := c.checkClientSecrets(); err != nil {
		return nil, err
	}
	if _, err := c.ProjectKeys(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	limits := o.ProcoreLimits
	if len(limits.Windows) == 0 {
		limits = procoreBudget(c.ProcoreBudget)
	}
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{ProcoreBudgetKey(c): limits},
	})
	if err != nil {
		return nil, err
	}
	// The store first: its lock tells a second process on the same store
	// to stop before it calls any API.
	store, err := sqlitestore.Open(c.Store)
	if err != nil {
		return nil, err
	}
	conn, err := Connect(ctx, c, lim)
	if err != nil {
		store.Close()
		return nil, err
	}
	s := &Sync{Store: store, Events: &syncengine.Recorder{}, Limiter: lim, Conn: conn, Targets: map[string]storage.Storage{}, log: o.Logger}
	s.Budget = float64(c.ProcoreBudget)
	if s.Budget <= 0 {
		s.Budget = float64(conn.HourlyLimit)
	}
	if s.Budget <= 0 {
		s.Budget = defaultProcoreBudget
	}
	notifier := syncengine.Fanout(s.Events, syncengine.NewSlogNotifier(o.Logger))
	// The webhook safety net: the company hooks' delivery logs, read a
	// few times an hour (one call per company), wake the pairs of events
	// that may have been missed; with it healthy, each pair is reconciled
	// only as the rest of the budget's share allows.
	s.checker, err = projects.NewDeliveryChecker(projects.DeliveryCheckOptions{BudgetPerHour: s.Budget, Logger: o.Logger})
	if err != nil {
		store.Close()
		return nil, err
	}
	s.health.check = s.checker.Healthy
	rec := s.checker.Reconcile(0)
	rec.Healthy = s.health.ok
	s.Engine, err = syncengine.New(syncengine.Options{
		Store: store, Logger: o.Logger, Limiter: lim, DefaultInterval: c.Interval, WakeDelay: max(c.WakeDelay, 0),
		Notifier: notifier, Reconcile: rec,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	var wrap func(string, storage.Storage) storage.Storage
	if o.Wrap != nil {
		k := projects.Key{CompanyID: c.ProcoreCompanyID, ProjectID: c.ProcoreProjectID}
		wrap = func(id string, b storage.Storage) storage.Storage {
			for _, t := range []projects.Tool{projects.Documents, projects.Photos, projects.CompanyDocuments} {
				if id == PairID(k, t) {
					return o.Wrap(id, b)
				}
			}
			return b
		}
	}
	s.Manager, err = projects.NewManager(s.Engine, projects.ManagerOptions{Store: store, StateDir: StateDir(c.Store),
		Notifier: notifier, Logger: o.Logger, PairID: PairID, Wrap: wrap, DeliveryCheck: s.checker})
	if err != nil {
		store.Close()
		return nil, err
	}
	if o.SharedFeeds && c.Target.graph() {
		s.feeds = newDriveFeeds(conn.Graph, c.Interval)
		switch t := conn.Target.(type) {
		case *projects.SharePointTarget:
			t.Feed = s.feeds.get
		case *projects.OneDriveTarget:
			t.Feed = s.feeds.get
		}
	}
	if o.SharedFeeds && !c.Target.graph() {
		// Box's events stream and Dropbox's list_folder cursor, shared
		// by every pair (run by Serve).
		conn.newTargetFeeds(c)
	}
	ps, err := c.ProjectList(conn)
	if err != nil {
		store.Close()
		return nil, err
	}
	for _, p := range ps {
		info, err := s.Manager.Add(ctx, p)
		if err != nil {
			store.Close()
			return nil, err
		}
		s.Projects = append(s.Projects, p.Key())
		s.adopt(info)
	}
	s.Project = s.Projects[0]
	return s, nil
}

// adopt adds the project's pairs and storages to s (the first project's
// storages fill Docs, Photos, CompanyDocs, Records and DailyLog).
func (s *Sync) adopt(info projects.ProjectInfo) {
	first := len(s.infos) == 0
	s.infos = append(s.infos, info)
	var recs []string
	for _, pi := range info.Pairs {
		if _, seen := s.Targets[pi.PairID]; seen {
			continue // company Documents, shared by the company's projects
		}
		s.Targets[pi.PairID] = pi.Target
		if !pi.Tool.TwoWay() {
			recs = append(recs, pi.PairID)
		}
		if !first {
			continue
		}
		switch a := pi.Procore.(type) {
		case *procore.DocumentsStorage:
			if pi.Tool == projects.CompanyDocuments {
				s.CompanyDocs = a
			} else {
				s.Docs = a
			}
		case *procore.PhotosStorage:
			s.Photos = a
		case *records.Storage:
			s.Records = append(s.Records, a)
		case *records.DailyLog:
			s.DailyLog = a
		}
	}
	for _, t := range []projects.Tool{projects.Documents, projects.Photos, projects.CompanyDocuments} {
		for _, pi := range info.Pairs {
			if pi.Tool == t && !slices.Contains(s.Pairs, pi.PairID) {
				s.Pairs = append(s.Pairs, pi.PairID)
			}
		}
	}
	s.Pairs = append(s.Pairs, recs...)
}

// ImportDailyLogPhotos brings the photos people dropped into the Daily
// Log's day folders on the target into Procore (none when the Daily Log
// is not synced). Serve does it after each run of the Daily Log pair.
func (s *Sync) ImportDailyLogPhotos(ctx context.Context) (records.PhotoImportResult, error) {
	if s.DailyLog == nil {
		return records.PhotoImportResult{}, nil
	}
	return s.Manager.ImportDailyLogPhotos(ctx, s.Project)
}

// Close closes the store.
func (s *Sync) Close() error { return s.Store.Close() }

// Handler returns the HTTP handler of the service: Procore webhook
// deliveries at /procore/webhook and the target's push at /graph/notify
// (Graph change notifications; SharePoint, OneDrive), /box/webhook (Box
// webhook v2 deliveries, signatures checked with the primary or secondary
// key; when the keys are configured) or /dropbox/webhook (Dropbox's
// verification challenge and notifications, X-Dropbox-Signature checked
// with the app secret), plus /healthz, each with a body size limit. The
// Procore storages are woken by the receiver; the targets by the
// notifier or the webhooks (see Serve). The Graph notifier is nil for Box
// and Dropbox. It fails when c lacks the listener's secrets (see
// CheckService).
func (s *Sync) Handler(c *Config) (http.Handler, *msgraph.Notifier, error) {
	rcv, n, err := s.endpoints(c)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/procore/webhook", limitBody(maxProcoreBody, rcv))
	switch {
	case n != nil:
		mux.Handle("/graph/notify", limitBody(maxGraphBody, n))
	case s.boxHooks != nil:
		mux.Handle("/box/webhook", limitBody(maxBoxBody, s.boxHooks))
	case s.dropboxHook != nil:
		mux.Handle("/dropbox/webhook", limitBody(maxDropboxBody, s.dropboxHook))
	}
	mux.Handle("/healthz", limitBody(maxOtherBody, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})))
	mux.Handle("/", limitBody(maxOtherBody, http.NotFoundHandler()))
	return mux, n, nil
}

// endpoints builds the Procore webhook receiver and the target's push
// endpoint (the Graph notifier, the Box webhook receiver or the Dropbox
// webhook), each with its own secret, and registers the Procore storages
// with the receiver. It is the one place that builds them.
func (s *Sync) endpoints(c *Config) (*procore.Receiver, *msgraph.Notifier, error) {
	if err := c.CheckService(); err != nil {
		return nil, nil, err
	}
	rcv, err := procore.NewReceiver(procoreHookAuthorization(c))
	if err != nil {
		return nil, nil, fmt.Errorf("the Procore webhook receiver (PROCORESYNC_PROCORE_HOOK_SECRET): %w", err)
	}
	rcv.Logger = s.log
	s.watchProcore(rcv)
	switch c.Target {
	case Box:
		if c.BoxWebhookPrimaryKey != "" {
			s.boxHooks = &box.WebhookReceiver{PrimaryKey: c.BoxWebhookPrimaryKey, SecondaryKey: c.BoxWebhookSecondaryKey}
		}
		return rcv, nil, nil
	case Dropbox:
		if s.dropboxHook, err = dropbox.NewWebhook(c.DropboxAppSecret); err != nil {
			return nil, nil, fmt.Errorf("the Dropbox webhook (DROPBOX_APP_SECRET): %w", err)
		}
		return rcv, nil, nil
	}
	n, err := msgraph.NewNotifier(c.GraphClientState)
	if err != nil {
		return nil, nil, fmt.Errorf("the Graph notification endpoint (PROCORESYNC_GRAPH_CLIENT_STATE): %w", err)
	}
	return rcv, n, nil
}

// procoreHookAuthorization is the Authorization header value that Procore
// sends with each delivery (given at hook registration).
func procoreHookAuthorization(c *Config) string { return "Bearer " + c.ProcoreHookSecret }

// StaticToken is an oauth2 token source for the fakes' pre-issued tokens.
func StaticToken(tok string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, Expiry: time.Now().Add(24 * time.Hour)})
}

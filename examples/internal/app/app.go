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
	"path/filepath"
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
	Procore     *procore.Client
	Graph       *msgraph.Client
	Box         *box.Client
	Dropbox     *dropbox.Client
	ProjectName string
}

// Connect opens both clients. pacer, when set, paces Procore calls with
// the engine's limiter under key ProcoreBudgetKey.
func Connect(ctx context.Context, c *Config, pacer storage.Pacer) (*Conn, error) {
	penv := procore.Environment{Name: "configured", AuthURL: c.ProcoreAuthURL, APIURL: c.ProcoreAPIURL}
	pcfg := procore.Config{ClientID: c.ProcoreClientID, ClientSecret: c.ProcoreClientSecret, Env: penv}
	pc, err := procore.NewClient(procore.Options{
		BaseURL: c.ProcoreAPIURL, CompanyID: c.ProcoreCompanyID,
		TokenSource: pcfg.ClientCredentials(ctx), Pacer: pacer, PaceKey: ProcoreBudgetKey(c),
	})
	if err != nil {
		return nil, err
	}
	conn := &Conn{Procore: pc}
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
	p, _, err := pc.Projects.Get(ctx, c.ProcoreCompanyID, c.ProcoreProjectID)
	if err != nil {
		return nil, fmt.Errorf("procore project %d: %w", c.ProcoreProjectID, err)
	}
	name := strings.TrimSpace(p.Name)
	if name == "" {
		name = fmt.Sprint("Project ", p.ID)
	}
	conn.ProjectName = name
	return conn, nil
}

// ProcoreBudgetKey is the limiter key of the configured Procore app.
func ProcoreBudgetKey(c *Config) string { return "procore:" + c.ProcoreClientID }

func openAt(ctx context.Context, c *Config, conn *Conn, rel string) (storage.Storage, error) {
	if !c.Target.graph() {
		return openTargetAt(ctx, c, conn, rel)
	}
	if c.Target == OneDrive {
		return onedrive.New(ctx, conn.Graph, onedrive.Options{User: c.OneDriveUser, RootPath: rel})
	}
	return sharepoint.New(ctx, conn.Graph, sharepoint.Options{Host: c.SiteHost, SitePath: c.SitePath, Library: c.Library, RootPath: rel})
}

// Sync is an engine with the pairs of one project, added through a
// projects.Manager.
type Sync struct {
	Engine  *syncengine.Engine
	Store   *sqlitestore.Store
	Events  *syncengine.Recorder
	Limiter *syncengine.RateLimiter
	Conn    *Conn
	// Manager keeps the project's pairs; Project is the project's key.
	Manager *projects.Manager
	Project projects.Key
	// Pairs are the IDs of project Documents, project Photos and company
	// Documents, in that order, then those of the record tools.
	Pairs []string
	// Docs, Photos and CompanyDocs are the Procore sides; Targets the
	// target sides (by pair ID).
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

// Project is the project that c names, on conn: project Documents, project
// Photos, company Documents and the record tools chosen with -tools, into
// <root>/<project name>/<Tool> on the target.
func (c *Config) Project(conn *Conn) (projects.Project, error) {
	recs, err := ParseTools(c.Tools)
	if err != nil {
		return projects.Project{}, err
	}
	tools := []projects.Tool{projects.Documents, projects.Photos, projects.CompanyDocuments}
	for _, r := range recs {
		t, err := projects.ParseTool(r)
		if err != nil {
			return projects.Project{}, err
		}
		tools = append(tools, t)
	}
	return projects.Project{
		Client: conn.Procore, CompanyID: c.ProcoreCompanyID, ProjectID: c.ProcoreProjectID, Name: conn.ProjectName,
		Tools: projects.WithTools(tools...), Root: c.Root,
		Target: projects.TargetFunc{Label: string(c.Target), Func: func(ctx context.Context, rel string) (storage.Storage, error) {
			return openAt(ctx, c, conn, rel)
		}},
		Options: projects.Options{DeleteLimit: c.DeleteLimit, Interval: c.Interval, DailyLogDays: c.DailyLogDays},
	}, nil
}

// New connects to both services, opens the store and sets up the engine
// and a projects.Manager with the configured project.
func New(ctx context.Context, c *Config, o Options) (*Sync, error) {
	if err := c.checkClientSecrets(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{ProcoreBudgetKey(c): syncengine.ProcoreBudget()},
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
	notifier := syncengine.Fanout(s.Events, syncengine.NewSlogNotifier(o.Logger))
	s.Engine, err = syncengine.New(syncengine.Options{
		Store: store, Logger: o.Logger, Limiter: lim, DefaultInterval: c.Interval, WakeDelay: max(c.WakeDelay, 0),
		Notifier: notifier,
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
		Notifier: notifier, Logger: o.Logger, PairID: PairID, Wrap: wrap})
	if err != nil {
		store.Close()
		return nil, err
	}
	p, err := c.Project(conn)
	if err != nil {
		store.Close()
		return nil, err
	}
	info, err := s.Manager.Add(ctx, p)
	if err != nil {
		store.Close()
		return nil, err
	}
	s.Project = p.Key()
	s.adopt(info)
	return s, nil
}

// adopt fills s's pairs and storages from the project's description.
func (s *Sync) adopt(info projects.ProjectInfo) {
	var recs []string
	for _, pi := range info.Pairs {
		s.Targets[pi.PairID] = pi.Target
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
		if !pi.Tool.TwoWay() {
			recs = append(recs, pi.PairID)
		}
	}
	for _, t := range []projects.Tool{projects.Documents, projects.Photos, projects.CompanyDocuments} {
		for _, pi := range info.Pairs {
			if pi.Tool == t {
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
	rcv.WatchDocuments(s.Docs)
	rcv.WatchPhotos(s.Photos)
	rcv.WatchDocuments(s.CompanyDocs)
	records.WatchWebhooks(rcv, c.ProcoreProjectID, s.Records...)
	if s.DailyLog != nil {
		records.WatchDailyLogWebhooks(rcv, s.DailyLog)
	}
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

// registerHooks registers (or re-enables) the Procore hooks of the project
// and the company, delivering to publicURL with the hook secret.
func (s *Sync) registerHooks(ctx context.Context, c *Config, publicURL string) error {
	auth := procoreHookAuthorization(c)
	wh := s.Conn.Procore.Webhooks
	resources := append(append(append([]string{}, procore.DocumentResources...), procore.PhotoResources...), s.recordResources()...)
	if _, err := wh.RegisterHook(ctx, procore.WebhookScope{ProjectID: c.ProcoreProjectID}, "procoresync", publicURL+"/procore/webhook", auth, "v2.0", resources); err != nil {
		// Event types a resource does not offer (a recycled inspection
		// sends no event) are skipped: the pairs' checks see those.
		var skipped *procore.UnsubscribableError
		if !errors.As(err, &skipped) {
			return fmt.Errorf("procore project hook: %w", err)
		}
		s.log.Info("procore project hook: some events cannot be subscribed", "err", err)
	}
	if _, err := wh.RegisterHook(ctx, procore.WebhookScope{CompanyID: c.ProcoreCompanyID}, "procoresync", publicURL+"/procore/webhook", auth, "v2.0", procore.CompanyDocumentResources); err != nil {
		return fmt.Errorf("procore company hook: %w", err)
	}
	return nil
}

// StaticToken is an oauth2 token source for the fakes' pre-issued tokens.
func StaticToken(tok string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, Expiry: time.Now().Add(24 * time.Hour)})
}

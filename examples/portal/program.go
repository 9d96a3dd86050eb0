package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/portal/managed"
	"github.com/procoresync/procoresync/portal/secretbox"
	"github.com/procoresync/procoresync/portal/xlsx"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// options configure the program.
type options struct {
	cfg app.Config
	// owner is the email of the owner account made on the first run;
	// ownerPassword its password ("": a random one, printed).
	owner, ownerPassword string
	// keyFile holds the key that encrypts connection tokens.
	keyFile       string
	secureCookies bool
	logger        *slog.Logger
}

// program is the running portal: the fakes (unless real), the engine and
// its projects, the portal service and its HTTP listener.
type program struct {
	URL   string
	fakes *app.Fakes
	// oneTimePassword is the owner's generated password ("" when it came
	// from the environment or the owner existed).
	oneTimePassword string
	ownerCreated    bool

	engine *syncengine.Engine
	store  *sqlitestore.Store
	svc    *portal.Service
	wiring *wiring
	srv    *http.Server
	stop   context.CancelFunc
	wg     sync.WaitGroup
	errc   chan error
	tmp    string
}

// start starts the portal: on the in-process fakes unless o.cfg names
// real credentials; listening on o.cfg.Listen.
func start(ctx context.Context, o options) (_ *program, err error) {
	cfg := &o.cfg
	log := o.logger
	if log == nil {
		log = slog.Default()
	}
	p := &program{errc: make(chan error, 3)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	real := cfg.Real()
	if !real {
		p.fakes = app.StartFakes(cfg)
		if _, _, err := p.fakes.Seed(); err != nil {
			return nil, err
		}
		if err := p.fakes.SeedRecords(); err != nil {
			return nil, err
		}
	}
	if cfg.Store == "" {
		if p.tmp, err = os.MkdirTemp("", "procoresync-portal-"); err != nil {
			return nil, err
		}
		cfg.Store = filepath.Join(p.tmp, "procoresync.db")
	}
	stateDir := filepath.Dir(cfg.Store)

	// The key that seals connection tokens: from the environment or its
	// file (made on the first run); on the fakes, when none is given, a
	// random one in memory (the fakes' tokens die with the process).
	var sb *secretbox.Box
	switch {
	case os.Getenv("PORTAL_KEY") != "":
		sb, err = secretbox.FromEnv("PORTAL_KEY")
	case o.keyFile != "":
		if _, serr := os.Stat(o.keyFile); errors.Is(serr, os.ErrNotExist) {
			if err = secretbox.CreateKeyFile(o.keyFile); err != nil {
				return nil, err
			}
		}
		sb, err = secretbox.FromFile(o.keyFile)
	case !real:
		sb, err = secretbox.New(secretbox.NewKey())
	default:
		err = errors.New("no key for the connection tokens: set $PORTAL_KEY or -key-file ($PORTAL_KEY_FILE)")
	}
	if err != nil {
		return nil, err
	}

	if p.store, err = sqlitestore.Open(cfg.Store); err != nil {
		return nil, err
	}
	lim, err := syncengine.NewRateLimiter(syncengine.RateLimiterOptions{
		Budgets: map[string]syncengine.BudgetConfig{"procore:" + cfg.ProcoreClientID: syncengine.ProcoreBudget()},
	})
	if err != nil {
		return nil, err
	}
	var mgr *projects.Manager
	notifier := syncengine.Fanout(syncengine.NewSlogNotifier(log))
	if p.engine, err = syncengine.New(syncengine.Options{Store: p.store, Logger: log, Limiter: lim,
		DefaultInterval: cfg.Interval, WakeDelay: max(cfg.WakeDelay, 0), Notifier: notifier}); err != nil {
		return nil, err
	}
	if mgr, err = projects.NewManager(p.engine, projects.ManagerOptions{Store: p.store, StateDir: stateDir, Notifier: notifier,
		Logger: log, NoAudit: true}); err != nil { // the portal records project changes with its own details
		return nil, err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	p.URL = cfg.PublicURL
	if p.URL == "" {
		p.URL = "http://" + ln.Addr().String()
	}
	cstore := connect.Store(connect.NewMemoryStore())
	if real {
		cstore = connect.NewFileStore(filepath.Join(stateDir, "connections.json"))
	}
	copt := connect.Options{Box: sb, Store: cstore, RedirectURL: p.URL + "/connections/callback", Clients: systemClients(cfg)}
	if p.fakes != nil {
		copt.Endpoints = fakeEndpoints(p.fakes, cfg)
	}
	conns, err := connect.New(copt)
	if err != nil {
		ln.Close()
		return nil, err
	}
	aopt := auth.Options{}
	if real {
		// Accounts survive restarts; sessions do not (people sign in again).
		if aopt.Accounts, err = auth.OpenFileAccounts(filepath.Join(stateDir, "portal-accounts.json")); err != nil {
			ln.Close()
			return nil, err
		}
	}
	authn, err := auth.New(aopt)
	if err != nil {
		ln.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = stop
	p.wiring = newWiring(runCtx, cfg, conns, lim)
	saved := &savedProjects{inner: managed.New(mgr, p.wiring), log: log}
	if real {
		saved.path = filepath.Join(stateDir, "portal-projects.json")
	}
	if p.svc, err = portal.New(portal.Options{Engine: p.engine, Store: p.store, Projects: saved, Auth: authn,
		Connections: conns, XLSX: xlsx.Writer{}, Logger: log}); err != nil {
		ln.Close()
		return nil, err
	}
	// The owner of the first run.
	pw := o.ownerPassword
	if pw == "" {
		pw = randomPassword()
	}
	if p.ownerCreated, err = authn.Bootstrap(ctx, o.owner, pw); err != nil {
		ln.Close()
		return nil, fmt.Errorf("creating the owner account: %w", err)
	}
	if p.ownerCreated && o.ownerPassword == "" {
		p.oneTimePassword = pw
	}

	api, err := portal.NewHandler(p.svc, portal.HandlerOptions{SecureCookies: o.secureCookies})
	if err != nil {
		ln.Close()
		return nil, err
	}
	target := connect.Microsoft
	switch cfg.Target {
	case app.Box:
		target = connect.Box
	case app.Dropbox:
		target = connect.Dropbox
	}
	s, err := newSite(p.svc, &connections{svc: p.svc, wiring: p.wiring, target: target, deleteLimit: cfg.DeleteLimit},
		siteConfig{Target: string(cfg.Target), DefaultFolder: cfg.Root}, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s.secureCookies = o.secureCookies
	p.srv = &http.Server{Handler: s.routes(api), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	if err := saved.restore(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		if err := p.engine.Run(runCtx); err != nil && runCtx.Err() == nil {
			p.errc <- fmt.Errorf("engine: %w", err)
		}
	}()
	go func() {
		defer p.wg.Done()
		if err := mgr.Run(runCtx); err != nil && runCtx.Err() == nil {
			p.errc <- fmt.Errorf("projects: %w", err)
		}
	}()
	go func() {
		defer p.wg.Done()
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.errc <- fmt.Errorf("listener: %w", err)
		}
	}()
	return p, nil
}

// Wait returns when ctx ends (nil) or a part of the program fails.
func (p *program) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-p.errc:
		return err
	}
}

// Close stops the listener (in-flight requests get a few seconds), the
// engine (running syncs are cancelled; their journals make the next start
// converge), the store and the fakes.
func (p *program) Close() {
	if p.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.srv.Shutdown(ctx)
		cancel()
	}
	if p.stop != nil {
		p.stop()
	}
	p.wg.Wait()
	if p.store != nil {
		p.store.Close()
	}
	if p.fakes != nil {
		p.fakes.Close()
	}
	if p.tmp != "" {
		os.RemoveAll(p.tmp)
	}
}

// randomPassword is a 20-character password for the first owner.
func randomPassword() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// systemClients are the program's OAuth clients per provider, from the
// configuration (the fakes set theirs).
func systemClients(c *app.Config) map[connect.Provider]connect.Client {
	m := map[connect.Provider]connect.Client{}
	add := func(p connect.Provider, id, secret string) {
		if id != "" {
			m[p] = connect.Client{ID: id, Secret: secret}
		}
	}
	add(connect.Procore, c.ProcoreClientID, c.ProcoreClientSecret)
	add(connect.Microsoft, c.MSClientID, c.MSClientSecret)
	add(connect.Box, c.BoxClientID, c.BoxClientSecret)
	add(connect.Dropbox, c.DropboxAppKey, c.DropboxAppSecret)
	return m
}

package projects_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// tokens issues a fresh token of the Procore fake for every request.
type tokens struct{ srv *procoretest.Server }

func (f tokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: f.srv.IssueToken()}, nil
}

// newFake starts the Procore fake with a project "Tower 3" and returns a
// client of its company.
func newFake(t testing.TB) (*procoretest.Server, *procore.Client, int64) {
	t.Helper()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	pid := srv.AddProject(srv.CompanyID, "Tower 3")
	return srv, newClient(t, srv, srv.CompanyID), pid
}

func newClient(t testing.TB, srv *procoretest.Server, company int64) *procore.Client {
	t.Helper()
	c, err := procore.NewClient(procore.Options{BaseURL: srv.URL, FileHosts: srv.FileHosts(), CompanyID: company,
		TokenSource: tokens{srv}, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	require.NoError(t, err)
	return c
}

// memTarget is a memory storage as a Target: folders are Subs, which
// follow their folder by ID as Graph's and Box's storages do.
type memTarget struct{ m *memory.Storage }

func (t memTarget) Name() string { return "Memory" }

func (t memTarget) Open(ctx context.Context, rel string) (storage.Storage, error) {
	if rel == "" {
		return t.m, nil
	}
	e, err := t.m.Stat(ctx, rel)
	if err != nil {
		return nil, err
	}
	return t.m.Sub(e.ID), nil
}

// quiet discards the logs of the engine and the Manager.
var quiet = slog.New(slog.DiscardHandler)

// env is an engine on a SQLite store with a Manager.
type env struct {
	store *sqlitestore.Store
	eng   *syncengine.Engine
	m     *projects.Manager
	rec   *syncengine.Recorder
	dir   string
}

// newEnv opens (or reopens) the store in dir with a new engine and Manager.
func newEnv(t testing.TB, dir string) *env {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(dir, "sync.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	rec := &syncengine.Recorder{}
	eng, err := syncengine.New(syncengine.Options{Store: store, Notifier: rec, WakeDelay: -1, Logger: quiet,
		RetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond})
	require.NoError(t, err)
	m, err := projects.NewManager(eng, projects.ManagerOptions{Store: store, StateDir: filepath.Join(dir, "state"),
		Notifier: rec, Logger: quiet, ImportPoll: 20 * time.Millisecond, LayoutInterval: time.Hour})
	require.NoError(t, err)
	return &env{store: store, eng: eng, m: m, rec: rec, dir: dir}
}

// close closes the store (a restart).
func (e *env) close() { e.store.Close() }

// runAll runs every pair of the engine once.
func (e *env) runAll(t testing.TB) {
	t.Helper()
	for _, id := range e.eng.Pairs() {
		_, err := e.eng.RunOnce(context.Background(), id, syncengine.RunOptions{})
		require.NoError(t, err, id)
	}
}

// files lists the files and folders of s below dir.
func files(t testing.TB, s storage.Storage, dir string) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(context.Background()) {
		require.NoError(t, err)
		if dir == "" || e.Path == dir || len(e.Path) > len(dir) && e.Path[:len(dir)+1] == dir+"/" {
			out = append(out, e.Path)
		}
	}
	sort.Strings(out)
	return out
}

// project is a Project of the fake's project on target.
func project(c *procore.Client, pid int64, target projects.Target, tools ...projects.Tool) projects.Project {
	return projects.Project{Client: c, CompanyID: c.CompanyID, ProjectID: pid, Tools: projects.WithTools(tools...),
		Target: target, Root: "Procore", Options: projects.Options{DeleteLimit: 25}}
}

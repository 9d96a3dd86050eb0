// Package e2e proves, end to end on the in-process fakes, every behaviour
// that Procore-to-SharePoint sync products promise (standard and merge initial
// syncs, two-way sync, deletions and the delete limit, conflicts, crash
// recovery, webhook latency, rate limits, special characters): the
// Procore fake on one side, a target service's fake on the other (a
// SharePoint document library or a OneDrive on the Microsoft Graph fake,
// a Box folder, a Dropbox folder), the engine with its SQLite store in
// between. Every behaviour runs for every target (see service); where a
// target's rules differ, the test says so and expects what that target
// does.
package e2e

import (
	"context"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/manualclock"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// projectName is the fake project's folder name on the target.
const projectName = "Tower 3"

// rootFolder is where the project folders live on the target, from the
// account's root (the drive's, Box's All Files, the Dropbox home).
const rootFolder = "Procore"

// envOptions tune newEnv.
type envOptions struct {
	procore procoretest.Options
	// pacer and paceKey are handed to the Procore client.
	pacer   storage.Pacer
	paceKey string
	// engine options (Store is filled in).
	engine syncengine.Options
	// replaceSpecialChars is the Photos option.
	replaceSpecialChars bool
}

// env is one Procore fake, one target service's fake, the connectors over
// them and an engine with an SQLite store.
type env struct {
	t      *testing.T
	ctx    context.Context
	tg     target
	pc     *procoretest.Server
	svc    service // the target service
	client *procore.Client
	docs   procoretest.Docs
	store  *sqlitestore.Store
	eng    *syncengine.Engine
	rec    *syncengine.Recorder
	opts   envOptions
	// clk is the clock of both fakes (unless envOptions set another for
	// Procore): tests move it with tick so that edits have distinct times.
	clk *manualclock.Clock
}

// tick moves the fakes' clock on by a minute.
func (e *env) tick() { e.clk.Advance(time.Minute) }

func newEnv(t *testing.T, tg target, o envOptions) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), tg: tg, opts: o}
	e.clk = manualclock.New(time.Now().UTC().Truncate(time.Second))
	if o.procore.Now == nil {
		o.procore.Now = e.clk.Now
	}
	if o.procore.TokenLifetime == 0 {
		o.procore.TokenLifetime = 1000 * time.Hour
	}
	if o.procore.HourlyLimit == 0 {
		o.procore.HourlyLimit = -1
	}
	if o.procore.SpikeLimit == 0 {
		o.procore.SpikeLimit = -1
	}
	o.procore.WebhookRetry = procoretest.WebhookRetry{Base: 10 * time.Millisecond, Attempts: 3}
	e.pc = procoretest.New(o.procore)
	t.Cleanup(e.pc.Close)
	e.docs = procoretest.ProjectDocs(e.pc.ProjectID)
	c, err := procore.NewClient(procore.Options{
		BaseURL:      e.pc.URL,
		CompanyID:    e.pc.CompanyID,
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.pc.IssueToken()}),
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
		Now:          o.procore.Now,
		Pacer:        o.pacer,
		PaceKey:      o.paceKey,
	})
	must(t, err)
	e.client = c

	e.svc = newService(t, tg, e.clk)
	for _, d := range []string{"Documents", "Photos"} {
		must(t, e.svc.mkdir(e.tpath(d, "")))
	}
	must(t, e.svc.mkdir(rootFolder+"/Company Documents"))

	e.store, err = sqlitestore.Open(t.TempDir()+"/procoresync.db", sqlitestore.SynchronousNormal())
	must(t, err)
	t.Cleanup(func() { e.store.Close() })
	e.rec = &syncengine.Recorder{}
	eo := o.engine
	eo.Store = e.store
	if eo.Logger == nil {
		eo.Logger = slog.New(slog.DiscardHandler)
	}
	if eo.Notifier == nil {
		eo.Notifier = e.rec
	}
	e.eng, err = syncengine.New(eo)
	must(t, err)
	return e
}

// tpath is the path (from the account's root) of p inside the project tool folder ("Documents"
// or "Photos").
func (e *env) tpath(tool, p string) string {
	return path.Join(rootFolder, projectName, tool, p)
}

// openTarget opens the target folder at root (from the account's root).
func (e *env) openTarget(root string) storage.Storage {
	e.t.Helper()
	s, err := e.svc.open(e.ctx, root)
	must(e.t, err)
	return s
}

// docsPair adds the project Documents pair and returns its ID.
func (e *env) docsPair(mod func(*syncengine.Pair)) string {
	e.t.Helper()
	p := syncengine.Pair{
		ID: "tower-3/documents", Name: "Tower 3 / Documents",
		A: procore.NewProjectDocuments(e.client, e.pc.ProjectID, nil), B: e.openTarget(e.tpath("Documents", "")),
		AName: "Procore", BName: string(e.tg), NameMapping: true,
	}
	if mod != nil {
		mod(&p)
	}
	must(e.t, e.eng.AddPair(p))
	return p.ID
}

// photosPair adds the project Photos pair and returns its ID.
func (e *env) photosPair(mod func(*syncengine.Pair)) string {
	e.t.Helper()
	p := syncengine.Pair{
		ID: "tower-3/photos", Name: "Tower 3 / Photos",
		A:     procore.NewProjectPhotos(e.client, e.pc.ProjectID, &procore.PhotosOptions{ReplaceSpecialChars: e.opts.replaceSpecialChars}),
		B:     e.openTarget(e.tpath("Photos", "")),
		AName: "Procore", BName: string(e.tg),
	}
	if mod != nil {
		mod(&p)
	}
	must(e.t, e.eng.AddPair(p))
	return p.ID
}

// run runs a pair once and fails the test when the run could not run.
func (e *env) run(id string) syncengine.Run {
	e.t.Helper()
	r, err := e.eng.RunOnce(e.ctx, id, syncengine.RunOptions{})
	if err != nil {
		e.t.Fatalf("run of %s: %v", id, err)
	}
	return r
}

// runOK runs a pair once and wants it to succeed.
func (e *env) runOK(id string) syncengine.Run {
	e.t.Helper()
	r := e.run(id)
	if r.Status != syncengine.RunSucceeded {
		errs, _ := e.eng.Errors(e.ctx, id, syncengine.Page{Limit: 5})
		e.t.Fatalf("run %d of %s: %s %s %+v; errors %+v", r.ID, id, r.Status, r.Error, r.Counts, errs)
	}
	return r
}

// put writes a file in Procore's project Documents as a person would.
func (e *env) put(p, content string) {
	e.t.Helper()
	_, err := e.pc.UIPutFile(e.docs, p, []byte(content))
	must(e.t, err)
}

// web writes a file in the target's Documents folder as a person would.
func (e *env) web(p, content string) {
	e.t.Helper()
	must(e.t, e.svc.upload(e.tpath("Documents", p), []byte(content)))
}

// procoreFile returns the content of a Procore Documents file ("" and false when absent).
func (e *env) procoreFile(p string) (string, bool) {
	b, err := e.pc.UIFile(e.docs, p)
	return string(b), err == nil
}

// targetFile returns the content of a file in the target's Documents folder.
func (e *env) targetFile(p string) (string, bool) {
	b, ok := e.svc.content(e.tpath("Documents", p))
	return string(b), ok
}

// procorePaths are Procore's project Documents paths (folders end in "/").
func (e *env) procorePaths() []string { return e.pc.UIPaths(e.docs) }

// targetPaths lists the target folder root (from the account's root) through a fresh
// connector, in the form of procoretest's UIPaths. It makes API calls:
// read counters before.
func (e *env) targetPaths(root string) []string {
	e.t.Helper()
	var out []string
	for en, err := range e.openTarget(root).List(e.ctx) {
		must(e.t, err)
		p := en.Path
		if en.IsDir {
			p += "/"
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// procoreOps sums the Procore fake's calls of operations whose id
// contains one of subs.
func (e *env) procoreOps(subs ...string) int {
	n := 0
	for op, c := range e.pc.Calls() {
		for _, s := range subs {
			if strings.Contains(op, s) {
				n += c
				break
			}
		}
	}
	return n
}

// targetID is the target's ID of the item at Documents path p ("" when
// absent).
func (e *env) targetID(p string) string {
	id, _ := e.svc.id(e.tpath("Documents", p))
	return id
}

// targetOps sums the target fake's calls of the operations of kind k.
func (e *env) targetOps(k opKind) int {
	n := 0
	calls := e.svc.calls()
	for _, op := range e.svc.ops(k) {
		n += calls[op]
	}
	return n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equalPaths(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"path"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/sharepoint"
	"github.com/procoresync/procoresync/syncengine/manualclock"
)

// target names the storage service a test syncs Procore with.
type target string

const (
	sharePoint    target = "SharePoint"
	oneDrive      target = "OneDrive"
	boxTarget     target = "Box"
	dropboxTarget target = "Dropbox"
)

// targets are the targets every behaviour is proven for.
var targets = []target{sharePoint, oneDrive, boxTarget, dropboxTarget}

// forEachTarget runs f as a subtest for each target.
func forEachTarget(t *testing.T, f func(t *testing.T, tg target)) {
	for _, tg := range targets {
		t.Run(string(tg), func(t *testing.T) { f(t, tg) })
	}
}

// opKind is a kind of call to a target service, for its call counters.
type opKind int

const (
	opUpload   opKind = iota // one per file written (an upload session's parts are not counted)
	opDownload               // reading a file's content
	opRecycle                // a delete that goes to the recycle bin (trash, deleted files)
	opPurge                  // a permanent delete
)

// service is a target service in a test: its in-process fake, a person
// working in its web UI, the storage under test over it, its call
// counters, and its change signals. Paths are slash paths from the root
// of the account (the drive, the user's All Files, the Dropbox home).
type service interface {
	// upload writes data as file p, a new file or a new version of the
	// one there, creating the folders above it, as a person does.
	upload(p string, data []byte) error
	// mkdir makes folder p and the folders above it.
	mkdir(p string) error
	// rename renames the item at p to name, in the same folder.
	rename(p, name string) error
	// move moves the item at p into folder dir, keeping its name.
	move(p, dir string) error
	// remove deletes the item at p (and what it holds) as a person does
	// in the web UI: to the recycle bin or trash.
	remove(p string) error
	// content returns the bytes of file p, and whether it exists.
	content(p string) ([]byte, bool)
	// id returns the service's ID of the item at p: it stays the same
	// across new versions, renames and moves.
	id(p string) (string, bool)

	// open opens the storage under test rooted at folder root through a
	// new client: a restarted process opens a new one the same way.
	open(ctx context.Context, root string) (storage.Storage, error)
	// chunk makes s send files of size bytes or more through an upload
	// session, in parts of size bytes where the client chooses.
	chunk(s storage.Storage, size int64)

	// calls are the fake's calls by operation since the last resetCalls.
	calls() map[string]int
	resetCalls()
	// ops names the fake's operations of kind k (exactly).
	ops(k opKind) []string
	// observe calls f with the operation of every call the fake serves
	// (nil: stop).
	observe(f func(op string))
	// recycled reports whether the file deleted from p is in the
	// service's recycle bin (restorable), when the fake can tell (known).
	recycled(p, id string) (in, known bool)

	// openWatched opens the storage under test at root as a
	// storage.Watcher woken by signal (one of signalsOf the target), set
	// up (webhook registered, subscription created) before it returns and
	// taken down when t ends.
	openWatched(t *testing.T, root, signal string) (storage.Storage, error)
}

// sharedFeed is the signal of a storage reading its changes from the
// account's shared change feed (box.NewEventsFeed run with the user's long
// poll, dropbox.NewFolderFeed with its longpoll), which wakes it.
const sharedFeed = "shared feed"

// signalsOf names the ways target tg tells of changes.
func signalsOf(tg target) []string {
	switch tg {
	case boxTarget:
		return []string{"webhook", "long-poll", sharedFeed}
	case dropboxTarget:
		return []string{"webhook", "longpoll", sharedFeed}
	}
	return []string{"notification"}
}

// newService starts the fake of target tg on clock clk and returns it;
// t's cleanup closes it.
func newService(t *testing.T, tg target, clk *manualclock.Clock) service {
	t.Helper()
	switch tg {
	case sharePoint, oneDrive:
		return newGraphService(t, tg, clk)
	case boxTarget:
		return newBoxService(t, clk)
	case dropboxTarget:
		return newDropboxService(t, clk)
	}
	t.Fatalf("unknown target %q", tg)
	return nil
}

// quickSleep is the clients' sleep for Retry-After and back-off: the
// fakes ask for seconds (Box's 202 on a download right after an upload),
// the tests do not wait that long for them.
func quickSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(min(d, 5*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// randomSecret is a fresh webhook key or client state.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// watchCtx is a context for a signal's background work that ends when t
// ends, before the fakes close (cleanups run last-registered first).
func watchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// runFeed runs a shared change feed until t ends.
func runFeed(t *testing.T, ctx context.Context, run func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// --- Microsoft Graph: a SharePoint library or a OneDrive ----------------------

type graphService struct {
	tg    target
	gs    *graphtest.Server
	gc    *msgraph.Client
	drive string
}

func newGraphService(t *testing.T, tg target, clk *manualclock.Clock) *graphService {
	gs := graphtest.New(graphtest.Options{Now: clk.Now})
	t.Cleanup(gs.Close)
	gc, err := msgraph.NewClient(msgraph.Options{
		BaseURL:      gs.BaseURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: gs.Token(), Expiry: time.Now().Add(24 * time.Hour)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
	})
	must(t, err)
	g := &graphService{tg: tg, gs: gs, gc: gc}
	if tg == sharePoint {
		site := gs.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
		g.drive = gs.SiteDrives(site)[0]
	} else {
		g.drive = gs.MyDriveID()
	}
	return g
}

func (g *graphService) upload(p string, data []byte) error {
	_, err := g.gs.WebUpload(g.drive, p, data)
	return err
}

func (g *graphService) mkdir(p string) error {
	_, err := g.gs.WebMkdir(g.drive, p)
	return err
}

func (g *graphService) rename(p, name string) error {
	_, err := g.gs.WebRename(g.drive, p, name)
	return err
}

func (g *graphService) move(p, dir string) error {
	_, err := g.gs.WebMove(g.drive, p, dir)
	return err
}

func (g *graphService) remove(p string) error { return g.gs.WebDelete(g.drive, p) }

func (g *graphService) content(p string) ([]byte, bool) { return g.gs.FileContent(g.drive, p) }

func (g *graphService) id(p string) (string, bool) {
	it, ok := g.gs.Stat(g.drive, p)
	return it.ID, ok
}

func (g *graphService) open(ctx context.Context, root string) (storage.Storage, error) {
	if g.tg == sharePoint {
		return sharepoint.New(ctx, g.gc, sharepoint.Options{Host: graphtest.SharePointHost, SitePath: "sites/Projects", RootPath: root})
	}
	return onedrive.New(ctx, g.gc, onedrive.Options{RootPath: root})
}

func (g *graphService) chunk(s storage.Storage, size int64) {
	s.(interface{ SetChunking(int64, int64) bool }).SetChunking(size, size)
}

func (g *graphService) calls() map[string]int { return g.gs.Calls() }
func (g *graphService) resetCalls()           { g.gs.ResetCalls() }

func (g *graphService) ops(k opKind) []string {
	switch k {
	case opUpload:
		return []string{"drives.UploadByPath", "drives.UploadNewFile", "drives.ReplaceContent",
			"drives.CreateUploadSessionByPath", "drives.CreateUploadSessionExisting", "drives.CreateUploadSessionNew"}
	case opDownload:
		return []string{"drives.GetContent", "drives.GetContentByPath", "download.Get"}
	case opRecycle:
		return []string{"drives.DeleteItem"}
	default:
		return []string{"drives.PermanentDeleteItem"}
	}
}

func (g *graphService) observe(f func(string)) {
	if f == nil {
		g.gs.Observe(nil)
		return
	}
	g.gs.Observe(func(x graphtest.Exchange) { f(x.Op) })
}

// recycled: the Graph fake does not show its recycle bin; the calls tell
// (a DELETE recycles, permanentDelete does not).
func (g *graphService) recycled(string, string) (bool, bool) { return false, false }

// openWatched: a change-notification subscription on the drive, kept
// alive by the storage, delivering to a Notifier on loopback.
func (g *graphService) openWatched(t *testing.T, root, _ string) (storage.Storage, error) {
	state := randomSecret()
	n, err := msgraph.NewNotifier(state)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	s, err := g.open(ctx, root)
	if err != nil {
		cancel()
		return nil, err
	}
	created := make(chan struct{})
	var once sync.Once
	spec := msgraph.SubscriptionSpec{
		NotificationURL: srv.URL, ClientState: state,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 100 * time.Millisecond,
		OnEvent: func(e msgraph.SubscriptionEvent) {
			if e.State == msgraph.SubscriptionCreated {
				once.Do(func() { close(created) })
			}
		},
	}
	done := make(chan error, 1)
	var w storage.Storage
	switch s := s.(type) {
	case *sharepoint.Storage:
		spec.Resource = msgraph.DriveRootResource(s.DriveID())
		w = s.WithNotifier(n)
	case *onedrive.Storage:
		spec.Resource = msgraph.DriveRootResource(s.DriveID())
		w = s.WithNotifier(n)
	}
	go func() { done <- g.gc.KeepSubscription(ctx, spec) }()
	// The subscription is deleted before the fake closes.
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-created:
		return w, nil
	case err := <-done:
		done <- err
		return nil, fmt.Errorf("graph subscription: %v", err)
	case <-time.After(10 * time.Second):
		return nil, errors.New("graph subscription not created within 10 s")
	}
}

// --- Box --------------------------------------------------------------------

type boxService struct {
	bs                 *boxtest.Server
	clk                *manualclock.Clock
	primary, secondary string // the app's webhook signature keys
}

func newBoxService(t *testing.T, clk *manualclock.Clock) *boxService {
	b := &boxService{clk: clk, primary: randomSecret(), secondary: randomSecret()}
	b.bs = boxtest.New(boxtest.Options{
		Now: clk.Now,
		// Upload sessions from 256 KiB in parts of 320 KiB (Box: from
		// 20 MB, parts of 8 MiB), so that the crash test interrupts one
		// with a small file.
		MinChunkedSize: 256 << 10,
		PartSize:       func(int64) int64 { return 320 << 10 },
		PrimaryKey:     b.primary, SecondaryKey: b.secondary,
		// The realtime server answers "reconnect" every few seconds so
		// that a stopping test does not wait on a held poll.
		LongPollTimeout: 2 * time.Second,
	})
	t.Cleanup(b.bs.Close)
	return b
}

func (b *boxService) lookup(p string) (string, error) {
	id, ok := b.bs.Lookup(p)
	if !ok {
		return "", fmt.Errorf("box: %s: not found", p)
	}
	return id, nil
}

func (b *boxService) upload(p string, data []byte) error {
	_, err := b.bs.WebUpload(p, data)
	return err
}

func (b *boxService) mkdir(p string) error {
	_, err := b.bs.WebMkdir(p)
	return err
}

func (b *boxService) rename(p, name string) error {
	id, err := b.lookup(p)
	if err != nil {
		return err
	}
	return b.bs.WebMove(id, "", name)
}

func (b *boxService) move(p, dir string) error {
	id, err := b.lookup(p)
	if err != nil {
		return err
	}
	pid, err := b.lookup(dir)
	if err != nil {
		return err
	}
	return b.bs.WebMove(id, pid, "")
}

func (b *boxService) remove(p string) error {
	id, err := b.lookup(p)
	if err != nil {
		return err
	}
	return b.bs.WebTrash(id)
}

func (b *boxService) content(p string) ([]byte, bool) {
	id, ok := b.bs.Lookup(p)
	if !ok {
		return nil, false
	}
	return b.bs.Content(id)
}

func (b *boxService) id(p string) (string, bool) { return b.bs.Lookup(p) }

func (b *boxService) client() (*box.Client, error) {
	return box.NewClient(box.ClientOptions{
		BaseURL: b.bs.BaseURL(), UploadURL: b.bs.UploadURL(),
		TokenSource:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: b.bs.Token(), Expiry: time.Now().Add(50 * time.Minute)}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Sleep: quickSleep,
	})
}

func (b *boxService) openWith(ctx context.Context, root string, hooks *box.WebhookReceiver) (*box.Storage, error) {
	c, err := b.client()
	if err != nil {
		return nil, err
	}
	return box.New(ctx, c, box.Options{RootPath: root, Webhooks: hooks})
}

func (b *boxService) open(ctx context.Context, root string) (storage.Storage, error) {
	return b.openWith(ctx, root, nil)
}

func (b *boxService) chunk(s storage.Storage, size int64) {
	s.(interface{ SetChunking(int64) }).SetChunking(size) // Box chooses the part size
}

func (b *boxService) calls() map[string]int { return b.bs.Calls() }
func (b *boxService) resetCalls()           { b.bs.ResetCalls() }

func (b *boxService) ops(k opKind) []string {
	switch k {
	case opUpload:
		return []string{"post_files_content", "post_files_id_content", "post_files_upload_sessions", "post_files_id_upload_sessions"}
	case opDownload:
		return []string{"get_files_id_content", "download.Get"}
	case opRecycle:
		return []string{"delete_files_id", "delete_folders_id"} // to the trash
	default:
		return []string{"delete_files_id_trash", "delete_folders_id_trash"}
	}
}

func (b *boxService) observe(f func(string)) {
	if f == nil {
		b.bs.Observe(nil)
		return
	}
	b.bs.Observe(func(x boxtest.Exchange) { f(x.Op) })
}

func (b *boxService) recycled(_, id string) (bool, bool) { return b.bs.Trashed(id), true }

// openWatched: "webhook" registers a webhook v2 on the root folder
// delivering to a WebhookReceiver that checks Box's signatures (primary
// and secondary keys); "long-poll" is the storage's own Watch on Box's
// realtime server; sharedFeed reads its changes from the user's
// EventsFeed run with one long poll (Client.WatchEvents).
func (b *boxService) openWatched(t *testing.T, root, signal string) (storage.Storage, error) {
	ctx := watchCtx(t)
	if signal == sharedFeed {
		s, err := b.openWith(ctx, root, nil)
		if err != nil {
			return nil, err
		}
		feed := box.NewEventsFeed(s.Client(), changefeed.Options{})
		trigger, err := s.Client().WatchEvents(ctx)
		if err != nil {
			return nil, err
		}
		runFeed(t, ctx, func(ctx context.Context) { _ = feed.Run(ctx, trigger) })
		return s.WithFeed(feed), nil
	}
	if signal != "webhook" {
		return b.openWith(ctx, root, nil)
	}
	rcv := &box.WebhookReceiver{PrimaryKey: b.primary, SecondaryKey: b.secondary, Now: b.clk.Now}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	s, err := b.openWith(ctx, root, rcv)
	if err != nil {
		return nil, err
	}
	hook, err := s.Client().CreateWebhook(ctx, s.RootID(), srv.URL, box.TreeTriggers)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Client().DeleteWebhook(context.Background(), hook.ID) })
	return s, nil
}

// --- Dropbox ------------------------------------------------------------------

type dropboxService struct {
	ds *dropboxtest.Server
}

// dropboxAppSecret signs the fake's webhook notifications.
const dropboxAppSecret = "e2e-app-secret"

func newDropboxService(t *testing.T, clk *manualclock.Clock) *dropboxService {
	ds := dropboxtest.New(dropboxtest.Options{Now: clk.Now, AppSecret: dropboxAppSecret, LongpollMax: 2 * time.Second})
	t.Cleanup(ds.Close)
	return &dropboxService{ds: ds}
}

// abs is p as a path from the Dropbox home's root.
func abs(p string) string { return "/" + p }

func (d *dropboxService) upload(p string, data []byte) error {
	_, _, err := d.ds.WebPut(dropboxtest.HomeNS, abs(p), data)
	return err
}

func (d *dropboxService) mkdir(p string) error {
	_, err := d.ds.WebMkdir(dropboxtest.HomeNS, abs(p))
	return err
}

func (d *dropboxService) rename(p, name string) error {
	return d.ds.WebMove(dropboxtest.HomeNS, abs(p), abs(path.Join(path.Dir(p), name)))
}

func (d *dropboxService) move(p, dir string) error {
	return d.ds.WebMove(dropboxtest.HomeNS, abs(p), abs(path.Join(dir, path.Base(p))))
}

func (d *dropboxService) remove(p string) error { return d.ds.WebDelete(dropboxtest.HomeNS, abs(p)) }

func (d *dropboxService) content(p string) ([]byte, bool) {
	return d.ds.ContentOf(dropboxtest.HomeNS, abs(p))
}

func (d *dropboxService) id(p string) (string, bool) {
	id, _, ok := d.ds.WebStat(dropboxtest.HomeNS, abs(p))
	return id, ok
}

func (d *dropboxService) openStorage(ctx context.Context, root string) (*dropbox.Storage, error) {
	o := d.ds.ClientOptions(d.ds.Token())
	o.RetryWaitMin, o.RetryWaitMax, o.Sleep = time.Millisecond, 5*time.Millisecond, quickSleep
	c, err := dropbox.NewClient(o)
	if err != nil {
		return nil, err
	}
	return dropbox.New(ctx, c, dropbox.Options{RootPath: abs(root)})
}

func (d *dropboxService) open(ctx context.Context, root string) (storage.Storage, error) {
	return d.openStorage(ctx, root)
}

func (d *dropboxService) chunk(s storage.Storage, size int64) {
	s.(interface{ SetChunking(int64, int64) bool }).SetChunking(size, size)
}

func (d *dropboxService) calls() map[string]int { return d.ds.Service.Calls.ByOp() }
func (d *dropboxService) resetCalls()           { d.ds.Service.Calls.Reset() }

func (d *dropboxService) ops(k opKind) []string {
	switch k {
	case opUpload:
		return []string{"files/upload", "files/upload_session/start"}
	case opDownload:
		return []string{"files/download"}
	case opRecycle:
		return []string{"files/delete_v2"} // deleted files stay restorable
	default:
		return []string{"files/permanently_delete"}
	}
}

func (d *dropboxService) observe(f func(string)) {
	if f == nil {
		d.ds.Service.Observe(nil)
		return
	}
	d.ds.Service.Observe(func(x fakeservice.Exchange) { f(x.Op) })
}

func (d *dropboxService) recycled(p, _ string) (bool, bool) {
	return d.ds.Recoverable(dropboxtest.HomeNS, abs(p)), true
}

// dropboxHooked is the Dropbox storage woken by the app's webhook instead
// of its own list_folder/longpoll.
type dropboxHooked struct {
	*dropbox.Storage
	hook *dropbox.Webhook
}

func (h dropboxHooked) Watch(ctx context.Context) (<-chan struct{}, error) { return h.hook.Watch(ctx) }

// openWatched: "webhook" mounts a Webhook (X-Dropbox-Signature checked
// with the app secret) at the URI the fake notifies, as the App Console's
// webhook URI; "longpoll" is the storage's own Watch on
// list_folder/longpoll; sharedFeed reads its changes from a FolderFeed on
// the home's root run with its one longpoll.
func (d *dropboxService) openWatched(t *testing.T, root, signal string) (storage.Storage, error) {
	ctx := watchCtx(t)
	s, err := d.openStorage(ctx, root)
	if err == nil && signal == sharedFeed {
		feed := dropbox.NewFolderFeed(s.Client(), "", changefeed.Options{})
		runFeed(t, ctx, func(ctx context.Context) { _ = feed.Longpoll(ctx, 30) })
		return s.WithFeed(feed), nil
	}
	if err != nil || signal != "webhook" {
		return s, err
	}
	h, err := dropbox.NewWebhook(dropboxAppSecret)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	d.ds.SetWebhookURL(srv.URL)
	t.Cleanup(func() { d.ds.SetWebhookURL("") })
	return dropboxHooked{Storage: s, hook: h}, nil
}

// Package onedrive is a storage.Storage for a user's OneDrive (for Business
// or personal) through Microsoft Graph: /me/drive with delegated
// authentication, /users/{id}/drive with app-only authentication, or a
// drive by ID, rooted at any folder.
//
// It shares its Graph client with package sharepoint: create one Client
// per tenant (NewClient, with a token source from package msauth) and
// hand it to every Storage of that tenant, so that a throttled tenant
// pauses all of them.
//
// The Storage implements storage.ChangeFeed (drive delta, with the delta
// link as the cursor), storage.ResumableUploader (upload sessions whose URL
// and offset survive a restart), storage.RangeOpener, storage.Copier
// (server-side copy), storage.IDStater and storage.SubtreeLister. Delete
// and Move send the entry's Version as If-Match
// (Features.ConditionalDelete and ConditionalMove). A file written with a
// modification time goes through an upload session that carries it, so
// that each write is one version. Change
// notifications: serve a Notifier at a public URL, run KeepSubscription
// for as long as the service runs (it creates, renews and re-creates the
// subscription), and use WithNotifier to get a storage.Watcher.
//
// Test against the in-process fake in package graphtest.
package onedrive

import (
	"context"
	"errors"
	"hash"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/procoresync/procoresync/storage/internal/graph/quickxorhash"
)

// Client is the Microsoft Graph drives client shared with package
// sharepoint.
type Client = graph.Client

// ClientOptions configure a Client: base URL (national clouds), token
// source, HTTP client, pacer and pace key, retries.
type ClientOptions = graph.Options

// Config is the former name of ClientOptions.
//
// Deprecated: use ClientOptions.
type Config = ClientOptions

// Error is a failed Graph call; it matches the storage error kinds.
type Error = graph.Error

// NewClient returns a Graph client. The token source comes from package
// msauth (AppOnlySource, AppOnlyCertSource or DelegatedSource), and so do
// ContentTokens.
func NewClient(opts ClientOptions) (*Client, error) { return graph.NewClient(opts) }

// NewTransport returns the default HTTP transport, with dial, TLS,
// response-header and idle timeouts.
func NewTransport() *http.Transport { return graph.NewTransport() }

// NewQuickXorHash returns a QuickXorHash, the hash OneDrive and SharePoint
// report (storage.HashQuickXor, base64 of Sum).
func NewQuickXorHash() hash.Hash { return quickxorhash.New() }

// Rules returns the OneDrive and SharePoint naming rules for a Storage
// rooted at the drive root.
func Rules() storage.NameRules { return graph.Rules(0) }

// Options choose the drive and the root folder.
type Options struct {
	// User, with app-only authentication, is the ID or principal name of
	// the user whose drive to use (/users/{User}/drive). Empty means the
	// signed-in user (/me/drive, delegated authentication).
	User string
	// DriveID, when set, names the drive directly.
	DriveID string
	// RootPath is the root folder's path below the drive root ("" for the
	// drive root). The folder must exist.
	RootPath string
	// RootID names the root folder by ID instead (it wins over RootPath).
	RootID string
}

// Storage is a folder of a OneDrive as a storage.Storage. It is safe for
// concurrent use.
type Storage struct {
	fs *graph.FS
}

// New opens the Storage: the drive named by opt (GET /me/drive,
// /users/{user}/drive or /drives/{id}) and the folder below its root.
func New(ctx context.Context, c *Client, opt Options) (*Storage, error) {
	if c == nil {
		return nil, errors.New("onedrive: nil client")
	}
	driveID := opt.DriveID
	if driveID == "" {
		var d *graph.Drive
		var err error
		if opt.User != "" {
			d, err = c.UserDrive(ctx, opt.User)
		} else {
			d, err = c.MyDrive(ctx)
		}
		if err != nil {
			return nil, graph.Wrap("open", "", err)
		}
		driveID = d.ID
	}
	fs, err := graph.OpenFolder(ctx, c, driveID, opt.RootID, opt.RootPath)
	if err != nil {
		return nil, err
	}
	return &Storage{fs: fs}, nil
}

// Client returns the Graph client the Storage uses.
func (s *Storage) Client() *Client { return s.fs.Client() }

// DriveID returns the ID of the drive.
func (s *Storage) DriveID() string { return s.fs.DriveID() }

// RootID returns the ID of the Storage's root folder.
func (s *Storage) RootID() string { return s.fs.RootID() }

// Features describes OneDrive: QuickXorHash, OneDrive's naming rules
// (shortened by the root folder's path), files up to 250 GB, version
// history, recycle bin, If-Match on writes, deletions and moves, upload
// sessions in multiples of 320 KiB.
func (s *Storage) Features() storage.Features { return s.fs.Features() }

// SetChunking sets the size above which Put uses an upload session
// instead of one PUT (default 4 MiB) and the fragment size (default
// 10 MiB; rounded down to a multiple of 320 KiB, at least 320 KiB and
// below 60 MiB). It reports whether fragment was usable as given.
func (s *Storage) SetChunking(simpleLimit, fragment int64) bool {
	return s.fs.SetChunking(simpleLimit, fragment)
}

// SetSpoolDir sets the folder where Put keeps a file of unknown size
// while it reads it (default os.TempDir()): an upload session needs the
// size before the first byte is sent.
func (s *Storage) SetSpoolDir(dir string) { s.fs.SetSpoolDir(dir) }

// List yields every item below the root: the drive's delta when the
// Storage is rooted at the drive root (about one call per thousand
// items), else a walk of the folders' children.
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] { return s.fs.List(ctx) }

// ListUnder yields every item below folder dir where it is now (the
// folder is looked up by ID first), walking its children.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return s.fs.ListUnder(ctx, dir)
}

// Stat returns the item at path p (relative to the root; "" is the root).
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	return s.fs.Stat(ctx, p)
}

// StatID returns the item with ID id as it is now (GET
// /drives/{id}/items/{id}, and its parents up to the root): an item
// deleted, in the recycle bin or outside the root gives
// storage.ErrNotFound.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	return s.fs.StatID(ctx, id)
}

// Open streams file e's content (GET …/content, following the redirect
// to the download URL).
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return s.fs.Open(ctx, e)
}

// OpenAt streams file e's content from offset on (a Range request on the
// download URL).
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	return s.fs.OpenAt(ctx, e, offset)
}

// Put writes file name in parent: a new file, or a new version of an
// existing one. Files up to the simple-upload limit take one PUT, larger
// ones (and any with a modification time) an upload session. With
// opt.ExpectedVersion set it is sent as If-Match; opt.NoOverwrite fails
// on an existing file. r must yield exactly size bytes (or size is -1):
// otherwise nothing is committed.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	return s.fs.Put(ctx, parent, name, r, size, opt)
}

// ResumeUpload continues an upload session from its saved state; r
// yields the file's bytes from st.Offset on. A session the service
// forgot gives storage.ErrNotFound.
func (s *Storage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	return s.fs.ResumeUpload(ctx, st, r, opt)
}

// MakeDir creates folder name in parent (POST …/children; an existing
// item of that name gives storage.ErrAlreadyExists).
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	return s.fs.MakeDir(ctx, parent, name)
}

// Move renames e and/or moves it into newParent (PATCH; the ID stays).
// With e.Version set it is sent as If-Match: an item changed since gives
// storage.ErrPreconditionFailed and stays where it is.
func (s *Storage) Move(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.fs.Move(ctx, e, newParent, newName)
}

// Copy copies file e into newParent as newName on the server (POST
// …/copy, then its monitor URL until the copy completes).
func (s *Storage) Copy(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.fs.Copy(ctx, e, newParent, newName)
}

// Delete moves e, with its contents, to the recycle bin. With e.Version
// set it is sent as If-Match: an item changed since gives
// storage.ErrPreconditionFailed and nothing is deleted.
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error { return s.fs.Delete(ctx, e) }

// LatestCursor returns the drive's delta link for "now" (delta with
// token=latest).
func (s *Storage) LatestCursor(ctx context.Context) (string, error) { return s.fs.LatestCursor(ctx) }

// Changes reads the drive's delta from cursor and returns what changed
// below the root. Deletions, and items moved out of the root, are
// reported by ID where the path is unknown. A delta link the service no
// longer honours gives storage.ErrCursorExpired.
func (s *Storage) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	return s.fs.Changes(ctx, cursor)
}

// Subscribe creates a change-notification subscription on the drive's
// root (Graph's only supported resource for OneDrive for Business),
// after Graph's validation handshake with the Notifier at
// notificationURL. It expires at expires (at most
// MaxSubscriptionLifetime ahead); KeepSubscription also renews it.
func (s *Storage) Subscribe(ctx context.Context, notificationURL, clientState string, expires time.Time) (*Subscription, error) {
	sub, err := s.fs.Subscribe(ctx, notificationURL, clientState, expires)
	if err != nil {
		return nil, err
	}
	return subscription(sub), nil
}

// KeepSubscription keeps a change-notification subscription on the
// drive's root (spec.Resource, when empty) alive until ctx is done: it
// creates it, renews it at two thirds of its lifetime, re-creates it when
// the service lost it, retries failures with back-off, and deletes it
// when ctx ends, returning ctx's error. It returns early only when the
// first creation fails for good (e.g. the Notifier at
// spec.NotificationURL is not reachable). Run it on its own goroutine;
// spec.OnEvent hears what happens.
func (s *Storage) KeepSubscription(ctx context.Context, spec SubscriptionSpec) error {
	return s.fs.KeepSubscription(ctx, spec.graph())
}

// Watched is a Storage that is also a storage.Watcher, woken by a
// Notifier's change notifications.
type Watched struct {
	*Storage
	n *Notifier
}

// WithNotifier returns s as a storage.Watcher woken by n.
func (s *Storage) WithNotifier(n *Notifier) *Watched { return &Watched{Storage: s, n: n} }

// Watch implements storage.Watcher: a value arrives after each
// notification n receives.
func (w *Watched) Watch(ctx context.Context) (<-chan struct{}, error) { return w.n.Watch(ctx) }

var (
	_ storage.Storage           = (*Storage)(nil)
	_ storage.ChangeFeed        = (*Storage)(nil)
	_ storage.ResumableUploader = (*Storage)(nil)
	_ storage.RangeOpener       = (*Storage)(nil)
	_ storage.Copier            = (*Storage)(nil)
	_ storage.IDStater          = (*Storage)(nil)
	_ storage.SubtreeLister     = (*Storage)(nil)
	_ storage.Watcher           = (*Watched)(nil)
)

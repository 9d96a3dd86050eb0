// Package onedrive is a storage.Storage for a user's OneDrive (for Business
// or personal) through Microsoft Graph: /me/drive with delegated
// authentication, /users/{id}/drive with app-only authentication, or a
// drive by ID, rooted at any folder.
//
// It shares its Graph client with package sharepoint: create one
// msgraph.Client per tenant (msgraph.NewClient, with a token source from
// package msauth) and hand it to every Storage of that tenant, so that a
// throttled tenant pauses all of them.
//
// The Storage implements storage.ChangeFeed (drive delta, with the delta
// link as the cursor), storage.ResumableUploader (upload sessions whose URL
// and offset survive a restart), storage.RangeOpener, storage.Copier
// (server-side copy), storage.IDStater and storage.SubtreeLister. Delete
// and Move send the entry's Version as If-Match
// (Features.ConditionalDelete and ConditionalMove). A file written with a
// modification time goes through an upload session that carries it, so
// that each write is one version.
//
// Change notifications: serve an msgraph.Notifier at a public URL, run
// msgraph.Client.KeepSubscription for the drive's root
// (msgraph.DriveRootResource(s.DriveID())) for as long as the service
// runs, and use WithNotifier to get a storage.Watcher.
//
// Test against the in-process fake in package graphtest.
package onedrive

import (
	"context"
	"errors"
	"io"
	"iter"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/msgraph"
)

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
	fs *drivefs.FS
}

// New opens the Storage: the drive named by opt (GET /me/drive,
// /users/{user}/drive or /drives/{id}) and the folder below its root.
func New(ctx context.Context, c *msgraph.Client, opt Options) (*Storage, error) {
	if c == nil {
		return nil, errors.New("onedrive: nil client")
	}
	driveID := opt.DriveID
	if driveID == "" {
		var d *msgraph.Drive
		var err error
		if opt.User != "" {
			d, err = c.UserDrive(ctx, opt.User)
		} else {
			d, err = c.MyDrive(ctx)
		}
		if err != nil {
			return nil, drivefs.Wrap("open", "", err)
		}
		driveID = d.ID
	}
	fs, err := drivefs.OpenFolder(ctx, c, driveID, opt.RootID, opt.RootPath)
	if err != nil {
		return nil, err
	}
	return &Storage{fs: fs}, nil
}

// WebURL returns e's address in the library's web view (the root
// folder's webUrl followed by e's escaped path); it makes no call.
func (s *Storage) WebURL(ctx context.Context, e storage.Entry) (string, error) {
	return s.fs.WebURL(ctx, e)
}

// Client returns the Graph client the Storage uses.
func (s *Storage) Client() *msgraph.Client { return s.fs.Client() }

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

// Watched is a Storage that is also a storage.Watcher, woken by an
// msgraph.Notifier's change notifications.
type Watched struct {
	*Storage
	n *msgraph.Notifier
}

// WithNotifier returns s as a storage.Watcher woken by n, the Notifier
// that receives the deliveries of the drive's subscription.
func (s *Storage) WithNotifier(n *msgraph.Notifier) *Watched { return &Watched{Storage: s, n: n} }

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

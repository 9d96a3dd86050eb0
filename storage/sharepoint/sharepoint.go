// Package sharepoint is a storage.Storage for a folder of a SharePoint
// document library through Microsoft Graph: resolve a site by host name
// and path, list its document libraries, pick a library and a root folder.
//
// It shares the Graph client with package onedrive: create one
// msgraph.Client per tenant (its token source from package msauth) and
// hand it to every Storage of that tenant, so that a throttled tenant
// pauses all of them. The Storage offers what a OneDrive Storage offers:
// storage.ChangeFeed (the library's delta), storage.ResumableUploader,
// storage.RangeOpener, storage.Copier, storage.IDStater and
// storage.SubtreeLister; If-Match on deletes and moves
// (Features.ConditionalDelete and ConditionalMove); change notifications
// through an msgraph.Notifier, msgraph.Client.KeepSubscription on
// msgraph.DriveRootResource(s.DriveID()), and WithNotifier.
//
// Test against the in-process fake in package graphtest.
package sharepoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// Site is a SharePoint site.
type Site struct {
	// ID is the site's composite ID ("{host},{site collection ID},{web
	// ID}"), what Options.SiteID takes.
	ID string
	// Name is the site's URL name, DisplayName its title.
	Name, DisplayName string
	// WebURL is the site's address in a browser.
	WebURL string
}

// Library is a document library of a site (a Graph drive of driveType
// "documentLibrary").
type Library struct {
	// ID is the drive ID, what Options.LibraryID takes.
	ID string
	// Name is the library's name as the site shows it, what
	// Options.Library takes.
	Name string
	// Description is the library's description.
	Description string
	// DriveType is "documentLibrary" for a SharePoint library.
	DriveType string
	// WebURL is the library's address in a browser.
	WebURL string
}

// ResolveSite finds a site by host name (e.g. contoso.sharepoint.com) and
// server-relative path (e.g. "sites/Projects"; "" for the root site):
// GET /sites/{host}:/{path}.
func ResolveSite(ctx context.Context, c *msgraph.Client, host, sitePath string) (*Site, error) {
	s, err := c.SiteByPath(ctx, host, sitePath)
	if err != nil {
		return nil, drivefs.Wrap("site", sitePath, err)
	}
	return &Site{ID: s.ID, Name: s.Name, DisplayName: s.DisplayName, WebURL: s.WebURL}, nil
}

// Libraries lists a site's document libraries (GET /sites/{id}/drives).
func Libraries(ctx context.Context, c *msgraph.Client, siteID string) ([]Library, error) {
	ds, err := c.SiteDrives(ctx, siteID)
	if err != nil {
		return nil, drivefs.Wrap("libraries", "", err)
	}
	libs := make([]Library, len(ds))
	for i, d := range ds {
		libs[i] = Library{ID: d.ID, Name: d.Name, Description: d.Description, DriveType: d.DriveType, WebURL: d.WebURL}
	}
	return libs, nil
}

// Options choose the site, the library and the root folder.
type Options struct {
	// Host and SitePath locate the site (SitePath "" is the root site);
	// SiteID, when set, names it directly.
	Host, SitePath, SiteID string
	// Library is the library's name (compared without regard to case;
	// default: the site's default library). LibraryID names it directly.
	Library, LibraryID string
	// RootPath is the root folder below the library root ("": the library
	// root). The folder must exist.
	RootPath string
}

// Storage is a folder of a SharePoint document library as a
// storage.Storage. It is safe for concurrent use.
type Storage struct {
	fs *drivefs.FS // the library is a drive
	// SiteID and LibraryID say where the Storage is.
	SiteID, LibraryID string
}

// New opens the Storage: the site (GET /sites/{host}:/{path}, unless
// opt.SiteID names it), the library (the site's default drive, or the one
// of /sites/{id}/drives named opt.Library, unless opt.LibraryID names it)
// and the folder below the library's root.
func New(ctx context.Context, c *msgraph.Client, opt Options) (*Storage, error) {
	if c == nil {
		return nil, errors.New("sharepoint: nil client")
	}
	siteID, libID := opt.SiteID, opt.LibraryID
	if libID == "" {
		if siteID == "" {
			if opt.Host == "" {
				return nil, errors.New("sharepoint: Options.Host or SiteID is required")
			}
			s, err := ResolveSite(ctx, c, opt.Host, opt.SitePath)
			if err != nil {
				return nil, err
			}
			siteID = s.ID
		}
		if opt.Library == "" {
			d, err := c.GetDrive(ctx, "/sites/"+siteID+"/drive")
			if err != nil {
				return nil, drivefs.Wrap("open", "", err)
			}
			libID = d.ID
		} else {
			libs, err := Libraries(ctx, c, siteID)
			if err != nil {
				return nil, err
			}
			var names []string
			for _, l := range libs {
				names = append(names, l.Name)
				if strings.EqualFold(l.Name, opt.Library) {
					libID = l.ID
					break
				}
			}
			if libID == "" {
				return nil, storage.NewError("open", opt.Library, storage.ErrNotFound,
					fmt.Errorf("no document library %q; the site has %q", opt.Library, names))
			}
		}
	}
	fs, err := drivefs.OpenFolder(ctx, c, libID, "", opt.RootPath)
	if err != nil {
		return nil, err
	}
	return &Storage{fs: fs, SiteID: siteID, LibraryID: libID}, nil
}

// WebURL returns e's address in the library's web view (the root
// folder's webUrl followed by e's escaped path); it makes no call.
func (s *Storage) WebURL(ctx context.Context, e storage.Entry) (string, error) {
	return s.fs.WebURL(ctx, e)
}

// Client returns the Graph client the Storage uses.
func (s *Storage) Client() *msgraph.Client { return s.fs.Client() }

// DriveID returns the library's drive ID (the same as LibraryID).
func (s *Storage) DriveID() string { return s.fs.DriveID() }

// RootID returns the ID of the Storage's root folder.
func (s *Storage) RootID() string { return s.fs.RootID() }

// Features describes a SharePoint library: QuickXorHash, SharePoint's
// naming rules (shortened by the root folder's path), files up to 250 GB,
// version history, recycle bin, If-Match on writes, deletions and moves,
// upload sessions in multiples of 320 KiB.
func (s *Storage) Features() storage.Features { return s.fs.Features() }

// SetChunking sets the size above which Put uses an upload session
// instead of one PUT (default 4 MiB) and the fragment size (default
// 10 MiB; rounded down to a multiple of 320 KiB, at least 320 KiB and
// below 60 MiB). It reports whether fragment was usable as given.
func (s *Storage) SetChunking(simpleLimit, fragment int64) bool {
	return s.fs.SetChunking(simpleLimit, fragment)
}

// SetSpoolDir sets the folder where Put keeps a file of unknown size
// while it reads it (default os.TempDir()).
func (s *Storage) SetSpoolDir(dir string) { s.fs.SetSpoolDir(dir) }

// List yields every item below the root: the library's delta when the
// Storage is rooted at the library root, else a walk of the folders'
// children.
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] { return s.fs.List(ctx) }

// ListUnder yields every item below folder dir where it is now, walking
// its children.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return s.fs.ListUnder(ctx, dir)
}

// Stat returns the item at path p (relative to the root; "" is the root).
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	return s.fs.Stat(ctx, p)
}

// StatID returns the item with ID id as it is now: an item deleted, in
// the site's recycle bin or outside the root gives storage.ErrNotFound.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	return s.fs.StatID(ctx, id)
}

// Open streams file e's content from its download URL.
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return s.fs.Open(ctx, e)
}

// OpenAt streams file e's content from offset on.
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	return s.fs.OpenAt(ctx, e, offset)
}

// Put writes file name in parent as a new file or a new version, with
// one PUT up to the simple-upload limit and an upload session above it.
// opt.ExpectedVersion is sent as If-Match. r must yield exactly size
// bytes (or size is -1): otherwise nothing is committed. Office documents
// are read again after the upload, because SharePoint rewrites their
// properties: the entry returned describes the bytes SharePoint keeps.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	return s.fs.Put(ctx, parent, name, r, size, opt)
}

// ResumeUpload continues an upload session from its saved state.
func (s *Storage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	return s.fs.ResumeUpload(ctx, st, r, opt)
}

// MakeDir creates folder name in parent.
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	return s.fs.MakeDir(ctx, parent, name)
}

// Move renames e and/or moves it into newParent; the ID stays. With
// e.Version set, an item changed since gives
// storage.ErrPreconditionFailed and stays where it is.
func (s *Storage) Move(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.fs.Move(ctx, e, newParent, newName)
}

// Copy copies file e into newParent as newName on the server.
func (s *Storage) Copy(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.fs.Copy(ctx, e, newParent, newName)
}

// Delete moves e, with its contents, to the site's recycle bin. With
// e.Version set, an item changed since gives
// storage.ErrPreconditionFailed and nothing is deleted.
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error { return s.fs.Delete(ctx, e) }

// LatestCursor returns the library's delta link for "now".
func (s *Storage) LatestCursor(ctx context.Context) (string, error) { return s.fs.LatestCursor(ctx) }

// Changes reads the library's delta from cursor and returns what changed
// below the root (deletions by ID where the path is unknown); an expired
// cursor gives storage.ErrCursorExpired.
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
// that receives the deliveries of the library's subscription.
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

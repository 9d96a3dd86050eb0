package projects

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/procoresync/procoresync/storage/sharepoint"
)

// Target opens folders of the storage a project syncs into: a SharePoint
// library, a OneDrive, a Box or Dropbox account, a local folder.
type Target interface {
	// Name labels the target side in pairs and reports ("SharePoint").
	Name() string
	// Open returns a storage rooted at the existing folder rel
	// (slash-separated, relative to the target's root; "" is the root
	// itself). The Manager makes the folders it opens first, through
	// Open(ctx, ""); it finds renamed folders by ID where that storage is
	// a storage.IDStater.
	Open(ctx context.Context, rel string) (storage.Storage, error)
}

// TargetFunc adapts a function to a Target. Manager.Update takes two
// TargetFuncs with the same Label and the same function (code) for the same
// target.
type TargetFunc struct {
	Label string
	Func  func(ctx context.Context, rel string) (storage.Storage, error)
}

// Name returns f.Label.
func (f TargetFunc) Name() string { return f.Label }

// Open calls f.Func.
func (f TargetFunc) Open(ctx context.Context, rel string) (storage.Storage, error) {
	return f.Func(ctx, rel)
}

// sameTarget reports whether a and b are the same target, without the
// panic that == gives on targets of a type that is not comparable (such
// as TargetFunc, which holds a func).
func sameTarget(a, b Target) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	switch {
	case ta != tb:
		return false
	case ta == nil:
		return true
	case ta.Comparable():
		return a == b
	}
	if fa, ok := a.(TargetFunc); ok {
		fb := b.(TargetFunc)
		return fa.Label == fb.Label && reflect.ValueOf(fa.Func).Pointer() == reflect.ValueOf(fb.Func).Pointer()
	}
	return false
}

// SharePointTarget is a SharePoint document library as a Target. The site
// (GET /sites/{host}:/{path}) and the library (GET /sites/{id}/drive, or
// the one named Options.Library of GET /sites/{id}/drives) are resolved on
// the first Open and cached, so that each later Open costs one call (the
// folder) instead of two more; when a folder is not found, the cached
// library is checked (GET /drives/{id}) and, gone, forgotten and resolved
// again once (it was deleted and re-created, or renamed and another took
// its name). It is
// safe for concurrent use; use it by pointer.
type SharePointTarget struct {
	// Client is the tenant's Graph client (required).
	Client *msgraph.Client
	// Options name the site and the library (Options.RootPath is ignored:
	// Open's rel is the root).
	Options sharepoint.Options
	// Label names the target side ("" is "SharePoint").
	Label string
	// Feed, when set, returns the shared change feed of a drive
	// (msgraph.NewDriveFeed, one per drive): every storage Open returns
	// below the library's root reads its changes from it (WithFeed) and is
	// woken by it, instead of running its own delta query.
	Feed func(driveID string) *msgraph.DriveFeed

	mu            sync.Mutex
	siteID, libID string
}

// Name returns the label.
func (t *SharePointTarget) Name() string {
	if t.Label == "" {
		return "SharePoint"
	}
	return t.Label
}

// Open returns the folder rel of the library.
func (t *SharePointTarget) Open(ctx context.Context, rel string) (storage.Storage, error) {
	o := t.Options
	o.RootPath = rel
	t.mu.Lock()
	site, lib := t.siteID, t.libID
	t.mu.Unlock()
	if lib != "" {
		co := o
		co.SiteID, co.LibraryID = site, lib
		s, err := sharepoint.New(ctx, t.Client, co)
		if err == nil {
			return t.fed(s, rel), nil
		}
		if !errors.Is(err, storage.ErrNotFound) || driveExists(ctx, t.Client, lib) {
			return nil, err
		}
		t.mu.Lock()
		if t.libID == lib {
			t.siteID, t.libID = "", ""
		}
		t.mu.Unlock()
	}
	s, err := sharepoint.New(ctx, t.Client, o)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.siteID, t.libID = s.SiteID, s.LibraryID
	t.mu.Unlock()
	return t.fed(s, rel), nil
}

func (t *SharePointTarget) fed(s *sharepoint.Storage, rel string) storage.Storage {
	if t.Feed == nil || rel == "" {
		return s
	}
	return s.WithFeed(t.Feed(s.DriveID()))
}

// driveExists reports whether drive id can still be read (GET
// /drives/{id}): a folder missing from a drive that exists is not a reason
// to resolve the drive again. Errors other than 404 count as existing (the
// caller returns the folder's error).
func driveExists(ctx context.Context, c *msgraph.Client, id string) bool {
	_, err := c.GetDrive(ctx, "/drives/"+id)
	var ge *msgraph.Error
	return !(errors.As(err, &ge) && ge.StatusCode == 404)
}

// OneDriveTarget is a OneDrive as a Target. The drive (GET /me/drive or
// /users/{user}/drive) is resolved on the first Open and cached, so that
// each later Open costs only the folder's calls; when a folder is not
// found, the cached drive is checked and, gone, resolved again once. It is safe for
// concurrent use; use it by pointer.
type OneDriveTarget struct {
	// Client is the tenant's Graph client (required).
	Client *msgraph.Client
	// Options name the drive (User or DriveID; RootPath and RootID are
	// ignored: Open's rel is the root).
	Options onedrive.Options
	// Label names the target side ("" is "OneDrive").
	Label string
	// Feed is as SharePointTarget's.
	Feed func(driveID string) *msgraph.DriveFeed

	mu      sync.Mutex
	driveID string
}

// Name returns the label.
func (t *OneDriveTarget) Name() string {
	if t.Label == "" {
		return "OneDrive"
	}
	return t.Label
}

// Open returns the folder rel of the drive.
func (t *OneDriveTarget) Open(ctx context.Context, rel string) (storage.Storage, error) {
	o := t.Options
	o.RootPath, o.RootID = rel, ""
	t.mu.Lock()
	drive := t.driveID
	t.mu.Unlock()
	if drive != "" && o.DriveID == "" {
		co := o
		co.DriveID = drive
		s, err := onedrive.New(ctx, t.Client, co)
		if err == nil {
			return t.fed(s, rel), nil
		}
		if !errors.Is(err, storage.ErrNotFound) || driveExists(ctx, t.Client, drive) {
			return nil, err
		}
		t.mu.Lock()
		if t.driveID == drive {
			t.driveID = ""
		}
		t.mu.Unlock()
	}
	s, err := onedrive.New(ctx, t.Client, o)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.driveID = s.DriveID()
	t.mu.Unlock()
	return t.fed(s, rel), nil
}

func (t *OneDriveTarget) fed(s *onedrive.Storage, rel string) storage.Storage {
	if t.Feed == nil || rel == "" {
		return s
	}
	return s.WithFeed(t.Feed(s.DriveID()))
}

// Package sharepoint is a storage.Storage for a folder of a SharePoint
// document library through Microsoft Graph: resolve a site by host name
// and path, list its document libraries, pick a library and a root folder.
//
// It shares the Graph client (and its types) with package onedrive:
// create one onedrive.Client per tenant and hand it to every Storage of
// that tenant; it offers the same capabilities (see package onedrive).
// Test against the in-process fake in package graphtest.
package sharepoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/procoresync/procoresync/storage/onedrive"
)

// Site is a SharePoint site.
type Site = graph.Site

// Library is a document library (a Graph drive).
type Library = graph.Drive

// ResolveSite finds a site by host name (e.g. contoso.sharepoint.com) and
// server-relative path (e.g. "sites/Projects"; "" for the root site).
func ResolveSite(ctx context.Context, c *onedrive.Client, host, sitePath string) (*Site, error) {
	s, err := c.SiteByPath(ctx, host, sitePath)
	if err != nil {
		return nil, graph.Wrap("site", sitePath, err)
	}
	return s, nil
}

// Libraries lists a site's document libraries.
func Libraries(ctx context.Context, c *onedrive.Client, siteID string) ([]Library, error) {
	ds, err := c.SiteDrives(ctx, siteID)
	if err != nil {
		return nil, graph.Wrap("libraries", "", err)
	}
	return ds, nil
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

// Storage is a folder of a SharePoint document library.
type Storage struct {
	*graph.FS
	// SiteID and LibraryID say where the Storage is.
	SiteID, LibraryID string
}

// New opens the Storage.
func New(ctx context.Context, c *onedrive.Client, opt Options) (*Storage, error) {
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
				return nil, graph.Wrap("open", "", err)
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
	fs, err := onedrive.OpenFolder(ctx, c, libID, "", opt.RootPath)
	if err != nil {
		return nil, err
	}
	return &Storage{FS: fs, SiteID: siteID, LibraryID: libID}, nil
}

// Subscribe creates a change-notification subscription on the library's
// root after Graph's validation handshake with the Notifier at
// notificationURL. Prefer KeepSubscription, which also renews it.
func (s *Storage) Subscribe(ctx context.Context, notificationURL, clientState string, expires time.Time) (*onedrive.Subscription, error) {
	return s.Client().Subscribe(ctx, "/drives/"+s.DriveID()+"/root", notificationURL, clientState, expires)
}

// KeepSubscription keeps a change-notification subscription on the
// library's root (spec.Resource, when empty) alive until ctx is done:
// created, renewed at two thirds of its lifetime, re-created when the
// service lost it, failures retried with back-off, deleted when ctx ends
// (it then returns ctx's error). It returns early only when the first
// creation fails for good. Run it on its own goroutine; spec.OnEvent hears
// what happens. See onedrive.Storage.KeepSubscription.
func (s *Storage) KeepSubscription(ctx context.Context, spec onedrive.SubscriptionSpec) error {
	if spec.Resource == "" {
		spec.Resource = "/drives/" + s.DriveID() + "/root"
	}
	return s.Client().KeepSubscription(ctx, spec)
}

// Watched is a Storage that is also a storage.Watcher.
type Watched struct {
	*Storage
	n *onedrive.Notifier
}

// WithNotifier returns s as a storage.Watcher woken by n.
func (s *Storage) WithNotifier(n *onedrive.Notifier) *Watched { return &Watched{Storage: s, n: n} }

// Watch implements storage.Watcher.
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

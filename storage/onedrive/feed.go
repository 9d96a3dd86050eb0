package onedrive

import (
	"context"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// Fed is a Storage that reads its changes from the drive's shared
// msgraph.DriveFeed and is a storage.Watcher woken only when that feed
// finds a change below the Storage's root.
type Fed struct {
	*Storage
}

// WithFeed makes s read its changes from feed, the shared feed of the
// drive (msgraph.NewDriveFeed on s.DriveID(); one per drive, whatever the
// number of Storages rooted in it), and returns it as a storage.Watcher.
// Run the feed (DriveFeed.Run) with the drive's one subscription's
// notifications.
func (s *Storage) WithFeed(feed *msgraph.DriveFeed) *Fed {
	s.fs.UseFeed(feed)
	return &Fed{Storage: s}
}

// Watch implements storage.Watcher: a value arrives after each poll of
// the feed that found a change below the root.
func (f *Fed) Watch(ctx context.Context) (<-chan struct{}, error) { return f.fs.WatchFeed(ctx) }

var _ storage.Watcher = (*Fed)(nil)

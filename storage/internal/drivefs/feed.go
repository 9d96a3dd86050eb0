package drivefs

import (
	"context"
	"errors"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// UseFeed makes the FS read its changes from feed, the drive's shared
// change feed, instead of running its own delta query: the feed polls the
// drive once for every FS rooted in it and hands each the items below its
// root. The FS's cursors stay delta links, so a cursor saved before is
// still honoured. feed must be the feed of the FS's drive (one feed per
// drive, NewDriveFeed).
func (f *FS) UseFeed(feed *msgraph.DriveFeed) {
	sub := feed.Subscribe(f.rootID)
	f.mu.Lock()
	old := f.sub
	f.sub = sub
	f.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// CloseFeed ends the FS's subscription to its shared feed; it reads its own
// delta again.
func (f *FS) CloseFeed() {
	f.mu.Lock()
	old := f.sub
	f.sub = nil
	f.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

func (f *FS) feedSub() *changefeed.Sub[msgraph.DriveItem] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sub
}

// readDelta returns the drive items changed after cursor: from the shared
// feed (only those below the root, unless the cursor predates the feed)
// or from the FS's own delta query.
func (f *FS) readDelta(ctx context.Context, cursor string) ([]msgraph.DriveItem, string, error) {
	if sub := f.feedSub(); sub != nil {
		return sub.Changes(ctx, cursor)
	}
	return f.c.DeltaAll(ctx, cursor)
}

// ErrNoFeed is the error of WatchFeed on an FS without a shared feed.
var ErrNoFeed = errors.New("graph: the storage does not use a shared drive feed")

// WatchFeed returns a channel that receives a value whenever the shared
// feed found a change below the root; it is closed when ctx is done.
func (f *FS) WatchFeed(ctx context.Context) (<-chan struct{}, error) {
	sub := f.feedSub()
	if sub == nil {
		return nil, ErrNoFeed
	}
	return sub.Watch(ctx), nil
}

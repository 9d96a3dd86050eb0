package msgraph

import (
	"context"
	"errors"

	"github.com/procoresync/procoresync/changefeed"
)

// DriveFeed is the change feed of one drive shared by every storage rooted
// in it: one delta query (GET /drives/{id}/root/delta) per poll, whatever
// the number of storages, each receiving the items changed below its own
// root. Run it with the signals of the drive's one change-notification
// subscription (KeepSubscription on DriveRootResource, a Notifier's Watch)
// so that a notification polls the delta once and wakes only the storages
// whose folders changed.
type DriveFeed = changefeed.Feed[DriveItem]

// NewDriveFeed returns the shared change feed of drive driveID.
func NewDriveFeed(c *Client, driveID string, opts changefeed.Options) *DriveFeed {
	return changefeed.New[DriveItem](deltaSource{c: c, driveID: driveID}, opts)
}

// deltaSource is a drive's delta as a changefeed.Source.
type deltaSource struct {
	c       *Client
	driveID string
}

// Latest returns the delta link for "now" (token=latest).
func (s deltaSource) Latest(ctx context.Context) (string, error) {
	p, err := s.c.Delta(ctx, s.c.DeltaURL(s.driveID, "latest"))
	if err != nil {
		return "", err
	}
	if p.DeltaLink == "" {
		return "", &Error{StatusCode: 200, Code: "invalidResponse", Op: "GET delta", Message: "token=latest gave no delta link"}
	}
	return p.DeltaLink, nil
}

// Poll reads every page of the delta from cursor (a delta link).
func (s deltaSource) Poll(ctx context.Context, cursor string) ([]DriveItem, string, error) {
	return s.c.DeltaAll(ctx, cursor)
}

// Key returns the item's ID, its parent's ID and whether it was deleted.
func (deltaSource) Key(it DriveItem) (id, parent string, deleted bool) {
	if it.ParentReference != nil {
		parent = it.ParentReference.ID
	}
	return it.ID, parent, it.Deleted != nil
}

// Parent reads item id (GET /drives/{id}/items/{id}) for its parent.
func (s deltaSource) Parent(ctx context.Context, id string) (string, error) {
	it, err := s.c.GetItem(ctx, s.driveID, id)
	if err != nil {
		return "", err
	}
	if it.Deleted != nil {
		return "", errors.New("graph: the item was deleted")
	}
	if it.Root != nil || it.ParentReference == nil {
		return "", nil
	}
	return it.ParentReference.ID, nil
}

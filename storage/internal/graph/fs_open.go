package graph

import (
	"context"
	"strings"
	"time"
)

// OpenFolder opens folder rootID of drive driveID, or, when rootID is
// empty, the folder at rootPath below the drive root (GET
// /drives/{id}/root:/{path}), or the drive root when both are empty.
// storage/onedrive and storage/sharepoint open their Storage with it.
func OpenFolder(ctx context.Context, c *Client, driveID, rootID, rootPath string) (*FS, error) {
	if rootID == "" && strings.Trim(rootPath, "/") != "" {
		root, err := c.GetRoot(ctx, driveID)
		if err != nil {
			return nil, Wrap("open", "", err)
		}
		it, err := c.GetByPath(ctx, driveID, root.ID, strings.Trim(rootPath, "/"))
		if err != nil {
			return nil, Wrap("open", rootPath, err)
		}
		rootID = it.ID
	}
	return NewFS(ctx, c, driveID, rootID)
}

// rootResource is the subscription resource of the FS's drive: Graph
// accepts change-notification subscriptions only on a drive's root
// folder (/drives/{id}/root) for OneDrive for Business and SharePoint,
// whatever folder the FS is rooted at.
func (f *FS) rootResource() string { return "/drives/" + f.driveID + "/root" }

// Subscribe creates a change-notification subscription (POST
// /subscriptions, changeType "updated") on the root of the FS's drive,
// after Graph's validation handshake with the Notifier at
// notificationURL. It expires at expires (at most
// MaxSubscriptionLifetime ahead); renew it with Client.RenewSubscription,
// or use KeepSubscription, which does that and more.
func (f *FS) Subscribe(ctx context.Context, notificationURL, clientState string, expires time.Time) (*Subscription, error) {
	return f.c.Subscribe(ctx, f.rootResource(), notificationURL, clientState, expires)
}

// KeepSubscription runs Client.KeepSubscription for the root of the FS's
// drive (spec.Resource, when empty): it keeps a change-notification
// subscription alive until ctx is done and then deletes it.
func (f *FS) KeepSubscription(ctx context.Context, spec SubscriptionSpec) error {
	if spec.Resource == "" {
		spec.Resource = f.rootResource()
	}
	return f.c.KeepSubscription(ctx, spec)
}

package drivefs

import (
	"context"
	"strings"

	"github.com/procoresync/procoresync/storage/msgraph"
)

// OpenFolder opens folder rootID of drive driveID, or, when rootID is
// empty, the folder at rootPath below the drive root (GET
// /drives/{id}/root:/{path}), or the drive root when both are empty.
// storage/onedrive and storage/sharepoint open their Storage with it.
func OpenFolder(ctx context.Context, c *msgraph.Client, driveID, rootID, rootPath string) (*FS, error) {
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

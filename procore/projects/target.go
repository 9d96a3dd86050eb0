package projects

import (
	"context"

	"github.com/procoresync/procoresync/storage"
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

// TargetFunc adapts a function to a Target.
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

package projects

import (
	"context"
	"reflect"

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

package drivefs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// DefaultFragment is the default fragment size (10 MiB).
const DefaultFragment = 32 * msgraph.FragmentMultiple

// DefaultSimpleLimit is the largest file sent with a simple PUT (4 MiB,
// the limit every tenant honours).
const DefaultSimpleLimit = 4 << 20

// maxDepth bounds a parent chain: a path of at most 400 characters cannot
// nest deeper, so a longer chain is a cycle or a broken tree.
const maxDepth = 512

// errParentCycle reports items whose parent chain comes back to itself.
var errParentCycle = &msgraph.Error{StatusCode: 200, Code: "invalidResponse", Op: "parent chain",
	Message: "the items' parent references form a cycle"}

// Rules returns the OneDrive / SharePoint naming rules, with the path
// limit of 400 characters reduced by rootPathLen, the length of the
// Storage root's path from the drive root.
func Rules(rootPathLen int) storage.NameRules {
	stems := []string{"CON", "PRN", "AUX", "NUL"}
	for i := range 10 {
		stems = append(stems, fmt.Sprintf("COM%d", i), fmt.Sprintf("LPT%d", i))
	}
	max := 400 - rootPathLen
	if rootPathLen > 0 {
		max-- // the slash between the root's path and ours
	}
	return storage.NameRules{
		InvalidChars:       `"*:<>?/\|`,
		NoControlChars:     true,
		ReservedNames:      []string{".lock", "desktop.ini"},
		ReservedStems:      stems,
		ReservedPrefixes:   []string{"~$"},
		ReservedSubstrings: []string{"_vti_"},
		NoLeadingSpace:     true,
		NoTrailingSpace:    true,
		NoTrailingPeriod:   true,
		MaxNameLength:      255,
		MaxPathLength:      max,
		CaseInsensitive:    true,
	}
}

// node is what the FS remembers of an item to build paths from IDs.
type node struct {
	name, parent string
	isDir        bool
}

// FS is a storage.Storage over one folder of one drive. storage/onedrive
// and storage/sharepoint are thin layers over it.
type FS struct {
	c         *msgraph.Client
	driveID   string
	rootID    string
	driveRoot string
	rootWeb   string // the root folder's webUrl ("" when Graph gave none)
	rules     storage.NameRules

	mu       sync.Mutex
	fragment int64
	simple   int64
	idx      map[string]node
	retry404 int
	spoolDir string
	sub      *changefeed.Sub[msgraph.DriveItem] // the drive's shared feed (nil: own delta)
}

// NewFS returns an FS rooted at folder rootID of drive driveID ("" for the
// drive's root folder). It checks that the folder exists.
func NewFS(ctx context.Context, c *msgraph.Client, driveID, rootID string) (*FS, error) {
	droot, err := c.GetRoot(ctx, driveID)
	if err != nil {
		return nil, Wrap("open", "", err)
	}
	root := droot
	if rootID != "" && rootID != droot.ID {
		if root, err = c.GetItem(ctx, driveID, rootID); err != nil {
			return nil, Wrap("open", "", err)
		}
	}
	if !root.IsDir() {
		return nil, storage.NewError("open", "", storage.ErrNotDir, nil)
	}
	rootPathLen := 0
	if root.ID != droot.ID && root.ParentReference != nil {
		if _, p, ok := strings.Cut(root.ParentReference.Path, ":"); ok {
			rootPathLen = len([]rune(strings.Trim(p, "/"))) + 1 + len([]rune(root.Name))
			if strings.Trim(p, "/") == "" {
				rootPathLen = len([]rune(root.Name))
			}
		}
	}
	return &FS{c: c, driveID: driveID, rootID: root.ID, driveRoot: droot.ID, rootWeb: root.WebURL, rules: Rules(rootPathLen),
		fragment: DefaultFragment, simple: DefaultSimpleLimit, idx: map[string]node{}, retry404: 3}, nil
}

// WebURL returns e's address in the drive's web view: the root folder's
// webUrl followed by e's path, each name percent-escaped, which is how
// SharePoint and OneDrive for work or school address a library's items.
// It makes no call; ErrUnsupported when Graph gave the root no webUrl.
func (f *FS) WebURL(_ context.Context, e storage.Entry) (string, error) {
	if f.rootWeb == "" {
		return "", storage.NewError("weburl", e.Path, storage.ErrUnsupported, nil)
	}
	u := strings.TrimSuffix(f.rootWeb, "/")
	if e.Path != "" {
		for _, name := range strings.Split(e.Path, "/") {
			u += "/" + url.PathEscape(name)
		}
	}
	return u, nil
}

// Client returns the FS's client.
func (f *FS) Client() *msgraph.Client { return f.c }

// DriveID returns the drive's ID.
func (f *FS) DriveID() string { return f.driveID }

// RootID returns the ID of the root folder.
func (f *FS) RootID() string { return f.rootID }

// SetChunking sets the size from which Put uses an upload session
// (files larger than simpleLimit) and the fragment size, which is rounded
// down to a multiple of 320 KiB (at least 320 KiB, below 60 MiB). It
// reports whether the fragment size was usable as given.
func (f *FS) SetChunking(simpleLimit, fragment int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := fragment%msgraph.FragmentMultiple == 0 && fragment >= msgraph.FragmentMultiple && fragment <= msgraph.MaxFragment
	fragment = max(msgraph.FragmentMultiple, min(msgraph.MaxFragment, fragment/msgraph.FragmentMultiple*msgraph.FragmentMultiple))
	f.fragment, f.simple = fragment, max(0, simpleLimit)
	return ok
}

// SetSpoolDir sets the folder where Put keeps a file of unknown size while
// it reads it (default os.TempDir()): an upload session needs the size
// before the first byte is sent.
func (f *FS) SetSpoolDir(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.spoolDir = dir
}

func (f *FS) chunking() (simple, fragment int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.simple, f.fragment
}

// Features describes OneDrive and SharePoint.
func (f *FS) Features() storage.Features {
	simple, _ := f.chunking()
	return storage.Features{
		Hashes:         []storage.HashKind{storage.HashQuickXor},
		Names:          f.rules,
		MaxFileSize:    msgraph.MaxFileSize,
		VersionHistory: true,
		RecycleBin:     true,
		ConditionalPut: true,
		// DELETE and PATCH /drives/{id}/items/{id} carry If-Match: the eTag.
		ConditionalDelete: true,
		ConditionalMove:   true,
		SetModTime:        true,
		ModTimePrecision:  time.Second,
		Upload: storage.UploadConstraints{ChunkThreshold: simple + 1, MinChunk: msgraph.FragmentMultiple,
			MaxChunk: msgraph.MaxFragment, ChunkMultiple: msgraph.FragmentMultiple},
	}
}

// Wrap turns err from a Graph call into the storage error for op on path p:
// an *storage.Error of the right kind (throttling carries a
// *storage.ThrottledError with the delay) that unwraps to the *Error.
func Wrap(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return storage.NewError(op, p, nil, err)
	}
	var ge *msgraph.Error
	if errors.As(err, &ge) {
		kind := ge.Kind()
		if kind == storage.ErrThrottled {
			return storage.NewError(op, p, kind, storage.Throttled(ge.RetryAfter, err))
		}
		return storage.NewError(op, p, kind, err)
	}
	var ine *storage.InvalidNameError
	if errors.As(err, &ine) {
		return storage.NewError(op, p, storage.ErrInvalidName, err)
	}
	return storage.NewError(op, p, nil, err)
}

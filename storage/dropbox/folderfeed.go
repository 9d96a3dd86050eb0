package dropbox

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/storage"
)

// FolderFeed is one recursive list_folder cursor (with deletions) on a
// folder shared by every Storage rooted below it: one
// list_folder/continue read per poll, whatever the number of Storages,
// each receiving the entries below its own root. Entries are routed by
// path (an entry's ID is its path_lower, its parent the directory), so no
// call is made to route them; the deletion of a folder at or above a
// Storage's root (the root renamed, moved or deleted) goes to that
// Storage, which follows its root by ID.
//
// Run it with Longpoll (list_folder/longpoll on the feed's own cursor),
// or with Run and a Webhook's signals. A feed reads one namespace: the
// Client's (its PathRoot); Storages on other namespaces need their own.
type FolderFeed struct {
	*changefeed.Feed[FeedEntry]
	src *folderSource
}

// NewFolderFeed returns the shared feed of folder (a path; "" or "/":
// the root of the Client's namespace, which no one can rename). Every
// Storage given the feed (WithFeed) must be rooted at or below folder. A
// folder other than the namespace root is followed by its ID when a
// person renames or moves it: its cursor then expires and the feed
// starts again where the folder is.
func NewFolderFeed(c *Client, folder string, opts changefeed.Options) *FolderFeed {
	folder = strings.TrimRight(folder, "/")
	if folder != "" && !strings.HasPrefix(folder, "/") {
		folder = "/" + folder
	}
	src := &folderSource{c: c, path: folder}
	return &FolderFeed{Feed: changefeed.New[FeedEntry](src, opts), src: src}
}

// Longpoll runs the feed until ctx is done: list_folder/longpoll on the
// feed's shared cursor (the notify host, no token; timeout in seconds,
// 30..480), a poll of the feed each time Dropbox says changes are waiting
// (after the backoff it asks for), and a poll every PollInterval as the
// safety net. It is the one long poll of the namespace, whatever the
// number of Storages.
func (f *FolderFeed) Longpoll(ctx context.Context, timeout int) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx, nil) // the interval polls
	}()
	defer func() { <-done }()
	fails := 0
	for ctx.Err() == nil {
		head, err := f.Head(ctx)
		var res *LongpollResult
		if err == nil {
			res, err = f.src.c.Longpoll(ctx, head, timeout)
		}
		if err == nil && res.Changes {
			err = f.Poll(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ae *APIError
			if errors.As(err, &ae) && ae.Has("reset") {
				_ = f.Poll(ctx) // the feed starts again from now
			}
			fails++
			if f.src.c.opts.Sleep(ctx, httpclient.Jitter(httpclient.ExpBackoff(time.Second, time.Minute, fails))) != nil {
				break
			}
			continue
		}
		fails = 0
		if res.Backoff > 0 {
			if f.src.c.opts.Sleep(ctx, time.Duration(res.Backoff)*time.Second) != nil {
				break
			}
		}
	}
	return nil
}

// folderSource is a recursive list_folder cursor as a changefeed.Source.
type folderSource struct {
	c    *Client
	path string // as given ("" for the namespace root)

	seq atomic.Uint64

	mu    sync.Mutex
	id    string // the folder's ID, once read
	lower string // its path_lower as last read
	fresh bool   // lower is where the folder is, as far as the feed knows
}

var (
	_ changefeed.Source[FeedEntry]     = (*folderSource)(nil)
	_ changefeed.Router[FeedEntry]     = (*folderSource)(nil)
	_ changefeed.Identifier[FeedEntry] = (*folderSource)(nil)
)

// FeedEntry is an entry of a FolderFeed's list_folder pages with its
// place in the feed: entries are replayed in order (a deletion and what
// is made at the same path afterwards are both kept), as Dropbox's
// recursive listing is applied.
type FeedEntry struct {
	Metadata
	Seq uint64
}

// Identity is the entry's place in the feed: no two entries are merged.
func (*folderSource) Identity(e FeedEntry) string { return strconv.FormatUint(e.Seq, 10) }

// folderKey is the feed ID of path_lower p: the namespace root is "/".
func folderKey(lower string) string {
	if lower == "" {
		return "/"
	}
	return lower
}

// Latest returns a cursor for now (list_folder/get_latest_cursor,
// recursive, with deletions) on the folder, found by its ID wherever a
// person has moved it.
func (s *folderSource) Latest(ctx context.Context) (string, error) {
	arg := ListFolderArg{Path: "", Recursive: true, IncludeDeleted: true}
	if s.path != "" {
		s.mu.Lock()
		id := s.id
		s.mu.Unlock()
		if id == "" {
			id = s.path
		}
		m, err := s.c.GetMetadata(ctx, id)
		if err != nil {
			return "", storageErr("changes", s.path, err)
		}
		if !m.IsDir() || m.ID == "" {
			return "", storage.NewError("changes", s.path, storage.ErrNotDir, nil)
		}
		s.mu.Lock()
		s.id, s.lower, s.fresh = m.ID, m.PathLower, true
		s.mu.Unlock()
		arg.Path = m.ID
	}
	cur, err := s.c.GetLatestCursor(ctx, arg)
	if err != nil {
		return "", storageErr("changes", s.path, err)
	}
	return cur, nil
}

// folderLower returns the feed folder's path_lower ("" for the namespace
// root) and whether it is known.
func (s *folderSource) folderLower() (string, bool) {
	if s.path == "" {
		return "", true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lower, s.fresh
}

// Poll reads list_folder/continue from cursor until has_more is false.
// A reset cursor, and a cursor whose folder left its path (path/not_found:
// the folder was renamed or moved), give errors matching
// storage.ErrCursorExpired.
func (s *folderSource) Poll(ctx context.Context, cursor string) ([]FeedEntry, string, error) {
	var out []FeedEntry
	guard := httpclient.NewPageGuard(1 << 20)
	for {
		if err := guard.Next(ctx, cursor); err != nil {
			return nil, "", storageErr("changes", "", err)
		}
		res, err := s.c.ListFolderContinue(ctx, cursor)
		if err != nil {
			if cursorFolderGone(err) {
				if s.path != "" {
					s.mu.Lock()
					s.fresh = false // moved: Latest finds it again
					s.mu.Unlock()
				}
				return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, err)
			}
			return nil, "", storageErr("changes", "", err)
		}
		for _, m := range res.Entries {
			if m.PathLower != "" {
				out = append(out, FeedEntry{Metadata: m, Seq: s.seq.Add(1)})
			}
		}
		cursor = res.Cursor
		if !res.HasMore {
			return out, cursor, nil
		}
	}
}

// Key returns the entry's path_lower, its directory and whether it is a
// deletion.
func (*folderSource) Key(m FeedEntry) (id, parent string, deleted bool) {
	id = folderKey(m.PathLower)
	return id, parentKey(id), m.Tag == "deleted"
}

func parentKey(id string) string {
	if id == "/" {
		return ""
	}
	return path.Dir(id)
}

// Parent returns the directory of id, without a call.
func (*folderSource) Parent(_ context.Context, id string) (string, error) { return parentKey(id), nil }

// Concerns routes the deletion of a folder at or above root to root: its
// Storage must follow its root (renamed, moved or deleted).
func (*folderSource) Concerns(m FeedEntry, root string) bool {
	if m.Tag != "deleted" {
		return false
	}
	id := folderKey(m.PathLower)
	return root == id || strings.HasPrefix(root, id+"/")
}

// Fed is a Storage that reads its changes from a shared FolderFeed and is
// a storage.Watcher woken only when that feed finds a change below the
// Storage's root.
type Fed struct {
	*Storage
}

// feedState is a Storage's subscription to a shared FolderFeed.
type feedState struct {
	feed   *FolderFeed
	sub    *changefeed.Sub[FeedEntry]
	cancel context.CancelFunc // ends the forwarding of sub's wake-ups
	wake   *wake.Broadcaster
}

// WithFeed makes s read its changes from feed, the shared feed of a folder
// at or above s's root (NewFolderFeed; one per namespace or common
// folder, whatever the number of Storages), and returns it as a
// storage.Watcher. A cursor saved before (s's own list_folder cursor) is
// still honoured: read once on its own, after which s continues on the
// feed's cursor. Run the feed (FolderFeed.Longpoll, or Run with a
// Webhook's signals).
func (s *Storage) WithFeed(feed *FolderFeed) *Fed {
	s.mu.Lock()
	old := s.feed
	s.feed = &feedState{feed: feed, wake: &wake.Broadcaster{}}
	if old != nil && old.feed == feed {
		s.feed.wake = old.wake // watchers of the same feed keep watching
	}
	s.subscribeLocked()
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	return &Fed{Storage: s}
}

// CloseFeed ends the Storage's subscription: it reads its own cursors
// again.
func (s *Storage) CloseFeed() {
	s.mu.Lock()
	old := s.feed
	s.feed = nil
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
}

func (fs *feedState) close() {
	if fs.cancel != nil {
		fs.cancel()
	}
	if fs.sub != nil {
		fs.sub.Close()
	}
}

// subscribeLocked subscribes at the root's current path, ending the
// subscription at a former path. s.mu is held.
func (s *Storage) subscribeLocked() {
	fs := s.feed
	root := folderKey(s.rootLower)
	if fs.sub != nil && fs.sub.Root() == root {
		return
	}
	fs.close()
	fs.sub = fs.feed.Subscribe(root)
	ctx, cancel := context.WithCancel(context.Background())
	fs.cancel = cancel
	ch := fs.sub.Watch(ctx)
	b := fs.wake
	go func() {
		for range ch {
			b.Notify()
		}
	}()
}

// feedSub returns the Storage's subscription at its root's current path
// (nil without a feed), and checks that the root lies below the feed's
// folder.
func (s *Storage) feedSub() (*changefeed.Sub[FeedEntry], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feed == nil {
		return nil, nil
	}
	s.subscribeLocked()
	if lower, ok := s.feed.feed.src.folderLower(); ok && lower != "" && s.rootLower != lower && !strings.HasPrefix(s.rootLower, lower+"/") {
		return nil, fmt.Errorf("dropbox: the root %q is not below the feed's folder %q", s.rootPath, s.feed.feed.src.path)
	}
	return s.feed.sub, nil
}

// Watch implements storage.Watcher: a value arrives after each poll of
// the feed that found a change below the root (the feed is started now,
// so that what changes from now on is seen).
func (f *Fed) Watch(ctx context.Context) (<-chan struct{}, error) {
	sub, err := f.feedSub()
	if err != nil {
		return nil, storage.NewError("watch", "", nil, err)
	}
	if sub == nil {
		return f.Storage.Watch(ctx)
	}
	if _, err := sub.Latest(ctx); err != nil {
		return nil, storageErr("watch", "", err)
	}
	f.mu.Lock()
	fs := f.feed
	f.mu.Unlock()
	if fs == nil { // CloseFeed meanwhile
		return f.Storage.Watch(ctx)
	}
	return fs.wake.Watch(ctx), nil
}

var _ storage.Watcher = (*Fed)(nil)

// fedChanges is Changes from the shared feed: the entries below the root
// after cursor. The deletion of the root or of a folder above it makes
// the Storage follow its root by ID: moved, the cursor is reported
// expired (and the Storage subscribes at the new path); gone, the error
// matches storage.ErrNotFound.
func (s *Storage) fedChanges(ctx context.Context, sub *changefeed.Sub[FeedEntry], cursor string) ([]storage.Change, string, error) {
	items, next, err := sub.Changes(ctx, cursor)
	if err != nil {
		if cursorFolderGone(err) {
			err = s.rootAfterLostCursor(ctx, err)
			s.resubscribe()
			return nil, "", err
		}
		return nil, "", storageErr("changes", "", err)
	}
	if s.rootID != RootID {
		root := sub.Root()
		for i := range items {
			m := &items[i]
			id := folderKey(m.PathLower)
			if m.Tag != "deleted" || (root != id && !strings.HasPrefix(root, id+"/")) {
				continue
			}
			if err := s.followRoot(ctx); err != nil {
				return nil, "", err
			}
			if s.resubscribe() {
				return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired,
					errors.New("dropbox: the root folder moved"))
			}
			break // deleted and restored at the same path: its entries follow
		}
	}
	var out []storage.Change
	lookups := 0
	for i := range items {
		ch, ok, err := s.changeOf(ctx, &items[i].Metadata, &lookups)
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, ch)
		}
	}
	return out, next, nil
}

// resubscribe moves the subscription to the root's current path; it
// reports whether the path changed.
func (s *Storage) resubscribe() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feed == nil {
		return false
	}
	before := s.feed.sub
	s.subscribeLocked()
	return s.feed.sub != before
}

package dropbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// LatestCursor returns a list_folder cursor for now
// (list_folder/get_latest_cursor, recursive, with deletions), on the root
// folder found by its ID wherever a person has moved it.
func (s *Storage) LatestCursor(ctx context.Context) (string, error) {
	sub, err := s.feedSub()
	if err != nil {
		return "", storage.NewError("changes", "", nil, err)
	}
	if sub != nil {
		cur, err := sub.Latest(ctx)
		if err != nil {
			return "", storageErr("changes", "", err)
		}
		return cur, nil
	}
	arg := ListFolderArg{Path: s.abs(""), Recursive: true, IncludeDeleted: true}
	if s.rootID != RootID {
		arg.Path = s.rootID
	}
	cur, err := s.c.GetLatestCursor(ctx, arg)
	if err != nil {
		return "", storageErr("changes", "", err)
	}
	return cur, nil
}

// Changes returns what changed after cursor (list_folder/continue until
// has_more is false). Deletions carry the ID last seen at their path,
// where known.
//
// A list_folder cursor follows the path its folder had when it was
// issued: once a person renames or moves the root folder (or one of its
// parents), list_folder/continue answers path/not_found. Changes then
// looks the root up by its ID (files/get_metadata "id:…"): when it still
// exists, Changes follows it and returns storage.ErrCursorExpired, so
// that the caller lists the root afresh and takes a new cursor; nothing
// below the root is reported deleted. When the root is gone the error
// matches storage.ErrNotFound. A reset cursor gives
// storage.ErrCursorExpired, and so does a page holding entries outside
// the root's current path (a cursor taken at a path the root has since
// left). With a shared FolderFeed (WithFeed), the entries come from the
// feed (see fedChanges).
func (s *Storage) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	sub, err := s.feedSub()
	if err != nil {
		return nil, "", storage.NewError("changes", "", nil, err)
	}
	if sub != nil {
		return s.fedChanges(ctx, sub, cursor)
	}
	var out []storage.Change
	lookups := 0
	checked := false
	guard := httpclient.NewPageGuard(1 << 20)
	for {
		if err := guard.Next(ctx, cursor); err != nil {
			return nil, "", storageErr("changes", "", err)
		}
		res, err := s.c.ListFolderContinue(ctx, cursor)
		if err != nil {
			if cursorFolderGone(err) {
				return nil, "", s.rootAfterLostCursor(ctx, err)
			}
			return nil, "", storageErr("changes", "", err)
		}
		if len(res.Entries) > 0 && !checked && s.rootID != RootID {
			// Read the root's path now, not from an old reading, before
			// taking any entry (a deletion above all) as below it.
			checked = true
			if err := s.followRoot(ctx); err != nil {
				return nil, "", err
			}
		}
		for i := range res.Entries {
			m := &res.Entries[i]
			if _, ok := s.rel(m); !ok && !s.isRoot(m) && m.PathLower != "" {
				return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired,
					errors.New("dropbox: the cursor lists a folder the root has left"))
			}
			ch, ok, err := s.changeOf(ctx, m, &lookups)
			if err != nil {
				return nil, "", err
			}
			if ok {
				out = append(out, ch)
			}
		}
		cursor = res.Cursor
		if !res.HasMore {
			return out, cursor, nil
		}
	}
}

// changeOf converts entry m of a list_folder page (ok false: not below
// the root, or its parent went away since: a later change says so).
// Deletions carry the ID last seen at their path, else the one the
// file's revisions name (at most maxDeletionLookups per *lookups).
func (s *Storage) changeOf(ctx context.Context, m *Metadata, lookups *int) (storage.Change, bool, error) {
	if m.Tag == "deleted" {
		p, ok := s.rel(m)
		if !ok {
			return storage.Change{}, false, nil
		}
		s.mu.Lock()
		id := s.ids[m.PathLower]
		s.mu.Unlock()
		if id == "" && *lookups < maxDeletionLookups {
			// Not seen by this process (e.g. after a restart): a
			// deleted file's revisions still name its ID.
			*lookups++
			id = s.deletedID(ctx, m.PathLower)
		}
		s.remember(m)
		return storage.Change{Entry: storage.Entry{ID: id, Path: p}, Deleted: true}, true, nil
	}
	e, ok, err := s.toEntry(ctx, m)
	if err != nil {
		var se *storage.Error
		if errors.As(err, &se) && errors.Is(err, storage.ErrNotFound) {
			return storage.Change{}, false, nil // the parent went away since; a later change says so
		}
		return storage.Change{}, false, storageErr("changes", "", err)
	}
	return storage.Change{Entry: e}, ok, nil
}

// cursorFolderGone reports whether err is list_folder/continue's
// path/not_found (or path/not_folder): the folder the cursor was taken on
// no longer exists at that path.
func cursorFolderGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == 409 && ae.Has("path") && (ae.Has("not_found") || ae.Has("not_folder"))
}

// rootAfterLostCursor is Changes' answer when its cursor's folder left its
// path: storage.ErrCursorExpired when the root still exists (followed to
// where it is now), an error matching storage.ErrNotFound when the root is
// gone, and err itself for the account root.
func (s *Storage) rootAfterLostCursor(ctx context.Context, err error) error {
	if s.rootID == RootID {
		return storageErr("changes", "", err)
	}
	if ferr := s.followRoot(ctx); ferr != nil {
		return ferr
	}
	// Not wrapped: path/not_found would make the error match
	// storage.ErrNotFound, which says the root is gone.
	return storage.NewError("changes", "", storage.ErrCursorExpired,
		fmt.Errorf("dropbox: the cursor's folder left its path (%s); the root moved", err))
}

// followRoot reads the root folder by its ID and follows it to its current
// path. A root that is gone (or is no longer a folder) gives an error
// matching storage.ErrNotFound.
func (s *Storage) followRoot(ctx context.Context) error {
	m, err := s.c.GetMetadata(ctx, s.rootID)
	if err != nil {
		return storageErr("changes", "", err)
	}
	if !m.IsDir() || m.PathLower == "" {
		return storage.NewError("changes", "", storage.ErrNotFound, errors.New("dropbox: the root is no longer a folder"))
	}
	s.mu.Lock()
	s.rootPath, s.rootLower = m.PathDisplay, m.PathLower
	s.mu.Unlock()
	return nil
}

// isRoot reports whether m is the root folder itself.
func (s *Storage) isRoot(m *Metadata) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.PathLower == s.rootLower || m.ID != "" && m.ID == s.rootID
}

// maxDeletionLookups bounds the list_revisions calls one Changes makes to
// name the IDs of deletions it had not seen.
const maxDeletionLookups = 100

// deletedID returns the ID of the file last deleted at path (from
// files/list_revisions, which lists a deleted file's revisions), or "".
func (s *Storage) deletedID(ctx context.Context, path string) string {
	var r struct {
		Entries []Metadata `json:"entries"`
	}
	if err := s.c.rpc(ctx, "files/list_revisions", map[string]any{"path": path, "mode": "path", "limit": 1}, &r); err != nil || len(r.Entries) == 0 {
		return ""
	}
	return r.Entries[0].ID
}

// Watch signals when something below the root may have changed, by
// list_folder/longpoll on the notify host (sleeping the backoff it asks
// for). The channel is closed when ctx is done.
func (s *Storage) Watch(ctx context.Context) (<-chan struct{}, error) {
	cur, err := s.LatestCursor(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		fails := 0
		for ctx.Err() == nil {
			res, err := s.c.Longpoll(ctx, cur, s.opts.LongpollTimeout)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				var ae *APIError
				if errors.As(err, &ae) && ae.Has("reset") {
					if c2, err := s.LatestCursor(ctx); err == nil {
						cur = c2
					}
					signal(ch)
				}
				fails++
				if s.c.opts.Sleep(ctx, httpclient.Jitter(httpclient.ExpBackoff(time.Second, time.Minute, fails))) != nil {
					return
				}
				continue
			}
			fails = 0
			if res.Changes {
				// Move past the changes by following the cursor (not by
				// taking a new one, which would skip changes made since),
				// then signal: whatever changes after the drain wakes the
				// next longpoll.
				c2, err := s.drain(ctx, cur)
				if err != nil && cursorFolderGone(err) {
					// The root (or a parent) was renamed or moved: watch
					// it where it is now.
					c2, err = s.LatestCursor(ctx)
				}
				if err == nil {
					cur = c2
				}
				signal(ch)
			}
			if res.Backoff > 0 {
				if s.c.opts.Sleep(ctx, time.Duration(res.Backoff)*time.Second) != nil {
					return
				}
			}
		}
	}()
	return ch, nil
}

// drain follows cursor to the end of the change log.
func (s *Storage) drain(ctx context.Context, cursor string) (string, error) {
	guard := httpclient.NewPageGuard(1 << 20)
	for {
		if err := guard.Next(ctx, cursor); err != nil {
			return "", err
		}
		res, err := s.c.ListFolderContinue(ctx, cursor)
		if err != nil {
			return "", err
		}
		cursor = res.Cursor
		if !res.HasMore {
			return cursor, nil
		}
	}
}

// signal sends a coalesced signal.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

var (
	_ storage.ChangeFeed = (*Storage)(nil)
	_ storage.Watcher    = (*Storage)(nil)
)

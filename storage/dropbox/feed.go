package dropbox

import (
	"context"
	"errors"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// LatestCursor returns a list_folder cursor for now
// (list_folder/get_latest_cursor, recursive, with deletions).
func (s *Storage) LatestCursor(ctx context.Context) (string, error) {
	cur, err := s.c.GetLatestCursor(ctx, ListFolderArg{Path: s.abs(""), Recursive: true, IncludeDeleted: true})
	if err != nil {
		return "", storageErr("changes", "", err)
	}
	return cur, nil
}

// Changes returns what changed after cursor (list_folder/continue until
// has_more is false). A reset cursor gives storage.ErrCursorExpired.
// Deletions carry the ID last seen at their path, where known.
func (s *Storage) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	var out []storage.Change
	lookups := 0
	guard := httpclient.NewPageGuard(1 << 20)
	for {
		if err := guard.Next(ctx, cursor); err != nil {
			return nil, "", storageErr("changes", "", err)
		}
		res, err := s.c.ListFolderContinue(ctx, cursor)
		if err != nil {
			return nil, "", storageErr("changes", "", err)
		}
		for i := range res.Entries {
			m := &res.Entries[i]
			if m.Tag == "deleted" {
				p, ok := s.rel(m)
				if !ok {
					continue
				}
				s.mu.Lock()
				id := s.ids[m.PathLower]
				s.mu.Unlock()
				if id == "" && lookups < maxDeletionLookups {
					// Not seen by this process (e.g. after a restart): a
					// deleted file's revisions still name its ID.
					lookups++
					id = s.deletedID(ctx, m.PathLower)
				}
				s.remember(m)
				out = append(out, storage.Change{Entry: storage.Entry{ID: id, Path: p}, Deleted: true})
				continue
			}
			e, ok, err := s.toEntry(ctx, m)
			if err != nil {
				var se *storage.Error
				if errors.As(err, &se) && errors.Is(err, storage.ErrNotFound) {
					continue // the parent went away since; a later change says so
				}
				return nil, "", storageErr("changes", "", err)
			}
			if ok {
				out = append(out, storage.Change{Entry: e})
			}
		}
		cursor = res.Cursor
		if !res.HasMore {
			return out, cursor, nil
		}
	}
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
				if c2, err := s.drain(ctx, cur); err == nil {
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

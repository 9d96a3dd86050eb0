package records

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
)

var _ storage.ChangeFeed = (*Storage)(nil)

const cursorPrefix = "rec1:"

// cursor is a change-feed position: the end of the last updated_at window
// and when the deletion signal was last read.
type cursor struct {
	at, deletions time.Time
}

func (c cursor) String() string {
	return cursorPrefix + strconv.FormatInt(c.at.UnixNano(), 10) + ":" + strconv.FormatInt(c.deletions.UnixNano(), 10)
}

func parseCursor(s string) (cursor, error) {
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	a, b, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return cursor{}, storage.NewError("changes", "", storage.ErrCursorExpired, fmt.Errorf("records: malformed cursor"))
	}
	at, err1 := strconv.ParseInt(a, 10, 64)
	del, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || at <= 0 || del <= 0 {
		return cursor{}, storage.NewError("changes", "", storage.ErrCursorExpired, fmt.Errorf("records: malformed cursor"))
	}
	return cursor{at: time.Unix(0, at).UTC(), deletions: time.Unix(0, del).UTC()}, nil
}

// LatestCursor returns a cursor for now, or "" when the tool cannot report
// changes (the engine then lists it in full every time). It makes no API
// call.
func (s *Storage) LatestCursor(ctx context.Context) (string, error) {
	if _, ok := s.tool.(Changer); !ok {
		return "", nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	now := s.now().UTC()
	return cursor{at: now, deletions: now}.String(), nil
}

// Changes reports the records created, updated or deleted after cursor:
// one filters[updated_at] call per tool (from the cursor, less Overlap, to
// now), one read of every record it names (so the record's files and
// Version are current), and — for a Deleter, once every
// DeletionCheckInterval — one read of the tool's deletion signal. A changed
// record is reported as its folder (with its new path if renamed) and all
// its files; files it no longer has are reported deleted. A deleted record
// is reported as its folder, deleted. When this process has not listed the
// tool yet and a record changed, Changes cannot tell which of its files
// went away and answers storage.ErrCursorExpired, so that the engine lists
// the tool once.
func (s *Storage) Changes(ctx context.Context, cur string) ([]storage.Change, string, error) {
	ch, ok := s.tool.(Changer)
	if !ok {
		return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired, errors.New("records: the tool reports no changes"))
	}
	c, err := parseCursor(cur)
	if err != nil {
		return nil, "", err
	}
	now := s.now().UTC()
	next := cursor{at: now, deletions: c.deletions}
	changed := map[string]bool{}
	var order []string
	note := func(id string, deleted bool) {
		if _, ok := changed[id]; !ok {
			order = append(order, id)
		}
		changed[id] = changed[id] || deleted
	}
	for x, err := range ch.Changed(ctx, c.at.Add(-s.opts.Overlap), now) {
		if err != nil {
			return nil, "", s.storageErr("changes", "", err)
		}
		note(x.ID, x.Deleted)
	}
	if d, ok := s.tool.(Deleter); ok && (s.opts.DeletionCheckInterval < 0 || now.Sub(c.deletions) >= s.opts.DeletionCheckInterval) {
		for id, err := range d.Deleted(ctx, c.deletions.Add(-s.opts.Overlap)) {
			if err != nil {
				return nil, "", s.storageErr("changes", "", err)
			}
			note(id, true)
		}
		next.deletions = now
	}
	var out []storage.Change
	for _, id := range order {
		s.mu.Lock()
		snap := s.snap
		var old *built
		if snap != nil {
			old = snap.records[id]
		}
		s.mu.Unlock()
		if !changed[id] {
			if snap == nil {
				return nil, "", storage.NewError("changes", "", storage.ErrCursorExpired,
					errors.New("records: a record changed that this process has not listed"))
			}
			b, err := s.current(ctx, "changes", "", id)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				changed[id] = true // gone between the two calls
			case err != nil:
				return nil, "", err
			default:
				out = append(out, s.dirChanges(b)...)
				out = append(out, storage.Change{Entry: b.folder})
				have := map[string]bool{}
				for _, e := range b.files {
					have[e.ID] = true
					out = append(out, storage.Change{Entry: e})
				}
				if old != nil {
					for _, e := range old.files {
						if !have[e.ID] {
							out = append(out, storage.Change{Entry: storage.Entry{ID: e.ID, Path: e.Path}, Deleted: true})
						}
					}
				}
				continue
			}
		}
		gone := storage.Entry{ID: folderID(id), IsDir: true}
		if old != nil {
			gone.Path, gone.IsDir = old.folder.Path, old.folder.IsDir
			s.mu.Lock()
			delete(snap.records, id)
			delete(snap.byPath, strings.ToLower(old.folder.Path))
			delete(snap.names, id)
			s.mu.Unlock()
		}
		out = append(out, storage.Change{Entry: gone, Deleted: true})
	}
	return out, next.String(), nil
}

// dirChanges reports the Dir folders above a changed record.
func (s *Storage) dirChanges(b *built) []storage.Change {
	var out []storage.Change
	for d := b.dirPath; d != ""; d = parentOf(d) {
		out = append([]storage.Change{{Entry: s.dirEntry(d)}}, out...)
	}
	return out
}

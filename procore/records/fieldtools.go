package records

// Helpers of the Daily Log storage and its photo importer (dailylog.go,
// dailylogdoc.go, dailylogphotos.go).

import (
	"context"
	"errors"
	"io"
	"iter"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
)

// ftNoWrites gives a storage the refused writes of a one-way tool (the
// errors of the framework's Storage: storage.ErrPermissionDenied wrapping
// ErrReadOnly).
type ftNoWrites struct{}

// Put is refused: the tool is exported one way.
func (ftNoWrites) Put(_ context.Context, parent storage.Entry, name string, _ io.Reader, _ int64, _ storage.PutOptions) (storage.Entry, error) {
	return storage.Entry{}, readOnly("put", ftJoin(parent.Path, name))
}

// MakeDir is refused.
func (ftNoWrites) MakeDir(_ context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	return storage.Entry{}, readOnly("mkdir", ftJoin(parent.Path, name))
}

// Move is refused.
func (ftNoWrites) Move(_ context.Context, e storage.Entry, _ storage.Entry, _ string) (storage.Entry, error) {
	return storage.Entry{}, readOnly("move", e.Path)
}

// Delete is refused.
func (ftNoWrites) Delete(_ context.Context, e storage.Entry) error {
	return readOnly("delete", e.Path)
}

// ftErr maps a client error onto a storage error of the right kind; a
// cancelled or expired context stays as it is.
func ftErr(op, p string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return procore.MapStorageError(op, p, err)
}

// ftSafeName makes a Procore text usable as one path element: "/", "\"
// and control characters become "-", surrounding spaces go, and an empty
// or dot-only result becomes "_". The engine maps what remains onto the
// target's own name rules.
func ftSafeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 32 || r == 127 {
			return '-'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" || strings.Trim(s, ".") == "" {
		return "_"
	}
	return s
}

// ftNamed is an item that needs a unique name in its folder.
type ftNamed struct {
	key  string // the item's identity (entry ID)
	rank int64  // lower ranks keep their name
	name string
}

// ftUnique returns each item's name, unique in its folder without regard
// to case: of items sharing a name, the lowest rank keeps it and the
// others are shown as "<stem> (id <rank>)<ext>". Names in taken stay with
// their owners (e.g. a day's PDFs) and every item meeting one is renamed.
func ftUnique(items []ftNamed, taken map[string]bool) map[string]string {
	sorted := append([]ftNamed(nil), items...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rank < sorted[j].rank })
	used := map[string]bool{}
	for n := range taken {
		used[strings.ToLower(n)] = true
	}
	out := make(map[string]string, len(items))
	for _, it := range sorted {
		n := it.name
		if used[strings.ToLower(n)] {
			ext := path.Ext(n)
			if ext == n {
				ext = ""
			}
			n = strings.TrimSuffix(n, ext) + " (id " + strconv.FormatInt(it.rank, 10) + ")" + ext
		}
		used[strings.ToLower(n)] = true
		out[it.key] = n
	}
	return out
}

// ftDownloadSize reads a file URL to its end and returns its length:
// Procore lists attachments without a size, and the engine syncs no entry
// without one. The call goes to the file host, which Procore's rate limit
// does not count.
func ftDownloadSize(ctx context.Context, c *procore.Client, url string) (int64, error) {
	rc, err := c.Download(ctx, url, 0)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// ftURL is a download URL as last listed, for the Version it was listed
// with.
type ftURL struct{ version, url string }

// ftJoin joins path elements, skipping empty ones.
func ftJoin(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "/")
}

// ftStamp formats a time for Versions.
func ftStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ftStatPath finds path p in a listing ("" is the root, given).
func ftStatPath(op, p string, root storage.Entry, list iter.Seq2[storage.Entry, error]) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return root, nil
	}
	for e, err := range list {
		if err != nil {
			return storage.Entry{}, err
		}
		if strings.EqualFold(e.Path, p) {
			return e, nil
		}
	}
	return storage.Entry{}, storage.NewError(op, p, storage.ErrNotFound, nil)
}

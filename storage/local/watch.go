package local

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
	"github.com/procoresync/procoresync/storage"
)

// Watch signals, through file-system notifications (inotify, kqueue, …),
// that something below the root may have changed. It watches every folder
// and adds new folders as they appear; changes inside the recycle bin, the
// metadata folder and temporary files are ignored. Signals are coalesced:
// the channel holds at most one pending signal. A notification overflow is
// signalled too (the caller lists the tree anyway). The channel is closed
// when ctx is done. Note that some network file systems deliver no
// notifications for changes made by other machines: keep polling too.
func (s *Storage) Watch(ctx context.Context) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, storage.NewError("watch", "", errKind(err), err)
	}
	if err := s.addWatches(w, ""); err != nil {
		w.Close()
		return nil, err
	}
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	go func() {
		defer close(ch)
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				rel, ok := s.relOf(ev.Name)
				if !ok || rel == "" || s.ignored(rel) {
					continue
				}
				if ev.Has(fsnotify.Create) {
					if fi, err := s.root.Lstat(rel); err == nil && fi.IsDir() {
						_ = s.addWatches(w, rel) // best effort; a signal follows anyway
					}
				}
				signal()
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				signal()
			}
		}
	}()
	return ch, nil
}

// relOf turns a watcher path into a path relative to the root.
func (s *Storage) relOf(name string) (string, bool) {
	r, err := filepath.Rel(s.rootPath, name)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	if r == "." {
		return "", true
	}
	return filepath.ToSlash(r), true
}

// ignored reports whether rel is, or is inside, one of the storage's own
// hidden items.
func (s *Storage) ignored(rel string) bool {
	dir := ""
	for seg := range strings.SplitSeq(rel, "/") {
		if s.isOwnHidden(dir, seg) {
			return true
		}
		dir = join(dir, seg)
	}
	return false
}

// addWatches watches folder rel and every folder below it (not following
// symbolic links).
func (s *Storage) addWatches(w *fsnotify.Watcher, rel string) error {
	if err := w.Add(filepath.Join(s.rootPath, filepath.FromSlash(rel))); err != nil {
		return storage.NewError("watch", rel, errKind(err), err)
	}
	d, err := s.root.Open(osPath(rel))
	if err != nil {
		return wrap("watch", rel, err)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return wrap("watch", rel, err)
	}
	for _, de := range ents {
		if de.Type()&fs.ModeSymlink != 0 || !de.IsDir() || s.isOwnHidden(rel, de.Name()) {
			continue
		}
		if err := s.addWatches(w, join(rel, de.Name())); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

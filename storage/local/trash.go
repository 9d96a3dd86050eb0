package local

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/procoresync/procoresync/storage"
)

// TrashItem is one deletion kept in the recycle bin.
type TrashItem struct {
	// ID names the deletion; pass it to Restore.
	ID string
	// Path is where the item was, relative to the root.
	Path string
	// ItemID is the deleted item's ID (it keeps it when restored).
	ItemID string
	// IsDir is true for a deleted folder.
	IsDir bool
	// DeletedAt is when Delete moved it to the recycle bin.
	DeletedAt time.Time
}

// trashInfo is the record kept beside each deletion, as
// <trash>/<deletion ID>.json; the item itself is <trash>/<deletion ID>/<name>.
type trashInfo struct {
	Path string `json:"path"`
	// RawPath holds Path's bytes when Path is not valid UTF-8 (JSON
	// strings cannot carry such bytes).
	RawPath   []byte    `json:"raw_path,omitempty"`
	ItemID    string    `json:"item_id"`
	IsDir     bool      `json:"is_dir"`
	DeletedAt time.Time `json:"deleted_at"`
}

var errNoTrash = errors.New("the recycle bin is off")

// toTrash moves the item at rel into a fresh folder of the recycle bin and
// records where it came from, then applies the retention (best effort: a
// failure there does not undo the deletion; PruneTrash reports it).
func (s *Storage) toTrash(ctx context.Context, rel string, fi fs.FileInfo, id string) error {
	now := s.now().UTC()
	tid := now.Format(trashIDLayout) + "-" + newID()[:8]
	rec := trashInfo{Path: rel, ItemID: id, IsDir: fi.IsDir(), DeletedAt: now}
	if !utf8.ValidString(rel) {
		rec.RawPath = []byte(rel)
	}
	info, err := json.Marshal(rec)
	if err != nil {
		return storage.NewError("delete", rel, nil, err)
	}
	t := s.cfg.trashDir
	if err := s.root.Mkdir(t, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return wrap("delete", rel, err)
	}
	if err := s.root.WriteFile(t+"/"+tid+".json", info, 0o600); err != nil {
		return wrap("delete", rel, err)
	}
	if err := s.root.Mkdir(t+"/"+tid, 0o700); err != nil {
		_ = s.root.Remove(t + "/" + tid + ".json")
		return wrap("delete", rel, err)
	}
	if err := s.root.Rename(rel, t+"/"+tid+"/"+path.Base(rel)); err != nil {
		_ = s.root.Remove(t + "/" + tid)
		_ = s.root.Remove(t + "/" + tid + ".json")
		return wrap("delete", rel, err)
	}
	_ = s.trashed(ctx, tid, now)
	return nil
}

// Trash lists the recycle bin, oldest deletion first. It fails with
// storage.ErrUnsupported when the Storage was opened WithoutTrash.
func (s *Storage) Trash(ctx context.Context) ([]TrashItem, error) {
	if s.cfg.noTrash {
		return nil, storage.NewError("trash", "", storage.ErrUnsupported, errNoTrash)
	}
	d, err := s.root.Open(s.cfg.trashDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("trash", s.cfg.trashDir, err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, wrap("trash", s.cfg.trashDir, err)
	}
	slices.Sort(names)
	var items []TrashItem
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, storage.NewError("trash", "", nil, err)
		}
		tid, ok := strings.CutSuffix(n, ".json")
		if !ok {
			continue
		}
		info, err := s.trashInfo(tid)
		if err != nil {
			continue // unreadable or half-written record: not restorable
		}
		if _, err := s.root.Lstat(s.trashItemPath(tid, info)); err != nil {
			continue
		}
		items = append(items, TrashItem{ID: tid, Path: info.Path, ItemID: info.ItemID, IsDir: info.IsDir, DeletedAt: info.DeletedAt})
	}
	return items, nil
}

func (s *Storage) trashInfo(tid string) (trashInfo, error) {
	var info trashInfo
	if tid == "" || strings.ContainsAny(tid, "/\x00") || tid == "." || tid == ".." {
		return info, storage.NewError("restore", tid, storage.ErrNotFound, errors.New("no such deletion"))
	}
	b, err := s.root.ReadFile(s.cfg.trashDir + "/" + tid + ".json")
	if err != nil {
		return info, wrap("restore", tid, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, storage.NewError("restore", tid, storage.ErrNotFound, err)
	}
	if len(info.RawPath) > 0 {
		info.Path = string(info.RawPath)
	}
	if _, err := cleanPath("restore", info.Path); err != nil || info.Path == "" {
		return info, storage.NewError("restore", tid, storage.ErrNotFound, errors.New("damaged record"))
	}
	return info, nil
}

func (s *Storage) trashItemPath(tid string, info trashInfo) string {
	return s.cfg.trashDir + "/" + tid + "/" + path.Base(info.Path)
}

// Restore puts the deletion tid (see Trash) back where it was, with its ID,
// re-creating missing parent folders. An item now at that path gives
// storage.ErrAlreadyExists; an unknown tid storage.ErrNotFound.
func (s *Storage) Restore(ctx context.Context, tid string) (storage.Entry, error) {
	if s.cfg.noTrash {
		return storage.Entry{}, storage.NewError("restore", "", storage.ErrUnsupported, errNoTrash)
	}
	if err := ctx.Err(); err != nil {
		return storage.Entry{}, storage.NewError("restore", "", nil, err)
	}
	// Hold the retention off while the item moves back.
	s.bin.mu.Lock()
	defer s.bin.mu.Unlock()
	info, err := s.trashInfo(tid)
	if err != nil {
		return storage.Entry{}, err
	}
	dst := info.Path
	if err := s.root.MkdirAll(osPath(parentOf(dst)), 0o777); err != nil {
		return storage.Entry{}, wrap("restore", dst, err)
	}
	if _, ok, err := s.lookupName(parentOf(dst), path.Base(dst)); err != nil {
		return storage.Entry{}, wrap("restore", dst, err)
	} else if ok {
		return storage.Entry{}, storage.NewError("restore", dst, storage.ErrAlreadyExists, nil)
	}
	src := s.trashItemPath(tid, info)
	sfi, err := s.root.Lstat(src)
	if err != nil {
		return storage.Entry{}, wrap("restore", dst, err)
	}
	sd, err := s.root.Open(s.cfg.trashDir + "/" + tid)
	if err != nil {
		return storage.Entry{}, wrap("restore", dst, err)
	}
	defer sd.Close()
	nd, err := s.root.Open(osPath(parentOf(dst)))
	if err != nil {
		return storage.Entry{}, wrap("restore", dst, err)
	}
	defer nd.Close()
	if err := s.renameExcl(sd, path.Base(src), src, nd, path.Base(dst), dst, sfi.IsDir()); err != nil {
		return storage.Entry{}, err
	}
	_ = nd.Sync()
	s.bin.loaded = false
	_ = s.root.Remove(s.cfg.trashDir + "/" + tid)
	_ = s.root.Remove(s.cfg.trashDir + "/" + tid + ".json")
	return s.Stat(ctx, dst)
}

// EmptyTrash removes for good the deletions made before the given time
// (all of them when before is zero).
func (s *Storage) EmptyTrash(ctx context.Context, before time.Time) error {
	if s.cfg.noTrash {
		return storage.NewError("trash", "", storage.ErrUnsupported, errNoTrash)
	}
	items, err := s.Trash(ctx)
	if err != nil {
		return err
	}
	defer s.forgetBin()
	for _, it := range items {
		if !before.IsZero() && !it.DeletedAt.Before(before) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return storage.NewError("trash", "", nil, err)
		}
		if err := s.root.RemoveAll(s.cfg.trashDir + "/" + it.ID); err != nil {
			return wrap("trash", it.Path, err)
		}
		_ = s.root.Remove(s.cfg.trashDir + "/" + it.ID + ".json")
	}
	return nil
}

// walkTrashKeys adds the inode keys of everything in the recycle bin to
// live, so that the index keeps the IDs of deleted items for Restore.
func (s *Storage) walkTrashKeys(live map[string]bool) {
	if s.cfg.noTrash {
		return
	}
	var walk func(dir string)
	walk = func(dir string) {
		d, err := s.root.Open(dir)
		if err != nil {
			return
		}
		ents, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return
		}
		for _, de := range ents {
			p := dir + "/" + de.Name()
			fi, err := s.root.Lstat(p)
			if err != nil {
				continue
			}
			live[s.identityKey(withStamp(fi, s.stampAt(p)))] = true
			if fi.IsDir() {
				walk(p)
			}
		}
	}
	walk(s.cfg.trashDir)
}

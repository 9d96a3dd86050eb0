package syncengine

import (
	"time"

	"github.com/procoresync/procoresync/storage"
)

// SideState is what the baseline remembers of one side of an item: the
// state both sides agreed on after the last successful sync.
type SideState struct {
	ID       string
	ParentID string
	// Path is the item's path on this side. The two sides' paths differ
	// where names were mapped; remembering both is what keeps round trips
	// from renaming items back and forth.
	Path    string
	Version string
	Size    int64
	ModTime time.Time
	Hashes  storage.Hashes
}

// Item is one baseline record: an item known on both sides.
type Item struct {
	// Key is the store's identifier of the record (0 before it is stored).
	Key   int64
	IsDir bool
	A, B  SideState
}

// Side returns the state of side s.
func (it *Item) Side(s Side) *SideState {
	if s == SideA {
		return &it.A
	}
	return &it.B
}

// StateOf returns the baseline state that entry e represents.
func StateOf(e storage.Entry) SideState {
	return SideState{ID: e.ID, ParentID: e.ParentID, Path: e.Path, Version: e.Version,
		Size: e.Size, ModTime: e.ModTime, Hashes: e.Hashes.Clone()}
}

// Entry returns the storage entry the state describes.
func (s SideState) Entry(isDir bool) storage.Entry {
	return storage.Entry{ID: s.ID, ParentID: s.ParentID, Path: s.Path, IsDir: isDir,
		Version: s.Version, Size: s.Size, ModTime: s.ModTime, Hashes: s.Hashes.Clone()}
}

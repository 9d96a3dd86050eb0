package box

import (
	"path"

	"github.com/procoresync/procoresync/storage"
)

// known is what the Storage remembers of an item it has seen: enough to
// report what was below a folder when Box reports only the folder's trash
// (ITEM_TRASH names the folder alone).
type known struct {
	parent, name string
	dir          bool
}

// remember records e (seen in a listing, a result or the change feed).
func (s *Storage) remember(e storage.Entry) {
	if e.ID == "" || e.ID == s.rootID || e.ParentID == "" {
		return
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.idx == nil {
		s.idx = map[string]known{}
	}
	s.idx[e.ID] = known{parent: e.ParentID, name: e.Name(), dir: e.IsDir}
}

// forgetUnder removes folder id's known descendants and returns them as
// deletions, with paths below base (the folder's path; "" when unknown).
func (s *Storage) forgetUnder(id, base string) []storage.Change {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	kids := map[string][]string{}
	for cid, k := range s.idx {
		kids[k.parent] = append(kids[k.parent], cid)
	}
	var out []storage.Change
	var walk func(pid, p string)
	walk = func(pid, p string) {
		for _, cid := range kids[pid] {
			if cid == s.rootID {
				continue // known from before the root was resolved: never reported gone from here
			}
			k := s.idx[cid]
			cp := ""
			if p != "" {
				cp = path.Join(p, k.name)
			}
			out = append(out, storage.Change{Entry: storage.Entry{ID: cid, ParentID: pid, Path: cp, IsDir: k.dir}, Deleted: true})
			delete(s.idx, cid)
			if k.dir {
				walk(cid, cp)
			}
		}
	}
	walk(id, base)
	delete(s.idx, id)
	return out
}

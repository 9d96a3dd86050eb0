package procoretest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Docs names one Documents tool: a project's (ProjectDocs) or a
// company's (CompanyDocs).
type Docs struct{ key string }

// ProjectDocs names the Documents tool of project id.
func ProjectDocs(id int64) Docs { return Docs{projectScopeKey(id)} }

// CompanyDocs names the company-level Documents tool of company id.
func CompanyDocs(id int64) Docs { return Docs{companyScopeKey(id)} }

// ErrNoSuchItem is returned by the UI helpers for a path that does not
// exist.
var ErrNoSuchItem = errors.New("procoretest: no such item")

// The UI helpers change data as a person would in Procore's web UI: they
// bump updated_at and keep versions and the recycle bin as the API does,
// but make no API calls and are not counted. Paths are slash-separated and
// relative to the tool's root folder.

// scopeLocked returns the tool. Caller holds s.mu.
func (s *Server) scopeLocked(d Docs) (*docScope, error) {
	sc := s.scopes[d.key]
	if sc == nil {
		return nil, fmt.Errorf("procoretest: unknown documents tool %q", d.key)
	}
	return sc, nil
}

// findLocked resolves a path to a live node. Caller holds s.mu.
func (s *Server) findLocked(sc *docScope, p string) (*node, error) {
	n := sc.root
	for _, seg := range splitPath(p) {
		var next *node
		for _, k := range n.kids {
			if !k.Deleted && k.Name == seg {
				next = k
				break
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoSuchItem, p)
		}
		n = next
	}
	return n, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// UIMakeFolders creates the folder at path p and any missing parents (like
// mkdir -p) and returns its ID.
func (s *Server) UIMakeFolders(d Docs, p string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return 0, err
	}
	n := sc.root
	for _, seg := range splitPath(p) {
		next := clash(n, seg, nil)
		if next != nil && !next.IsDir {
			return 0, fmt.Errorf("procoretest: %q is a file", seg)
		}
		if next == nil {
			if why := validName(seg); why != "" {
				return 0, fmt.Errorf("procoretest: name %q %s", seg, why)
			}
			next = s.addNode(sc, n, seg, true, s.UserID)
			s.emitNode(next, "create", s.UserID)
		}
		n = next
	}
	return n.ID, nil
}

// UIPutFile uploads content to path p: a new file (creating missing
// folders), or a new version of the file already there. It returns the
// file's ID.
func (s *Server) UIPutFile(d Docs, p string, content []byte) (int64, error) {
	dir, name := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	if _, err := s.UIMakeFolders(d, dir); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, _ := s.scopeLocked(d)
	parent, err := s.findLocked(sc, dir)
	if err != nil {
		return 0, err
	}
	if why := validName(name); why != "" {
		return 0, fmt.Errorf("procoretest: name %q %s", name, why)
	}
	n := clash(parent, name, nil)
	if n != nil && n.IsDir {
		return 0, fmt.Errorf("procoretest: %q is a folder", p)
	}
	event := "update"
	if n == nil {
		n = s.addNode(sc, parent, name, false, s.UserID)
		event = "create"
	}
	key := "companies/" + itoa(sc.companyID) + "/" + itoa(s.newID())
	s.blobs[key] = append([]byte(nil), content...)
	v := s.addVersion(n, key, int64(len(content)), "", s.UserID)
	s.emitNode(n, event, s.UserID)
	s.emitVersion(n, v, s.UserID)
	return n.ID, nil
}

// UIRename renames the item at path p.
func (s *Server) UIRename(d Docs, p, newName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return err
	}
	n, err := s.findLocked(sc, p)
	if err != nil {
		return err
	}
	if clash(s.nodes[n.ParentID], newName, n) != nil {
		return fmt.Errorf("procoretest: %q already exists", newName)
	}
	n.Name = newName
	n.UpdatedAt = s.now()
	s.emitNode(n, "update", s.UserID)
	return nil
}

// UIMove moves the item at path p into the folder at newParent.
func (s *Server) UIMove(d Docs, p, newParent string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return err
	}
	n, err := s.findLocked(sc, p)
	if err != nil {
		return err
	}
	np, err := s.findLocked(sc, newParent)
	if err != nil {
		return err
	}
	if !np.IsDir || clash(np, n.Name, n) != nil {
		return fmt.Errorf("procoretest: cannot move %q into %q", p, newParent)
	}
	delete(s.nodes[n.ParentID].kids, n.ID)
	np.kids[n.ID] = n
	n.ParentID = np.ID
	n.UpdatedAt = s.now()
	s.emitNode(n, "update", s.UserID)
	return nil
}

// UIDelete moves the item at path p (with everything in it) to the recycle
// bin.
func (s *Server) UIDelete(d Docs, p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return err
	}
	n, err := s.findLocked(sc, p)
	if err != nil {
		return err
	}
	if n == sc.root {
		return errors.New("procoretest: cannot delete the root folder")
	}
	s.recycle(n)
	s.emitNode(n, "delete", s.UserID)
	return nil
}

// UIFile returns the content of the current version of the file at p.
func (s *Server) UIFile(d Docs, p string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return nil, err
	}
	n, err := s.findLocked(sc, p)
	if err != nil {
		return nil, err
	}
	if n.IsDir || len(n.Versions) == 0 {
		return nil, fmt.Errorf("procoretest: %q is not a file", p)
	}
	return append([]byte(nil), s.blobs[n.Versions[len(n.Versions)-1].Key]...), nil
}

// UIVersions returns how many versions the file at p has.
func (s *Server) UIVersions(d Docs, p string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return 0, err
	}
	n, err := s.findLocked(sc, p)
	if err != nil {
		return 0, err
	}
	return len(n.Versions), nil
}

// UIPaths lists the paths of every live item of the tool, folders with a
// trailing slash, sorted (the recycle bin excluded).
func (s *Server) UIPaths(d Docs) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scopeLocked(d)
	if err != nil {
		return nil
	}
	var out []string
	var walk func(n *node, prefix string)
	walk = func(n *node, prefix string) {
		for _, k := range n.kids {
			if k.Deleted || k.IsRecycleBin {
				continue
			}
			if k.IsDir {
				out = append(out, prefix+k.Name+"/")
				walk(k, prefix+k.Name+"/")
			} else {
				out = append(out, prefix+k.Name)
			}
		}
	}
	walk(sc.root, "")
	sort.Strings(out)
	return out
}

// RootFolderID returns the ID of the tool's root folder.
func (s *Server) RootFolderID(d Docs) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.scopes[d.key]; sc != nil {
		return sc.root.ID
	}
	return 0
}

package memory

import (
	"bytes"
	"path"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// This file holds test conveniences: quick ways to set a tree up and look
// at it by path. They are not counted in Calls, ignore injected faults and
// the hook, but they are real changes: they appear in the change feed, wake
// watchers, keep versions and fill the recycle bin like the Storage
// methods do.

// Mkdirs creates the folder at path p below the root and any missing
// parents, and returns it. An existing folder is not an error; a file in
// the way gives storage.ErrNotDir. It is a test convenience.
func (s *Storage) Mkdirs(p string) (storage.Entry, error) {
	user := s.currentUser()
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, err := s.root("mkdir")
	if err != nil {
		return storage.Entry{}, err
	}
	n, err := s.mkdirs(root, p, user)
	if err != nil {
		return storage.Entry{}, err
	}
	rp, _ := relPath(n, root)
	return s.t.entry(n, rp, root), nil
}

// mkdirs walks p from root, creating missing folders. Caller holds mu.
func (s *Storage) mkdirs(root *node, p, user string) (*node, error) {
	p = strings.Trim(p, "/")
	cur, cp := root, ""
	if p == "" {
		return root, nil
	}
	for _, seg := range strings.Split(p, "/") {
		c := cur.children[s.t.cfg.rules.Key(seg)]
		if c == nil {
			var err error
			if c, err = s.t.mkdir(cur, cp, seg, user); err != nil {
				return nil, err
			}
		} else if !c.isDir() {
			return nil, errorf("mkdir", join(cp, seg), storage.ErrNotDir, "")
		}
		cur, cp = c, join(cp, c.name)
	}
	return cur, nil
}

// WriteFile writes data as the file at path p below the root, creating
// missing parent folders, as a new file or a new version of the existing
// one. The Storage keeps data: the caller must not change it afterwards.
// It is a test convenience.
func (s *Storage) WriteFile(p string, data []byte) (storage.Entry, error) {
	if data == nil {
		data = []byte{}
	}
	p = strings.Trim(p, "/")
	dir, name := path.Split(p)
	b := newBlob(data, s.t.cfg.hashes)
	user := s.currentUser()
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, err := s.root("put")
	if err != nil {
		return storage.Entry{}, err
	}
	pn, err := s.mkdirs(root, dir, user)
	if err != nil {
		return storage.Entry{}, err
	}
	pp, _ := relPath(pn, root)
	n, err := s.t.commit(pn, pp, name, b, PutOptionsMemo{}, user)
	if err != nil {
		return storage.Entry{}, err
	}
	return s.t.entry(n, join(pp, n.name), root), nil
}

// ReadFile returns a copy of the content of the file at path p. It is a
// test convenience.
func (s *Storage) ReadFile(p string) ([]byte, error) {
	s.t.mu.RLock()
	defer s.t.mu.RUnlock()
	_, n, rp, err := s.atPath("open", p)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, errorf("open", rp, storage.ErrIsDir, "")
	}
	return bytes.Clone(n.blob.data), nil
}

// Remove deletes the item at path p and everything below it, as Delete
// does. It is a test convenience.
func (s *Storage) Remove(p string) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, n, _, err := s.atPath("delete", p)
	if err != nil {
		return err
	}
	if n == root {
		return errorf("delete", "", storage.ErrPermissionDenied, "%v", errRoot)
	}
	s.t.remove(n)
	return nil
}

// Rename moves the item at path from to path to (whose parent folder must
// exist), as Move does. It is a test convenience.
func (s *Storage) Rename(from, to string) (storage.Entry, error) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	root, n, _, err := s.atPath("move", from)
	if err != nil {
		return storage.Entry{}, err
	}
	if n == root {
		return storage.Entry{}, errorf("move", "", storage.ErrUnsupported, "%v", errRoot)
	}
	to = strings.Trim(to, "/")
	dir, name := path.Split(to)
	pn, pp, err := s.t.resolve("move", root, dir)
	if err != nil {
		return storage.Entry{}, err
	}
	if !pn.isDir() {
		return storage.Entry{}, errorf("move", pp, storage.ErrNotDir, "")
	}
	if err := s.t.move(root, n, pn, pp, name); err != nil {
		return storage.Entry{}, err
	}
	p, _ := relPath(n, root)
	return s.t.entry(n, p, root), nil
}

package graphtest

import (
	"fmt"
	"strings"
	"time"
)

// Item is what the fake holds for one file or folder, for assertions.
type Item struct {
	ID, ParentID, Name, Path string
	IsDir                    bool
	Size                     int64
	QuickXorHash             string
	ETag, CTag               string
	Locked                   bool
	ModTime                  time.Time
}

func (s *Server) info(d *drive, it *item) Item {
	return Item{ID: it.id, ParentID: it.parentID, Name: it.name, Path: d.pathOf(it), IsDir: it.isDir,
		Size: it.size, QuickXorHash: it.qxh, ETag: it.eTag(), CTag: it.cTag(), Locked: it.locked, ModTime: it.fsMod}
}

func (s *Server) at(driveID, p string) (*drive, *item, error) {
	d := s.drives[driveID]
	if d == nil {
		return nil, nil, fmt.Errorf("graphtest: no drive %q", driveID)
	}
	it := d.resolve(d.items[d.rootID], strings.Trim(p, "/"))
	if it == nil {
		return d, nil, fmt.Errorf("graphtest: %q not found in drive %q", p, driveID)
	}
	return d, it, nil
}

func (s *Server) parentAt(driveID, p string) (*drive, *item, string, error) {
	p = strings.Trim(p, "/")
	dir, name := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	d, parent, err := s.at(driveID, dir)
	if err != nil {
		return nil, nil, "", err
	}
	if !parent.isDir {
		return nil, nil, "", fmt.Errorf("graphtest: %q is not a folder", dir)
	}
	return d, parent, name, nil
}

// Stat returns the item at path p (slash-separated from the drive root,
// case-insensitive) of drive driveID.
func (s *Server) Stat(driveID, p string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, it, err := s.at(driveID, p)
	if err != nil {
		return Item{}, false
	}
	return s.info(d, it), true
}

// ItemByID returns the live item of id (case-sensitive) in drive driveID.
func (s *Server) ItemByID(driveID, id string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	if d == nil || d.live(id) == nil {
		return Item{}, false
	}
	return s.info(d, d.live(id)), true
}

// FileContent returns the bytes of the file at p.
func (s *Server) FileContent(driveID, p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, it, err := s.at(driveID, p)
	if err != nil || it.isDir {
		return nil, false
	}
	return append([]byte{}, it.content...), true
}

// The helpers below change a drive as a person would in the SharePoint or
// OneDrive web UI: the changes show up in delta, move eTags and cTags and
// wake subscriptions, exactly like changes made through the API.

// WebMkdir creates the folder at path p (and missing parents).
func (s *Server) WebMkdir(driveID, p string) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	if d == nil {
		return Item{}, fmt.Errorf("graphtest: no drive %q", driveID)
	}
	cur := d.items[d.rootID]
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		next := d.child(cur.id, seg)
		if next == nil {
			next = s.createItem(d, cur, seg, true)
		} else if !next.isDir {
			return Item{}, fmt.Errorf("graphtest: %q is a file", seg)
		}
		cur = next
	}
	return s.info(d, cur), nil
}

// WebUpload writes data to the file at path p, creating it (and missing
// parent folders) or adding a new version.
func (s *Server) WebUpload(driveID, p string, data []byte) (Item, error) {
	p = strings.Trim(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		if _, err := s.WebMkdir(driveID, p[:i]); err != nil {
			return Item{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, parent, name, err := s.parentAt(driveID, p)
	if err != nil {
		return Item{}, err
	}
	it := d.child(parent.id, name)
	if it == nil {
		it = s.createItem(d, parent, name, false)
	} else if it.isDir {
		return Item{}, fmt.Errorf("graphtest: %q is a folder", p)
	}
	it.modBy = "Megan Bowen"
	s.setContent(d, it, append([]byte(nil), data...), int64(len(data)), qxhOf(data))
	return s.info(d, it), nil
}

// WebRename renames the item at p to newName.
func (s *Server) WebRename(driveID, p, newName string) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, it, err := s.at(driveID, p)
	if err != nil {
		return Item{}, err
	}
	if ex := d.child(it.parentID, newName); ex != nil && ex != it {
		return Item{}, fmt.Errorf("graphtest: %q exists", newName)
	}
	it.name = newName
	s.touch(d, it, true, false)
	return s.info(d, it), nil
}

// WebMove moves the item at p into the folder at newParent.
func (s *Server) WebMove(driveID, p, newParent string) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, it, err := s.at(driveID, p)
	if err != nil {
		return Item{}, err
	}
	_, np, err := s.at(driveID, newParent)
	if err != nil {
		return Item{}, err
	}
	if !np.isDir || d.isAncestor(it, np) || d.child(np.id, it.name) != nil {
		return Item{}, fmt.Errorf("graphtest: cannot move %q into %q", p, newParent)
	}
	s.touch(d, d.items[it.parentID], false, false)
	d.setParent(it, np.id)
	s.touch(d, it, true, false)
	return s.info(d, it), nil
}

// WebDelete moves the item at p (with everything in it) to the recycle
// bin.
func (s *Server) WebDelete(driveID, p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, it, err := s.at(driveID, p)
	if err != nil {
		return err
	}
	s.deleteItem(d, it)
	return nil
}

// SetLocked checks the file at p out (locked) or in: while locked, writes
// to it answer 423 Locked.
func (s *Server) SetLocked(driveID, p string, locked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, it, err := s.at(driveID, p)
	if err != nil {
		return err
	}
	it.locked = locked
	return nil
}

// RewriteOfficeUploads makes SharePoint's rewriting of Office documents
// (.docx, .xlsx, .pptx and their macro variants) happen: after every
// upload their bytes, size, hash and eTag change.
func (s *Server) RewriteOfficeUploads(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewrite = on
}

// Seed bulk-creates n files of a few bytes each in drive driveID, spread
// over folders of perFolder files, without API calls (for benchmarks).
func (s *Server) Seed(driveID, dir string, n, perFolder int) error {
	if perFolder <= 0 {
		perFolder = 500
	}
	root, err := s.WebMkdir(driveID, dir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	base := d.live(root.ID)
	var folder *item
	for i := range n {
		if i%perFolder == 0 {
			folder = s.createItem(d, base, fmt.Sprintf("folder %04d", i/perFolder), true)
		}
		it := s.createItem(d, folder, fmt.Sprintf("file %06d.txt", i), false)
		data := []byte(fmt.Sprintf("content of file %d\n", i))
		it.content, it.size, it.qxh = data, int64(len(data)), qxhOf(data)
		d.used += it.size
	}
	return nil
}

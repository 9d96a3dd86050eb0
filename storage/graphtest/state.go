package graphtest

import (
	"crypto/sha1"
	"encoding/base32"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
)

type drive struct {
	id, name, driveType string
	siteID, ownerUser   string
	items               map[string]*item
	rootID              string
	seq                 int64 // change sequence
	minSeq              int64 // delta tokens from before this are expired (410)
	ordinal             int64
	used                int64
	kids                map[string]map[string]*item // parent id -> child id -> item
}

// link records it under its parent in the children index.
func (d *drive) link(it *item) {
	m := d.kids[it.parentID]
	if m == nil {
		m = map[string]*item{}
		d.kids[it.parentID] = m
	}
	m[it.id] = it
}

// setParent moves it under parentID in the children index.
func (d *drive) setParent(it *item, parentID string) {
	delete(d.kids[it.parentID], it.id)
	it.parentID = parentID
	d.link(it)
}

type item struct {
	id, name, parentID string
	isDir              bool
	content            []byte
	size               int64
	qxh                string
	ver, cver          int
	ordinal, changeSeq int64
	created, modified  time.Time
	fsCreated, fsMod   time.Time
	deleted, locked    bool
	versions           int // SharePoint versions of a file
	createdBy, modBy   string
	guid               string
}

type site struct {
	id, host, path, name, displayName string
	drives                            []string
}

func (s *Server) newID() string {
	s.counter++
	// Business-style item ids: 01 + 32 upper-case base32 characters.
	sum := sha1.Sum([]byte(fmt.Sprint("item", s.counter)))
	return "01" + base32.StdEncoding.EncodeToString(sum[:])[:32]
}

func (s *Server) newGUID() string {
	s.counter++
	return fmt.Sprintf("%08X-%04X-%04X-%04X-%012X", s.counter*7919, s.counter%65536, 0x4000|s.counter%4096, 0x8000|s.counter%16384, s.counter*104729)
}

// newDrive creates a drive with its root folder.
func (s *Server) newDrive(name, driveType string) *drive {
	s.counter++
	d := &drive{name: name, driveType: driveType, items: map[string]*item{}, kids: map[string]map[string]*item{}}
	d.id = "b!" + randomToken(12) + "_" + fmt.Sprint(s.counter)
	now := s.now()
	root := &item{id: s.newID(), name: "root", isDir: true, ver: 1, cver: 1, created: now, modified: now, fsCreated: now, fsMod: now, guid: s.newGUID()}
	d.ordinal++
	root.ordinal = d.ordinal
	d.seq++
	root.changeSeq = d.seq
	d.items[root.id] = root
	d.rootID = root.id
	s.drives[d.id] = d
	s.driveList = append(s.driveList, d.id)
	return d
}

// AddUser adds a user with a OneDrive and returns the drive's ID. upn is
// the user's principal name; both address the user in /users/{id}/drive.
func (s *Server) AddUser(id, upn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.newDrive("OneDrive", "business")
	d.ownerUser = id
	s.users[strings.ToLower(id)] = id
	if upn != "" {
		s.users[strings.ToLower(upn)] = id
	}
	s.userDrive[id] = d.id
	return d.id
}

// MyDriveID returns the drive ID of the signed-in user (/me/drive).
func (s *Server) MyDriveID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userDrive[s.me]
}

// AddSite adds a SharePoint site at host and server-relative path (""
// for the tenant root site) with a default "Documents" library, and
// returns the site's composite ID.
func (s *Server) AddSite(host, relPath, displayName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	relPath = strings.Trim(relPath, "/")
	st := &site{host: host, path: relPath, displayName: displayName}
	st.id = strings.ToLower(host) + "," + strings.ToLower(s.newGUID()) + "," + strings.ToLower(s.newGUID())
	st.name = path.Base("/" + relPath)
	if relPath == "" {
		st.name = ""
	}
	s.sites[st.id] = st
	s.siteList = append(s.siteList, st.id)
	d := s.newDrive("Documents", "documentLibrary")
	d.siteID = st.id
	st.drives = append(st.drives, d.id)
	return st.id
}

// AddLibrary adds a document library named name to site siteID and returns
// the new drive's ID.
func (s *Server) AddLibrary(siteID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.sites[siteID]
	if st == nil {
		panic("graphtest: no site " + siteID)
	}
	d := s.newDrive(name, "documentLibrary")
	d.siteID = st.id
	st.drives = append(st.drives, d.id)
	return d.id
}

// SiteDrives returns the drive IDs of a site's libraries, default first.
func (s *Server) SiteDrives(siteID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.sites[siteID]; st != nil {
		return append([]string(nil), st.drives...)
	}
	return nil
}

func (s *Server) siteByPath(host, rel string) *site {
	rel = strings.Trim(rel, "/")
	for _, id := range s.siteList {
		st := s.sites[id]
		if strings.EqualFold(st.host, host) && strings.EqualFold(st.path, rel) {
			return st
		}
	}
	return nil
}

// key is the case-insensitive comparison form of a name.
func key(name string) string { return strings.ToLower(name) }

func (d *drive) child(parentID, name string) *item {
	k := key(name)
	for _, it := range d.kids[parentID] {
		if !it.deleted && key(it.name) == k && it.id != d.rootID {
			return it
		}
	}
	return nil
}

func (d *drive) children(parentID string) []*item {
	var out []*item
	for _, it := range d.kids[parentID] {
		if !it.deleted && it.id != d.rootID {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := key(out[i].name), key(out[j].name); a != b {
			return a < b
		}
		return out[i].id < out[j].id
	})
	return out
}

// live returns the item of id unless it is missing or deleted. IDs are
// case-sensitive.
func (d *drive) live(id string) *item {
	it := d.items[id]
	if it == nil || it.deleted {
		return nil
	}
	return it
}

// resolve walks a slash-separated path (segments already unescaped) below
// item base, comparing names without regard to case.
func (d *drive) resolve(base *item, p string) *item {
	cur := base
	for _, seg := range strings.Split(p, "/") {
		if seg == "" {
			continue
		}
		if !cur.isDir {
			return nil
		}
		cur = d.child(cur.id, seg)
		if cur == nil {
			return nil
		}
	}
	return cur
}

// pathOf returns the item's path from the drive root ("" for the root).
func (d *drive) pathOf(it *item) string {
	var segs []string
	for cur := it; cur != nil && cur.id != d.rootID; cur = d.items[cur.parentID] {
		segs = append(segs, cur.name)
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/")
}

func (d *drive) isAncestor(anc, it *item) bool {
	for cur := it; cur != nil; cur = d.items[cur.parentID] {
		if cur.id == anc.id {
			return true
		}
		if cur.id == d.rootID {
			break
		}
	}
	return false
}

// touch records a change of it: its eTag changes when meta, its cTag when
// content; every ancestor's cTag changes and every ancestor shows up in
// delta again. Subscribers are notified.
func (s *Server) touch(d *drive, it *item, meta, content bool) {
	d.seq++
	it.changeSeq = d.seq
	if meta {
		it.ver++
	}
	if content {
		it.cver++
	}
	now := s.now()
	it.modified = now
	for cur := d.items[it.parentID]; cur != nil; cur = d.items[cur.parentID] {
		cur.cver++
		cur.changeSeq = d.seq
		if cur.id == d.rootID {
			break
		}
	}
	s.signal()
}

func (s *Server) createItem(d *drive, parent *item, name string, isDir bool) *item {
	now := s.now()
	it := &item{id: s.newID(), name: name, parentID: parent.id, isDir: isDir, created: now, modified: now,
		fsCreated: now, fsMod: now, guid: s.newGUID(), createdBy: "Adele Vance", modBy: "Adele Vance"}
	d.ordinal++
	it.ordinal = d.ordinal
	d.items[it.id] = it
	d.link(it)
	if !isDir {
		it.qxh = quickxorhash.Base64(nil)
	}
	s.touch(d, it, true, true)
	return it
}

func (s *Server) setContent(d *drive, it *item, data []byte, size int64, qxh string) {
	d.used += size - it.size
	if s.opt.DiscardContent {
		it.content = nil
	} else {
		it.content = data
	}
	it.size = size
	it.qxh = qxh
	it.versions++
	now := s.now()
	it.fsMod = now
	s.touch(d, it, true, true)
	if s.rewrite && isOffice(it.name) && !s.opt.DiscardContent {
		s.rewriteOffice(d, it)
	}
}

// rewriteOffice mimics SharePoint adding its metadata to an uploaded
// Office document: the bytes, size and hash change after the upload.
func (s *Server) rewriteOffice(d *drive, it *item) {
	extra := []byte(fmt.Sprintf("<!-- sharepoint-metadata item=%s v=%d -->", it.id, it.ver))
	data := append(append([]byte(nil), it.content...), extra...)
	d.used += int64(len(extra))
	it.content = data
	it.size = int64(len(data))
	it.qxh = quickxorhash.Base64(data)
	s.touch(d, it, true, true)
}

func isOffice(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm":
		return true
	}
	return false
}

func (s *Server) deleteItem(d *drive, it *item) {
	// Every descendant goes too; they show up in delta as deleted.
	var walk func(x *item)
	walk = func(x *item) {
		for _, c := range d.children(x.id) {
			walk(c)
		}
		x.deleted = true
		delete(d.kids[x.parentID], x.id)
		d.used -= x.size
		s.touch(d, x, true, true)
	}
	walk(it)
}

// checkName refuses names OneDrive and SharePoint refuse.
func checkName(name string) *apiError {
	bad := name == "" || strings.ContainsAny(name, "\"*:<>?/\\|\x00\n\r\t") ||
		strings.HasPrefix(name, " ") || strings.HasSuffix(name, " ") || strings.HasSuffix(name, ".") ||
		strings.HasPrefix(name, "~$") || strings.Contains(strings.ToLower(name), "_vti_")
	l := strings.ToLower(name)
	stem, _, _ := strings.Cut(l, ".")
	switch l {
	case ".lock", "desktop.ini":
		bad = true
	}
	switch stem {
	case "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
		"lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9":
		bad = true
	}
	if bad {
		return errf(http.StatusBadRequest, "invalidRequest", "The provided name %q is not valid.", name)
	}
	return nil
}

func (s *Server) checkPathLen(d *drive, parent *item, name string) *apiError {
	p := d.pathOf(parent)
	full := "/" + name
	if p != "" {
		full = "/" + p + "/" + name
	}
	if len([]rune(full)) > s.opt.MaxPathLength {
		return errf(http.StatusBadRequest, "invalidRequest", "The path is too long.").withInner("pathIsTooLong")
	}
	return nil
}

func (s *Server) checkLocked(it *item) *apiError {
	if it.locked {
		return errf(http.StatusLocked, "notAllowed", "The file is currently checked out or locked for editing by another user.").withInner("resourceLocked")
	}
	return nil
}

func (s *Server) checkQuota(d *drive, grow int64) *apiError {
	if d.used+grow > s.opt.QuotaBytes {
		return errf(http.StatusInsufficientStorage, "quotaLimitReached", "Insufficient Space Available")
	}
	return nil
}

func (it *item) eTag() string { return fmt.Sprintf("\"{%s},%d\"", it.guid, it.ver) }
func (it *item) cTag() string { return fmt.Sprintf("\"c:{%s},%d\"", it.guid, it.cver) }
func (it *item) matches(tag string) bool {
	return tag == "*" || tag == it.eTag() || tag == it.cTag()
}

// Versions returns how many versions the file with ID id of drive driveID
// has, as SharePoint counts them: every content write adds one, and so
// does every PATCH of the file's fileSystemInfo (setting the modification
// time after a simple upload makes a second version). ok is false for a
// missing item.
func (s *Server) Versions(driveID, id string) (n int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drives[driveID]
	if d == nil {
		return 0, false
	}
	it := d.live(id)
	if it == nil {
		return 0, false
	}
	return it.versions, true
}

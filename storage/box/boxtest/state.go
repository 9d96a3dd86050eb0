package boxtest

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// item is a file or folder of the fake.
type item struct {
	id, name, parent  string
	folder            bool
	seq               int // sequence_id and etag
	data              []byte
	size              int64
	sha1              string
	versionID         string
	created, modified time.Time
	contentCreated    time.Time
	contentModified   time.Time
	trashedAt         time.Time
	trashed           bool // trashed itself or with a trashed ancestor
	by                string
	notReady          int // downloads still answered 202
}

// event is one entry of the events stream.
type event struct {
	id, typ string
	at      time.Time
	by      string
	source  map[string]any
}

// session is a chunked upload session.
type session struct {
	id, folderID, fileID, name string
	size, partSize             int64
	expires                    time.Time
	parts                      map[int64]part // by offset
	pending                    int
}

type part struct {
	id   string
	off  int64
	size int64
	sha1 string
	data []byte
}

type dlink struct {
	id      string
	data    []byte
	expires time.Time
}

// webhook is a webhook v2 registration.
type webhook struct {
	id, user, target, targetType, address string
	triggers                              []string
	created                               time.Time
}

// apiError is an error response of Box's shape.
type apiError struct {
	status    int
	code, msg string
	conflicts []*item
	header    map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

var errNotFound = errors.New("not found")

// live returns the active item id, or nil.
func (s *Server) live(id string) *item {
	it := s.items[id]
	if it == nil || it.trashed {
		return nil
	}
	return it
}

// childNamed returns the live child of parent whose name equals name
// case-insensitively.
func (s *Server) childNamed(parent, name string) *item {
	k := nameRules.Key(name)
	for _, it := range s.items {
		if it.parent == parent && !it.trashed && it.id != "0" && nameRules.Key(it.name) == k {
			return it
		}
	}
	return nil
}

// children returns the live children of parent, sorted as Box lists
// them (folders first, then by name). The lists are built once per
// change of the tree (s.gen).
func (s *Server) children(parent string) []*item {
	if s.kids == nil || s.kidsGen != s.gen {
		s.kids, s.kidsGen = map[string][]*item{}, s.gen
		for _, it := range s.items {
			if !it.trashed && it.id != "0" {
				s.kids[it.parent] = append(s.kids[it.parent], it)
			}
		}
		for _, l := range s.kids {
			sortItems(l)
		}
	}
	return s.kids[parent]
}

func sortItems(out []*item) {
	slices.SortFunc(out, func(a, b *item) int {
		if a.folder != b.folder {
			if a.folder {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
}

// checkName applies Box's name rules: at most 255 characters, no "/" or
// "\", no non-printable ASCII, no leading or trailing spaces, not "." or
// "..".
func checkName(name string) *apiError {
	switch {
	case name == "":
		return errf(400, "bad_request", "name is required")
	case utf8.RuneCountInString(name) > 255:
		return errf(400, "item_name_too_long", "Item name too long")
	case name == "." || name == ".." || strings.ContainsAny(name, `/\`) || !utf8.ValidString(name):
		return errf(400, "item_name_invalid", "Item name invalid")
	// Leading spaces: Box's common-errors page lists them as invalid
	// (unconfirmed against a live tenant, POST /folders).
	case strings.HasPrefix(name, " ") || strings.HasSuffix(name, " "):
		return errf(400, "item_name_invalid", "Item name invalid")
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f {
			return errf(400, "item_name_invalid", "Item name invalid")
		}
	}
	return nil
}

func (s *Server) conflict(existing *item) *apiError {
	return &apiError{status: 409, code: "item_name_in_use", msg: "Item with the same name already exists", conflicts: []*item{existing}}
}

// touch bumps an item's sequence_id (and so its etag).
func (it *item) touch() { it.seq++ }

func (it *item) etag() string { return strconv.Itoa(it.seq) }

// inside reports whether id is anc or below it.
func (s *Server) inside(id, anc string) bool {
	for id != "" {
		if id == anc {
			return true
		}
		it := s.items[id]
		if it == nil || id == "0" {
			return false
		}
		id = it.parent
	}
	return false
}

// pathOf returns the ancestors of it from the root "0" down to its parent.
func (s *Server) ancestors(it *item) []*item {
	var out []*item
	for p := it.parent; p != ""; {
		pi := s.items[p]
		if pi == nil {
			break
		}
		out = append(out, pi)
		if p == "0" {
			break
		}
		p = pi.parent
	}
	slices.Reverse(out)
	return out
}

// setContent stores data as it's content (a new version).
func (s *Server) setContent(it *item, data []byte, sum string, size int64) {
	if !s.opt.DiscardContent {
		it.data = data
	}
	it.size, it.sha1 = size, sum
	it.versionID = s.newID()
	it.modified = s.now()
	if s.opt.DownloadNotReady > 0 {
		it.notReady = s.opt.DownloadNotReady
	}
}

func sha1hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

// emit appends an event about it and wakes long polls and webhooks.
func (s *Server) emit(typ string, it *item, by string) {
	s.gen++
	ev := event{id: randomHex(20), typ: typ, at: s.now(), by: by, source: s.render(it, nil)}
	s.events = append(s.events, ev)
	close(s.changed)
	s.changed = make(chan struct{})
	s.deliverHooks(typ, it, by)
}

// trash moves it (and so everything below it) to the trash.
func (s *Server) trash(it *item) {
	now := s.now()
	it.trashed, it.trashedAt = true, now
	it.touch()
	for _, c := range s.items {
		if c.id != it.id && !c.trashed && s.inside(c.id, it.id) {
			c.trashed, c.trashedAt = true, now
		}
	}
}

// --- a person's edits in the web app -----------------------------------------

// resolve returns the live item at slash path p below folder root.
func (s *Server) resolve(root, p string) (*item, error) {
	it := s.live(root)
	if it == nil {
		return nil, errNotFound
	}
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		if el == "" {
			continue
		}
		it = s.childNamed(it.id, el)
		if it == nil {
			return nil, errNotFound
		}
	}
	return it, nil
}

// WebMkdir creates the folders of slash path p below the account root, as
// a person does in the web app, and returns the last folder's ID.
func (s *Server) WebMkdir(p string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.items["0"]
	for _, el := range strings.Split(strings.Trim(p, "/"), "/") {
		if el == "" {
			continue
		}
		if c := s.childNamed(cur.id, el); c != nil {
			if !c.folder {
				return "", fmt.Errorf("boxtest: %q is a file", el)
			}
			cur = c
			continue
		}
		if e := checkName(el); e != nil {
			return "", e
		}
		now := s.now()
		c := &item{id: s.newID(), name: el, parent: cur.id, folder: true, created: now, modified: now, by: PersonID}
		s.items[c.id] = c
		s.emit("ITEM_CREATE", c, PersonID)
		cur = c
	}
	return cur.id, nil
}

// WebUpload writes data as file p (below the account root), a new file or
// a new version, as a person does, and returns the file's ID.
func (s *Server) WebUpload(p string, data []byte) (string, error) {
	dir, name := path.Split(strings.Trim(p, "/"))
	pid, err := s.WebMkdir(dir)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	it := s.childNamed(pid, name)
	if it != nil && it.folder {
		return "", fmt.Errorf("boxtest: %q is a folder", p)
	}
	if it == nil {
		if e := checkName(name); e != nil {
			return "", e
		}
		it = &item{id: s.newID(), name: name, parent: pid, created: now, contentCreated: now, by: PersonID}
		s.items[it.id] = it
	}
	s.setContent(it, data, sha1hex(data), int64(len(data)))
	it.contentModified = now
	it.by = PersonID
	it.touch()
	s.emit("ITEM_UPLOAD", it, PersonID)
	return it.id, nil
}

// WebMove moves or renames item id into folder parentID as name, as a
// person does ("" keeps the parent or the name).
func (s *Server) WebMove(id, parentID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, e := s.move(id, parentID, name, "", PersonID)
	if e != nil {
		return e
	}
	return nil
}

// WebTrash moves item id to the trash, as a person does.
func (s *Server) WebTrash(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.live(id)
	if it == nil || id == "0" {
		return errNotFound
	}
	s.trash(it)
	s.emit("ITEM_TRASH", it, PersonID)
	return nil
}

// Content returns the content of file id.
func (s *Server) Content(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.live(id)
	if it == nil || it.folder {
		return nil, false
	}
	return slices.Clone(it.data), true
}

// Trashed reports whether item id is in the trash.
func (s *Server) Trashed(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	return it != nil && it.trashed
}

// Lookup returns the ID of the live item at slash path p below the
// account root.
func (s *Server) Lookup(p string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.resolve("0", p)
	if err != nil {
		return "", false
	}
	return it.id, true
}

// Seed creates a tree below the account root under folder p: depth
// levels of fan folders, each with fan files (for benchmarks).
func (s *Server) Seed(p string, fan, depth int) error {
	pid, err := s.WebMkdir(p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var grow func(parent string, d int)
	grow = func(parent string, d int) {
		now := s.now()
		for i := range fan {
			f := &item{id: s.newID(), name: fmt.Sprintf("f%03d.txt", i), parent: parent, created: now, by: PersonID, contentCreated: now, contentModified: now}
			s.setContent(f, []byte(f.name), sha1hex([]byte(f.name)), int64(len(f.name)))
			f.notReady = 0
			f.touch()
			s.items[f.id] = f
		}
		if d <= 1 {
			return
		}
		for i := range fan {
			c := &item{id: s.newID(), name: fmt.Sprintf("d%03d", i), parent: parent, folder: true, created: now, modified: now, by: PersonID}
			s.items[c.id] = c
			grow(c.id, d-1)
		}
	}
	grow(pid, depth)
	s.gen++
	return nil
}

// ExpireEvents drops every event so far and makes every stream position
// issued so far too old to be honoured, as when events pass Box's
// retention.
func (s *Server) ExpireEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eventBase += int64(len(s.events)) + 1_000_000
	s.expiredBelw = s.eventBase
	s.events = nil
}

// move renames and/or moves id; ifMatch, when set, must be its etag.
func (s *Server) move(id, parentID, name, ifMatch, by string) (*item, *apiError) {
	it := s.live(id)
	if it == nil || id == "0" {
		return nil, errf(404, "not_found", "Not Found")
	}
	if ifMatch != "" && ifMatch != it.etag() {
		return nil, errf(412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry")
	}
	if parentID == "" {
		parentID = it.parent
	}
	if name == "" {
		name = it.name
	}
	np := s.live(parentID)
	if np == nil || !np.folder {
		return nil, errf(404, "not_found", "Not Found")
	}
	if e := checkName(name); e != nil {
		return nil, e
	}
	if it.folder && s.inside(parentID, it.id) {
		return nil, errf(400, "bad_request", "Cannot move a folder into itself or a descendant")
	}
	if c := s.childNamed(parentID, name); c != nil && c.id != it.id {
		return nil, s.conflict(c)
	}
	typ := "ITEM_RENAME"
	if parentID != it.parent {
		typ = "ITEM_MOVE"
	}
	it.parent, it.name = parentID, name
	it.modified = s.now()
	it.touch()
	s.emit(typ, it, by)
	return it, nil
}

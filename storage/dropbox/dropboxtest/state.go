package dropboxtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// item is a file or folder of a namespace tree.
type item struct {
	id        string
	display   string // path_display
	dir       bool
	rev       string
	data      []byte
	size      int64
	hash      string
	clientMod time.Time
	serverMod time.Time
	revs      []oldRev // older revisions of the file, newest last
}

// revision is the content of one revision of a file.
type revision struct {
	id, hash string
	data     []byte
	size     int64
}

// oldRev is an earlier revision of a file.
type oldRev struct {
	rev, hash            string
	size                 int64
	clientMod, serverMod time.Time
}

func (it *item) name() string { return path.Base(it.display) }

// change is one entry of a tree's change log.
type change struct {
	seq     int
	lower   string
	deleted bool
	meta    map[string]any // the item's metadata then (nil when deleted)
}

// tree is the content of one namespace root (a home namespace, a team's
// root namespace).
type tree struct {
	items   map[string]*item // path_lower -> item ("" is not stored)
	byID    map[string]*item
	revData map[string]revision // every revision of every file, for restore
	deleted map[string]*item    // path_lower -> the file last deleted there
	log     []change
	seq     int
	changed chan struct{} // closed and replaced on every change
}

func newTree() *tree {
	return &tree{items: map[string]*item{}, byID: map[string]*item{}, revData: map[string]revision{}, deleted: map[string]*item{}, changed: make(chan struct{})}
}

// record logs a change of it (or of a deletion at lower) and wakes
// long-polls.
func (t *tree) record(lower string, it *item, s *Server) {
	t.seq++
	c := change{seq: t.seq, lower: lower, deleted: it == nil}
	if it != nil {
		c.meta = s.metadata(it, "", true)
	}
	t.log = append(t.log, c)
	close(t.changed)
	t.changed = make(chan struct{})
	s.webhookLocked()
}

// children returns the items below lower (all depths), sorted so that
// folders come before their contents.
func (t *tree) below(lower string) []*item {
	var out []*item
	prefix := lower + "/"
	for k, it := range t.items {
		if lower == "" || strings.HasPrefix(k, prefix) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].display) < strings.ToLower(out[j].display) })
	return out
}

// hashOf is the content_hash of data.
func hashOf(data []byte) string {
	h := sha256.New()
	overall := sha256.New()
	for len(data) > 0 {
		n := min(len(data), 4<<20)
		h.Reset()
		h.Write(data[:n])
		overall.Write(h.Sum(nil))
		data = data[n:]
	}
	return hex.EncodeToString(overall.Sum(nil))
}

// disallowed are names Dropbox refuses (disallowed_name).
var disallowed = map[string]bool{"desktop.ini": true, "thumbs.db": true, ".ds_store": true, "icon\r": true, ".dropbox": true, ".dropbox.attr": true}

// checkPath validates a slash path (not the root) and returns its lower
// form, or the LookupError/WriteError tag ("malformed_path" or
// "disallowed_name").
func checkPath(p string) (string, string) {
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || !utf8.ValidString(p) {
		return "", "malformed_path"
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." || utf8.RuneCountInString(seg) > 255 || strings.HasSuffix(seg, " ") {
			return "", "malformed_path"
		}
		for _, r := range seg {
			if r == 0 || r == 0x7f || r == '\\' {
				return "", "malformed_path"
			}
		}
		if disallowed[strings.ToLower(seg)] {
			return "", "disallowed_name"
		}
	}
	return strings.ToLower(p), ""
}

// newRev returns a fresh rev (hex, at least 9 digits).
func (s *Server) newRev() string {
	s.counter++
	return fmt.Sprintf("%09x%s", s.counter, randHex(4))
}

// newID returns a fresh id:.
func (s *Server) newID() string {
	s.counter++
	return "id:" + randHex(11)
}

package local

import (
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"sync"
)

// attrsFile is the file in MetaDir that keeps, from one process to the
// next, the ID attributes a listing read: a line "<identity key>\t<ID>"
// per item ("" where the item has none). The Storage writes an item's
// attribute only before the item takes its name, so an identity (inode
// number and birth time) keeps the attribute it was first read with; a
// new Storage on the same root then lists without reading the attributes
// of the items it already knows (one system call per item fewer).
const attrsFile = "attrs"

// attrCache is the state of attrsFile.
type attrCache struct {
	once  sync.Once
	dirty bool // an attribute was read since the file was loaded or saved
	saved int  // entries in the file as loaded or last saved
}

// loadAttrs reads attrsFile into the remembered attributes, once. A
// missing or damaged file costs only the reads it would have saved.
func (s *Storage) loadAttrs() {
	s.attrCache.once.Do(func() {
		b, err := s.root.ReadFile(MetaDir + "/" + attrsFile)
		if err != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.attrs == nil {
			s.attrs = make(map[string]string, bytes.Count(b, []byte{'\n'}))
		}
		n := 0
		for line := range strings.SplitSeq(string(b), "\n") {
			key, id, ok := strings.Cut(line, "\t")
			if !ok || key == "" || len(s.attrs) >= maxAttrs {
				continue
			}
			if _, known := s.attrs[key]; !known {
				s.attrs[key] = id
			}
			n++
		}
		s.attrCache.saved = n
	})
}

// saveAttrs writes the remembered attributes of the identities in live
// (those a complete listing found) to attrsFile, when they differ from
// what it holds: an attribute was read since, or an item is gone.
func (s *Storage) saveAttrs(live map[string]bool) error {
	s.mu.Lock()
	var buf strings.Builder
	n := 0
	for key := range live {
		id, ok := s.attrs[key]
		if !ok {
			continue
		}
		buf.WriteString(key)
		buf.WriteByte('\t')
		buf.WriteString(id)
		buf.WriteByte('\n')
		n++
	}
	if !s.attrCache.dirty && n == s.attrCache.saved {
		s.mu.Unlock()
		return nil
	}
	s.attrCache.dirty = false
	s.mu.Unlock()
	if err := s.writeMeta(attrsFile, []byte(buf.String())); err != nil && !errors.Is(err, fs.ErrPermission) {
		s.mu.Lock()
		s.attrCache.dirty = true
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.attrCache.saved = n
	s.mu.Unlock()
	return nil
}

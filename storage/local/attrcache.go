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
	saved int    // entries in the file as loaded or last saved
	epoch uint32 // the latest complete listing's number (attrEntry.seen)
}

// attrEntry is the ID attribute of an item ("" for none), the number of
// the latest listing that found the item, and whether attrsFile holds it.
type attrEntry struct {
	id    string
	seen  uint32
	saved bool
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
			s.attrs = make(map[string]*attrEntry, bytes.Count(b, []byte{'\n'}))
		}
		n := 0
		for line := range strings.SplitSeq(string(b), "\n") {
			key, id, ok := strings.Cut(line, "\t")
			if !ok || key == "" || len(s.attrs) >= maxAttrs {
				continue
			}
			if _, known := s.attrs[key]; !known {
				s.attrs[key] = &attrEntry{id: id, saved: true}
			}
			n++
		}
		s.attrCache.saved = n
	})
}

// beginListing numbers a new listing: the items it finds are marked with
// the number returned (attrEntry.seen), for saveAttrs.
func (s *Storage) beginListing() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attrCache.epoch++
	return s.attrCache.epoch
}

// saveAttrs writes the remembered attributes of the items that complete
// listing epoch found to attrsFile, when that differs from what the file
// holds: the listing found an item the file does not hold, or not every
// item it holds.
func (s *Storage) saveAttrs(epoch uint32) error {
	s.mu.Lock()
	n, fresh := 0, 0
	for _, a := range s.attrs {
		if a.seen == epoch {
			n++
			if !a.saved {
				fresh++
			}
		}
	}
	if (fresh == 0 && n == s.attrCache.saved) || s.attrCache.epoch != epoch {
		// Unchanged, or another listing began since (it saves).
		s.mu.Unlock()
		return nil
	}
	var buf strings.Builder
	for key, a := range s.attrs {
		if a.seen != epoch {
			continue
		}
		buf.WriteString(key)
		buf.WriteByte('\t')
		buf.WriteString(a.id)
		buf.WriteByte('\n')
	}
	s.mu.Unlock()
	if err := s.writeMeta(attrsFile, []byte(buf.String())); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil // a root this process may not write to: nothing kept
		}
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.attrs {
		a.saved = a.seen == epoch // the file holds exactly these now
	}
	s.attrCache.saved = n
	return nil
}

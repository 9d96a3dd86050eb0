package syncengine

import (
	"fmt"
	"path"
	"strings"

	"github.com/procoresync/procoresync/storage"
)

// Validate checks the filter's patterns and sizes and reports the first
// problem, so that a bad pattern is refused when a pair is configured
// rather than silently matching nothing.
func (f Filter) Validate() error {
	for _, list := range [][]string{f.Include, f.Exclude} {
		for _, p := range list {
			if p == "" {
				return fmt.Errorf("syncengine: empty filter pattern")
			}
			if _, err := path.Match(strings.TrimSuffix(p, "/**"), ""); err != nil {
				return fmt.Errorf("syncengine: bad filter pattern %q: %w", p, err)
			}
		}
	}
	if f.MinSize < 0 || f.MaxSize < 0 {
		return fmt.Errorf("syncengine: negative filter size")
	}
	if f.MaxSize > 0 && f.MinSize > f.MaxSize {
		return fmt.Errorf("syncengine: filter MinSize %d above MaxSize %d", f.MinSize, f.MaxSize)
	}
	return nil
}

// IsZero reports whether the filter selects everything.
func (f Filter) IsZero() bool {
	return len(f.Include) == 0 && len(f.Exclude) == 0 && f.MinSize == 0 && f.MaxSize == 0
}

// Allows reports whether the filter selects entry e (path relative to the
// pair root). Folders are never excluded by size; with Include patterns, a
// folder is selected when it matches or when a pattern could match
// something below it, so the folders leading to included items are synced.
// A malformed pattern matches nothing.
func (f Filter) Allows(e storage.Entry) bool {
	if e.Path == "" {
		return true
	}
	if !e.IsDir {
		// A size of -1 (unknown, storage.Entry.Size) passes: the size
		// cannot decide.
		if e.Size >= 0 && (e.Size < f.MinSize || (f.MaxSize > 0 && e.Size > f.MaxSize)) {
			return false
		}
	}
	for _, p := range f.Exclude {
		if matchPattern(p, e.Path) {
			return false
		}
	}
	if len(f.Include) == 0 {
		return true
	}
	for _, p := range f.Include {
		if matchPattern(p, e.Path) || (e.IsDir && leadsTo(p, e.Path)) {
			return true
		}
	}
	return false
}

// matchPattern reports whether pattern matches p: against the whole path,
// against its name alone, or (for "dir/**") p being dir or below it. A
// pattern also matches everything below a folder it matches.
func matchPattern(pattern, p string) bool {
	if base, ok := strings.CutSuffix(pattern, "/**"); ok {
		pattern = base
	}
	for q := p; q != ""; q = dirOf(q) {
		if ok, _ := path.Match(pattern, q); ok {
			return true
		}
		if ok, _ := path.Match(pattern, baseOf(q)); ok {
			return true
		}
	}
	return false
}

// leadsTo reports whether folder dir could hold an item matching pattern:
// the pattern has at least as many segments as dir plus one and its first
// segments match dir's. A pattern without a slash (a name pattern) may
// match at any depth.
func leadsTo(pattern, dir string) bool {
	pattern = strings.TrimSuffix(pattern, "/**")
	if !strings.Contains(pattern, "/") {
		return true
	}
	ps := strings.Split(pattern, "/")
	ds := strings.Split(dir, "/")
	if len(ps) <= len(ds) {
		return false
	}
	for i, d := range ds {
		if ok, _ := path.Match(ps[i], d); !ok {
			return false
		}
	}
	return true
}

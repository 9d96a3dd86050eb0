package syncengine

import (
	"path"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// ConflictName returns the name a conflict loser is renamed to: name with
// " (conflict 2026-11-22 from SharePoint)" inserted before its extension,
// where the date is day (in UTC) and side labels the side the loser was
// written on. "report.pdf" gives "report (conflict 2026-11-22 from
// SharePoint).pdf".
func ConflictName(name string, day time.Time, side string) string {
	stem, ext := storage.SplitExt(name)
	return stem + " (conflict " + day.UTC().Format(time.DateOnly) + " from " + side + ")" + ext
}

// joinPath joins a folder path and a name ("" is the root).
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dirOf returns the folder part of a slash path ("" for top-level items).
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// baseOf returns the last element of a slash path.
func baseOf(p string) string {
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// under reports whether p lies strictly below folder dir.
func isUnder(p, dir string) bool {
	if dir == "" {
		return p != ""
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

// depth returns the number of segments of p (0 for the root).
func segDepth(p string) int {
	if p == "" {
		return 0
	}
	return strings.Count(p, "/") + 1
}

// pathKeyHash hashes p as the names rules compare it (case folded on a
// case-insensitive storage), path element by path element (see keyHash):
// deterministic across processes, so that values derived from it can
// travel in a planInput.
func pathKeyHash(r storage.NameRules, p string) uint64 {
	if !r.CaseInsensitive && r.Normalization == storage.NormNone {
		return keyHash(p)
	}
	return keyHash(r.Key(p))
}

// namer maps names between the two sides of a pair.
type namer struct {
	rules   [2]storage.NameRules
	mapping bool
	rep     string
}

func newNamer(p *Pair) namer {
	n := namer{mapping: p.NameMapping, rep: p.Replacement}
	n.rules[SideA] = featuresOf(p.A).Names
	n.rules[SideB] = featuresOf(p.B).Names
	return n
}

// name returns the name an item called name on the other side gets on side
// t, and an error when name is invalid on t and mapping is off.
func (n namer) name(t Side, name string) (string, error) {
	r := n.rules[t]
	if !n.mapping {
		if err := r.Validate(name); err != nil {
			return name, err
		}
		return name, nil
	}
	return r.Map(name, n.rep), nil
}

// disambiguate returns the collision-free variant of original's mapped
// name on side t.
func (n namer) disambiguate(t Side, original string) string {
	if !n.mapping {
		return storage.Disambiguate(original, original)
	}
	return n.rules[t].MapDisambiguated(original, n.rep)
}

// maxDisambiguations bounds the alternatives the planner tries (and detect
// looks at on feed sides) for a name that is taken.
const maxDisambiguations = 20

// alternative returns the i-th (from 1) collision-free variant of
// original's mapped name on side t: the disambiguated name for i = 1, and
// for i > 1 that of original numbered i ("a.txt" gives "a (~18b7cb).txt",
// then "a (2) (~…).txt", …). The planner takes the first one that is free.
func (n namer) alternative(t Side, original string, i int) string {
	if i > 1 {
		original = numbered(original, i)
	}
	return n.disambiguate(t, original)
}

// key returns the form of p that side t compares paths by.
func (n namer) key(t Side, p string) string {
	r := n.rules[t]
	if !r.CaseInsensitive && r.Normalization == storage.NormNone {
		return p
	}
	return r.Key(p)
}

// Package migrations reads the versioned schema migrations the metadata
// stores embed: files named migrations/NNNN_description.sql, applied in
// version order.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step: applying it moves the database to Version.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations below migrations/ in fsys, in version order.
// Versions must run 1, 2, 3, … without gaps; errors start with owner.
func Load(fsys fs.FS, owner string) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	ms := make([]Migration, 0, len(names))
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: bad migration name %q", owner, base)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("%s: migration %s out of sequence (want version %d)", owner, m.Name, i+1)
		}
	}
	return ms, nil
}

// Package feedtest holds what the connectors' shared-feed tests use to read
// a storage's reported changes.
package feedtest

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
)

// ByID names a deleted item by its ID; ByPath by its path (for storages
// addressed by path, such as Dropbox).
var (
	ByID   = func(e storage.Entry) string { return e.ID }
	ByPath = func(e storage.Entry) string { return e.Path }
)

// Changes reads s's changes after cursor and returns the paths of the live
// files, the deleted items named by name (each list sorted) and the next
// cursor. Folders that are live are left out.
func Changes(t testing.TB, s storage.ChangeFeed, cursor string, name func(storage.Entry) string) (live, gone []string, next string) {
	t.Helper()
	ch, next, err := s.Changes(context.Background(), cursor)
	require.NoError(t, err)
	for _, c := range ch {
		if c.Deleted {
			gone = append(gone, name(c.Entry))
		} else if !c.Entry.IsDir {
			live = append(live, c.Entry.Path)
		}
	}
	slices.Sort(live)
	slices.Sort(gone)
	return live, gone, next
}

// Signalled reports whether ch holds a signal, without waiting.
func Signalled(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/stretchr/testify/require"
)

// testClock is a settable clock for the recycle bin.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func trashPaths(t *testing.T, s *Storage) []string {
	t.Helper()
	items, err := s.Trash(context.Background())
	require.NoError(t, err)
	var ps []string
	for _, it := range items {
		ps = append(ps, it.Path)
	}
	return ps
}

func TestTrashRetentionMaxAge(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			clock := &testClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
			s, dir := newStorage(t, append(m.opts, WithTrashRetention(TrashRetention{MaxAge: 24 * time.Hour}))...)
			s.cfg.now = clock.now
			r := root(t, s)
			for _, n := range []string{"a.txt", "b.txt", "c.txt"} {
				put(t, s, r, n, n)
			}
			del := func(p string) {
				t.Helper()
				e, err := s.Stat(ctx, p)
				require.NoError(t, err)
				require.NoError(t, s.Delete(ctx, e))
			}

			del("a.txt")
			clock.add(20 * time.Hour)
			del("b.txt")
			require.Equal(t, []string{"a.txt", "b.txt"}, trashPaths(t, s), "nothing is older than a day")
			clock.add(5 * time.Hour)
			del("c.txt")
			require.Equal(t, []string{"b.txt", "c.txt"}, trashPaths(t, s), "a.txt aged out on the next delete")

			// A fresh Storage on the same folder reads the bin from disk;
			// PruneTrash ages deletions out while nothing is deleted.
			s2, err := New(dir, append(m.opts, WithTrashRetention(TrashRetention{MaxAge: 24 * time.Hour}))...)
			require.NoError(t, err)
			defer s2.Close()
			s2.cfg.now = clock.now
			clock.add(20 * time.Hour) // b is 25 hours old, c 20
			require.NoError(t, s2.PruneTrash(ctx))
			require.Equal(t, []string{"c.txt"}, trashPaths(t, s2))
			items, err := s2.Trash(ctx)
			require.NoError(t, err)
			back, err := s2.Restore(ctx, items[0].ID)
			require.NoError(t, err, "what is kept can be restored")
			require.Equal(t, "c.txt", read(t, s2, back))
		})
	}
}

func TestTrashRetentionMaxBytes(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s, _ := newStorage(t, WithTrashRetention(TrashRetention{MaxBytes: 10}))
	s.cfg.now = clock.now
	r := root(t, s)
	f1 := put(t, s, r, "f1", "123456")
	f2 := put(t, s, r, "f2", "abcdef")
	d := mkdir(t, s, r, "d")
	put(t, s, d, "x", "wxyz")
	sub := mkdir(t, s, d, "sub")
	put(t, s, sub, "y", "WXYZ")
	big := put(t, s, r, "big", "0123456789ABCDEFGHIJ")
	del := func(e storage.Entry) {
		t.Helper()
		clock.add(time.Minute)
		require.NoError(t, s.Delete(ctx, e))
	}

	del(f1)
	require.Equal(t, []string{"f1"}, trashPaths(t, s))
	del(f2)
	require.Equal(t, []string{"f2"}, trashPaths(t, s), "12 bytes > 10: the oldest goes")
	d, err := s.Stat(ctx, "d")
	require.NoError(t, err)
	del(d)
	require.Equal(t, []string{"d"}, trashPaths(t, s), "a folder counts its files (8 bytes)")
	del(big)
	require.Equal(t, []string{"big"}, trashPaths(t, s), "the latest deletion stays even when alone it is too large")
	require.NoError(t, s.PruneTrash(ctx))
	require.Equal(t, []string{"big"}, trashPaths(t, s))
	_, err = s.Stat(ctx, "d")
	require.ErrorIs(t, err, storage.ErrNotFound, "live items are never touched")
	require.Len(t, list(t, s), 0)
}

// Without a retention nothing leaves the bin but through EmptyTrash.
func TestTrashRetentionOff(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	s, _ := newStorage(t)
	s.cfg.now = clock.now
	r := root(t, s)
	for _, n := range []string{"a", "b"} {
		require.NoError(t, s.Delete(ctx, put(t, s, r, n, "content")))
		clock.add(1000 * time.Hour)
	}
	require.NoError(t, s.PruneTrash(ctx))
	require.Equal(t, []string{"a", "b"}, trashPaths(t, s))

	_, err := New(t.TempDir(), WithTrashRetention(TrashRetention{MaxAge: -time.Hour}))
	require.Error(t, err)
}

// BenchmarkDeleteWithRetention measures a Delete into a recycle bin that
// already holds 2,000 deletions, with a size and age limit that keep
// them all: the retention works on its in-memory view of the bin, so a
// Delete costs what it deletes, not what the bin holds.
func BenchmarkDeleteWithRetention(b *testing.B) {
	for _, ret := range []TrashRetention{{}, {MaxAge: 24 * time.Hour, MaxBytes: 1 << 30}} {
		b.Run(fmt.Sprintf("MaxAge=%v,MaxBytes=%d", ret.MaxAge, ret.MaxBytes), func(b *testing.B) {
			ctx := context.Background()
			s, err := New(b.TempDir(), WithTrashRetention(ret))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			r, err := s.Stat(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			put := func(i int) storage.Entry {
				e, err := s.Put(ctx, r, fmt.Sprintf("f%d", i), strings.NewReader("content"), 7, storage.PutOptions{})
				if err != nil {
					b.Fatal(err)
				}
				return e
			}
			for i := range 2000 {
				if err := s.Delete(ctx, put(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				e := put(2000 + i)
				b.StartTimer()
				if err := s.Delete(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

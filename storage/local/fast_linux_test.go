//go:build linux

package local

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFastPathAgrees: the Linux lookups (one statx per item, folders
// resolved below the root by openat2) give the same items, kinds, IDs,
// Versions, sizes and times as the portable lookups through os.Root, in
// both ID modes and with and without remembered attributes.
func TestFastPathAgrees(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, dir := newStorage(t, m.opts...)
			if !s.fast.beneath {
				t.Fatal("openat2 RESOLVE_BENEATH is unavailable: the fast path is not tested")
			}
			r := root(t, s)
			d := mkdir(t, s, r, "d")
			put(t, s, d, "ours.txt", "written by the storage")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "theirs.txt"), []byte("written by a person"), 0o644))
			require.NoError(t, os.Mkdir(filepath.Join(dir, "d", "sub"), 0o755))
			require.NoError(t, os.Link(filepath.Join(dir, "d", "theirs.txt"), filepath.Join(dir, "d", "sub", "link.txt")))
			require.NoError(t, os.Symlink("../d", filepath.Join(dir, "d", "sub", "up")))
			require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "d", "pipe"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "locked.txt"), []byte("x"), 0o000))

			for pass := range 2 { // the second pass uses what the first remembered
				for _, folder := range []string{"", "d", "d/sub"} {
					fast, err := s.readDir(ctx, folder)
					require.NoError(t, err)
					slow, err := s.readDirPortable(ctx, folder)
					require.NoError(t, err)
					require.Equal(t, len(slow), len(fast), "pass %d, folder %q", pass, folder)
					for i := range slow {
						f, p := fast[i], slow[i]
						require.Equal(t, p.name, f.name)
						require.Equal(t, p.skip, f.skip, p.name)
						if p.skip != "" {
							continue
						}
						require.Equal(t, p.id, f.id, p.name)
						require.Equal(t, version(p.fi), version(f.fi), p.name)
						require.Equal(t, p.fi.Size(), f.fi.Size(), p.name)
						require.Equal(t, p.fi.Mode(), f.fi.Mode(), p.name)
						require.True(t, p.fi.ModTime().Equal(f.fi.ModTime()), p.name)
						require.True(t, sameFile(p.fi, f.fi), p.name)
						require.Equal(t, s.identityKey(p.fi), s.identityKey(f.fi), p.name)
					}
				}
				for _, rel := range []string{"d", "d/ours.txt", "d/theirs.txt", "d/sub/link.txt", "d/sub/up", "d/pipe", "d/locked.txt", "d/sub/up/ours.txt", "nothing", "d/ours.txt/x"} {
					_, ffi, fid, ferr := s.lookup(rel, false)
					_, pfi, pid, perr := s.lookupPortable(rel, false)
					require.Equal(t, errKind(perr), errKind(ferr), "%s: %v vs %v", rel, perr, ferr)
					require.Equal(t, perr == nil, ferr == nil, "%s: %v vs %v", rel, perr, ferr)
					if perr != nil {
						continue
					}
					require.Equal(t, pid, fid, rel)
					require.Equal(t, version(pfi), version(ffi), rel)
				}
			}
			// Opened for reading, the same file.
			f, fi, id, err := s.lookup("d/ours.txt", true)
			require.NoError(t, err)
			require.NotNil(t, f)
			b := make([]byte, 64)
			n, _ := f.Read(b)
			f.Close()
			require.Equal(t, "written by the storage", string(b[:n]))
			_, pfi, pid, err := s.lookupPortable("d/ours.txt", false)
			require.NoError(t, err)
			require.Equal(t, pid, id)
			require.Equal(t, version(pfi), version(fi))
		})
	}
}

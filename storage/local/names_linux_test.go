package local

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/procoresync/procoresync/storage"
	"github.com/stretchr/testify/require"
)

// TestInvalidUTF8RoundTrip: a name Linux allows but that is not valid
// UTF-8 is written, listed, read and copied to a second local root byte for
// byte, and survives the recycle bin (issue 9.15).
func TestInvalidUTF8RoundTrip(t *testing.T) {
	ctx := context.Background()
	const name = "Plan \xff\xfe r\xe9v.txt" // Latin-1 "é" and stray bytes
	a, adir := newStorage(t)
	b, bdir := newStorage(t)
	require.NoError(t, a.Features().Names.Validate(name))

	// A person saves the file on A.
	require.NoError(t, os.Mkdir(filepath.Join(adir, "d\xe9p\xf4t"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(adir, "d\xe9p\xf4t", name), []byte("plan"), 0o644))

	// Copy everything from A to B through the storage API, as a sync does.
	made := map[string]storage.Entry{"": root(t, b)}
	all := list(t, a)
	for _, p := range []string{"d\xe9p\xf4t", "d\xe9p\xf4t/" + name} {
		e, ok := all[p]
		require.True(t, ok, "%q not listed: %q", p, keysOf(all))
		parent := made[e.Dir()]
		if e.IsDir {
			made[p] = mkdir(t, b, parent, e.Name())
			continue
		}
		rc, err := a.Open(ctx, e)
		require.NoError(t, err)
		got, err := b.Put(ctx, parent, e.Name(), rc, e.Size, storage.PutOptions{ModTime: e.ModTime})
		rc.Close()
		require.NoError(t, err)
		require.Equal(t, p, got.Path)
	}
	data, err := os.ReadFile(filepath.Join(bdir, "d\xe9p\xf4t", name))
	require.NoError(t, err, "the name must arrive byte for byte")
	require.Equal(t, "plan", string(data))
	require.Equal(t, []string{"d\xe9p\xf4t"}, rawNames(t, bdir))

	// Rename, delete and restore keep the bytes too.
	e, err := b.Stat(ctx, "d\xe9p\xf4t/"+name)
	require.NoError(t, err)
	mv, err := b.Move(ctx, e, made[""], "\xc3\x28 moved.txt")
	require.NoError(t, err)
	require.Equal(t, "\xc3\x28 moved.txt", mv.Path)
	require.NoError(t, b.Delete(ctx, mv))
	items, err := b.Trash(ctx)
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "\xc3\x28 moved.txt", items[0].Path)
	back, err := b.Restore(ctx, items[0].ID)
	require.NoError(t, err)
	require.Equal(t, "\xc3\x28 moved.txt", back.Path)
	require.Equal(t, e.ID, back.ID)
	rc, err := b.Open(ctx, back)
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	require.True(t, bytes.Equal([]byte("plan"), got))

	// The Windows-share rules refuse such names with a clear error.
	w, _ := newStorage(t, WithWindowsNames())
	_, err = w.Put(ctx, root(t, w), name, bytes.NewReader([]byte("x")), 1, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrInvalidName)
}

func keysOf(m map[string]storage.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

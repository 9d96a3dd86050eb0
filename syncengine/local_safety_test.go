package syncengine_test

import (
	"context"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/local"
)

// personAfterList runs act once, at the first Stat after a listing: the
// moment between the reading a plan is based on and the confirmation of a
// destructive action.
type personAfterList struct {
	storage.Storage
	mu     sync.Mutex
	listed bool
	act    func()
}

func (p *personAfterList) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	p.mu.Lock()
	p.listed = true
	p.mu.Unlock()
	return p.Storage.List(ctx)
}

func (p *personAfterList) Stat(ctx context.Context, path string) (storage.Entry, error) {
	p.mu.Lock()
	act := p.act
	if p.listed && act != nil {
		p.act = nil
	} else {
		act = nil
	}
	p.mu.Unlock()
	if act != nil {
		act()
	}
	return p.Storage.Stat(ctx, path)
}

// On a local folder (no conditional delete): a file deleted on A is not
// deleted on B when a person saved it again on B after the engine listed
// B; the new content is restored on A.
func TestLocalDeleteIsNotAppliedOverAFreshEdit(t *testing.T) {
	dir := t.TempDir()
	ls, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ls.Close() })
	pb := &personAfterList{Storage: ls}
	e := newEnv(t, nil)
	e.pair.B = pb
	e.restart()
	e.write(e.a, "f.txt", "v1")
	e.run()
	got, err := os.ReadFile(filepath.Join(dir, "f.txt"))
	require.NoError(t, err)
	require.Equal(t, "v1", string(got))

	require.NoError(t, e.a.Remove("f.txt"))
	pb.mu.Lock()
	pb.listed = false
	pb.act = func() {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("saved on the share during the run"), 0o644))
	}
	pb.mu.Unlock()
	r := e.run()
	require.Equal(t, 1, r.Counts.Replanned, "%+v", r)
	require.Zero(t, r.Counts.Deleted)
	got, err = os.ReadFile(filepath.Join(dir, "f.txt"))
	require.NoError(t, err)
	require.Equal(t, "saved on the share during the run", string(got))
	require.Equal(t, map[string]string{"f.txt": "saved on the share during the run"}, tree(t, e.a))
}

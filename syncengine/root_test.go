package syncengine_test

import (
	"context"
	"io"
	"iter"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// swapRoot is a storage rooted at a folder found by path, as a connector
// configured with a folder path is: when that folder is replaced by
// another of the same name, the storage's root is the new folder (another
// ID).
type swapRoot struct {
	mu sync.Mutex
	s  *memory.Storage
}

func (w *swapRoot) cur() *memory.Storage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.s
}

func (w *swapRoot) swap(s *memory.Storage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s = s
}

func (w *swapRoot) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return w.cur().List(ctx)
}
func (w *swapRoot) Stat(ctx context.Context, p string) (storage.Entry, error) {
	return w.cur().Stat(ctx, p)
}
func (w *swapRoot) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return w.cur().Open(ctx, e)
}
func (w *swapRoot) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	return w.cur().Put(ctx, parent, name, r, size, opt)
}
func (w *swapRoot) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	return w.cur().MakeDir(ctx, parent, name)
}
func (w *swapRoot) Move(ctx context.Context, e, parent storage.Entry, name string) (storage.Entry, error) {
	return w.cur().Move(ctx, e, parent, name)
}
func (w *swapRoot) Delete(ctx context.Context, e storage.Entry) error { return w.cur().Delete(ctx, e) }
func (w *swapRoot) Features() storage.Features                        { return w.cur().Features() }

// A protected root replaced by another folder of the same name pauses the
// pair; Resume accepts the replacement, as documented, and the pair runs
// again. (Before, the remembered root ID was never updated: the pair was
// refused forever.)
func TestResumeAcceptsAReplacedRoot(t *testing.T) {
	root := memory.New()
	old, err := root.Mkdirs("Projects/Tower 3")
	require.NoError(t, err)
	w := &swapRoot{s: root.Sub(old.ID)}
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.A = w
		p.MassDeleteShare = -1
	})
	_, err = w.cur().WriteFile("a.txt", []byte("a"))
	require.NoError(t, err)
	e.run()
	require.Equal(t, map[string]string{"a.txt": "a"}, tree(t, e.b))

	// Someone replaces the folder by a copy of the same name.
	_, err = root.Rename("Projects/Tower 3", "Projects/Tower 3 (old)")
	require.NoError(t, err)
	repl, err := root.Mkdirs("Projects/Tower 3")
	require.NoError(t, err)
	_, err = root.WriteFile("Projects/Tower 3/a.txt", []byte("a"))
	require.NoError(t, err)
	_, err = root.WriteFile("Projects/Tower 3/b.txt", []byte("b"))
	require.NoError(t, err)
	w.swap(root.Sub(repl.ID))

	r := e.run()
	require.True(t, r.Refused(), "%+v", r)
	require.Len(t, e.ev.of(syncengine.EventPairPaused), 1)
	_, err = e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrPaused)

	require.NoError(t, e.eng.Resume(e.ctx, "p1"))
	ps, err := e.store.LoadPair(e.ctx, "p1")
	require.NoError(t, err)
	require.Equal(t, repl.ID, ps.RootA, "the replacement root is remembered")
	r = e.run()
	require.False(t, r.Refused(), "%+v", r)
	e.settle()
	st, err := e.eng.Stats(e.ctx, "p1")
	require.NoError(t, err)
	require.False(t, st.Paused)
	want := map[string]string{"a.txt": "a", "b.txt": "b"}
	require.Equal(t, want, tree(t, w.cur()))
	require.Equal(t, want, tree(t, e.b))
}

// AcceptRoot accepts a replaced root explicitly, and refuses when a root
// is missing.
func TestAcceptRoot(t *testing.T) {
	root := memory.New()
	old, err := root.Mkdirs("P")
	require.NoError(t, err)
	w := &swapRoot{s: root.Sub(old.ID)}
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.A = w })
	e.run()
	require.NoError(t, root.Remove("P"))
	require.ErrorIs(t, e.eng.AcceptRoot(e.ctx, "p1"), syncengine.ErrRootMissing)
	repl, err := root.Mkdirs("P")
	require.NoError(t, err)
	w.swap(root.Sub(repl.ID))
	require.NoError(t, e.eng.AcceptRoot(e.ctx, "p1"))
	r := e.run()
	require.True(t, r.Succeeded(), "%+v", r)
}

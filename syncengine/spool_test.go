package syncengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// unknownSize is a memory storage that, like Procore for its PDF exports
// and some attachments, lists the files whose name ends in ".pdf" with
// Size -1 and no hashes, in every reading (List, Stat, StatID, ListUnder,
// Changes).
type unknownSize struct {
	*memory.Storage
}

func hideSize(e storage.Entry) storage.Entry {
	if !e.IsDir && strings.HasSuffix(e.Path, ".pdf") {
		e.Size, e.Hashes = -1, nil
	}
	return e
}

func (u unknownSize) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return hideSizes(u.Storage.List(ctx))
}

func (u unknownSize) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return hideSizes(u.Storage.ListUnder(ctx, dir))
}

func hideSizes(seq iter.Seq2[storage.Entry, error]) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		for e, err := range seq {
			if !yield(hideSize(e), err) {
				return
			}
		}
	}
}

func (u unknownSize) Stat(ctx context.Context, p string) (storage.Entry, error) {
	e, err := u.Storage.Stat(ctx, p)
	return hideSize(e), err
}

func (u unknownSize) StatID(ctx context.Context, id string) (storage.Entry, error) {
	e, err := u.Storage.StatID(ctx, id)
	return hideSize(e), err
}

func (u unknownSize) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	cs, next, err := u.Storage.Changes(ctx, cursor)
	for i := range cs {
		cs[i].Entry = hideSize(cs[i].Entry)
	}
	return cs, next, err
}

// bigs holds what big returned, by tag and size: the crash sweeps make
// the same large contents once per crash point.
var bigs sync.Map

// big returns n bytes of a repeating pattern marked with tag.
func big(tag string, n int) string {
	type key struct {
		tag string
		n   int
	}
	if s, ok := bigs.Load(key{tag, n}); ok {
		return s.(string)
	}
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, "%s %08d\n", tag, b.Len())
	}
	s := b.String()[:n]
	bigs.Store(key{tag, n}, s)
	return s
}

func spoolEnv(t *testing.T, tweak func(o *syncengine.Options)) (*env, string) {
	dir := t.TempDir()
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		p.Direction = syncengine.DirectionOneWayAB
		p.Initial = syncengine.InitialStandard
		o.SpoolDir = dir
		if tweak != nil {
			tweak(o)
		}
	})
	e.pair.A = unknownSize{e.a}
	e.restart()
	return e, dir
}

func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "spool files removed")
}

// Files whose source does not list their size are copied (spooled: small
// ones in memory, large ones in a private temporary file), updated, and
// left alone by an idle run.
func TestUnknownSizeCopiedBySpooling(t *testing.T) {
	e, dir := spoolEnv(t, nil)
	large := big("large v1", 5<<20) // beyond the in-memory spool
	e.write(e.a, "Exports/RFI 1.pdf", "rfi one")
	e.write(e.a, "Exports/Drawing set.pdf", large)
	e.write(e.a, "Exports/empty.pdf", "")
	e.write(e.a, "known.txt", "known size")

	// While the large file is written, its spool file is private.
	var modes []os.FileMode
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpPut || op == memory.OpUploadChunk {
			ents, _ := os.ReadDir(dir)
			for _, d := range ents {
				if fi, err := d.Info(); err == nil {
					modes = append(modes, fi.Mode().Perm())
				}
			}
		}
		return nil
	})
	r := e.run()
	e.b.SetHook(nil)
	require.True(t, r.Succeeded(), "%v %v", r.Error, r.Undone)
	require.Equal(t, 4, r.Counts.FilesCopied)
	require.EqualValues(t, len("rfi one")+len(large)+len("known size"), r.Counts.BytesCopied)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	require.NotEmpty(t, modes, "the large file was spooled to a file")
	for _, m := range modes {
		require.Equal(t, os.FileMode(0o600), m)
	}
	requireEmptyDir(t, dir)
	st, err := e.b.Stat(e.ctx, "Exports/Drawing set.pdf")
	require.NoError(t, err)
	require.EqualValues(t, len(large), st.Size)
	// The dashboard counts the copies' sizes, not the unknown ones.
	stats, err := e.eng.Stats(e.ctx, e.pair.ID)
	require.NoError(t, err)
	require.EqualValues(t, len("rfi one")+len(large)+len("known size"), stats.BytesInSync)

	// Idle: nothing read or written again (the Version decides).
	e.a.ResetCalls()
	e.b.ResetCalls()
	r = e.run()
	require.True(t, r.Succeeded())
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Linked+r.Counts.Failed, r.Counts)
	require.Zero(t, e.a.CallCount(memory.OpOpen))
	require.Zero(t, e.b.CallCount(memory.OpPut))

	// Updates, one larger and one smaller than before.
	e.write(e.a, "Exports/RFI 1.pdf", big("rfi v2", 6<<20))
	e.write(e.a, "Exports/Drawing set.pdf", "now small")
	r = e.run()
	require.True(t, r.Succeeded(), "%v %v", r.Error, r.Undone)
	require.Equal(t, 2, r.Counts.FilesCopied)
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	requireEmptyDir(t, dir)
	r = e.run()
	require.Zero(t, r.Counts.FilesCopied+r.Counts.Linked, r.Counts)
}

// A file of unknown size beyond Options.MaxSpoolSize is an item failure
// (ErrSpoolTooLarge), leaving nothing behind; the other files sync.
func TestUnknownSizeBeyondMaxSpoolSize(t *testing.T) {
	e, dir := spoolEnv(t, func(o *syncengine.Options) { o.MaxSpoolSize = 1000 })
	e.write(e.a, "huge.pdf", big("huge", 1001))
	e.write(e.a, "fits.pdf", big("fits", 1000))
	r := e.run()
	require.Equal(t, syncengine.RunPartial, r.Status)
	require.Equal(t, 1, r.Counts.Failed)
	errs, err := e.eng.Errors(e.ctx, e.pair.ID, syncengine.Page{Limit: 5})
	require.NoError(t, err)
	require.Len(t, errs, 1)
	require.Equal(t, "huge.pdf", errs[0].Path)
	require.Contains(t, errs[0].Error, syncengine.ErrSpoolTooLarge.Error())
	tb := tree(t, e.b)
	require.NotContains(t, tb, "huge.pdf")
	require.Equal(t, big("fits", 1000), tb["fits.pdf"])
	requireEmptyDir(t, dir)
}

// A source of unknown size whose read fails part-way is not written; a
// later run copies it whole.
func TestUnknownSizeFailedReadNotWritten(t *testing.T) {
	e, dir := spoolEnv(t, nil)
	e.write(e.a, "a.pdf", "0123456789")
	e.a.SetShortRead(4, errors.New("connection reset"))
	r := e.run()
	e.a.ClearFaults()
	require.Equal(t, syncengine.RunPartial, r.Status)
	require.NotContains(t, tree(t, e.b), "a.pdf")
	require.Zero(t, e.b.CallCount(memory.OpPut), "nothing written from a failed read")
	requireEmptyDir(t, dir)
	e.settle()
	require.Equal(t, "0123456789", tree(t, e.b)["a.pdf"])
}

// A crash (cancellation) at any storage call of a run that copies and
// updates files of unknown size converges after a restart, without
// duplicates or leftovers.
func TestUnknownSizeCrashConverges(t *testing.T) {
	setup := func(e *env) {
		e.write(e.a, "Exports/one.pdf", "one")
		e.write(e.a, "three.txt", "three")
		require.True(t, e.run().Succeeded())
		e.write(e.a, "Exports/one.pdf", "one, edited")
		e.write(e.a, "Exports/two.pdf", big("two", 5<<20))
		e.write(e.a, "four.pdf", "four")
	}
	probe, _ := spoolEnv(t, nil)
	setup(probe)
	probe.a.ResetCalls()
	probe.b.ResetCalls()
	require.True(t, probe.run().Succeeded())
	want := tree(t, probe.a)
	require.Equal(t, want, tree(t, probe.b))
	total := calls(probe)
	require.Greater(t, total, 5)
	for k := 1; k <= total; k += raceStep {
		t.Run(fmt.Sprint("crash at call ", k), func(t *testing.T) {
			e, dir := spoolEnv(t, nil)
			setup(e)
			e.crashAt(k)
			e.restart()
			e.settle()
			require.Equal(t, want, tree(t, e.b))
			requireEmptyDir(t, dir)
		})
	}
}

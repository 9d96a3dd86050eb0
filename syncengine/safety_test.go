package syncengine_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
)

// duringRun makes a person act on s once during the next run: right after
// the engine read s (its listing or change feed) and before the engine's
// next call to s of any other kind — the moment between the reading a plan
// is based on and the action. It returns a function that reports whether
// the person acted.
func duringRun(t *testing.T, s *memory.Storage, act func()) func() bool {
	t.Helper()
	var mu sync.Mutex
	read, done := false, false
	s.SetHook(func(op memory.Op) error {
		mu.Lock()
		defer mu.Unlock()
		switch op {
		case memory.OpList, memory.OpChanges, memory.OpLatestCursor, memory.OpWatch:
			read = true
			return nil
		}
		if read && !done {
			done = true
			act()
		}
		return nil
	})
	t.Cleanup(func() { s.SetHook(nil) })
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done
	}
}

// A file deleted on A is not deleted on B when a person saved a new
// version on B after the engine read B: the deletion would destroy the
// new work. The change wins: the run plans again and restores the file on
// A. (Before, applier.delete never re-read the target: the edit went to
// B's recycle bin and the file was gone from both sides.)
func TestDeleteIsNotAppliedOverAFreshEdit(t *testing.T) {
	for _, deletedOn := range []string{"A", "B"} {
		t.Run("deleted on "+deletedOn, func(t *testing.T) {
			e := newEnv(t, nil)
			e.write(e.a, "f.txt", "v1")
			e.run()
			del, other := e.a, e.b
			if deletedOn == "B" {
				del, other = e.b, e.a
			}
			require.NoError(t, del.Remove("f.txt"))
			acted := duringRun(t, other, func() {
				_, err := other.WriteFile("f.txt", []byte("saved during the run"))
				require.NoError(t, err)
			})
			r := e.run()
			require.True(t, acted())
			require.Equal(t, 1, r.Counts.Replanned, "%+v", r)
			require.Zero(t, r.Counts.Deleted)
			want := map[string]string{"f.txt": "saved during the run"}
			require.Equal(t, want, tree(t, e.a))
			require.Equal(t, want, tree(t, e.b))
			require.Contains(t, r.Undone, "changed during the run")
			require.NotEmpty(t, e.ev.of(syncengine.EventRunIncomplete))
			e.settle()
			require.Equal(t, want, tree(t, e.a))
			require.Equal(t, want, tree(t, e.b))
		})
	}
}

// A folder deleted on A is not deleted on B while a person saves a file
// into it on B: the new file and the folder are kept (and travel to A).
func TestFolderDeleteKeepsAFileSavedIntoItDuringTheRun(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "x/a.txt", "a")
	e.run()
	require.NoError(t, e.a.Remove("x"))
	acted := duringRun(t, e.b, func() {
		_, err := e.b.WriteFile("x/new.txt", []byte("new work"))
		require.NoError(t, err)
	})
	e.run()
	require.True(t, acted())
	e.settle()
	got, err := e.b.ReadFile("x/new.txt")
	require.NoError(t, err, "the file saved during the run is kept on B")
	require.Equal(t, "new work", string(got))
	require.Equal(t, tree(t, e.a), tree(t, e.b))
	require.Equal(t, "new work", tree(t, e.a)["x/new.txt"])
}

// An item a person moved elsewhere on B during the run is not deleted
// where it now is (memory deletes by ID, wherever the item lies).
func TestDeleteDoesNotFollowAnItemMovedDuringTheRun(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "f.txt", "keep me")
	_, err := e.b.Mkdirs("elsewhere")
	require.NoError(t, err)
	e.run()
	require.NoError(t, e.a.Remove("f.txt"))
	acted := duringRun(t, e.b, func() {
		_, err := e.b.Rename("f.txt", "elsewhere/f.txt")
		require.NoError(t, err)
	})
	r := e.run()
	require.True(t, acted())
	require.Zero(t, r.Counts.Deleted, "%+v", r)
	got, err := e.b.ReadFile("elsewhere/f.txt")
	require.NoError(t, err, "the moved item is still on B")
	require.Equal(t, "keep me", string(got))
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// An update is not written over a version a person saved on the target
// after the engine read it, on a storage that does not enforce
// ExpectedVersion itself: both edits meet as a conflict, nothing is lost.
func TestUpdateIsNotWrittenOverAFreshEditWithoutConditionalPut(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
		p.B = &unconditional{Storage: p.B.(*memory.Storage)}
	})
	e.write(e.a, "f.txt", "v1")
	e.run()
	e.clk.Advance(time.Minute)
	e.write(e.a, "f.txt", "edited on A")
	acted := duringRun(t, e.b, func() {
		e.clk.Advance(time.Minute)
		_, err := e.b.WriteFile("f.txt", []byte("edited on B"))
		require.NoError(t, err)
	})
	r := e.run()
	require.True(t, acted())
	require.Equal(t, 1, r.Counts.Replanned, "%+v", r)
	e.settle()
	id := statID(t, e.b, "f.txt")
	var contents []string
	for _, v := range e.b.Versions(id) {
		contents = append(contents, string(v.Data))
	}
	require.Contains(t, contents, "edited on B", "B's edit is kept (as a version)")
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// unconditional is a memory storage that, like an API without If-Match,
// ignores PutOptions.ExpectedVersion and says so.
type unconditional struct{ *memory.Storage }

func (u *unconditional) Features() storage.Features {
	f := u.Storage.Features()
	f.ConditionalPut = false
	return f
}

func (u *unconditional) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	opt.ExpectedVersion = ""
	return u.Storage.Put(ctx, parent, name, r, size, opt)
}

func statID(t *testing.T, s storage.Storage, p string) string {
	t.Helper()
	en, err := s.Stat(context.Background(), p)
	require.NoError(t, err)
	return en.ID
}

// A rename on A replayed on B while a person edits the file on B: the
// baseline records the new location, not B's new content, which the
// engine did not transfer; the edit then travels to A. (Before, the
// baseline took the moved entry's Version as synced: A kept the old
// content, B the new, and nothing was ever planned, not even by a Full
// run.)
func TestRenameReplayedOverAConcurrentEditIsNotForgotten(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "f.txt", "v1")
	e.run()
	_, err := e.a.Rename("f.txt", "g.txt")
	require.NoError(t, err)
	var once sync.Once
	e.b.SetHook(func(op memory.Op) error {
		if op == memory.OpMove {
			once.Do(func() {
				_, err := e.b.WriteFile("f.txt", []byte("edited on B"))
				require.NoError(t, err)
			})
		}
		return nil
	})
	e.run()
	e.b.SetHook(nil)
	_, err = e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{Full: true})
	require.NoError(t, err)
	e.settle()
	want := map[string]string{"g.txt": "edited on B"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// lostResponse is a memory storage whose next Put is applied but answers
// with an error, as when the response is lost on the way back.
type lostResponse struct {
	*memory.Storage
	mu   sync.Mutex
	lose bool
}

func (l *lostResponse) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	e, err := l.Storage.Put(ctx, parent, name, r, size, opt)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.lose {
		l.lose = false
		return storage.Entry{}, errors.New("connection reset by peer")
	}
	return e, err
}

// An upload applied whose response was lost, then a transient failure
// while comparing content, must not turn identical bytes into a new
// version: the comparison failing fails the action (retried later), and
// equal content is linked.
func TestNoPhantomVersionAfterALostResponseAndAFailedComparison(t *testing.T) {
	e := newEnv(t, nil)
	// B lists no hashes (it computes them on demand), so comparing needs
	// B's answers.
	e.b = memory.New(memory.WithClock(e.clk.Now), memory.WithHashes())
	lr := &lostResponse{Storage: e.b}
	e.pair.B = lr
	e.restart()
	e.write(e.a, "f.txt", "v1")
	e.run()
	e.clk.Advance(time.Minute)
	e.write(e.a, "f.txt", "v2")
	lr.mu.Lock()
	lr.lose = true
	lr.mu.Unlock()
	r := e.run()
	require.Equal(t, 1, r.Counts.Failed)
	id := statID(t, e.b, "f.txt")
	versions := len(e.b.Versions(id))
	require.Equal(t, "v2", tree(t, e.b)["f.txt"], "the upload was applied")

	// The retry: both sides changed since the baseline; comparing them
	// fails for a while.
	e.clk.Advance(2 * time.Hour)
	transient := errors.New("503 service unavailable")
	e.b.FailAlways(memory.OpHash, transient)
	e.b.FailAlways(memory.OpOpen, transient)
	e.run()
	require.Len(t, e.b.Versions(id), versions, "nothing written while the comparison fails")
	e.b.ClearFaults()
	e.settle()
	require.Len(t, e.b.Versions(id), versions, "equal content is linked, never written again")
	require.Equal(t, map[string]string{"f.txt": "v2"}, tree(t, e.a))
	require.Equal(t, map[string]string{"f.txt": "v2"}, tree(t, e.b))
}

// A checked-out file (storage.ErrLocked, SharePoint's 423) is retried with
// its own backoff, never quarantined for it, and syncs once checked in.
// Runs that only wait for it say so: they are partial, not succeeded.
func TestLockedItemIsNeverQuarantined(t *testing.T) {
	fp := &failingPuts{name: "f.txt"}
	e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
		fp.Storage = p.B.(*memory.Storage)
		p.B = fp
		o.LockedBackoff = 30 * time.Minute
	})
	e.write(e.a, "f.txt", "v1")
	e.run()
	e.write(e.a, "f.txt", "v2")
	fp.setErr(storage.NewError("put", "f.txt", storage.ErrLocked, errors.New("423 Locked")))
	for i := range 6 { // twice MaxAttempts
		r := e.run()
		require.True(t, r.Partial(), "run %d: %+v", i, r)
		require.NotEmpty(t, r.Undone)
		// Within the locked backoff the item waits, and the run says so.
		r = e.run()
		require.True(t, r.Partial(), "run %d: %+v", i, r)
		require.Equal(t, 1, r.Counts.Waiting)
		require.Contains(t, r.Undone, "wait for their retry time")
		e.clk.Advance(31 * time.Minute)
	}
	require.Equal(t, 6, fp.count())
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.False(t, fs[0].Quarantined)
	require.Empty(t, e.ev.of(syncengine.EventItemsQuarantined))

	fp.setErr(nil) // checked in
	r := e.run()
	require.True(t, r.Succeeded(), "%+v", r)
	require.Equal(t, "v2", tree(t, e.b)["f.txt"])
}

// A storage call stuck until its context is done is cancelled at
// Options.ActionTimeout and recorded as a failure to retry; the run ends.
func TestStuckActionIsCancelledAtActionTimeout(t *testing.T) {
	e := newEnv(t, func(_ *syncengine.Pair, o *syncengine.Options) { o.ActionTimeout = 50 * time.Millisecond })
	e.write(e.a, "f.txt", "v1")
	e.write(e.a, "g.txt", "g")
	e.b.SetLatency(memory.OpPut, time.Hour) // waits for an hour or until its context is done
	r := e.run()
	require.True(t, r.Partial(), "%+v", r)
	require.Equal(t, 2, r.Counts.Failed)
	errs, err := e.eng.Errors(e.ctx, "p1", syncengine.Page{})
	require.NoError(t, err)
	require.NotEmpty(t, errs)
	require.Contains(t, errs[0].Error, syncengine.ErrActionTimeout.Error())
	e.b.SetLatency(memory.OpPut, 0)
	e.opts.ActionTimeout = 0 // the default, for the runs that follow
	e.restart()
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// A run longer than Options.RunTimeout is cancelled and recorded as
// failed with ErrRunTimeout.
func TestStuckRunFailsAtRunTimeout(t *testing.T) {
	e := newEnv(t, func(_ *syncengine.Pair, o *syncengine.Options) {
		o.RunTimeout = 50 * time.Millisecond
		o.ActionTimeout = -1
	})
	e.write(e.a, "f.txt", "v1")
	e.b.SetLatency(memory.OpPut, time.Hour)
	r, err := e.eng.RunOnce(e.ctx, "p1", syncengine.RunOptions{})
	require.ErrorIs(t, err, syncengine.ErrRunTimeout)
	require.Equal(t, syncengine.RunFailed, r.Status)
	e.b.SetLatency(memory.OpPut, 0)
	e.opts.RunTimeout, e.opts.ActionTimeout = 0, 0 // the defaults, for the runs that follow
	e.restart()
	e.settle()
	require.Equal(t, tree(t, e.a), tree(t, e.b))
}

// A run whose only unsynced items are skipped says so: partial, with the
// reason, not succeeded.
func TestRunSaysWhatItSkipped(t *testing.T) {
	e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) { p.NameMapping = false })
	e.b = memory.New(memory.WithNameRules(storage.NameRules{InvalidChars: "?"}))
	e.pair.B = e.b
	e.restart()
	e.write(e.a, "ok.txt", "ok")
	e.write(e.a, "what?.txt", "bad name")
	r := e.run()
	require.True(t, r.Partial(), "%+v", r)
	require.False(t, r.Refused())
	require.Equal(t, 1, r.Counts.Skipped)
	require.True(t, strings.Contains(r.Undone, "skipped"), r.Undone)
}

// noFileRename is a memory storage that cannot rename or move files (as
// Procore Photos cannot rename an image) and keeps no version history.
type noFileRename struct{ *memory.Storage }

func (n *noFileRename) Move(ctx context.Context, e, parent storage.Entry, name string) (storage.Entry, error) {
	if !e.IsDir {
		return storage.Entry{}, storage.NewError("move", e.Path, storage.ErrUnsupported, errors.New("images cannot be renamed"))
	}
	return n.Storage.Move(ctx, e, parent, name)
}

// A conflict whose loser lies on a side that cannot rename files keeps the
// loser another way: as a conflict copy on the winning side, which then
// syncs back as a new item. (Before, renaming the loser failed on every
// run until the item was quarantined, and the conflict never resolved.)
func TestConflictLoserKeptWhereItCannotBeRenamed(t *testing.T) {
	e := newEnv(t, nil)
	e.b = memory.New(memory.WithClock(e.clk.Now), memory.WithVersionHistory(false))
	e.pair.B = &noFileRename{Storage: e.b}
	e.restart()
	e.write(e.a, "f.txt", "v1")
	e.run()
	e.clk.Advance(time.Minute)
	e.write(e.b, "f.txt", "edited on B")
	e.clk.Advance(time.Minute)
	e.write(e.a, "f.txt", "edited on A") // newer: A wins
	r := e.run()
	require.Zero(t, r.Counts.Failed, "%+v", r)
	require.Equal(t, 1, r.Counts.Conflicts)
	e.settle()
	got := tree(t, e.a)
	require.Equal(t, got, tree(t, e.b))
	require.Len(t, got, 2, "%v", got)
	require.Equal(t, "edited on A", got["f.txt"])
	var loser string
	for p, c := range got {
		if p != "f.txt" {
			require.Contains(t, p, "conflict")
			loser = c
		}
	}
	require.Equal(t, "edited on B", loser, "the loser is kept")
	fs, err := e.eng.Failures(e.ctx, "p1")
	require.NoError(t, err)
	require.Empty(t, fs)
}

// ifMatch is a memory storage with look-up by ID and conditional Delete
// and Move, as Graph's If-Match gives them. before, when set, runs at the
// start of each Delete (a person acting in the instant before the call).
type ifMatch struct {
	*memory.Storage
	before func()
	// keepVersion, when set, is taken as the current Version of any
	// item by the conditional checks: a service whose Version does not
	// change when an item is moved.
	keepVersion string
	// beforeLookup, when set, runs at the start of each StatID.
	beforeLookup func()
}

func (m *ifMatch) Features() storage.Features {
	f := m.Storage.Features()
	f.ConditionalDelete, f.ConditionalMove = true, true
	return f
}

func (m *ifMatch) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if m.beforeLookup != nil {
		m.beforeLookup()
	}
	for e, err := range m.Storage.List(ctx) {
		if err != nil {
			return storage.Entry{}, err
		}
		if e.ID == id {
			return e, nil
		}
	}
	return storage.Entry{}, storage.NewError("stat", id, storage.ErrNotFound, nil)
}

func (m *ifMatch) check(ctx context.Context, e storage.Entry) error {
	if e.Version == "" {
		return nil
	}
	cur, err := m.StatID(ctx, e.ID)
	if err != nil {
		return err
	}
	if m.keepVersion != "" {
		cur.Version = m.keepVersion
	}
	if cur.Version != e.Version {
		return storage.NewError("delete", e.Path, storage.ErrPreconditionFailed, errors.New("412"))
	}
	return nil
}

func (m *ifMatch) Delete(ctx context.Context, e storage.Entry) error {
	if m.before != nil {
		m.before()
	}
	if err := m.check(ctx, e); err != nil {
		return err
	}
	return m.Storage.Delete(ctx, e)
}

func (m *ifMatch) Move(ctx context.Context, e, parent storage.Entry, name string) (storage.Entry, error) {
	if err := m.check(ctx, e); err != nil {
		return storage.Entry{}, err
	}
	return m.Storage.Move(ctx, e, parent, name)
}

// Where the storage deletes conditionally (If-Match), the planned Version
// goes with the Delete: an edit saved in the instant before the call makes
// it fail with ErrPreconditionFailed, which the engine takes as "changed":
// nothing is deleted and the edit is restored on the other side.
func TestConditionalDeleteRefusedByTheStorageIsReplanned(t *testing.T) {
	e := newEnv(t, nil)
	im := &ifMatch{Storage: e.b}
	e.pair.B = im
	e.restart()
	e.write(e.a, "f.txt", "v1")
	e.run()
	require.NoError(t, e.a.Remove("f.txt"))
	var once sync.Once
	im.before = func() {
		once.Do(func() {
			_, err := e.b.WriteFile("f.txt", []byte("saved just before the delete"))
			require.NoError(t, err)
		})
	}
	r := e.run()
	require.Equal(t, 1, r.Counts.Replanned, "%+v", r)
	require.Zero(t, r.Counts.Deleted)
	require.Zero(t, r.Counts.Failed)
	want := map[string]string{"f.txt": "saved just before the delete"}
	require.Equal(t, want, tree(t, e.a))
	require.Equal(t, want, tree(t, e.b))
}

// A rename on A is not replayed on B over a move a person made on B after
// the engine read B (the Move, by ID, would have pulled the item out of
// the folder the person just put it in without the planner ever seeing
// that move): the run plans again and both moves meet as moved/moved,
// which the conflict rules resolve; nothing is lost and the sides
// converge.
func TestMoveIsNotAppliedOverAPersonsMove(t *testing.T) {
	e := newEnv(t, nil)
	e.write(e.a, "f.txt", "v1")
	_, err := e.a.Mkdirs("sub")
	require.NoError(t, err)
	e.run()
	_, err = e.a.Rename("f.txt", "g.txt")
	require.NoError(t, err)
	acted := duringRun(t, e.b, func() {
		e.clk.Advance(time.Minute) // the person's move is the newer one
		_, err := e.b.Rename("f.txt", "sub/f.txt")
		require.NoError(t, err)
	})
	r := e.run()
	require.True(t, acted())
	require.Equal(t, 1, r.Counts.Replanned, "%+v", r)
	e.settle()
	got := tree(t, e.b)
	require.Equal(t, got, tree(t, e.a))
	require.Len(t, got, 2, "%v", got)
	require.Contains(t, got, "sub")
}

// Where the storage deletes conditionally but a move keeps the Version, an
// item a person moved elsewhere during the run is still not deleted where
// it now is: the engine looks it up by ID first and sees another path.
func TestConditionalDeleteDoesNotFollowAnItemMovedDuringTheRun(t *testing.T) {
	e := newEnv(t, nil)
	im := &ifMatch{Storage: e.b}
	e.pair.B = im
	e.restart()
	e.write(e.a, "f.txt", "keep me")
	_, err := e.b.Mkdirs("elsewhere")
	require.NoError(t, err)
	e.run()
	require.NoError(t, e.a.Remove("f.txt"))
	before, err := e.b.Stat(e.ctx, "f.txt")
	require.NoError(t, err)
	var once sync.Once
	acted := false
	im.beforeLookup = func() { // the instant before the engine's last look
		once.Do(func() {
			acted = true
			_, err := e.b.Rename("f.txt", "elsewhere/f.txt")
			require.NoError(t, err)
		})
	}
	// The service keeps the Version on a move: the Delete's If-Match
	// alone would not notice.
	im.keepVersion = before.Version
	r := e.run()
	require.True(t, acted)
	require.Zero(t, r.Counts.Deleted, "%+v", r)
	got, err := e.b.ReadFile("elsewhere/f.txt")
	require.NoError(t, err)
	require.Equal(t, "keep me", string(got))
}

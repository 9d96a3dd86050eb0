package drivefs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

var rootDir = storage.Entry{IsDir: true}

func TestConditionalDeleteAndMove(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	require.True(t, f.Features().ConditionalDelete)
	require.True(t, f.Features().ConditionalMove)
	ent, err := f.Put(ctx, rootDir, "a.txt", strings.NewReader("v1"), 2, storage.PutOptions{})
	require.NoError(t, err)
	dir, err := f.MakeDir(ctx, rootDir, "sub")
	require.NoError(t, err)

	// A person saves a new version after we read the file.
	_, err = e.srv.WebUpload(d, "Root/a.txt", []byte("person's edit"))
	require.NoError(t, err)

	_, err = f.Move(ctx, ent, dir, "b.txt")
	require.ErrorIs(t, err, storage.ErrPreconditionFailed)
	require.ErrorIs(t, f.Delete(ctx, ent), storage.ErrPreconditionFailed)
	got, ok := e.srv.FileContent(d, "Root/a.txt")
	require.True(t, ok, "neither moved nor deleted")
	require.Equal(t, "person's edit", string(got))

	// With the current version both go through.
	cur, err := f.Stat(ctx, "a.txt")
	require.NoError(t, err)
	moved, err := f.Move(ctx, cur, dir, "b.txt")
	require.NoError(t, err)
	require.Equal(t, "sub/b.txt", moved.Path)
	require.NoError(t, f.Delete(ctx, moved))
	_, ok = e.srv.Stat(d, "Root/sub/b.txt")
	require.False(t, ok)

	// A folder: the folder's own version.
	_, err = e.srv.WebRename(d, "Root/sub", "sub2")
	require.NoError(t, err)
	require.ErrorIs(t, f.Delete(ctx, dir), storage.ErrPreconditionFailed)
	_, ok = e.srv.Stat(d, "Root/sub2")
	require.True(t, ok)
}

// errAfter yields r, then fails.
type errAfter struct{ r io.Reader }

func (e *errAfter) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errors.New("disk read error")
	}
	return n, err
}

func TestPutRefusesTornSource(t *testing.T) {
	const declared = 700 << 10 // above one 320 KiB fragment
	for _, mode := range []struct {
		name   string
		simple int64
		mt     time.Time
	}{
		{"simple PUT", 4 << 20, time.Time{}},
		{"upload session", msgraph.FragmentMultiple, time.Time{}},
		{"session for the modification time", 4 << 20, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)},
	} {
		for _, src := range []struct {
			name string
			r    func() io.Reader
		}{
			{"more bytes than size", func() io.Reader { return bytes.NewReader(data(declared + 1)) }},
			{"fewer bytes than size", func() io.Reader { return bytes.NewReader(data(declared - 1)) }},
			{"fails after exactly size bytes", func() io.Reader { return &errAfter{bytes.NewReader(data(declared))} }},
		} {
			t.Run(mode.name+"/"+src.name, func(t *testing.T) {
				e := newEnv(t, graphtest.Options{})
				d := e.srv.MyDriveID()
				f := e.fs(t, "Root")
				f.SetChunking(mode.simple, msgraph.FragmentMultiple)
				opt := storage.PutOptions{ModTime: mode.mt}

				// A new file is not created.
				_, err := f.Put(ctx, rootDir, "new.bin", src.r(), declared, opt)
				require.Error(t, err)
				_, ok := e.srv.Stat(d, "Root/new.bin")
				require.False(t, ok, "a torn source became a file")

				// An existing file keeps its content.
				old, err := f.Put(ctx, rootDir, "old.bin", strings.NewReader("old"), 3, storage.PutOptions{})
				require.NoError(t, err)
				opt.ExpectedVersion = old.Version
				_, err = f.Put(ctx, rootDir, "old.bin", src.r(), declared, opt)
				require.Error(t, err)
				got, _ := e.srv.FileContent(d, "Root/old.bin")
				require.Equal(t, "old", string(got), "a torn source became a version")
				require.Zero(t, e.srv.SessionCount(), "the upload session was not cancelled")
			})
		}
	}
}

func TestChangesAfterRestartReportDeletionsAndMovesOutByID(t *testing.T) {
	e := newEnv(t, graphtest.Options{PageSize: 3})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	a, err := f.Put(ctx, rootDir, "a.txt", strings.NewReader("a"), 1, storage.PutOptions{})
	require.NoError(t, err)
	dir, err := f.MakeDir(ctx, rootDir, "dir")
	require.NoError(t, err)
	b, err := f.Put(ctx, dir, "b.txt", strings.NewReader("b"), 1, storage.PutOptions{})
	require.NoError(t, err)
	kept, err := f.Put(ctx, rootDir, "kept.txt", strings.NewReader("k"), 1, storage.PutOptions{})
	require.NoError(t, err)
	_, err = e.srv.WebMkdir(d, "Elsewhere")
	require.NoError(t, err)
	cur, err := f.LatestCursor(ctx)
	require.NoError(t, err)

	// While we are down, a person deletes one file and moves another out.
	require.NoError(t, e.srv.WebDelete(d, "Root/a.txt"))
	_, err = e.srv.WebMove(d, "Root/dir/b.txt", "Elsewhere")
	require.NoError(t, err)

	// A fresh process with the saved cursor.
	f2, err := drivefs.NewFS(ctx, e.client(t), d, f.RootID())
	require.NoError(t, err)
	ch, _, err := f2.Changes(ctx, cur)
	require.NoError(t, err)
	deleted := map[string]bool{}
	alive := map[string]string{}
	for _, c := range ch {
		if c.Deleted {
			deleted[c.Entry.ID] = true
		} else {
			alive[c.Entry.ID] = c.Entry.Path
		}
	}
	require.True(t, deleted[a.ID], "the deletion was dropped: %+v", ch)
	require.True(t, deleted[b.ID], "the move out of the root was dropped: %+v", ch)
	require.False(t, deleted[kept.ID])
	require.NotContains(t, alive, b.ID)
	require.Equal(t, "dir", alive[dir.ID], "the folder b left is reported where it is")
}

func TestLockedFilesAreLocked(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	ent, err := f.Put(ctx, rootDir, "plan.pdf", strings.NewReader("v1"), 2, storage.PutOptions{})
	require.NoError(t, err)
	// A person checks the file out in SharePoint.
	require.NoError(t, e.srv.SetLocked(d, "Root/plan.pdf", true))
	_, err = f.Put(ctx, rootDir, "plan.pdf", strings.NewReader("v2"), 2, storage.PutOptions{})
	require.ErrorIs(t, err, storage.ErrLocked)
	_, err = f.Put(ctx, rootDir, "plan.pdf", strings.NewReader("v2"), 2, storage.PutOptions{ModTime: time.Now()})
	require.ErrorIs(t, err, storage.ErrLocked)
	_, err = f.Move(ctx, ent, rootDir, "plan2.pdf")
	require.ErrorIs(t, err, storage.ErrLocked)
	require.ErrorIs(t, f.Delete(ctx, ent), storage.ErrLocked)
	var ge *msgraph.Error
	require.ErrorAs(t, f.Delete(ctx, ent), &ge)
	require.Equal(t, http.StatusLocked, ge.StatusCode)
	// A folder holding a checked-out file is not deleted either.
	dir, err := f.MakeDir(ctx, rootDir, "dir")
	require.NoError(t, err)
	_, err = e.srv.WebUpload(d, "Root/dir/inner.pdf", []byte("x"))
	require.NoError(t, err)
	require.NoError(t, e.srv.SetLocked(d, "Root/dir/inner.pdf", true))
	err = f.Delete(ctx, storage.Entry{ID: dir.ID, Path: dir.Path, IsDir: true})
	require.ErrorIs(t, err, storage.ErrLocked)
	require.True(t, storage.IsRetryable(err), "a lock passes")
	_, ok := e.srv.Stat(d, "Root/dir/inner.pdf")
	require.True(t, ok, "the checked-out file survived")
	// Checked in again, the same writes go through.
	require.NoError(t, e.srv.SetLocked(d, "Root/plan.pdf", false))
	_, err = f.Put(ctx, rootDir, "plan.pdf", strings.NewReader("v2"), 2, storage.PutOptions{})
	require.NoError(t, err)
}

func TestStatIDAndListUnder(t *testing.T) {
	e := newEnv(t, graphtest.Options{PageSize: 2})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	_, err := e.srv.WebUpload(d, "Root/x/y/z.txt", []byte("z"))
	require.NoError(t, err)
	_, err = e.srv.WebUpload(d, "Root/x/w.txt", []byte("w"))
	require.NoError(t, err)
	_, err = e.srv.WebUpload(d, "Root/top.txt", []byte("t"))
	require.NoError(t, err)
	_, err = e.srv.WebMkdir(d, "Elsewhere")
	require.NoError(t, err)
	z, _ := e.srv.Stat(d, "Root/x/y/z.txt")
	x, _ := e.srv.Stat(d, "Root/x")

	got, err := f.StatID(ctx, z.ID)
	require.NoError(t, err)
	require.Equal(t, "x/y/z.txt", got.Path)
	require.Equal(t, z.ETag, got.Version)

	// A folder renamed by a person: the path is where the item is now.
	_, err = e.srv.WebRename(d, "Root/x", "x2")
	require.NoError(t, err)
	got, err = f.StatID(ctx, z.ID)
	require.NoError(t, err)
	require.Equal(t, "x2/y/z.txt", got.Path)

	var paths []string
	for ent, err := range f.ListUnder(ctx, storage.Entry{ID: x.ID, Path: "x", IsDir: true}) {
		require.NoError(t, err)
		paths = append(paths, ent.Path)
	}
	require.ElementsMatch(t, []string{"x2/y", "x2/y/z.txt", "x2/w.txt"}, paths)
	n := 0
	for _, err := range f.ListUnder(ctx, storage.Entry{IsDir: true}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 5, n)

	// Moved out of the root, or deleted: not found.
	_, err = e.srv.WebMove(d, "Root/x2", "Elsewhere")
	require.NoError(t, err)
	_, err = f.StatID(ctx, z.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	for _, err := range f.ListUnder(ctx, storage.Entry{ID: x.ID, Path: "x2", IsDir: true}) {
		require.ErrorIs(t, err, storage.ErrNotFound)
	}
	top, _ := e.srv.Stat(d, "Root/top.txt")
	require.NoError(t, e.srv.WebDelete(d, "Root/top.txt"))
	_, err = f.StatID(ctx, top.ID)
	require.ErrorIs(t, err, storage.ErrNotFound)
	_, err = f.StatID(ctx, "nonexistent")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestServerSideCopy(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	var _ storage.Copier = f
	src, err := f.Put(ctx, rootDir, "a.txt", strings.NewReader("hello"), 5, storage.PutOptions{})
	require.NoError(t, err)
	dir, err := f.MakeDir(ctx, rootDir, "sub")
	require.NoError(t, err)
	e.srv.ResetCalls()
	cp, err := f.Copy(ctx, src, dir, "b.txt")
	require.NoError(t, err)
	require.Equal(t, "sub/b.txt", cp.Path)
	require.NotEqual(t, src.ID, cp.ID)
	require.Equal(t, src.Hashes, cp.Hashes)
	got, _ := e.srv.FileContent(d, "Root/sub/b.txt")
	require.Equal(t, "hello", string(got))
	require.Equal(t, 1, e.srv.CallCount("drives.CopyItem"))
	require.Equal(t, 2, e.srv.CallCount("copy.Monitor"), "polled until complete")
	require.Len(t, e.clock.Sleeps(), 1, "waited between polls on the client's clock")

	// The name is taken: the job fails and nothing is replaced.
	_, err = f.Copy(ctx, src, dir, "B.TXT")
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	got, _ = e.srv.FileContent(d, "Root/sub/b.txt")
	require.Equal(t, "hello", string(got))

	// Polling obeys ctx.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.Copy(cctx, src, dir, "c.txt")
	require.ErrorIs(t, err, context.Canceled)
}

func TestOneVersionPerUpload(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	mt := time.Date(2023, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := range 5 {
		e.srv.ResetCalls()
		ent, err := f.Put(ctx, rootDir, fmt.Sprintf("f%d.txt", i), bytes.NewReader(data(100+i)), int64(100+i), storage.PutOptions{ModTime: mt})
		require.NoError(t, err)
		require.Equal(t, mt, ent.ModTime)
		require.LessOrEqual(t, e.srv.CallCount(""), 2, "calls for one small file: %v", e.srv.Calls())
		n, ok := e.srv.Versions(d, ent.ID)
		require.True(t, ok)
		require.Equal(t, 1, n, "setting the time made a second version")
		it, _ := e.srv.ItemByID(d, ent.ID)
		require.Equal(t, mt, it.ModTime)
	}
	// A new version of an existing file adds exactly one version.
	ent, err := f.Put(ctx, rootDir, "f0.txt", strings.NewReader("new"), 3, storage.PutOptions{ModTime: mt.Add(time.Hour)})
	require.NoError(t, err)
	n, _ := e.srv.Versions(d, ent.ID)
	require.Equal(t, 2, n)
	require.Equal(t, mt.Add(time.Hour), ent.ModTime)
}

func TestUnknownSizeStreamsThroughASession(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	f.SetChunking(msgraph.FragmentMultiple, msgraph.FragmentMultiple)
	f.SetSpoolDir(t.TempDir())
	const n = 3*msgraph.FragmentMultiple + 17
	e.srv.ResetCalls()
	ent, err := f.Put(ctx, rootDir, "u.bin", io.MultiReader(bytes.NewReader(data(n))), -1, storage.PutOptions{})
	require.NoError(t, err)
	require.EqualValues(t, n, ent.Size)
	got, _ := e.srv.FileContent(d, "Root/u.bin")
	require.Equal(t, data(n), got)
	require.Equal(t, 1, e.srv.CallCount("drives.CreateUploadSessionNew"))
	require.Equal(t, 4, e.srv.CallCount("uploadSession.PutFragment"))

	// A source that fails while it is spooled fails the Put and commits
	// nothing. (BenchmarkUnknownSizeUpload1GiB in storage/onedrive shows
	// the heap stays small for 1 GiB, four times the former in-memory cap.)
	_, err = f.Put(ctx, rootDir, "v.bin", &errAfter{bytes.NewReader(data(n))}, -1, storage.PutOptions{})
	require.Error(t, err)
	_, ok := e.srv.Stat(d, "Root/v.bin")
	require.False(t, ok)
	// Small unknown-size files stay one simple PUT.
	e.srv.ResetCalls()
	_, err = f.Put(ctx, rootDir, "s.bin", bytes.NewReader(data(10)), -1, storage.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, e.srv.CallCount(""))
}

// stub is a Graph API that misbehaves: endless pages and parent cycles.
func stub(t *testing.T, h func(w http.ResponseWriter, r *http.Request, base string)) *msgraph.Client {
	return stubPages(t, 0, h)
}

// stubPages is stub with a client that follows at most maxPages pages of
// a listing (0: the default).
func stubPages(t *testing.T, maxPages int, h func(w http.ResponseWriter, r *http.Request, base string)) *msgraph.Client {
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1.0/drives/D/root" {
			fmt.Fprint(w, `{"id":"ROOT","name":"root","root":{},"folder":{"childCount":1}}`)
			return
		}
		if r.URL.Path == "/v1.0/drives/D/items/SUB" {
			fmt.Fprint(w, `{"id":"SUB","name":"Sub","folder":{"childCount":1},"parentReference":{"id":"ROOT","path":"/drives/D/root:"}}`)
			return
		}
		h(w, r, base)
	}))
	t.Cleanup(srv.Close)
	base = srv.URL + "/v1.0"
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: base, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"}),
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond, MaxPages: maxPages})
	require.NoError(t, err)
	return c
}

// finish runs fn and fails the test if it does not return (a hang).
func finish(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("did not return: an endless loop")
		return nil
	}
}

func TestEndlessListingsAreBounded(t *testing.T) {
	t.Run("children repeat a next link", func(t *testing.T) {
		c := stub(t, func(w http.ResponseWriter, r *http.Request, base string) {
			fmt.Fprintf(w, `{"value":[{"id":"F1","name":"f.txt","file":{},"parentReference":{"id":"SUB"}}],"@odata.nextLink":%q}`, base+"/drives/D/items/SUB/children?$skiptoken=same")
		})
		f, err := drivefs.NewFS(ctx, c, "D", "SUB")
		require.NoError(t, err)
		err = finish(t, func() error {
			for _, err := range f.List(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		})
		require.ErrorContains(t, err, "repeats an earlier page")
	})
	t.Run("children never end", func(t *testing.T) {
		page := 0
		c := stubPages(t, 50, func(w http.ResponseWriter, r *http.Request, base string) {
			page++
			fmt.Fprintf(w, `{"value":[{"id":"F%d","name":"f%d.txt","file":{},"parentReference":{"id":"SUB"}}],"@odata.nextLink":%q}`, page, page, fmt.Sprintf("%s/drives/D/items/SUB/children?$skiptoken=%d", base, page))
		})
		f, err := drivefs.NewFS(ctx, c, "D", "SUB")
		require.NoError(t, err)
		err = finish(t, func() error {
			for _, err := range f.List(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		})
		require.ErrorContains(t, err, "did not end after 50 pages")
	})
	t.Run("site libraries repeat a next link", func(t *testing.T) {
		c := stub(t, func(w http.ResponseWriter, r *http.Request, base string) {
			fmt.Fprintf(w, `{"value":[{"id":"D","name":"Documents","driveType":"documentLibrary"}],"@odata.nextLink":%q}`, base+"/sites/S/drives?$skiptoken=same")
		})
		err := finish(t, func() error {
			_, err := c.SiteDrives(ctx, "S")
			return err
		})
		require.ErrorContains(t, err, "repeats an earlier page")
	})
	t.Run("delta repeats a next link", func(t *testing.T) {
		c := stub(t, func(w http.ResponseWriter, r *http.Request, base string) {
			fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, base+"/drives/D/root/delta?token=same")
		})
		f, err := drivefs.NewFS(ctx, c, "D", "")
		require.NoError(t, err)
		err = finish(t, func() error {
			_, _, err := f.Changes(ctx, c.DeltaURL("D", "x"))
			return err
		})
		require.ErrorContains(t, err, "repeats an earlier page")
	})
	t.Run("delta never ends, and obeys ctx", func(t *testing.T) {
		page := 0
		c := stubPages(t, 40, func(w http.ResponseWriter, r *http.Request, base string) {
			page++
			fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, fmt.Sprintf("%s/drives/D/root/delta?token=%d", base, page))
		})
		f, err := drivefs.NewFS(ctx, c, "D", "")
		require.NoError(t, err)
		err = finish(t, func() error {
			_, _, err := f.Changes(ctx, c.DeltaURL("D", "x"))
			return err
		})
		require.ErrorContains(t, err, "did not end after 40 pages")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err = f.Changes(cctx, c.DeltaURL("D", "x"))
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("parent cycle", func(t *testing.T) {
		items := map[string]string{
			"A": `{"id":"A","name":"a","folder":{},"parentReference":{"id":"B"}}`,
			"B": `{"id":"B","name":"b","folder":{},"parentReference":{"id":"A"}}`,
			"C": `{"id":"C","name":"c.txt","file":{},"parentReference":{"id":"A"}}`,
		}
		c := stub(t, func(w http.ResponseWriter, r *http.Request, base string) {
			if id, ok := strings.CutPrefix(r.URL.Path, "/v1.0/drives/D/items/"); ok && items[id] != "" {
				fmt.Fprint(w, items[id])
				return
			}
			fmt.Fprintf(w, `{"value":[%s,%s],"@odata.deltaLink":%q}`, items["C"], items["A"], base+"/drives/D/root/delta?token=next")
		})
		f, err := drivefs.NewFS(ctx, c, "D", "")
		require.NoError(t, err)
		err = finish(t, func() error {
			_, _, err := f.Changes(ctx, c.DeltaURL("D", "x"))
			return err
		})
		require.ErrorContains(t, err, "cycle")
		err = finish(t, func() error {
			for _, err := range f.List(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		})
		require.ErrorContains(t, err, "cycle")
		err = finish(t, func() error {
			_, err := f.StatID(ctx, "C")
			return err
		})
		require.ErrorContains(t, err, "cycle")
	})
}

func TestWalkYieldsAnItemMovedDuringItOnce(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	_, err := e.srv.WebUpload(d, "Root/a/x.txt", []byte("x"))
	require.NoError(t, err)
	_, err = e.srv.WebMkdir(d, "Root/b")
	require.NoError(t, err)
	a, _ := e.srv.Stat(d, "Root/a")
	x, _ := e.srv.Stat(d, "Root/a/x.txt")
	moved := false
	e.srv.Observe(func(ex graphtest.Exchange) {
		// A person moves x from a (just listed) into b (not yet listed).
		if ex.Op == "drives.ListChildren" && strings.Contains(ex.Request.URL.Path, a.ID) && !moved {
			moved = true
			_, err := e.srv.WebMove(d, "Root/a/x.txt", "Root/b")
			require.NoError(t, err)
		}
	})
	seen := 0
	for ent, err := range f.List(ctx) {
		require.NoError(t, err)
		if ent.ID == x.ID {
			seen++
		}
	}
	require.True(t, moved)
	require.Equal(t, 1, seen, "an item met twice in one walk is yielded once")
}

func TestSessionCancelledWhenTheNameIsTakenAtCompletion(t *testing.T) {
	e := newEnv(t, graphtest.Options{})
	d := e.srv.MyDriveID()
	f := e.fs(t, "Root")
	f.SetChunking(msgraph.FragmentMultiple, msgraph.FragmentMultiple)
	e.srv.Observe(func(ex graphtest.Exchange) {
		if ex.Op == "drives.CreateUploadSessionNew" {
			// A person saves a file of that name while we upload.
			_, err := e.srv.WebUpload(d, "Root/n.bin", []byte("person's"))
			require.NoError(t, err)
		}
	})
	n := 2*msgraph.FragmentMultiple + 5
	_, err := f.Put(ctx, rootDir, "n.bin", bytes.NewReader(data(n)), int64(n), storage.PutOptions{NoOverwrite: true})
	require.ErrorIs(t, err, storage.ErrAlreadyExists)
	got, _ := e.srv.FileContent(d, "Root/n.bin")
	require.Equal(t, "person's", string(got))
	require.Zero(t, e.srv.SessionCount(), "the session was left open")
}

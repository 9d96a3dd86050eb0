package storagetest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/storage/storagetest"
)

// faultEnv names the fault TestBrokenTarget runs the suite against.
const faultEnv = "STORAGETEST_BROKEN_FAULT"

// broken wraps a memory Storage and breaks one rule of the contract.
// Methods it does not override are the memory Storage's (including the
// optional capabilities).
type broken struct {
	*memory.Storage
	parent *memory.Storage // the tree the broken Storage is a Sub of
	fault  string

	mu    sync.Mutex
	first map[string]storage.Entry // StatID's first answer by ID ("statid-stale-path")
}

// exactly yields at most n bytes of r and then io.EOF, never reading
// further: what a connector does that reads exactly the declared size.
type exactly struct {
	r io.Reader
	n int64
}

// hidesLateError passes r on but turns an error after n bytes into io.EOF.
type hidesLateError struct {
	r    io.Reader
	n    int64
	read int64
}

func (h *hidesLateError) Read(p []byte) (int, error) {
	k, err := h.r.Read(p)
	h.read += int64(k)
	if h.read >= h.n && err != nil && !errors.Is(err, io.EOF) {
		err = io.EOF
	}
	return k, err
}

func (e *exactly) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	k, err := e.r.Read(p)
	e.n -= int64(k)
	if e.n == 0 && err != nil && !errors.Is(err, io.EOF) {
		err = io.EOF // the error after the last byte goes unnoticed
	}
	return k, err
}

// List omits every item named "many 03.txt" (a listing that loses an item).
func (b *broken) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	if b.fault != "list-omits" {
		return b.Storage.List(ctx)
	}
	return func(yield func(storage.Entry, error) bool) {
		for e, err := range b.Storage.List(ctx) {
			if err == nil && e.Name() == "many 03.txt" {
				continue
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

func (b *broken) Stat(ctx context.Context, p string) (storage.Entry, error) {
	e, err := b.Storage.Stat(ctx, p)
	if b.fault == "stat-plain-error" && errors.Is(err, storage.ErrNotFound) {
		return e, errors.New("no such item")
	}
	return e, err
}

func (b *broken) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	switch b.fault {
	case "put-truncates-long":
		if size >= 0 {
			r = io.MultiReader(&exactly{r: r, n: size}) // stops at size: extra bytes are never seen
		}
	case "put-ignores-error-after-size":
		if size >= 0 {
			r = &hidesLateError{r: r, n: size}
		}
	case "chunked-truncates":
		if t := b.Features().Upload.ChunkThreshold; t > 0 && size > t {
			r = &exactly{r: r, n: size}
		}
	case "put-keeps-partial":
		var buf bytes.Buffer
		e, err := b.Storage.Put(ctx, parent, name, io.TeeReader(r, &buf), size, opt)
		if err != nil && buf.Len() > 0 {
			// Write what arrived, as a careless connector would.
			b.Storage.Put(ctx, parent, name, bytes.NewReader(buf.Bytes()), int64(buf.Len()), storage.PutOptions{})
		}
		return e, err
	case "update-changes-id":
		if old, err := b.Storage.Stat(ctx, join(parent.Path, name)); err == nil && !old.IsDir && !opt.NoOverwrite && opt.ExpectedVersion == "" {
			data, err := io.ReadAll(r)
			if err != nil {
				return storage.Entry{}, err
			}
			b.Storage.Delete(ctx, old)
			return b.Storage.Put(ctx, parent, name, bytes.NewReader(data), size, opt)
		}
	case "ignore-expected-version":
		opt.ExpectedVersion = ""
	case "hang-on-short":
		data, err := io.ReadAll(r)
		if err != nil {
			return storage.Entry{}, err
		}
		if size >= 0 && int64(len(data)) < size {
			<-ctx.Done() // waits for bytes that never come
			return storage.Entry{}, ctx.Err()
		}
		return b.Storage.Put(ctx, parent, name, bytes.NewReader(data), size, opt)
	case "mangle-names":
		name = strings.ReplaceAll(name, ":", "-")
	case "wrong-hash":
		e, err := b.Storage.Put(ctx, parent, name, r, size, opt)
		if err == nil {
			e.Hashes = storage.Hashes{storage.HashSHA256: strings.Repeat("0", 64)}
		}
		return e, err
	}
	return b.Storage.Put(ctx, parent, name, r, size, opt)
}

func (b *broken) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	e, err := b.Storage.MakeDir(ctx, parent, name)
	if b.fault == "mkdir-twice-ok" && errors.Is(err, storage.ErrAlreadyExists) {
		return e, nil
	}
	return e, err
}

func (b *broken) Move(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	if b.fault == "move-ignores-version" {
		e.Version = ""
	}
	if b.fault == "move-changes-id" && !e.IsDir {
		data, err := b.ReadFile(e.Path)
		if err != nil {
			return storage.Entry{}, err
		}
		n, err := b.Storage.Put(ctx, newParent, newName, bytes.NewReader(data), int64(len(data)), storage.PutOptions{NoOverwrite: true})
		if err != nil {
			return storage.Entry{}, err
		}
		return n, b.Storage.Delete(ctx, e)
	}
	return b.Storage.Move(ctx, e, newParent, newName)
}

func (b *broken) Delete(ctx context.Context, e storage.Entry) error {
	if b.fault == "delete-ignores-version" {
		e.Version = ""
	}
	err := b.Storage.Delete(ctx, e)
	if b.fault == "delete-missing-ok" && errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

func (b *broken) Changes(ctx context.Context, cursor string) ([]storage.Change, string, error) {
	ch, next, err := b.Storage.Changes(ctx, cursor)
	if b.fault == "feed-drops-deletes" {
		kept := ch[:0]
		for _, c := range ch {
			if !c.Deleted {
				kept = append(kept, c)
			}
		}
		ch = kept
	}
	return ch, next, err
}

func (b *broken) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	if b.fault == "resume-truncates" {
		r = &exactly{r: r, n: st.Size - st.Offset}
	}
	return b.Storage.ResumeUpload(ctx, st, r, opt)
}

func (b *broken) StatID(ctx context.Context, id string) (storage.Entry, error) {
	switch b.fault {
	case "statid-finds-trashed":
		for _, tr := range b.Trash() {
			if tr.Entry.ID == id {
				return tr.Entry, nil
			}
		}
	case "statid-stale-path":
		b.mu.Lock()
		defer b.mu.Unlock()
		if e, ok := b.first[id]; ok {
			return e, nil
		}
		e, err := b.Storage.StatID(ctx, id)
		if err == nil {
			b.first[id] = e
		}
		return e, err
	case "statid-ignores-root":
		if _, err := b.Storage.StatID(ctx, id); errors.Is(err, storage.ErrNotFound) {
			return b.parent.StatID(ctx, id)
		}
	}
	return b.Storage.StatID(ctx, id)
}

func (b *broken) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	switch b.fault {
	case "listunder-prefix":
		return func(yield func(storage.Entry, error) bool) {
			for e, err := range b.Storage.List(ctx) {
				if err != nil || strings.HasPrefix(e.Path, dir.Path) && e.Path != dir.Path {
					if !yield(e, err) {
						return
					}
				}
			}
		}
	case "listunder-missing-empty":
		return func(yield func(storage.Entry, error) bool) {
			for e, err := range b.Storage.ListUnder(ctx, dir) {
				if errors.Is(err, storage.ErrNotFound) {
					return
				}
				if !yield(e, err) {
					return
				}
			}
		}
	}
	return b.Storage.ListUnder(ctx, dir)
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// faults maps each fault to the check that must catch it.
var faults = []struct {
	fault, check string
}{
	{"list-omits", "List/Complete"},
	{"stat-plain-error", "NotFound/Stat"},
	{"put-keeps-partial", "Put/ReaderError"},
	{"update-changes-id", "Put/Update"},
	{"move-changes-id", "Move/RenameFile"},
	{"wrong-hash", "Hashes/Advertised"},
	{"ignore-expected-version", "Put/ExpectedVersion"},
	{"feed-drops-deletes", "ChangeFeed/Reports"},
	{"hang-on-short", "Put/DeclaredSizeTooLarge"},
	{"mangle-names", "Names/Hostile/char_U+003A"},
	{"mkdir-twice-ok", "Folders/MakeDirTwice"},
	{"delete-missing-ok", "Delete/Missing"},
	{"put-truncates-long", "Put/DeclaredSizeTooSmall"},
	{"put-ignores-error-after-size", "Put/ReaderErrorAfterSize"},
	{"chunked-truncates", "Chunked/TornSource"},
	{"delete-ignores-version", "Delete/Conditional"},
	{"move-ignores-version", "Move/Conditional"},
	{"statid-finds-trashed", "IDStater/Deleted"},
	{"statid-stale-path", "IDStater/Follows"},
	{"statid-ignores-root", "IDStater/OutsideRoot"},
	{"listunder-prefix", "SubtreeLister/Exact"},
	{"listunder-missing-empty", "SubtreeLister/Missing"},
	{"resume-truncates", "ResumableUpload/TornSource"},
}

// newBroken makes the Storage under test: a Sub of a memory tree (so that
// items can be moved out of its root) broken by fault.
func newBroken(t *testing.T, fault string) storage.Storage {
	parent := memory.New()
	if _, err := parent.WriteFile("outside.txt", []byte("noise")); err != nil {
		t.Fatal(err)
	}
	d, err := parent.Mkdirs("root")
	if err != nil {
		t.Fatal(err)
	}
	return &broken{Storage: parent.Sub(d.ID), parent: parent, fault: fault, first: map[string]storage.Entry{}}
}

// brokenOpt is the suite's configuration for the broken Storages.
func brokenOpt(fault string, timeout time.Duration) storagetest.Opt {
	return storagetest.Opt{
		NewStorage: func(t *testing.T) storage.Storage { return newBroken(t, fault) },
		SetChunkSize: func(s storage.Storage, chunk int64) bool {
			s.(*broken).SetChunking(chunk, chunk)
			return true
		},
		MoveOut: func(t *testing.T, s storage.Storage, e storage.Entry) {
			if _, err := s.(*broken).parent.Move(context.Background(), storage.Entry{ID: e.ID}, storage.Entry{}, "out "+e.ID); err != nil {
				t.Fatalf("moving %q out: %v", e.Path, err)
			}
		},
		Timeout: timeout,
	}
}

// TestBrokenTarget runs the suite against a broken Storage. It does
// something only when TestSuiteCatchesFaults runs it in a child process
// with the fault named in the environment; there it is meant to fail.
func TestBrokenTarget(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Log("runs only as a child of TestSuiteCatchesFaults")
		return
	}
	storagetest.Run(t, brokenOpt(fault, 300*time.Millisecond))
}

// TestSuiteCatchesFaults proves that the suite fails on each broken rule
// and names the check that caught it.
func TestSuiteCatchesFaults(t *testing.T) {
	for _, f := range faults {
		t.Run(f.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenTarget$", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), faultEnv+"="+f.fault)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed against fault %q or did not run (%v):\n%s", f.fault, err, out)
			}
			want := "--- FAIL: TestBrokenTarget/" + f.check + " "
			if !strings.Contains(string(out), want) {
				t.Errorf("fault %q: output lacks %q:\n%s", f.fault, want, out)
			}
		})
	}
}

// TestMemoryPasses is the control: the unbroken wrapper passes.
func TestMemoryPasses(t *testing.T) {
	storagetest.Run(t, brokenOpt("", 5*time.Second))
}

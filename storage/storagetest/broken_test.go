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
	fault string
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
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(*testing.T) storage.Storage { return &broken{Storage: memory.New(), fault: fault} },
		Timeout:    300 * time.Millisecond,
	})
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
	storagetest.Run(t, storagetest.Opt{
		NewStorage: func(*testing.T) storage.Storage { return &broken{Storage: memory.New()} },
		Timeout:    5 * time.Second,
	})
}

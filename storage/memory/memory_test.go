package memory_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

var ctx = context.Background()

// must returns v, or panics (failing the test) on an error from set-up.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func paths(t *testing.T, s *memory.Storage) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Path)
	}
	sort.Strings(out)
	return out
}

// feed returns the changes since cur as "path" or "-path" (deleted), sorted.
func feed(t *testing.T, s *memory.Storage, cur string) []string {
	t.Helper()
	ch, _, err := s.Changes(ctx, cur)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range ch {
		p := c.Entry.Path
		if c.Deleted {
			p = "-" + p
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestSubFollowsRoot(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, parent *memory.Storage)
		gone   bool
	}{
		{"renamed", func(t *testing.T, p *memory.Storage) { must(p.Rename("proj/tool", "proj/tool renamed")) }, false},
		{"moved", func(t *testing.T, p *memory.Storage) {
			must(p.Mkdirs("elsewhere"))
			must(p.Rename("proj/tool", "elsewhere/tool"))
		}, false},
		{"parent deleted", func(t *testing.T, p *memory.Storage) {
			if err := p.Remove("proj"); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"deleted", func(t *testing.T, p *memory.Storage) {
			if err := p.Remove("proj/tool"); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := memory.New()
			d := must(parent.Mkdirs("proj/tool"))
			sub := parent.Sub(d.ID)
			must(sub.WriteFile("a/b.txt", []byte("x")))
			tc.change(t, parent)
			root, err := sub.Stat(ctx, "")
			if tc.gone {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("Stat(\"\") after the root was deleted: %v, want ErrNotFound", err)
				}
				_, err = sub.Put(ctx, storage.Entry{}, "x", strings.NewReader("x"), 1, storage.PutOptions{})
				if !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("Put into a deleted root: %v", err)
				}
				for _, err := range sub.List(ctx) {
					if !errors.Is(err, storage.ErrNotFound) {
						t.Fatalf("List of a deleted root: %v", err)
					}
				}
				return
			}
			if err != nil || root.ID != d.ID || root.Path != "" || root.ParentID != "" {
				t.Fatalf("Stat(\"\") = %+v, %v", root, err)
			}
			if got := paths(t, sub); !slices.Equal(got, []string{"a", "a/b.txt"}) {
				t.Fatalf("sub lists %q", got)
			}
			if got := string(must(sub.ReadFile("a/b.txt"))); got != "x" {
				t.Fatalf("content %q", got)
			}
		})
	}
}

func TestSubIsolation(t *testing.T) {
	parent := memory.New()
	must(parent.WriteFile("outside.txt", []byte("o")))
	d := must(parent.Mkdirs("in"))
	sub := parent.Sub(d.ID)
	out := must(parent.Stat(ctx, "outside.txt"))
	if _, err := sub.Open(ctx, out); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open of an item outside the sub: %v", err)
	}
	if err := sub.Delete(ctx, storage.Entry{}); !errors.Is(err, storage.ErrPermissionDenied) {
		t.Errorf("Delete of the root: %v", err)
	}
	if _, err := sub.Move(ctx, out, storage.Entry{}, "stolen.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Move of an item outside the sub: %v", err)
	}
}

func TestChangeFeed(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *memory.Storage)
		act   func(t *testing.T, s *memory.Storage)
		want  []string // as the sub rooted at "root" sees it
	}{
		{"create and update",
			func(t *testing.T, s *memory.Storage) {},
			func(t *testing.T, s *memory.Storage) {
				must(s.WriteFile("root/a/x.txt", []byte("1")))
				must(s.WriteFile("root/a/x.txt", []byte("2")))
				must(s.WriteFile("other/y.txt", []byte("1")))
			},
			[]string{"a", "a/x.txt"}},
		{"delete folder reports descendants",
			func(t *testing.T, s *memory.Storage) { must(s.WriteFile("root/d/e/f.txt", nil)) },
			func(t *testing.T, s *memory.Storage) {
				if err := s.Remove("root/d"); err != nil {
					t.Fatal(err)
				}
			},
			[]string{"-d", "-d/e", "-d/e/f.txt"}},
		{"move within",
			func(t *testing.T, s *memory.Storage) { must(s.WriteFile("root/d/f.txt", nil)) },
			func(t *testing.T, s *memory.Storage) { must(s.Rename("root/d", "root/e")) },
			[]string{"e"}},
		{"move out is a deletion",
			func(t *testing.T, s *memory.Storage) { must(s.WriteFile("root/d/f.txt", nil)); must(s.Mkdirs("other")) },
			func(t *testing.T, s *memory.Storage) { must(s.Rename("root/d", "other/d")) },
			[]string{"-d", "-d/f.txt"}},
		{"move in is a creation",
			func(t *testing.T, s *memory.Storage) { must(s.WriteFile("other/d/f.txt", nil)); must(s.Mkdirs("root")) },
			func(t *testing.T, s *memory.Storage) { must(s.Rename("other/d", "root/d")) },
			[]string{"d", "d/f.txt"}},
		{"created then deleted",
			func(t *testing.T, s *memory.Storage) { must(s.Mkdirs("root")) },
			func(t *testing.T, s *memory.Storage) {
				must(s.WriteFile("root/tmp.txt", nil))
				if err := s.Remove("root/tmp.txt"); err != nil {
					t.Fatal(err)
				}
			},
			[]string{"-tmp.txt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New()
			must(s.Mkdirs("root"))
			tc.setup(t, s)
			sub := s.Sub(must(s.Stat(ctx, "root")).ID)
			cur := must(sub.LatestCursor(ctx))
			whole := must(s.LatestCursor(ctx))
			tc.act(t, s)
			if got := feed(t, sub, cur); !slices.Equal(got, tc.want) {
				t.Errorf("sub feed %q, want %q", got, tc.want)
			}
			var rooted []string
			for _, p := range tc.want {
				if strings.HasPrefix(p, "-") {
					rooted = append(rooted, "-root/"+p[1:])
				} else {
					rooted = append(rooted, "root/"+p)
				}
			}
			for _, p := range feed(t, s, whole) {
				if strings.Contains(p, "root/") && !slices.Contains(rooted, p) {
					t.Errorf("whole-tree feed reports %q, want only %q below root", p, rooted)
				}
			}
		})
	}
}

func TestCursorExpired(t *testing.T) {
	s := memory.New(memory.WithChangeLogSize(10))
	old := must(s.LatestCursor(ctx))
	for i := range 100 {
		must(s.WriteFile("f.txt", []byte{byte(i)}))
	}
	for _, c := range []string{old, "", "garbage", "mc999999.1", must(memory.New().LatestCursor(ctx))} {
		if _, _, err := s.Changes(ctx, c); !errors.Is(err, storage.ErrCursorExpired) {
			t.Errorf("Changes(%q): %v, want ErrCursorExpired", c, err)
		}
	}
	ch, _, err := s.Changes(ctx, must(s.LatestCursor(ctx)))
	if err != nil || len(ch) != 0 {
		t.Errorf("Changes of a fresh cursor: %v, %v", ch, err)
	}
}

func TestFaults(t *testing.T) {
	boom := errors.New("boom")
	throttled := storage.Throttled(time.Second, nil)
	tests := []struct {
		name   string
		inject func(s *memory.Storage)
		calls  int   // Stat calls made
		failAt []int // which of them (1-based) fail
		want   error
	}{
		{"FailNext 1", func(s *memory.Storage) { s.FailNext(memory.OpStat, 1, boom) }, 3, []int{1}, boom},
		{"FailNext 3", func(s *memory.Storage) { s.FailNext(memory.OpStat, 3, throttled) }, 4, []int{3}, storage.ErrThrottled},
		{"FailNext twice", func(s *memory.Storage) {
			s.FailNext(memory.OpStat, 1, boom)
			s.FailNext(memory.OpStat, 2, boom)
		}, 3, []int{1, 2}, boom},
		{"FailAlways", func(s *memory.Storage) { s.FailAlways(memory.OpStat, boom) }, 3, []int{1, 2, 3}, boom},
		{"other op", func(s *memory.Storage) { s.FailNext(memory.OpPut, 1, boom) }, 2, nil, nil},
		{"Inject after N calls, twice", func(s *memory.Storage) {
			s.Inject(memory.Fault{Op: memory.OpStat, Err: boom, After: 1, Times: 2})
		}, 4, []int{2, 3}, boom},
		{"Inject on every operation, forever", func(s *memory.Storage) {
			s.Inject(memory.Fault{Err: boom, Times: memory.Forever})
		}, 3, []int{1, 2, 3}, boom},
		{"Inject latency only", func(s *memory.Storage) {
			s.Inject(memory.Fault{Op: memory.OpStat, Latency: time.Millisecond})
		}, 2, nil, nil},
		{"every matching call counts towards After", func(s *memory.Storage) {
			s.Inject(memory.Fault{Op: memory.OpStat, Err: boom})
			s.Inject(memory.Fault{Op: memory.OpStat, Err: throttled, After: 2})
		}, 4, []int{1, 3}, nil},
		{"hook", func(s *memory.Storage) {
			n := 0
			s.SetHook(func(op memory.Op) error {
				if n++; n == 2 {
					return context.Canceled
				}
				return nil
			})
		}, 3, []int{2}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := memory.New()
			tc.inject(s)
			for i := 1; i <= tc.calls; i++ {
				_, err := s.Stat(ctx, "")
				if slices.Contains(tc.failAt, i) {
					if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
						t.Errorf("call %d: %v, want %v", i, err, tc.want)
					}
				} else if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			}
			if got := s.Calls()[memory.OpStat]; got != tc.calls {
				t.Errorf("Calls()[Stat] = %d, want %d", got, tc.calls)
			}
			if got := s.CallCount(memory.OpStat); got != tc.calls || s.CallCount("") != tc.calls {
				t.Errorf("CallCount(Stat) = %d, CallCount(\"\") = %d, want %d", got, s.CallCount(""), tc.calls)
			}
			s.ResetCalls()
			s.ClearFaults()
			if _, err := s.Stat(ctx, ""); err != nil || s.Calls()[memory.OpStat] != 1 {
				t.Errorf("after ResetCalls and ClearFaults: %v, %v", err, s.Calls())
			}
		})
	}
}

func TestFaultsCancelledContext(t *testing.T) {
	s := memory.New()
	c, cancel := context.WithCancel(ctx)
	s.SetHook(func(memory.Op) error { cancel(); return nil })
	s.SetLatency(memory.OpMakeDir, time.Hour) // ends when the context does
	if _, err := s.MakeDir(c, storage.Entry{}, "d"); !errors.Is(err, context.Canceled) {
		t.Fatalf("MakeDir: %v", err)
	}
	if _, err := s.Stat(ctx, "d"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a cancelled MakeDir left %v", err)
	}
}

func TestShortRead(t *testing.T) {
	s := memory.New()
	e := must(s.WriteFile("f", []byte("0123456789")))
	tests := []struct {
		k    int64
		err  error
		want string
	}{
		{4, nil, "0123"},
		{4, io.ErrUnexpectedEOF, "0123"},
		{-1, nil, "0123456789"},
	}
	for _, tc := range tests {
		s.SetShortRead(tc.k, tc.err)
		rc := must(s.Open(ctx, e))
		got, err := io.ReadAll(rc)
		rc.Close()
		if string(got) != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("short read %d: %q, %v; want %q, %v", tc.k, got, err, tc.want, tc.err)
		}
	}
}

func TestVersionsAndTrash(t *testing.T) {
	for _, on := range []bool{true, false} {
		clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		s := memory.New(memory.WithVersionHistory(on), memory.WithRecycleBin(on),
			memory.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
		s.SetUser("ann")
		e := must(s.WriteFile("d/f.txt", []byte("one")))
		must(s.WriteFile("d/f.txt", []byte("two")))
		vs := s.Versions(e.ID)
		wantN := 1
		if on {
			wantN = 2
		}
		if len(vs) != wantN || string(vs[len(vs)-1].Data) != "two" || (on && string(vs[0].Data) != "one") {
			t.Fatalf("history %v: Versions = %+v", on, vs)
		}
		if on && (vs[0].Version == vs[1].Version || !vs[0].ModTime.Before(vs[1].ModTime) || vs[0].ModifiedBy != "ann") {
			t.Errorf("versions not distinct: %+v", vs)
		}
		if err := s.Remove("d"); err != nil {
			t.Fatal(err)
		}
		tr := s.Trash()
		if !on {
			if len(tr) != 0 {
				t.Errorf("recycle bin off holds %+v", tr)
			}
			continue
		}
		if len(tr) != 2 || tr[0].Entry.Path != "d/f.txt" || string(tr[0].Data) != "two" || tr[1].Entry.Path != "d" || !tr[1].Entry.IsDir {
			t.Fatalf("Trash = %+v", tr)
		}
		if s.Versions(e.ID) != nil {
			t.Errorf("a deleted file still has versions")
		}
		s.EmptyTrash()
		if len(s.Trash()) != 0 {
			t.Errorf("EmptyTrash left %+v", s.Trash())
		}
	}
}

func TestRules(t *testing.T) {
	s := memory.New(memory.WithNameRules(storage.NameRules{InvalidChars: ":", MaxPathLength: 12}),
		memory.CaseInsensitive(), memory.WithMaxDepth(2), memory.WithMaxFileSize(5))
	d := must(s.Mkdirs("a/b"))
	f := must(s.WriteFile("a/f", []byte("x")))
	var inv *storage.InvalidNameError
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"put invalid", func() error {
			_, err := s.Put(ctx, d, "x:y", strings.NewReader(""), 0, storage.PutOptions{})
			return err
		}, storage.ErrInvalidName},
		{"mkdir invalid", func() error { _, err := s.MakeDir(ctx, storage.Entry{}, "x:y"); return err }, storage.ErrInvalidName},
		{"move invalid", func() error { _, err := s.Move(ctx, f, storage.Entry{}, "x:y"); return err }, storage.ErrInvalidName},
		{"path too long", func() error { _, err := s.MakeDir(ctx, d, "long name"); return err }, storage.ErrInvalidName},
		{"too deep", func() error { _, err := s.MakeDir(ctx, d, "c"); return err }, storage.ErrUnsupported},
		{"move too deep", func() error {
			x := must(s.Mkdirs("x/y"))
			_, err := s.Move(ctx, must(s.Stat(ctx, x.Dir())), d, "x")
			return err
		}, storage.ErrUnsupported},
		{"into itself", func() error {
			_, err := s.Move(ctx, must(s.Stat(ctx, "a")), d, "loop")
			return err
		}, storage.ErrUnsupported},
		{"too large", func() error {
			_, err := s.Put(ctx, storage.Entry{}, "big", strings.NewReader("123456"), -1, storage.PutOptions{})
			return err
		}, storage.ErrTooLarge},
		{"case-insensitive clash", func() error { _, err := s.MakeDir(ctx, storage.Entry{}, "A"); return err }, storage.ErrAlreadyExists},
		{"put under a file", func() error {
			_, err := s.Put(ctx, f, "x", strings.NewReader(""), 0, storage.PutOptions{})
			return err
		}, storage.ErrNotDir},
		{"open folder", func() error { _, err := s.Open(ctx, d); return err }, storage.ErrIsDir},
		{"malformed path", func() error { _, err := s.Stat(ctx, "a//b"); return err }, storage.ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if errors.Is(err, storage.ErrInvalidName) && !errors.As(err, &inv) {
				t.Errorf("%T is no *storage.InvalidNameError", err)
			}
		})
	}
	if e, err := s.Stat(ctx, "A/B"); err != nil || e.ID != d.ID || e.Path != "a/b" {
		t.Errorf("case-insensitive Stat: %+v, %v", e, err)
	}
}

func TestResumeUpload(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := memory.New(memory.WithChunking(10, 10), memory.WithClock(func() time.Time { return now }),
		memory.WithUploadSessionTTL(time.Hour))
	var states []storage.UploadState
	save := func(st storage.UploadState) error { states = append(states, st); return nil }

	// The third chunk fails; the state of the second is saved.
	s.FailNext(memory.OpUploadChunk, 3, storage.Throttled(0, nil))
	if _, err := s.Put(ctx, storage.Entry{}, "f", bytes.NewReader(data), 100, storage.PutOptions{OnUploadState: save}); !errors.Is(err, storage.ErrThrottled) {
		t.Fatalf("Put: %v", err)
	}
	st := states[len(states)-1]
	if st.Offset != 20 || st.Size != 100 || st.Token == "" || st.Expires != now.Add(time.Hour) {
		t.Fatalf("state %+v", st)
	}
	bad := st
	bad.Offset = 30
	if _, err := s.ResumeUpload(ctx, bad, bytes.NewReader(data[30:]), storage.PutOptions{}); !errors.Is(err, storage.ErrPreconditionFailed) {
		t.Errorf("resume beyond the confirmed offset: %v", err)
	}
	// Resending from an earlier offset is fine.
	early := st
	early.Offset = 10
	e, err := s.ResumeUpload(ctx, early, bytes.NewReader(data[10:]), storage.PutOptions{OnUploadState: save})
	if err != nil {
		t.Fatal(err)
	}
	if got := must(s.ReadFile("f")); !bytes.Equal(got, data) || e.Size != 100 {
		t.Fatalf("resumed content %q", got)
	}
	if _, err := s.ResumeUpload(ctx, st, bytes.NewReader(data[20:]), storage.PutOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a finished session resumed again: %v", err)
	}
	if got := s.Calls()[memory.OpUploadChunk]; got != 3+9 {
		t.Errorf("UploadChunk calls %d, want 12", got)
	}

	// An expired session is gone.
	states = nil
	stop := errors.New("stop")
	_, err = s.Put(ctx, storage.Entry{}, "g", bytes.NewReader(data), 100, storage.PutOptions{OnUploadState: func(st storage.UploadState) error {
		states = append(states, st)
		return stop
	}})
	if !errors.Is(err, stop) || strings.Contains(err.Error(), states[0].Token) {
		t.Fatalf("Put: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := s.ResumeUpload(ctx, states[0], bytes.NewReader(data[10:]), storage.PutOptions{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("resume of an expired session: %v", err)
	}
}

func TestPutSizes(t *testing.T) {
	tests := []struct {
		name string
		data string
		size int64
		ok   bool
	}{
		{"exact", "hello", 5, true},
		{"unknown", "hello", -1, true},
		{"short", "hello", 6, false},
		{"long", "hello", 4, false},
	}
	for _, chunked := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				s := memory.New(memory.WithChunking(map[bool]int64{false: 0, true: 2}[chunked], 2))
				_, err := s.Put(ctx, storage.Entry{}, "f", strings.NewReader(tc.data), tc.size, storage.PutOptions{})
				if (err == nil) != tc.ok {
					t.Fatalf("chunked %v: Put: %v", chunked, err)
				}
				got, err := s.ReadFile("f")
				if tc.ok && string(got) != tc.data {
					t.Errorf("content %q, %v", got, err)
				}
				if !tc.ok && !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("a failed Put left %q, %v", got, err)
				}
			})
		}
	}
}

func TestWatchAndCopyAndHash(t *testing.T) {
	s := memory.New(memory.WithHashes(storage.HashMD5))
	c, cancel := context.WithCancel(ctx)
	ch := must(s.Watch(c))
	e := must(s.WriteFile("a.txt", []byte("abc")))
	<-ch // a signal is waiting
	cp := must(s.Copy(ctx, e, storage.Entry{}, "b.txt"))
	if cp.ID == e.ID || cp.Hashes[storage.HashMD5] != "900150983cd24fb0d6963f7d28e17f72" {
		t.Errorf("copy %+v", cp)
	}
	if h := must(s.Hash(ctx, cp, storage.HashSHA1)); h != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Errorf("sha1 %q", h)
	}
	if _, err := s.Hash(ctx, cp, storage.HashQuickXor); !errors.Is(err, storage.ErrUnsupported) {
		t.Errorf("quickxor: %v", err)
	}
	cancel()
	for range ch {
	}
}

func TestBadInput(t *testing.T) {
	s := memory.New()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"nil reader, size 3", func() error {
			_, err := s.Put(ctx, storage.Entry{}, "a", nil, 3, storage.PutOptions{})
			return err
		}, nil},
		{"empty name", func() error { _, err := s.WriteFile("", nil); return err }, storage.ErrInvalidName},
		{"unknown parent ID", func() error {
			_, err := s.MakeDir(ctx, storage.Entry{ID: "nope"}, "x")
			return err
		}, storage.ErrNotFound},
		{"resume without session", func() error {
			_, err := s.ResumeUpload(ctx, storage.UploadState{}, nil, storage.PutOptions{})
			return err
		}, storage.ErrNotFound},
		{"open at beyond end", func() error {
			e := must(s.WriteFile("f", []byte("abc")))
			_, err := s.OpenAt(ctx, e, 4)
			return err
		}, storage.ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("%v, want an error matching %v", err, tc.want)
			}
		})
	}
}

// TestListPathsAfterMoves checks that List reports current paths, in the
// whole tree and in Subs, after folders above, at and below a Sub's root
// were renamed and moved.
func TestListPathsAfterMoves(t *testing.T) {
	s := memory.New()
	must(s.WriteFile("p/q/r/f.txt", []byte("1")))
	must(s.WriteFile("p/q/g.txt", []byte("2")))
	must(s.WriteFile("p/h.txt", []byte("3")))
	sub := s.Sub(must(s.Stat(ctx, "p/q")).ID)
	check := func(st *memory.Storage, want ...string) {
		t.Helper()
		if got := paths(t, st); !slices.Equal(got, want) {
			t.Fatalf("lists %q, want %q", got, want)
		}
		for e, err := range st.List(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if got := must(st.Stat(ctx, e.Path)); got.ID != e.ID {
				t.Fatalf("List says %s is %s, Stat says %s", e.Path, e.ID, got.ID)
			}
		}
	}
	check(s, "p", "p/h.txt", "p/q", "p/q/g.txt", "p/q/r", "p/q/r/f.txt")
	check(sub, "g.txt", "r", "r/f.txt")
	must(s.Rename("p", "P2"))                   // above the Sub's root
	must(s.Rename("P2/q/r", "P2/q/r2"))         // below it
	must(s.Rename("P2/q/r2/f.txt", "P2/f.txt")) // out of it
	check(s, "P2", "P2/f.txt", "P2/h.txt", "P2/q", "P2/q/g.txt", "P2/q/r2")
	check(sub, "g.txt", "r2")
	must(s.Mkdirs("top"))
	must(s.Rename("P2/q", "top/q")) // the Sub's root itself
	must(s.Rename("P2/h.txt", "top/q/r2/h.txt"))
	check(s, "P2", "P2/f.txt", "top", "top/q", "top/q/g.txt", "top/q/r2", "top/q/r2/h.txt")
	check(sub, "g.txt", "r2", "r2/h.txt")
}

// TestListWhileMoving lists while folders move, for the race detector:
// every path listed must be well formed.
func TestListWhileMoving(t *testing.T) {
	s := memory.New()
	for i := range 2000 {
		must(s.WriteFile("a/"+strings.Repeat("x", 1+i%7)+"/d"+string(rune('a'+i%20))+"/f"+string(rune('0'+i%10)), []byte("x")))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			from, to := "a", "b"
			if i%2 == 1 {
				from, to = "b", "a"
			}
			must(s.Rename(from, to))
		}
	}()
	for range 20 {
		for e, err := range s.List(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/") || strings.Contains(e.Path, "//") {
				t.Fatalf("malformed path %q", e.Path)
			}
		}
	}
	<-done
}

package storagetest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/procoresync/procoresync/storage"
)

// Opt configures Run.
type Opt struct {
	// NewStorage returns a Storage whose root is an empty folder. It is
	// called once for every check (so checks are independent), with the
	// check's t; use t.Cleanup to release what it makes. Required.
	NewStorage func(t *testing.T) storage.Storage

	// SkipNames lists hostile names (as the suite spells them, see
	// HostileNames) that the Storage cannot be expected to handle, with the
	// reason, which is logged.
	SkipNames map[string]string

	// Skip lists checks to leave out, by subtest path below Run's test
	// (e.g. "Put/ModTime", "ChangeFeed"), with the reason, which is logged.
	Skip map[string]string

	// Eventual is how many times listings and change feeds are retried,
	// with short growing sleeps, before a missing or stale item fails a
	// check, for eventually consistent services (0: no retries).
	Eventual int

	// EventualDelay is the first sleep between retries (default 100 ms).
	EventualDelay time.Duration

	// SetChunkSize, when not nil, makes s upload every file larger than
	// chunk bytes in chunks of chunk bytes, so that small test files
	// exercise multi-chunk uploads. It returns false when s cannot do that.
	SetChunkSize func(s storage.Storage, chunk int64) bool

	// ChunkSizes are the chunk sizes the Chunked checks sweep through
	// SetChunkSize (default: three sizes derived from
	// Features.Upload: one, two and three times the smallest allowed chunk,
	// at least 1 KiB, a multiple of ChunkMultiple).
	ChunkSizes []int64

	// MaxFileSize is the largest file the suite writes (default 4 MiB).
	// Chunk sizes whose test files would be larger are left out.
	MaxFileSize int64

	// HashFuncs gives hash functions for provider-specific hash kinds
	// (quickxor, dropbox) so that advertised hashes can be verified. md5,
	// sha1 and sha256 are built in. Kinds without a function are logged as
	// unverified.
	HashFuncs map[storage.HashKind]func() hash.Hash

	// MoveOut, when not nil, moves item e of s out of s's root by other
	// means than s (through the service's root, or a Storage rooted higher
	// up), for Storages that can be rooted below their service's root. The
	// IDStater/OutsideRoot check uses it; it fails t when it cannot.
	MoveOut func(t *testing.T, s storage.Storage, e storage.Entry)

	// Timeout bounds operations that a broken connector could hang in (a
	// Put whose reader yields fewer bytes than declared, a change feed or
	// watcher that never answers). Exceeding it fails the check. Default
	// 30 s.
	Timeout time.Duration
}

// suite is the state of one top-level group.
type suite struct {
	opt  Opt
	s    storage.Storage
	f    storage.Features
	ctx  context.Context
	root storage.Entry
}

// Run runs the conformance checks against the Storages that opt.NewStorage
// makes. See the package documentation.
func Run(t *testing.T, opt Opt) {
	t.Helper()
	if opt.NewStorage == nil {
		t.Fatal("storagetest: Opt.NewStorage is required")
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.EventualDelay <= 0 {
		opt.EventualDelay = 100 * time.Millisecond
	}
	if opt.MaxFileSize <= 0 {
		opt.MaxFileSize = 4 << 20
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			if opt.skipped(t) {
				return
			}
			for _, c := range g.checks {
				t.Run(c.name, func(t *testing.T) {
					if opt.skipped(t) {
						return
					}
					c.fn(t, newSuite(t, opt))
				})
			}
		})
	}
}

// check is one named check.
type check struct {
	name string
	fn   func(t *testing.T, s *suite)
}

// group is a top-level group of checks.
type group struct {
	name   string
	checks []check
}

// newSuite makes a fresh Storage for one check.
func newSuite(t *testing.T, opt Opt) *suite {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := opt.NewStorage(t)
	if s == nil {
		t.Fatal("storagetest: NewStorage returned nil")
	}
	su := &suite{opt: opt, s: s, f: s.Features(), ctx: ctx}
	root, err := s.Stat(ctx, "")
	if err != nil {
		t.Fatalf("Stat(\"\") of a new storage: %v", err)
	}
	su.root = root
	return su
}

// skipped reports (and logs) whether opt.Skip names t.
func (o Opt) skipped(t *testing.T) bool {
	t.Helper()
	name := t.Name()
	for k, why := range o.Skip {
		if k != "" && (name == k || strings.HasSuffix(name, "/"+k)) {
			t.Logf("skipped by Opt.Skip: %s", why)
			return true
		}
	}
	return false
}

// logNA logs that a check does not apply.
func logNA(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("not applicable: "+format, args...)
}

// --- helpers ---------------------------------------------------------------

// mkdir creates folder name in parent or fails the test.
func (s *suite) mkdir(t *testing.T, parent storage.Entry, name string) storage.Entry {
	t.Helper()
	e, err := s.s.MakeDir(s.ctx, parent, name)
	if err != nil {
		t.Fatalf("MakeDir(%q, %q): %v", parent.Path, name, err)
	}
	if !e.IsDir || e.ID == "" || e.Path != join(parent.Path, name) {
		t.Fatalf("MakeDir(%q, %q) = %+v: want a folder with an ID at %q", parent.Path, name, e, join(parent.Path, name))
	}
	return e
}

// workDir makes a top-level folder for one check.
func (s *suite) workDir(t *testing.T, name string) storage.Entry {
	t.Helper()
	return s.mkdir(t, s.root, name)
}

// put writes data as name in parent (size known) or fails the test.
func (s *suite) put(t *testing.T, parent storage.Entry, name string, data []byte) storage.Entry {
	t.Helper()
	return s.putOpt(t, parent, name, data, storage.PutOptions{})
}

func (s *suite) putOpt(t *testing.T, parent storage.Entry, name string, data []byte, opt storage.PutOptions) storage.Entry {
	t.Helper()
	e, err := s.s.Put(s.ctx, parent, name, bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		t.Fatalf("Put(%q, %q, %d bytes): %v", parent.Path, name, len(data), err)
	}
	s.checkFileEntry(t, e, parent, join(parent.Path, name), data)
	return e
}

// checkFileEntry checks what Put returned.
func (s *suite) checkFileEntry(t *testing.T, e, parent storage.Entry, p string, data []byte) {
	t.Helper()
	switch {
	case e.ID == "":
		t.Errorf("Put %q: entry has no ID", p)
	case e.IsDir:
		t.Errorf("Put %q: entry is a folder", p)
	case !samePath(s.f.Names, e.Path, p):
		t.Errorf("Put %q: entry path %q", p, e.Path)
	case e.ParentID != parent.ID:
		t.Errorf("Put %q: ParentID %q, want %q", p, e.ParentID, parent.ID)
	case e.Size != int64(len(data)):
		t.Errorf("Put %q: Size %d, want %d", p, e.Size, len(data))
	case e.Version == "":
		t.Errorf("Put %q: entry has no Version", p)
	}
}

// read returns the content of e or fails the test.
func (s *suite) read(t *testing.T, e storage.Entry) []byte {
	t.Helper()
	rc, err := s.s.Open(s.ctx, e)
	if err != nil {
		t.Fatalf("Open(%q): %v", e.Path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", e.Path, err)
	}
	return b
}

// checkContent checks e's content byte for byte and its hashes.
func (s *suite) checkContent(t *testing.T, e storage.Entry, want []byte) {
	t.Helper()
	got := s.read(t, e)
	if !bytes.Equal(got, want) {
		t.Errorf("content of %q: %d bytes differ from the %d written (first difference at %d)", e.Path, len(got), len(want), firstDiff(got, want))
	}
	s.checkHashes(t, e, want)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// stat returns the entry at p or fails the test.
func (s *suite) stat(t *testing.T, p string) storage.Entry {
	t.Helper()
	e, err := s.s.Stat(s.ctx, p)
	if err != nil {
		t.Fatalf("Stat(%q): %v", p, err)
	}
	return e
}

// wantNotFound checks that p does not exist.
func (s *suite) wantNotFound(t *testing.T, p string) {
	t.Helper()
	e, err := s.s.Stat(s.ctx, p)
	if err == nil {
		t.Errorf("Stat(%q) found %+v, want storage.ErrNotFound", p, e)
	} else if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%q): %v, want an error matching storage.ErrNotFound", p, err)
	}
}

// wantErr checks that err matches kind.
func wantErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one matching %v", what, kind)
	} else if !errors.Is(err, kind) {
		t.Errorf("%s: %v, want an error matching %v", what, err, kind)
	}
}

// list returns every item by path, after checking the listing's
// structure. It retries opt.Eventual times while ok reports false.
func (s *suite) list(t *testing.T, ok func(map[string]storage.Entry) error) map[string]storage.Entry {
	t.Helper()
	var m map[string]storage.Entry
	err := s.eventually(func() error {
		var err error
		m, err = s.listOnce()
		if err == nil && ok != nil {
			err = ok(m)
		}
		return err
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return m
}

// listOnce lists and checks the structure: unique IDs and paths, parents
// listed before being referenced (by the end), ParentIDs right.
func (s *suite) listOnce() (map[string]storage.Entry, error) {
	byPath := map[string]storage.Entry{}
	byID := map[string]string{}
	for e, err := range s.s.List(s.ctx) {
		if err != nil {
			return nil, err
		}
		switch {
		case e.ID == "":
			return nil, fmt.Errorf("item %q has no ID", e.Path)
		case e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/"):
			return nil, fmt.Errorf("item %s has a malformed path %q", e.ID, e.Path)
		case e.ID == s.root.ID:
			return nil, fmt.Errorf("the root %s was listed", e.ID)
		}
		if o, dup := byPath[s.f.Names.Key(e.Path)]; dup {
			return nil, fmt.Errorf("path %q listed twice (IDs %s and %s)", e.Path, o.ID, e.ID)
		}
		if p, dup := byID[e.ID]; dup {
			return nil, fmt.Errorf("ID %s listed twice (%q and %q)", e.ID, p, e.Path)
		}
		byPath[s.f.Names.Key(e.Path)] = e
		byID[e.ID] = e.Path
	}
	m := make(map[string]storage.Entry, len(byPath))
	for _, e := range byPath {
		wantParent := s.root.ID
		if d := e.Dir(); d != "" {
			p, ok := byPath[s.f.Names.Key(d)]
			if !ok {
				return nil, fmt.Errorf("item %q listed without its folder %q", e.Path, d)
			}
			if !p.IsDir {
				return nil, fmt.Errorf("item %q listed below file %q", e.Path, d)
			}
			wantParent = p.ID
		}
		if e.ParentID != wantParent {
			return nil, fmt.Errorf("item %q has ParentID %q, want %q", e.Path, e.ParentID, wantParent)
		}
		if e.IsDir && e.Size != 0 {
			return nil, fmt.Errorf("folder %q has size %d", e.Path, e.Size)
		}
		m[e.Path] = e
	}
	return m, nil
}

// eventually runs f until it succeeds, at most 1+opt.Eventual times.
func (s *suite) eventually(f func() error) error {
	d := s.opt.EventualDelay
	var err error
	for i := 0; ; i++ {
		if err = f(); err == nil || i >= s.opt.Eventual {
			return err
		}
		select {
		case <-time.After(d):
		case <-s.ctx.Done():
			return err
		}
		d = min(d*2, 2*time.Second)
	}
}

// within runs f and fails the test if it does not return within the
// suite's timeout. f gets a context that is cancelled when the timeout
// expires, but a hung f does not hang the test.
func (s *suite) within(t *testing.T, what string, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	timer := time.NewTimer(s.opt.Timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %s: it hangs", what, s.opt.Timeout)
	}
}

// children returns the listed items directly in folder dir.
func children(m map[string]storage.Entry, dir string) []string {
	var out []string
	for p, e := range m {
		if e.Dir() == dir {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// below returns the listed items below folder dir, relative to it.
func below(m map[string]storage.Entry, dir string) []string {
	var out []string
	for p := range m {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// sameName reports whether a name the Storage gives back is the name the
// suite wrote: equal, or equal after normalisation where the Storage
// declares a normal form.
func sameName(r storage.NameRules, got, want string) bool {
	if got == want {
		return true
	}
	return r.Normalization != storage.NormNone && norm.NFC.String(got) == norm.NFC.String(want)
}

func samePath(r storage.NameRules, got, want string) bool {
	if got == want {
		return true
	}
	g, w := strings.Split(got, "/"), strings.Split(want, "/")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if !sameName(r, g[i], w[i]) {
			return false
		}
	}
	return true
}

// hashFunc returns the hash function for k and how it is encoded.
func (s *suite) hashFunc(k storage.HashKind) (func() hash.Hash, bool) {
	if f := s.opt.HashFuncs[k]; f != nil {
		return f, true
	}
	switch k {
	case storage.HashMD5:
		return md5.New, true
	case storage.HashSHA1:
		return sha1.New, true
	case storage.HashSHA256:
		return sha256.New, true
	}
	return nil, false
}

// encodeHash encodes a digest of kind k canonically (see storage.HashKind).
func encodeHash(k storage.HashKind, sum []byte) string {
	if k == storage.HashQuickXor {
		return base64.StdEncoding.EncodeToString(sum)
	}
	return hex.EncodeToString(sum)
}

func digest(f func() hash.Hash, k storage.HashKind, data []byte) string {
	h := f()
	h.Write(data)
	return encodeHash(k, h.Sum(nil))
}

// checkHashes checks every hash kind the Storage advertises for e: from
// e.Hashes, or from Hasher.Hash when the entry carries none of that kind.
func (s *suite) checkHashes(t *testing.T, e storage.Entry, data []byte) {
	t.Helper()
	hasher, _ := s.s.(storage.Hasher)
	for _, k := range s.f.Hashes {
		f, ok := s.hashFunc(k)
		if !ok {
			t.Logf("hash kind %q not verified: no Opt.HashFuncs entry", k)
			continue
		}
		want := digest(f, k, data)
		got := e.Hashes[k]
		if got == "" {
			if hasher == nil {
				t.Errorf("%q: Features.Hashes lists %q but the entry carries none and the Storage is no Hasher", e.Path, k)
				continue
			}
			var err error
			if got, err = hasher.Hash(s.ctx, e, k); err != nil {
				t.Errorf("Hash(%q, %q): %v", e.Path, k, err)
				continue
			}
		}
		if !strings.EqualFold(got, want) || (k == storage.HashQuickXor && got != want) {
			t.Errorf("%q: %s hash %q, want %q", e.Path, k, got, want)
		}
	}
}

// content returns n bytes of deterministic, non-repeating-looking data.
func content(seed string, n int) []byte {
	b := make([]byte, 0, n)
	h := sha256.Sum256([]byte(seed))
	for len(b) < n {
		b = append(b, h[:]...)
		h = sha256.Sum256(h[:])
	}
	return b[:n]
}

// failingReader yields data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

var errBroken = errors.New("storagetest: deliberately broken reader")

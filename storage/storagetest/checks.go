package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
)

var groups = []group{
	{"Root", []check{
		{"Empty", checkRootEmpty},
	}},
	{"Folders", []check{
		{"Nested", checkNested},
		{"MakeDirTwice", checkMakeDirTwice},
		{"MaxDepth", checkMaxDepth},
	}},
	{"Put", []check{
		{"ZeroBytes", checkPutZero},
		{"Small", checkPutSmall},
		{"UnknownSize", checkPutUnknownSize},
		{"ReaderError", checkPutReaderError},
		{"DeclaredSizeTooLarge", checkPutShort},
		{"DeclaredSizeTooSmall", checkPutLong},
		{"ReaderErrorAfterSize", checkPutErrorAfterSize},
		{"Update", checkPutUpdate},
		{"ExpectedVersion", checkExpectedVersion},
		{"NoOverwrite", checkNoOverwrite},
		{"OverFolder", checkPutOverFolder},
		{"MissingParent", checkPutMissingParent},
		{"ModTime", checkModTime},
		{"TooLarge", checkTooLarge},
	}},
	{"Chunked", []check{
		{"Sweep", checkChunkSweep},
		{"TornSource", checkChunkTorn},
	}},
	{"Names", []check{
		{"Hostile", checkHostileNames},
		{"Case", checkCase},
	}},
	{"List", []check{
		{"Complete", checkListComplete},
	}},
	{"NotFound", []check{
		{"Stat", checkStatMissing},
		{"Open", checkOpenMissing},
	}},
	{"Move", []check{
		{"RenameFile", checkRenameFile},
		{"MoveFile", checkMoveFile},
		{"RenameFolder", checkRenameFolder},
		{"MoveFolder", checkMoveFolder},
		{"MissingParent", checkMoveMissingParent},
		{"OntoExisting", checkMoveOntoExisting},
		{"Conditional", checkMoveConditional},
	}},
	{"Delete", []check{
		{"File", checkDeleteFile},
		{"Folder", checkDeleteFolder},
		{"Missing", checkDeleteMissing},
		{"RecycleBin", checkRecycleBin},
		{"Conditional", checkDeleteConditional},
	}},
	{"ChangeFeed", []check{
		{"Reports", checkChangeFeed},
	}},
	{"Watcher", []check{
		{"Signals", checkWatcher},
	}},
	{"ResumableUpload", []check{
		{"Resume", checkResume},
		{"TornSource", checkResumeTorn},
	}},
	{"RangeOpener", []check{
		{"OpenAt", checkOpenAt},
	}},
	{"Copier", []check{
		{"Copy", checkCopy},
	}},
	{"Hasher", []check{
		{"Hash", checkHasher},
	}},
	{"IDStater", []check{
		{"Follows", checkStatIDFollows},
		{"Deleted", checkStatIDDeleted},
		{"OutsideRoot", checkStatIDOutsideRoot},
	}},
	{"SubtreeLister", []check{
		{"Exact", checkListUnderExact},
		{"Missing", checkListUnderMissing},
	}},
	{"Hashes", []check{
		{"Advertised", checkHashesAdvertised},
	}},
	{"Concurrent", []check{
		{"Puts", checkConcurrentPuts},
	}},
}

// --- Root and folders ------------------------------------------------------

func checkRootEmpty(t *testing.T, s *suite) {
	if !s.root.IsDir || s.root.Path != "" || s.root.ID == "" {
		t.Errorf("Stat(\"\") = %+v: want a folder with an ID and the empty path", s.root)
	}
	for e, err := range s.s.List(s.ctx) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		t.Errorf("a new storage lists %q", e.Path)
	}
}

// canNest reports whether folders may nest levels deep, logging if not.
func (s *suite) canNest(t *testing.T, levels int) bool {
	t.Helper()
	if s.f.MaxDepth > 0 && s.f.MaxDepth < levels {
		logNA(t, "needs folders %d deep; Features.MaxDepth is %d", levels, s.f.MaxDepth)
		return false
	}
	return true
}

func checkNested(t *testing.T, s *suite) {
	levels := 3
	if s.f.MaxDepth > 0 {
		levels = min(levels, s.f.MaxDepth)
	}
	dirs := []storage.Entry{s.root}
	for i := range levels {
		dirs = append(dirs, s.mkdir(t, dirs[i], fmt.Sprintf("level %d", i+1)))
	}
	var files []storage.Entry
	for i, d := range dirs[1:] {
		files = append(files, s.put(t, d, fmt.Sprintf("file %d.txt", i+1), content(d.Path, 10+i)))
	}
	m := s.list(t, func(m map[string]storage.Entry) error {
		if len(m) != len(dirs)-1+len(files) {
			return fmt.Errorf("listed %d items, want %d", len(m), len(dirs)-1+len(files))
		}
		return nil
	})
	for i, d := range dirs[1:] {
		e, ok := m[d.Path]
		switch {
		case !ok:
			t.Errorf("folder %q not listed", d.Path)
		case !e.IsDir || e.ID != d.ID || e.ParentID != dirs[i].ID:
			t.Errorf("folder %q listed as %+v, want IsDir, ID %s, ParentID %s", d.Path, e, d.ID, dirs[i].ID)
		}
		st := s.stat(t, d.Path)
		if st.ID != d.ID || !st.IsDir || st.ParentID != dirs[i].ID {
			t.Errorf("Stat(%q) = %+v, want folder %s in %s", d.Path, st, d.ID, dirs[i].ID)
		}
	}
	for i, f := range files {
		e, ok := m[f.Path]
		switch {
		case !ok:
			t.Errorf("file %q not listed", f.Path)
		case e.IsDir || e.ID != f.ID || e.ParentID != dirs[i+1].ID || e.Size != f.Size:
			t.Errorf("file %q listed as %+v, want file %s in %s of %d bytes", f.Path, e, f.ID, dirs[i+1].ID, f.Size)
		}
	}
}

func checkMakeDirTwice(t *testing.T, s *suite) {
	d := s.workDir(t, "twice")
	e, err := s.s.MakeDir(s.ctx, s.root, "twice")
	wantErr(t, "second MakeDir of the same folder", err, storage.ErrAlreadyExists)
	if err != nil && e.ID != d.ID {
		t.Errorf("second MakeDir returned ID %q, want the existing folder's %q", e.ID, d.ID)
	}
}

func checkMaxDepth(t *testing.T, s *suite) {
	if s.f.MaxDepth <= 0 {
		logNA(t, "Features.MaxDepth is 0 (no limit)")
		return
	}
	parent := s.root
	for i := range s.f.MaxDepth {
		parent = s.mkdir(t, parent, fmt.Sprintf("d%d", i+1))
	}
	e, err := s.s.MakeDir(s.ctx, parent, "too deep")
	if err == nil {
		t.Errorf("MakeDir at depth %d succeeded (%q) though Features.MaxDepth is %d", s.f.MaxDepth+1, e.Path, s.f.MaxDepth)
		return
	}
	t.Logf("MakeDir too deep: %v", err)
	s.wantNotFound(t, join(parent.Path, "too deep"))
}

// --- Put -------------------------------------------------------------------

func checkPutZero(t *testing.T, s *suite) {
	d := s.workDir(t, "zero")
	e := s.put(t, d, "empty.txt", nil)
	s.checkContent(t, e, nil)
	st := s.stat(t, e.Path)
	if st.ID != e.ID || st.Size != 0 || st.IsDir {
		t.Errorf("Stat(%q) = %+v, want the empty file %s", e.Path, st, e.ID)
	}
}

func checkPutSmall(t *testing.T, s *suite) {
	d := s.workDir(t, "small")
	data := content("small", 1000)
	e := s.put(t, d, "small.bin", data)
	s.checkContent(t, e, data)
	st := s.stat(t, e.Path)
	if st.ID != e.ID || st.Size != int64(len(data)) || st.Version != e.Version {
		t.Errorf("Stat(%q) = %+v, want what Put returned: %+v", e.Path, st, e)
	}
	s.checkHashes(t, st, data)
}

func checkPutUnknownSize(t *testing.T, s *suite) {
	d := s.workDir(t, "unknown")
	for _, n := range []int{0, 1, 4096, 100_000} {
		data := content(fmt.Sprint("unknown", n), n)
		name := fmt.Sprintf("unknown-%d.bin", n)
		// Hide the reader's type so the Storage cannot learn the size.
		e, err := s.s.Put(s.ctx, d, name, io.MultiReader(bytes.NewReader(data)), -1, storage.PutOptions{})
		if err != nil {
			t.Fatalf("Put(%q, size -1): %v", name, err)
		}
		s.checkFileEntry(t, e, d, join(d.Path, name), data)
		s.checkContent(t, e, data)
	}
}

func checkPutReaderError(t *testing.T, s *suite) {
	d := s.workDir(t, "reader error")
	data := content("reader error", 4000)
	for _, size := range []int64{4000, -1} {
		name := fmt.Sprintf("new-%d.bin", size)
		_, err := s.s.Put(s.ctx, d, name, &failingReader{data: data[:1000], err: errBroken}, size, storage.PutOptions{})
		if err == nil {
			t.Errorf("Put(%q) of a failing reader (size %d) succeeded", name, size)
		}
		s.wantNotFound(t, join(d.Path, name))
	}
	old := s.put(t, d, "existing.bin", data[:500])
	for _, size := range []int64{4000, -1} {
		_, err := s.s.Put(s.ctx, d, "existing.bin", &failingReader{data: data[:1000], err: errBroken}, size, storage.PutOptions{})
		if err == nil {
			t.Errorf("Put over an existing file of a failing reader (size %d) succeeded", size)
		}
		st := s.stat(t, old.Path)
		if st.ID != old.ID || st.Version != old.Version || st.Size != old.Size {
			t.Errorf("after a failed Put the file is %+v, want it unchanged: %+v", st, old)
		}
		s.checkContent(t, st, data[:500])
	}
	m := s.list(t, nil)
	if got := children(m, d.Path); len(got) != 1 {
		t.Errorf("after failed Puts the folder holds %q, want only the existing file", got)
	}
}

func checkPutShort(t *testing.T, s *suite) {
	data := content("short", 1000)
	s.wantPutRefused(t, "short", "short.bin", "Put with a declared size larger than the data",
		func(ctx context.Context, d storage.Entry, name string) error {
			_, err := s.s.Put(ctx, d, name, bytes.NewReader(data), 5000, storage.PutOptions{})
			return err
		}, "%q: 1000 bytes declared as 5000 succeeded")
}

// checkPutLong: a reader with more data than the declared size is a source
// that grew after it was measured; storing its first size bytes would
// commit a torn version.
func checkPutLong(t *testing.T, s *suite) {
	data := content("long", 1000)
	s.wantPutRefused(t, "long", "long.bin", "Put with a declared size smaller than the data",
		func(ctx context.Context, d storage.Entry, name string) error {
			_, err := s.s.Put(ctx, d, name, bytes.NewReader(data), 600, storage.PutOptions{})
			return err
		}, "%q: 1000 bytes declared as 600 succeeded: a grown source must not become a version")
}

// checkPutErrorAfterSize: a reader that fails right after yielding exactly
// the declared bytes has not delivered trustworthy content.
func checkPutErrorAfterSize(t *testing.T, s *suite) {
	data := content("error after size", 1000)
	s.wantPutRefused(t, "error after size", "new.bin", "Put of a reader that fails after the declared size",
		func(ctx context.Context, d storage.Entry, name string) error {
			_, err := s.s.Put(ctx, d, name, &failingReader{data: data, err: errBroken}, int64(len(data)), storage.PutOptions{})
			return err
		}, "%q whose reader fails after exactly the declared 1000 bytes succeeded")
}

// wantPutRefused runs put (what it does, for the time limit) in a work
// folder of its own, once for the new file newName and once over an
// existing file: each must fail (else the error says why, after "Put of"
// and the name), leaving no new file and the existing one unchanged.
func (s *suite) wantPutRefused(t *testing.T, dir, newName, what string, put func(ctx context.Context, d storage.Entry, name string) error, why string) {
	t.Helper()
	d := s.workDir(t, dir)
	old := s.put(t, d, "existing.bin", content("existing", 300))
	for _, name := range []string{newName, old.Name()} {
		var err error
		s.within(t, what, func(ctx context.Context) { err = put(ctx, d, name) })
		if err == nil {
			t.Errorf("Put of "+why, name)
		}
	}
	s.wantNotFound(t, join(d.Path, newName))
	s.wantUnchanged(t, old, content("existing", 300))
}

// wantUnchanged checks that file old still has its ID, Version and content.
func (s *suite) wantUnchanged(t *testing.T, old storage.Entry, data []byte) {
	t.Helper()
	st, err := s.s.Stat(s.ctx, old.Path)
	if err != nil {
		t.Errorf("Stat(%q) after a failed Put over it: %v", old.Path, err)
		return
	}
	if st.ID != old.ID || st.Version != old.Version || st.Size != old.Size {
		t.Errorf("after a failed Put the file is %+v, want it unchanged: %+v", st, old)
	}
	s.checkContent(t, st, data)
}

func checkPutUpdate(t *testing.T, s *suite) {
	d := s.workDir(t, "update")
	v1 := content("v1", 300)
	v2 := content("v2", 700)
	e1 := s.put(t, d, "doc.txt", v1)
	e2 := s.put(t, d, "doc.txt", v2)
	if e2.ID != e1.ID {
		t.Errorf("updating a file changed its ID from %q to %q", e1.ID, e2.ID)
	}
	if e2.Version == e1.Version {
		t.Errorf("updating a file kept its Version %q", e1.Version)
	}
	s.checkContent(t, e2, v2)
	st := s.stat(t, e1.Path)
	if st.ID != e1.ID || st.Version != e2.Version || st.Size != int64(len(v2)) {
		t.Errorf("Stat after update = %+v, want ID %s Version %s Size %d", st, e1.ID, e2.Version, len(v2))
	}
	m := s.list(t, nil)
	if got := children(m, d.Path); len(got) != 1 {
		t.Errorf("after an update the folder holds %q, want one file", got)
	}
}

func checkExpectedVersion(t *testing.T, s *suite) {
	if !s.f.ConditionalPut {
		logNA(t, "Features.ConditionalPut is false")
		return
	}
	d := s.workDir(t, "conditional")
	e1 := s.put(t, d, "doc.txt", content("a", 10))
	e2 := s.put(t, d, "doc.txt", content("b", 20))
	_, err := s.s.Put(s.ctx, d, "doc.txt", bytes.NewReader(content("c", 30)), 30, storage.PutOptions{ExpectedVersion: e1.Version})
	wantErr(t, "Put with a stale ExpectedVersion", err, storage.ErrPreconditionFailed)
	st := s.stat(t, e1.Path)
	if st.Version != e2.Version || st.Size != 20 {
		t.Errorf("after a refused Put the file is %+v, want it unchanged (Version %s, 20 bytes)", st, e2.Version)
	}
	_, err = s.s.Put(s.ctx, d, "new.txt", bytes.NewReader(content("n", 5)), 5, storage.PutOptions{ExpectedVersion: e1.Version})
	wantErr(t, "Put of a missing file with an ExpectedVersion", err, storage.ErrPreconditionFailed)
	s.wantNotFound(t, join(d.Path, "new.txt"))
	e3 := s.putOpt(t, d, "doc.txt", content("d", 40), storage.PutOptions{ExpectedVersion: e2.Version})
	if e3.ID != e1.ID || e3.Version == e2.Version {
		t.Errorf("Put with the current ExpectedVersion gave %+v", e3)
	}
	s.checkContent(t, e3, content("d", 40))
}

func checkNoOverwrite(t *testing.T, s *suite) {
	d := s.workDir(t, "no overwrite")
	e := s.put(t, d, "doc.txt", content("a", 10))
	_, err := s.s.Put(s.ctx, d, "doc.txt", bytes.NewReader(content("b", 20)), 20, storage.PutOptions{NoOverwrite: true})
	wantErr(t, "Put with NoOverwrite over an existing file", err, storage.ErrAlreadyExists)
	st := s.stat(t, e.Path)
	if st.Version != e.Version || st.Size != 10 {
		t.Errorf("after a refused Put the file is %+v, want it unchanged", st)
	}
	n := s.putOpt(t, d, "fresh.txt", content("c", 5), storage.PutOptions{NoOverwrite: true})
	s.checkContent(t, n, content("c", 5))
}

func checkPutOverFolder(t *testing.T, s *suite) {
	sub := s.workDir(t, "over folder")
	_, err := s.s.Put(s.ctx, s.root, "over folder", bytes.NewReader([]byte("x")), 1, storage.PutOptions{})
	if err == nil {
		t.Fatalf("Put of a file where a folder of that name exists succeeded")
	}
	if !errors.Is(err, storage.ErrAlreadyExists) && !errors.Is(err, storage.ErrIsDir) {
		t.Errorf("Put over a folder: %v, want ErrAlreadyExists or ErrIsDir", err)
	}
	st := s.stat(t, sub.Path)
	if !st.IsDir || st.ID != sub.ID {
		t.Errorf("after a refused Put the folder is %+v", st)
	}
}

func checkPutMissingParent(t *testing.T, s *suite) {
	gone := s.workDir(t, "missing parent")
	if err := s.s.Delete(s.ctx, gone); err != nil {
		t.Fatalf("Delete(%q): %v", gone.Path, err)
	}
	_, err := s.s.Put(s.ctx, gone, "x.txt", bytes.NewReader([]byte("x")), 1, storage.PutOptions{})
	wantErr(t, "Put into a deleted folder", err, storage.ErrNotFound)
	s.wantNotFound(t, join(gone.Path, "x.txt"))
}

func checkModTime(t *testing.T, s *suite) {
	d := s.workDir(t, "modtime")
	mt := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	e := s.putOpt(t, d, "dated.txt", content("m", 10), storage.PutOptions{ModTime: mt})
	if e.ModTime.IsZero() {
		t.Errorf("Put returned no ModTime")
	}
	if !s.f.SetModTime {
		logNA(t, "Features.SetModTime is false; ModTime only checked to be set")
		return
	}
	prec := max(s.f.ModTimePrecision, time.Nanosecond)
	for _, got := range []storage.Entry{e, s.stat(t, e.Path)} {
		if diff := got.ModTime.Sub(mt).Abs(); diff >= prec && diff != 0 {
			t.Errorf("ModTime %v, want %v within %v", got.ModTime, mt, prec)
		}
	}
}

func checkTooLarge(t *testing.T, s *suite) {
	m := s.f.MaxFileSize
	if m <= 0 || m > 64<<20 {
		logNA(t, "Features.MaxFileSize is %d (checked only up to 64 MiB)", m)
		return
	}
	d := s.workDir(t, "too large")
	var err error
	s.within(t, "Put of a file over MaxFileSize", func(ctx context.Context) {
		_, err = s.s.Put(ctx, d, "big.bin", io.LimitReader(zeros{}, m+1), m+1, storage.PutOptions{})
	})
	wantErr(t, "Put of a file over Features.MaxFileSize", err, storage.ErrTooLarge)
	s.wantNotFound(t, join(d.Path, "big.bin"))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// --- Chunked ---------------------------------------------------------------

// chunkSizes returns the chunk sizes to sweep.
func (s *suite) chunkSizes() []int64 {
	if len(s.opt.ChunkSizes) > 0 {
		return s.opt.ChunkSizes
	}
	u := s.f.Upload
	m := max(u.MinChunk, u.ChunkMultiple, 1024)
	if u.ChunkMultiple > 0 && m%u.ChunkMultiple != 0 {
		m += u.ChunkMultiple - m%u.ChunkMultiple
	}
	var out []int64
	for i := int64(1); i <= 3; i++ {
		if c := i * m; u.MaxChunk <= 0 || c <= u.MaxChunk {
			out = append(out, c)
		}
	}
	return out
}

func checkChunkSweep(t *testing.T, s *suite) {
	if s.opt.SetChunkSize == nil {
		logNA(t, "Opt.SetChunkSize is nil: multi-chunk uploads cannot be forced")
		return
	}
	d := s.workDir(t, "chunked")
	_, resumable := s.s.(storage.ResumableUploader)
	swept := 0
	for _, c := range s.chunkSizes() {
		if !s.opt.SetChunkSize(s.s, c) {
			logNA(t, "SetChunkSize(%d) is not supported", c)
			return
		}
		for _, n := range []int64{2 * c, 2*c + c/2 + 1} {
			if n > s.opt.MaxFileSize || (s.f.MaxFileSize > 0 && n > s.f.MaxFileSize) {
				t.Logf("chunk size %d: a %d-byte file exceeds the maximum file size", c, n)
				continue
			}
			swept++
			data := content(fmt.Sprint("chunk", c, n), int(n))
			name := fmt.Sprintf("c%d-n%d.bin", c, n)
			states := 0
			e := s.putOpt(t, d, name, data, storage.PutOptions{OnUploadState: func(st storage.UploadState) error {
				states++
				if st.Offset <= 0 || st.Offset > n {
					return fmt.Errorf("upload state with offset %d of %d", st.Offset, n)
				}
				return nil
			}})
			s.checkContent(t, e, data)
			if resumable && states < 2 {
				t.Errorf("chunk size %d, file %d bytes: OnUploadState called %d times, want one per chunk (at least 2)", c, n, states)
			}
			// Unknown size, too.
			e, err := s.s.Put(s.ctx, d, "u-"+name, io.MultiReader(bytes.NewReader(data)), -1, storage.PutOptions{})
			if err != nil {
				t.Fatalf("chunked Put of unknown size (%d bytes, chunk %d): %v", n, c, err)
			}
			s.checkContent(t, e, data)
		}
	}
	if swept == 0 {
		t.Logf("no chunk size fits Opt.MaxFileSize %d", s.opt.MaxFileSize)
	}
}

// --- Names -----------------------------------------------------------------

// HostileName is one name the Names/Hostile check tries.
type HostileName struct {
	Label string // the subtest name
	Name  string
}

// HostileNames returns the names the Names/Hostile check tries, so that a
// connector can refer to them in Opt.SkipNames (by Name).
func HostileNames() []HostileName {
	out := []HostileName{}
	for _, c := range storage.DefaultInvalidChars + `'&@+=,;!$[]{}()^` + "`" {
		if c == '/' {
			continue
		}
		out = append(out, HostileName{fmt.Sprintf("char %U", c), fmt.Sprintf("a%cb.txt", c)})
	}
	return append(out,
		HostileName{"slash", "a/b.txt"},
		HostileName{"dot", "."},
		HostileName{"dotdot", ".."},
		HostileName{"control tab", "a\tb.txt"},
		HostileName{"control newline", "a\nb.txt"},
		HostileName{"control DEL", "a\x7fb.txt"},
		HostileName{"leading space", " lead.txt"},
		HostileName{"trailing space", "trail.txt "},
		HostileName{"trailing dot", "trail."},
		HostileName{"leading dot", ".hidden"},
		HostileName{"leading tilde", "~tilde"},
		HostileName{"reserved CON", "CON"},
		HostileName{"reserved con.txt", "con.txt"},
		HostileName{"reserved desktop.ini", "desktop.ini"},
		HostileName{"reserved .lock", ".lock"},
		HostileName{"reserved ~$", "~$x.docx"},
		HostileName{"reserved _vti_", "a_vti_b.txt"},
		HostileName{"NFC", "caf\u00e9.txt"},
		HostileName{"NFD", "cafe\u0301 d.txt"},
		HostileName{"unicode", "Hello, 世界 ≠ êé 😀.txt"},
		HostileName{"invalid UTF-8", "bad \xff\xfe\xc3 name.txt"},
		HostileName{"long 300", strings.Repeat("x", 296) + ".txt"},
		HostileName{"long unicode 260", strings.Repeat("é", 256) + ".txt"},
		HostileName{"spaces", "a  b   c.txt"},
		HostileName{"percent encoded", "%46%2F.txt"},
	)
}

func checkHostileNames(t *testing.T, s *suite) {
	d := s.workDir(t, "hostile")
	for _, hn := range HostileNames() {
		t.Run(hn.Label, func(t *testing.T) {
			if why, ok := s.opt.SkipNames[hn.Name]; ok {
				t.Logf("name %q skipped by Opt.SkipNames: %s", hn.Name, why)
				return
			}
			s.hostileFile(t, d, hn.Name)
			s.hostileDir(t, d, hn.Name)
		})
	}
}

func (s *suite) hostileFile(t *testing.T, d storage.Entry, name string) {
	t.Helper()
	data := content(name, 33)
	e, err := s.s.Put(s.ctx, d, name, bytes.NewReader(data), int64(len(data)), storage.PutOptions{})
	if err != nil {
		if !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Put of file %q: %v, want success or an error matching storage.ErrInvalidName", name, err)
		}
		return
	}
	defer s.s.Delete(s.ctx, e)
	if !sameName(s.f.Names, e.Name(), name) || e.ParentID != d.ID {
		t.Errorf("Put of file %q returned name %q in %q, want the same name in %q", name, e.Name(), e.ParentID, d.ID)
	}
	m := s.list(t, func(m map[string]storage.Entry) error {
		for _, p := range children(m, d.Path) {
			if m[p].ID == e.ID {
				return nil
			}
		}
		return fmt.Errorf("file %q (ID %s) not listed in %q", name, e.ID, d.Path)
	})
	for _, p := range children(m, d.Path) {
		if got := m[p]; got.ID == e.ID && !sameName(s.f.Names, got.Name(), name) {
			t.Errorf("file %q is listed as %q", name, got.Name())
		}
	}
	st, err := s.s.Stat(s.ctx, join(d.Path, name))
	if err != nil || st.ID != e.ID {
		t.Errorf("Stat of file %q: %+v, %v; want ID %s", name, st, err, e.ID)
	}
	s.checkContent(t, e, data)
}

func (s *suite) hostileDir(t *testing.T, d storage.Entry, name string) {
	t.Helper()
	if !s.canNest(t, 2) {
		return
	}
	e, err := s.s.MakeDir(s.ctx, d, name)
	if err != nil {
		if !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("MakeDir %q: %v, want success or an error matching storage.ErrInvalidName", name, err)
		}
		return
	}
	defer s.s.Delete(s.ctx, e)
	if !sameName(s.f.Names, e.Name(), name) || !e.IsDir {
		t.Errorf("MakeDir %q returned %+v", name, e)
	}
	st, err := s.s.Stat(s.ctx, join(d.Path, name))
	if err != nil || st.ID != e.ID || !st.IsDir {
		t.Errorf("Stat of folder %q: %+v, %v; want folder %s", name, st, err, e.ID)
	}
}

func checkCase(t *testing.T, s *suite) {
	d := s.workDir(t, "case")
	lower := s.put(t, d, "a.txt", content("lower", 10))
	up, err := s.s.Put(s.ctx, d, "A.TXT", bytes.NewReader(content("upper", 20)), 20, storage.PutOptions{})
	if err != nil {
		t.Fatalf("Put of %q after %q: %v", "A.TXT", "a.txt", err)
	}
	m := s.list(t, nil)
	kids := children(m, d.Path)
	if s.f.Names.CaseInsensitive {
		if up.ID != lower.ID {
			t.Errorf("case-insensitive storage: %q and %q got IDs %s and %s, want one item", "a.txt", "A.TXT", lower.ID, up.ID)
		}
		if len(kids) != 1 {
			t.Errorf("case-insensitive storage: folder holds %q, want one item", kids)
		}
		s.checkContent(t, up, content("upper", 20))
		st, err := s.s.Stat(s.ctx, join(d.Path, "A.txt"))
		if err != nil || st.ID != lower.ID {
			t.Errorf("case-insensitive Stat(%q): %+v, %v", "A.txt", st, err)
		}
		return
	}
	if up.ID == lower.ID || len(kids) != 2 {
		t.Errorf("case-sensitive storage: %q and %q are IDs %s and %s, folder holds %q; want two items", "a.txt", "A.TXT", lower.ID, up.ID, kids)
	}
	s.checkContent(t, lower, content("lower", 10))
	s.checkContent(t, up, content("upper", 20))
}

// --- List and not found ----------------------------------------------------

func checkListComplete(t *testing.T, s *suite) {
	if !s.canNest(t, 3) {
		return
	}
	d := s.workDir(t, "list me")
	want := map[string]bool{}
	add := func(e storage.Entry) { want[e.Path] = e.IsDir }
	a := s.mkdir(t, d, "folder with spaces")
	add(a)
	b := s.mkdir(t, a, "Hello, 世界 êé")
	add(b)
	add(s.mkdir(t, d, "empty folder"))
	add(s.put(t, d, "file name.txt", content("1", 5)))
	add(s.put(t, a, "z ü.txt", content("2", 6)))
	add(s.put(t, b, "deep ≠.txt", content("3", 7)))
	for i := range 12 {
		add(s.put(t, d, fmt.Sprintf("many %02d.txt", i), content(fmt.Sprint(i), i)))
	}
	m := s.list(t, func(m map[string]storage.Entry) error {
		for p := range want {
			if _, ok := m[p]; !ok {
				return fmt.Errorf("%q not listed", p)
			}
		}
		return nil
	})
	got := below(m, d.Path)
	if len(got) != len(want) {
		t.Errorf("listed %d items below %q, want %d: %q", len(got), d.Path, len(want), got)
	}
	for p, isDir := range want {
		if e, ok := m[p]; ok && e.IsDir != isDir {
			t.Errorf("%q listed with IsDir %v", p, e.IsDir)
		}
	}
}

func checkStatMissing(t *testing.T, s *suite) {
	d := s.workDir(t, "stat missing")
	s.put(t, d, "file.txt", []byte("x"))
	for _, p := range []string{"no such file", join(d.Path, "nope.txt"), "no such folder/nope.txt", join(d.Path, "file.txt/below")} {
		s.wantNotFound(t, p)
	}
}

func checkOpenMissing(t *testing.T, s *suite) {
	d := s.workDir(t, "open missing")
	e := s.put(t, d, "file.txt", []byte("x"))
	if err := s.s.Delete(s.ctx, e); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	rc, err := s.s.Open(s.ctx, e)
	if err == nil {
		rc.Close()
	}
	wantErr(t, "Open of a deleted file", err, storage.ErrNotFound)
	rc, err = s.s.Open(s.ctx, d)
	if err == nil {
		rc.Close()
	}
	wantErr(t, "Open of a folder", err, storage.ErrIsDir)
}

// --- Move ------------------------------------------------------------------

// checkMoved checks that the item id now is at p, with the same ID.
func (s *suite) checkMoved(t *testing.T, moved, orig storage.Entry, p string, parent storage.Entry) {
	t.Helper()
	if moved.ID != orig.ID {
		t.Errorf("Move changed the ID from %q to %q", orig.ID, moved.ID)
	}
	if !samePath(s.f.Names, moved.Path, p) || moved.ParentID != parent.ID {
		t.Errorf("Move returned path %q in %q, want %q in %q", moved.Path, moved.ParentID, p, parent.ID)
	}
	st := s.stat(t, p)
	if st.ID != orig.ID {
		t.Errorf("Stat(%q) after Move: ID %q, want %q", p, st.ID, orig.ID)
	}
	if !strings.EqualFold(orig.Path, p) {
		s.wantNotFound(t, orig.Path)
	}
}

func checkRenameFile(t *testing.T, s *suite) {
	d := s.workDir(t, "rename file")
	data := content("rename", 50)
	e := s.put(t, d, "old.txt", data)
	m, err := s.s.Move(s.ctx, e, d, "new.txt")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.checkMoved(t, m, e, join(d.Path, "new.txt"), d)
	s.checkContent(t, m, data)
}

func checkMoveFile(t *testing.T, s *suite) {
	a := s.workDir(t, "move file from")
	b := s.workDir(t, "move file to")
	data := content("move", 60)
	e := s.put(t, a, "f.txt", data)
	m, err := s.s.Move(s.ctx, e, b, "g.txt")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.checkMoved(t, m, e, join(b.Path, "g.txt"), b)
	s.checkContent(t, m, data)
}

// folderWithChildren makes folder name in parent holding a file and a
// sub-folder with a file.
func (s *suite) folderWithChildren(t *testing.T, parent storage.Entry, name string) (storage.Entry, map[string]storage.Entry) {
	t.Helper()
	f := s.mkdir(t, parent, name)
	kids := map[string]storage.Entry{}
	kids["one.txt"] = s.put(t, f, "one.txt", content("one", 11))
	sub := s.mkdir(t, f, "sub")
	kids["sub"] = sub
	kids["sub/two.txt"] = s.put(t, sub, "two.txt", content("two", 12))
	return f, kids
}

// checkChildrenFollow checks that the children kept their IDs below p.
func (s *suite) checkChildrenFollow(t *testing.T, p string, kids map[string]storage.Entry) {
	t.Helper()
	m := s.list(t, func(m map[string]storage.Entry) error {
		for rel := range kids {
			if _, ok := m[join(p, rel)]; !ok {
				return fmt.Errorf("%q not listed after the move", join(p, rel))
			}
		}
		return nil
	})
	for rel, k := range kids {
		if e := m[join(p, rel)]; e.ID != k.ID {
			t.Errorf("%q after the move has ID %q, want %q", join(p, rel), e.ID, k.ID)
		}
	}
	for _, old := range kids {
		if e, ok := m[old.Path]; ok && !strings.HasPrefix(old.Path, p+"/") {
			t.Errorf("%q still listed after its folder moved (%+v)", old.Path, e)
		}
	}
	s.checkContent(t, s.stat(t, join(p, "sub/two.txt")), content("two", 12))
}

func checkRenameFolder(t *testing.T, s *suite) {
	if !s.canNest(t, 3) {
		return
	}
	d := s.workDir(t, "rename folder")
	f, kids := s.folderWithChildren(t, d, "before")
	m, err := s.s.Move(s.ctx, f, d, "after")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.checkMoved(t, m, f, join(d.Path, "after"), d)
	s.checkChildrenFollow(t, m.Path, kids)
}

func checkMoveFolder(t *testing.T, s *suite) {
	if !s.canNest(t, 3) {
		return
	}
	a := s.workDir(t, "move folder from")
	b := s.workDir(t, "move folder to")
	f, kids := s.folderWithChildren(t, a, "traveller")
	m, err := s.s.Move(s.ctx, f, b, "traveller")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	s.checkMoved(t, m, f, join(b.Path, "traveller"), b)
	s.checkChildrenFollow(t, m.Path, kids)
	if s.canNest(t, 4) {
		inner := s.stat(t, join(m.Path, "sub"))
		if _, err := s.s.Move(s.ctx, m, inner, "loop"); err == nil {
			t.Errorf("moving a folder into its own sub-folder succeeded")
		}
		if st := s.stat(t, m.Path); st.ID != m.ID {
			t.Errorf("after a refused move into itself the folder is %+v", st)
		}
	}
}

func checkMoveMissingParent(t *testing.T, s *suite) {
	d := s.workDir(t, "move missing parent")
	gone := s.workDir(t, "gone")
	if err := s.s.Delete(s.ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	e := s.put(t, d, "stay.txt", content("stay", 9))
	_, err := s.s.Move(s.ctx, e, gone, "stay.txt")
	wantErr(t, "Move into a deleted folder", err, storage.ErrNotFound)
	st := s.stat(t, e.Path)
	if st.ID != e.ID || st.Version != e.Version {
		t.Errorf("after a failed Move the file is %+v, want it unchanged: %+v", st, e)
	}
}

func checkMoveOntoExisting(t *testing.T, s *suite) {
	d := s.workDir(t, "move onto existing")
	a := s.put(t, d, "a.txt", content("a", 3))
	b := s.put(t, d, "b.txt", content("b", 4))
	_, err := s.s.Move(s.ctx, a, d, "b.txt")
	wantErr(t, "Move onto an existing file", err, storage.ErrAlreadyExists)
	if st := s.stat(t, a.Path); st.ID != a.ID {
		t.Errorf("after a refused Move %q is %+v", a.Path, st)
	}
	st := s.stat(t, b.Path)
	if st.ID != b.ID || st.Version != b.Version {
		t.Errorf("after a refused Move %q is %+v, want it unchanged", b.Path, st)
	}
	s.checkContent(t, st, content("b", 4))
}

// --- Delete ----------------------------------------------------------------

func checkDeleteFile(t *testing.T, s *suite) {
	d := s.workDir(t, "delete file")
	e := s.put(t, d, "gone.txt", content("g", 3))
	keep := s.put(t, d, "keep.txt", content("k", 3))
	if err := s.s.Delete(s.ctx, e); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.wantNotFound(t, e.Path)
	m := s.list(t, func(m map[string]storage.Entry) error {
		if _, ok := m[e.Path]; ok {
			return fmt.Errorf("%q still listed after Delete", e.Path)
		}
		return nil
	})
	if _, ok := m[keep.Path]; !ok {
		t.Errorf("%q no longer listed after deleting its neighbour", keep.Path)
	}
}

func checkDeleteFolder(t *testing.T, s *suite) {
	if !s.canNest(t, 3) {
		return
	}
	d := s.workDir(t, "delete folder")
	f, kids := s.folderWithChildren(t, d, "doomed")
	if err := s.s.Delete(s.ctx, f); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.wantNotFound(t, f.Path)
	s.list(t, func(m map[string]storage.Entry) error {
		if got := below(m, d.Path); len(got) > 0 {
			return fmt.Errorf("after deleting %q the listing still holds %q", f.Path, got)
		}
		return nil
	})
	for _, k := range kids {
		s.wantNotFound(t, k.Path)
	}
}

func checkDeleteMissing(t *testing.T, s *suite) {
	d := s.workDir(t, "delete missing")
	e := s.put(t, d, "once.txt", content("o", 3))
	if err := s.s.Delete(s.ctx, e); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantErr(t, "second Delete", s.s.Delete(s.ctx, e), storage.ErrNotFound)
}

func checkRecycleBin(t *testing.T, s *suite) {
	if !s.f.RecycleBin {
		logNA(t, "Features.RecycleBin is false")
		return
	}
	d := s.workDir(t, "recycle")
	e := s.put(t, d, "binned.txt", content("b", 3))
	if err := s.s.Delete(s.ctx, e); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	s.list(t, func(m map[string]storage.Entry) error {
		for _, x := range m {
			if x.ID == e.ID {
				return fmt.Errorf("item in the recycle bin still listed as %q", x.Path)
			}
		}
		return nil
	})
	s.wantNotFound(t, e.Path)
}

// --- Optional capabilities -------------------------------------------------

func checkChangeFeed(t *testing.T, s *suite) {
	cf, ok := s.s.(storage.ChangeFeed)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.ChangeFeed")
		return
	}
	d := s.workDir(t, "feed")
	doomed := s.workDir(t, "feed doomed")
	doomedChild := s.put(t, doomed, "child.txt", content("c", 3))
	var cur string
	s.within(t, "LatestCursor", func(ctx context.Context) {
		var err error
		if cur, err = cf.LatestCursor(ctx); err != nil {
			t.Errorf("LatestCursor: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	newDir := s.workDir(t, "feed created")
	s.put(t, d, "file.txt", content("1", 10))
	file := s.put(t, d, "file.txt", content("2", 20))
	moved, err := s.s.Move(s.ctx, file, newDir, "renamed.txt")
	if err != nil {
		t.Fatalf("Move: %v", err)
	}
	gone := s.put(t, d, "gone.txt", content("g", 5))
	if err := s.s.Delete(s.ctx, gone); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.s.Delete(s.ctx, doomed); err != nil {
		t.Fatalf("Delete: %v", err)
	}

	type want struct {
		path    string
		deleted bool
	}
	wants := map[string]want{
		newDir.ID: {newDir.Path, false},
		moved.ID:  {moved.Path, false},
		gone.ID:   {gone.Path, true},
		doomed.ID: {doomed.Path, true},
		// Every deleted descendant is reported too.
		doomedChild.ID: {doomedChild.Path, true},
	}
	var last map[string]storage.Change
	err = s.eventually(func() error {
		var (
			ch   []storage.Change
			next string
			err  error
		)
		s.within(t, "Changes", func(ctx context.Context) { ch, next, err = cf.Changes(ctx, cur) })
		if err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		if next == "" {
			return errors.New("the change feed returned an empty next cursor")
		}
		if last == nil {
			last = map[string]storage.Change{}
		}
		for _, c := range ch {
			last[c.Entry.ID] = c
		}
		cur = next
		for id, w := range wants {
			c, ok := last[id]
			switch {
			case !ok:
				return fmt.Errorf("no change reported for %q (ID %s)", w.path, id)
			case c.Deleted != w.deleted:
				return fmt.Errorf("change for %q (ID %s): Deleted %v, want %v", w.path, id, c.Deleted, w.deleted)
			case !w.deleted && !samePath(s.f.Names, c.Entry.Path, w.path):
				return fmt.Errorf("change for ID %s reports path %q, want %q", id, c.Entry.Path, w.path)
			case w.deleted && c.Entry.Path != "" && !samePath(s.f.Names, c.Entry.Path, w.path):
				return fmt.Errorf("deletion of ID %s reports path %q, want %q", id, c.Entry.Path, w.path)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if c, ok := last[moved.ID]; ok && !c.Deleted && c.Entry.Version == file.Version && moved.Version != file.Version {
		t.Errorf("the moved file is reported with its version from before the move")
	}
	var bad error
	s.within(t, "Changes of a malformed cursor", func(ctx context.Context) {
		_, _, bad = cf.Changes(ctx, "storagetest: not a cursor")
	})
	if bad == nil {
		t.Errorf("Changes of a malformed cursor succeeded")
	}
}

func checkWatcher(t *testing.T, s *suite) {
	w, ok := s.s.(storage.Watcher)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.Watcher")
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	ch, err := w.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	// Drain signals from before the change.
	for drained := false; !drained; {
		select {
		case <-ch:
		default:
			drained = true
		}
	}
	s.put(t, s.root, "watched.txt", content("w", 4))
	timer := time.NewTimer(s.opt.Timeout)
	defer timer.Stop()
	select {
	case _, open := <-ch:
		if !open {
			t.Fatalf("the watch channel closed before its context was done")
		}
	case <-timer.C:
		t.Fatalf("no signal within %s of a change", s.opt.Timeout)
	}
	cancel()
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-timer.C:
			t.Fatalf("the watch channel was not closed within %s of its context being done", s.opt.Timeout)
		}
	}
}

var errStop = errors.New("storagetest: interrupting the upload")

func checkResume(t *testing.T, s *suite) {
	ru, ok := s.s.(storage.ResumableUploader)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.ResumableUploader")
		return
	}
	var chunk int64
	switch sizes := s.chunkSizes(); {
	case s.opt.SetChunkSize != nil && len(sizes) > 0 && s.opt.SetChunkSize(s.s, sizes[0]):
		chunk = sizes[0]
	case s.f.Upload.ChunkThreshold > 0 && s.f.Upload.ChunkThreshold < s.opt.MaxFileSize/2:
		chunk = s.f.Upload.ChunkThreshold
	default:
		logNA(t, "cannot force a chunked upload within Opt.MaxFileSize")
		return
	}
	n := 3*chunk + chunk/2
	if n > s.opt.MaxFileSize {
		logNA(t, "a %d-byte test file exceeds Opt.MaxFileSize", n)
		return
	}
	d := s.workDir(t, "resume")
	data := content("resume", int(n))
	var saved []storage.UploadState
	_, err := s.s.Put(s.ctx, d, "big.bin", bytes.NewReader(data), n, storage.PutOptions{OnUploadState: func(st storage.UploadState) error {
		saved = append(saved, st)
		return errStop
	}})
	if err == nil {
		t.Fatalf("Put succeeded though OnUploadState returned an error")
	}
	if len(saved) != 1 {
		t.Fatalf("OnUploadState called %d times before the upload stopped, want 1", len(saved))
	}
	st := saved[0]
	if st.Offset <= 0 || st.Offset >= n || st.Size != n || st.Name != "big.bin" || st.ParentID != d.ID {
		t.Errorf("upload state %+v: want 0 < Offset < %d, Size %d, Name big.bin, ParentID %s", redact(st), n, n, d.ID)
	}
	if strings.Contains(err.Error(), st.Token) && st.Token != "" {
		t.Errorf("the error of an interrupted upload shows the session token")
	}
	s.wantNotFound(t, join(d.Path, "big.bin"))
	states := 0
	e, err := ru.ResumeUpload(s.ctx, st, bytes.NewReader(data[st.Offset:]), storage.PutOptions{OnUploadState: func(storage.UploadState) error {
		states++
		return nil
	}})
	if err != nil {
		t.Fatalf("ResumeUpload: %v", err)
	}
	s.checkFileEntry(t, e, d, join(d.Path, "big.bin"), data)
	s.checkContent(t, e, data)
	if states == 0 {
		t.Errorf("ResumeUpload never called OnUploadState")
	}
	_, err = ru.ResumeUpload(s.ctx, storage.UploadState{ParentID: d.ID, Name: "x", Size: 10, Offset: 0, Token: "storagetest-unknown"}, bytes.NewReader(make([]byte, 10)), storage.PutOptions{})
	wantErr(t, "ResumeUpload of an unknown session", err, storage.ErrNotFound)
}

// redact hides an upload state's token for logging.
func redact(st storage.UploadState) storage.UploadState {
	if st.Token != "" {
		st.Token = "<redacted>"
	}
	return st
}

func checkOpenAt(t *testing.T, s *suite) {
	ro, ok := s.s.(storage.RangeOpener)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.RangeOpener")
		return
	}
	d := s.workDir(t, "range")
	data := content("range", 5000)
	e := s.put(t, d, "r.bin", data)
	for _, off := range []int64{0, 1, 2500, 4999, 5000} {
		rc, err := ro.OpenAt(s.ctx, e, off)
		if err != nil {
			t.Errorf("OpenAt(%d): %v", off, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[off:]) {
			t.Errorf("OpenAt(%d) gave %d bytes (err %v), want the %d from the offset", off, len(got), err, len(data)-int(off))
		}
	}
}

func checkCopy(t *testing.T, s *suite) {
	c, ok := s.s.(storage.Copier)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.Copier")
		return
	}
	a := s.workDir(t, "copy from")
	b := s.workDir(t, "copy to")
	data := content("copy", 777)
	e := s.put(t, a, "orig.txt", data)
	cp, err := c.Copy(s.ctx, e, b, "copy.txt")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if cp.ID == e.ID || cp.ID == "" || cp.ParentID != b.ID || !samePath(s.f.Names, cp.Path, join(b.Path, "copy.txt")) {
		t.Errorf("Copy returned %+v, want a new item at %q in %s", cp, join(b.Path, "copy.txt"), b.ID)
	}
	s.checkContent(t, cp, data)
	s.checkContent(t, s.stat(t, e.Path), data)
	s.put(t, b, "taken.txt", []byte("x"))
	_, err = c.Copy(s.ctx, e, b, "taken.txt")
	wantErr(t, "Copy onto an existing file", err, storage.ErrAlreadyExists)
}

func checkHasher(t *testing.T, s *suite) {
	h, ok := s.s.(storage.Hasher)
	if !ok {
		logNA(t, "not implemented: the Storage is no storage.Hasher")
		return
	}
	d := s.workDir(t, "hasher")
	data := content("hasher", 3000)
	e := s.put(t, d, "h.bin", data)
	kinds := slices.Clone(s.f.Hashes)
	for _, k := range []storage.HashKind{storage.HashMD5, storage.HashSHA1, storage.HashSHA256, storage.HashQuickXor, storage.HashDropbox} {
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		got, err := h.Hash(s.ctx, e, k)
		if err != nil {
			if slices.Contains(s.f.Hashes, k) || !errors.Is(err, storage.ErrUnsupported) {
				t.Errorf("Hash(%q): %v", k, err)
			}
			continue
		}
		f, ok := s.hashFunc(k)
		if !ok {
			t.Logf("hash kind %q not verified: no Opt.HashFuncs entry", k)
			continue
		}
		if want := digest(f, k, data); !strings.EqualFold(got, want) {
			t.Errorf("Hash(%q) = %q, want %q", k, got, want)
		}
	}
	_, err := h.Hash(s.ctx, d, storage.HashSHA256)
	if err == nil {
		t.Errorf("Hash of a folder succeeded")
	}
}

func checkHashesAdvertised(t *testing.T, s *suite) {
	if len(s.f.Hashes) == 0 {
		logNA(t, "Features.Hashes is empty")
		return
	}
	d := s.workDir(t, "hashes")
	for _, n := range []int{0, 1, 100, 65_537} {
		data := content(fmt.Sprint("hashes", n), n)
		e := s.put(t, d, fmt.Sprintf("h%d.bin", n), data)
		s.checkHashes(t, e, data)
		s.checkHashes(t, s.stat(t, e.Path), data)
	}
	m := s.list(t, nil)
	for _, p := range children(m, d.Path) {
		e := m[p]
		var n int
		fmt.Sscanf(e.Name(), "h%d.bin", &n)
		s.checkHashes(t, e, content(fmt.Sprint("hashes", n), n))
	}
}

func checkConcurrentPuts(t *testing.T, s *suite) {
	const workers, files = 8, 5
	dirs := make([]storage.Entry, workers)
	for i := range dirs {
		dirs[i] = s.workDir(t, fmt.Sprintf("worker %d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*files)
	for i := range workers {
		wg.Go(func() {
			for j := range files {
				data := content(fmt.Sprint(i, j), 100+j)
				name := fmt.Sprintf("f%d.txt", j)
				if _, err := s.s.Put(s.ctx, dirs[i], name, bytes.NewReader(data), int64(len(data)), storage.PutOptions{}); err != nil {
					errs <- fmt.Errorf("worker %d Put %q: %w", i, name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m := s.list(t, func(m map[string]storage.Entry) error {
		for i := range workers {
			if got := children(m, dirs[i].Path); len(got) != files {
				return fmt.Errorf("%q holds %d files, want %d", dirs[i].Path, len(got), files)
			}
		}
		return nil
	})
	for i := range workers {
		for j := range files {
			p := join(dirs[i].Path, fmt.Sprintf("f%d.txt", j))
			if e, ok := m[p]; ok {
				s.checkContent(t, e, content(fmt.Sprint(i, j), 100+j))
			}
		}
	}
}

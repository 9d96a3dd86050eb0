// Package records exposes Procore's one-way record tools (RFIs, Submittals,
// Observations, Inspections, Incidents, Forms, Commitments, and on the same
// design Drawings and the Daily Log) as read-only storage.Storage values, so
// that a one-way pair copies each tool into a folder of any target.
//
// Every tool shares one layout. Each record is a folder named
// "<number> - <title>" (the record's own Folder name where the tool sets
// one, below the record's Dir folders), holding the record as a person
// reads it in Procore, "<number> - <title>.pdf" (Procore's own PDF export
// where the API offers one, otherwise a recordpdf.Document printed by the
// storage's Renderer), and every attachment of the record. Names are made
// unique: two records whose folder names collide keep the name for the
// lowest record ID and the others get " (<id>)" appended; two files of one
// record whose names collide get " (2)", " (3)", … before the extension.
//
// A record folder's Version (and the Version of its PDF) changes when the
// record or any of its attachments changes: it is a hash of the record's
// normalized JSON, every file's version (attachment IDs and URLs without
// their signature, sizes and update stamps) and the Renderer's version. An
// attachment's Version is its ID with its size or update stamp. Records in
// Procore's recycle bin or deleted are not listed, so the engine removes
// them from the target under the pair's delete policy and limit.
//
// Put, MakeDir, Move and Delete fail with an error matching
// storage.ErrPermissionDenied (wrapping ErrReadOnly). A Storage whose Tool
// is a Changer is also a storage.ChangeFeed: an idle check costs one API
// call per tool (a filters[updated_at] window), plus one deletion-signal
// call per tool once every Options.DeletionCheckInterval for tools that
// report deletions separately (Deleter).
package records

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/procoresync/procoresync/internal/wake"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/recordpdf"
	"github.com/procoresync/procoresync/storage"
)

// ErrReadOnly is wrapped by the error of every write to a record storage.
var ErrReadOnly = errors.New("records: Procore record tools are exported one way and cannot be written")

// Renderer prints a record's Document as PDF bytes. It must be
// deterministic: the same Document gives the same bytes.
type Renderer func(recordpdf.Document) ([]byte, error)

// File is one file of a record: its PDF or an attachment.
type File struct {
	// Key identifies the file within its record and never changes while
	// the file exists ("pdf", "a<attachment id>", …).
	Key string
	// Name is the file name Procore shows; the storage sanitises it and
	// makes it unique within the record folder.
	Name string
	// Version changes whenever the file's content may have changed
	// (attachments: ID plus size or update stamp). Files printed from
	// Document and Procore's own PDF exports take the record's Version,
	// whatever is set here.
	Version string
	// Size is the size in bytes, or -1 when unknown (Procore's PDF
	// exports). Printed files get their exact size.
	Size int64
	// ModTime is when the file last changed (zero: the record's
	// UpdatedAt).
	ModTime time.Time
	// Exactly one of URL and Document is set. URL is downloaded through
	// the procore client (file hosts and Procore's PDF export endpoints on
	// the API host; the token goes only to trusted hosts); Document is
	// printed with the storage's Renderer.
	URL      string
	Document *recordpdf.Document
	// Export marks URL as Procore's own PDF of the record, whose content
	// follows the record (its Version is the record's).
	Export bool
	// Resolve, when set (instead of URL), is called when the file is
	// opened to get its download URL (an API call answering a file-host
	// URL, as Observations' "PDF url").
	Resolve func(ctx context.Context) (string, error)
}

// Record is one record of a tool with all its files.
type Record struct {
	// ID identifies the record within its tool ("123"; tools with several
	// kinds of records prefix it, as "po-123"). It must not contain ':'.
	ID string
	// Number and Title name the record: its folder is "<Number> -
	// <Title>" unless Folder is set.
	Number, Title string
	// Folder overrides the folder name (e.g. a Daily Log day,
	// "2026-12-05").
	Folder string
	// Inline records have exactly one file and no folder: the file lies
	// directly in Dir under its own name (Drawings: each drawing's current
	// revision, "<area>/<discipline>/<number> - <title>.pdf"). Its Entry
	// ID is the record's ("r:<id>").
	Inline bool
	// Dir holds the folders above the record's folder, outermost first
	// (e.g. Drawings' area and discipline); empty for most tools.
	Dir []string
	// UpdatedAt is the record's updated_at.
	UpdatedAt time.Time
	// Fingerprint is the record's normalized JSON (or any bytes that
	// change with every field a person sees); it enters the Version.
	Fingerprint []byte
	// Files are the record's PDF and its attachments, in the order they
	// are listed. A Document's Attachments and its entries' Attachments
	// may name files by Key: the storage replaces keys by the files'
	// final names. A Document without Attachments lists every other file.
	Files []File
}

// Change is a record reported by a Changer.
type Change struct {
	ID      string
	Deleted bool
}

// Tool is one Procore tool seen as a set of records.
type Tool interface {
	// Name is the tool's name as Procore shows it ("RFIs").
	Name() string
	// Records yields every live record (not recycled, not deleted) with
	// all its files.
	Records(ctx context.Context) iter.Seq2[Record, error]
	// Record returns one record as it is now. A recycled or deleted record
	// gives an error matching storage.ErrNotFound.
	Record(ctx context.Context, id string) (Record, error)
}

// Changer is a Tool that can tell which records changed in a window of
// updated_at, with one API call when nothing did.
type Changer interface {
	Tool
	// Changed yields the records created, updated (and, where the same
	// call can tell, deleted) with since <= updated_at <= until.
	Changed(ctx context.Context, since, until time.Time) iter.Seq2[Change, error]
}

// Deleter is a Changer whose deletion signal (recycle bin, deleted filter)
// is a separate call.
type Deleter interface {
	Changer
	// Deleted yields the IDs of the records recycled or deleted since
	// since (records deleted earlier may be yielded too).
	Deleted(ctx context.Context, since time.Time) iter.Seq2[string, error]
}

// Options tune a Storage.
type Options struct {
	// Renderer prints records that Procore offers no PDF of (nil:
	// DefaultRenderer, recordpdf.Render, with DefaultRendererVersion).
	Renderer Renderer
	// RendererVersion names the Renderer's output format; it enters every
	// Version, so a new renderer re-exports every printed PDF.
	RendererVersion string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Overlap is how far each change window reaches back before the
	// cursor, against clock skew between us and Procore (default 2
	// minutes). Records in the overlap are reported again.
	Overlap time.Duration
	// DeletionCheckInterval is how often Changes asks a Deleter's
	// deletion signal (default 15 minutes; negative: on every call).
	DeletionCheckInterval time.Duration
	// MaxNameLength caps record folder and file names in runes before the
	// extension (default 120).
	MaxNameLength int
	// MeasureSizes reads every file Procore lists without a size (its
	// PDF exports and most attachments) once per Version to list its size.
	// Off by default: such files are listed with Size -1, which the sync
	// engine copies by spooling, so no file is read twice.
	MeasureSizes bool
}

// Storage is a read-only storage.Storage over one Procore tool.
type Storage struct {
	c    *procore.Client
	tool Tool
	opts Options
	root string

	mu       sync.Mutex
	snap     *snapshot             // the last complete listing
	rendered map[string]renderInfo // printed file ID → its last print
	sizes    map[string]sizeInfo   // file ID → its size as last read (files listed without one)
	wake     wake.Broadcaster
}

// renderInfo is what a print of a record version gave: a record whose
// Version did not change is not printed again to list it.
type renderInfo struct {
	version string
	size    int64
	sha256  string
}

var (
	_ storage.Storage       = (*Storage)(nil)
	_ storage.IDStater      = (*Storage)(nil)
	_ storage.SubtreeLister = (*Storage)(nil)
)

// New returns the read-only storage of tool. c downloads files and exports.
func New(c *procore.Client, tool Tool, opts *Options) (*Storage, error) {
	if c == nil || tool == nil {
		return nil, errors.New("records: New needs a client and a tool")
	}
	s := &Storage{c: c, tool: tool, root: "root:" + tool.Name()}
	if opts != nil {
		s.opts = *opts
	}
	withDefaultRenderer(&s.opts)
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Overlap == 0 {
		s.opts.Overlap = 2 * time.Minute
	}
	if s.opts.DeletionCheckInterval == 0 {
		s.opts.DeletionCheckInterval = 15 * time.Minute
	}
	if s.opts.MaxNameLength <= 0 {
		s.opts.MaxNameLength = 120
	}
	return s, nil
}

// Tool returns the storage's tool.
func (s *Storage) Tool() Tool { return s.tool }

// Features describes a record storage: printed PDFs carry their SHA-256
// (downloads carry no hash), names may hold anything but "/", and nothing
// can be written.
func (s *Storage) Features() storage.Features {
	return storage.Features{
		Hashes:           []storage.HashKind{storage.HashSHA256},
		Names:            storage.NameRules{InvalidChars: "/", MaxNameLength: 255},
		ModTimePrecision: time.Second,
	}
}

func readOnly(op, p string) error {
	return storage.NewError(op, p, storage.ErrPermissionDenied, ErrReadOnly)
}

// Put fails: record tools are read-only.
func (s *Storage) Put(_ context.Context, parent storage.Entry, name string, _ io.Reader, _ int64, _ storage.PutOptions) (storage.Entry, error) {
	return storage.Entry{}, readOnly("put", path.Join(parent.Path, name))
}

// MakeDir fails: record tools are read-only.
func (s *Storage) MakeDir(_ context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	return storage.Entry{}, readOnly("mkdir", path.Join(parent.Path, name))
}

// Move fails: record tools are read-only.
func (s *Storage) Move(_ context.Context, e storage.Entry, _ storage.Entry, _ string) (storage.Entry, error) {
	return storage.Entry{}, readOnly("move", e.Path)
}

// Delete fails: record tools are read-only.
func (s *Storage) Delete(_ context.Context, e storage.Entry) error {
	return readOnly("delete", e.Path)
}

// ---- entries ----

// fileRef is how a file entry is opened.
type fileRef struct {
	recID, key string
	version    string
	url        string
	resolve    func(ctx context.Context) (string, error)
	doc        *recordpdf.Document
}

// built is one record laid out as entries.
type built struct {
	rec     Record
	folder  storage.Entry   // the record's folder
	files   []storage.Entry // its files
	refs    map[string]fileRef
	dirPath string // the path of the folder above (Dir), "" for the root
}

// snapshot is a complete listing.
type snapshot struct {
	names   map[string]string // record ID -> folder path
	byPath  map[string]string // lower-cased folder path -> record ID
	records map[string]*built // record ID -> layout
	dirs    map[string]storage.Entry
}

func (s *Storage) rootEntry() storage.Entry { return storage.Entry{ID: s.root, IsDir: true} }

func folderID(recID string) string     { return "r:" + recID }
func fileID(recID, key string) string  { return "f:" + recID + ":" + key }
func dirID(p string) string            { return "d:" + p }
func hashHex(b []byte) string          { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func shortHash(parts ...string) string { return hashHex([]byte(strings.Join(parts, "\x00")))[:32] }
func (s *Storage) now() time.Time      { return s.opts.Now() }
func (s *Storage) storageErr(op, p string, err error) error {
	return procore.MapStorageError(op, p, err)
}

// cleanName makes a single path element of name: no '/', no control
// characters, trimmed, at most max runes before the extension, never
// empty, "." or "..".
func cleanName(name string, max int, fallback string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\':
			return '-'
		case unicode.IsControl(r) || r == utf8.RuneError:
			return ' '
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	stem, ext := storage.SplitExt(name)
	if len(ext) > 16 {
		stem, ext = name, ""
	}
	if utf8.RuneCountInString(stem) > max {
		stem = strings.TrimSpace(string([]rune(stem)[:max]))
	}
	name = strings.TrimRight(stem, ". ") + ext
	if name == "" || name == "." || name == ".." || strings.Trim(name, ".") == "" {
		return fallback
	}
	return name
}

// FolderName is a record's folder name before collisions are resolved.
func (s *Storage) FolderName(r Record) string {
	if r.Inline && len(r.Files) == 1 {
		return cleanName(r.Files[0].Name, s.opts.MaxNameLength, "record "+r.ID)
	}
	n := r.Folder
	if n == "" {
		switch {
		case r.Number != "" && r.Title != "":
			n = r.Number + " - " + r.Title
		case r.Number != "":
			n = r.Number
		default:
			n = r.Title
		}
	}
	return cleanName(n, s.opts.MaxNameLength, "record "+r.ID)
}

// recordVersion hashes everything a person sees of the record.
func (s *Storage) recordVersion(r Record, names []string) string {
	parts := []string{"v1", s.opts.RendererVersion, string(r.Fingerprint), r.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	for i, f := range r.Files {
		parts = append(parts, f.Key, names[i], fileIdentity(f))
	}
	return shortHash(parts...)
}

// fileIdentity is what names an attachment's content: its Version, or its
// URL without the query (a signature that changes on every read).
func fileIdentity(f File) string {
	if f.Version != "" {
		return f.Version
	}
	if f.Document != nil || f.Export || f.Resolve != nil {
		return ""
	}
	return StripSignature(f.URL)
}

// StripSignature returns u without its query and fragment: file-host URLs
// carry a signature that changes on every read.
func StripSignature(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	pu.RawQuery, pu.Fragment = "", ""
	return pu.String()
}

// fileNames makes the record's file names unique (case-insensitively):
// the first keeps the name, later ones get " (2)", " (3)", ….
func (s *Storage) fileNames(r Record) []string {
	names := make([]string, len(r.Files))
	taken := map[string]bool{}
	for i, f := range r.Files {
		n := cleanName(f.Name, s.opts.MaxNameLength, "file "+f.Key)
		cand := n
		stem, ext := storage.SplitExt(n)
		for k := 2; taken[strings.ToLower(cand)]; k++ {
			cand = stem + " (" + strconv.Itoa(k) + ")" + ext
		}
		taken[strings.ToLower(cand)] = true
		names[i] = cand
	}
	return names
}

// layout builds a record's entries below folder path fp.
func (s *Storage) layout(r Record, fp string) (*built, error) {
	names := s.fileNames(r)
	ver := s.recordVersion(r, names)
	keyName := map[string]string{}
	for i, f := range r.Files {
		keyName[f.Key] = names[i]
	}
	b := &built{rec: r, refs: map[string]fileRef{}, dirPath: path.Dir(fp)}
	if b.dirPath == "." {
		b.dirPath = ""
	}
	parent := s.root
	if b.dirPath != "" {
		parent = dirID(b.dirPath)
	}
	b.folder = storage.Entry{ID: folderID(r.ID), ParentID: parent, Path: fp, IsDir: true, ModTime: r.UpdatedAt, Version: ver}
	if r.Inline && len(r.Files) != 1 {
		return nil, fmt.Errorf("records: %s %s: an inline record has %d files, not one", s.tool.Name(), r.ID, len(r.Files))
	}
	for i, f := range r.Files {
		e := storage.Entry{ID: fileID(r.ID, f.Key), ParentID: b.folder.ID, Path: fp + "/" + names[i],
			Size: f.Size, ModTime: f.ModTime}
		if r.Inline {
			e.ID, e.ParentID, e.Path = b.folder.ID, parent, fp
		}
		if e.ModTime.IsZero() {
			e.ModTime = r.UpdatedAt
		}
		ref := fileRef{recID: r.ID, key: f.Key, url: f.URL, resolve: f.Resolve}
		switch {
		case f.Document != nil:
			if s.opts.Renderer == nil {
				return nil, fmt.Errorf("records: %s %s: no Renderer to print the record", s.tool.Name(), r.ID)
			}
			doc := withNames(*f.Document, r, keyName)
			info, err := s.print(e.ID, ver, doc)
			if err != nil {
				return nil, fmt.Errorf("records: printing %s %s: %w", s.tool.Name(), r.ID, err)
			}
			ref.doc = &doc
			e.Size = info.size
			e.Hashes = storage.Hashes{storage.HashSHA256: info.sha256}
			e.Version = ver
		case f.Export || f.Resolve != nil:
			e.Version = ver
		default:
			e.Version = shortHash(fileIdentity(f), strconv.FormatInt(f.Size, 10))
		}
		ref.version = e.Version
		b.refs[e.ID] = ref
		if r.Inline {
			b.folder = e
			break
		}
		b.files = append(b.files, e)
	}
	return b, nil
}

// print prints doc for file id at record version ver, or returns what
// the last print of that version gave.
func (s *Storage) print(id, ver string, doc recordpdf.Document) (renderInfo, error) {
	s.mu.Lock()
	info, ok := s.rendered[id]
	s.mu.Unlock()
	if ok && info.version == ver {
		return info, nil
	}
	data, err := s.opts.Renderer(doc)
	if err != nil {
		return renderInfo{}, err
	}
	info = renderInfo{version: ver, size: int64(len(data)), sha256: hashHex(data)}
	s.mu.Lock()
	if s.rendered == nil {
		s.rendered = map[string]renderInfo{}
	}
	s.rendered[id] = info
	s.mu.Unlock()
	return info, nil
}

// withNames replaces file keys in doc by the files' final names and lists
// every non-printed file where doc lists none.
func withNames(doc recordpdf.Document, r Record, keyName map[string]string) recordpdf.Document {
	sub := func(list []string) []string {
		out := make([]string, len(list))
		for i, k := range list {
			if n, ok := keyName[k]; ok {
				out[i] = n
			} else {
				out[i] = k
			}
		}
		return out
	}
	if doc.Attachments == nil {
		for _, f := range r.Files {
			if f.Document == nil && !f.Export && f.Resolve == nil {
				doc.Attachments = append(doc.Attachments, keyName[f.Key])
			}
		}
	} else {
		doc.Attachments = sub(doc.Attachments)
	}
	secs := make([]recordpdf.Section, len(doc.Sections))
	for i, sec := range doc.Sections {
		entries := make([]recordpdf.Entry, len(sec.Entries))
		for j, en := range sec.Entries {
			en.Attachments = sub(en.Attachments)
			entries[j] = en
		}
		sec.Entries = entries
		secs[i] = sec
	}
	doc.Sections = secs
	return doc
}

// dirPathOf cleans a record's Dir into a path.
func (s *Storage) dirPathOf(r Record) string {
	var segs []string
	for _, d := range r.Dir {
		segs = append(segs, cleanName(d, s.opts.MaxNameLength, "_"))
	}
	return strings.Join(segs, "/")
}

// assign resolves folder-name collisions over all records: within one
// parent folder the lowest record ID (by numeric then string order) keeps
// the name, the others get " (<id>)".
func (s *Storage) assign(recs []Record) map[string]string {
	type cand struct {
		id   string
		path string
	}
	groups := map[string][]cand{}
	inline := map[string]bool{}
	for _, r := range recs {
		inline[r.ID] = r.Inline
		dp := s.dirPathOf(r)
		fp := path.Join(dp, s.FolderName(r))
		k := strings.ToLower(fp)
		groups[k] = append(groups[k], cand{r.ID, fp})
	}
	out := make(map[string]string, len(recs))
	for _, g := range groups {
		sort.Slice(g, func(i, j int) bool { return lessID(g[i].id, g[j].id) })
		for i, c := range g {
			if i == 0 {
				out[c.id] = c.path
			} else {
				out[c.id] = withSuffix(c.path, c.id, inline[c.id])
			}
		}
	}
	return out
}

// withSuffix appends " (<id>)" to a record's folder path, or before the
// extension of an inline record's file.
func withSuffix(p, id string, inline bool) string {
	if !inline {
		return p + " (" + id + ")"
	}
	stem, ext := storage.SplitExt(p)
	return stem + " (" + id + ")" + ext
}

func lessID(a, b string) bool {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	if aerr == nil && berr == nil {
		return ai < bi
	}
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// build lays out a complete set of records.
func (s *Storage) build(recs []Record) (*snapshot, error) {
	snap := &snapshot{names: s.assign(recs), byPath: map[string]string{}, records: map[string]*built{},
		dirs: map[string]storage.Entry{}}
	for _, r := range recs {
		fp := snap.names[r.ID]
		b, err := s.layout(r, fp)
		if err != nil {
			return nil, err
		}
		snap.records[r.ID] = b
		snap.byPath[strings.ToLower(fp)] = r.ID
		s.addDirs(snap, b)
	}
	return snap, nil
}

// dirEntry is the entry of Dir folder d.
func (s *Storage) dirEntry(d string) storage.Entry {
	pid := s.root
	if pp := parentOf(d); pp != "" {
		pid = dirID(pp)
	}
	return storage.Entry{ID: dirID(d), ParentID: pid, Path: d, IsDir: true, Version: shortHash("dir", d)}
}

// addDirs records the Dir folders above record b in snap.
func (s *Storage) addDirs(snap *snapshot, b *built) {
	for d := b.dirPath; d != ""; d = parentOf(d) {
		if _, ok := snap.dirs[d]; ok {
			break
		}
		snap.dirs[d] = s.dirEntry(d)
	}
}

func parentOf(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// load reads every record and lays them out (one listing).
func (s *Storage) load(ctx context.Context) (*snapshot, error) {
	var recs []Record
	seen := map[string]bool{}
	for r, err := range s.tool.Records(ctx) {
		if err != nil {
			return nil, s.storageErr("list", "", err)
		}
		if seen[r.ID] || strings.Contains(r.ID, ":") || r.ID == "" {
			continue // a record shifted across pages during the listing is listed once
		}
		seen[r.ID] = true
		recs = append(recs, r)
	}
	snap, err := s.build(recs)
	if err != nil {
		return nil, storage.NewError("list", "", nil, err)
	}
	if s.opts.MeasureSizes {
		if err := s.measure(ctx, snap); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
	return snap, nil
}

func (snap *snapshot) entries() []storage.Entry {
	var out []storage.Entry
	var dirs []string
	for d := range snap.dirs {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		out = append(out, snap.dirs[d])
	}
	ids := make([]string, 0, len(snap.records))
	for id := range snap.records {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	for _, id := range ids {
		b := snap.records[id]
		out = append(out, b.folder)
		out = append(out, b.files...)
	}
	return out
}

// List yields the Dir folders, every record folder and its files.
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		snap, err := s.load(ctx)
		if err != nil {
			yield(storage.Entry{}, err)
			return
		}
		for _, e := range snap.entries() {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// ListUnder lists one record folder (one record read) or, for the root and
// Dir folders, filters a full listing.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		if recID, ok := strings.CutPrefix(dir.ID, "r:"); ok {
			b, err := s.current(ctx, "list", dir.Path, recID)
			if err != nil {
				yield(storage.Entry{}, err)
				return
			}
			if !b.folder.IsDir {
				yield(storage.Entry{}, storage.NewError("list", dir.Path, storage.ErrNotDir, nil))
				return
			}
			for _, e := range b.files {
				if !yield(e, nil) {
					return
				}
			}
			return
		}
		if dir.ID != s.root && dir.Path != "" && !strings.HasPrefix(dir.ID, "d:") {
			yield(storage.Entry{}, storage.NewError("list", dir.Path, storage.ErrNotDir, nil))
			return
		}
		snap, err := s.load(ctx)
		if err != nil {
			yield(storage.Entry{}, err)
			return
		}
		if dir.Path != "" {
			if _, ok := snap.dirs[dir.Path]; !ok {
				yield(storage.Entry{}, storage.NewError("list", dir.Path, storage.ErrNotFound, nil))
				return
			}
		}
		prefix := dir.Path + "/"
		for _, e := range snap.entries() {
			if dir.Path != "" && !strings.HasPrefix(e.Path, prefix) {
				continue
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// current reads record recID as it is now and lays it out at the path the
// last listing gave it (or, for a record it did not know, its folder name
// with collisions resolved against the last listing).
func (s *Storage) current(ctx context.Context, op, p, recID string) (*built, error) {
	r, err := s.tool.Record(ctx, recID)
	if err != nil {
		return nil, s.storageErr(op, p, err)
	}
	if r.ID != recID {
		return nil, storage.NewError(op, p, nil, fmt.Errorf("records: %s: asked for record %s, got %s", s.tool.Name(), recID, r.ID))
	}
	fp := s.placeOne(r)
	b, err := s.layout(r, fp)
	if err != nil {
		return nil, storage.NewError(op, p, nil, err)
	}
	if s.opts.MeasureSizes {
		if err := s.measureOne(ctx, b); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if s.snap != nil {
		if old, ok := s.snap.records[recID]; ok {
			delete(s.snap.byPath, strings.ToLower(old.folder.Path))
		}
		s.snap.records[recID] = b
		s.snap.names[recID] = fp
		s.snap.byPath[strings.ToLower(fp)] = recID
		s.addDirs(s.snap, b)
	}
	s.mu.Unlock()
	return b, nil
}

// placeOne is the folder path of r given the names of the other records
// the last listing knew.
func (s *Storage) placeOne(r Record) string {
	fp := path.Join(s.dirPathOf(r), s.FolderName(r))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap == nil {
		return fp
	}
	if other, ok := s.snap.byPath[strings.ToLower(fp)]; ok && other != r.ID && lessID(other, r.ID) {
		return withSuffix(fp, r.ID, r.Inline)
	}
	return fp
}

// Stat returns the entry at p: the root, a Dir folder, a record folder or
// one of its files, as they are now (one record read where the last
// listing places p; a full listing otherwise).
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return s.rootEntry(), nil
	}
	s.mu.Lock()
	snap := s.snap
	s.mu.Unlock()
	if snap == nil {
		var err error
		if snap, err = s.load(ctx); err != nil {
			return storage.Entry{}, err
		}
	}
	s.mu.Lock()
	d, isDir := snap.dirs[p]
	recID, ok := snap.byPath[strings.ToLower(p)]
	if !ok {
		recID, ok = snap.byPath[strings.ToLower(parentOf(p))]
	}
	s.mu.Unlock()
	if isDir {
		return d, nil
	}
	if !ok {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
	}
	b, err := s.current(ctx, "stat", p, recID)
	if err != nil {
		return storage.Entry{}, err
	}
	if strings.EqualFold(b.folder.Path, p) {
		return b.folder, nil
	}
	for _, e := range b.files {
		if strings.EqualFold(e.Path, p) {
			return e, nil
		}
	}
	return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
}

// StatID returns the item with ID id as it is now (one record read for a
// record or one of its files).
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	switch {
	case id == s.root:
		return s.rootEntry(), nil
	case strings.HasPrefix(id, "d:"):
		snap, err := s.load(ctx)
		if err != nil {
			return storage.Entry{}, err
		}
		if d, ok := snap.dirs[strings.TrimPrefix(id, "d:")]; ok {
			return d, nil
		}
	case strings.HasPrefix(id, "r:"):
		b, err := s.current(ctx, "stat", "", strings.TrimPrefix(id, "r:"))
		if err != nil {
			return storage.Entry{}, err
		}
		return b.folder, nil
	case strings.HasPrefix(id, "f:"):
		recID, _, ok := strings.Cut(strings.TrimPrefix(id, "f:"), ":")
		if !ok {
			break
		}
		b, err := s.current(ctx, "stat", "", recID)
		if err != nil {
			return storage.Entry{}, err
		}
		for _, e := range b.files {
			if e.ID == id {
				return e, nil
			}
		}
	}
	return storage.Entry{}, storage.NewError("stat", "", storage.ErrNotFound, fmt.Errorf("no item %q", id))
}

// Open streams a file: Procore's export or an attachment downloaded
// through the client (no API call when the entry is the one last listed,
// other than the download itself), or the record printed again.
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	rest, ok := strings.CutPrefix(e.ID, "f:")
	recID, _, ok2 := strings.Cut(rest, ":")
	if inl, isInline := strings.CutPrefix(e.ID, "r:"); isInline {
		recID, ok, ok2 = inl, true, true
	}
	if !ok || !ok2 {
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, fmt.Errorf("not a record file: %q", e.ID))
	}
	s.mu.Lock()
	var ref fileRef
	var cached bool
	if s.snap != nil {
		if b, ok := s.snap.records[recID]; ok {
			ref, cached = b.refs[e.ID]
		}
	}
	s.mu.Unlock()
	if cached && e.Version != "" && ref.version == e.Version {
		rc, err := s.openRef(ctx, ref)
		if err == nil {
			return rc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A listed URL may have expired: read the record again.
	}
	b, err := s.current(ctx, "open", e.Path, recID)
	if err != nil {
		return nil, err
	}
	ref, ok = b.refs[e.ID]
	if !ok || b.folder.ID == e.ID && b.folder.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrNotFound, nil)
	}
	rc, err := s.openRef(ctx, ref)
	if err != nil {
		return nil, s.storageErr("open", e.Path, err)
	}
	return rc, nil
}

func (s *Storage) openRef(ctx context.Context, ref fileRef) (io.ReadCloser, error) {
	if ref.doc != nil {
		data, err := s.opts.Renderer(*ref.doc)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader(string(data))), nil
	}
	u := ref.url
	if ref.resolve != nil {
		var err error
		if u, err = ref.resolve(ctx); err != nil {
			return nil, err
		}
	}
	if u == "" {
		return nil, storage.NewError("open", "", storage.ErrNotFound, errors.New("records: file has no URL"))
	}
	return s.c.Download(ctx, u, 0)
}

// Package dropbox is a storage.Storage for Dropbox (API v2): a personal
// account, a team member's space or a team folder (Dropbox-API-Path-Root),
// rooted at any folder.
//
// The Client is a typed client of the RPC, content and notify hosts on the
// shared HTTP layer (retries with a budget, Retry-After, pacing through a
// storage.Pacer). The Storage implements storage.ChangeFeed (list_folder
// cursors), storage.Watcher (list_folder/longpoll; see Webhook for push),
// storage.ResumableUploader (upload sessions), storage.RangeOpener,
// storage.Copier (copy_v2), storage.IDStater and storage.SubtreeLister.
// Put over an expected Version commits with WriteMode.update(rev) and
// strict_conflict; Delete of a file with a Version sends parent_rev
// (Features.ConditionalDelete); move_v2 has no revision check
// (Features.ConditionalMove is false). Put sends the content_hash, so that
// Dropbox refuses a corrupted upload, and Open checks every whole download
// against it. Files above the chunk threshold go through an upload session
// (resumable with ResumeUpload); PutBatch commits many small files with
// one upload_session/finish_batch_v2. Paths are case-insensitive; the
// Storage follows its root folder by ID when a person moves it. Many
// Storages below one folder (the namespace root) share one recursive
// cursor and one longpoll through a FolderFeed (NewFolderFeed,
// Storage.WithFeed).
//
// Authentication: Config runs the OAuth 2 code flow with PKCE and offline
// refresh tokens; a team app sets ClientOptions.SelectUser (or
// SelectAdmin) and, for the team space or a team folder, PathRoot. Push:
// mount a Webhook at the app's webhook URI (X-Dropbox-Signature is
// verified with the app secret) and use it as a storage.Watcher.
//
// Test against the in-process fake in package dropboxtest.
package dropbox

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/procoresync/procoresync/storage"
)

// RootID is the ID of the account's (or namespace's) root folder, which
// Dropbox's metadata does not give.
const RootID = "/"

// Upload limits: one request carries at most 150 MiB; a session file is at
// most 2^41 - 2^22 bytes.
const (
	MaxRequest  = 150 << 20
	MaxFileSize = 1<<41 - 1<<22
)

// Options configure a Storage.
type Options struct {
	// RootPath is the folder the Storage is rooted at, e.g.
	// "/Procore/Project 1" ("" or "/": the account root, or the root of
	// the Client's PathRoot namespace). It must exist.
	RootPath string
	// ChunkThreshold is the size from which Put uses an upload session
	// (default 8 MiB); ChunkSize is the size of each appended chunk
	// (default 8 MiB, at most 150 MiB).
	ChunkThreshold, ChunkSize int64
	// LongpollTimeout is the longpoll timeout in seconds (30..480, default
	// 30 plus Dropbox's jitter).
	LongpollTimeout int
}

// Storage is a Dropbox folder tree. It is safe for concurrent use.
type Storage struct {
	c    *Client
	opts Options

	batchMu sync.Mutex // one finish_batch at a time per namespace

	mu        sync.Mutex
	rootID    string // RootID or the root folder's id:
	rootPath  string // path_display of the root ("" for the account root)
	rootLower string
	ids       map[string]string // path_lower -> id, as last seen
	feed      *feedState        // the shared FolderFeed (nil: own cursors)
}

// New returns a Storage on c rooted at opt.RootPath.
func New(ctx context.Context, c *Client, opt Options) (*Storage, error) {
	if opt.ChunkThreshold <= 0 {
		opt.ChunkThreshold = 8 << 20
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = 8 << 20
	}
	opt.ChunkSize = min(opt.ChunkSize, MaxRequest)
	opt.ChunkThreshold = min(opt.ChunkThreshold, MaxRequest)
	s := &Storage{c: c, opts: opt, rootID: RootID, ids: map[string]string{}}
	root := strings.TrimRight(opt.RootPath, "/")
	if root != "" {
		if !strings.HasPrefix(root, "/") {
			root = "/" + root
		}
		m, err := c.GetMetadata(ctx, root)
		if err != nil {
			return nil, storageErr("new", opt.RootPath, err)
		}
		if !m.IsDir() {
			return nil, storage.NewError("new", opt.RootPath, storage.ErrNotDir, nil)
		}
		s.rootID, s.rootPath, s.rootLower = m.ID, m.PathDisplay, m.PathLower
	}
	return s, nil
}

// SetChunking sets the chunk threshold and size of later Puts (for tests
// that exercise sessions with small files).
func (s *Storage) SetChunking(threshold, chunk int64) bool {
	if threshold <= 0 || chunk <= 0 || chunk > MaxRequest {
		return false
	}
	s.mu.Lock()
	s.opts.ChunkThreshold, s.opts.ChunkSize = threshold, chunk
	s.mu.Unlock()
	return true
}

// Client returns the Storage's client.
func (s *Storage) Client() *Client { return s.c }

// Names are the rules Dropbox enforces on names: no backslash, NUL or DEL
// (nor other control characters), no trailing space, the names Dropbox
// refuses as disallowed_name, at most 255 characters, compared without
// regard to case.
var Names = storage.NameRules{
	InvalidChars:    `\`,
	NoControlChars:  true,
	ReservedNames:   []string{"desktop.ini", "thumbs.db", ".ds_store", ".dropbox", ".dropbox.attr"},
	NoTrailingSpace: true,
	MaxNameLength:   255,
	CaseInsensitive: true,
}

// Features describes Dropbox.
func (s *Storage) Features() storage.Features {
	s.mu.Lock()
	defer s.mu.Unlock()
	return storage.Features{
		Hashes:            []storage.HashKind{storage.HashDropbox},
		Names:             Names,
		MaxFileSize:       MaxFileSize,
		VersionHistory:    true,
		RecycleBin:        true,
		ConditionalPut:    true,
		ConditionalDelete: true,
		// move_v2 has no revision check.
		ConditionalMove:  false,
		SetModTime:       true,
		ModTimePrecision: time.Second,
		Upload:           storage.UploadConstraints{ChunkThreshold: s.opts.ChunkThreshold, MinChunk: 1, MaxChunk: MaxRequest},
	}
}

// abs returns the Dropbox path of relative path p.
func (s *Storage) abs(p string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == "" {
		return s.rootPath
	}
	return s.rootPath + "/" + p
}

// rel returns m's path relative to the root, and whether it lies below it.
func (s *Storage) rel(m *Metadata) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lower := m.PathLower
	if lower == "" {
		return "", false
	}
	if s.rootLower != "" {
		if !strings.HasPrefix(lower, s.rootLower+"/") {
			return "", false
		}
	}
	n := len(s.rootLower) + 1
	disp := m.PathDisplay
	if len(disp) != len(lower) || !strings.EqualFold(disp, lower) {
		disp = lower
	}
	return disp[n:], true
}

// entry converts m, found at relative path p.
func (s *Storage) entry(m *Metadata, p string, parentID string) storage.Entry {
	e := storage.Entry{ID: m.ID, ParentID: parentID, Path: p, IsDir: m.IsDir()}
	if !e.IsDir {
		e.Size = int64(m.Size)
		e.Version = m.Rev
		e.ModTime = m.Modified()
		if m.ContentHash != "" {
			e.Hashes = storage.Hashes{storage.HashDropbox: m.ContentHash}
		}
		if m.SharingInfo != nil {
			e.ModifiedBy = m.SharingInfo.ModifiedBy
		}
	}
	return e
}

// remember records m's ID under its path, and forgets deleted paths.
func (s *Storage) remember(m *Metadata) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case m.Tag == "deleted":
		delete(s.ids, m.PathLower)
	case m.ID != "" && m.PathLower != "":
		s.ids[m.PathLower] = m.ID
	}
}

// parentID returns the ID of the folder holding m, from what the Storage
// has seen, else by asking Dropbox.
func (s *Storage) parentID(ctx context.Context, m *Metadata) (string, error) {
	dir := path.Dir(m.PathLower)
	s.mu.Lock()
	root := s.rootLower
	id, ok := s.ids[dir]
	s.mu.Unlock()
	if dir == root || dir == "/" && root == "" {
		return s.rootID, nil
	}
	if ok {
		return id, nil
	}
	pm, err := s.c.GetMetadata(ctx, dir)
	if err != nil {
		return "", err
	}
	s.remember(pm)
	return pm.ID, nil
}

// toEntry converts m with its parent's ID looked up; ok is false when m
// lies outside the root.
func (s *Storage) toEntry(ctx context.Context, m *Metadata) (storage.Entry, bool, error) {
	p, ok := s.rel(m)
	if !ok {
		return storage.Entry{}, false, nil
	}
	s.remember(m)
	pid, err := s.parentID(ctx, m)
	if err != nil {
		return storage.Entry{}, true, err
	}
	return s.entry(m, p, pid), true, nil
}

// rootMoved reports whether the root folder has moved since the Storage
// last looked (a person renamed or moved it), and follows it by its ID.
func (s *Storage) rootMoved(ctx context.Context) bool {
	if s.rootID == RootID {
		return false
	}
	s.mu.Lock()
	before := s.rootLower
	s.mu.Unlock()
	if s.followRoot(ctx) != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rootLower != before
}

// rootEntry returns the root folder's entry.
func (s *Storage) rootEntry(ctx context.Context) (storage.Entry, error) {
	if s.rootID == RootID {
		return storage.Entry{ID: RootID, IsDir: true}, nil
	}
	m, err := s.c.GetMetadata(ctx, s.rootID)
	if err != nil {
		return storage.Entry{}, storageErr("stat", "", err)
	}
	s.mu.Lock()
	s.rootPath, s.rootLower = m.PathDisplay, m.PathLower
	s.mu.Unlock()
	return storage.Entry{ID: s.rootID, IsDir: true}, nil
}

// Stat returns the entry at p.
func (s *Storage) Stat(ctx context.Context, p string) (storage.Entry, error) {
	if p == "" {
		return s.rootEntry(ctx)
	}
	if err := Names.ValidatePath(p); err != nil {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, err)
	}
	m, err := s.c.GetMetadata(ctx, s.abs(p))
	if errors.Is(err, storage.ErrNotFound) && s.rootMoved(ctx) {
		m, err = s.c.GetMetadata(ctx, s.abs(p))
	}
	if err != nil {
		return storage.Entry{}, storageErr("stat", p, err)
	}
	e, ok, err := s.toEntry(ctx, m)
	if err != nil {
		return storage.Entry{}, storageErr("stat", p, err)
	}
	if !ok {
		return storage.Entry{}, storage.NewError("stat", p, storage.ErrNotFound, nil)
	}
	return e, nil
}

// StatID returns the item with ID id as it is now.
func (s *Storage) StatID(ctx context.Context, id string) (storage.Entry, error) {
	if id == s.rootID {
		return s.rootEntry(ctx)
	}
	if !strings.HasPrefix(id, "id:") {
		return storage.Entry{}, storage.NewError("statid", id, storage.ErrNotFound, nil)
	}
	m, err := s.c.GetMetadata(ctx, id)
	if err != nil {
		return storage.Entry{}, storageErr("statid", "", err)
	}
	e, ok, err := s.toEntry(ctx, m)
	if err != nil {
		return storage.Entry{}, storageErr("statid", "", err)
	}
	if !ok {
		return storage.Entry{}, storage.NewError("statid", "", storage.ErrNotFound, nil)
	}
	return e, nil
}

// List yields everything below the root (list_folder recursive, then
// list_folder/continue).
func (s *Storage) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	return s.listUnder(ctx, "list", "")
}

// ListUnder yields everything below dir.
func (s *Storage) ListUnder(ctx context.Context, dir storage.Entry) iter.Seq2[storage.Entry, error] {
	return s.listUnder(ctx, "listunder", dir.Path)
}

func (s *Storage) listUnder(ctx context.Context, op, dir string) iter.Seq2[storage.Entry, error] {
	return func(yield func(storage.Entry, error) bool) {
		arg := ListFolderArg{Path: s.abs(dir), Recursive: true}
		if dir == "" && s.rootID != RootID {
			arg.Path = s.rootID // the root folder wherever it is now
		}
		res, err := s.c.ListFolder(ctx, arg)
		if errors.Is(err, storage.ErrNotFound) && dir != "" && s.rootMoved(ctx) {
			arg.Path = s.abs(dir)
			res, err = s.c.ListFolder(ctx, arg)
		}
		refreshed := false
		if err != nil {
			yield(storage.Entry{}, storageErr(op, dir, err))
			return
		}
		seen := map[string]struct{}{}
		for {
			// Folders come before their contents; remember every ID of the
			// page before resolving parents.
			for i := range res.Entries {
				s.remember(&res.Entries[i])
			}
			for i := range res.Entries {
				m := &res.Entries[i]
				if m.Tag == "deleted" {
					continue
				}
				if _, dup := seen[m.ID]; dup {
					continue
				}
				p, ok := s.rel(m)
				if !ok && !refreshed && dir == "" {
					refreshed = true
					if s.rootMoved(ctx) {
						p, ok = s.rel(m)
					}
				}
				if !ok || p == dir || dir != "" && !strings.HasPrefix(strings.ToLower(p), strings.ToLower(dir)+"/") {
					continue
				}
				seen[m.ID] = struct{}{}
				pid, err := s.parentID(ctx, m)
				if err != nil {
					yield(storage.Entry{}, storageErr(op, p, err))
					return
				}
				if !yield(s.entry(m, p, pid), nil) {
					return
				}
			}
			if !res.HasMore {
				break
			}
			if res, err = s.c.ListFolderContinue(ctx, res.Cursor); err != nil {
				yield(storage.Entry{}, storageErr(op, dir, err))
				return
			}
		}
	}
}

// Open streams e's content.
func (s *Storage) Open(ctx context.Context, e storage.Entry) (io.ReadCloser, error) {
	return s.OpenAt(ctx, e, 0)
}

// OpenAt streams e's content from offset (an HTTP Range on
// files/download).
func (s *Storage) OpenAt(ctx context.Context, e storage.Entry, offset int64) (io.ReadCloser, error) {
	if e.IsDir {
		return nil, storage.NewError("open", e.Path, storage.ErrIsDir, nil)
	}
	target := s.abs(e.Path)
	if strings.HasPrefix(e.ID, "id:") {
		target = e.ID
	}
	if offset > 0 && offset >= e.Size && e.Size > 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	rc, m, err := s.c.Download(ctx, target, offset)
	if err != nil {
		return nil, storageErr("open", e.Path, err)
	}
	if offset == 0 && m.ContentHash != "" {
		return &verifying{rc: rc, sum: NewContentHash(), want: m.ContentHash, path: e.Path}, nil
	}
	return rc, nil
}

// ErrContentHash is the error of a download whose bytes do not have the
// content_hash Dropbox gave for them.
var ErrContentHash = errors.New("dropbox: the downloaded content does not match its content_hash")

// verifying checks a whole download against its content_hash: at the end
// of the stream a mismatch is an error, not io.EOF.
type verifying struct {
	rc   io.ReadCloser
	sum  hash.Hash
	want string
	path string
}

func (v *verifying) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.sum.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(v.sum.Sum(nil)) != v.want {
		return n, storage.NewError("open", v.path, nil, ErrContentHash)
	}
	return n, err
}

func (v *verifying) Close() error { return v.rc.Close() }

// MakeDir creates folder name in parent (create_folder_v2).
func (s *Storage) MakeDir(ctx context.Context, parent storage.Entry, name string) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := Names.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrInvalidName, err)
	}
	if parent.ID == s.rootID && s.rootID != RootID {
		// create_folder_v2 creates missing parents: follow a moved root
		// first, so that its old path is not made again.
		s.rootMoved(ctx)
	}
	m, err := s.c.CreateFolder(ctx, s.abs(p))
	if err == nil {
		if err := s.checkCreatedIn(ctx, m, parent); err != nil {
			return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrNotFound, err)
		}
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Has("conflict") {
			if ex, serr := s.Stat(ctx, p); serr == nil && ex.IsDir {
				return ex, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
			}
			return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrAlreadyExists, err)
		}
		if errors.As(err, &ae) && ae.Has("not_found") {
			return storage.Entry{}, storage.NewError("mkdir", p, storage.ErrNotFound, err)
		}
		return storage.Entry{}, storageErr("mkdir", p, err)
	}
	s.remember(m)
	rp, _ := s.rel(m)
	if rp == "" {
		rp = p
	}
	return s.entry(m, rp, parent.ID), nil
}

// checkCreatedIn makes sure that folder m, just created by path, lies in
// parent itself: create_folder_v2 creates missing parents, so a parent
// that was deleted or moved meanwhile would come back as a new, empty
// folder. Then the new folder is removed again (the re-created parents
// are left, as someone may be using them) and an error returned.
func (s *Storage) checkCreatedIn(ctx context.Context, m *Metadata, parent storage.Entry) error {
	if !strings.HasPrefix(parent.ID, "id:") || parent.ID == s.rootID {
		return nil
	}
	pm, err := s.c.GetMetadata(ctx, parent.ID)
	if err == nil && pm.IsDir() && pm.PathLower == path.Dir(m.PathLower) {
		s.remember(pm)
		return nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil // cannot tell; the folder stays
	}
	if _, err := s.c.Delete(ctx, m.ID, ""); err != nil {
		return fmt.Errorf("the folder went away meanwhile; removing the folder made in its place failed: %w", err)
	}
	return errors.New("the folder went away meanwhile")
}

// Restore brings back file e, deleted by Delete (or a person), from
// Dropbox's deleted files: the file at e's path becomes e's Version again
// (files/restore). It refuses to replace a file that is there now.
func (s *Storage) Restore(ctx context.Context, e storage.Entry) (storage.Entry, error) {
	if e.IsDir || e.Version == "" {
		return storage.Entry{}, storage.NewError("restore", e.Path, storage.ErrUnsupported, errors.New("only files with a Version can be restored"))
	}
	if _, err := s.Stat(ctx, e.Path); err == nil {
		return storage.Entry{}, storage.NewError("restore", e.Path, storage.ErrAlreadyExists, nil)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, err
	}
	m, err := s.c.Restore(ctx, s.abs(e.Path), e.Version)
	if err != nil {
		return storage.Entry{}, storageErr("restore", e.Path, err)
	}
	re, ok, err := s.toEntry(ctx, m)
	if err != nil || !ok {
		return storage.Entry{}, storageErr("restore", e.Path, err)
	}
	return re, nil
}

// Delete removes e to Dropbox's deleted files (restorable for the plan's
// history window). A file with a Version is deleted only at that rev
// (parent_rev); a folder is deleted only while its ID is still at e's path.
func (s *Storage) Delete(ctx context.Context, e storage.Entry) error {
	if e.Path == "" {
		return storage.NewError("delete", "", storage.ErrPermissionDenied, errors.New("refusing to delete the root"))
	}
	abs := s.abs(e.Path)
	rev := ""
	if !e.IsDir {
		rev = e.Version
	}
	if e.ID != "" && rev == "" {
		// No rev to check (a folder, or a file given without Version):
		// make sure the item at e's path is still e, not another of the
		// same name; then e itself is gone. This check is not atomic.
		m, err := s.c.GetMetadata(ctx, abs)
		if err != nil {
			return storageErr("delete", e.Path, err)
		}
		if m.ID != e.ID {
			return storage.NewError("delete", e.Path, storage.ErrNotFound, errors.New("another item has taken its place"))
		}
	}
	_, err := s.c.Delete(ctx, abs, rev)
	if err != nil {
		var ae *APIError
		if rev != "" && errors.As(err, &ae) && ae.Status == 409 && !ae.Has("not_found") && !ae.Has("too_many_write_operations") {
			// Unconfirmed against a live account: a stale parent_rev on files/delete_v2 gives path_write/conflict.
			return storage.NewError("delete", e.Path, storage.ErrPreconditionFailed, err)
		}
		return storageErr("delete", e.Path, err)
	}
	// The IDs of what was deleted stay known, so that the change feed can
	// name them in its deletions.
	return nil
}

// Move renames and/or moves e (move_v2). Dropbox refuses case-only
// renames, so those go through a temporary name.
func (s *Storage) Move(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.relocate(ctx, "move", e, newParent, newName)
}

// Copy copies e on the server (copy_v2).
func (s *Storage) Copy(ctx context.Context, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	return s.relocate(ctx, "copy", e, newParent, newName)
}

func (s *Storage) relocate(ctx context.Context, op string, e, newParent storage.Entry, newName string) (storage.Entry, error) {
	to := join(newParent.Path, newName)
	if err := Names.Validate(newName); err != nil {
		return storage.Entry{}, storage.NewError(op, to, storage.ErrInvalidName, err)
	}
	if e.Path == "" {
		return storage.Entry{}, storage.NewError(op, "", storage.ErrPermissionDenied, errors.New("refusing to relocate the root"))
	}
	from := s.abs(e.Path)
	if e.IsDir && op == "move" && (to == e.Path || strings.HasPrefix(strings.ToLower(to), strings.ToLower(e.Path)+"/")) && !strings.EqualFold(to, e.Path) {
		return storage.Entry{}, storage.NewError(op, to, storage.ErrInvalidName, errors.New("cannot move a folder into itself"))
	}
	call := s.c.Move
	if op == "copy" {
		call = s.c.Copy
	}
	if _, err := s.Stat(ctx, newParent.Path); err != nil {
		return storage.Entry{}, storage.NewError(op, to, storage.ErrNotFound, err)
	}
	var m *Metadata
	var err error
	if op == "move" && strings.EqualFold(to, e.Path) && to != e.Path {
		tmp := to + ".procoresync-rename"
		if m, err = call(ctx, from, s.abs(tmp)); err == nil {
			m, err = call(ctx, s.abs(tmp), s.abs(to))
		}
	} else {
		m, err = call(ctx, from, s.abs(to))
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Has("from_lookup") && ae.Has("not_found") && strings.HasPrefix(e.ID, "id:") {
		// Dropbox may not find an item created a moment ago: when the item
		// is there by its ID, try once more after a second.
		if cur, gerr := s.c.GetMetadata(ctx, e.ID); gerr == nil && strings.EqualFold(cur.PathLower, strings.ToLower(from)) {
			if s.c.opts.Sleep(ctx, time.Second) == nil {
				m, err = call(ctx, from, s.abs(to))
			}
		}
	}
	if err != nil {
		if errors.As(err, &ae) && ae.Has("from_lookup") && ae.Has("not_found") {
			return storage.Entry{}, storage.NewError(op, e.Path, storage.ErrNotFound, err)
		}
		if errors.As(err, &ae) && ae.Has("to") && ae.Has("not_found") {
			return storage.Entry{}, storage.NewError(op, to, storage.ErrNotFound, err)
		}
		return storage.Entry{}, storageErr(op, to, err)
	}
	s.remember(m)
	rp, ok := s.rel(m)
	if !ok {
		rp = to
	}
	return s.entry(m, rp, newParent.ID), nil
}

// join joins a relative folder path and a name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// uploadToken is the ResumeUpload state behind UploadState.Token.
type uploadToken struct {
	Session string     `json:"s"`
	Rel     string     `json:"r"` // the file's path below the root
	Commit  CommitInfo `json:"c"`
}

// commitFor returns the commit info of a Put of name in parent.
func (s *Storage) commitFor(parent storage.Entry, name string, opt storage.PutOptions) CommitInfo {
	target := s.abs(join(parent.Path, name))
	if strings.HasPrefix(parent.ID, "id:") {
		// Relative to the parent's ID, so that a parent deleted or moved
		// meanwhile is not silently re-created.
		// Unconfirmed against a live account: files/upload accepts a CommitInfo.path of the form "id:<folder>/<name>".
		target = parent.ID + "/" + name
	}
	ci := CommitInfo{Path: target, Mode: WriteMode{Tag: "overwrite"}}
	switch {
	case opt.ExpectedVersion != "":
		ci.Mode = WriteMode{Tag: "update", Update: opt.ExpectedVersion}
		ci.StrictConflict = true
	case opt.NoOverwrite:
		ci.Mode = WriteMode{Tag: "add"}
		// strict_conflict: a file of identical content conflicts too.
		ci.StrictConflict = true
	}
	if !opt.ModTime.IsZero() {
		ci.ClientModified = opt.ModTime.UTC().Truncate(time.Second).Format(TimeFormat)
	}
	return ci
}

// readFull reads exactly n bytes into buf, or fails.
func readFull(r io.Reader, buf []byte) error {
	_, err := io.ReadFull(r, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return errors.New("the source ended before its declared size")
	}
	return err
}

// atEOF checks that r has nothing more, and ends without an error.
func atEOF(r io.Reader) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return errors.New("the source is longer than its declared size")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Put writes r as name in parent: files/upload up to the chunk threshold,
// an upload session above it. Nothing is committed unless r yields exactly
// size bytes and then ends cleanly.
func (s *Storage) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	p := join(parent.Path, name)
	if err := Names.Validate(name); err != nil {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrInvalidName, err)
	}
	if size > MaxFileSize {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrTooLarge, nil)
	}
	s.mu.Lock()
	threshold, chunk := s.opts.ChunkThreshold, s.opts.ChunkSize
	s.mu.Unlock()
	ci := s.commitFor(parent, name, opt)
	if size >= 0 && size <= threshold {
		buf := make([]byte, size)
		if err := readFull(r, buf); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		if err := atEOF(r); err != nil {
			return storage.Entry{}, storage.NewError("put", p, nil, err)
		}
		h := ContentHash(buf)
		m, err := s.c.Upload(ctx, UploadArg{CommitInfo: ci, ContentHash: h}, buf)
		if err != nil {
			if mine, ok := s.ownWrite(ctx, ci, h, err); ok {
				return s.committed(mine, p, parent)
			}
			return storage.Entry{}, s.putErr(ctx, p, parent, opt, err)
		}
		return s.committed(m, p, parent)
	}
	st := storage.UploadState{ParentID: parent.ID, Name: name, Size: size, Expires: s.c.opts.Now().Add(7 * 24 * time.Hour)}
	return s.session(ctx, p, parent, ci, r, st, "", chunk, opt)
}

// session runs an upload session from st.Offset (a new one when sid is
// "").
func (s *Storage) session(ctx context.Context, p string, parent storage.Entry, ci CommitInfo, r io.Reader, st storage.UploadState, sid string, chunk int64, opt storage.PutOptions) (storage.Entry, error) {
	size := st.Size
	buf := make([]byte, chunk)
	off := st.Offset
	var sum hash.Hash // the whole file's content hash, when Put sees all of it
	if off == 0 {
		sum = NewContentHash()
	}
	for {
		n := chunk
		if size >= 0 {
			n = min(chunk, size-off)
		}
		b := buf[:n]
		var last bool
		if size >= 0 {
			if err := readFull(r, b); err != nil {
				return storage.Entry{}, storage.NewError("put", p, nil, err)
			}
			last = off+n == size
			if last {
				if err := atEOF(r); err != nil {
					return storage.Entry{}, storage.NewError("put", p, nil, err)
				}
			}
		} else {
			k, err := io.ReadFull(r, b)
			switch {
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				b, last = b[:k], true
			case err != nil:
				return storage.Entry{}, storage.NewError("put", p, nil, err)
			}
		}
		if sum != nil {
			sum.Write(b)
		}
		if last && sid == "" {
			return s.finish(ctx, p, parent, opt, sid, off, ci, b, sum)
		}
		var err error
		end := off + int64(len(b))
		if sid == "" {
			sid, err = s.c.UploadSessionStart(ctx, b, false)
		} else {
			// The last chunk closes the session (close=true), so that the
			// finish carries no data.
			err = s.c.UploadSessionAppend(ctx, UploadSessionCursor{SessionID: sid, Offset: uint64(off)}, b, last)
			if last && sessionClosed(err) {
				// Only the last chunk closes a session: a resumed upload
				// whose closing append was made (and its state saved)
				// before a crash goes on to the finish, which checks the
				// offset.
				err = nil
			}
			if c, ok := correctOffset(err); ok {
				if end, err = s.resync(ctx, sid, off, b, last, c, size, r, sum); err != nil {
					return storage.Entry{}, storage.NewError("put", p, nil, err)
				}
			}
		}
		if err != nil {
			return storage.Entry{}, s.putErr(ctx, p, parent, opt, err)
		}
		off = end
		if opt.OnUploadState != nil {
			tok, _ := json.Marshal(uploadToken{Session: sid, Rel: p, Commit: ci})
			st.Offset, st.Token = off, string(tok)
			if err := opt.OnUploadState(st); err != nil {
				return storage.Entry{}, storage.NewError("put", p, nil, err)
			}
		}
		if last {
			return s.finish(ctx, p, parent, opt, sid, off, ci, nil, sum)
		}
	}
}

// sessionClosed reports whether err is Dropbox's answer to an append to an
// upload session already closed (upload_session/append_v2 closed, or
// lookup_failed/closed).
func sessionClosed(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == 409 && strings.HasPrefix(ae.Route, "files/upload_session") && ae.Has("closed")
}

// errSessionOffset is the error of an upload session that holds a number
// of bytes this upload cannot continue from.
var errSessionOffset = errors.New("dropbox: the upload session cannot be continued from the offset Dropbox holds")

// resync continues an append at off (chunk b, already read from r) that
// met incorrect_offset{correct_offset: c}: Dropbox holds c bytes of the
// session. c at the end of b is a retried append whose response was lost;
// c inside b sends the rest of b from c; c beyond b (the chunks appended
// before a restart were larger than this process's) skips the source to
// c. It returns the offset the upload goes on from. An offset before off
// or past the file's size cannot be continued: errSessionOffset.
func (s *Storage) resync(ctx context.Context, sid string, off int64, b []byte, last bool, c uint64, size int64, r io.Reader, sum hash.Hash) (int64, error) {
	end := off + int64(len(b))
	if c > uint64(MaxFileSize) || int64(c) < off || size >= 0 && int64(c) > size || size < 0 && int64(c) > end {
		return 0, fmt.Errorf("%w: it holds %d bytes, the upload is at %d", errSessionOffset, c, off)
	}
	at := int64(c)
	switch {
	case at == end:
		return end, nil
	case at < end:
		err := s.c.UploadSessionAppend(ctx, UploadSessionCursor{SessionID: sid, Offset: c}, b[at-off:], last)
		return end, err
	}
	var w io.Writer = io.Discard
	if sum != nil {
		w = sum
	}
	if n, err := io.CopyN(w, r, at-end); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("the source ended after %d bytes, before the session's %d", end+n, at)
		}
		return 0, err
	}
	return at, nil
}

// finish commits the session (or uploads at once when none was started),
// with the whole file's content hash where known, so that Dropbox checks
// it.
func (s *Storage) finish(ctx context.Context, p string, parent storage.Entry, opt storage.PutOptions, sid string, off int64, ci CommitInfo, data []byte, sum hash.Hash) (storage.Entry, error) {
	h := ""
	if sum != nil {
		h = hex.EncodeToString(sum.Sum(nil))
	}
	var m *Metadata
	var err error
	if sid == "" {
		m, err = s.c.Upload(ctx, UploadArg{CommitInfo: ci, ContentHash: h}, data)
	} else {
		m, err = s.c.UploadSessionFinish(ctx, UploadSessionFinishArg{Cursor: UploadSessionCursor{SessionID: sid, Offset: uint64(off)}, Commit: ci, ContentHash: h}, data)
	}
	if err != nil {
		if mine, ok := s.ownWrite(ctx, ci, h, err); ok {
			return s.committed(mine, p, parent)
		}
		return storage.Entry{}, s.putErr(ctx, p, parent, opt, err)
	}
	return s.committed(m, p, parent)
}

// ownWrite recognises a commit over an expected rev that failed with a
// conflict only because it had already happened (a retry after a lost
// response) or because the file already had exactly this content
// (strict_conflict refuses identical content too): the file at the
// target is then the content being written, and it is returned.
func (s *Storage) ownWrite(ctx context.Context, ci CommitInfo, h string, err error) (*Metadata, bool) {
	var ae *APIError
	if h == "" || ci.Mode.Tag != "update" || !errors.As(err, &ae) || !ae.Has("conflict") || !ae.Has("file") {
		return nil, false
	}
	m, gerr := s.c.GetMetadata(ctx, ci.Path)
	if gerr != nil || m.Tag != "file" || m.ContentHash != h {
		return nil, false
	}
	if m.Rev != ci.Mode.Update && !s.revFollows(ctx, m, ci.Mode.Update) {
		return nil, false
	}
	return m, true
}

// revFollows reports whether file m's previous revision is rev (so that
// the current one is the write just made on top of it).
func (s *Storage) revFollows(ctx context.Context, m *Metadata, rev string) bool {
	var r struct {
		Entries []Metadata `json:"entries"`
	}
	if err := s.c.rpc(ctx, "files/list_revisions", map[string]any{"path": m.ID, "mode": "id", "limit": 2}, &r); err != nil {
		return false
	}
	return len(r.Entries) == 2 && r.Entries[0].Rev == m.Rev && r.Entries[1].Rev == rev
}

// correctOffset reads UploadSessionOffsetError.correct_offset from an
// append's or finish's incorrect_offset error.
func correctOffset(err error) (uint64, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Has("incorrect_offset") {
		return 0, false
	}
	var v map[string]json.RawMessage
	raw := ae.Body
	for range 3 {
		if json.Unmarshal(raw, &v) != nil {
			return 0, false
		}
		if c, ok := v["correct_offset"]; ok {
			var n uint64
			return n, json.Unmarshal(c, &n) == nil
		}
		next, ok := v["lookup_failed"]
		if !ok {
			return 0, false
		}
		raw = next
	}
	return 0, false
}

// putErr maps a failed commit. A write into a folder by its ID that
// failed for another reason than a conflict is checked against the
// folder: gone means ErrNotFound.
func (s *Storage) putErr(ctx context.Context, p string, parent storage.Entry, opt storage.PutOptions, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == 409 && !ae.Has("conflict") && strings.HasPrefix(parent.ID, "id:") {
		if _, gerr := s.c.GetMetadata(ctx, parent.ID); errors.Is(gerr, storage.ErrNotFound) {
			return storage.NewError("put", p, storage.ErrNotFound, err)
		}
	}
	if errors.As(err, &ae) && ae.Has("conflict") {
		switch {
		case ae.Has("folder"):
			return storage.NewError("put", p, storage.ErrIsDir, err)
		case opt.ExpectedVersion != "":
			return storage.NewError("put", p, storage.ErrPreconditionFailed, err)
		}
		return storage.NewError("put", p, storage.ErrAlreadyExists, err)
	}
	if errors.As(err, &ae) && ae.Has("not_found") && opt.ExpectedVersion == "" {
		return storage.NewError("put", p, storage.ErrNotFound, err)
	}
	if errors.As(err, &ae) && opt.ExpectedVersion != "" && ae.Has("not_found") {
		return storage.NewError("put", p, storage.ErrPreconditionFailed, err)
	}
	return storageErr("put", p, err)
}

// committed converts an upload's result.
func (s *Storage) committed(m *Metadata, p string, parent storage.Entry) (storage.Entry, error) {
	s.remember(m)
	rp, ok := s.rel(m)
	if !ok {
		rp = p
	}
	return s.entry(m, rp, parent.ID), nil
}

// ResumeUpload continues the session in st with r's bytes from st.Offset,
// in this Storage's chunk size. When Dropbox holds more of the session than
// st says (a chunk confirmed after the state was last saved), the append
// meets incorrect_offset and the upload goes on from its correct_offset,
// skipping r to it. An offset that cannot be continued (before st.Offset
// or past the file's size), like an expired session, gives
// storage.ErrNotFound: the caller starts a new Put.
func (s *Storage) ResumeUpload(ctx context.Context, st storage.UploadState, r io.Reader, opt storage.PutOptions) (storage.Entry, error) {
	var tok uploadToken
	if err := json.Unmarshal([]byte(st.Token), &tok); err != nil || tok.Session == "" {
		return storage.Entry{}, storage.NewError("put", st.Name, storage.ErrNotFound, errors.New("unknown upload state"))
	}
	p := tok.Rel
	parent := storage.Entry{ID: st.ParentID, Path: path.Dir(p), IsDir: true}
	if parent.Path == "." {
		parent.Path = ""
	}
	s.mu.Lock()
	chunk := s.opts.ChunkSize
	s.mu.Unlock()
	e, err := s.session(ctx, p, parent, tok.Commit, r, st, tok.Session, chunk, opt)
	var ae *APIError
	if errors.As(err, &ae) && ae.Has("not_found") && (ae.Has("lookup_failed") || strings.HasPrefix(ae.Route, "files/upload_session")) {
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, err)
	}
	if errors.Is(err, errSessionOffset) {
		// The caller starts the upload again with a new Put.
		return storage.Entry{}, storage.NewError("put", p, storage.ErrNotFound, err)
	}
	return e, err
}

// Hash returns e's content hash of kind k (Dropbox only), as listed.
func (s *Storage) Hash(ctx context.Context, e storage.Entry, k storage.HashKind) (string, error) {
	if k != storage.HashDropbox {
		return "", storage.NewError("hash", e.Path, storage.ErrUnsupported, fmt.Errorf("hash kind %q", k))
	}
	if h := e.Hashes[k]; h != "" {
		return h, nil
	}
	st, err := s.Stat(ctx, e.Path)
	if err != nil {
		return "", err
	}
	return st.Hashes[k], nil
}

// NewHash returns a hash.Hash of the Dropbox content hash (for
// storagetest.Opt.HashFuncs).
func NewHash() hash.Hash { return NewContentHash() }

var (
	_ storage.Storage           = (*Storage)(nil)
	_ storage.IDStater          = (*Storage)(nil)
	_ storage.SubtreeLister     = (*Storage)(nil)
	_ storage.Copier            = (*Storage)(nil)
	_ storage.RangeOpener       = (*Storage)(nil)
	_ storage.ResumableUploader = (*Storage)(nil)
)

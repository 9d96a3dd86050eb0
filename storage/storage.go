package storage

import (
	"context"
	"io"
	"iter"
	"path"
	"strings"
	"time"
)

// HashKind names a content hash algorithm.
type HashKind string

// The hash kinds that procoresync knows. Hex kinds are lower-case hexadecimal;
// QuickXor is base64, as Microsoft Graph reports it.
const (
	HashMD5      HashKind = "md5"      // hex
	HashSHA1     HashKind = "sha1"     // hex (Box)
	HashSHA256   HashKind = "sha256"   // hex (local, Procore segments)
	HashQuickXor HashKind = "quickxor" // base64 (OneDrive, SharePoint)
	HashDropbox  HashKind = "dropbox"  // hex Dropbox content_hash
)

// Hashes maps a hash kind to the item's content hash in that kind's
// canonical encoding (see the HashKind constants). A nil or empty map means
// that no hash is known.
type Hashes map[HashKind]string

// PreferredHashes returns the hash kinds that procoresync knows, strongest
// first: the order in which Common picks a kind, and in which content is
// compared by hash.
func PreferredHashes() []HashKind {
	return []HashKind{HashSHA256, HashSHA1, HashDropbox, HashQuickXor, HashMD5}
}

// Common reports a hash kind present in both h and o, preferring stronger
// kinds (PreferredHashes), and whether there is one.
func (h Hashes) Common(o Hashes) (HashKind, bool) {
	for _, k := range PreferredHashes() {
		if h[k] != "" && o[k] != "" {
			return k, true
		}
	}
	for k, v := range h {
		if v != "" && o[k] != "" {
			return k, true
		}
	}
	return "", false
}

// Equal reports whether h and o share a hash kind and agree on it. ok is
// false when they share none, in which case equal says nothing.
func (h Hashes) Equal(o Hashes) (equal, ok bool) {
	k, ok := h.Common(o)
	if !ok {
		return false, false
	}
	return h[k] == o[k], true
}

// Clone returns a copy of h.
func (h Hashes) Clone() Hashes {
	if h == nil {
		return nil
	}
	c := make(Hashes, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

// Entry describes one file or folder of a Storage.
type Entry struct {
	// ID is the provider's stable identifier of the item. It survives
	// renames and moves. ParentID is the ID of the folder that holds it
	// (the root's ID for top-level items).
	ID, ParentID string
	// Path is slash-separated and relative to the Storage root, without a
	// leading or trailing slash. The root itself has the empty path.
	Path string
	// IsDir is true for folders.
	IsDir bool
	// Size is the file's size in bytes (0 for folders), or -1 when the
	// provider does not give it before the content is read (exports
	// generated on request, attachments listed without a size). Readers
	// of such a file learn its size by reading it to the end.
	Size int64
	// ModTime is the content modification time as the provider reports it.
	ModTime time.Time
	// Version is an opaque token that changes whenever the item changes:
	// an eTag, a revision, a file version ID, an updated_at stamp.
	Version string
	// Hashes holds whatever content hashes the provider gives for files.
	Hashes Hashes
	// CreatedBy and ModifiedBy name the people who created and last
	// modified the item, where the provider says.
	CreatedBy, ModifiedBy string
}

// Name returns the last element of the entry's path ("" for the root).
func (e Entry) Name() string {
	if e.Path == "" {
		return ""
	}
	return path.Base(e.Path)
}

// Dir returns the path of the folder that holds the entry ("" for top-level
// items and the root).
func (e Entry) Dir() string {
	d := path.Dir(e.Path)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// IsRoot reports whether e is the Storage's root folder.
func (e Entry) IsRoot() bool { return e.Path == "" && e.IsDir }

// PutOptions tune a Put.
type PutOptions struct {
	// ExpectedVersion, when set, is the Version the caller last saw of the
	// file being replaced. If the file's current Version differs (or the
	// file does not exist), Put fails with ErrPreconditionFailed and writes
	// nothing. Connectors whose API cannot check it say so in
	// Features.ConditionalPut and check it as closely as they can.
	ExpectedVersion string
	// NoOverwrite makes Put fail with ErrAlreadyExists when an item of that
	// name already exists in the parent, instead of adding a new version.
	NoOverwrite bool
	// ModTime, when not zero, is the modification time to record where the
	// provider lets a client set it.
	ModTime time.Time
	// OnUploadState, when not nil and the Storage is a ResumableUploader,
	// is called after every confirmed chunk of a chunked upload with the
	// state to persist. Returning an error aborts the upload.
	OnUploadState func(UploadState) error
}

// Storage is the contract every connector implements. See the package
// documentation for the rules; the storagetest package checks them.
type Storage interface {
	// List yields every file and folder below the root, once each, in no
	// particular order. The root itself is not yielded. An error ends the
	// iteration.
	List(ctx context.Context) iter.Seq2[Entry, error]
	// Stat returns the entry at path p ("" is the root). A missing item
	// gives ErrNotFound.
	Stat(ctx context.Context, p string) (Entry, error)
	// Open streams the content of file e. A missing file gives ErrNotFound;
	// a folder gives ErrIsDir. The caller closes the reader.
	Open(ctx context.Context, e Entry) (io.ReadCloser, error)
	// Put writes r as the file name in folder parent: a new file, or a new
	// version of the existing file of that name (keeping its ID). size is
	// the number of bytes r yields, or -1 if unknown. If r yields fewer
	// bytes than size, more bytes than size, or fails (even after exactly
	// size bytes), Put returns an error and leaves neither a new file nor a
	// changed one behind: a torn or grown source never becomes a version.
	Put(ctx context.Context, parent Entry, name string, r io.Reader, size int64, opt PutOptions) (Entry, error)
	// MakeDir creates folder name in parent. If a folder of that name
	// exists already it returns that folder's entry and an error matching
	// ErrAlreadyExists.
	MakeDir(ctx context.Context, parent Entry, name string) (Entry, error)
	// Move renames e and/or moves it into newParent. The ID stays the same.
	// An item already at the destination gives ErrAlreadyExists; a missing
	// newParent gives ErrNotFound. Where Features.ConditionalMove is true
	// and e.Version is not empty, the move happens only if the item still
	// has that Version; otherwise it fails with ErrPreconditionFailed and
	// nothing moves.
	Move(ctx context.Context, e Entry, newParent Entry, newName string) (Entry, error)
	// Delete removes e (a folder with everything in it), to the recycle bin
	// where the Storage has one. Deleting a missing item gives ErrNotFound.
	// Where Features.ConditionalDelete is true and e.Version is not empty,
	// the item is deleted only if it still has that Version; otherwise
	// Delete fails with ErrPreconditionFailed and deletes nothing. (For a
	// folder that is the folder's own Version: callers that must not lose
	// what a person added inside verify the subtree themselves, see
	// ListUnder.) An Entry with an empty Version deletes whatever is there.
	Delete(ctx context.Context, e Entry) error
	// Features describes what the Storage can do.
	Features() Features
}

// Features describes a Storage's abilities and limits.
type Features struct {
	// Hashes lists the content hash kinds that Entries carry.
	Hashes []HashKind
	// Names are the rules a name must follow on this Storage, including
	// case-insensitivity and the maximum path length.
	Names NameRules
	// MaxFileSize is the largest file Put accepts, in bytes (0: no limit).
	MaxFileSize int64
	// MaxDepth is how deep folders may nest below the root (0: no limit; 1:
	// folders only at the top level, as with Procore photo albums).
	MaxDepth int
	// VersionHistory is true when a Put over an existing file keeps the
	// previous content as an older version.
	VersionHistory bool
	// RecycleBin is true when Delete moves items to a recycle bin.
	RecycleBin bool
	// ConditionalPut is true when Put enforces ExpectedVersion atomically.
	ConditionalPut bool
	// ConditionalDelete is true when Delete acts only on the Version it is
	// given (an If-Match on the service, or an equally atomic check).
	// Where it is false, callers confirm the item with a fresh read
	// right before deleting it.
	ConditionalDelete bool
	// ConditionalMove is true when Move acts only on the Version it is
	// given, as ConditionalDelete does for Delete.
	ConditionalMove bool
	// SetModTime is true when Put records PutOptions.ModTime.
	SetModTime bool
	// ModTimePrecision is how precisely modification times are kept.
	ModTimePrecision time.Duration
	// StatIDWalks is true when IDStater.StatID of an item that is gone
	// (or no longer where the Storage last saw it) walks the whole tree,
	// as on a local file system: a caller confirming several items at
	// once then lists the tree once instead of walking it per item.
	StatIDWalks bool
	// Upload describes chunked uploads.
	Upload UploadConstraints
}

// UploadConstraints describe how a Storage uploads large files.
type UploadConstraints struct {
	// ChunkThreshold is the size from which Put uploads in chunks (0: never).
	ChunkThreshold int64
	// MinChunk and MaxChunk bound the size of one chunk; ChunkMultiple, when
	// not zero, is the number every chunk but the last must be a multiple of.
	MinChunk, MaxChunk, ChunkMultiple int64
}

// Change is one item of a change feed.
type Change struct {
	// Entry is the item as it is now. For a deletion only ID (and Path and
	// IsDir where the feed knows them) are set.
	Entry Entry
	// Deleted is true when the item no longer exists.
	Deleted bool
}

// ChangeFeed is implemented by Storages that can report what changed since
// a point in time, so the engine need not list the whole tree.
type ChangeFeed interface {
	// LatestCursor returns a cursor for "now": Changes with it reports only
	// what changes after this call.
	LatestCursor(ctx context.Context) (string, error)
	// Changes returns what changed after cursor (creations, updates, moves
	// with the item's new path, deletions) and the cursor to use next time.
	// An item may be reported more than once; the last report wins. A moved
	// or renamed folder is reported itself; its descendants need not be
	// (their paths follow the folder's). A deleted folder's descendants may
	// or may not be reported one by one. A
	// cursor the provider no longer honours gives ErrCursorExpired, after
	// which the caller lists the whole tree again.
	Changes(ctx context.Context, cursor string) ([]Change, string, error)
}

// Watcher is implemented by Storages that can tell when something may have
// changed: long-poll, webhooks, file-system notifications.
type Watcher interface {
	// Watch returns a channel that receives a value (coalesced: several
	// changes may give one signal) whenever something may have changed. The
	// channel is closed when ctx is done.
	Watch(ctx context.Context) (<-chan struct{}, error)
}

// UploadState is what a ResumableUploader needs to continue an upload after
// a process restart. Persist it as it is; Token is opaque and may hold a
// session URL, which callers must treat as a secret (never log it).
type UploadState struct {
	ParentID string    // the folder being written into
	Name     string    // the file's name
	Size     int64     // the file's total size
	Offset   int64     // bytes the provider has confirmed
	Token    string    // connector-specific session state
	Expires  time.Time // when the provider forgets the session (zero: unknown)
}

// ResumableUploader is implemented by Storages whose chunked uploads can be
// continued after a restart. Put reports state through
// PutOptions.OnUploadState.
type ResumableUploader interface {
	// ResumeUpload continues the upload described by st. r yields the
	// file's bytes from st.Offset on. An expired or unknown session gives
	// ErrNotFound, after which the caller starts a new Put.
	ResumeUpload(ctx context.Context, st UploadState, r io.Reader, opt PutOptions) (Entry, error)
}

// RangeOpener is implemented by Storages that can open a file from an
// offset.
type RangeOpener interface {
	// OpenAt streams the content of e from byte offset on.
	OpenAt(ctx context.Context, e Entry, offset int64) (io.ReadCloser, error)
}

// Copier is implemented by Storages that copy files on the server side.
type Copier interface {
	// Copy copies file e into newParent as newName and returns the copy.
	Copy(ctx context.Context, e Entry, newParent Entry, newName string) (Entry, error)
}

// Hasher is implemented by Storages that compute content hashes on demand
// rather than listing them (a local folder computes SHA-256 only when asked,
// then caches it). The engine asks when it must compare content.
type Hasher interface {
	// Hash returns file e's content hash of kind k, or an error matching
	// ErrUnsupported when the Storage cannot compute that kind.
	Hash(ctx context.Context, e Entry, k HashKind) (string, error)
}

// WebLinker is implemented by Storages that can give an item's address in
// the service's web interface, for portals that link to both sides of a
// pair.
type WebLinker interface {
	// WebURL returns the address of e in the service's web interface
	// (where a person opens the file or folder in a browser), computed
	// from the entry without a call to the service. It fails with
	// ErrUnsupported when the storage cannot give one for e.
	WebURL(ctx context.Context, e Entry) (string, error)
}

// IDStater is implemented by Storages that can look an item up by its ID.
// Callers use it to confirm that an item missing from a listing is really
// gone (a listing is not a snapshot: an item moved during a walk can be
// missed) and to find where an item is now before acting on it.
type IDStater interface {
	// StatID returns the item with ID id as it is now, with its Path
	// relative to the root. An item that was deleted, is in the recycle
	// bin, or now lies outside the root gives ErrNotFound.
	StatID(ctx context.Context, id string) (Entry, error)
}

// SubtreeLister is implemented by Storages that can list the items below
// one folder without listing the whole tree.
type SubtreeLister interface {
	// ListUnder yields every file and folder below folder dir (not dir
	// itself), with Paths relative to the Storage root, once each. A
	// missing dir gives ErrNotFound.
	ListUnder(ctx context.Context, dir Entry) iter.Seq2[Entry, error]
}

// ListUnder yields every item below folder dir of s: with s's
// SubtreeLister where it has one, else by filtering a listing of the whole
// tree by dir's path (or, for the root, the whole listing).
func ListUnder(ctx context.Context, s Storage, dir Entry) iter.Seq2[Entry, error] {
	if sl, ok := s.(SubtreeLister); ok {
		return sl.ListUnder(ctx, dir)
	}
	return func(yield func(Entry, error) bool) {
		prefix := dir.Path + "/"
		for e, err := range s.List(ctx) {
			if err != nil {
				yield(Entry{}, err)
				return
			}
			if dir.Path != "" && !strings.HasPrefix(e.Path, prefix) {
				continue
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// StatCurrent returns e as it is now on s: by ID where s is an IDStater
// and e has an ID (the item may have moved), else by e's path. An entry
// found at e's path with another ID gives ErrNotFound: e itself is gone.
func StatCurrent(ctx context.Context, s Storage, e Entry) (Entry, error) {
	if is, ok := s.(IDStater); ok && e.ID != "" {
		return is.StatID(ctx, e.ID)
	}
	cur, err := s.Stat(ctx, e.Path)
	if err != nil {
		return Entry{}, err
	}
	if e.ID != "" && cur.ID != e.ID {
		return Entry{}, NewError("stat", e.Path, ErrNotFound, nil)
	}
	return cur, nil
}

// SkippedItem is an item a listing left out, and why.
type SkippedItem struct {
	Path   string // relative to the root
	Reason string // e.g. "symbolic link: not followed"
}

// SkipReporter is implemented by Storages whose listings leave out items
// they cannot hold as files or folders (symbolic links, devices, sockets),
// so that callers can say what was not synced instead of passing over it
// without a word.
type SkipReporter interface {
	// Skipped returns the items that the most recent complete List left
	// out, with the reason for each (none before the first List).
	Skipped() []SkippedItem
}

// Package local is a storage.Storage over a local directory or a mounted
// network share (SMB/CIFS, NFS).
//
//	s, err := local.New("/srv/projects/tower-a")
//	if err != nil { ... }
//	defer s.Close()
//
// # Paths and confinement
//
// Paths are slash-separated and relative to the root. Every access goes
// through an [os.Root] or, on Linux, through openat2 with RESOLVE_BENEATH
// from a descriptor of the root (the kernel resolves the whole path in one
// call and refuses any step out of the root), so no path leads out of the
// root (but see hard links below): paths with "..", absolute paths and NUL are refused with
// storage.ErrInvalidName, and a symbolic link leading out of the root gives
// storage.ErrPermissionDenied. Symbolic links are not items of the tree:
// List neither reports them nor descends into them, and Stat or Open of a
// path naming one gives storage.ErrNotFound (a link loop too). Special files
// (FIFOs, sockets, devices) are skipped the same way.
//
// Hard links are followed: a file inside the root that is a hard link to a
// file elsewhere is an ordinary file of the tree, and its content is read
// and synced like any other (a hard link cannot be told from the original).
// A local user who can create files in the root and read a file elsewhere
// on the same file system can therefore expose that file by linking it into
// the root. Keep the root writable only by people trusted with what the
// sync sends out, or on a file system of its own.
//
// # IDs and Versions
//
// An item's ID is its file identity, not its path, so it survives renames,
// moves and content updates made through this package:
//
//   - Where the file system keeps extended attributes (ext4, XFS, Btrfs,
//     tmpfs, most SMB mounts) a random 128-bit hex ID is written on creation
//     into the attribute "user.procoresync.id", together with the inode
//     number it was written for. Put copies the old ID onto the new file
//     before renaming it into place. An attribute found on another inode
//     (copied by cp -a or rsync -X, or a file moved between file systems) is
//     ignored, so copies never share an ID.
//   - Items without the attribute (made by people or other programs) have
//     an identity-based ID: "i<inode>" ("i<device>-<inode>" on another file
//     system mounted below the root), then "-b<birth time>" where the file
//     system keeps birth times (statx; ext4, XFS, Btrfs, tmpfs), then "-d"
//     for folders. File systems hand a freed inode number to the next new
//     item at once (ext4 does), so the inode number alone would make a new
//     file or folder look like a deleted file renamed; the birth time tells
//     them apart, and a folder never takes a file's identity. Where no
//     birth time is kept (some network file systems) a file deleted and a
//     new file that reuses its inode number can still be taken for one.
//   - Where extended attributes are unavailable (or WithoutXattrs is given)
//     IDs are identity-based and a small persistent index in the hidden
//     folder MetaDir maps the identity of an updated file to its first ID.
//     List prunes the index of identities that are gone.
//
// Listing costs one statx per item and one open per folder: IDs are not
// read by opening items. The ID attribute is read once per item life
// (through /proc/self/fd where /proc is mounted, else by opening the
// item) and remembered by inode number and birth time, since the Storage
// writes it only on items it has just made, before they take their names;
// a complete listing keeps what it read in MetaDir, so that the next
// process lists the items it knows without reading their attributes.
// Where the file system keeps no birth times it is read on every listing.
// Looking up a path opens only the folder that holds it (none at the top
// level), not every folder on the way.
//
// An item found at a path is only taken for the item of a given ID when its
// identity says so; otherwise the item is looked up by ID (a walk of the
// tree), and a missing one gives storage.ErrNotFound. StatID
// (storage.IDStater) does this, looking first where the item was last
// seen; ListUnder (storage.SubtreeLister) walks one folder.
//
// An editor that saves by writing a new file and renaming it over the old
// one gives the file a new inode, hence a new ID: the engine sees a delete
// and a create at the same path. Hard links share an inode; List gives the
// second and later paths the derived ID "<id>@<n>".
//
// A file's Version is built from its size, modification time, inode number
// and birth time; a folder's from its modification time, inode number and
// birth time. Renames, moves and permission changes keep it (the inode
// change time is deliberately left out), so a rename never looks like an
// edit. An edit that leaves both size and modification time as they were
// (a program that restores the modification time) is not seen.
//
// Delete and Move are not conditional (Features.ConditionalDelete and
// ConditionalMove are false): a file system offers no atomic "delete or
// rename only if unchanged", so callers confirm an item with a fresh Stat
// right before destroying it.
//
// # Writes
//
// Put writes to a hidden temporary file (TempPrefix) in the target folder,
// syncs it, renames it into place and syncs the folder: a failed, short or
// long reader leaves nothing behind. NoOverwrite uses renameat2
// RENAME_NOREPLACE (or a hard link where the file system lacks it).
// ExpectedVersion is checked under a lock immediately before the rename;
// another program writing the file in that instant is not detected. Move
// never overwrites.
//
// # Hashes
//
// SHA-256 is computed on demand by Hash (storage.Hasher) and cached in
// memory by ID, size, modification time and inode; List and Stat include it
// only while the cached value is still valid. Put computes it on the way.
//
// # Changes
//
// There is no change feed (storage.ChangeFeed): List is the full scan.
// Watch (storage.Watcher) wakes the engine through file-system
// notifications (fsnotify), watching new folders as they appear.
//
// # Recycle bin
//
// Delete moves items into a hidden folder below the root (DefaultTrashDir,
// see WithTrashDir), one uniquely named folder per deletion beside a record
// of the original path; List never shows it. Trash lists it, Restore puts
// an item back with its ID, EmptyTrash purges it. WithoutTrash deletes for
// good. WithTrashRetention bounds the bin by age and/or size: after each
// Delete, and whenever PruneTrash runs (on the embedder's schedule), the
// oldest deletions beyond the limits are removed for good; without it the
// bin grows until EmptyTrash.
//
// # Names
//
// By default the rules of Linux file systems apply: only "/" and NUL are
// invalid, so any other byte string is a name, including ones that are not
// valid UTF-8 (NameRules.AllowInvalidUTF8); names are case-sensitive and at
// most 255 bytes (MaxNameBytes; NameRules counts characters, so the byte
// limit is checked on top and reported as a *storage.InvalidNameError).
// WithWindowsNames applies the rules of shares served by Windows (valid
// UTF-8 only). The names of the recycle bin and the metadata folder are
// reserved, and so is the TempPrefix prefix.
//
// The package runs on Unix-like systems; extended-attribute IDs, birth
// times and renameat2 are used on Linux, the inode index elsewhere. On other systems
// New fails with storage.ErrUnsupported.
package local

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
// through an [os.Root], so nothing outside the root is ever read or
// written: paths with "..", absolute paths and NUL are refused with
// storage.ErrInvalidName, and a symbolic link leading out of the root gives
// storage.ErrPermissionDenied. Symbolic links are not items of the tree:
// List neither reports them nor descends into them, and Stat or Open of a
// path naming one gives storage.ErrNotFound (a link loop too). Special files
// (FIFOs, sockets, devices) are skipped the same way.
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
//     the inode-based ID "i<inode>" ("i<device>-<inode>" on another file
//     system mounted below the root).
//   - Where extended attributes are unavailable (or WithoutXattrs is given)
//     IDs are inode-based and a small persistent index in the hidden folder
//     MetaDir maps the current inode of an updated file to its first ID.
//     List prunes the index of inodes that are gone.
//
// An editor that saves by writing a new file and renaming it over the old
// one gives the file a new inode, hence a new ID: the engine sees a delete
// and a create at the same path. Hard links share an inode; List gives the
// second and later paths the derived ID "<id>@<n>".
//
// A file's Version is built from its size, modification time, inode number
// and inode change time; a folder's from its modification time, inode
// number and change time. It changes whenever the item changes, and also on
// renames and permission changes.
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
// good.
//
// # Names
//
// By default the rules of Linux file systems apply: only "/" and NUL are
// invalid, names are case-sensitive and at most 255 bytes (MaxNameBytes;
// NameRules counts characters, so the byte limit is checked on top and
// reported as a *storage.InvalidNameError). WithWindowsNames applies the
// rules of shares served by Windows. The names of the recycle bin and the
// metadata folder are reserved, and so is the TempPrefix prefix.
//
// The package runs on Unix-like systems; extended-attribute IDs and
// renameat2 are used on Linux, the inode index elsewhere. On other systems
// New fails with storage.ErrUnsupported.
package local

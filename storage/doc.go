// Package storage is the contract between procoresync's sync engine and the
// services it keeps in sync: Procore, SharePoint, OneDrive, Box, Dropbox, a
// local folder, or a connector of your own.
//
// # The contract in five minutes
//
// A [Storage] is a tree of folders and files below one root folder. Everything
// a Storage says about an item travels in an [Entry]: the provider's stable
// ID (and the ID of its parent), its slash-separated Path relative to the
// root ("" is the root itself), whether it is a folder, its size,
// modification time, content [Hashes] and an opaque Version that changes
// whenever the item changes.
//
// The required methods are few:
//
//   - List walks the whole tree below the root as an iterator. Order is
//     unspecified; every item appears once; the root itself is not listed.
//   - Stat looks one path up; Open streams a file's content.
//   - Put writes a new file, or a new version of the file of that name in the
//     parent folder. It streams: size may be -1 when unknown. PutOptions
//     carries an expected previous Version (optimistic concurrency), a
//     no-overwrite flag and the modification time to set.
//   - MakeDir, Move (rename and/or move to another folder; the ID stays) and
//     Delete (to the recycle bin where the provider has one).
//   - Features describes what the provider can do: hash kinds, [NameRules],
//     size limits, version history, recycle bin, upload chunk constraints.
//
// IDs are the identity of an item. An item that is renamed or moved keeps
// its ID, and the engine detects moves by ID, never by guessing from paths.
// A Storage is rooted at a folder identified by ID where the provider has
// IDs: renaming or moving that root folder does not change what the Storage
// sees, and Stat(ctx, "") fails with [ErrNotFound] once the root is gone.
//
// # Errors
//
// Failures are reported as errors that match one of the sentinel kinds with
// [errors.Is]: [ErrNotFound], [ErrAlreadyExists], [ErrPreconditionFailed],
// [ErrThrottled], [ErrTooLarge], [ErrInvalidName], [ErrQuotaExceeded],
// [ErrPermissionDenied], [ErrLocked], [ErrUnsupported], [ErrCursorExpired],
// [ErrNotEmpty], [ErrIsDir], [ErrNotDir]. Connectors build them with [NewError],
// [Throttled] and [InvalidName]; callers also use [errors.As] with [*Error],
// [*ThrottledError] and [*InvalidNameError] for details such as the delay a
// service asked for. Errors never carry secrets.
//
// # Optional capabilities
//
// A connector that can do more implements small extra interfaces, found by
// type assertion in the manner of rclone's optional features:
//
//   - [ChangeFeed]: changes since a cursor, including deletions and moves.
//   - [Watcher]: a signal that something changed (long-poll, webhooks,
//     file-system notifications), so the engine need not wait for its timer.
//   - [ResumableUploader]: upload state that can be saved and resumed after
//     a process restart.
//   - [RangeOpener]: open a file from an offset (used to resume uploads).
//   - [Copier]: server-side copy.
//   - [Hasher]: content hashes computed on demand.
//   - [IDStater]: look an item up by ID (to confirm a deletion, or find
//     where a person moved an item).
//   - [SubtreeLister]: list below one folder (to verify a folder before
//     deleting it); [ListUnder] falls back to filtering a full listing.
//   - [SkipReporter]: what the last listing left out and why (symbolic
//     links, special files), so that a run can say it.
//
// # People work while a sync runs
//
// Between a listing and an action anyone may edit, move or delete anything,
// and a listing is not a snapshot. A caller never destroys on the strength
// of an old reading alone: Delete and Move act only on the Version they are
// given where Features.ConditionalDelete and ConditionalMove say the
// service checks it (an If-Match), Put only over ExpectedVersion; where the
// service cannot, the caller reads the item again right before the call
// ([StatCurrent]). An item missing from a listing is confirmed gone by ID
// before it is taken as deleted.
//
// # Conformance
//
// Package storagetest holds the conformance suite: call storagetest.Run from
// your connector's tests and it exercises every rule on this page, skipping
// only what Features and the optional interfaces say the connector cannot do.
package storage

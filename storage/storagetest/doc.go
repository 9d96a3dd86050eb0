// Package storagetest is the conformance suite every [storage.Storage]
// connector must pass, in the manner of rclone's fstests.
//
// A connector calls Run from its own tests with a function that makes an
// empty Storage (against an httptest fake of its service, a temporary
// directory, …):
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Opt{
//			NewStorage: func(t *testing.T) storage.Storage {
//				srv := graphtest.NewServer(t, graphtest.Options{})
//				return newOneDrive(t, srv) // onedrive.New on a folder of srv's drive
//			},
//			SetChunkSize: func(s storage.Storage, chunk int64) bool {
//				return s.(*onedrive.Storage).SetChunking(chunk, chunk)
//			},
//			HashFuncs: map[storage.HashKind]func() hash.Hash{
//				storage.HashQuickXor: quickxorhash.New,
//			},
//		})
//	}
//
// (the Run example spells the OneDrive set-up out; storage/local and
// storage/memory run the suite the same way).
//
// Run calls NewStorage afresh for every check, so checks are independent.
// The checks are grouped (Root, Folders, Put, Chunked, Names, List,
// NotFound, Move, Delete, ChangeFeed, Watcher, ResumableUpload,
// RangeOpener, Copier, Hasher, IDStater, SubtreeLister, Hashes, Concurrent) and each works in
// top-level folders of its own. Every check is a named subtest (for
// example "Put/ReaderError"), so a failure names the rule that was broken
// and `go test -run 'Conformance/Put/'` re-runs a part.
//
// The suite is capability-gated: checks of an optional interface
// ([storage.ChangeFeed], [storage.Watcher], [storage.ResumableUploader],
// [storage.RangeOpener], [storage.Copier], [storage.Hasher],
// [storage.IDStater], [storage.SubtreeLister]) and of declared features
// (ConditionalPut, ConditionalDelete, ConditionalMove, SetModTime,
// MaxDepth, RecycleBin, case-insensitive names) run only where the Storage says it can; otherwise
// the subtest logs why and passes. Opt.Skip turns single checks off with a
// logged reason, for the quirks of a real service; Opt.SkipNames does the
// same for single hostile names.
//
// Hostile names (every invalid character class, leading and trailing spaces
// and periods, reserved names, NFC and NFD forms, long names, names that
// differ only in case) must either round-trip — Put succeeds, List shows the
// same name, Stat finds it, Open gives the content — or fail with an error
// matching [storage.ErrInvalidName].
//
// A Put whose reader yields fewer bytes than declared, more, or fails even
// after exactly the declared bytes must fail and commit nothing: no new
// file, and an existing file keeps its ID, Version and content (Put
// checks, and Chunked/TornSource for chunked uploads). Operations that
// could hang (a reader that yields fewer bytes than declared) are guarded
// by Opt.Timeout and fail the check instead of hanging the test binary.
package storagetest

// Package memory is the reference in-memory [storage.Storage]: a complete,
// concurrency-safe implementation of the contract and of every optional
// capability ([storage.ChangeFeed], [storage.Watcher],
// [storage.ResumableUploader], [storage.RangeOpener], [storage.Copier],
// [storage.Hasher], [storage.IDStater], [storage.SubtreeLister]), built for
// tests and benchmarks of code that uses storages.
//
// New makes an empty tree; options choose case-insensitivity and name rules,
// version history, recycle bin, size and depth limits, hash kinds, the clock,
// chunked-upload sizes, and whether Delete and Move check the Version they
// are given (as Graph's If-Match does; on by default, off with
// WithConditionalDeleteMove(false) to act like a service without it). Sub gives a Storage rooted at a folder of the
// same tree that follows the folder by ID, as real connectors do.
//
// For tests it offers fault injection in the fakes' vocabulary (Inject
// with a Fault, ClearFaults; shorthands FailNext, FailAlways, SetLatency;
// SetHook, SetShortRead), per-operation call counters (Calls, CallCount,
// ResetCalls),
// a look at old versions and the recycle bin (Versions, Trash) and quick
// set-up helpers by path (WriteFile, ReadFile, Mkdirs, Remove, Rename).
//
//	s := memory.New(memory.CaseInsensitive())
//	if _, err := s.WriteFile("Plans/level 1.pdf", pdf); err != nil { … }
//	s.FailNext(memory.OpPut, 2, storage.Throttled(time.Second, nil))
//	… run the code under test …
//	fmt.Println(s.CallCount(memory.OpPut))
//
// Content lives in memory once per content version: Open and Copy share it
// and List copies no content, so a tree of a million small files fits in a
// few hundred megabytes. Entries share their Hashes map with the Storage;
// treat it as read-only.
package memory

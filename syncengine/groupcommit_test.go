package syncengine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// putCountingStore records the size of every PutItems call and fails the
// calls that fail says should.
type putCountingStore struct {
	syncengine.MetadataStore
	mu    sync.Mutex
	sizes []int
	fail  func(items []syncengine.Item) bool
}

func (s *putCountingStore) PutItems(ctx context.Context, id string, items []syncengine.Item, del []int64) error {
	s.mu.Lock()
	s.sizes = append(s.sizes, len(items))
	fail := s.fail != nil && s.fail(items)
	s.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return s.MetadataStore.PutItems(ctx, id, items, del)
}

func (s *putCountingStore) calls() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sizes)
}

// Rule 4 of groupcommit.go: the baseline items of a window's new files and
// folders are written in one transaction, not one per item, and a failed
// window write falls back to item by item, failing only the item that
// cannot be written (its copy is adopted by the next run).
func TestWindowBaselineInOneTransaction(t *testing.T) {
	const files = 40
	hasPath := func(p string) func([]syncengine.Item) bool {
		return func(items []syncengine.Item) bool {
			for _, it := range items {
				if it.A.Path == p {
					return true
				}
			}
			return false
		}
	}
	for _, tc := range []struct {
		name    string
		fail    func([]syncengine.Item) bool
		failed  int
		largest int
	}{
		{name: "all written", largest: files},
		{name: "window write fails, one item fails", fail: hasPath("docs/f07.txt"), failed: 1, largest: files},
		{name: "window write fails, items written one by one", fail: func(items []syncengine.Item) bool { return len(items) > 1 }, largest: files},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs *putCountingStore
			e := newEnv(t, func(p *syncengine.Pair, o *syncengine.Options) {
				cs = &putCountingStore{MetadataStore: o.Store, fail: tc.fail}
				o.Store = cs
			})
			for i := range files {
				e.write(e.a, fmt.Sprintf("docs/f%02d.txt", i), fmt.Sprintf("content %d", i))
			}
			r := e.run()
			require.Equal(t, files, r.Counts.FilesCopied)
			require.Equal(t, 1, r.Counts.FoldersMade)
			require.Equal(t, tc.failed, r.Counts.Failed)
			sizes := cs.calls()
			require.Contains(t, sizes, tc.largest, "the window's %d files in one PutItems: %v", files, sizes)
			if tc.fail == nil {
				require.LessOrEqual(t, len(sizes), 3, "one write per window: %v", sizes)
			}
			open, err := e.store.OpenActions(e.ctx, e.pair.ID)
			require.NoError(t, err)
			require.Empty(t, open, "every action closed: done or failed")
			n, err := e.store.CountItems(e.ctx, e.pair.ID)
			require.NoError(t, err)
			require.Equal(t, files+1-tc.failed, n)
			fs, err := e.store.Failures(e.ctx, e.pair.ID)
			require.NoError(t, err)
			require.Len(t, fs, tc.failed)

			cs.mu.Lock()
			cs.fail = nil
			cs.mu.Unlock()
			e.settle()
			n, err = e.store.CountItems(e.ctx, e.pair.ID)
			require.NoError(t, err)
			require.Equal(t, files+1, n)
			require.Equal(t, tree(t, e.a), tree(t, e.b))
		})
	}
}

// flakyBatcher is a storage that batches its durability and fails its
// Flush or its EndBatch when told to.
type flakyBatcher struct {
	storage.Storage
	mu                  sync.Mutex
	failFlush, failEnd  bool
	flushes, endBatches int
}

func (f *flakyBatcher) BeginBatch() {}

func (f *flakyBatcher) Flush(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes++
	if f.failFlush {
		return errors.New("EIO while syncing")
	}
	return nil
}

func (f *flakyBatcher) EndBatch(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.endBatches++
	if f.failEnd {
		return errors.New("EIO while syncing")
	}
	return nil
}

// A storage that cannot make its batched changes durable (Flush before a
// window, EndBatch at the end of a pass) leaves the run partial, with the
// reason in Undone, rather than succeeded: what it wrote may not survive a
// power loss. A Flush that fails before a window also stops the run before
// it journals more; the next run converges.
func TestFailedStorageFlushLeavesTheRunPartial(t *testing.T) {
	for _, tc := range []struct {
		name               string
		failFlush, failEnd bool
	}{{"flush before a window", true, false}, {"end of the batch", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &flakyBatcher{failFlush: tc.failFlush, failEnd: tc.failEnd}
			e := newEnv(t, func(p *syncengine.Pair, _ *syncengine.Options) {
				fb.Storage = p.B
				p.B = fb
			})
			for i := range 3 {
				e.write(e.a, fmt.Sprintf("f%d.txt", i), "content")
			}
			r, err := e.eng.RunOnce(e.ctx, e.pair.ID, syncengine.RunOptions{})
			require.NoError(t, err)
			require.Equal(t, syncengine.RunPartial, r.Status)
			require.Contains(t, r.Undone, "could not make its changes durable: EIO while syncing")
			require.Positive(t, fb.endBatches)
			if tc.failFlush {
				require.Equal(t, 3, r.Counts.Failed, "the window's untried copies fail, to be tried again")
			}

			fb.mu.Lock()
			fb.failFlush, fb.failEnd = false, false
			fb.mu.Unlock()
			e.settle()
			require.Equal(t, tree(t, e.a), tree(t, e.b))
		})
	}
}

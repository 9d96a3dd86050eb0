package memory

import (
	"context"
	"io"
	"maps"
	"sync"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// Op names an operation of the Storage, for call counting and fault
// injection.
type Op string

// The operations. Every call of a Storage method counts as one call of its
// Op, including calls that fail; a chunked upload also counts one
// OpUploadChunk per chunk.
const (
	OpList         Op = "List"
	OpStat         Op = "Stat"
	OpOpen         Op = "Open"
	OpOpenAt       Op = "OpenAt"
	OpPut          Op = "Put"
	OpUploadChunk  Op = "UploadChunk"
	OpResumeUpload Op = "ResumeUpload"
	OpMakeDir      Op = "MakeDir"
	OpMove         Op = "Move"
	OpDelete       Op = "Delete"
	OpCopy         Op = "Copy"
	OpHash         Op = "Hash"
	OpLatestCursor Op = "LatestCursor"
	OpChanges      Op = "Changes"
	OpWatch        Op = "Watch"
	OpStatID       Op = "StatID"
	OpListUnder    Op = "ListUnder"
)

// Forever as a Fault's Times applies it to every matching call until
// ClearFaults.
const Forever = fakeservice.Forever

// Fault is a failure injected into the Storage's operations, in the
// vocabulary of the fake services' faults (graphtest.Fault): it matches
// calls of Op (every operation when Op is ""), lets the first After
// matching calls through, then applies to the next Times calls (0: one;
// Forever: every one until ClearFaults). Every matching call counts
// towards the After of every pending fault.
//
// A call it applies to waits Latency (or until its context is done), then
// fails with Err, returned as it is (so a test can inject
// storage.Throttled(…), context.Canceled, a plain network-like error …),
// without any effect; with a nil Err it only waits, then runs.
type Fault struct {
	Op      Op
	Err     error
	Latency time.Duration
	After   int
	Times   int
}

// faults is the per-Storage (per handle) call counter and fault injector.
type faults struct {
	mu        sync.Mutex
	calls     map[Op]int
	faults    []*Fault
	latency   map[Op]time.Duration
	hook      func(Op) error
	shortRead int64 // -1: off
	shortErr  error
}

func newFaults() *faults {
	return &faults{calls: map[Op]int{}, latency: map[Op]time.Duration{}, shortRead: -1}
}

// before runs at the start of every operation: it counts the call, runs the
// hook, applies injected failures and latency, and checks ctx.
func (f *faults) before(ctx context.Context, op Op) error {
	f.mu.Lock()
	f.calls[op]++
	hook := f.hook
	injected := f.take(op)
	lat := f.latency[op]
	f.mu.Unlock()

	if hook != nil {
		if err := hook(op); err != nil {
			return err
		}
	}
	if injected != nil {
		lat = max(lat, injected.Latency)
		if injected.Err != nil {
			if injected.Latency > 0 {
				if err := wait(ctx, injected.Latency); err != nil {
					return err
				}
			}
			return injected.Err
		}
	}
	return wait(ctx, lat)
}

// take returns the fault that applies to this call of op, if any, and
// uses it up (the fakes' schedule, fakeservice.Pick). Caller holds mu.
func (f *faults) take(op Op) *Fault {
	var hit *Fault
	f.faults, hit = fakeservice.Pick(f.faults, func(fl *Fault) bool { return fl.Op == "" || fl.Op == op },
		func(fl *Fault) (after, times *int) { return &fl.After, &fl.Times })
	return hit
}

// wait waits d or until ctx is done, and returns ctx's error.
func wait(ctx context.Context, lat time.Duration) error {
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return ctx.Err()
}

// wrapReader applies the short-read fault to a reader that Open returns.
func (f *faults) wrapReader(r io.ReadCloser) io.ReadCloser {
	f.mu.Lock()
	k, err := f.shortRead, f.shortErr
	f.mu.Unlock()
	if k < 0 {
		return r
	}
	return &shortReader{r: r, left: k, err: err}
}

// shortReader yields at most left bytes, then err (io.EOF when err is nil).
type shortReader struct {
	r    io.ReadCloser
	left int64
	err  error
}

func (s *shortReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		if s.err != nil {
			return 0, s.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	return n, err
}

func (s *shortReader) Close() error { return s.r.Close() }

// Inject adds a fault. Faults are tried in the order they were added.
func (s *Storage) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.faults = append(s.f.faults, &f)
}

// FailNext makes the nth call of op from now on (n = 1: the very next call)
// fail with err: Inject(Fault{Op: op, Err: err, After: n - 1}). Several
// may be pending at once; each fires once. n < 1 is treated as 1.
func (s *Storage) FailNext(op Op, n int, err error) {
	s.Inject(Fault{Op: op, Err: err, After: max(n, 1) - 1})
}

// FailAlways makes every call of op fail with err until ClearFaults:
// Inject(Fault{Op: op, Err: err, Times: Forever}).
func (s *Storage) FailAlways(op Op, err error) {
	s.Inject(Fault{Op: op, Err: err, Times: Forever})
}

// SetLatency makes every call of op wait d before it runs (or until its
// context is done). d = 0 removes the latency.
func (s *Storage) SetLatency(op Op, d time.Duration) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if d <= 0 {
		delete(s.f.latency, op)
		return
	}
	s.f.latency[op] = d
}

// SetHook sets a function called at the start of every operation, after
// the call is counted and before anything else. A non-nil error from it is
// returned by the operation as it is. A test can use it to cancel a context
// after k calls, or to change the tree "from the other side" (the hook must
// not call the same Storage's methods for the same operation recursively
// without a way out). nil removes the hook.
func (s *Storage) SetHook(hook func(op Op) error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.hook = hook
}

// SetShortRead makes every reader that Open and OpenAt return from now on
// stop after k bytes: with err if err is not nil, else with io.EOF (a
// truncated download). k < 0 turns it off.
func (s *Storage) SetShortRead(k int64, err error) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.shortRead, s.f.shortErr = k, err
	if k < 0 {
		s.f.shortRead, s.f.shortErr = -1, nil
	}
}

// ClearFaults removes every injected failure, latency, the hook and the
// short-read fault. Call counts are kept.
func (s *Storage) ClearFaults() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.faults = nil
	s.f.latency = map[Op]time.Duration{}
	s.f.hook = nil
	s.f.shortRead, s.f.shortErr = -1, nil
}

// Calls returns how many calls of each operation this Storage handle has
// received since it was made or since ResetCalls. The test conveniences
// (WriteFile, ReadFile, …) are not counted.
func (s *Storage) Calls() map[Op]int {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return maps.Clone(s.f.calls)
}

// CallCount returns the calls of op ("" for all operations) since the
// Storage handle was made or since ResetCalls.
func (s *Storage) CallCount(op Op) int {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if op != "" {
		return s.f.calls[op]
	}
	n := 0
	for _, c := range s.f.calls {
		n += c
	}
	return n
}

// ResetCalls sets every call count to zero.
func (s *Storage) ResetCalls() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	clear(s.f.calls)
}

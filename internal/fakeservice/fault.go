package fakeservice

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// AllOps as a Fault's Op matches every operation (so does "").
const AllOps = "*"

// Forever as a Fault's Times applies it to every matching call until the
// faults are cleared.
const Forever = -1

// Fault is a failure injected into a fake service. It matches calls of Op
// (every operation when Op is "" or AllOps) on Host (every host when
// empty); it lets the first After matching calls through, then applies to
// the next Times calls (0: one; Forever: every one).
//
// What a matching call gets:
//   - Latency: the response waits that long (real time, or until the
//     request's context ends), combined with anything below;
//   - Status: the fake's error response with that status instead of
//     serving the call (Code, Inner and Body shape it; see each fake),
//     with Retry-After when RetryAfter or RetryAfterHeader is set. With
//     AfterApply the call is carried out first and only its response
//     replaced, as when a response is lost on the way;
//   - Reset: the connection is closed without a response (after carrying
//     the call out when AfterApply);
//   - Truncate: the real response's headers and half its body, then the
//     connection is closed.
type Fault struct {
	// Op is the operation the fault applies to (the fake's operation
	// names, e.g. "drives.GetItem" or "RestV10FoldersIdGet").
	Op string
	// Host restricts the fault to calls on one of the fake's hosts.
	Host string
	// Status is the HTTP status of the error response (0: none).
	Status int
	// Code is the service's error code in the body (default: the fake's
	// code for Status). Inner are nested inner codes, for services whose
	// errors nest them (Microsoft Graph).
	Code  string
	Inner []string
	// Body, when set, is sent as the error response body as it is.
	Body string
	// RetryAfter is sent as a Retry-After header in whole seconds
	// (rounded up). RetryAfterHeader, when set, is sent instead as it is
	// (an HTTP date, or a malformed value).
	RetryAfter       time.Duration
	RetryAfterHeader string
	// Reset closes the connection without a response.
	Reset bool
	// Truncate sends half the body of the real response, then closes the
	// connection (its Content-Length promises all of it).
	Truncate bool
	// Latency delays the response.
	Latency time.Duration
	// AfterApply carries the call out before the fault replaces its
	// response.
	AfterApply bool
	// After is how many matching calls pass before the fault applies.
	After int
	// Times is how many calls the fault applies to (0: one; Forever:
	// every matching call until ClearFaults).
	Times int
}

// matches reports whether f applies to op on host.
func (f *Fault) matches(host, op string) bool {
	return (f.Op == "" || f.Op == AllOps || f.Op == op) && (f.Host == "" || f.Host == host)
}

// Faults is a queue of injected faults. The zero value is ready to use;
// it is safe for concurrent use.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
}

// Inject adds a fault. Faults are tried in the order they were added.
func (q *Faults) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, &f)
}

// Clear removes every fault.
func (q *Faults) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = nil
}

// Pending returns how many faults are still waiting to apply.
func (q *Faults) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.list)
}

// Take returns a copy of the fault that applies to this call of op on
// host, if any, and uses it up.
func (q *Faults) Take(host, op string) *Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	var f *Fault
	q.list, f = Pick(q.list, func(f *Fault) bool { return f.matches(host, op) },
		func(f *Fault) (after, times *int) { return &f.After, &f.Times })
	return f
}

// Pick is the schedule every fake's faults follow (the fakes of this
// module and storage/memory): among the faults that match a call, each
// lets its first After matching calls through (every matching call counts
// towards the After of every pending fault, whichever fault it got); the
// first one with none left applies, and is dropped from list once it has
// applied Times times (Forever: never). Pick returns the list without the
// used-up fault and a copy of the fault that applies (nil: none).
func Pick[F any](list []*F, matches func(*F) bool, count func(*F) (after, times *int)) ([]*F, *F) {
	hit := -1
	for i, f := range list {
		if !matches(f) {
			continue
		}
		if after, _ := count(f); *after > 0 {
			*after--
			continue
		}
		if hit < 0 {
			hit = i
		}
	}
	if hit < 0 {
		return list, nil
	}
	f := list[hit]
	c := *f
	if _, times := count(f); *times > 0 {
		if *times--; *times == 0 {
			list = append(list[:hit:hit], list[hit+1:]...)
		}
	}
	return list, &c
}

// WriteBody writes f.Body, when set, as the response as it is: status
// f.Status, Content-Type application/json. It reports whether it wrote
// it; a fake writes its own error response otherwise.
func (f *Fault) WriteBody(w http.ResponseWriter) bool {
	if f.Body == "" {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
	return true
}

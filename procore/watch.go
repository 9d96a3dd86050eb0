package procore

import (
	"context"
	"sync"
)

// wakers fans Notify calls out to every channel handed out by watch. The
// zero value is ready to use.
type wakers struct {
	mu  sync.Mutex
	set map[chan struct{}]struct{}
}

// watch returns a channel that receives a signal after each notify
// (coalesced: a pending signal absorbs more); it is closed when ctx is done.
func (w *wakers) watch(ctx context.Context) <-chan struct{} {
	in := make(chan struct{}, 1)
	out := make(chan struct{})
	w.mu.Lock()
	if w.set == nil {
		w.set = map[chan struct{}]struct{}{}
	}
	w.set[in] = struct{}{}
	w.mu.Unlock()
	go func() {
		defer close(out)
		defer func() {
			w.mu.Lock()
			delete(w.set, in)
			w.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-in:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// notify wakes every watcher without blocking.
func (w *wakers) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.set {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

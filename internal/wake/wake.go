// Package wake is the change-signal fan-out of procoresync's watchers: a
// coalescing broadcaster that wakes every watcher once per burst of
// changes, without blocking the side that reports them. Webhook
// receivers, Graph's notification endpoint and the in-memory storage use
// it.
package wake

import (
	"context"
	"sync"
)

// Broadcaster fans Notify calls out to every channel handed out by Watch.
// The zero value is ready to use.
type Broadcaster struct {
	mu  sync.Mutex
	set map[chan struct{}]struct{}
}

// Watch returns a channel that receives a signal after Notify. Signals
// coalesce: one pending signal absorbs any further until it is received.
// The channel is closed when ctx is done, with no signal left pending.
func (b *Broadcaster) Watch(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.set == nil {
		b.set = map[chan struct{}]struct{}{}
	}
	b.set[ch] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.set, ch)
		select {
		case <-ch:
		default:
		}
		close(ch)
	})
	return ch
}

// Notify wakes every watcher without blocking.
func (b *Broadcaster) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.set {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Watchers returns how many channels are being watched.
func (b *Broadcaster) Watchers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.set)
}

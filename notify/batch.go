// Package notify turns the engine's events into messages that people receive:
// it gathers a burst of events into one batch per recipient group, so that a
// burst gives one mail or one webhook delivery, and renders a batch as a
// subject, a plain-text part and an HTML part.
//
// The delivery channels live in sub-packages: notify/mailnotify (SMTP) and
// notify/webhooknotify (signed JSON over HTTPS). Both are syncengine.Notifier
// implementations; combine them with syncengine.Fanout.
package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/procoresync/procoresync/syncengine"
)

// Batch is what one delivery carries: the events of one recipient group
// that arrived within one batch window, oldest first.
type Batch struct {
	// Group is the recipient group's key (see BatcherOptions.Group).
	Group  string
	Events []syncengine.Event
}

// Sender delivers a batch. Send should return an error only after its own
// retries have failed; the Batcher logs it and drops the batch.
type Sender interface {
	Send(ctx context.Context, b Batch) error
}

// SenderFunc adapts a function to a Sender.
type SenderFunc func(ctx context.Context, b Batch) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, b Batch) error { return f(ctx, b) }

// BatcherOptions tune a Batcher. The zero value is usable.
type BatcherOptions struct {
	// Window is how long the first event of a batch waits for more before
	// the batch is sent (default 30 s).
	Window time.Duration
	// MaxEvents sends a batch at once when it holds this many events
	// (default 100).
	MaxEvents int
	// Group names the recipient group of an event; events of one group go
	// out together. Return "" to drop an event (nobody receives it).
	// Default: every event in one group "".
	Group func(syncengine.Event) string
	// Keep filters events before batching (default: all events).
	Keep func(syncengine.Event) bool
	// Timeout bounds one Send (default 2 minutes).
	Timeout time.Duration
	// MaxPending bounds the events held across all groups; beyond it new
	// events are dropped and counted (default 10,000).
	MaxPending int
	// Logger receives delivery failures (default slog.Default()).
	Logger *slog.Logger
}

// Batcher is a syncengine.Notifier that gathers events into batches and
// hands each batch to a Sender from its own goroutine, so that Notify never
// blocks a sync. Close sends what is pending and waits for deliveries.
type Batcher struct {
	send Sender
	opts BatcherOptions

	mu      sync.Mutex
	pending map[string]*pendingBatch
	held    int
	dropped int
	closed  bool
	wg      sync.WaitGroup
	// stop cancels deliveries in flight when Close's context ends.
	stop   context.Context
	cancel context.CancelFunc
}

type pendingBatch struct {
	events []syncengine.Event
	timer  *time.Timer
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("notify: batcher closed")

// NewBatcher returns a Batcher that delivers through s.
func NewBatcher(s Sender, opts BatcherOptions) *Batcher {
	if opts.Window <= 0 {
		opts.Window = 30 * time.Second
	}
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 100
	}
	if opts.Group == nil {
		opts.Group = func(syncengine.Event) string { return "" }
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	stop, cancel := context.WithCancel(context.Background())
	return &Batcher{send: s, opts: opts, pending: map[string]*pendingBatch{}, stop: stop, cancel: cancel}
}

// group returns ev's group, or false when Keep drops ev.
func (b *Batcher) group(ev syncengine.Event) (string, bool) {
	if b.opts.Keep != nil && !b.opts.Keep(ev) {
		return "", false
	}
	return b.opts.Group(ev), true
}

// Notify adds ev to its group's batch. It never blocks on delivery.
func (b *Batcher) Notify(_ context.Context, ev syncengine.Event) {
	key, ok := b.group(ev)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.held >= b.opts.MaxPending {
		b.dropped++
		return
	}
	pb := b.pending[key]
	if pb == nil {
		pb = &pendingBatch{}
		b.pending[key] = pb
		pb.timer = time.AfterFunc(b.opts.Window, func() { b.fire(key, pb) })
	}
	pb.events = append(pb.events, ev)
	b.held++
	if len(pb.events) >= b.opts.MaxEvents {
		pb.timer.Stop()
		b.takeLocked(key, pb)
	}
}

// fire sends the batch pb of group key when its window ends.
func (b *Batcher) fire(key string, pb *pendingBatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[key] == pb {
		b.takeLocked(key, pb)
	}
}

// takeLocked removes pb and starts its delivery.
func (b *Batcher) takeLocked(key string, pb *pendingBatch) {
	delete(b.pending, key)
	b.held -= len(pb.events)
	batch := Batch{Group: key, Events: pb.events}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.deliver(batch)
	}()
}

func (b *Batcher) deliver(batch Batch) {
	ctx, cancel := context.WithTimeout(b.stop, b.opts.Timeout)
	defer cancel()
	if err := b.send.Send(ctx, batch); err != nil {
		b.opts.Logger.Error("notification not delivered", "group", batch.Group, "events", len(batch.Events), "err", err)
	}
}

// Flush starts delivery of every pending batch now and waits until all
// deliveries (including earlier ones) have ended or ctx ends.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.flushLocked()
	b.mu.Unlock()
	return b.wait(ctx)
}

func (b *Batcher) flushLocked() {
	for key, pb := range b.pending {
		pb.timer.Stop()
		b.takeLocked(key, pb)
	}
}

func (b *Batcher) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped reports how many events were dropped because the Batcher was
// closed or MaxPending events were already waiting.
func (b *Batcher) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Close sends what is pending and waits for deliveries until ctx ends; then
// it cancels deliveries still in flight. Events notified after Close are
// dropped.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.flushLocked()
	}
	b.mu.Unlock()
	err := b.wait(ctx)
	b.cancel()
	if err != nil {
		b.wg.Wait()
	}
	return err
}

package syncengine

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// slogMaxPaths is how many of an Event's paths the slog notifier writes;
// it always writes how many there are.
const slogMaxPaths = 5

// NewSlogNotifier returns the embedded default Notifier: it writes each
// Event as one structured record on logger (slog.Default() if nil). The
// record's time is the Event's Time (now if zero), its message the Event's
// Message (the kind if empty), and its attributes are:
//
//	kind        the EventKind
//	pair.id     the pair's ID         (when set)
//	pair.name   the pair's name       (when set)
//	run         the run's ID          (an event of a run)
//	path_count  Count, or len(Paths) if larger (when there are paths)
//	paths       the first five paths
//	err         Err                   (when set)
//
// Failures (an Err, or EventRunFailed) log at Error, events that need an
// admin's attention (delete limit, mass delete, pause, quarantine, drift,
// a held deletion cancelled by an edit) at Warn, the rest at Info.
func NewSlogNotifier(logger *slog.Logger) Notifier {
	if logger == nil {
		logger = slog.Default()
	}
	return slogNotifier{logger: logger}
}

type slogNotifier struct {
	logger *slog.Logger
}

// Notify writes ev as one log record.
func (n slogNotifier) Notify(ctx context.Context, ev Event) {
	level := eventLevel(ev)
	h := n.logger.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	msg := ev.Message
	if msg == "" {
		msg = string(ev.Kind)
	}
	r := slog.NewRecord(t, level, msg, 0)
	r.AddAttrs(slog.String("kind", string(ev.Kind)))
	var pair []slog.Attr
	if ev.PairID != "" {
		pair = append(pair, slog.String("id", ev.PairID))
	}
	if ev.PairName != "" {
		pair = append(pair, slog.String("name", ev.PairName))
	}
	if len(pair) > 0 {
		r.AddAttrs(slog.Attr{Key: "pair", Value: slog.GroupValue(pair...)})
	}
	if run := runLogAttr(ctx); run != 0 {
		r.AddAttrs(slog.Int64(LogKeyRun, run))
	}
	if len(ev.Paths) > 0 {
		shown := slices.Clone(ev.Paths[:min(len(ev.Paths), slogMaxPaths)])
		r.AddAttrs(slog.Int("path_count", max(ev.Count, len(ev.Paths))), slog.Any("paths", shown))
	}
	if ev.Err != "" {
		r.AddAttrs(slog.String("err", ev.Err))
	}
	_ = h.Handle(ctx, r) // a notifier never stops a sync; the handler owns its failures
}

func eventLevel(ev Event) slog.Level {
	switch {
	case ev.Err != "" || ev.Kind == EventRunFailed:
		return slog.LevelError
	case ev.Kind == EventDeleteLimitReached, ev.Kind == EventMassDeleteRefused,
		ev.Kind == EventPairPaused, ev.Kind == EventItemsQuarantined, ev.Kind == EventDrift,
		ev.Kind == EventHeldDeleteCancelled:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}

// Fanout returns a Notifier that hands every Event to each of notifiers in
// turn (nil ones are skipped), each with its own copy of Paths. Each
// Notifier is expected not to block for long (see Notifier).
func Fanout(notifiers ...Notifier) Notifier {
	var f fanout
	for _, n := range notifiers {
		if n != nil {
			f = append(f, n)
		}
	}
	return f
}

type fanout []Notifier

// Notify calls each Notifier.
func (f fanout) Notify(ctx context.Context, ev Event) {
	for _, n := range f {
		e := ev
		e.Paths = slices.Clone(ev.Paths)
		n.Notify(ctx, e)
	}
}

// Recorder is a Notifier that keeps every Event it receives, in order of
// arrival. It is safe for concurrent use and its zero value is ready to
// use. It is meant for tests (assert that a run notified what it should),
// and serves as well as a simple in-memory event feed, for example behind
// a portal's notification list, combined with other notifiers by Fanout.
// It keeps everything until Reset, so a long-lived Recorder should be
// drained with Reset now and then.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Notify records ev (with its own copy of Paths).
func (r *Recorder) Notify(_ context.Context, ev Event) {
	ev.Paths = slices.Clone(ev.Paths)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// Events returns a copy of the recorded events, oldest first.
func (r *Recorder) Events() []Event {
	return r.filter(func(Event) bool { return true })
}

// OfKind returns a copy of the recorded events of kind k, oldest first.
func (r *Recorder) OfKind(k EventKind) []Event {
	return r.filter(func(ev Event) bool { return ev.Kind == k })
}

// Len returns how many events were recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Reset forgets the recorded events and returns them, oldest first.
func (r *Recorder) Reset() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}

func (r *Recorder) filter(keep func(Event) bool) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, ev := range r.events {
		if keep(ev) {
			ev.Paths = slices.Clone(ev.Paths)
			out = append(out, ev)
		}
	}
	return out
}

// Package telemetry measures a running sync through the OpenTelemetry metric
// API: runs, items, bytes and errors (from the metadata store the engine
// writes), API calls and throttling per service (from an http.RoundTripper
// around each connector's client), rate budgets remaining, queue depth, and
// held and quarantined items. It depends only on the metric API; without a
// MeterProvider it records nothing. Sub-package telemetry/promexport serves
// the measurements to Prometheus; Health serves liveness and readiness.
package telemetry

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/procoresync/procoresync/syncengine"
)

// MeterName is the instrumentation scope of every instrument.
const MeterName = "github.com/procoresync/procoresync"

// Attribute keys.
const (
	KeyPair    = attribute.Key("pair")
	KeyStatus  = attribute.Key("status")
	KeyAction  = attribute.Key("action")
	KeySide    = attribute.Key("side")
	KeyService = attribute.Key("service")
	KeyMethod  = attribute.Key("method")
	KeyCode    = attribute.Key("code")
	KeyBudget  = attribute.Key("budget")
	KeyQueue   = attribute.Key("queue")
)

// Options configure Metrics. The zero value records nothing.
type Options struct {
	// MeterProvider makes the instruments (default: a no-op provider).
	MeterProvider metric.MeterProvider
	// Budgets reports the remaining budget of each limiter key (e.g.
	// syncengine.RateLimiter's Budget) for the keys in BudgetKeys.
	Budgets    func(key string) syncengine.Budget
	BudgetKeys []string
	// QueueDepth reports the number of runs waiting, by queue name (a job
	// engine's depth; nil: not reported).
	QueueDepth func(ctx context.Context) (map[string]int64, error)
	// Pairs lists the pairs whose held and quarantined items are reported
	// (e.g. Engine.Pairs), read from Store at each collection.
	Pairs func() []string
	Store syncengine.MetadataStore
	// CollectTimeout bounds one collection of the observed values
	// (default 5 s).
	CollectTimeout time.Duration
	// Logger receives collection failures (default slog.Default()).
	Logger *slog.Logger
}

// Metrics holds the instruments.
type Metrics struct {
	opts Options

	runs        metric.Int64Counter
	runSeconds  metric.Float64Histogram
	items       metric.Int64Counter
	bytes       metric.Int64Counter
	errors      metric.Int64Counter
	calls       metric.Int64Counter
	throttled   metric.Int64Counter
	callSeconds metric.Float64Histogram
	reg         metric.Registration
}

// New makes the instruments on opts.MeterProvider.
func New(opts Options) (*Metrics, error) {
	if opts.MeterProvider == nil {
		opts.MeterProvider = noop.NewMeterProvider()
	}
	if opts.CollectTimeout <= 0 {
		opts.CollectTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Metrics{opts: opts}
	meter := opts.MeterProvider.Meter(MeterName)
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	var err error
	m.runs, err = meter.Int64Counter("procoresync.runs", metric.WithDescription("Runs finished, by pair and status."), metric.WithUnit("{run}"))
	add(err)
	m.runSeconds, err = meter.Float64Histogram("procoresync.run.duration", metric.WithDescription("Run wall time."), metric.WithUnit("s"))
	add(err)
	m.items, err = meter.Int64Counter("procoresync.items", metric.WithDescription("Items acted on, by pair, action and side."), metric.WithUnit("{item}"))
	add(err)
	m.bytes, err = meter.Int64Counter("procoresync.bytes", metric.WithDescription("Bytes written to a side, by pair and side."), metric.WithUnit("By"))
	add(err)
	m.errors, err = meter.Int64Counter("procoresync.errors", metric.WithDescription("Item errors, by pair."), metric.WithUnit("{error}"))
	add(err)
	m.calls, err = meter.Int64Counter("procoresync.api.calls", metric.WithDescription("HTTP calls to a service, by service, method and status code (0: no answer)."), metric.WithUnit("{call}"))
	add(err)
	m.throttled, err = meter.Int64Counter("procoresync.api.throttled", metric.WithDescription("Calls a service answered with 429, or 503 with Retry-After."), metric.WithUnit("{call}"))
	add(err)
	m.callSeconds, err = meter.Float64Histogram("procoresync.api.duration", metric.WithDescription("Time to a service's response headers."), metric.WithUnit("s"))
	add(err)
	budget, err := meter.Int64ObservableGauge("procoresync.budget.remaining", metric.WithDescription("Calls left in the tightest window of a rate budget."), metric.WithUnit("{call}"))
	add(err)
	queue, err := meter.Int64ObservableGauge("procoresync.queue.depth", metric.WithDescription("Runs waiting to be picked up."), metric.WithUnit("{run}"))
	add(err)
	held, err := meter.Int64ObservableGauge("procoresync.held", metric.WithDescription("Deletions held for approval, by pair."), metric.WithUnit("{item}"))
	add(err)
	quarantined, err := meter.Int64ObservableGauge("procoresync.quarantined", metric.WithDescription("Items no longer retried automatically, by pair."), metric.WithUnit("{item}"))
	add(err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.reg, err = meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, m.opts.CollectTimeout)
		defer cancel()
		m.observe(ctx, o, budget, queue, held, quarantined)
		return nil
	}, budget, queue, held, quarantined)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Close unregisters the observed instruments.
func (m *Metrics) Close() error { return m.reg.Unregister() }

func (m *Metrics) observe(ctx context.Context, o metric.Observer, budget, queue, held, quarantined metric.Int64Observable) {
	if m.opts.Budgets != nil {
		for _, k := range m.opts.BudgetKeys {
			b := m.opts.Budgets(k)
			o.ObserveInt64(budget, int64(b.Remaining), metric.WithAttributes(KeyBudget.String(k)))
		}
	}
	if m.opts.QueueDepth != nil {
		d, err := m.opts.QueueDepth(ctx)
		if err != nil {
			m.opts.Logger.Warn("telemetry: queue depth not collected", "err", err)
		}
		for name, n := range d {
			o.ObserveInt64(queue, n, metric.WithAttributes(KeyQueue.String(name)))
		}
	}
	if m.opts.Pairs == nil || m.opts.Store == nil {
		return
	}
	for _, p := range m.opts.Pairs() {
		attrs := metric.WithAttributes(KeyPair.String(p))
		if h, err := m.opts.Store.HeldDeletes(ctx, p); err == nil {
			o.ObserveInt64(held, int64(len(h)), attrs)
		} else {
			m.opts.Logger.Warn("telemetry: held deletions not collected", "pair", p, "err", err)
		}
		if f, err := m.opts.Store.Failures(ctx, p); err == nil {
			n := 0
			for _, x := range f {
				if x.Quarantined {
					n++
				}
			}
			o.ObserveInt64(quarantined, int64(n), attrs)
		} else {
			m.opts.Logger.Warn("telemetry: quarantined items not collected", "pair", p, "err", err)
		}
		if ctx.Err() != nil {
			m.opts.Logger.Warn("telemetry: collection timed out", "after", m.opts.CollectTimeout)
			return
		}
	}
}

// Store returns s with its run, activity and error records counted:
// pass the result as syncengine.Options.Store.
func (m *Metrics) Store(s syncengine.MetadataStore) syncengine.MetadataStore {
	return &store{MetadataStore: s, m: m}
}

type store struct {
	syncengine.MetadataStore
	m *Metrics
}

// Unwrap returns the store counted (syncengine.StoreWrapper), whose
// optional roles the engine uses.
func (s *store) Unwrap() syncengine.MetadataStore { return s.MetadataStore }

func (s *store) FinishRun(ctx context.Context, r syncengine.Run) error {
	err := s.MetadataStore.FinishRun(ctx, r)
	if err == nil {
		attrs := metric.WithAttributes(KeyPair.String(r.PairID), KeyStatus.String(string(r.Status)))
		s.m.runs.Add(ctx, 1, attrs)
		if !r.Ended.IsZero() && !r.Started.IsZero() {
			s.m.runSeconds.Record(ctx, r.Ended.Sub(r.Started).Seconds(), attrs)
		}
	}
	return err
}

func (s *store) AddActivity(ctx context.Context, a []syncengine.Activity) error {
	err := s.MetadataStore.AddActivity(ctx, a)
	if err == nil {
		for _, x := range a {
			attrs := metric.WithAttributes(KeyPair.String(x.PairID), KeyAction.String(x.Kind.String()), KeySide.String(x.Side.String()))
			s.m.items.Add(ctx, 1, attrs)
			if x.Size > 0 {
				s.m.bytes.Add(ctx, x.Size, metric.WithAttributes(KeyPair.String(x.PairID), KeySide.String(x.Side.String())))
			}
		}
	}
	return err
}

func (s *store) AddError(ctx context.Context, e syncengine.ErrorRecord) error {
	err := s.MetadataStore.AddError(ctx, e)
	if err == nil {
		s.m.errors.Add(ctx, 1, metric.WithAttributes(KeyPair.String(e.PairID)))
	}
	return err
}

// Transport returns base (nil: http.DefaultTransport) with every call
// counted under service ("procore", "graph", "box", "dropbox", …): calls by
// method and status, throttled answers, and the time to the response
// headers. URLs are never recorded.
func (m *Metrics) Transport(service string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, m: m, service: service}
}

type transport struct {
	base    http.RoundTripper
	m       *Metrics
	service string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	ctx := req.Context()
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	svc := KeyService.String(t.service)
	t.m.calls.Add(ctx, 1, metric.WithAttributes(svc, KeyMethod.String(req.Method), KeyCode.String(strconv.Itoa(code))))
	t.m.callSeconds.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(svc))
	if code == http.StatusTooManyRequests || (code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
		t.m.throttled.Add(ctx, 1, metric.WithAttributes(svc))
	}
	return resp, err
}

package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Check is one readiness check: nil when the dependency is usable.
type Check func(ctx context.Context) error

// Health serves liveness and readiness. Liveness answers 200 while the
// process serves HTTP at all; readiness runs every check (each bounded by
// Timeout, all in parallel) and answers 200 only when all pass, 503
// otherwise, with a JSON body naming each check's result. Errors are shown
// by check name and message only; checks must not put secrets in them.
type Health struct {
	// Timeout bounds each check (default 5 s).
	Timeout time.Duration

	mu       sync.Mutex
	checks   map[string]Check
	draining bool
}

// Add registers a readiness check under name, replacing one of that name.
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checks == nil {
		h.checks = map[string]Check{}
	}
	h.checks[name] = c
}

// Drain makes readiness fail from now on (a process shutting down: load
// balancers stop sending it work while it finishes what it has).
func (h *Health) Drain() {
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
}

// CheckResult is one check's outcome in a readiness answer.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Report is a readiness answer.
type Report struct {
	Ready    bool          `json:"ready"`
	Draining bool          `json:"draining,omitempty"`
	Checks   []CheckResult `json:"checks"`
}

// Ready runs the checks.
func (h *Health) Ready(ctx context.Context) Report {
	h.mu.Lock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	slices.Sort(names)
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	draining := h.draining
	h.mu.Unlock()
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	res := make([]CheckResult, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			res[i] = CheckResult{Name: names[i], OK: true}
			if err := runCheck(cctx, checks[i]); err != nil {
				res[i] = CheckResult{Name: names[i], Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	r := Report{Ready: !draining, Draining: draining, Checks: res}
	for _, c := range res {
		r.Ready = r.Ready && c.OK
	}
	return r
}

// runCheck runs c, giving up when ctx ends even if c does not.
func runCheck(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LiveHandler answers liveness: 200 "ok".
func (h *Health) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok\n"))
	})
}

// ReadyHandler answers readiness with a Report: 200 when ready, 503 when not.
func (h *Health) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := h.Ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !rep.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(rep)
	})
}

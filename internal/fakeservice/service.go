package fakeservice

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Exchange is one request a fake served and its response, shown to the
// observer (contract tests validate both against the vendor's API
// description).
type Exchange struct {
	// Op is the operation, named as the fake names it (by the vendor
	// description's operationId where there is one).
	Op string
	// Host is the fake's host that served it.
	Host string
	// Request is the request, with Body re-readable (ReqBody).
	Request *http.Request
	// ReqBody is the request body (nil when longer than the Service's
	// MaxRecordedBody).
	ReqBody []byte
	// PathParams are the path parameters of the operation's route.
	PathParams map[string]string
	// Status, Header and RespBody are the response.
	Status   int
	Header   http.Header
	RespBody []byte
}

// Recorder buffers a response, so that a fault can replace it and the
// observer can see it before it is sent.
type Recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{header: http.Header{}} }

// Header returns the buffered headers.
func (r *Recorder) Header() http.Header { return r.header }

// Write buffers body bytes (status 200 unless one was written).
func (r *Recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// WriteHeader records the status; the first one wins.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Status returns the recorded status (200 when none was written).
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Body returns the buffered body.
func (r *Recorder) Body() []byte { return r.body.Bytes() }

// Reset discards everything recorded, to write another response.
func (r *Recorder) Reset() {
	r.header = http.Header{}
	r.status = 0
	r.body.Reset()
}

// Call is one call for Service.Serve to serve.
type Call struct {
	// Host and Op name the call, for counting, faults and the exchange.
	Host, Op string
	// Body is the request body, already read.
	Body []byte
	// PathParams are the path parameters, for the exchange.
	PathParams map[string]string
	// Handle serves the call into w.
	Handle func(w *Recorder)
	// WriteFault writes the service's error response for an injected
	// fault with a Status into w (which is empty); the Service adds
	// Retry-After.
	WriteFault func(w *Recorder, f *Fault)
	// Finish, when set, runs on every response before it is observed and
	// sent (e.g. to add a Date header).
	Finish func(w *Recorder)
}

// Service is the shared part of a fake: its call counts, its faults and
// its observer. The zero value is ready to use.
type Service struct {
	// Calls counts every call served, including those answered with an
	// injected fault.
	Calls Calls
	// Faults are the faults waiting to apply.
	Faults Faults
	// MaxRecordedBody is the longest request body an Exchange carries
	// (0: any).
	MaxRecordedBody int

	mu      sync.Mutex
	observe func(Exchange)
}

// Observe sets a hook that sees every exchange served (nil removes it).
// It runs synchronously, before the response is sent.
func (s *Service) Observe(f func(Exchange)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observe = f
}

// Serve serves c on w: it counts the call, applies the fault injected for
// it if any, runs c.Handle into a buffer, shows the exchange to the
// observer and sends the response, or drops the connection as the fault
// says.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, c Call) {
	s.Calls.Add(c.Host, c.Op)
	f := s.Faults.Take(c.Host, c.Op)
	if f != nil && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	rec := NewRecorder()
	if f == nil || f.AfterApply || f.Status == 0 && !f.Reset {
		c.Handle(rec)
	}
	if f != nil && f.Reset {
		abort()
	}
	if f != nil && f.Status != 0 {
		rec.Reset()
		c.WriteFault(rec, f)
		switch {
		case f.RetryAfterHeader != "":
			rec.header.Set("Retry-After", f.RetryAfterHeader)
		case f.RetryAfter > 0:
			rec.header.Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
		}
	}
	if c.Finish != nil {
		c.Finish(rec)
	}
	s.record(r, c, rec)
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	body := rec.Body()
	if f != nil && f.Truncate {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Status())
		_, _ = w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		abort()
	}
	w.WriteHeader(rec.Status())
	_, _ = w.Write(body)
}

// record shows the exchange to the observer.
func (s *Service) record(r *http.Request, c Call, rec *Recorder) {
	s.mu.Lock()
	obs := s.observe
	s.mu.Unlock()
	if obs == nil {
		return
	}
	rb := c.Body
	if s.MaxRecordedBody > 0 && len(rb) > s.MaxRecordedBody {
		rb = nil
	}
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(rb))
	obs(Exchange{Op: c.Op, Host: c.Host, Request: req, ReqBody: rb, PathParams: c.PathParams,
		Status: rec.Status(), Header: rec.header.Clone(), RespBody: bytes.Clone(rec.Body())})
}

// abort closes the connection without finishing the response: net/http
// recovers http.ErrAbortHandler silently and drops the connection.
func abort() { panic(http.ErrAbortHandler) }

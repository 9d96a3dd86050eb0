package httpclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// RetryableStatus reports whether a status is worth retrying (rclone's
// list: 429, 500, 502, 503, 504 and 509).
func RetryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, 509:
		return true
	}
	return false
}

// Throttled reports whether a response is the service asking to slow
// down: a 429, or a 503 with Retry-After.
func Throttled(resp *http.Response) bool {
	if resp == nil {
		return false
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return true
	}
	_, ok := RetryAfter(resp.Header, time.Time{})
	return resp.StatusCode == http.StatusServiceUnavailable && ok
}

// ExpBackoff is min·2^attempt, capped at max.
func ExpBackoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo << uint(min(max(attempt, 0), 30))
	if d <= 0 || d > hi {
		return hi
	}
	return d
}

// Jitter returns a duration in [d/2, d] ("equal jitter"), so that clients
// that failed together do not retry together.
func Jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Budget is a token bucket of retries shared by a client: it starts full
// with n tokens, each retry takes one, each request earns a tenth of one.
// An empty budget stops retry storms against a failing service. A nil
// *Budget allows every retry.
type Budget struct {
	mu          sync.Mutex
	tenths, max int // in tenths of a retry, so that ten requests earn exactly one
}

// NewBudget returns a full budget of n retries.
func NewBudget(n int) *Budget { return &Budget{tenths: 10 * n, max: 10 * n} }

// Earn credits one request (a tenth of a retry).
func (b *Budget) Earn() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.tenths = min(b.tenths+1, b.max)
	b.mu.Unlock()
}

// Take spends one retry and reports whether there was one to spend.
func (b *Budget) Take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tenths < 10 {
		return false
	}
	b.tenths -= 10
	return true
}

// Permanent reports whether a transport error cannot pass by retrying: an
// unsupported scheme or a refused redirect.
func Permanent(err error) bool {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return false
	}
	msg := ue.Error()
	return strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "stopped after")
}

// Policy is a client's retry policy.
type Policy struct {
	// RetryMax is how often one request may be retried (0: never).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the back-off.
	RetryWaitMin, RetryWaitMax time.Duration
	// Budget, when set, caps retries across the client.
	Budget *Budget
	// Retry decides whether a response or a transport error is worth
	// another attempt, before the budget is asked (default: transport
	// errors unless Permanent, and RetryableStatus). The context's error
	// always stops.
	Retry func(ctx context.Context, resp *http.Response, err error) (bool, error)
	// Backoff is the wait before attempt (default ExpBackoff).
	Backoff func(min, max time.Duration, attempt int, resp *http.Response) time.Duration
}

// DefaultRetry is the Policy.Retry default.
func DefaultRetry(_ context.Context, resp *http.Response, err error) (bool, error) {
	if err != nil {
		if Permanent(err) {
			return false, err
		}
		return true, nil
	}
	return RetryableStatus(resp.StatusCode), nil
}

// NewRetryClient returns a retrying client that sends through hc with
// policy p. It never logs (URLs may carry signatures) and hands the last
// response back as it is when retries end, so that the caller decodes the
// service's error.
func NewRetryClient(hc *http.Client, p Policy) *retryablehttp.Client {
	decide := p.Retry
	if decide == nil {
		decide = DefaultRetry
	}
	backoff := p.Backoff
	if backoff == nil {
		backoff = func(lo, hi time.Duration, attempt int, _ *http.Response) time.Duration {
			return ExpBackoff(lo, hi, attempt)
		}
	}
	budget := p.Budget
	return &retryablehttp.Client{
		HTTPClient:   hc,
		Logger:       nil,
		RetryMax:     max(p.RetryMax, 0),
		RetryWaitMin: p.RetryWaitMin,
		RetryWaitMax: p.RetryWaitMax,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			ok, rerr := decide(ctx, resp, err)
			if !ok || rerr != nil {
				return ok, rerr
			}
			if !budget.Take() {
				return false, err
			}
			return true, nil
		},
		Backoff: backoff,
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if resp != nil && err == nil {
				return resp, nil
			}
			if resp != nil {
				resp.Body.Close()
			}
			return nil, err
		},
	}
}

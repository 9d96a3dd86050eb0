package procore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// ErrorResponse is a non-2xx answer from Procore. Procore uses several
// error body shapes (research note §7); they are decoded leniently into
// Code, Message, Details and Errors, and Body keeps the raw text. It
// matches storage error kinds with errors.Is (404 → storage.ErrNotFound,
// 409, and 400 "has already been taken", → ErrAlreadyExists, 403 → ErrPermissionDenied, 413 → ErrTooLarge,
// 429 → ErrThrottled) and 401 with ErrUnauthorized.
type ErrorResponse struct {
	StatusCode int
	Method     string
	// Path is the request path without its query string (query strings
	// of presigned URLs carry signatures).
	Path string
	// Code is error.code (string or number) or the OAuth "error" string.
	Code string
	// Message is error.message, message, error_description, a string
	// "error"/"errors", or the first errors.base entry.
	Message string
	// Details are error.details.
	Details []ErrorDetail
	// Errors are Rails-style per-field messages ({"errors":{"base":[…]}}).
	Errors map[string][]string
	// ErrorType is the error_type of a 409 on files.
	ErrorType string
	// Body is the raw response body (at most 4 KiB).
	Body []byte
}

// ErrorDetail is one entry of error.details.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

// Error describes the failure: method, path, status, code and message.
func (e *ErrorResponse) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "procore: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is maps the status to a storage error kind.
func (e *ErrorResponse) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusNotFound, http.StatusGone:
		return target == storage.ErrNotFound
	case http.StatusConflict:
		return target == storage.ErrAlreadyExists
	case http.StatusBadRequest:
		// POST /rest/v1.0/folders and /files answer a name taken in the
		// folder with 400 "has already been taken".
		return target == storage.ErrAlreadyExists && e.nameTaken()
	case http.StatusForbidden:
		return target == storage.ErrPermissionDenied
	case http.StatusRequestEntityTooLarge:
		return target == storage.ErrTooLarge
	case http.StatusTooManyRequests:
		return target == storage.ErrThrottled
	}
	return false
}

// nameTaken reports whether the error says a name is already taken.
func (e *ErrorResponse) nameTaken() bool {
	const taken = "already been taken"
	if strings.Contains(strings.ToLower(e.Message), taken) {
		return true
	}
	for _, msgs := range e.Errors {
		for _, m := range msgs {
			if strings.Contains(strings.ToLower(m), taken) {
				return true
			}
		}
	}
	return false
}

// ErrUnauthorized is matched (errors.Is) by an *ErrorResponse with status
// 401: the API rejected the access token (expired early, revoked, or the
// app was disconnected) even after the Client refreshed it once and
// retried, or the token source could not offer another token.
var ErrUnauthorized = errors.New("procore: access token rejected (401)")

// RateLimitError is a 429 (or a 503 with Retry-After) that the client did
// not retry, because retries were exhausted or the wait exceeded
// Options.MaxRateLimitWait. It matches storage.ErrThrottled.
type RateLimitError struct {
	ErrorResponse
	// Rate is the reported rate-limit state.
	Rate Rate
	// RetryAfter is how long to wait before trying again.
	RetryAfter time.Duration
}

// Error describes the failure and how long to wait.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s (rate limited; retry after %s)", e.ErrorResponse.Error(), e.RetryAfter.Round(time.Second))
}

// Is reports whether target is storage.ErrThrottled.
func (e *RateLimitError) Is(target error) bool { return target == storage.ErrThrottled }

// Unwrap exposes the ErrorResponse.
func (e *RateLimitError) Unwrap() error { return &e.ErrorResponse }

// AuthError reports that no access token could be obtained (refresh
// failed, the token store failed, …). It never carries the token.
type AuthError struct{ Err error }

// Error describes the failure (never the token).
func (e *AuthError) Error() string { return "procore: authentication: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// newError decodes an error response leniently.
func newError(resp *http.Response, body []byte, now time.Time) error {
	e := &ErrorResponse{StatusCode: resp.StatusCode, Method: resp.Request.Method, Path: resp.Request.URL.Path}
	if len(body) > 4096 {
		e.Body = append([]byte(nil), body[:4096]...)
	} else {
		e.Body = append([]byte(nil), body...)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		e.decode(m)
	} else if s := strings.TrimSpace(string(e.Body)); s != "" && !strings.HasPrefix(s, "<") {
		e.Message = truncate(s, 300)
	} else if c := xmlTag(s, "Code"); c != "" {
		e.Code, e.Message = c, xmlTag(s, "Message")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	wait, hasWait := httpclient.RetryAfter(resp.Header, now)
	if resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusServiceUnavailable && hasWait) {
		rate := parseRate(resp.Header)
		if !hasWait && !rate.Reset.IsZero() {
			wait = max(rate.Reset.Sub(now), 0)
		}
		return &RateLimitError{ErrorResponse: *e, Rate: rate, RetryAfter: wait}
	}
	return e
}

func (e *ErrorResponse) decode(m map[string]json.RawMessage) {
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
		return ""
	}
	if raw, ok := m["error"]; ok {
		var obj struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
			Details []ErrorDetail   `json:"details"`
		}
		if s := str(raw); s != "" {
			// OAuth {"error":"invalid_grant","error_description":…} or
			// {"error":"message"}.
			if _, hasDesc := m["error_description"]; hasDesc {
				e.Code = s
			} else {
				e.Message = s
			}
		} else if json.Unmarshal(raw, &obj) == nil {
			e.Code, e.Message, e.Details = str(obj.Code), obj.Message, obj.Details
		}
	}
	if raw, ok := m["code"]; ok && e.Code == "" {
		e.Code = str(raw)
	}
	for _, k := range []string{"message", "error_description", "reason"} {
		if raw, ok := m[k]; ok && e.Message == "" {
			e.Message = str(raw)
		}
	}
	if raw, ok := m["errors"]; ok {
		if s := str(raw); s != "" {
			if e.Message == "" {
				e.Message = s
			}
		} else {
			var fields map[string]json.RawMessage
			if json.Unmarshal(raw, &fields) == nil {
				e.Errors = map[string][]string{}
				for k, v := range fields {
					var list []string
					if json.Unmarshal(v, &list) != nil {
						if s := str(v); s != "" {
							list = []string{s}
						}
					}
					e.Errors[k] = list
				}
				if base := e.Errors["base"]; len(base) > 0 && e.Message == "" {
					e.Message = base[0]
				}
				if e.Message == "" {
					for k, v := range e.Errors {
						if len(v) > 0 {
							e.Message = k + " " + v[0]
							break
						}
					}
				}
			}
		}
	}
	if raw, ok := m["error_type"]; ok {
		e.ErrorType = str(raw)
	}
}

func xmlTag(s, tag string) string {
	_, rest, ok := strings.Cut(s, "<"+tag+">")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, "</"+tag+">")
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ---- retry policy ----

// checkRetry is Procore's retry policy: 429 waits for X-Rate-Limit-Reset or
// Retry-After, 503 honours Retry-After, 502/504 and connection errors are
// retried for idempotent requests. Every retry spends the retry budget
// (httpclient.Policy.Budget).
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	ci := callOf(ctx)
	if err != nil {
		var ae *AuthError
		if errors.As(err, &ae) || errors.Is(err, ErrResponseTooLarge) || !ci.idempotent {
			return false, err
		}
		return true, nil
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		wait, known := c.rateWait(resp)
		if resp.StatusCode == http.StatusServiceUnavailable && !known && !ci.idempotent {
			return false, nil
		}
		if c.opts.MaxRateLimitWait < 0 || wait > c.opts.MaxRateLimitWait {
			return false, nil
		}
		return true, nil
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return ci.idempotent, nil
	}
	return false, nil
}

// rateWait is how long a 429/503 asks to wait, and whether it said.
func (c *Client) rateWait(resp *http.Response) (time.Duration, bool) {
	now := c.opts.Now()
	if d, ok := httpclient.RetryAfter(resp.Header, now); ok {
		return d, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if r := parseRate(resp.Header); !r.Reset.IsZero() {
			return max(r.Reset.Sub(now), 0), true
		}
	}
	return 0, false
}

// backoff waits as the response asked (plus jitter), or backs off
// exponentially with jitter.
func (c *Client) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if wait, ok := c.rateWait(resp); ok {
			return wait + rand.N(lo/2+1)
		}
	}
	return httpclient.Jitter(httpclient.ExpBackoff(lo, hi, attempt))
}

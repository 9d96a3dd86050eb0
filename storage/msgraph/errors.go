package msgraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// Error is a failed Graph call, decoded from the response. It never holds
// a token or a pre-authenticated URL. It matches the storage error kinds
// with errors.Is (see Kind).
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the top-level error code (e.g. "itemNotFound").
	Code string
	// Inner are the nested inner error codes, outermost first, from either
	// spelling of the inner object ("innerError" or "innererror").
	Inner []string
	// Message is the service's message.
	Message string
	// RetryAfter is the delay a Retry-After header asked for.
	RetryAfter time.Duration
	// RequestID is the service's request-id, for support cases.
	RequestID string
	// Op is the request's method and path without query (e.g. "GET
	// /drives/{id}/items/{id}"), or the host only for pre-authenticated
	// URLs.
	Op string
	// Location is the Location header of a 410 resync response (a fresh
	// delta link).
	Location string
}

// Error describes the failure without secrets.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	fmt.Fprintf(&b, "%d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if len(e.Inner) > 0 {
		b.WriteString(" (" + strings.Join(e.Inner, " > ") + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Has reports whether code is the error's code or one of its inner codes.
func (e *Error) Has(code string) bool {
	if strings.EqualFold(e.Code, code) {
		return true
	}
	for _, c := range e.Inner {
		if strings.EqualFold(c, code) {
			return true
		}
	}
	return false
}

// Kind maps the error to a storage error kind (nil when it has none).
func (e *Error) Kind() error {
	switch {
	case e.Has("pathIsTooLong") || e.Has("pathTooDeep") || e.Has("invalidPath"):
		return storage.ErrInvalidName
	case e.Has("maxFileSizeExceeded") || e.StatusCode == http.StatusRequestEntityTooLarge:
		return storage.ErrTooLarge
	case e.StatusCode == http.StatusLocked || e.Has("resourceLocked"):
		return storage.ErrLocked
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode == 509 || e.Has("activityLimitReached") || e.Has("throttledRequest"):
		return storage.ErrThrottled
	case e.StatusCode == http.StatusServiceUnavailable && e.RetryAfter > 0:
		return storage.ErrThrottled
	case e.StatusCode == http.StatusInsufficientStorage || e.Has("quotaLimitReached"):
		return storage.ErrQuotaExceeded
	case e.StatusCode == http.StatusNotFound:
		return storage.ErrNotFound
	case e.StatusCode == http.StatusConflict && e.Has("nameAlreadyExists"):
		return storage.ErrAlreadyExists
	case e.StatusCode == http.StatusPreconditionFailed:
		return storage.ErrPreconditionFailed
	case e.StatusCode == http.StatusGone || strings.HasPrefix(e.Code, "resync"):
		return storage.ErrCursorExpired
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return storage.ErrPermissionDenied
	case e.StatusCode == http.StatusNotImplemented || e.Has("notSupported"):
		return storage.ErrUnsupported
	}
	return nil
}

// Is reports whether target is the error's storage kind.
func (e *Error) Is(target error) bool {
	k := e.Kind()
	return k != nil && target == k
}

type wireError struct {
	Error *struct {
		Code       string     `json:"code"`
		Message    string     `json:"message"`
		InnerError *wireInner `json:"innerError"` // also matches "innererror"
	} `json:"error"`
}

type wireInner struct {
	Code       string     `json:"code"`
	RequestID  string     `json:"request-id"`
	InnerError *wireInner `json:"innerError"`
}

// decodeError builds an *Error from a response whose body has been read;
// a Retry-After date is measured from now.
// A body that is not Graph's error JSON still gives a typed error.
func decodeError(resp *http.Response, body []byte, op string, now time.Time) *Error {
	ra, _ := httpclient.RetryAfter(resp.Header, now)
	e := &Error{StatusCode: resp.StatusCode, Op: op, RetryAfter: ra, Location: resp.Header.Get("Location")}
	var w wireError
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		e.Code, e.Message = w.Error.Code, w.Error.Message
		for in, depth := w.Error.InnerError, 0; in != nil && depth < 16; in, depth = in.InnerError, depth+1 {
			if in.Code != "" {
				e.Inner = append(e.Inner, in.Code)
			}
			if e.RequestID == "" {
				e.RequestID = in.RequestID
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "…"
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("request-id")
	}
	return e
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The kinds of failure a Storage reports. Test for them with errors.Is.
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrPreconditionFailed = errors.New("precondition failed: the item changed")
	ErrThrottled          = errors.New("throttled")
	ErrTooLarge           = errors.New("too large")
	ErrInvalidName        = errors.New("invalid name")
	ErrQuotaExceeded      = errors.New("quota exceeded")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrLocked             = errors.New("locked")
	ErrUnsupported        = errors.New("unsupported")
	ErrCursorExpired      = errors.New("change cursor expired")
	ErrNotEmpty           = errors.New("folder not empty")
	ErrIsDir              = errors.New("is a folder")
	ErrNotDir             = errors.New("not a folder")
)

// Error is the error a Storage returns for a failed operation. It matches
// its Kind with errors.Is and unwraps to the underlying cause.
type Error struct {
	Op   string // the operation: "list", "stat", "open", "put", "mkdir", "move", "delete", …
	Path string // the path concerned, relative to the root
	Kind error  // one of the Err* sentinels, or nil when the failure is of no known kind
	Err  error  // the underlying cause, if any
}

// NewError returns an *Error for op on path p of the given kind, wrapping
// cause (which may be nil).
func NewError(op, p string, kind, cause error) *Error {
	return &Error{Op: op, Path: p, Kind: kind, Err: cause}
}

func (e *Error) Error() string {
	msg := e.Op
	if e.Path != "" {
		msg += " " + strconv.Quote(e.Path)
	}
	switch {
	case e.Kind != nil && e.Err != nil && e.Err != e.Kind:
		return msg + ": " + e.Kind.Error() + ": " + e.Err.Error()
	case e.Kind != nil:
		return msg + ": " + e.Kind.Error()
	case e.Err != nil:
		return msg + ": " + e.Err.Error()
	}
	return msg + ": failed"
}

// Is reports whether target is e's kind.
func (e *Error) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ThrottledError reports that a service refused a request because of rate
// limits. It matches ErrThrottled.
type ThrottledError struct {
	// RetryAfter is how long the service asked the caller to wait (zero if
	// it did not say).
	RetryAfter time.Duration
	// Err is the underlying cause, if any.
	Err error
}

// Throttled returns a *ThrottledError asking to wait d.
func Throttled(d time.Duration, cause error) *ThrottledError {
	return &ThrottledError{RetryAfter: d, Err: cause}
}

func (e *ThrottledError) Error() string {
	msg := "throttled"
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Unwrap returns the underlying cause.
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryAfter returns the delay a throttled error asked for, and whether err
// is a throttling error at all.
func RetryAfter(err error) (time.Duration, bool) {
	var te *ThrottledError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	return 0, errors.Is(err, ErrThrottled)
}

// InvalidNameError reports a name a Storage cannot hold. It matches
// ErrInvalidName.
type InvalidNameError struct {
	Name   string // the offending name (a single path segment or a path)
	Reason string // why, e.g. `contains ":"`, `reserved name "CON"`
}

// InvalidName returns an *InvalidNameError.
func InvalidName(name, reason string) *InvalidNameError {
	return &InvalidNameError{Name: name, Reason: reason}
}

func (e *InvalidNameError) Error() string {
	return "invalid name " + strconv.Quote(e.Name) + ": " + e.Reason
}

// Is reports whether target is ErrInvalidName.
func (e *InvalidNameError) Is(target error) bool { return target == ErrInvalidName }

// IsRetryable reports whether err is a passing condition worth retrying
// later: throttling, a lock, or a failure of no known kind (a network error,
// a 5xx). Not-found, conflicts, invalid names, a cancelled context and the
// like are not.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	for _, k := range []error{ErrNotFound, ErrAlreadyExists, ErrPreconditionFailed, ErrTooLarge,
		ErrInvalidName, ErrQuotaExceeded, ErrPermissionDenied, ErrUnsupported, ErrCursorExpired,
		ErrNotEmpty, ErrIsDir, ErrNotDir} {
		if errors.Is(err, k) {
			return false
		}
	}
	return true
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

var allKinds = []error{ErrNotFound, ErrAlreadyExists, ErrPreconditionFailed, ErrThrottled,
	ErrTooLarge, ErrInvalidName, ErrQuotaExceeded, ErrPermissionDenied, ErrLocked,
	ErrUnsupported, ErrCursorExpired, ErrNotEmpty, ErrIsDir, ErrNotDir}

func TestErrorKinds(t *testing.T) {
	for _, kind := range allKinds {
		t.Run(kind.Error(), func(t *testing.T) {
			cause := errors.New("HTTP 500")
			for name, err := range map[string]error{
				"bare":       NewError("stat", "a/b.txt", kind, nil),
				"with cause": NewError("stat", "a/b.txt", kind, cause),
				"wrapped":    fmt.Errorf("sync pair 7: %w", NewError("stat", "a/b.txt", kind, nil)),
				"twice":      fmt.Errorf("run: %w", fmt.Errorf("pair: %w", NewError("stat", "", kind, cause))),
				"joined":     errors.Join(io.EOF, NewError("stat", "", kind, nil)),
			} {
				isTrue(t, errors.Is(err, kind), name+": matches its kind")
				for _, other := range allKinds {
					if other != kind {
						isTrue(t, !errors.Is(err, other), name+": does not match "+other.Error())
					}
				}
				var se *Error
				isTrue(t, errors.As(err, &se), name+": errors.As finds the *Error")
				eq(t, "stat", se.Op)
				eq(t, kind, se.Kind)
			}
			isTrue(t, errors.Is(NewError("put", "x", kind, cause), cause), "unwraps to the cause")
		})
	}
}

func TestErrorWithoutKind(t *testing.T) {
	err := NewError("list", "", nil, io.ErrUnexpectedEOF)
	for _, k := range allKinds {
		isTrue(t, !errors.Is(err, k), "matches no kind: "+k.Error())
	}
	errIs(t, err, io.ErrUnexpectedEOF)
	isTrue(t, IsRetryable(err), "a failure of no known kind is retryable")
	isTrue(t, !errors.Is(NewError("list", "", nil, nil), nil), "a nil kind matches nothing")
}

func TestErrorString(t *testing.T) {
	cause := errors.New("HTTP 404")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"op, path and kind", NewError("stat", "Docs/a.pdf", ErrNotFound, nil), `stat "Docs/a.pdf": not found`},
		{"kind and cause", NewError("open", "a", ErrNotFound, cause), `open "a": not found: HTTP 404`},
		{"cause is the kind", NewError("open", "a", ErrNotFound, ErrNotFound), `open "a": not found`},
		{"no path", NewError("list", "", ErrPermissionDenied, nil), `list: permission denied`},
		{"cause only", NewError("list", "", nil, cause), `list: HTTP 404`},
		{"nothing", NewError("delete", "x", nil, nil), `delete "x": failed`},
		{"path is quoted", NewError("put", "a \"b\"\n", ErrTooLarge, nil), `put "a \"b\"\n": too large`},
		{"throttled", Throttled(0, nil), "throttled"},
		{"throttled with delay", Throttled(90*time.Second, nil), "throttled (retry after 1m30s)"},
		{"throttled with cause", Throttled(2*time.Second, cause), "throttled (retry after 2s): HTTP 404"},
		{"invalid name", InvalidName("a:b", `contains ':'`), `invalid name "a:b": contains ':'`},
		{"wrapped", fmt.Errorf("pair 3: %w", NewError("mkdir", "A", ErrAlreadyExists, nil)),
			`pair 3: mkdir "A": already exists`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, tc.want, tc.err.Error())
		})
	}
}

func TestThrottledError(t *testing.T) {
	cause := errors.New("429 Too Many Requests")
	te := Throttled(30*time.Second, cause)
	for name, err := range map[string]error{
		"bare":           te,
		"wrapped":        fmt.Errorf("list: %w", te),
		"cause of Error": NewError("put", "a", ErrThrottled, te),
	} {
		t.Run(name, func(t *testing.T) {
			errIs(t, err, ErrThrottled)
			errIs(t, err, cause)
			var got *ThrottledError
			isTrue(t, errors.As(err, &got), "errors.As finds the *ThrottledError")
			eq(t, 30*time.Second, got.RetryAfter)
			d, ok := RetryAfter(err)
			eq(t, 30*time.Second, d)
			isTrue(t, ok, "is throttling")
			isTrue(t, IsRetryable(err), "throttling is retryable")
			isTrue(t, !errors.Is(err, ErrNotFound), "not another kind")
		})
	}
	errIs(t, Throttled(0, nil), ErrThrottled)
	eq(t, nil, Throttled(0, nil).Unwrap())
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		d    time.Duration
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"other error", errors.New("boom"), 0, false},
		{"not found", NewError("stat", "a", ErrNotFound, nil), 0, false},
		{"throttled kind without delay", NewError("list", "", ErrThrottled, nil), 0, true},
		{"sentinel", ErrThrottled, 0, true},
		{"delay", Throttled(time.Minute, nil), time.Minute, true},
		{"wrapped delay", fmt.Errorf("x: %w", Throttled(time.Second, nil)), time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := RetryAfter(tc.err)
			eq(t, tc.d, d)
			eq(t, tc.ok, ok)
		})
	}
}

func TestInvalidNameError(t *testing.T) {
	err := fmt.Errorf("put: %w", InvalidName("CON", `reserved name "CON"`))
	errIs(t, err, ErrInvalidName)
	isTrue(t, !errors.Is(err, ErrNotFound), "not another kind")
	var ine *InvalidNameError
	isTrue(t, errors.As(err, &ine), "errors.As finds the *InvalidNameError")
	eq(t, "CON", ine.Name)
	eq(t, `reserved name "CON"`, ine.Reason)
	isTrue(t, !IsRetryable(err), "an invalid name is not retryable")

	inside := NewError("put", "CON", ErrInvalidName, InvalidName("CON", "reserved"))
	isTrue(t, errors.As(inside, &ine), "found as the cause of an *Error")
}

func TestIsRetryable(t *testing.T) {
	retryable := map[error]bool{
		ErrNotFound: false, ErrAlreadyExists: false, ErrPreconditionFailed: false,
		ErrThrottled: true, ErrTooLarge: false, ErrInvalidName: false, ErrQuotaExceeded: false,
		ErrPermissionDenied: false, ErrLocked: true, ErrUnsupported: false,
		ErrCursorExpired: false, ErrNotEmpty: false, ErrIsDir: false, ErrNotDir: false,
	}
	eq(t, len(allKinds), len(retryable), "every kind has a row")
	for _, kind := range allKinds {
		t.Run(kind.Error(), func(t *testing.T) {
			want := retryable[kind]
			eq(t, want, IsRetryable(kind), "sentinel")
			eq(t, want, IsRetryable(NewError("put", "a", kind, nil)), "*Error")
			eq(t, want, IsRetryable(fmt.Errorf("w: %w", NewError("put", "a", kind, io.EOF))), "wrapped")
		})
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unknown", errors.New("connection reset"), true},
		{"throttled", Throttled(time.Second, nil), true},
		{"invalid name", InvalidName("a", "b"), false},
		{"locked with cause", NewError("put", "a", ErrLocked, errors.New("423")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eq(t, tc.want, IsRetryable(tc.err))
		})
	}
}

func TestIsRetryableContext(t *testing.T) {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded,
		NewError("put", "a", nil, fmt.Errorf("copy: %w", context.Canceled))} {
		isTrue(t, !IsRetryable(err), "a cancelled or expired context is not retryable: "+err.Error())
	}
}

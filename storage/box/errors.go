package box

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// Error is an error response of the Box API (ClientError): its HTTP
// status, Box's code and message, and for a 409 item_name_in_use the
// conflicting items. It matches the storage error kinds with errors.Is.
type Error struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
	// Op is the request, method and path, without the query.
	Op string
	// Conflicts are the items a 409 item_name_in_use names (Box sends an
	// array or a single object).
	Conflicts []Item
	// RetryAfter is what a 429 asked to wait.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("box: %s: %d %s: %s", e.Op, e.StatusCode, e.Code, e.Message)
}

// Kind returns the storage error kind e matches (nil: none).
func (e *Error) Kind() error {
	switch e.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return storage.ErrNotFound
	case http.StatusConflict:
		if e.Code == "item_name_in_use" || e.Code == "conflict" {
			return storage.ErrAlreadyExists
		}
	case http.StatusPreconditionFailed:
		return storage.ErrPreconditionFailed
	case http.StatusTooManyRequests:
		return storage.ErrThrottled
	case http.StatusRequestEntityTooLarge:
		return storage.ErrTooLarge
	case http.StatusUnauthorized:
		return storage.ErrPermissionDenied
	case http.StatusForbidden:
		switch e.Code {
		case "storage_limit_exceeded":
			return storage.ErrQuotaExceeded
		case "file_size_limit_exceeded":
			return storage.ErrTooLarge
		case "access_denied_item_locked":
			return storage.ErrLocked
		}
		return storage.ErrPermissionDenied
	case http.StatusBadRequest:
		switch e.Code {
		case "item_name_invalid", "item_name_too_long":
			return storage.ErrInvalidName
		case "folder_not_empty":
			return storage.ErrNotEmpty
		}
	}
	return nil
}

// Is matches e's storage kind.
func (e *Error) Is(target error) bool {
	k := e.Kind()
	return k != nil && k == target
}

// conflictItems decodes context_info.conflicts, an array or one object.
func conflictItems(raw json.RawMessage) []Item {
	if len(raw) == 0 {
		return nil
	}
	var list []Item
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one Item
	if json.Unmarshal(raw, &one) == nil && one.ID != "" {
		return []Item{one}
	}
	return nil
}

func decodeError(resp *http.Response, body []byte, op string, now time.Time) error {
	e := &Error{StatusCode: resp.StatusCode, Op: op, Code: http.StatusText(resp.StatusCode)}
	var b struct {
		Code        string `json:"code"`
		Message     string `json:"message"`
		RequestID   string `json:"request_id"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		ContextInfo struct {
			Conflicts json.RawMessage `json:"conflicts"`
		} `json:"context_info"`
	}
	if json.Unmarshal(body, &b) == nil {
		if b.Code != "" {
			e.Code, e.Message, e.RequestID = b.Code, b.Message, b.RequestID
		} else if b.Error != "" {
			e.Code, e.Message = b.Error, b.Description
		}
		e.Conflicts = conflictItems(b.ContextInfo.Conflicts)
	}
	if d, ok := httpclient.RetryAfter(resp.Header, now); ok {
		e.RetryAfter = d
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return storage.Throttled(e.RetryAfter, e)
	}
	return e
}

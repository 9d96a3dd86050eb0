package dropbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// APIError is a failed Dropbox call: a route error (409, a tagged union
// such as path/not_found or path/conflict/file), a bad request (400, plain
// text), an authentication or access error (401, 403), an invalid path
// root (422), a rate limit (429) or a server error.
type APIError struct {
	// Route is the route called, e.g. "files/list_folder".
	Route string
	// Status is the HTTP status.
	Status int
	// Summary is the error_summary (e.g. "path/not_found/..") or, for a
	// 400, the start of the plain-text message.
	Summary string
	// Tags are the union tags of the error from the outside in, e.g.
	// ["path", "conflict", "file"].
	Tags []string
	// Error is the route error's JSON ("error").
	Body json.RawMessage
	// RetryAfter is the delay a 429 asked for.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := "dropbox: " + e.Route + ": " + http.StatusText(e.Status)
	if e.Summary != "" {
		s += ": " + e.Summary
	}
	return s
}

// Has reports whether tag is one of the error's union tags.
func (e *APIError) Has(tag string) bool {
	for _, t := range e.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Is matches the storage error kinds.
func (e *APIError) Is(target error) bool { return e.kind() == target && target != nil }

// kind maps the error to a storage error kind (nil: none).
func (e *APIError) kind() error {
	switch e.Status {
	case http.StatusTooManyRequests:
		return storage.ErrThrottled
	case http.StatusUnauthorized, http.StatusForbidden, 422:
		return storage.ErrPermissionDenied
	case http.StatusConflict:
	default:
		return nil
	}
	for _, t := range e.Tags {
		switch t {
		case "not_found":
			return storage.ErrNotFound
		case "conflict":
			return storage.ErrAlreadyExists
		case "malformed_path", "disallowed_name":
			return storage.ErrInvalidName
		case "insufficient_space", "insufficient_quota":
			return storage.ErrQuotaExceeded
		case "no_write_permission", "access_restricted", "team_folder", "restricted_content", "cant_move_shared_folder", "cant_transfer_ownership":
			return storage.ErrPermissionDenied
		case "locked":
			return storage.ErrLocked
		case "too_many_write_operations":
			return storage.ErrThrottled
		case "reset":
			return storage.ErrCursorExpired
		case "not_file":
			return storage.ErrIsDir
		case "not_folder":
			return storage.ErrNotDir
		case "payload_too_large", "too_large", "too_many_files":
			return storage.ErrTooLarge
		}
	}
	return nil
}

// decodeError reads a failed response.
func decodeError(route string, resp *http.Response, b []byte, now time.Time) error {
	e := &APIError{Route: route, Status: resp.StatusCode}
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	var env struct {
		Summary string          `json:"error_summary"`
		Error   json.RawMessage `json:"error"`
	}
	if isJSON && json.Unmarshal(b, &env) == nil {
		e.Summary, e.Body = env.Summary, env.Error
		e.Tags = tagsOf(env.Error)
		if len(e.Tags) == 0 && env.Summary != "" {
			for _, t := range strings.Split(env.Summary, "/") {
				if t = strings.TrimSpace(t); t != "" && t != "." && t != ".." {
					e.Tags = append(e.Tags, t)
				}
			}
		}
	} else if len(b) > 0 {
		s := string(b)
		if len(s) > 200 {
			s = s[:200]
		}
		e.Summary = strings.TrimSpace(s)
	}
	if e.Status == http.StatusTooManyRequests {
		if d, ok := retryAfterBody(b); ok {
			e.RetryAfter = d
		} else if d, ok := httpclient.RetryAfter(resp.Header, now); ok {
			e.RetryAfter = d
		}
		if len(e.Tags) == 0 {
			e.Tags = []string{"too_many_requests"}
		}
	}
	return e
}

// tagsOf walks a tagged union's JSON: its .tag, then the member's value
// (an object named after the tag, or the flattened struct itself).
func tagsOf(raw json.RawMessage) []string {
	var tags []string
	for depth := 0; depth < 8 && len(raw) > 0; depth++ {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return append(tags, s)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return tags
		}
		var tag string
		if json.Unmarshal(m[".tag"], &tag) != nil || tag == "" {
			// A struct such as RateLimitError or UploadWriteFailed: follow
			// its union-valued field.
			for _, k := range []string{"reason"} {
				if v, ok := m[k]; ok {
					raw = v
					goto next
				}
			}
			return tags
		}
		tags = append(tags, tag)
		if v, ok := m[tag]; ok {
			raw = v
		} else if v, ok := m["reason"]; ok {
			raw = v
		} else {
			return tags
		}
	next:
	}
	return tags
}

// storageErr converts err of a Storage operation op on path p.
func storageErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	var se *storage.Error
	if errors.As(err, &se) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusTooManyRequests || ae.Has("too_many_write_operations") {
			return storage.NewError(op, p, storage.ErrThrottled, storage.Throttled(ae.RetryAfter, ae))
		}
		return storage.NewError(op, p, ae.kind(), ae)
	}
	return storage.NewError(op, p, nil, err)
}

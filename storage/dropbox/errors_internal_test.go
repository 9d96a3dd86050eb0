package dropbox

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
)

func TestDecodeError(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
		header string
		kind   error
		tags   string
		retry  time.Duration
	}{
		{"not found", 409, "application/json", `{"error_summary":"path/not_found/..","error":{".tag":"path","path":{".tag":"not_found"}}}`, "", storage.ErrNotFound, "path/not_found", 0},
		{"file conflict", 409, "application/json", `{"error_summary":"path/conflict/file/.","error":{".tag":"path","path":{".tag":"conflict","conflict":{".tag":"file"}}}}`, "", storage.ErrAlreadyExists, "path/conflict/file", 0},
		{"upload write failed", 409, "application/json", `{"error_summary":"path/insufficient_space/","error":{".tag":"path","reason":{".tag":"insufficient_space"},"upload_session_id":"x"}}`, "", storage.ErrQuotaExceeded, "path/insufficient_space", 0},
		{"malformed", 409, "application/json", `{"error_summary":"path/malformed_path/","error":{".tag":"path","path":{".tag":"malformed_path"}}}`, "", storage.ErrInvalidName, "path/malformed_path", 0},
		{"disallowed", 409, "application/json", `{"error_summary":"path/disallowed_name/","error":{".tag":"path","reason":{".tag":"disallowed_name"},"upload_session_id":"x"}}`, "", storage.ErrInvalidName, "path/disallowed_name", 0},
		{"reset", 409, "application/json", `{"error_summary":"reset/..","error":{".tag":"reset"}}`, "", storage.ErrCursorExpired, "reset", 0},
		{"incorrect offset", 409, "application/json", `{"error_summary":"incorrect_offset/","error":{".tag":"incorrect_offset","correct_offset":8}}`, "", nil, "incorrect_offset", 0},
		{"rate limit body wins", 429, "application/json", `{"error_summary":"too_many_write_operations/..","error":{"reason":{".tag":"too_many_write_operations"},"retry_after":7}}`, "3", storage.ErrThrottled, "too_many_write_operations", 7 * time.Second},
		{"rate limit text", 429, "text/plain", `too many requests`, "4", storage.ErrThrottled, "too_many_requests", 4 * time.Second},
		{"expired token", 401, "application/json", `{"error_summary":"expired_access_token/..","error":{".tag":"expired_access_token"}}`, "", storage.ErrPermissionDenied, "expired_access_token", 0},
		{"bad request is text", 400, "text/plain; charset=utf-8", `Error in call to API function "files/x": bad`, "", nil, "", 0},
		{"server error", 500, "text/plain", `oops`, "", nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tc.ctype}}
			if tc.header != "" {
				h.Set("Retry-After", tc.header)
			}
			err := decodeError("files/x", &http.Response{StatusCode: tc.status, Header: h}, []byte(tc.body), now)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%T", err)
			}
			if got := strings.Join(ae.Tags, "/"); got != tc.tags {
				t.Errorf("tags %q, want %q", got, tc.tags)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("%v does not match %v", err, tc.kind)
			}
			if ae.RetryAfter != tc.retry {
				t.Errorf("RetryAfter %v, want %v", ae.RetryAfter, tc.retry)
			}
			se := storageErr("stat", "a", err)
			if tc.status == 429 {
				if d, ok := storage.RetryAfter(se); !ok || d != tc.retry {
					t.Errorf("storage error %v: retry after %v %v", se, d, ok)
				}
			}
		})
	}
}

func TestHeaderSafeJSON(t *testing.T) {
	got, err := HeaderSafeJSON(map[string]string{"path": "/Zürich/😀\x7f.txt"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"/Z\u00fcrich/\ud83d\ude00\u007f.txt"}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestContentHashBlocks(t *testing.T) {
	if got := ContentHash(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty: %s", got)
	}
	// Writing in pieces across block boundaries gives the one-shot hash,
	// and Sum does not disturb the state.
	data := make([]byte, 2*BlockSize+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	h := NewContentHash()
	for i := 0; i < len(data); i += 1 << 20 {
		h.Write(data[i:min(i+1<<20, len(data))])
		_ = h.Sum(nil)
	}
	if a, b := ContentHash(data), string(hexOf(h.Sum(nil))); a != b {
		t.Errorf("streamed %s, one-shot %s", b, a)
	}
}

func hexOf(b []byte) []byte {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return out
}

package msgraph

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/stretchr/testify/require"
)

func TestDecodeError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		code   string
		inner  []string
		kind   error
		retry  time.Duration
	}{
		{"Graph spelling, nested", 429, map[string]string{"Retry-After": "30"},
			`{"error":{"code":"activityLimitReached","message":"throttled","innerError":{"code":"throttledRequest","innerError":{"code":"quota"}}}}`,
			"activityLimitReached", []string{"throttledRequest", "quota"}, storage.ErrThrottled, 30 * time.Second},
		{"OneDrive spelling", 416, nil,
			`{"error":{"code":"invalidRange","message":"overlap","innererror":{"code":"fragmentOverlap"}}}`,
			"invalidRange", []string{"fragmentOverlap"}, nil, 0},
		{"name conflict", 409, nil, `{"error":{"code":"nameAlreadyExists","message":"exists"}}`, "nameAlreadyExists", nil, storage.ErrAlreadyExists, 0},
		{"other conflict", 409, nil, `{"error":{"code":"conflict","message":"x"}}`, "conflict", nil, nil, 0},
		{"precondition", 412, nil, `{"error":{"code":"resourceModified","message":"x","innerError":{"code":"entityTagDoesNotMatch"}}}`, "resourceModified", []string{"entityTagDoesNotMatch"}, storage.ErrPreconditionFailed, 0},
		{"locked", 423, nil, `{"error":{"code":"notAllowed","message":"locked","innerError":{"code":"resourceLocked"}}}`, "notAllowed", []string{"resourceLocked"}, storage.ErrLocked, 0},
		{"checked out: 423 accessDenied", 423, nil, `{"error":{"code":"accessDenied","message":"The file is currently checked out or locked for editing by another user."}}`, "accessDenied", nil, storage.ErrLocked, 0},
		{"locked as accessDenied", 403, nil, `{"error":{"code":"accessDenied","message":"x","innererror":{"code":"resourceLocked"}}}`, "accessDenied", []string{"resourceLocked"}, storage.ErrLocked, 0},
		{"quota", 507, nil, `{"error":{"code":"quotaLimitReached","message":"full"}}`, "quotaLimitReached", nil, storage.ErrQuotaExceeded, 0},
		{"path too long", 400, nil, `{"error":{"code":"invalidRequest","message":"x","innerError":{"code":"pathIsTooLong"}}}`, "invalidRequest", []string{"pathIsTooLong"}, storage.ErrInvalidName, 0},
		{"not found", 404, nil, `{"error":{"code":"itemNotFound","message":"x"}}`, "itemNotFound", nil, storage.ErrNotFound, 0},
		{"resync", 410, map[string]string{"Location": "https://graph.microsoft.com/v1.0/drives/x/root/delta"}, `{"error":{"code":"resyncChangesApplyDifferences","message":"x"}}`, "resyncChangesApplyDifferences", nil, storage.ErrCursorExpired, 0},
		{"expired token", 401, nil, `{"error":{"code":"InvalidAuthenticationToken","message":"x"}}`, "InvalidAuthenticationToken", nil, storage.ErrPermissionDenied, 0},
		{"busy with delay", 503, map[string]string{"Retry-After": "5"}, `{"error":{"code":"serviceNotAvailable","message":"x"}}`, "serviceNotAvailable", nil, storage.ErrThrottled, 5 * time.Second},
		{"busy without delay", 503, nil, `{"error":{"code":"serviceNotAvailable","message":"x"}}`, "serviceNotAvailable", nil, nil, 0},
		{"too large", 413, nil, `{"error":{"code":"invalidRequest","message":"x","innerError":{"code":"maxFileSizeExceeded"}}}`, "invalidRequest", []string{"maxFileSizeExceeded"}, storage.ErrTooLarge, 0},
		{"malformed JSON", 500, nil, `{"error":{"code":`, "", nil, nil, 0},
		{"HTML body", 502, nil, `<html>Bad Gateway</html>`, "", nil, nil, 0},
		{"empty body", 404, nil, ``, "", nil, storage.ErrNotFound, 0},
		{"error is not an object", 400, nil, `{"error":"invalid_grant"}`, "", nil, nil, 0},
		{"deep nesting is bounded", 400, nil, `{"error":{"code":"x","message":"m","innerError":` + strings.Repeat(`{"code":"c","innerError":`, 40) + `{}` + strings.Repeat(`}`, 40) + `}}`, "x", nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			e := decodeError(resp, []byte(tc.body), "GET /drives/x", time.Now())
			require.Equal(t, tc.status, e.StatusCode)
			require.Equal(t, tc.code, e.Code)
			if tc.name != "deep nesting is bounded" {
				require.Equal(t, tc.inner, e.Inner)
			} else {
				require.LessOrEqual(t, len(e.Inner), 16)
			}
			require.Equal(t, tc.retry, e.RetryAfter)
			require.NotEmpty(t, e.Message)
			if tc.kind != nil {
				require.ErrorIs(t, e, tc.kind)
			} else {
				require.Nil(t, e.Kind())
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{StatusCode: 423, Code: "notAllowed", Inner: []string{"resourceLocked"}, Message: "locked", Op: "PUT /drives/d/items/i/content"}
	require.Equal(t, "graph: PUT /drives/d/items/i/content: 423 notAllowed (resourceLocked): locked", e.Error())
}

func TestEscape(t *testing.T) {
	require.Equal(t, "a%20b/%23%25%3A%3F/%C3%A9", EscapePath("/a b/#%:?/é/"))
}

package drivefs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
)

// TestWrap: a Graph error, however deep in the chain, becomes the storage
// error of its kind, unwraps to the *msgraph.Error, and keeps a
// throttling delay.
func TestWrap(t *testing.T) {
	for _, e := range []*msgraph.Error{
		{StatusCode: 429, Code: "activityLimitReached", Inner: []string{"throttledRequest"}, RetryAfter: 30 * time.Second},
		{StatusCode: 503, Code: "serviceNotAvailable", RetryAfter: 5 * time.Second},
		{StatusCode: 503, Code: "serviceNotAvailable"},
		{StatusCode: 409, Code: "nameAlreadyExists"},
		{StatusCode: 409, Code: "conflict"},
		{StatusCode: 412, Code: "resourceModified"},
		{StatusCode: 423, Code: "notAllowed", Inner: []string{"resourceLocked"}},
		{StatusCode: 507, Code: "quotaLimitReached"},
		{StatusCode: 404, Code: "itemNotFound"},
		{StatusCode: 410, Code: "resyncChangesApplyDifferences"},
		{StatusCode: 413, Code: "invalidRequest", Inner: []string{"maxFileSizeExceeded"}},
		{StatusCode: 502},
	} {
		t.Run(fmt.Sprint(e.StatusCode, e.Code, e.RetryAfter), func(t *testing.T) {
			w := drivefs.Wrap("put", "a/b.txt", fmt.Errorf("x: %w", e))
			var se *storage.Error
			require.True(t, errors.As(w, &se))
			require.Equal(t, e.Kind(), se.Kind)
			var back *msgraph.Error
			require.True(t, errors.As(w, &back), "unwraps to the Graph error")
			if e.Kind() == storage.ErrThrottled {
				d, ok := storage.RetryAfter(w)
				require.True(t, ok)
				require.Equal(t, e.RetryAfter, d)
			}
		})
	}
}

func TestRules(t *testing.T) {
	r := drivefs.Rules(0)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"plan.pdf", true}, {"a#b%c.txt", true}, {"CON", false}, {"con.txt", false}, {"LPT9.log", false},
		{".lock", false}, {"Desktop.ini", false}, {"~$doc.docx", false}, {"a_vti_b", false},
		{"trailing.", false}, {"trailing ", false}, {" leading", false}, {"a:b", false}, {"a|b", false},
		{`a"b`, false}, {"a\nb", false}, {strings.Repeat("x", 256), false},
	} {
		err := r.Validate(tc.name)
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.name, err)
		if err != nil {
			require.ErrorIs(t, err, storage.ErrInvalidName)
		}
	}
	require.True(t, r.CaseInsensitive)
	require.Equal(t, 400, r.MaxPathLength)
	require.Equal(t, 400-len("Procore/Project")-1, drivefs.Rules(len("Procore/Project")).MaxPathLength)
}

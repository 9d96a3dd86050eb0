package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/stretchr/testify/require"
)

func TestNotifier(t *testing.T) {
	n := &graph.Notifier{ClientState: "expected-state"}
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := n.Watch(ctx)
	require.NoError(t, err)
	post := func(target, body string) *http.Response {
		rec := httptest.NewRecorder()
		n.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)))
		return rec.Result()
	}
	note := func(state string) string {
		return `{"value":[{"subscriptionId":"s1","clientState":"` + state + `","changeType":"updated","resource":"/drives/d/root","tenantId":"t"}]}`
	}
	woke := func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for _, tc := range []struct {
		name, target, body string
		status             int
		wake               bool
	}{
		{"validation handshake", "/hook?validationToken=Validation%3A+Testing+%3Cb%3E", "", 200, false},
		{"wrong clientState is ignored", "/hook", note("forged"), 202, false},
		{"malformed body", "/hook", `{"value":`, 400, false},
		{"valid notification wakes", "/hook", note("expected-state"), 202, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(tc.target, tc.body)
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.name == "validation handshake" {
				b, _ := io.ReadAll(resp.Body)
				require.Equal(t, "Validation: Testing <b>", string(b), "the token comes back verbatim")
				require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
				require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			}
			if tc.wake {
				<-ch // delivered (no timing: the watcher goroutine forwards it)
			} else {
				require.False(t, woke())
			}
		})
	}
	// Several notifications before anyone reads coalesce into one signal.
	post("/hook", note("expected-state"))
	post("/hook", note("expected-state"))
	<-ch
	rec := httptest.NewRecorder()
	n.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hook", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	cancel()
	for range ch {
	} // closed when the context ends
}

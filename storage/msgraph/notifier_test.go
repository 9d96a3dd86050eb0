package msgraph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
)

func TestNotifier(t *testing.T) {
	n := &msgraph.Notifier{ClientState: "expected-state"}
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

func TestNotifierRequiresClientState(t *testing.T) {
	_, err := msgraph.NewNotifier("")
	require.ErrorIs(t, err, msgraph.ErrNoClientState)
	_, err = msgraph.NewNotifier(strings.Repeat("x", 129))
	require.Error(t, err)
	n, err := msgraph.NewNotifier("s3cret")
	require.NoError(t, err)
	require.Equal(t, "s3cret", n.ClientState)

	// A Notifier without a clientState neither watches nor wakes: a
	// notification with an empty clientState is what anyone can forge.
	empty := &msgraph.Notifier{}
	_, err = empty.Watch(context.Background())
	require.ErrorIs(t, err, msgraph.ErrNoClientState)
	forged := `{"value":[{"subscriptionId":"s1","clientState":"","changeType":"updated","resource":"/drives/d/root","tenantId":"t"}]}`
	rec := httptest.NewRecorder()
	empty.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(forged)))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.NotContains(t, rec.Body.String(), "clientState")

	// The same forgery against a configured Notifier is ignored.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := n.Watch(ctx)
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	n.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(forged)))
	require.Equal(t, http.StatusAccepted, rec.Code)
	select {
	case <-ch:
		t.Fatal("a notification with an empty clientState woke the watcher")
	default:
	}
}

func TestNotifierBoundsRequests(t *testing.T) {
	n := &msgraph.Notifier{ClientState: "s3cret"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := n.Watch(ctx)
	require.NoError(t, err)

	// A body over the limit is refused as too large, not read to the end.
	big := `{"value":[{"clientState":"s3cret","resource":"` + strings.Repeat("a", msgraph.MaxNotificationBody) + `"}]}`
	rec := httptest.NewRecorder()
	n.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(big)))
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	select {
	case <-ch:
		t.Fatal("an oversized body woke the watcher")
	default:
	}

	// The validation token comes back verbatim, also with characters that
	// need escaping; an absurdly long one is refused.
	tok := `Validation: Testing client application reachability for subscription Request-Id: 6e9d0bb9 <&>"'`
	rec = httptest.NewRecorder()
	n.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook?validationToken="+url.QueryEscape(tok), nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, tok, rec.Body.String())
	require.Equal(t, "text/plain", rec.Header().Get("Content-Type"))
	rec = httptest.NewRecorder()
	n.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/hook?validationToken="+strings.Repeat("v", 5000), nil))
	require.Equal(t, http.StatusBadRequest, rec.Code)
}

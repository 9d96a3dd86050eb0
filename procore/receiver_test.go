package procore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
)

func quietReceiver(auth string) *procore.Receiver {
	return &procore.Receiver{Authorization: auth, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func postTo(h http.Handler, auth, body string) int {
	req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

func event(id string) string {
	return `{"id":1,"ulid":"` + id + `","timestamp":"2025-02-06T23:34:12Z","user_id":9,"company_id":1,"project_id":2,` +
		`"api_version":"v2.0","event_type":"update","resource_name":"Project Files","resource_id":3}`
}

// TestReceiverRequiresSecret: no secret, no receiver; a Receiver built
// without one accepts nothing.
func TestReceiverRequiresSecret(t *testing.T) {
	_, err := procore.NewReceiver("")
	require.ErrorIs(t, err, procore.ErrNoWebhookSecret)
	_, err = procore.NewReceiver("  ")
	require.ErrorIs(t, err, procore.ErrNoWebhookSecret)
	r, err := procore.NewReceiver("Bearer s3cret")
	require.NoError(t, err)
	require.Equal(t, "Bearer s3cret", r.Authorization)

	n := 0
	bare := &procore.Receiver{OnEvent: func(procore.Event) { n++ }}
	require.Equal(t, http.StatusInternalServerError, postTo(bare, "", event("A")))
	require.Equal(t, http.StatusInternalServerError, postTo(bare, "Bearer anything", event("B")))
	require.Zero(t, n, "a receiver without a secret accepts nothing")
}

// TestReceiverBoundsWhatItReadsAndRemembers: forged requests are refused
// before anything is read or remembered; bodies and IDs are bounded;
// the de-duplication set is bounded.
func TestReceiverBoundsWhatItReadsAndRemembers(t *testing.T) {
	var got []string
	r := quietReceiver("Bearer s3cret")
	r.OnEvent = func(e procore.Event) { got = append(got, e.ID) }

	// A forged delivery is not remembered: the authentic one with the
	// same ID afterwards is taken.
	require.Equal(t, http.StatusUnauthorized, postTo(r, "Bearer wrong", event("E1")))
	require.Equal(t, http.StatusUnauthorized, postTo(r, "", event("E1")))
	require.Equal(t, http.StatusUnauthorized, postTo(r, "Bearer s3cret ", event("E1")))
	require.Equal(t, http.StatusOK, postTo(r, "Bearer s3cret", event("E1")))
	require.Equal(t, []string{"E1"}, got)

	// An oversized body: acknowledged (it is authentic) and dropped.
	big := `{"pad":"` + strings.Repeat("x", procore.MaxWebhookBody) + `",` + event("E2")[1:]
	require.Equal(t, http.StatusOK, postTo(r, "Bearer s3cret", big))
	// An over-long ID: acknowledged, dropped, not remembered.
	require.Equal(t, http.StatusOK, postTo(r, "Bearer s3cret", event(strings.Repeat("L", 10000))))
	require.Equal(t, []string{"E1"}, got)
	require.Equal(t, 2, r.Dropped())

	// The remembered set is bounded: after many other events, E1 is
	// forgotten and taken again.
	for i := range 5000 {
		require.Equal(t, http.StatusOK, postTo(r, "Bearer s3cret", event(fmt.Sprintf("F%d", i))))
	}
	require.Equal(t, http.StatusOK, postTo(r, "Bearer s3cret", event("E1")))
	require.Equal(t, "E1", got[len(got)-1])
	require.Len(t, got, 5002)
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReceiverDoesNotPauseProcore: Procore pauses every delivery to an
// endpoint after one non-2xx answer. An authentic delivery the receiver
// cannot parse is acknowledged and logged, so the endpoint is never
// paused and the next event arrives.
func TestReceiverDoesNotPauseProcore(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: 50 * time.Millisecond, Attempts: 3}}, nil)
	ctx := context.Background()
	var log syncBuffer
	var mu sync.Mutex
	var got []procore.Event
	rcv := &procore.Receiver{Authorization: "Bearer hook-secret", Logger: slog.New(slog.NewTextHandler(&log, nil)),
		OnEvent: func(e procore.Event) { mu.Lock(); got = append(got, e); mu.Unlock() }}
	hs := httptest.NewServer(rcv)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.WaitWebhooks)
	_, err := c.Webhooks.RegisterHook(ctx, procore.WebhookScope{ProjectID: srv.ProjectID}, "pause-test", hs.URL,
		"Bearer hook-secret", "v2.0", procore.DocumentResources)
	require.NoError(t, err)

	for _, odd := range []string{`{"id":`, `{"id":1}`, `[1,2,3]`, `{"id":"` + strings.Repeat("9", 100) + `","resource_name":"Project Files"}`} {
		require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, srv.ProjectID, []byte(odd)))
	}
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "after.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.Zero(t, srv.EndpointPauses(), "no delivery was answered with a non-2xx status")
	mu.Lock()
	require.NotEmpty(t, got, "the event after the odd ones arrived")
	for _, e := range got {
		require.True(t, strings.HasPrefix(e.ResourceName, "Project File"), e.ResourceName)
	}
	mu.Unlock()
	require.Equal(t, 4, rcv.Dropped())
	require.Contains(t, log.String(), "dropped")
	require.NotContains(t, log.String(), "hook-secret")

	// The fake's pause is real: an endpoint answering 400 is paused.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadRequest) }))
	t.Cleanup(bad.Close)
	_, err = c.Webhooks.RegisterHook(ctx, procore.WebhookScope{ProjectID: srv.ProjectID}, "pause-test", bad.URL,
		"Bearer hook-secret", "v2.0", procore.DocumentResources)
	require.NoError(t, err)
	srv.DeliverRaw(srv.CompanyID, srv.ProjectID, []byte(`{"id":`))
	srv.WaitWebhooks()
	require.Equal(t, 3, srv.EndpointPauses())
}

// TestRegisterHookReconciles: registering again with a rotated secret and
// a new public URL updates the existing hook, so deliveries keep coming
// (before, the old hook kept the old header and every delivery was
// refused); triggers follow the configured resources.
func TestRegisterHookReconciles(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond, Attempts: 2}}, nil)
	ctx := context.Background()
	t.Cleanup(srv.WaitWebhooks)
	var mu sync.Mutex
	var got []string
	mk := func(secret string) *httptest.Server {
		r := quietReceiver(secret)
		r.OnEvent = func(e procore.Event) { mu.Lock(); got = append(got, secret+":"+e.ResourceName); mu.Unlock() }
		hs := httptest.NewServer(r)
		t.Cleanup(hs.Close)
		return hs
	}
	old, rotated := mk("Bearer old-secret"), mk("Bearer new-secret")
	sc := procore.WebhookScope{ProjectID: srv.ProjectID}
	h1, err := c.Webhooks.RegisterHook(ctx, sc, "procoresync", old.URL, "Bearer old-secret", "v2.0",
		append(procore.DocumentResources, procore.PhotoResources...))
	require.NoError(t, err)
	h2, err := c.Webhooks.RegisterHook(ctx, sc, "procoresync", rotated.URL, "Bearer new-secret", "v2.0", procore.DocumentResources)
	require.NoError(t, err)
	require.Equal(t, h1.ID, h2.ID, "the hook is updated, not duplicated")
	require.Equal(t, rotated.URL, h2.DestinationURL)
	trig, _, err := c.Webhooks.ListTriggers(ctx, sc, h1.ID)
	require.NoError(t, err)
	require.Len(t, trig, 9, "photo triggers removed, document triggers kept")
	hooks, _, err := c.Webhooks.ListHooks(ctx, sc, "procoresync")
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.True(t, strings.HasSuffix(hooks[0].DestinationHeaders["Authorization"], "ecret"))

	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "x.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	mu.Lock()
	require.Contains(t, got, "Bearer new-secret:Project Files")
	for _, g := range got {
		require.True(t, strings.HasPrefix(g, "Bearer new-secret:"), "delivered to the new URL with the new secret: %v", got)
	}
	mu.Unlock()
	require.Zero(t, srv.EndpointPauses())
}

// TestWebhooksV1Details: GET /rest/v1.0/webhooks/resources exists, a
// hook's api_version is echoed as sent, and v1.0 deliveries page by the
// delivery's own id.
func TestWebhooksV1Details(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond}}, nil)
	ctx := context.Background()
	t.Cleanup(srv.WaitWebhooks)
	sc := procore.WebhookScope{ProjectID: srv.ProjectID}
	res, _, err := c.Webhooks.ListResourcesV1(ctx, sc)
	require.NoError(t, err)
	names := map[string]procore.WebhookResourceV1{}
	for _, r := range res {
		names[r.Tools] = r
	}
	require.Contains(t, names, "Project Files")
	require.Contains(t, names, "Images")
	require.Equal(t, "delete", names["Images"].Delete)

	rcv := quietReceiver("Bearer s")
	hs := httptest.NewServer(rcv)
	t.Cleanup(hs.Close)
	h, _, err := c.Webhooks.CreateHook(ctx, sc, procore.Hook{APIVersion: "v2", Namespace: "v1-test", DestinationURL: hs.URL,
		DestinationHeaders: map[string]string{"Authorization": "Bearer s"}})
	require.NoError(t, err)
	require.Equal(t, "v2", h.APIVersion, "echoed as sent")
	_, _, err = c.Webhooks.CreateTrigger(ctx, sc, h.ID, "v2", procore.Trigger{ResourceName: "Project Files", EventType: "create"})
	require.NoError(t, err)
	for i := range 3 {
		_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), fmt.Sprintf("f%d.txt", i), []byte("x"))
		require.NoError(t, err)
	}
	srv.WaitWebhooks()
	var seen []int64
	var start int64
	for range 5 {
		page, _, err := c.Webhooks.ListDeliveries(ctx, sc, h.ID, 1, start)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.NotEqual(t, page[0].ID, page[0].EventID, "a delivery has its own id")
		seen = append(seen, page[0].ID)
		start = page[0].ID
	}
	require.Len(t, seen, 3)
}

var _ = errors.New

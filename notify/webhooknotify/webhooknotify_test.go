package webhooknotify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/notify"
	"github.com/procoresync/procoresync/notify/webhooknotify"
	"github.com/procoresync/procoresync/syncengine"
)

var secret = []byte("0123456789abcdef-webhook-secret")

type receiver struct {
	mu       sync.Mutex
	answers  []int // status per attempt; 200 once exhausted
	attempts []http.Header
	bodies   [][]byte
	verify   []error
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, req.Header.Clone())
	r.bodies = append(r.bodies, body)
	r.verify = append(r.verify, webhooknotify.Verify(secret, req.Header, body, time.Now(), 0))
	status := http.StatusOK
	if len(r.answers) > 0 {
		status, r.answers = r.answers[0], r.answers[1:]
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "2")
	}
	w.WriteHeader(status)
}

func newNotifier(t *testing.T, url string, slept *[]time.Duration, o webhooknotify.Options) *webhooknotify.Notifier {
	t.Helper()
	o.URL, o.Secret = url, secret
	o.Sleep = func(_ context.Context, d time.Duration) error { *slept = append(*slept, d); return nil }
	n, err := webhooknotify.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

func batch(paths int) notify.Batch {
	ev := syncengine.Event{Kind: syncengine.EventDeleteLimitReached, PairID: "t3-docs", PairName: "Tower 3 / Documents",
		Time: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), Message: "Delete limit reached"}
	for i := range paths {
		ev.Paths = append(ev.Paths, "B:Procore/Tower 3/Documents/"+string(rune('a'+i%26))+".pdf")
	}
	return notify.Batch{Events: []syncengine.Event{ev}}
}

func TestSignedDeliveryRetriedUntilAccepted(t *testing.T) {
	r := &receiver{answers: []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var slept []time.Duration
	n := newNotifier(t, srv.URL+"/hooks/sync?token=abc", &slept, webhooknotify.Options{MaxPaths: 3})
	require.NoError(t, n.Send(context.Background(), batch(5)))

	require.Len(t, r.attempts, 3)
	for i, err := range r.verify {
		assert.NoError(t, err, "attempt %d verifies", i)
	}
	id := r.attempts[0].Get(webhooknotify.HeaderDelivery)
	assert.Len(t, id, 32)
	for _, h := range r.attempts {
		assert.Equal(t, id, h.Get(webhooknotify.HeaderDelivery), "retries repeat the delivery ID")
		assert.Equal(t, "application/json", h.Get("Content-Type"))
	}
	require.Len(t, slept, 2)
	assert.Equal(t, 2*time.Second, slept[1], "Retry-After is honoured")

	var p webhooknotify.Payload
	require.NoError(t, json.Unmarshal(r.bodies[2], &p))
	require.Len(t, p.Events, 1)
	e := p.Events[0]
	assert.Equal(t, "delete_limit_reached", e.Kind)
	assert.Equal(t, "t3-docs", e.PairID)
	assert.Equal(t, 5, e.PathCount)
	assert.Len(t, e.Paths, 3, "paths are bounded")
}

func TestPermanentRefusalAndRetryLimit(t *testing.T) {
	r := &receiver{answers: []int{http.StatusUnauthorized}}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var slept []time.Duration
	n := newNotifier(t, srv.URL+"/h?token=very-secret-token", &slept, webhooknotify.Options{})
	err := n.Send(context.Background(), batch(1))
	var we *webhooknotify.Error
	require.ErrorAs(t, err, &we)
	assert.Equal(t, http.StatusUnauthorized, we.Status)
	assert.Equal(t, 1, we.Attempts, "a 401 is not retried")
	assert.NotContains(t, err.Error(), "very-secret-token")
	assert.NotContains(t, err.Error(), string(secret))

	r2 := &receiver{answers: []int{500, 500, 500, 500}}
	srv2 := httptest.NewServer(r2)
	defer srv2.Close()
	slept = nil
	n2 := newNotifier(t, srv2.URL, &slept, webhooknotify.Options{RetryMax: 2})
	err = n2.Send(context.Background(), batch(1))
	require.ErrorAs(t, err, &we)
	assert.Equal(t, 3, we.Attempts)
	assert.Len(t, slept, 2)
}

func TestBurstIsOneDelivery(t *testing.T) {
	r := &receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	var slept []time.Duration
	n := newNotifier(t, srv.URL, &slept, webhooknotify.Options{Window: time.Hour,
		Kinds: []syncengine.EventKind{syncengine.EventRunFailed, syncengine.EventPairPaused}})
	for range 10 {
		n.Notify(context.Background(), syncengine.Event{Kind: syncengine.EventRunFailed, PairID: "p"})
	}
	n.Notify(context.Background(), syncengine.Event{Kind: syncengine.EventDrift, PairID: "p"})
	require.NoError(t, n.Flush(context.Background()))
	require.Len(t, r.bodies, 1)
	var p webhooknotify.Payload
	require.NoError(t, json.Unmarshal(r.bodies[0], &p))
	assert.Len(t, p.Events, 10)
}

func TestVerifyRefusesForgeries(t *testing.T) {
	body := []byte(`{"id":"x","events":[]}`)
	now := time.Now()
	h := http.Header{}
	h.Set(webhooknotify.HeaderTimestamp, "1")
	h.Set(webhooknotify.HeaderSignature, webhooknotify.Sign(secret, time.Unix(1, 0), body))
	assert.ErrorIs(t, webhooknotify.Verify(secret, h, body, now, 0), webhooknotify.ErrSignature, "replayed: old timestamp")

	h = http.Header{}
	h.Set(webhooknotify.HeaderTimestamp, "1733389200")
	ts := time.Unix(1733389200, 0)
	h.Set(webhooknotify.HeaderSignature, webhooknotify.Sign(secret, ts, body))
	assert.NoError(t, webhooknotify.Verify(secret, h, body, ts.Add(time.Minute), 0))
	assert.ErrorIs(t, webhooknotify.Verify(secret, h, append(body, ' '), ts, 0), webhooknotify.ErrSignature, "body changed")
	assert.ErrorIs(t, webhooknotify.Verify([]byte("another-secret-0123456789"), h, body, ts, 0), webhooknotify.ErrSignature)
	h.Set(webhooknotify.HeaderSignature, "v1=zz")
	assert.ErrorIs(t, webhooknotify.Verify(secret, h, body, ts, 0), webhooknotify.ErrSignature)
	h.Del(webhooknotify.HeaderTimestamp)
	assert.ErrorIs(t, webhooknotify.Verify(secret, h, body, ts, 0), webhooknotify.ErrSignature)
}

func TestConfigErrors(t *testing.T) {
	for name, o := range map[string]webhooknotify.Options{
		"plain http to a network": {URL: "http://hooks.example.com/x", Secret: secret},
		"not a URL":               {URL: "::", Secret: secret},
		"ftp":                     {URL: "ftp://example.com/x", Secret: secret},
		"short secret":            {URL: "https://hooks.example.com/x", Secret: []byte("short")},
	} {
		_, err := webhooknotify.New(o)
		assert.ErrorIs(t, err, webhooknotify.ErrConfig, name)
	}
}

package procore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/syncengine/manualclock"
)

// statusReceiver answers each delivery with the status of next (200 when
// it returns 0) and counts them.
type statusReceiver struct {
	n    atomic.Int32
	next func(n int) int
}

func (r *statusReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	st := r.next(int(r.n.Add(1)))
	if st == 0 {
		st = http.StatusOK
	}
	w.WriteHeader(st)
}

// companyHook registers a company hook for "Project Files" events to h.
func companyHook(t *testing.T, c *procore.Client, h http.Handler) *procore.Hook {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	hk, err := c.Webhooks.RegisterCompanyHook(context.Background(), "deliveries", hs.URL, "Bearer s3cret", "v2.0", []string{"Project Files"})
	require.NoError(t, err)
	return hk
}

func collect(t *testing.T, seq func(func(procore.Delivery, error) bool)) []procore.Delivery {
	t.Helper()
	var out []procore.Delivery
	for d, err := range seq {
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

// TestDeliveriesContract: the deliveries log of a company hook whose
// destination failed once and then discarded an event, read with every
// status filter, each request and answer checked against the endpoint's
// description; outcomes, ids and events are what the dispatcher did.
func TestDeliveriesContract(t *testing.T) {
	dir := specDir(t)
	var mu sync.Mutex
	var exchanges []procoretest.Exchange
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond, Attempts: 3},
		OnExchange: func(e procoretest.Exchange) {
			mu.Lock()
			exchanges = append(exchanges, e)
			mu.Unlock()
		}}, nil)
	// The first event: 500 then 200 (retried, then ok); the second: 500
	// three times (discarded).
	rcv := &statusReceiver{next: func(n int) int {
		if n == 1 || n >= 3 {
			return http.StatusInternalServerError
		}
		return 0
	}}
	hk := companyHook(t, c, rcv)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	_, err := srv.UIPutFile(docs, "a.txt", []byte("a"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	_, err = srv.UIPutFile(docs, "b.txt", []byte("b"))
	require.NoError(t, err)
	srv.WaitWebhooks()

	ctx := t.Context()
	sc := procore.WebhookScope{CompanyID: srv.CompanyID}
	all := collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{}))
	require.Len(t, all, 2)
	require.Equal(t, procore.DeliveryOK, all[0].Outcome)
	require.True(t, all[0].Delivered())
	require.Equal(t, procore.DeliveryDiscarded, all[1].Outcome)
	require.Equal(t, http.StatusInternalServerError, all[1].ResponseStatus)
	require.Less(t, all[0].ID, all[1].ID)
	for _, d := range all {
		require.NotEqual(t, d.ID, d.EventID, "a delivery has its own id")
		ev, err := d.ParseEvent()
		require.NoError(t, err)
		require.Equal(t, srv.CompanyID, ev.CompanyID)
		require.Equal(t, srv.ProjectID, ev.ProjectID)
		require.Equal(t, "Project Files", ev.ResourceName)
		require.False(t, ev.Timestamp.IsZero())
		require.False(t, d.StartedAt.IsZero())
	}
	log := srv.DeliveryLog()
	require.Len(t, log, 2)
	require.Equal(t, 2, log[0].Attempts)
	require.Equal(t, 3, log[1].Attempts)

	for _, tc := range []struct {
		status string
		want   []int64
	}{
		{procore.DeliveriesAny, []int64{all[0].ID, all[1].ID}},
		{procore.DeliveriesSuccessful, []int64{all[0].ID}},
		{procore.DeliveriesDiscarded, []int64{all[1].ID}},
		{procore.DeliveriesFailing, nil},
	} {
		var got []int64
		for _, d := range collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{Status: tc.status})) {
			got = append(got, d.ID)
		}
		require.Equal(t, tc.want, got, tc.status)
	}
	after := collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{After: all[0].ID, PageSize: 1}))
	require.Len(t, after, 1)
	require.Equal(t, all[1].ID, after[0].ID)

	mu.Lock()
	seen := validateExchanges(t, dir, exchanges)
	mu.Unlock()
	require.GreaterOrEqual(t, seen["RestV10WebhooksHooksHookIdDeliveriesGet"], 6)
}

// TestDeliveriesPaging: more than a page of deliveries is read in
// page_start order, one call per page (the last one short), and resumes
// after a cursor.
func TestDeliveriesPaging(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	hk := companyHook(t, c, &statusReceiver{next: func(int) int { return 0 }})
	const n = 250
	for i := range n {
		body := fmt.Sprintf(`{"id":%d,"ulid":"01J%023d","timestamp":"2026-12-05T10:00:00.000000Z","company_id":%d,"project_id":%d,"resource_name":"Project Files","resource_id":%d,"event_type":"update","api_version":"v2.0"}`,
			9000+i, i, srv.CompanyID, srv.ProjectID, i)
		require.Equal(t, 1, srv.DeliverRaw(srv.CompanyID, 0, []byte(body)))
	}
	srv.WaitWebhooks()
	ctx := t.Context()
	sc := procore.WebhookScope{CompanyID: srv.CompanyID}
	before := srv.CallCount("RestV10WebhooksHooksHookIdDeliveriesGet")
	all := collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{}))
	require.Len(t, all, n)
	require.Equal(t, 3, srv.CallCount("RestV10WebhooksHooksHookIdDeliveriesGet")-before, "100 + 100 + 50")
	for i := 1; i < n; i++ {
		require.Less(t, all[i-1].ID, all[i].ID)
	}
	rest := collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{After: all[199].ID}))
	require.Len(t, rest, 50)
	require.Equal(t, all[200].ID, rest[0].ID)
	// Exactly a page: one more (empty) call ends the listing.
	before = srv.CallCount("RestV10WebhooksHooksHookIdDeliveriesGet")
	require.Len(t, collect(t, c.Webhooks.Deliveries(ctx, sc, hk.ID, procore.DeliveriesOptions{After: all[149].ID})), 100)
	require.Equal(t, 2, srv.CallCount("RestV10WebhooksHooksHookIdDeliveriesGet")-before)
}

// TestDeliveriesOddAnswers: a page whose ids do not advance stops with a
// *PaginationError instead of looping; odd entries decode without a
// panic and say why their event cannot be read; the iterator obeys its
// context.
func TestDeliveriesOddAnswers(t *testing.T) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		items := make([]map[string]any, 2)
		for i := range items {
			items[i] = map[string]any{"id": 7, "event_id": 1, "outcome": "ok", "event": nil}
		}
		_ = json.NewEncoder(w).Encode(items)
	}))
	t.Cleanup(api.Close)
	c, err := procore.NewClient(procore.Options{BaseURL: api.URL, CompanyID: 5,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	require.NoError(t, err)
	var got int
	var last error
	for _, err := range c.Webhooks.Deliveries(t.Context(), procore.WebhookScope{CompanyID: 5}, 3, procore.DeliveriesOptions{PageSize: 2, After: 7}) {
		if err != nil {
			last = err
			break
		}
		got++
	}
	require.ErrorIs(t, last, procore.ErrPagination)
	require.Equal(t, 2, got)
	require.EqualValues(t, 1, calls.Load())

	_, err = collectErr(c.Webhooks.Deliveries(t.Context(), procore.WebhookScope{CompanyID: 5}, 0, procore.DeliveriesOptions{}))
	require.Error(t, err, "hook id 0")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = collectErr(c.Webhooks.Deliveries(ctx, procore.WebhookScope{CompanyID: 5}, 3, procore.DeliveriesOptions{}))
	require.ErrorIs(t, err, context.Canceled)

	for _, tc := range []struct {
		name, event string
		ok          bool
	}{
		{"null", `null`, false},
		{"missing", ``, false},
		{"not an object", `"x"`, false},
		{"no resource", `{"id":1}`, false},
		{"v2.0", `{"id":1,"resource_name":"Images","company_id":5,"project_id":8,"timestamp":"2026-12-05T10:00:00Z"}`, true},
		{"v4.0", `{"id":"1","resource_type":"Images","reason":"create","company_id":"5","project_id":"8"}`, true},
		{"huge id", `{"id":"` + strings.Repeat("9", 100) + `","resource_name":"Images"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := procore.Delivery{ID: 1, Event: json.RawMessage(tc.event)}
			_, err := d.ParseEvent()
			require.Equal(t, tc.ok, err == nil, err)
		})
	}
}

func collectErr(seq func(func(procore.Delivery, error) bool)) (int, error) {
	n := 0
	for _, err := range seq {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TestWebhookRetryDiscardAfter: with Procore's policy (backoff doubling
// up to Max, discarded once DiscardAfter passed) a failing destination
// gets several attempts, then the event is discarded; meanwhile the
// endpoint is paused, so a second event waits and is attempted only after
// the pause.
func TestWebhookRetryDiscardAfter(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1,
		WebhookRetry: procoretest.WebhookRetry{Base: 2 * time.Millisecond, Max: 8 * time.Millisecond, DiscardAfter: 60 * time.Millisecond}}, nil)
	var down atomic.Bool
	down.Store(true)
	rcv := &statusReceiver{next: func(int) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return 0
	}}
	hk := companyHook(t, c, rcv)
	_, err := srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "a.txt", []byte("a"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	log := srv.DeliveryLog()
	require.Len(t, log, 1)
	require.Equal(t, "discarded", log[0].Outcome)
	// Waits of 2, 4, 8, 8, … ms within 60 ms: several attempts (fewer on
	// a slow machine), never more than 60/2.
	require.GreaterOrEqual(t, log[0].Attempts, 3)
	require.LessOrEqual(t, log[0].Attempts, 30)
	require.Positive(t, srv.EndpointPauses())
	down.Store(false)
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "b.txt", []byte("b"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	ds := collect(t, c.Webhooks.Deliveries(t.Context(), procore.WebhookScope{CompanyID: srv.CompanyID}, hk.ID, procore.DeliveriesOptions{}))
	require.Len(t, ds, 2)
	require.Equal(t, procore.DeliveryDiscarded, ds[0].Outcome)
	require.Equal(t, procore.DeliveryOK, ds[1].Outcome)
	require.False(t, ds[0].CompletedAt.IsZero())
}

// TestWebhookRetryProcorePolicy plays Procore's documented policy on a
// manual clock: backoff from 1 s doubling up to 1 h, every delivery to
// the endpoint paused meanwhile, the event discarded once 12 hours of
// failures have passed. While it is retried the log lists it as failing.
func TestWebhookRetryProcorePolicy(t *testing.T) {
	clk := manualclock.New(time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC))
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1, Now: clk.Now, TokenLifetime: 48 * time.Hour,
		WebhookRetry: procoretest.WebhookRetry{Base: time.Second, Max: time.Hour, DiscardAfter: 12 * time.Hour, Clock: clk}}, nil)
	hk := companyHook(t, c, &statusReceiver{next: func(int) int { return http.StatusServiceUnavailable }})
	_, err := srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "a.txt", []byte("a"))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { srv.WaitWebhooks(); close(done) }()
	sc := procore.WebhookScope{CompanyID: srv.CompanyID}
	deadline := time.Now().Add(30 * time.Second)
	checkedFailing := false
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		require.True(t, time.Now().Before(deadline), "the dispatcher did not finish")
		if clk.Waiters() == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		if log := srv.DeliveryLog(); !checkedFailing && len(log) == 1 && log[0].Attempts == 5 {
			failing := collect(t, c.Webhooks.Deliveries(t.Context(), sc, hk.ID, procore.DeliveriesOptions{Status: procore.DeliveriesFailing}))
			require.Len(t, failing, 1)
			require.Equal(t, procore.DeliveryRetried, failing[0].Outcome)
			checkedFailing = true
		}
		next, _ := clk.Next()
		clk.Set(next)
	}
	require.True(t, checkedFailing)
	log := srv.DeliveryLog()
	require.Len(t, log, 1)
	require.Equal(t, "discarded", log[0].Outcome)
	// Attempts at 0, 1, 3, 7, … 4095 s (waits 1 s … 2048 s), then hourly;
	// the 23rd at 40,095 s is the last one before 12 hours.
	require.Equal(t, 23, log[0].Attempts)
	require.Equal(t, 40095*time.Second, log[0].Done.Sub(log[0].Started))
	require.Equal(t, 23, srv.EndpointPauses())
	ds := collect(t, c.Webhooks.Deliveries(t.Context(), sc, hk.ID, procore.DeliveriesOptions{Status: procore.DeliveriesDiscarded}))
	require.Len(t, ds, 1)
	require.Equal(t, 40095*time.Second, ds[0].CompletedAt.Sub(ds[0].StartedAt.Time))
}

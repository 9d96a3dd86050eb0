package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/notify"
	"github.com/procoresync/procoresync/syncengine"
)

type collect struct {
	mu      sync.Mutex
	batches []notify.Batch
	got     chan struct{}
}

func newCollect() *collect { return &collect{got: make(chan struct{}, 100)} }

func (c *collect) Send(_ context.Context, b notify.Batch) error {
	c.mu.Lock()
	c.batches = append(c.batches, b)
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

func (c *collect) all() []notify.Batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]notify.Batch(nil), c.batches...)
}

func ev(kind syncengine.EventKind, pair string, paths ...string) syncengine.Event {
	return syncengine.Event{Kind: kind, PairID: pair, PairName: pair, Paths: paths,
		Time: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
}

func TestBurstGivesOneBatch(t *testing.T) {
	c := newCollect()
	b := notify.NewBatcher(c, notify.BatcherOptions{Window: 50 * time.Millisecond})
	for i := range 30 {
		b.Notify(context.Background(), ev(syncengine.EventDrift, "p", fmt.Sprint(i)))
	}
	select {
	case <-c.got:
	case <-time.After(5 * time.Second):
		t.Fatal("the batch was never sent")
	}
	require.NoError(t, b.Close(context.Background()))
	got := c.all()
	require.Len(t, got, 1)
	assert.Len(t, got[0].Events, 30)
	assert.Equal(t, "0", got[0].Events[0].Paths[0], "events keep their order")
}

func TestGroupsAndMaxEvents(t *testing.T) {
	c := newCollect()
	b := notify.NewBatcher(c, notify.BatcherOptions{
		Window:    time.Hour, // only MaxEvents and Close send
		MaxEvents: 3,
		Group:     func(e syncengine.Event) string { return e.PairID },
		Keep:      func(e syncengine.Event) bool { return e.Kind != syncengine.EventRunIncomplete },
	})
	ctx := context.Background()
	for range 3 {
		b.Notify(ctx, ev(syncengine.EventDrift, "a"))
	}
	<-c.got // a's batch is full: sent without waiting for the window
	require.Len(t, c.all(), 1)
	b.Notify(ctx, ev(syncengine.EventDrift, "b"))
	b.Notify(ctx, ev(syncengine.EventRunIncomplete, "b")) // filtered out
	b.Notify(ctx, ev(syncengine.EventDrift, "c"))
	require.NoError(t, b.Flush(ctx))
	got := c.all()
	require.Len(t, got, 3)
	groups := map[string]int{}
	for _, g := range got {
		groups[g.Group] = len(g.Events)
	}
	assert.Equal(t, map[string]int{"a": 3, "b": 1, "c": 1}, groups)
	require.NoError(t, b.Close(ctx))
	b.Notify(ctx, ev(syncengine.EventDrift, "a"))
	assert.Equal(t, 1, b.Dropped(), "events after Close are dropped and counted")
	assert.ErrorIs(t, b.Flush(ctx), notify.ErrClosed)
}

func TestMaxPendingBoundsMemory(t *testing.T) {
	c := newCollect()
	b := notify.NewBatcher(c, notify.BatcherOptions{Window: time.Hour, MaxEvents: 1000, MaxPending: 5})
	for range 8 {
		b.Notify(context.Background(), ev(syncengine.EventDrift, "a"))
	}
	assert.Equal(t, 3, b.Dropped())
	require.NoError(t, b.Close(context.Background()))
	require.Len(t, c.all(), 1)
	assert.Len(t, c.all()[0].Events, 5)
}

func TestCloseCancelsSlowDelivery(t *testing.T) {
	started := make(chan struct{})
	s := notify.SenderFunc(func(ctx context.Context, _ notify.Batch) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	b := notify.NewBatcher(s, notify.BatcherOptions{Window: time.Millisecond})
	b.Notify(context.Background(), ev(syncengine.EventDrift, "a"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, b.Close(ctx), context.DeadlineExceeded)
}

func TestRenderSingleEvent(t *testing.T) {
	e := ev(syncengine.EventInitialSyncCompleted, "Tower 3 / Documents")
	e.Message = "Two way sync initiated for Tower 3 / Documents"
	m := notify.Render(notify.Batch{Events: []syncengine.Event{e}}, notify.RenderOptions{Integration: "Tower 3 → SharePoint"})
	assert.Equal(t, "[Tower 3 → SharePoint] Two way sync initiated for Tower 3 / Documents", m.Subject)
	assert.Contains(t, m.Text, "Initial sync completed")
	assert.Contains(t, m.Text, "When: 2026-12-05 09:00:00 UTC")
	assert.Contains(t, m.HTML, "<h3>Initial sync completed</h3>")
}

func TestRenderPathsAreBoundedAndSafe(t *testing.T) {
	paths := []string{"<script>alert(1)</script>.pdf", "evil\nSubject: x", "rtl\u202Efdp.exe", "Müller/Ø 12 rebar.pdf"}
	for i := range 100 {
		paths = append(paths, fmt.Sprintf("Drawings/A-%03d.pdf", i))
	}
	e := ev(syncengine.EventDeleteLimitReached, "Tower 3 / Documents", paths...)
	e.Message = "Delete limit of Tower 3 / Documents reached:\r\nBcc: everyone@example.com"
	m := notify.Render(notify.Batch{Events: []syncengine.Event{e}}, notify.RenderOptions{MaxPaths: 10})
	assert.NotContains(t, m.Subject, "\n")
	assert.NotContains(t, m.Subject, "\r")
	assert.Contains(t, m.Text, "Items (104):")
	assert.Contains(t, m.Text, "… and 94 more")
	assert.Contains(t, m.Text, `"evil\nSubject: x"`, "a line break in a name is shown escaped")
	assert.Contains(t, m.Text, `"rtl\u202efdp.exe"`, "direction overrides are shown escaped")
	assert.Contains(t, m.Text, "Müller/Ø 12 rebar.pdf")
	assert.NotContains(t, m.HTML, "<script>")
	assert.Contains(t, m.HTML, "&lt;script&gt;")
	assert.Equal(t, 10, strings.Count(m.HTML, "<li><code>"))
}

func TestRenderSeveralEvents(t *testing.T) {
	a := ev(syncengine.EventRunFailed, "Tower 3 / Photos")
	a.Message = "Sync of Tower 3 / Photos failed"
	a.Err = "procore: 401 Unauthorized"
	b := ev(syncengine.EventItemsQuarantined, "Tower 3 / Documents", "a.pdf")
	name := strings.Repeat("x", 100)
	m := notify.Render(notify.Batch{Events: []syncengine.Event{a, b}}, notify.RenderOptions{Integration: name})
	assert.True(t, strings.HasPrefix(m.Subject, "["+strings.Repeat("x", notify.MaxIntegrationName-1)+"…] 2 sync notifications: Sync of Tower 3 / Photos failed, and 1 more"), m.Subject)
	assert.Contains(t, m.Text, "Error: procore: 401 Unauthorized")
	assert.Contains(t, m.Text, "Items quarantined")
}

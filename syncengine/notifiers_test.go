package syncengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/syncengine"
)

var evTime = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

func TestSlogNotifier(t *testing.T) {
	tests := []struct {
		name  string
		ev    syncengine.Event
		level slog.Level // minimum level of the logger
		want  map[string]any
	}{
		{
			name: "initial sync",
			ev: syncengine.Event{Kind: syncengine.EventInitialSyncCompleted, PairID: "p1", PairName: "Tower A documents",
				Time: evTime, Message: "Two way sync initiated for project Tower A"},
			want: map[string]any{
				"time": "2026-11-22T10:30:00Z", "level": "INFO", "msg": "Two way sync initiated for project Tower A",
				"kind": "initial_sync_completed", "pair": map[string]any{"id": "p1", "name": "Tower A documents"},
			},
		},
		{
			name: "delete limit with many paths",
			ev: syncengine.Event{Kind: syncengine.EventDeleteLimitReached, PairID: "p2", Time: evTime, Message: "7 deletions held",
				Paths: []string{"a", "b", "c", "d", "e", "f", "g"}},
			want: map[string]any{
				"time": "2026-11-22T10:30:00Z", "level": "WARN", "msg": "7 deletions held",
				"kind": "delete_limit_reached", "pair": map[string]any{"id": "p2"},
				"path_count": 7.0, "paths": []any{"a", "b", "c", "d", "e"},
			},
		},
		{
			name: "a sample of many paths",
			ev: syncengine.Event{Kind: syncengine.EventDeleteLimitReached, PairID: "p2", Time: evTime, Message: "975 deletions held",
				Count: 975, Paths: []string{"a", "b", "c", "d", "e", "f", "g"}},
			want: map[string]any{
				"time": "2026-11-22T10:30:00Z", "level": "WARN", "msg": "975 deletions held",
				"kind": "delete_limit_reached", "pair": map[string]any{"id": "p2"},
				"path_count": 975.0, "paths": []any{"a", "b", "c", "d", "e"},
			},
		},
		{
			name: "run failed without message",
			ev:   syncengine.Event{Kind: syncengine.EventRunFailed, PairName: "Box", Time: evTime, Err: "box: 503", Paths: []string{"x"}},
			want: map[string]any{
				"time": "2026-11-22T10:30:00Z", "level": "ERROR", "msg": "run_failed",
				"kind": "run_failed", "pair": map[string]any{"name": "Box"},
				"path_count": 1.0, "paths": []any{"x"}, "err": "box: 503",
			},
		},
		{
			name:  "filtered by level",
			ev:    syncengine.Event{Kind: syncengine.EventDrift, Time: evTime},
			level: slog.LevelError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			n := syncengine.NewSlogNotifier(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tt.level})))
			n.Notify(context.Background(), tt.ev)
			if tt.want == nil {
				require.Zero(t, buf.Len())
				return
			}
			var got map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &got), buf.String())
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSlogNotifierDefaults(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	syncengine.NewSlogNotifier(nil).Notify(context.Background(), syncengine.Event{Kind: syncengine.EventPairPaused, Message: "root renamed"})
	require.Contains(t, buf.String(), "level=WARN")
	require.Contains(t, buf.String(), `msg="root renamed" kind=pair_paused`)
	require.NotContains(t, buf.String(), "time=0001")
}

func TestFanout(t *testing.T) {
	tests := []struct {
		name      string
		notifiers int
		withNil   bool
	}{
		{"none", 0, false},
		{"one", 1, false},
		{"three and nils", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var order []string
			var ns []syncengine.Notifier
			recs := make([]*syncengine.Recorder, tt.notifiers)
			for i := range tt.notifiers {
				recs[i] = &syncengine.Recorder{}
				ns = append(ns, syncengine.NotifierFunc(func(ctx context.Context, ev syncengine.Event) {
					order = append(order, fmt.Sprint(i))
					ev.Paths[0] = "mutated" // must not reach the others
					recs[i].Notify(ctx, ev)
				}))
				if tt.withNil {
					ns = append(ns, nil)
				}
			}
			f := syncengine.Fanout(ns...)
			ev := syncengine.Event{Kind: syncengine.EventDrift, PairID: "p", Paths: []string{"a/b.pdf"}}
			f.Notify(context.Background(), ev)
			require.Equal(t, "a/b.pdf", ev.Paths[0])
			for i, r := range recs {
				require.Equal(t, []syncengine.Event{{Kind: syncengine.EventDrift, PairID: "p", Paths: []string{"mutated"}}}, r.Events(), "notifier %d", i)
			}
			var want []string
			for i := range tt.notifiers {
				want = append(want, fmt.Sprint(i))
			}
			require.Equal(t, want, order)
		})
	}
}

func TestRecorder(t *testing.T) {
	var r syncengine.Recorder
	require.Empty(t, r.Events())
	evs := []syncengine.Event{
		{Kind: syncengine.EventInitialSyncCompleted, PairID: "a"},
		{Kind: syncengine.EventDeleteLimitReached, PairID: "a", Paths: []string{"x", "y"}},
		{Kind: syncengine.EventInitialSyncCompleted, PairID: "b"},
	}
	for _, ev := range evs {
		r.Notify(context.Background(), ev)
	}
	evs[1].Paths[0] = "changed by the caller"

	tests := []struct {
		kind syncengine.EventKind
		want []string // pair IDs
	}{
		{syncengine.EventInitialSyncCompleted, []string{"a", "b"}},
		{syncengine.EventDeleteLimitReached, []string{"a"}},
		{syncengine.EventRunFailed, nil},
	}
	for _, tt := range tests {
		var got []string
		for _, ev := range r.OfKind(tt.kind) {
			require.Equal(t, tt.kind, ev.Kind)
			got = append(got, ev.PairID)
		}
		require.Equal(t, tt.want, got, tt.kind)
	}
	all := r.Events()
	require.Len(t, all, 3)
	require.Equal(t, 3, r.Len())
	require.Equal(t, []string{"x", "y"}, all[1].Paths)
	all[1].Paths[0] = "changed by a reader"
	require.Equal(t, []string{"x", "y"}, r.OfKind(syncengine.EventDeleteLimitReached)[0].Paths)

	require.Len(t, r.Reset(), 3)
	require.Zero(t, r.Len())
	require.Empty(t, r.Events())
}

func TestRecorderConcurrent(t *testing.T) {
	var r syncengine.Recorder
	n := syncengine.Fanout(&r, syncengine.NewSlogNotifier(slog.New(slog.DiscardHandler)))
	const goroutines, each = 8, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				n.Notify(context.Background(), syncengine.Event{Kind: syncengine.EventDrift, PairID: fmt.Sprint(g), Paths: []string{fmt.Sprint(i)}})
				_ = r.OfKind(syncengine.EventDrift)
			}
		})
	}
	wg.Wait()
	require.Equal(t, goroutines*each, r.Len())
	perPair := map[string]int{}
	for _, ev := range r.Events() {
		require.Equal(t, fmt.Sprint(perPair[ev.PairID]), ev.Paths[0], "per-goroutine order kept")
		perPair[ev.PairID]++
	}
	require.Len(t, perPair, goroutines)
}

var (
	_ syncengine.Notifier = (*syncengine.Recorder)(nil)
	_ syncengine.Limiter  = (*syncengine.RateLimiter)(nil)
)

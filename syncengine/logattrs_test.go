package syncengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
	"github.com/procoresync/procoresync/syncengine"
	"github.com/procoresync/procoresync/syncengine/sqlitestore"
)

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(l.b.Bytes()))
	for dec.More() {
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

// ctxLogging is a storage that logs from its calls with the context's
// log attributes, as a connector would.
type ctxLogging struct {
	storage.Storage
	log  *slog.Logger
	seen atomic.Int64 // run ID seen in the context of a List
}

func (c *ctxLogging) List(ctx context.Context) iter.Seq2[storage.Entry, error] {
	c.log.LogAttrs(ctx, slog.LevelInfo, "connector: listing", syncengine.LogAttrs(ctx)...)
	for _, a := range syncengine.LogAttrs(ctx) {
		if a.Key == syncengine.LogKeyRun {
			c.seen.Store(a.Value.Int64())
		}
	}
	return c.Storage.List(ctx)
}

// TestRunLogRecordsCarryPairAndRun: every record logged during a run (the
// engine's own, the notifier's events, a failing upload's, and a
// connector's that uses LogAttrs) names the pair and the run, and keeps
// the attributes of the engine's logger (a cluster worker's ID).
func TestRunLogRecordsCarryPairAndRun(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})).With("worker", "w7")
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "s.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	eng, err := syncengine.New(syncengine.Options{Store: store, Logger: log})
	require.NoError(t, err)
	a, b := memory.New(), memory.New()
	for _, name := range []string{"Drawings/A-101.pdf", "Drawings/A-102.pdf", "Specs/03 30 00.pdf"} {
		_, err := a.WriteFile(name, []byte(name))
		require.NoError(t, err)
	}
	var puts atomic.Int32
	b.SetHook(func(op memory.Op) error {
		if op == memory.OpPut && puts.Add(1) == 1 {
			return errors.New("disk full") // the first upload fails
		}
		return nil
	})
	la := &ctxLogging{Storage: a, log: log}
	require.NoError(t, eng.AddPair(syncengine.Pair{ID: "tower-3/documents", Name: "Tower 3", A: la, B: b,
		Initial: syncengine.InitialStandard, Concurrency: 1}))
	run, err := eng.RunOnce(context.Background(), "tower-3/documents", syncengine.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, syncengine.RunPartial, run.Status)
	require.Equal(t, run.ID, la.seen.Load(), "the storages' context names the run")

	recs := buf.records(t)
	require.NotEmpty(t, recs)
	var warned, notified, connector bool
	for _, r := range recs {
		pair := r["pair"]
		if g, ok := pair.(map[string]any); ok { // the notifier's pair group
			pair = g["id"]
			notified = true
		}
		require.Equal(t, "tower-3/documents", pair, "record %v", r)
		require.EqualValues(t, run.ID, r["run"], "record %v", r)
		require.Equal(t, "w7", r["worker"], "record %v", r)
		warned = warned || r["level"] == "WARN"
		connector = connector || r["msg"] == "connector: listing"
	}
	require.True(t, warned, "the failed upload was logged")
	require.True(t, notified, "an event was logged")
	require.True(t, connector, "the connector's record was logged")
	require.Nil(t, syncengine.LogAttrs(context.Background()))
}

package syncengine

import (
	"context"
	"log/slog"
	"slices"
)

// Log attribute keys the engine puts on the records of a run.
const (
	LogKeyPair = "pair" // the pair's ID
	LogKeyRun  = "run"  // the run's ID in the store's run history
)

type logAttrsKey struct{}

// ContextWithLogAttrs returns ctx carrying attrs after those ctx already
// carries (LogAttrs returns them all). The engine adds the pair and run
// ID (LogKeyPair, LogKeyRun) to the context of each run, before it calls
// the storages; a host that runs the engine may add its own (a cluster
// worker adds "worker").
func ContextWithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	if len(attrs) == 0 {
		return ctx
	}
	prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return context.WithValue(ctx, logAttrsKey{}, append(slices.Clip(prev), attrs...))
}

// LogAttrs returns the log attributes ctx carries (nil: none): during a
// run, the pair and run ID, after those its caller added. Connectors and
// hooks that log from a storage call put them on their records so that
// every record of a run names it:
//
//	logger.LogAttrs(ctx, slog.LevelInfo, "uploaded", syncengine.LogAttrs(ctx)...)
func LogAttrs(ctx context.Context) []slog.Attr {
	attrs, _ := ctx.Value(logAttrsKey{}).([]slog.Attr)
	return slices.Clip(attrs)
}

// runLogAttr returns the run ID ctx carries (0: none).
func runLogAttr(ctx context.Context) int64 {
	for _, a := range slices.Backward(LogAttrs(ctx)) {
		if a.Key == LogKeyRun && a.Value.Kind() == slog.KindInt64 {
			return a.Value.Int64()
		}
	}
	return 0
}

package app

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve runs the long-running service until ctx is done: the engine's
// scheduler (interval fallback and wake-ups), and on ln the HTTP listener
// for Procore webhook deliveries and Graph change notifications, which are
// registered at publicURL ("" : http://<ln's address>). It shuts down
// gracefully: no new runs, running ones cancelled (their journals make the
// next start converge), in-flight requests drained.
func Serve(ctx context.Context, c *Config, ln net.Listener, logger *slog.Logger) error {
	s, err := New(ctx, c, Options{Logger: logger})
	if err != nil {
		return err
	}
	defer s.Close()
	h, n := s.Handler(c)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	public := c.PublicURL
	if public == "" {
		public = "http://" + ln.Addr().String()
	}
	subCtx, cancelSubs := context.WithCancel(ctx)
	defer cancelSubs()
	if err := s.Subscribe(subCtx, c, public, n); err != nil {
		// Without push notifications the interval still syncs.
		logger.Warn("notifications not set up; relying on the interval", "err", err)
	}
	logger.Info("procoresync serving", "listen", ln.Addr().String(), "public", public, "pairs", s.Pairs, "interval", c.Interval)
	runCtx, stopRuns := context.WithCancel(ctx)
	defer stopRuns()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Engine.Run(runCtx) }()
	select {
	case err = <-srvErr:
		logger.Error("listener failed", "err", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	stopRuns()
	shCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shCtx)
	if e := <-runErr; e != nil && !errors.Is(e, context.Canceled) {
		err = errors.Join(err, e)
	}
	logger.Info("stopped")
	return err
}

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/procoresync/procoresync/storage/msgraph"
)

// Serve runs the long-running service until ctx is done: the engine's
// scheduler (interval fallback and wake-ups), the projects.Manager's
// layout checks and Daily Log photo imports, and on ln the HTTP listener
// for Procore webhook deliveries and Graph change notifications, which are
// registered at c.PublicURL (when empty, none are registered and the
// interval syncs, except on the fakes: see defaultPublicURL).
// It refuses to start without the listener's secrets (see CheckService).
// The Graph subscription is kept alive (renewed, re-created when lost) for
// as long as the service runs and deleted when it stops. It shuts down
// gracefully: no new runs, running ones cancelled (their journals make the
// next start converge), the subscription deleted, in-flight requests
// drained.
func Serve(ctx context.Context, c *Config, ln net.Listener, logger *slog.Logger) error {
	if err := c.CheckService(); err != nil {
		return err
	}
	s, err := New(ctx, c, Options{Logger: logger})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Serve(ctx, c, ln, logger)
}

// Serve does what the package-level Serve does, on s (which the caller
// closes afterwards).
func (s *Sync) Serve(ctx context.Context, c *Config, ln net.Listener, logger *slog.Logger) error {
	h, n, err := s.Handler(c)
	if err != nil {
		return err
	}
	ln = LimitListener(ln, c.MaxConns)
	srv := newServer(h)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	public := c.PublicURL
	if public == "" {
		if u, ok := defaultPublicURL(c, ln.Addr()); ok {
			public = u
		}
	}
	subCtx, cancelSubs := context.WithCancel(ctx)
	defer cancelSubs()
	var kept <-chan struct{}
	if public == "" {
		ended := make(chan struct{})
		close(ended)
		kept = ended
		logger.Warn("no public URL (-public-url): webhooks and notifications not set up; relying on the interval")
	} else {
		var nerr error
		if kept, nerr = s.keepNotifications(subCtx, c, public, n, logger); nerr != nil && ctx.Err() == nil {
			// Without push notifications the interval still syncs.
			logger.Warn("notifications not set up; relying on the interval", "err", nerr)
		}
	}
	logger.Info("procoresync serving", "listen", ln.Addr().String(), "public", public, "pairs", s.Pairs, "interval", c.Interval)
	runCtx, stopRuns := context.WithCancel(ctx)
	defer stopRuns()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Engine.Run(runCtx) }()
	// The Manager checks the layout and imports the photos dropped into
	// the Daily Log after each of its runs.
	mgrDone := make(chan struct{})
	go func() { defer close(mgrDone); _ = s.Manager.Run(runCtx) }()
	select {
	case err = <-srvErr:
		logger.Error("listener failed", "err", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	stopRuns()
	cancelSubs()
	select {
	case <-kept: // the subscription is deleted (best effort)
	case <-time.After(subscriptionStopWait):
		logger.Warn("graph subscription not deleted in time; it expires on its own")
	}
	shCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shCtx)
	<-mgrDone
	if e := <-runErr; e != nil && !errors.Is(e, context.Canceled) {
		err = errors.Join(err, e)
	}
	logger.Info("stopped")
	return err
}

// subscriptionStopWait bounds how long a stopping service waits for the
// Graph subscription's delete (Graph may be failing or slow).
var subscriptionStopWait = 5 * time.Second

// keepNotifications registers the Procore hooks (project and company) and
// the target's push until ctx is done, delivering to publicURL: one Graph
// subscription on the target drive kept alive (a re-created subscription
// wakes the pairs too: changes made while it was lost sent no
// notification), Box webhooks v2 on the pairs' folders (deleted at the
// end), or Dropbox's webhook (set in the App Console); deliveries wake the
// engine's pairs. It returns once the first creation was tried,
// with a channel closed when the keep-alive has ended (and deleted the
// subscription). Neither the notification URL nor the client state is
// logged.
func (s *Sync) keepNotifications(ctx context.Context, c *Config, publicURL string, n *msgraph.Notifier, logger *slog.Logger) (<-chan struct{}, error) {
	ended := make(chan struct{})
	if err := s.registerHooks(ctx, c, publicURL); err != nil {
		close(ended)
		return ended, err
	}
	wakeAll := func() {
		for _, id := range s.Pairs {
			s.Engine.Wake(id)
		}
	}
	switch c.Target {
	case Box:
		if s.boxHooks == nil {
			// No signature keys: the Box storages long-poll the events
			// stream themselves (storage.Watcher).
			close(ended)
			logger.Info("box: no webhook signature keys; long-polling Box's events")
			return ended, nil
		}
		ch := s.boxHooks.Watch(ctx)
		go func() {
			for range ch {
				wakeAll()
			}
		}()
		return s.keepBoxWebhooks(ctx, publicURL, logger)
	case Dropbox:
		// Dropbox's webhook URI is set in the App Console, not by API; the
		// storages also long-poll list_folder/longpoll themselves.
		close(ended)
		ch, err := s.dropboxHook.Watch(ctx)
		if err != nil {
			return ended, err
		}
		go func() {
			for range ch {
				wakeAll()
			}
		}()
		logger.Info("dropbox: webhook notifications are taken at /dropbox/webhook of the public URL (set it as the app's webhook URI)")
		return ended, nil
	}
	type drive interface{ DriveID() string }
	d, ok := s.Targets[s.Pairs[0]].(drive)
	if !ok || s.Conn == nil || s.Conn.Graph == nil {
		close(ended)
		return ended, nil
	}
	// One subscription covers the drive: every pair on it is woken.
	ch, err := n.Watch(ctx)
	if err != nil {
		close(ended)
		return ended, err
	}
	go func() {
		for range ch {
			wakeAll()
		}
	}()
	first := make(chan error, 1) // the first creation's outcome
	report := func(err error) {
		select {
		case first <- err:
		default:
		}
	}
	spec := msgraph.SubscriptionSpec{
		Resource:        msgraph.DriveRootResource(d.DriveID()),
		NotificationURL: publicURL + "/graph/notify", ClientState: c.GraphClientState,
		OnEvent: func(e msgraph.SubscriptionEvent) {
			switch e.State {
			case msgraph.SubscriptionCreated:
				report(nil)
				if e.Recreated {
					wakeAll()
				}
				logger.Info("graph subscription", "subscription", e)
			case msgraph.SubscriptionRenewed, msgraph.SubscriptionDeleted:
				logger.Info("graph subscription", "subscription", e)
			case msgraph.SubscriptionFailing:
				report(nil) // retried; the interval covers the gap
				logger.Warn("graph subscription", "subscription", e)
			default:
				logger.Warn("graph subscription", "subscription", e)
			}
		},
	}
	go func() {
		defer close(ended)
		// It returns before ctx ends only when the first creation failed
		// for good (Serve logs that).
		if err := s.Conn.Graph.KeepSubscription(ctx, spec); err != nil && ctx.Err() == nil {
			report(fmt.Errorf("graph subscription: %w", err))
		}
	}()
	select {
	case err := <-first:
		return ended, err
	case <-ctx.Done():
		return ended, ctx.Err()
	}
}

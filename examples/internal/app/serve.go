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
// Every project shares one company-level Procore hook per company and,
// on SharePoint and OneDrive, one Graph subscription and one delta query
// (a shared feed) per drive. While those work, pairs are not polled every
// interval: a safety-net reconciliation sized from the Procore budget
// runs instead (see Config.ProcoreBudget).
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
	s, err := New(ctx, c, Options{Logger: logger, SharedFeeds: true})
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
		if s.feeds != nil {
			// No notifications: the drives' shared feeds poll every
			// interval, one delta query per drive.
			_, feeds := s.feeds.all()
			for _, f := range feeds {
				go func() { _ = f.Run(subCtx, nil) }()
			}
		}
		// Box's and Dropbox's long polls need no public URL.
		if _, err := s.runTargetFeed(subCtx, nil); err != nil {
			logger.Warn("the target's change feed does not run; relying on the interval", "err", err)
		}
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

// keepNotifications registers the Procore company hooks (one per company,
// registered again every hookRefresh) and the target's push until ctx is
// done, delivering to publicURL: one Graph subscription on the target
// drive kept alive, whose notifications make the drive's shared feed poll
// (one delta query, routed to the pairs whose folders changed; without
// shared feeds every pair on the drive is woken) and a re-created
// subscription polls it too (changes made while it was lost sent no
// notification); Box webhooks v2 on the pairs' folders (deleted at the
// end), or Dropbox's webhook (set in the App Console), whose deliveries
// wake the engine's pairs. It keeps s's health (see health). It returns
// once the first creation was tried,
// with a channel closed when the keep-alive has ended (and deleted the
// subscription). Neither the notification URL nor the client state is
// logged.
func (s *Sync) keepNotifications(ctx context.Context, c *Config, publicURL string, n *msgraph.Notifier, logger *slog.Logger) (<-chan struct{}, error) {
	ended := make(chan struct{})
	// The company hooks: a failure is retried every hookRefresh, the
	// pairs polled every interval meanwhile; the target's push is set up
	// regardless.
	if err := s.registerHooks(ctx, c, publicURL); err != nil {
		if ctx.Err() != nil {
			close(ended)
			return ended, err
		}
		logger.Warn("procore hooks not registered; polling every interval until they are", "err", err)
	} else {
		s.health.hooks.Store(true)
	}
	go s.keepHooks(ctx, c, publicURL)
	wakeAll := func() {
		for _, id := range s.Pairs {
			s.Engine.Wake(id)
		}
	}
	switch c.Target {
	case Box:
		if s.boxHooks == nil {
			// No signature keys: the shared feed long-polls Box's events
			// (without it, each Box storage does: storage.Watcher).
			close(ended)
			if _, err := s.runTargetFeed(ctx, nil); err != nil {
				return ended, err
			}
			s.health.target.Store(true)
			logger.Info("box: no webhook signature keys; long-polling Box's events")
			return ended, nil
		}
		ch := s.boxHooks.Watch(ctx)
		if fed, err := s.runTargetFeed(ctx, ch); err != nil {
			close(ended)
			return ended, err
		} else if !fed {
			go func() {
				for range ch {
					wakeAll()
				}
			}()
		}
		kept, err := s.keepBoxWebhooks(ctx, c, publicURL, logger)
		s.health.target.Store(err == nil)
		return kept, err
	case Dropbox:
		// Dropbox's webhook URI is set in the App Console, not by API; the
		// storages also long-poll list_folder/longpoll themselves.
		close(ended)
		ch, err := s.dropboxHook.Watch(ctx)
		if err != nil {
			return ended, err
		}
		if fed, err := s.runTargetFeed(ctx, ch); err != nil {
			return ended, err
		} else if !fed {
			go func() {
				for range ch {
					wakeAll()
				}
			}()
		}
		s.health.target.Store(true)
		logger.Info("dropbox: webhook notifications are taken at /dropbox/webhook of the public URL (set it as the app's webhook URI)")
		return ended, nil
	}
	type drive interface{ DriveID() string }
	d, ok := s.Targets[s.Pairs[0]].(drive)
	if !ok || s.Conn == nil || s.Conn.Graph == nil {
		close(ended)
		return ended, nil
	}
	// One subscription covers the drive. Its notifications make the
	// drive's shared feed poll (one delta query), which wakes the pairs
	// whose folders changed; without shared feeds, every pair is woken.
	poke := wakeAll
	if s.feeds != nil {
		_, feeds := s.feeds.all()
		for _, f := range feeds {
			ch, err := n.Watch(ctx)
			if err != nil {
				close(ended)
				return ended, err
			}
			go func() { _ = f.Run(ctx, ch) }()
		}
		poke = func() {
			for _, f := range feeds {
				go func() {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
					defer cancel()
					_ = f.Poll(pctx)
				}()
			}
		}
	} else {
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
	}
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
				s.health.target.Store(true)
				report(nil)
				if e.Recreated {
					poke()
				}
				logger.Info("graph subscription", "subscription", e)
			case msgraph.SubscriptionRenewed:
				s.health.target.Store(true)
				logger.Info("graph subscription", "subscription", e)
			case msgraph.SubscriptionDeleted:
				s.health.target.Store(false)
				logger.Info("graph subscription", "subscription", e)
			case msgraph.SubscriptionFailing:
				s.health.target.Store(false) // pairs are polled every interval meanwhile
				report(nil)                  // retried; the interval covers the gap
				logger.Warn("graph subscription", "subscription", e)
			default:
				s.health.target.Store(false)
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

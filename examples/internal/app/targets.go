package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/changefeed"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/dropbox"
)

// Targets are the -target values, in the order the usage lists them.
var Targets = []Target{SharePoint, OneDrive, Box, Dropbox}

// ParseTarget returns the target named s ("sharepoint", "onedrive", "box"
// or "dropbox", in any case).
func ParseTarget(s string) (Target, error) {
	for _, t := range Targets {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown target %q: want sharepoint, onedrive, box or dropbox", s)
}

// graph reports whether the target is a Microsoft Graph drive (the zero
// Target is SharePoint, as it always was).
func (t Target) graph() bool { return t == SharePoint || t == OneDrive || t == "" }

// targetFlag is the -target flag's value.
type targetFlag struct{ t *Target }

func (f targetFlag) String() string {
	if f.t == nil || *f.t == "" {
		return strings.ToLower(string(SharePoint))
	}
	return strings.ToLower(string(*f.t))
}

func (f targetFlag) Set(s string) error {
	t, err := ParseTarget(s)
	if err == nil {
		*f.t = t
	}
	return err
}

// targetFlags registers -target and the Box and Dropbox settings that are
// not secrets (s registers a string flag with its environment variable).
func targetFlags(fs *flag.FlagSet, c *Config, s func(p *string, name, env, def, usage string), getenv func(string) string) {
	if c.Target == "" {
		c.Target = SharePoint
	}
	if v := getenv("PROCORESYNC_TARGET"); v != "" {
		if t, err := ParseTarget(v); err == nil {
			c.Target = t
		}
	}
	fs.Var(targetFlag{&c.Target}, "target", "where to sync: sharepoint, onedrive, box or dropbox ($PROCORESYNC_TARGET)")
	s(&c.BoxClientID, "box-client-id", "BOX_CLIENT_ID", "", "Box app client ID (Client Credentials Grant)")
	s(&c.BoxEnterpriseID, "box-enterprise-id", "BOX_ENTERPRISE_ID", "", "Box enterprise ID: the app's service account acts (Client Credentials Grant)")
	s(&c.BoxUserID, "box-user-id", "BOX_USER_ID", "", "Box user ID: the app acts as this user (Client Credentials Grant with user access tokens)")
	hooks, _ := strconv.Atoi(getenv("BOX_WEBHOOK_BUDGET"))
	fs.IntVar(&c.BoxWebhookBudget, "box-webhook-budget", hooks, fmt.Sprintf("Box webhooks v2 set at most (0: %d; Box allows %d per app and user); beyond it, folders holding several pairs are watched instead ($BOX_WEBHOOK_BUDGET)", box.DefaultWebhookBudget, box.MaxWebhooks))
	s(&c.DropboxAppKey, "dropbox-app-key", "DROPBOX_APP_KEY", "", "Dropbox app key")
}

// targetSecretSources are the secrets of the Box and Dropbox targets.
func (c *Config) targetSecretSources() []secretSource {
	return []secretSource{
		{&c.BoxClientSecret, "BOX_CLIENT_SECRET", "box-client-secret-file", &c.BoxClientSecretFile},
		{&c.BoxDeveloperToken, "BOX_DEVELOPER_TOKEN", "box-developer-token-file", &c.BoxDeveloperTokenFile},
		{&c.BoxWebhookPrimaryKey, "BOX_WEBHOOK_PRIMARY_KEY", "box-webhook-primary-key-file", &c.BoxWebhookPrimaryKeyFile},
		{&c.BoxWebhookSecondaryKey, "BOX_WEBHOOK_SECONDARY_KEY", "box-webhook-secondary-key-file", &c.BoxWebhookSecondaryKeyFile},
		{&c.DropboxAppSecret, "DROPBOX_APP_SECRET", "dropbox-app-secret-file", &c.DropboxAppSecretFile},
		{&c.DropboxRefreshToken, "DROPBOX_REFRESH_TOKEN", "dropbox-refresh-token-file", &c.DropboxRefreshTokenFile},
	}
}

// targetConfigured reports whether c names credentials for its target.
func (c *Config) targetConfigured() bool {
	switch c.Target {
	case Box:
		return c.BoxDeveloperToken != "" || c.BoxClientID != ""
	case Dropbox:
		return c.DropboxAppKey != ""
	}
	return c.MSClientID != ""
}

// checkTargetSecrets reports what the target's credentials lack, by the
// variables or flags that set it.
func (c *Config) checkTargetSecrets() error {
	switch c.Target {
	case Box:
		if c.BoxDeveloperToken != "" {
			return nil
		}
		if c.BoxClientSecret == "" {
			return errors.New("no Box credentials: set $BOX_CLIENT_SECRET or -box-client-secret-file (with -box-client-id and -box-enterprise-id or -box-user-id), or $BOX_DEVELOPER_TOKEN")
		}
		if (c.BoxEnterpriseID == "") == (c.BoxUserID == "") {
			return errors.New("box: set one of -box-enterprise-id ($BOX_ENTERPRISE_ID) and -box-user-id ($BOX_USER_ID)")
		}
	case Dropbox:
		if c.DropboxAppSecret == "" {
			return errors.New("no Dropbox app secret: set $DROPBOX_APP_SECRET or -dropbox-app-secret-file")
		}
		if c.DropboxRefreshToken == "" {
			return errors.New("no Dropbox refresh token: set $DROPBOX_REFRESH_TOKEN or -dropbox-refresh-token-file (see examples/README.md)")
		}
	}
	return nil
}

// checkTargetHooks checks the Box webhook signature keys: both or none,
// and different.
func (c *Config) checkTargetHooks() error {
	if c.Target != Box {
		return nil
	}
	p, s := c.BoxWebhookPrimaryKey, c.BoxWebhookSecondaryKey
	if (p == "") != (s == "") {
		return errors.New("box webhooks: set both $BOX_WEBHOOK_PRIMARY_KEY and $BOX_WEBHOOK_SECONDARY_KEY (or their -…-file flags), or neither")
	}
	if p != "" && p == s {
		return errors.New("box webhooks: the primary and secondary signature keys are the same")
	}
	return nil
}

// targetBaseURL is the target's API base, to tell whether it is on a
// loopback host (the fakes).
func (c *Config) targetBaseURL() string {
	switch c.Target {
	case Box:
		return c.BoxAPIURL
	case Dropbox:
		return c.DropboxAPIURL
	}
	return c.MSGraphURL
}

// connectBox opens the Box client: a developer token when one is set
// (it lasts an hour: for trying things out), else the Client Credentials
// Grant for the enterprise's service account or for a user.
func connectBox(ctx context.Context, c *Config) (*box.Client, error) {
	var ts oauth2.TokenSource
	if c.BoxDeveloperToken != "" {
		ts = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: c.BoxDeveloperToken})
	} else {
		sub := box.Subject{Type: "enterprise", ID: c.BoxEnterpriseID}
		if c.BoxUserID != "" {
			sub = box.Subject{Type: "user", ID: c.BoxUserID}
		}
		ts = box.ClientCredentialsSource(box.Config{ClientID: c.BoxClientID, ClientSecret: c.BoxClientSecret, TokenURL: c.BoxTokenURL}, sub)
	}
	cl, err := box.NewClient(box.ClientOptions{BaseURL: c.BoxAPIURL, UploadURL: c.BoxUploadURL, TokenSource: ts, UserAgent: "procoresync-examples/0.1"})
	if err != nil {
		return nil, err
	}
	if _, err := cl.Me(ctx); err != nil {
		return nil, fmt.Errorf("box: %w", err)
	}
	return cl, nil
}

// connectDropbox opens the Dropbox client on the app's offline refresh
// token (short-lived access tokens are refreshed as they expire).
func connectDropbox(ctx context.Context, c *Config) (*dropbox.Client, error) {
	cfg := dropbox.Config{AppKey: c.DropboxAppKey, AppSecret: c.DropboxAppSecret}
	if c.DropboxTokenURL != "" {
		cfg.Endpoint = &oauth2.Endpoint{AuthURL: dropbox.Endpoint.AuthURL, TokenURL: c.DropboxTokenURL}
	}
	return dropbox.NewClient(dropbox.ClientOptions{
		TokenSource: cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: c.DropboxRefreshToken}),
		APIURL:      c.DropboxAPIURL, ContentURL: c.DropboxContentURL, NotifyURL: c.DropboxNotifyURL,
		UserAgent: "procoresync-examples/0.1",
	})
}

// openTargetAt opens the Box or Dropbox folder rel (from the account's
// root; "" is the root).
//
// With shared feeds (Options.SharedFeeds), the folders below the root read
// their changes from the account's one feed: Box's events stream
// (box.NewEventsFeed) or one recursive list_folder cursor on the root
// folder (dropbox.NewFolderFeed), run by Serve.
func openTargetAt(ctx context.Context, c *Config, conn *Conn, rel string) (storage.Storage, error) {
	if c.Target == Box {
		s, err := box.New(ctx, conn.Box, box.Options{RootPath: rel})
		if err != nil || conn.boxFeed == nil || rel == "" {
			return s, err
		}
		return s.WithFeed(conn.boxFeed), nil
	}
	s, err := dropbox.New(ctx, conn.Dropbox, dropbox.Options{RootPath: "/" + rel})
	if err != nil || conn.dropboxFeed == nil || rel == "" {
		return s, err
	}
	return s.WithFeed(conn.dropboxFeed), nil
}

// newTargetFeeds makes the shared feed of a Box or Dropbox target (Box: the
// events stream of the user the client acts for; Dropbox: the root folder
// c.Root), polled every interval without signals.
func (conn *Conn) newTargetFeeds(c *Config) {
	opts := changefeed.Options{PollInterval: c.Interval}
	switch c.Target {
	case Box:
		conn.boxFeed = box.NewEventsFeed(conn.Box, opts)
	case Dropbox:
		conn.dropboxFeed = dropbox.NewFolderFeed(conn.Dropbox, "/"+strings.Trim(c.Root, "/"), opts)
	}
}

// runTargetFeed runs the Box or Dropbox shared feed until ctx is done:
// polled on each value of signal (webhook deliveries; nil: none), and on
// Box's realtime long poll (Client.WatchEvents) when there is no signal,
// on Dropbox's list_folder/longpoll always. It reports whether a feed runs.
func (s *Sync) runTargetFeed(ctx context.Context, signal <-chan struct{}) (bool, error) {
	switch {
	case s.Conn == nil:
		return false, nil
	case s.Conn.boxFeed != nil:
		if signal == nil {
			ch, err := s.Conn.Box.WatchEvents(ctx)
			if err != nil {
				return false, err
			}
			signal = ch
		}
		go func() { _ = s.Conn.boxFeed.Run(ctx, signal) }()
		return true, nil
	case s.Conn.dropboxFeed != nil:
		f := s.Conn.dropboxFeed
		go func() { _ = f.Longpoll(ctx, 480) }()
		if signal != nil {
			go func() {
				for range signal {
					pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
					_ = f.Poll(pctx)
					cancel()
				}
			}()
		}
		return true, nil
	}
	return false, nil
}

// keepBoxWebhooks registers webhooks v2 delivering to
// publicURL/box/webhook so that every pair's Box folder lies in or below a
// watched folder, and deletes them when ctx ends. Box's webhooks cascade
// to subfolders, so box.WebhookFolders chooses the folders from the pair
// folders' path_collections: a pair inside another pair's folder needs no
// webhook, and beyond c.BoxWebhookBudget webhooks, common ancestors are
// watched instead (a delivery only wakes the events feed, which routes
// each change to its pair, so a broader folder costs wake-ups, not
// wrong syncs). Box allows one webhook per folder and app: one left by an
// earlier run (409) is kept; those an earlier run left on folders not
// chosen this time are deleted (pruneBoxWebhooks).
func (s *Sync) keepBoxWebhooks(ctx context.Context, c *Config, publicURL string, logger *slog.Logger) (<-chan struct{}, error) {
	ended := make(chan struct{})
	fail := func(err error) (<-chan struct{}, error) {
		close(ended)
		return ended, err
	}
	var folders []box.FolderPath
	for _, id := range s.Pairs {
		b, ok := s.Targets[id].(interface{ RootID() string })
		if !ok {
			continue
		}
		fp, err := s.Conn.Box.FolderPath(ctx, b.RootID())
		if err != nil {
			return fail(fmt.Errorf("box folder of %s: %w", id, err))
		}
		folders = append(folders, fp)
	}
	watch, err := box.WebhookFolders(folders, c.BoxWebhookBudget)
	if err != nil {
		return fail(fmt.Errorf("box webhooks: %w", err))
	}
	logger.Info("box webhooks", "folders", len(watch), "pairs", len(folders))
	address := publicURL + "/box/webhook"
	// Leftovers first: they count toward Box's limit of webhooks, which
	// the new ones must not hit.
	s.pruneBoxWebhooks(ctx, address, watch, logger)
	var ids []string
	for _, folder := range watch {
		h, err := s.Conn.Box.CreateWebhook(ctx, folder, address, box.TreeTriggers)
		var be *box.Error
		switch {
		case errors.As(err, &be) && be.StatusCode == 409:
			logger.Info("box webhook already registered", "folder", folder)
		case err != nil:
			// The ones set so far are not left behind.
			s.deleteBoxWebhooks(ids, logger)
			return fail(fmt.Errorf("box webhook on folder %s: %w", folder, err))
		default:
			ids = append(ids, h.ID)
		}
	}
	go func() {
		defer close(ended)
		<-ctx.Done()
		s.deleteBoxWebhooks(ids, logger)
	}()
	return ended, nil
}

// pruneBoxWebhooks deletes, best effort, the app's webhooks that deliver
// to address (this service's) on a folder not in watch: ones an earlier
// run left behind (it stopped without deleting them) when the pairs or
// the budget have changed since. They count toward Box's MaxWebhooks
// and would keep waking the service. Webhooks with other addresses are
// not this service's and are left alone. Box lists webhooks without
// their address (Webhook--Mini), so each one on a folder not watched is
// read (GET /webhooks/{id}) before it is deleted.
func (s *Sync) pruneBoxWebhooks(ctx context.Context, address string, watch []string, logger *slog.Logger) {
	chosen := make(map[string]bool, len(watch))
	for _, f := range watch {
		chosen[f] = true
	}
	var stale []box.Webhook
	for h, err := range s.Conn.Box.ListWebhooks(ctx) {
		if err != nil {
			logger.Warn("box webhooks not listed: those left by an earlier run stay", "err", err)
			break
		}
		if h.Target.Type == "folder" && !chosen[h.Target.ID] {
			stale = append(stale, h)
		}
	}
	deleted := 0
	for _, h := range stale {
		if h.Address == "" {
			full, err := s.Conn.Box.GetWebhook(ctx, h.ID)
			if err != nil {
				logger.Warn("box webhook not read", "webhook", h.ID, "folder", h.Target.ID, "err", err)
				continue
			}
			h.Address = full.Address
		}
		if h.Address != address {
			continue
		}
		if err := s.Conn.Box.DeleteWebhook(ctx, h.ID); err != nil {
			logger.Warn("box webhook left by an earlier run not deleted", "webhook", h.ID, "folder", h.Target.ID, "err", err)
			continue
		}
		deleted++
	}
	if deleted > 0 {
		logger.Info("box webhooks left by an earlier run deleted", "count", deleted)
	}
}

// deleteBoxWebhooks deletes the webhooks ids (within subscriptionStopWait).
func (s *Sync) deleteBoxWebhooks(ids []string, logger *slog.Logger) {
	del, cancel := context.WithTimeout(context.Background(), subscriptionStopWait)
	defer cancel()
	for _, id := range ids {
		if err := s.Conn.Box.DeleteWebhook(del, id); err != nil {
			logger.Warn("box webhook not deleted", "err", err)
		}
	}
}

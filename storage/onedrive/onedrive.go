// Package onedrive is a storage.Storage for a user's OneDrive (for Business
// or personal) through Microsoft Graph: /me/drive with delegated
// authentication, /users/{id}/drive with app-only authentication, or a
// drive by ID, rooted at any folder.
//
// It shares its Graph client with package sharepoint: create one Client
// per tenant (NewClient) and hand it to every Storage of that tenant, so
// that a throttled tenant pauses all of them.
//
// The Storage implements storage.ChangeFeed (drive delta, with the delta
// link as the cursor), storage.ResumableUploader (upload sessions whose URL
// and offset survive a restart), storage.RangeOpener, storage.Copier
// (server-side copy), storage.IDStater and storage.SubtreeLister. Delete
// and Move send the entry's Version as If-Match
// (Features.ConditionalDelete and ConditionalMove). A file written with a
// modification time goes through an upload session that carries it, so
// that each write is one version. Change
// notifications: serve a Notifier at a public URL, run KeepSubscription
// for as long as the service runs (it creates, renews and re-creates the
// subscription), and use WithNotifier to get a storage.Watcher.
//
// Test against the in-process fake in package graphtest.
package onedrive

import (
	"context"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/procoresync/procoresync/storage/internal/graph/quickxorhash"
	"golang.org/x/oauth2"
)

// Client is the Microsoft Graph drives client shared with package
// sharepoint.
type Client = graph.Client

// ClientOptions configure a Client: base URL (national clouds), token
// source, HTTP client, pacer and pace key, retries.
type ClientOptions = graph.Options

// Config is the former name of ClientOptions.
//
// Deprecated: use ClientOptions.
type Config = ClientOptions

// Cloud names a Microsoft cloud's login and Graph hosts.
type Cloud = graph.Cloud

// TokenStore persists a delegated token and its rotating refresh token.
type TokenStore = graph.TokenStore

// Notifier receives Graph change notifications (mount it at the
// subscription's notificationUrl).
type Notifier = graph.Notifier

// Subscription is a Graph change-notification subscription.
type Subscription = graph.Subscription

// SubscriptionSpec describes a subscription that KeepSubscription keeps
// alive.
type SubscriptionSpec = graph.SubscriptionSpec

// SubscriptionEvent reports a change of a kept subscription's state; it
// holds no secret and implements slog.LogValuer.
type SubscriptionEvent = graph.SubscriptionEvent

// SubscriptionState is what happened to a kept subscription.
type SubscriptionState = graph.SubscriptionState

// The states of a kept subscription (see graph's documentation of each in
// SubscriptionEvent): created (Recreated after a loss: run delta to catch
// up), renewed, lost (404 on renewal; re-created at once), failing
// (retried after RetryIn) and deleted (when the keep-alive ends).
const (
	SubscriptionCreated = graph.SubscriptionCreated
	SubscriptionRenewed = graph.SubscriptionRenewed
	SubscriptionLost    = graph.SubscriptionLost
	SubscriptionFailing = graph.SubscriptionFailing
	SubscriptionDeleted = graph.SubscriptionDeleted
)

// MaxSubscriptionLifetime is the longest expiration Graph accepts for a
// drive subscription (42,300 minutes).
const MaxSubscriptionLifetime = graph.MaxSubscriptionLifetime

// Error is a failed Graph call; it matches the storage error kinds.
type Error = graph.Error

// The Microsoft clouds.
var (
	Global  = graph.Global
	USGov   = graph.USGov
	Germany = graph.Germany
	China   = graph.China
)

// NewClient returns a Graph client.
func NewClient(opts ClientOptions) (*Client, error) { return graph.NewClient(opts) }

// DelegatedConfig returns the authorization-code configuration to sign a
// user in (offline_access is always asked for).
func DelegatedConfig(c Cloud, tenant, clientID, clientSecret, redirectURL string, scopes ...string) *oauth2.Config {
	return graph.DelegatedConfig(c, tenant, clientID, clientSecret, redirectURL, scopes...)
}

// DelegatedSource returns a token source that refreshes through cfg and
// saves every new token in store before using it.
func DelegatedSource(ctx context.Context, cfg *oauth2.Config, store TokenStore) (oauth2.TokenSource, error) {
	return graph.DelegatedSource(ctx, cfg, store)
}

// Exchange trades an authorization code for a token and saves it.
func Exchange(ctx context.Context, cfg *oauth2.Config, store TokenStore, code string) error {
	return graph.Exchange(ctx, cfg, store, code)
}

// AppOnlySource returns a client-credentials token source (scope
// {graph}/.default) for app-only service accounts.
func AppOnlySource(ctx context.Context, c Cloud, tenant, clientID, clientSecret string) oauth2.TokenSource {
	return graph.AppOnlySource(ctx, c, tenant, clientID, clientSecret)
}

// NewQuickXorHash returns a QuickXorHash, the hash OneDrive and SharePoint
// report (storage.HashQuickXor, base64 of Sum).
func NewQuickXorHash() hash.Hash { return quickxorhash.New() }

// Rules returns the OneDrive and SharePoint naming rules for a Storage
// rooted at the drive root.
func Rules() storage.NameRules { return graph.Rules(0) }

// Options choose the drive and the root folder.
type Options struct {
	// User, with app-only authentication, is the ID or principal name of
	// the user whose drive to use (/users/{User}/drive). Empty means the
	// signed-in user (/me/drive, delegated authentication).
	User string
	// DriveID, when set, names the drive directly.
	DriveID string
	// RootPath is the root folder's path below the drive root ("" for the
	// drive root). The folder must exist.
	RootPath string
	// RootID names the root folder by ID instead (it wins over RootPath).
	RootID string
}

// Storage is a OneDrive folder as a storage.Storage.
type Storage struct {
	*graph.FS
}

// New opens the Storage.
func New(ctx context.Context, c *Client, opt Options) (*Storage, error) {
	if c == nil {
		return nil, errors.New("onedrive: nil client")
	}
	driveID := opt.DriveID
	if driveID == "" {
		var d *graph.Drive
		var err error
		if opt.User != "" {
			d, err = c.UserDrive(ctx, opt.User)
		} else {
			d, err = c.MyDrive(ctx)
		}
		if err != nil {
			return nil, graph.Wrap("open", "", err)
		}
		driveID = d.ID
	}
	fs, err := OpenFolder(ctx, c, driveID, opt.RootID, opt.RootPath)
	if err != nil {
		return nil, err
	}
	return &Storage{FS: fs}, nil
}

// OpenFolder opens folder rootID (or the folder at rootPath, or the drive
// root when both are empty) of drive driveID. Package sharepoint uses it
// too.
func OpenFolder(ctx context.Context, c *Client, driveID, rootID, rootPath string) (*graph.FS, error) {
	if rootID == "" && strings.Trim(rootPath, "/") != "" {
		root, err := c.GetRoot(ctx, driveID)
		if err != nil {
			return nil, graph.Wrap("open", "", err)
		}
		it, err := c.GetByPath(ctx, driveID, root.ID, strings.Trim(rootPath, "/"))
		if err != nil {
			return nil, graph.Wrap("open", rootPath, err)
		}
		rootID = it.ID
	}
	return graph.NewFS(ctx, c, driveID, rootID)
}

// Subscribe creates a change-notification subscription on the drive's
// root (Graph's only supported resource for Business drives), after
// Graph's validation handshake with the Notifier at notificationURL.
// Renew it with Client().RenewSubscription before it expires (at most
// 42,300 minutes), or let KeepSubscription do all of that.
func (s *Storage) Subscribe(ctx context.Context, notificationURL, clientState string, expires time.Time) (*Subscription, error) {
	return s.Client().Subscribe(ctx, "/drives/"+s.DriveID()+"/root", notificationURL, clientState, expires)
}

// KeepSubscription keeps a change-notification subscription on the drive's
// root (spec.Resource, when empty) alive until ctx is done: it creates it,
// renews it at two thirds of its lifetime, re-creates it when the service
// lost it, retries failures with back-off, and deletes it when ctx ends,
// returning ctx's error. It returns early only when the first creation
// fails for good (e.g. the Notifier at spec.NotificationURL is not
// reachable). Run it on its own goroutine; spec.OnEvent hears what
// happens. See Client.KeepSubscription.
func (s *Storage) KeepSubscription(ctx context.Context, spec SubscriptionSpec) error {
	if spec.Resource == "" {
		spec.Resource = "/drives/" + s.DriveID() + "/root"
	}
	return s.Client().KeepSubscription(ctx, spec)
}

// Watched is a Storage that is also a storage.Watcher, woken by a
// Notifier's change notifications.
type Watched struct {
	*Storage
	n *Notifier
}

// WithNotifier returns s as a storage.Watcher woken by n.
func (s *Storage) WithNotifier(n *Notifier) *Watched { return &Watched{Storage: s, n: n} }

// Watch implements storage.Watcher.
func (w *Watched) Watch(ctx context.Context) (<-chan struct{}, error) { return w.n.Watch(ctx) }

var (
	_ storage.Storage           = (*Storage)(nil)
	_ storage.ChangeFeed        = (*Storage)(nil)
	_ storage.ResumableUploader = (*Storage)(nil)
	_ storage.RangeOpener       = (*Storage)(nil)
	_ storage.Copier            = (*Storage)(nil)
	_ storage.IDStater          = (*Storage)(nil)
	_ storage.SubtreeLister     = (*Storage)(nil)
	_ storage.Watcher           = (*Watched)(nil)
)

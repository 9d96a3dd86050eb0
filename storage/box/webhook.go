package box

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/internal/wake"
)

// CreateWebhook registers a webhook v2 on a folder (POST /webhooks).
func (c *Client) CreateWebhook(ctx context.Context, folderID, address string, triggers []string) (Webhook, error) {
	var w Webhook
	_, err := c.doJSON(ctx, request{method: http.MethodPost, url: c.apiURL("/webhooks", nil), body: map[string]any{
		"target": map[string]string{"id": folderID, "type": "folder"}, "address": address, "triggers": triggers}}, &w)
	return w, err
}

// GetWebhook returns webhook id in full, with its address and triggers
// (GET /webhooks/{id}).
func (c *Client) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	var w Webhook
	_, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL("/webhooks/"+url.PathEscape(id), nil)}, &w)
	return w, err
}

// maxWebhookPages bounds one webhook listing: Box keeps at most
// MaxWebhooks per application and user, 1000 a page.
const maxWebhookPages = 1000

// ListWebhooks yields the webhooks v2 of the application and the
// authenticated user, following next_marker (GET
// /webhooks?limit=1000). Box lists them as Webhook--Mini: ID and Target
// only, Address and Triggers are empty (GetWebhook has them).
func (c *Client) ListWebhooks(ctx context.Context) iter.Seq2[Webhook, error] {
	return markerPages[Webhook](ctx, c, "/webhooks", url.Values{}, maxWebhookPages)
}

// DeleteWebhook removes a webhook (DELETE /webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: c.apiURL("/webhooks/"+url.PathEscape(id), nil)})
	return err
}

// TreeTriggers are the webhook triggers that change a folder's tree.
var TreeTriggers = []string{"FILE.UPLOADED", "FILE.TRASHED", "FILE.DELETED", "FILE.RESTORED", "FILE.COPIED", "FILE.MOVED", "FILE.RENAMED",
	"FOLDER.CREATED", "FOLDER.RENAMED", "FOLDER.RESTORED", "FOLDER.DELETED", "FOLDER.COPIED", "FOLDER.MOVED", "FOLDER.TRASHED"}

// ErrBadSignature is a webhook delivery whose signature or timestamp does
// not verify.
var ErrBadSignature = errors.New("box: webhook signature does not verify")

// maxSkew is how old a delivery's BOX-DELIVERY-TIMESTAMP may be.
const maxSkew = 10 * time.Minute

// VerifyWebhook checks a webhook v2 delivery as Box documents: the
// BOX-DELIVERY-TIMESTAMP at most 10 minutes old, and
// base64(HMAC-SHA256(key, body || timestamp)) equal to
// BOX-SIGNATURE-PRIMARY under the primary key or BOX-SIGNATURE-SECONDARY
// under the secondary key (either may be empty, not both).
func VerifyWebhook(primary, secondary string, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("BOX-DELIVERY-TIMESTAMP")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil || now.Sub(t) > maxSkew || t.Sub(now) > maxSkew {
		return ErrBadSignature
	}
	for _, k := range []struct{ key, header string }{{primary, "BOX-SIGNATURE-PRIMARY"}, {secondary, "BOX-SIGNATURE-SECONDARY"}} {
		sig := h.Get(k.header)
		if k.key == "" || sig == "" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		m := hmac.New(sha256.New, []byte(k.key))
		m.Write(body)
		m.Write([]byte(ts))
		if hmac.Equal(got, m.Sum(nil)) {
			return nil
		}
	}
	return ErrBadSignature
}

// WebhookReceiver is the http.Handler of a webhook v2 address: it
// verifies each delivery's signature and wakes its watchers. Box retries
// a delivery that is not answered 2xx within 30 s.
type WebhookReceiver struct {
	// PrimaryKey and SecondaryKey are the app's signature keys.
	PrimaryKey, SecondaryKey string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MaxBody bounds a delivery's body (default 1 MiB).
	MaxBody int64

	b wake.Broadcaster
}

// ServeHTTP answers 200 to a verified delivery and wakes the watchers;
// 401 to one that does not verify.
func (h *WebhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := httpclient.ReadBody(r.Body, limit)
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	if VerifyWebhook(h.PrimaryKey, h.SecondaryKey, r.Header, body, now()) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.b.Notify()
	w.WriteHeader(http.StatusOK)
}

// Watch returns a channel signalled after each verified delivery, closed
// when ctx is done.
func (h *WebhookReceiver) Watch(ctx context.Context) <-chan struct{} { return h.b.Watch(ctx) }

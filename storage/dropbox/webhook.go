package dropbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/internal/wake"
)

// Webhook receives Dropbox webhook notifications (mount it at the URI
// registered in the App Console). It answers the verification GET by
// echoing the challenge, and accepts a POST only when its
// X-Dropbox-Signature is the HMAC-SHA256 of the body keyed with the app
// secret; then it wakes every watcher. It is a storage.Watcher itself.
type Webhook struct {
	secret []byte
	b      wake.Broadcaster
}

// ErrNoAppSecret is the error of a Webhook without an app secret.
var ErrNoAppSecret = errors.New("dropbox: a webhook needs the app secret")

// NewWebhook returns a Webhook for the app secret.
func NewWebhook(appSecret string) (*Webhook, error) {
	if appSecret == "" {
		return nil, ErrNoAppSecret
	}
	return &Webhook{secret: []byte(appSecret)}, nil
}

// Sign returns the X-Dropbox-Signature of body for appSecret.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ServeHTTP answers the challenge or takes a notification.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		ch := r.URL.Query().Get("challenge")
		if ch == "" {
			http.Error(w, "missing challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = io.WriteString(w, ch)
	case http.MethodPost:
		body, err := httpclient.ReadBody(r.Body, 1<<20)
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		got, err := hex.DecodeString(r.Header.Get("X-Dropbox-Signature"))
		m := hmac.New(sha256.New, h.secret)
		m.Write(body)
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		h.b.Notify()
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// Watch returns a channel signalled after every verified notification.
func (h *Webhook) Watch(ctx context.Context) (<-chan struct{}, error) { return h.b.Watch(ctx), nil }

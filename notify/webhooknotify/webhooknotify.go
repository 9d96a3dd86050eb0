// Package webhooknotify delivers the engine's notifications to an HTTP
// endpoint as signed JSON: a burst of events gives one POST, retried with
// back-off (and Retry-After) until the receiver answers 2xx.
//
// Every delivery carries three headers:
//
//	X-Procoresync-Delivery:  the delivery ID, the same on every retry of one batch
//	X-Procoresync-Timestamp: Unix seconds when this attempt was signed
//	X-Procoresync-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the shared secret>
//
// A receiver checks them with Verify, which also refuses a timestamp outside
// its tolerance (a replayed delivery) and compares in constant time.
package webhooknotify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/notify"
	"github.com/procoresync/procoresync/syncengine"
)

// Header names of a delivery.
const (
	HeaderDelivery  = "X-Procoresync-Delivery"
	HeaderTimestamp = "X-Procoresync-Timestamp"
	HeaderSignature = "X-Procoresync-Signature"
)

// MinSecretLen is the shortest accepted secret, in bytes.
const MinSecretLen = 16

// Payload is the JSON body of a delivery.
type Payload struct {
	// ID identifies the delivery; retries repeat it, so a receiver can
	// drop duplicates.
	ID     string      `json:"id"`
	SentAt time.Time   `json:"sent_at"`
	Events []EventJSON `json:"events"`
}

// EventJSON is one syncengine.Event in a Payload.
type EventJSON struct {
	Kind     string    `json:"kind"`
	PairID   string    `json:"pair_id"`
	PairName string    `json:"pair_name,omitempty"`
	Time     time.Time `json:"time"`
	Message  string    `json:"message,omitempty"`
	// Paths are at most Options.MaxPaths of the event's paths; PathCount
	// is how many the event had.
	Paths     []string `json:"paths,omitempty"`
	PathCount int      `json:"path_count"`
	Error     string   `json:"error,omitempty"`
}

// Options configure a Notifier.
type Options struct {
	// URL receives the POSTs: https, or http to a loopback host only.
	URL string
	// Secret keys the HMAC signature (at least MinSecretLen bytes). It is
	// never sent, logged or put in an error.
	Secret []byte
	// HTTPClient sends the requests (default: a client on
	// httpclient.NewTransport with a 30 s timeout per attempt).
	HTTPClient *http.Client
	// RetryMax is how often one delivery is retried (default 6; negative:
	// never). RetryWaitMin and RetryWaitMax bound the back-off (defaults
	// 1 s and 5 minutes); a Retry-After answer is honoured up to
	// RetryWaitMax.
	RetryMax                   int
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxPaths bounds the paths listed per event (default 1,000).
	MaxPaths int
	// Kinds, when set, limits deliveries to these event kinds.
	Kinds []syncengine.EventKind
	// Window, MaxEvents and Timeout tune batching (see
	// notify.BatcherOptions); Timeout bounds one delivery with its retries.
	Window    time.Duration
	MaxEvents int
	Timeout   time.Duration
	// Logger receives deliveries that failed for good.
	Logger *slog.Logger
	// Now and Sleep are the clock (defaults time.Now and a context-aware
	// sleep); tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Notifier is a syncengine.Notifier that POSTs batches of events.
type Notifier struct {
	*notify.Batcher
	opts Options
	url  *url.URL
}

// ErrConfig marks an unusable configuration.
var ErrConfig = errors.New("webhooknotify: invalid configuration")

// Error is a delivery that failed for good.
type Error struct {
	// URL is the endpoint with its query and credentials removed.
	URL string
	// Status is the last HTTP status (0 when no answer came).
	Status int
	// Attempts is how many POSTs were made.
	Attempts int
	Err      error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("webhooknotify: POST %s: status %d after %d attempts", e.URL, e.Status, e.Attempts)
	}
	return fmt.Sprintf("webhooknotify: POST %s: %v after %d attempts", e.URL, e.Err, e.Attempts)
}

func (e *Error) Unwrap() error { return e.Err }

// New checks opts and returns a Notifier. Close it to deliver what is pending.
func New(opts Options) (*Notifier, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: URL is not an http(s) URL", ErrConfig)
	}
	if !httpclient.SecureOrigin(u) {
		return nil, fmt.Errorf("%w: %s: plain http is allowed only to a loopback host", ErrConfig, httpclient.RedactURL(opts.URL, false))
	}
	if len(opts.Secret) < MinSecretLen {
		return nil, fmt.Errorf("%w: the secret must have at least %d bytes", ErrConfig, MinSecretLen)
	}
	opts.Secret = bytes.Clone(opts.Secret)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: httpclient.NewTransport(), Timeout: 30 * time.Second}
	}
	if opts.RetryWaitMin <= 0 {
		opts.RetryWaitMin = time.Second
	}
	if opts.RetryWaitMax <= 0 {
		opts.RetryWaitMax = 5 * time.Minute
	}
	httpclient.RetryDefaults(&opts.RetryMax, &opts.RetryWaitMin, &opts.RetryWaitMax, &opts.Sleep, &opts.Now)
	if opts.MaxPaths <= 0 {
		opts.MaxPaths = 1000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Minute
	}
	n := &Notifier{opts: opts, url: u}
	kinds := opts.Kinds
	n.Batcher = notify.NewBatcher(notify.SenderFunc(n.Send), notify.BatcherOptions{
		Window: opts.Window, MaxEvents: opts.MaxEvents, Timeout: opts.Timeout, Logger: opts.Logger,
		Keep: func(ev syncengine.Event) bool {
			if len(kinds) == 0 {
				return true
			}
			for _, k := range kinds {
				if k == ev.Kind {
					return true
				}
			}
			return false
		},
	})
	return n, nil
}

// Payload builds the body of batch b's delivery.
func (n *Notifier) Payload(b notify.Batch) Payload {
	p := Payload{ID: newID(), SentAt: n.opts.Now().UTC(), Events: make([]EventJSON, 0, len(b.Events))}
	for _, ev := range b.Events {
		k := min(len(ev.Paths), n.opts.MaxPaths)
		p.Events = append(p.Events, EventJSON{
			Kind: string(ev.Kind), PairID: ev.PairID, PairName: ev.PairName, Time: ev.Time.UTC(),
			Message: ev.Message, Paths: ev.Paths[:k:k], PathCount: len(ev.Paths), Error: ev.Err,
		})
	}
	return p
}

// Send delivers batch b now, retrying until a 2xx answer, a permanent
// refusal (a 4xx other than 408 and 429), RetryMax retries or ctx's end.
// The Batcher calls it; it is exported for callers that batch themselves.
func (n *Notifier) Send(ctx context.Context, b notify.Batch) error {
	p := n.Payload(b)
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	fail := &Error{URL: httpclient.RedactURL(n.opts.URL, true)}
	for attempt := 0; ; attempt++ {
		fail.Attempts = attempt + 1
		status, retryAfter, err := n.post(ctx, p.ID, body)
		fail.Status, fail.Err = status, err
		switch {
		case err == nil && status >= 200 && status < 300:
			return nil
		case ctx.Err() != nil:
			fail.Err = ctx.Err()
			return fail
		case err == nil && !retryable(status):
			return fail
		case attempt >= n.opts.RetryMax:
			return fail
		}
		wait := httpclient.Jitter(httpclient.ExpBackoff(n.opts.RetryWaitMin, n.opts.RetryWaitMax, attempt))
		if retryAfter > 0 {
			wait = min(retryAfter, n.opts.RetryWaitMax)
		}
		if err := n.opts.Sleep(ctx, wait); err != nil {
			fail.Err = err
			return fail
		}
	}
}

func retryable(status int) bool {
	return status == http.StatusRequestTimeout || httpclient.RetryableStatus(status)
}

// post makes one signed attempt and returns the status and any Retry-After.
func (n *Notifier) post(ctx context.Context, id string, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.String(), bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	now := n.opts.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "procoresync-webhooknotify")
	req.Header.Set(HeaderDelivery, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(n.opts.Secret, now, body))
	resp, err := n.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, 0, httpclient.RedactError(err, true)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	d, _ := httpclient.RetryAfter(resp.Header, now)
	return resp.StatusCode, d, nil
}

// Sign returns the signature header value for body signed at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrSignature is a delivery whose signature or timestamp does not check.
var ErrSignature = errors.New("webhooknotify: invalid signature")

// Verify checks a delivery's headers against body, for a receiver: the
// signature must match under secret and the timestamp be within tolerance
// of now (default 5 minutes when tolerance is 0). It returns an error
// matching ErrSignature otherwise.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	sec, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: missing or malformed %s", ErrSignature, HeaderTimestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the %s tolerance", ErrSignature, tolerance)
	}
	got := h.Get(HeaderSignature)
	if !strings.HasPrefix(got, "v1=") || !hmac.Equal([]byte(got), []byte(Sign(secret, ts, body))) {
		return fmt.Errorf("%w: signature does not match", ErrSignature)
	}
	return nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Package mailnotify sends the engine's notifications by e-mail over SMTP:
// "Two way sync initiated for project X", the delete limit reached with the
// paths that were not deleted, a protected folder renamed or deleted (the
// pair paused), a pair failing, items quarantined. A burst of events gives
// one mail per recipient list, with a plain-text and an HTML part.
//
// Delivery uses github.com/wneessen/go-mail: STARTTLS is required by default
// (TLSStartTLS), implicit TLS (SMTPS, port 465) is available, and plain text
// is accepted only towards a loopback server.
package mailnotify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/notify"
	"github.com/procoresync/procoresync/syncengine"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode int

// TLS modes.
const (
	// TLSStartTLS connects in plain text and requires STARTTLS before
	// anything is sent (submission, port 587). The default.
	TLSStartTLS TLSMode = iota
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit
	// TLSNone sends in plain text. Allowed only towards a loopback host.
	TLSNone
)

// Options configure a Notifier.
type Options struct {
	// Host and Port address the SMTP server (Port default: 587, or 465
	// with TLSImplicit, 25 with TLSNone).
	Host string
	Port int
	// TLS is how the connection is protected (default TLSStartTLS).
	TLS TLSMode
	// TLSConfig overrides the TLS settings (e.g. RootCAs for a private
	// CA). ServerName defaults to Host.
	TLSConfig *tls.Config
	// Username and Password authenticate (SMTP AUTH PLAIN, or the best
	// mechanism the server offers when AuthAuto is set). No
	// authentication when Username is empty. The password never appears
	// in errors or logs.
	Username string
	Password string
	// From is the sender address ("procoresync <sync@example.com>").
	From string
	// To receives every event, unless Recipients is set.
	To []string
	// Recipients, when set, chooses the recipients of each event, e.g.
	// per integration or per project (by PairID). Events with no
	// recipient are not mailed.
	Recipients func(syncengine.Event) []string
	// Integration names the integration in subjects (at most 70 characters).
	Integration string
	// Kinds, when set, limits the mails to these event kinds.
	Kinds []syncengine.EventKind
	// Window, MaxEvents and Timeout tune batching (see notify.BatcherOptions;
	// defaults 30 s, 100 events, 2 minutes).
	Window    time.Duration
	MaxEvents int
	Timeout   time.Duration
	// Render tunes the messages (MaxPaths, Location). Integration above
	// wins over Render.Integration.
	Render notify.RenderOptions
	// Logger receives delivery failures (default slog.Default()).
	Logger *slog.Logger
	// Now stamps the Date header (default time.Now).
	Now func() time.Time
}

// Notifier is a syncengine.Notifier that mails batches of events.
type Notifier struct {
	*notify.Batcher
	opts Options
}

// Error is a mail that could not be sent.
type Error struct {
	// Recipients are the addresses the mail was for.
	Recipients []string
	// Err is the cause, with no credentials in it.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("mailnotify: sending to %s: %v", strings.Join(e.Recipients, ", "), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrConfig marks an unusable configuration.
var ErrConfig = errors.New("mailnotify: invalid configuration")

// New checks opts and returns a Notifier. Close it to send what is pending.
func New(opts Options) (*Notifier, error) {
	if opts.Host == "" {
		return nil, fmt.Errorf("%w: Host is empty", ErrConfig)
	}
	if opts.TLS == TLSNone && !httpclient.IsLoopback(opts.Host) {
		return nil, fmt.Errorf("%w: plain-text SMTP is allowed only towards a loopback host, not %q", ErrConfig, opts.Host)
	}
	if opts.TLS < TLSStartTLS || opts.TLS > TLSNone {
		return nil, fmt.Errorf("%w: unknown TLS mode %d", ErrConfig, opts.TLS)
	}
	if opts.Port == 0 {
		opts.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[opts.TLS]
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrConfig, opts.Port)
	}
	if err := mail.NewMsg().From(opts.From); err != nil {
		return nil, fmt.Errorf("%w: From %q is not an address", ErrConfig, opts.From)
	}
	if opts.Recipients == nil {
		if len(opts.To) == 0 {
			return nil, fmt.Errorf("%w: no recipients (To or Recipients)", ErrConfig)
		}
		to := slices.Clone(opts.To)
		opts.Recipients = func(syncengine.Event) []string { return to }
	}
	for _, a := range opts.To {
		if err := mail.NewMsg().To(a); err != nil {
			return nil, fmt.Errorf("%w: recipient %q is not an address", ErrConfig, a)
		}
	}
	if opts.Integration != "" {
		opts.Render.Integration = opts.Integration
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	n := &Notifier{opts: opts}
	kinds := slices.Clone(opts.Kinds)
	n.Batcher = notify.NewBatcher(notify.SenderFunc(n.Send), notify.BatcherOptions{
		Window:    opts.Window,
		MaxEvents: opts.MaxEvents,
		Timeout:   opts.Timeout,
		Logger:    opts.Logger,
		Group:     func(ev syncengine.Event) string { return groupKey(opts.Recipients(ev)) },
		Keep: func(ev syncengine.Event) bool {
			return len(kinds) == 0 || slices.Contains(kinds, ev.Kind)
		},
	})
	return n, nil
}

// groupKey is the recipient list as one key: sorted, without duplicates.
func groupKey(to []string) string {
	to = slices.Clone(to)
	for i, a := range to {
		to[i] = strings.TrimSpace(a)
	}
	slices.Sort(to)
	to = slices.Compact(to)
	to = slices.DeleteFunc(to, func(s string) bool { return s == "" })
	return strings.Join(to, "\n")
}

// Message builds the mail for batch b (exported for previews and tests).
func (n *Notifier) Message(b notify.Batch) (*mail.Msg, error) {
	to := strings.Split(b.Group, "\n")
	m := notify.Render(b, n.opts.Render)
	msg := mail.NewMsg()
	if err := msg.From(n.opts.From); err != nil {
		return nil, err
	}
	var bad []string
	for _, a := range to {
		if err := msg.AddTo(a); err != nil {
			bad = append(bad, a)
		}
	}
	if len(bad) == len(to) {
		return nil, &Error{Recipients: to, Err: errors.New("no valid recipient address")}
	}
	if len(bad) > 0 {
		n.opts.Logger.Warn("mail recipients skipped: not addresses", "recipients", bad)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(n.opts.Now())
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	return msg, nil
}

// Send mails batch b now, to the recipients its Group lists (one address
// per line). The Batcher calls it; it is exported for callers that batch
// events themselves.
func (n *Notifier) Send(ctx context.Context, b notify.Batch) error {
	if b.Group == "" {
		return nil // nobody receives these events
	}
	msg, err := n.Message(b)
	if err != nil {
		return err
	}
	c, err := n.client()
	if err != nil {
		return &Error{Recipients: strings.Split(b.Group, "\n"), Err: err}
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return &Error{Recipients: strings.Split(b.Group, "\n"), Err: n.scrub(err)}
	}
	return nil
}

// scrub removes the password from an error's text, should a server or
// library echo it.
func (n *Notifier) scrub(err error) error {
	if n.opts.Password == "" || !strings.Contains(err.Error(), n.opts.Password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), n.opts.Password, "REDACTED"))
}

func (n *Notifier) client() (*mail.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if n.opts.TLSConfig != nil {
		tc = n.opts.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = n.opts.Host
	}
	opts := []mail.Option{
		mail.WithPort(n.opts.Port),
		mail.WithTLSConfig(tc),
		mail.WithTimeout(30 * time.Second),
	}
	switch n.opts.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if n.opts.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain),
			mail.WithUsername(n.opts.Username), mail.WithPassword(n.opts.Password))
	}
	return mail.NewClient(n.opts.Host, opts...)
}

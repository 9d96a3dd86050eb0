package mailnotify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/notify/mailnotify"
	"github.com/procoresync/procoresync/syncengine"
)

// received is one mail as the server got it.
type received struct {
	from    string
	to      []string
	subject string
	text    string
	html    string
}

// sink is an in-process SMTP server (github.com/emersion/go-smtp) that
// requires authentication and records what it receives.
type sink struct {
	srv  *smtp.Server
	addr string
	pool *x509.CertPool

	mu    sync.Mutex
	mails []received
	got   chan struct{}
}

const user, pass = "sync@example.com", "s3cret-Passw0rd"

func newSink(t *testing.T, withTLS, implicit bool) *sink {
	t.Helper()
	s := &sink{got: make(chan struct{}, 100)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if withTLS {
		cert, pool := selfSigned(t)
		s.pool = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if implicit {
			l = tls.NewListener(l, s.srv.TLSConfig)
		}
	} else {
		s.srv.AllowInsecureAuth = true
	}
	s.addr = l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

func (s *sink) port(t *testing.T) int {
	_, p, err := net.SplitHostPort(s.addr)
	require.NoError(t, err)
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (s *sink) wait(t *testing.T, n int) []received {
	t.Helper()
	for range n {
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the SMTP server did not receive %d mails", n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

type session struct {
	s      *sink
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, u, p string) error {
		if u != user || p != pass {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	rec := received{from: ss.from, to: ss.to}
	rec.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			rec.text = string(b)
		case "text/html":
			rec.html = string(b)
		}
	}
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, rec)
	ss.s.mu.Unlock()
	ss.s.got <- struct{}{}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func event(kind syncengine.EventKind, pair, msg string, paths ...string) syncengine.Event {
	return syncengine.Event{Kind: kind, PairID: pair, PairName: pair, Message: msg, Paths: paths,
		Time: time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)}
}

func TestStartTLSAuthAndOneMailPerBurst(t *testing.T) {
	s := newSink(t, true, false)
	n, err := mailnotify.New(mailnotify.Options{
		Host: "127.0.0.1", Port: s.port(t), TLSConfig: &tls.Config{RootCAs: s.pool},
		Username: user, Password: pass,
		From: "procoresync <sync@example.com>", To: []string{"pm@example.com", "admin@example.com"},
		Integration: "Tower 3 → SharePoint",
		Window:      100 * time.Millisecond,
	})
	require.NoError(t, err)
	ctx := context.Background()
	n.Notify(ctx, event(syncengine.EventInitialSyncCompleted, "Tower 3 / Documents", "Two way sync initiated for Tower 3 / Documents"))
	n.Notify(ctx, event(syncengine.EventDeleteLimitReached, "Tower 3 / Documents",
		"Delete limit of Tower 3 / Documents reached: 3 deletions held for approval",
		"B:Procore/Tower 3/Documents/Specs/03 30 00.pdf", "B:Procore/Tower 3/Documents/Müller.dwg", "B:Procore/Tower 3/Documents/<b>x</b>.pdf"))
	mails := s.wait(t, 1)
	require.NoError(t, n.Close(ctx))
	require.Len(t, mails, 1, "a burst gives one mail")
	m := mails[0]
	assert.Equal(t, "sync@example.com", m.from)
	assert.ElementsMatch(t, []string{"pm@example.com", "admin@example.com"}, m.to)
	assert.Equal(t, "[Tower 3 → SharePoint] 2 sync notifications: Two way sync initiated for Tower 3 / Documents, and 1 more", m.subject)
	assert.Contains(t, m.text, "Delete limit reached: deletions held for approval")
	assert.Contains(t, m.text, "B:Procore/Tower 3/Documents/Müller.dwg")
	assert.Contains(t, m.html, "&lt;b&gt;x&lt;/b&gt;.pdf")
	assert.Contains(t, m.html, "Two way sync initiated for Tower 3 / Documents")
}

func TestRecipientsPerProject(t *testing.T) {
	s := newSink(t, true, true) // implicit TLS
	n, err := mailnotify.New(mailnotify.Options{
		Host: "127.0.0.1", Port: s.port(t), TLS: mailnotify.TLSImplicit, TLSConfig: &tls.Config{RootCAs: s.pool},
		Username: user, Password: pass, From: "sync@example.com",
		Recipients: func(ev syncengine.Event) []string {
			switch {
			case strings.HasPrefix(ev.PairID, "Tower 3"):
				return []string{"t3@example.com"}
			case strings.HasPrefix(ev.PairID, "Bridge"):
				return []string{"bridge@example.com", "bridge@example.com"}
			}
			return nil
		},
		Kinds:  []syncengine.EventKind{syncengine.EventPairPaused, syncengine.EventRunFailed},
		Window: time.Hour,
	})
	require.NoError(t, err)
	ctx := context.Background()
	n.Notify(ctx, event(syncengine.EventPairPaused, "Tower 3 / Documents", "Sync of Tower 3 / Documents paused: the protected folder Procore/Tower 3 was renamed or deleted"))
	n.Notify(ctx, event(syncengine.EventRunFailed, "Bridge / Photos", "Sync of Bridge / Photos failed"))
	n.Notify(ctx, event(syncengine.EventDrift, "Bridge / Photos", "not mailed: kind not chosen"))
	n.Notify(ctx, event(syncengine.EventRunFailed, "Other", "not mailed: no recipient"))
	require.NoError(t, n.Flush(ctx))
	mails := s.wait(t, 2)
	require.Len(t, mails, 2)
	by := map[string]received{}
	for _, m := range mails {
		by[strings.Join(m.to, ",")] = m
	}
	assert.Equal(t, "Sync of Tower 3 / Documents paused: the protected folder Procore/Tower 3 was renamed or deleted", by["t3@example.com"].subject)
	assert.Equal(t, "Sync of Bridge / Photos failed", by["bridge@example.com"].subject)
	require.NoError(t, n.Close(ctx))
}

func TestFailuresAreTypedAndKeepThePasswordOut(t *testing.T) {
	s := newSink(t, true, false)
	n, err := mailnotify.New(mailnotify.Options{
		Host: "127.0.0.1", Port: s.port(t), TLSConfig: &tls.Config{RootCAs: s.pool},
		Username: user, Password: "wrong-" + pass, From: "sync@example.com", To: []string{"pm@example.com"},
	})
	require.NoError(t, err)
	msg, err := n.Message(batchOf(event(syncengine.EventRunFailed, "p", "Sync of p failed")))
	require.NoError(t, err)
	assert.NotNil(t, msg)
	err = sendNow(t, n)
	var me *mailnotify.Error
	require.ErrorAs(t, err, &me)
	assert.Equal(t, []string{"pm@example.com"}, me.Recipients)
	assert.NotContains(t, err.Error(), pass)

	// A server without STARTTLS is refused under the default mode: nothing goes out in plain text.
	plain := newSink(t, false, false)
	n2, err := mailnotify.New(mailnotify.Options{Host: "127.0.0.1", Port: plain.port(t), Username: user, Password: pass,
		From: "sync@example.com", To: []string{"pm@example.com"}})
	require.NoError(t, err)
	err = sendNow(t, n2)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), pass)

	// TLSNone works towards loopback only.
	n3, err := mailnotify.New(mailnotify.Options{Host: "127.0.0.1", Port: plain.port(t), TLS: mailnotify.TLSNone,
		Username: user, Password: pass, From: "sync@example.com", To: []string{"pm@example.com"}})
	require.NoError(t, err)
	require.NoError(t, sendNow(t, n3))
	assert.Len(t, plain.wait(t, 1), 1)
}

func TestConfigErrors(t *testing.T) {
	for name, o := range map[string]mailnotify.Options{
		"no host":            {From: "a@example.com", To: []string{"b@example.com"}},
		"plain to a network": {Host: "smtp.example.com", TLS: mailnotify.TLSNone, From: "a@example.com", To: []string{"b@example.com"}},
		"bad from":           {Host: "smtp.example.com", From: "not an address", To: []string{"b@example.com"}},
		"no recipients":      {Host: "smtp.example.com", From: "a@example.com"},
		"bad recipient":      {Host: "smtp.example.com", From: "a@example.com", To: []string{"b@"}},
		"bad port":           {Host: "smtp.example.com", Port: 70000, From: "a@example.com", To: []string{"b@example.com"}},
	} {
		_, err := mailnotify.New(o)
		assert.ErrorIs(t, err, mailnotify.ErrConfig, name)
	}
}

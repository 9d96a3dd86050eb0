package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Secret lengths: long enough not to be guessed, short enough for Graph
// (clientState takes at most 128 characters).
const (
	minSecretLen = 16
	maxSecretLen = 128
)

// CheckService reports whether c can run a service's listener: both
// secrets set, different, and usable as a header value and a clientState;
// the public URL, when set, https (or http on a loopback host); a
// non-negative connection limit. Its errors name the setting, never a
// secret's value.
func (c *Config) CheckService() error {
	secrets := []struct{ value, env, flag, what string }{
		{c.ProcoreHookSecret, "PROCORESYNC_PROCORE_HOOK_SECRET", "procore-hook-secret-file", "the Procore webhook secret"},
	}
	if c.Target.graph() {
		secrets = append(secrets, struct{ value, env, flag, what string }{
			c.GraphClientState, "PROCORESYNC_GRAPH_CLIENT_STATE", "graph-client-state-file", "the Graph notification clientState"})
	}
	for _, s := range secrets {
		if err := checkSecret(s.value); err != nil {
			return fmt.Errorf("%s: %w: set $%s or -%s to a random string of %d to %d letters and digits (e.g. openssl rand -hex 24)",
				s.what, err, s.env, s.flag, minSecretLen, maxSecretLen)
		}
	}
	if c.Target.graph() && c.ProcoreHookSecret == c.GraphClientState {
		return errors.New("$PROCORESYNC_PROCORE_HOOK_SECRET and $PROCORESYNC_GRAPH_CLIENT_STATE are the same: use two different secrets")
	}
	if err := c.checkTargetHooks(); err != nil {
		return err
	}
	if c.Target == Dropbox && c.DropboxAppSecret == "" {
		return errors.New("the Dropbox webhook: no app secret: set $DROPBOX_APP_SECRET or -dropbox-app-secret-file")
	}
	if c.PublicURL != "" {
		if err := checkPublicURL(c.PublicURL); err != nil {
			return fmt.Errorf("-public-url ($PROCORESYNC_PUBLIC_URL): %w", err)
		}
	}
	if c.MaxConns < 0 {
		return errors.New("-max-conns: negative")
	}
	return nil
}

// checkClientSecrets reports a missing app client secret by the variable
// or flag that sets it.
func (c *Config) checkClientSecrets() error {
	srcs := c.secretSources()[:2] // the Procore and Microsoft apps' client secrets
	if !c.Target.graph() {
		srcs = srcs[:1]
	}
	for _, src := range srcs {
		if *src.value == "" {
			return fmt.Errorf("no client secret: set $%s or -%s", src.env, src.flag)
		}
	}
	return c.checkTargetSecrets()
}

// checkSecret checks one listener secret (without showing it).
func checkSecret(v string) error {
	switch {
	case v == "":
		return errors.New("not set")
	case len(v) < minSecretLen:
		return fmt.Errorf("shorter than %d characters", minSecretLen)
	case len(v) > maxSecretLen:
		return fmt.Errorf("longer than %d characters", maxSecretLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return errors.New("contains a space, a control or a non-ASCII character")
		}
	}
	return nil
}

// checkPublicURL accepts an https URL, or an http one whose host is a
// loopback address or "localhost" (tests, the fakes, a local proxy): the
// hook secret and the clientState travel in every delivery to it.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q: want https://host[:port][/path]", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: no user, query or fragment allowed", u.Redacted())
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q: must be https (http only on a loopback host)", raw)
	}
	return fmt.Errorf("%q: must be https", raw)
}

// isLoopback reports whether host is "localhost" or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// defaultPublicURL is the public URL when none is configured,
// http://<ln's address>, and whether it may be used: only when the
// listener is on a loopback address and so are Procore and the target
// (the fakes, tests); a real service would register an address the
// services cannot reach.
func defaultPublicURL(c *Config, addr net.Addr) (string, bool) {
	u := "http://" + addr.String()
	host, _, err := net.SplitHostPort(addr.String())
	return u, err == nil && isLoopback(host) && urlOnLoopback(c.ProcoreAPIURL) && urlOnLoopback(c.targetBaseURL())
}

// urlOnLoopback reports whether raw is a URL on a loopback host.
func urlOnLoopback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopback(u.Hostname())
}

// RandomSecrets sets the listener secrets that are empty to fresh random
// ones (the services do this on the fakes, where nobody else needs them).
func (c *Config) RandomSecrets() {
	for _, p := range []*string{&c.ProcoreHookSecret, &c.GraphClientState} {
		if *p == "" {
			*p = randomHex(24)
		}
	}
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Body limits per endpoint: a Procore delivery is one small JSON event, a
// Graph notification collection a batch of small ones, a Box delivery one
// event, a Dropbox notification a list of accounts.
const (
	maxProcoreBody = 64 << 10
	maxGraphBody   = 1 << 20
	maxBoxBody     = 64 << 10 // one webhook_event with the item's mini form
	maxDropboxBody = 64 << 10 // a list of account IDs
	maxOtherBody   = 1 << 10
	maxHeaderBytes = 32 << 10
)

// limitBody refuses a request whose declared body exceeds n bytes with 413
// and caps the body read by h to n bytes (a longer one fails its read).
func limitBody(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			w.Header().Set("Connection", "close")
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

// serverTimeouts bound each connection of the listener: a client that
// sends its headers or body slowly, reads the answer slowly, or keeps an
// idle connection open is cut off.
var serverTimeouts = struct {
	ReadHeader, Read, Write, Idle time.Duration
}{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}

// newServer is the service's http.Server for h, with timeouts.
func newServer(h http.Handler) *http.Server {
	t := serverTimeouts
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// limitListener accepts at most n connections at once; further clients
// wait in the kernel's backlog until one is closed.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// LimitListener returns ln accepting at most n open connections (n <= 0:
// DefaultMaxConns).
func LimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		n = DefaultMaxConns
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when closed (once).
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

package httpclient

import (
	"context"
	"net"
	"net/http"
	"time"
)

// The timeouts of NewTransport.
const (
	DialTimeout           = 30 * time.Second
	TLSHandshakeTimeout   = 10 * time.Second
	ResponseHeaderTimeout = 2 * time.Minute
	IdleConnTimeout       = 90 * time.Second
)

// NewTransport returns the default HTTP transport: the standard library's
// defaults (proxy from the environment, HTTP/2, pooling) with dial, TLS
// handshake, response-header and idle timeouts, so that no request waits
// forever on a stalled server, even one whose context has no deadline.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = TLSHandshakeTimeout
	t.ResponseHeaderTimeout = ResponseHeaderTimeout
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = IdleConnTimeout
	return t
}

// Sleep waits d or until ctx is done, whichever comes first; it returns
// ctx.Err() in the second case. It is the default of every client's
// injectable sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

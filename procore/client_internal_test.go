package procore

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// TestDefaultTransportHasTimeouts: a Client built without an HTTPClient
// uses a transport with dial, TLS handshake, response-header and idle
// timeouts, so a stalled server cannot hang a call without a deadline.
func TestDefaultTransportHasTimeouts(t *testing.T) {
	c, err := NewClient(Options{BaseURL: "https://api.example.test", CompanyID: 1,
		TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.raw.Transport.(*transport).base.(*http.Transport)
	if !ok {
		t.Fatalf("default transport is %T", c.raw.Transport.(*transport).base)
	}
	if tr.DialContext == nil || tr.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout ||
		tr.ResponseHeaderTimeout != DefaultResponseHeaderTimeout || tr.IdleConnTimeout != DefaultIdleConnTimeout {
		t.Fatalf("default transport lacks timeouts: tls %v, header %v, idle %v", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tr.IdleConnTimeout)
	}
	if tr == http.DefaultTransport {
		t.Fatal("the shared http.DefaultTransport is used")
	}
}

package httpclient

import (
	"context"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// SecureOrigin reports whether a bearer token may travel to u at all: over
// https, or over plain http only to a loopback address (a local test
// server).
func SecureOrigin(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host != ""
	case "http":
		return IsLoopback(u.Hostname())
	}
	return false
}

// IsLoopback reports whether host (a host name without port) is
// "localhost" or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// SameOrigin reports whether u has the scheme and host (with port) of
// base, compared without regard to case.
func SameOrigin(base, u *url.URL) bool {
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(u.Host, base.Host)
}

// PortRule says how a host list entry without a port matches.
type PortRule int

const (
	// DefaultPortOnly: an entry without a port matches only a URL
	// without an explicit port.
	DefaultPortOnly PortRule = iota
	// AnyPort: an entry without a port matches the host on any port.
	AnyPort
)

// HostListed reports whether host (as in URL.Host: name and optional
// port) is in list, whose entries are host or host:port, compared without
// regard to case. An entry with a port matches exactly; one without, as
// rule says.
func HostListed(list []string, host string, rule PortRule) bool {
	h := strings.ToLower(host)
	u := url.URL{Host: h}
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if e == h {
			return true
		}
		eu := url.URL{Host: e}
		if eu.Port() == "" && eu.Hostname() == u.Hostname() && (rule == AnyPort || u.Port() == "") {
			return true
		}
	}
	return false
}

// SubdomainOf reports whether host (as in URL.Host) is a subdomain of one
// of domains (e.g. "contoso.sharepoint.com" of "sharepoint.com"; never
// the domain itself) on the default port, compared without regard to
// case. It is how a client trusts a vendor's file hosts with its token.
func SubdomainOf(host string, domains ...string) bool {
	u := url.URL{Host: strings.ToLower(host)}
	if p := u.Port(); p != "" && p != "443" {
		return false
	}
	name := u.Hostname()
	for _, d := range domains {
		d = strings.Trim(strings.ToLower(d), ".")
		if d != "" && strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// HasQueryParam reports whether u carries any of the query parameters
// names, the mark of a pre-authenticated URL (Graph's tempauth, S3's
// X-Amz-Signature, Dropbox's and Box's signed links) that must never get
// an Authorization header.
func HasQueryParam(u *url.URL, names ...string) bool {
	q := u.Query()
	for _, n := range names {
		if q.Has(n) {
			return true
		}
	}
	return false
}

// ContextTokenSource is a token source whose fetch can be bounded by a
// context.
type ContextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// TokenFor gets a token from src, returning ctx's error when ctx is done
// even if src is still busy (src.Token has no context of its own).
func TokenFor(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	if cs, ok := src.(ContextTokenSource); ok {
		return cs.TokenContext(ctx)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		t   *oauth2.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		t, err := src.Token()
		ch <- result{t, err}
	}()
	select {
	case r := <-ch:
		return r.t, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

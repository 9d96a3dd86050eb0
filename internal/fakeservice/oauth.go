package fakeservice

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
)

// PKCEMatches reports whether verifier answers a PKCE challenge made with
// method "S256" (BASE64URL(SHA-256(verifier))) or "plain" (the verifier
// itself), as RFC 7636 §4.6 checks it, in constant time. An empty
// verifier never matches.
func PKCEMatches(method, challenge, verifier string) bool {
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return verifier != "" && subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// AuthorizeRedirect answers the form of an authorization page (RFC 6749
// §4.1.2): 302 to redirect with the code and the state, or, when code is
// "", with error=access_denied and the service's own description.
func AuthorizeRedirect(w http.ResponseWriter, redirect *url.URL, code, state, denial string) {
	q := redirect.Query()
	if code != "" {
		q.Set("code", code)
	} else {
		q.Set("error", "access_denied")
		q.Set("error_description", denial)
	}
	if state != "" {
		q.Set("state", state)
	}
	u := *redirect
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

package fakeservice

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// TokenState is what a fake knows of a presented token.
type TokenState int

// The token states.
const (
	TokenUnknown TokenState = iota // never issued, or revoked
	TokenExpired                   // issued, past its expiry on the fake's clock
	TokenValid
)

// Tokens are the access (or refresh) tokens a fake issued, with their
// expiry on the fake's clock. Create them with NewTokens; they are safe
// for concurrent use.
type Tokens struct {
	now func() time.Time
	mu  sync.Mutex
	exp map[string]time.Time
}

// NewTokens returns an empty token store on the clock now (default
// time.Now).
func NewTokens(now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{now: now, exp: map[string]time.Time{}}
}

// RandomToken returns prefix followed by n random bytes in hex.
func RandomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Issue returns a fresh token, prefix followed by random hex, valid for
// lifetime from now.
func (t *Tokens) Issue(prefix string, lifetime time.Duration) string {
	tok := RandomToken(prefix, 16)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exp[tok] = t.now().Add(lifetime)
	return tok
}

// Check returns the state of tok.
func (t *Tokens) Check(tok string) TokenState {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.exp[tok]
	switch {
	case !ok || tok == "":
		return TokenUnknown
	case !t.now().Before(exp):
		return TokenExpired
	}
	return TokenValid
}

// ExpireToken makes tok expire now, before the expiry it was issued
// with (as when the service shortens lifetimes or clocks disagree). It
// reports whether the token was known.
func (t *Tokens) ExpireToken(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.exp[tok]; !ok {
		return false
	}
	t.exp[tok] = time.Time{}
	return true
}

// ExpireTokens makes every token issued so far expired.
func (t *Tokens) ExpireTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.exp {
		t.exp[k] = time.Time{}
	}
}

// Revoke forgets tok, as a revocation does; it reports whether it was
// known.
func (t *Tokens) Revoke(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.exp)
	delete(t.exp, tok)
	return len(t.exp) < n
}

// Valid returns how many tokens are valid now.
func (t *Tokens) Valid() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, now := 0, t.now()
	for _, exp := range t.exp {
		if now.Before(exp) {
			n++
		}
	}
	return n
}

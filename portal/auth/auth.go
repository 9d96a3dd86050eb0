// Package auth is the portal's access control: accounts with roles, Argon2id
// password hashes, server-side sessions carried by a cookie, a per-session
// CSRF token and login rate limiting per account and per client address.
//
// An Authenticator ties them together; AccountStore and SessionStore are
// interfaces with in-memory implementations (NewMemoryAccounts,
// NewMemorySessions) so that a deployment can keep them in its database.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Role is what an account may do. Roles are ordered: an owner may do what
// an admin may, an admin what a viewer may.
type Role string

// Roles.
const (
	// RoleViewer sees dashboards, projects, runs, logs and the file
	// manager; it cannot approve, configure or export.
	RoleViewer Role = "viewer"
	// RoleAdmin also approves and rejects held deletions, releases
	// quarantined items, pauses and resumes, configures projects and
	// connections, runs dry runs and exports.
	RoleAdmin Role = "admin"
	// RoleOwner also manages accounts.
	RoleOwner Role = "owner"
)

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleViewer || r == RoleAdmin || r == RoleOwner }

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleAdmin:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// Typed errors.
var (
	// ErrBadCredentials: unknown account, wrong password or disabled
	// account (one error, so that the answer does not reveal which).
	ErrBadCredentials = errors.New("auth: wrong email or password")
	// ErrRateLimited: too many login attempts for the account or from the
	// client address; RateLimitError says when to retry.
	ErrRateLimited = errors.New("auth: too many login attempts")
	// ErrNoSession: the session is unknown, expired or revoked.
	ErrNoSession = errors.New("auth: not signed in")
	// ErrNoAccount: no account has that email.
	ErrNoAccount = errors.New("auth: no such account")
	// ErrAccountExists: an account already has that email.
	ErrAccountExists = errors.New("auth: account already exists")
	// ErrLastOwner: the change would leave no owner.
	ErrLastOwner = errors.New("auth: the last owner cannot be removed or demoted")
	// ErrPasswordTooShort and ErrPasswordTooLong: SetPassword's bounds.
	ErrPasswordTooShort = fmt.Errorf("auth: password shorter than %d characters", MinPasswordLength)
	ErrPasswordTooLong  = fmt.Errorf("auth: password longer than %d bytes", MaxPasswordLength)
	// ErrBadEmail: not an email address.
	ErrBadEmail = errors.New("auth: invalid email address")
	// ErrBadRole: not one of the roles.
	ErrBadRole = errors.New("auth: invalid role")
	// ErrBadCSRF: the request's CSRF token is missing or wrong.
	ErrBadCSRF = errors.New("auth: missing or invalid CSRF token")
)

// RateLimitError is ErrRateLimited with the wait before the next attempt.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("auth: too many login attempts; retry in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// Account is a person who signs in to the portal.
type Account struct {
	// Email identifies the account (stored lower-cased).
	Email string
	Name  string
	Role  Role
	// PasswordHash is the Argon2id hash of the password (HashPassword).
	PasswordHash string
	Disabled     bool
	Created      time.Time
	// PasswordChanged is when the password was last set; sessions created
	// before it are no longer valid.
	PasswordChanged time.Time
}

// Session is a signed-in browser or API client. Its ID is secret (it is
// the cookie's value) and is only kept hashed by the store.
type Session struct {
	// ID is the session's public identifier (for listing and revoking);
	// the secret token is not kept.
	ID      string
	Email   string
	Created time.Time
	Expires time.Time
	// LastSeen is updated at most once a minute.
	LastSeen time.Time
	// CSRF is the session's anti-forgery token, sent back by the client
	// in the X-CSRF-Token header (or the csrf_token form field) of every
	// state-changing request.
	CSRF string
	// UserAgent and Address describe the client that signed in.
	UserAgent, Address string
}

// AccountStore keeps accounts. Implementations are safe for concurrent use.
type AccountStore interface {
	// Get returns the account with the (lower-cased) email, or ErrNoAccount.
	Get(ctx context.Context, email string) (Account, error)
	// Create adds an account, or fails with ErrAccountExists.
	Create(ctx context.Context, a Account) error
	// Update replaces an existing account (ErrNoAccount when absent).
	Update(ctx context.Context, a Account) error
	// Delete removes an account (ErrNoAccount when absent).
	Delete(ctx context.Context, email string) error
	// List returns every account, ordered by email.
	List(ctx context.Context) ([]Account, error)
}

// SessionStore keeps sessions under a key derived from their secret token
// (SHA-256), so that a leaked store does not hand out live cookies.
type SessionStore interface {
	// Put stores or replaces the session under key.
	Put(ctx context.Context, key string, s Session) error
	// Get returns the session stored under key, or ErrNoSession.
	Get(ctx context.Context, key string) (Session, error)
	// Delete removes the session stored under key (no error when absent).
	Delete(ctx context.Context, key string) error
	// DeleteByID removes the session with the public ID (ErrNoSession
	// when absent), of the account email only when email is not empty.
	DeleteByID(ctx context.Context, email, id string) error
	// DeleteAccount removes every session of the account.
	DeleteAccount(ctx context.Context, email string) error
	// List returns the account's sessions, newest first.
	List(ctx context.Context, email string) ([]Session, error)
}

// NormalizeEmail validates an email address and returns it lower-cased
// and trimmed.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > 254 {
		return "", ErrBadEmail
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", ErrBadEmail
	}
	return email, nil
}

// randomToken returns n random bytes, URL-safe base64.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionKey is the store key of a session token.
func sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// equalToken compares two tokens in constant time.
func equalToken(a, b string) bool {
	return len(a) > 0 && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

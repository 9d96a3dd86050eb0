package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Options configure an Authenticator.
type Options struct {
	// Accounts and Sessions keep the accounts and sessions (defaults:
	// in memory).
	Accounts AccountStore
	Sessions SessionStore
	// SessionTTL is how long a session lasts after sign-in (default 12
	// hours); IdleTimeout ends a session unused that long (default 2
	// hours).
	SessionTTL, IdleTimeout time.Duration
	// AccountRate and AccountBurst limit login attempts per account
	// (default one every 20 seconds, burst 5); AddressRate and
	// AddressBurst per client address (default one a second, burst 20).
	AccountRate  rate.Limit
	AccountBurst int
	AddressRate  rate.Limit
	AddressBurst int
	// Hasher sets the cost of new password hashes (default DefaultHasher).
	Hasher *Hasher
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Authenticator signs people in and out and resolves sessions.
type Authenticator struct {
	opt Options

	mu        sync.Mutex
	byAccount map[string]*rate.Limiter
	byAddress map[string]*rate.Limiter
	dummyHash string
}

// maxLimiters bounds the limiters kept per kind; beyond it, full ones are
// dropped (a full bucket is the same as no bucket).
const maxLimiters = 10000

// New returns an Authenticator.
func New(opt Options) (*Authenticator, error) {
	if opt.Accounts == nil {
		opt.Accounts = NewMemoryAccounts()
	}
	if opt.Sessions == nil {
		opt.Sessions = NewMemorySessions()
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 2 * time.Hour
	}
	if opt.AccountRate <= 0 {
		opt.AccountRate = rate.Every(20 * time.Second)
	}
	if opt.AccountBurst <= 0 {
		opt.AccountBurst = 5
	}
	if opt.AddressRate <= 0 {
		opt.AddressRate = rate.Every(time.Second)
	}
	if opt.AddressBurst <= 0 {
		opt.AddressBurst = 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Hasher == nil {
		opt.Hasher = &DefaultHasher
	}
	dummy, err := opt.Hasher.Hash(randomToken(16))
	if err != nil {
		return nil, err
	}
	return &Authenticator{opt: opt, byAccount: map[string]*rate.Limiter{}, byAddress: map[string]*rate.Limiter{},
		dummyHash: dummy}, nil
}

// Client describes who signs in, for the session record and the
// per-address limit.
type Client struct {
	Address   string // the client's IP address
	UserAgent string
}

// allow takes one login attempt from the account's and the address's
// buckets, or returns a *RateLimitError.
func (a *Authenticator) allow(email, address string) error {
	now := a.opt.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	get := func(m map[string]*rate.Limiter, key string, r rate.Limit, b int) *rate.Limiter {
		l := m[key]
		if l == nil {
			if len(m) >= maxLimiters {
				for k, old := range m {
					if old.TokensAt(now) >= float64(old.Burst()) {
						delete(m, k)
					}
				}
			}
			l = rate.NewLimiter(r, b)
			m[key] = l
		}
		return l
	}
	la := get(a.byAccount, email, a.opt.AccountRate, a.opt.AccountBurst)
	lb := get(a.byAddress, address, a.opt.AddressRate, a.opt.AddressBurst)
	ra, rb := la.ReserveN(now, 1), lb.ReserveN(now, 1)
	wait := max(ra.DelayFrom(now), rb.DelayFrom(now))
	if wait > 0 {
		ra.CancelAt(now)
		rb.CancelAt(now)
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

// Login checks the email and password and starts a session. It returns
// the session's secret token (the cookie value, shown once) and the
// session. Every attempt counts against the account's and the client
// address's rate limits (*RateLimitError); a wrong password, an unknown
// or a disabled account give ErrBadCredentials.
func (a *Authenticator) Login(ctx context.Context, email, password string, c Client) (string, Session, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		norm = email
	}
	if err := a.allow(norm, c.Address); err != nil {
		return "", Session{}, err
	}
	acct, err := a.opt.Accounts.Get(ctx, norm)
	if errors.Is(err, ErrNoAccount) {
		_, _ = VerifyPassword(a.dummyHash, password) // same work as for a real account
		return "", Session{}, ErrBadCredentials
	}
	if err != nil {
		return "", Session{}, err
	}
	ok, err := VerifyPassword(acct.PasswordHash, password)
	if err != nil || !ok || acct.Disabled {
		return "", Session{}, ErrBadCredentials
	}
	now := a.opt.Now()
	token := randomToken(32)
	s := Session{ID: randomToken(9), Email: acct.Email, Created: now, LastSeen: now,
		Expires: now.Add(a.opt.SessionTTL), CSRF: randomToken(32),
		UserAgent: truncate(c.UserAgent, 200), Address: truncate(c.Address, 64)}
	if err := a.opt.Sessions.Put(ctx, sessionKey(token), s); err != nil {
		return "", Session{}, err
	}
	return token, s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Logout ends the session of token (no error when it is already gone).
func (a *Authenticator) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return a.opt.Sessions.Delete(ctx, sessionKey(token))
}

// Resolve returns the live session of token and its account: ErrNoSession
// when the token is unknown, the session expired or idle too long, the
// account is gone or disabled, or its password changed since sign-in.
func (a *Authenticator) Resolve(ctx context.Context, token string) (Session, Account, error) {
	if token == "" || len(token) > 128 {
		return Session{}, Account{}, ErrNoSession
	}
	key := sessionKey(token)
	s, err := a.opt.Sessions.Get(ctx, key)
	if err != nil {
		return Session{}, Account{}, err
	}
	now := a.opt.Now()
	if !now.Before(s.Expires) || now.Sub(s.LastSeen) > a.opt.IdleTimeout {
		_ = a.opt.Sessions.Delete(ctx, key)
		return Session{}, Account{}, ErrNoSession
	}
	acct, err := a.opt.Accounts.Get(ctx, s.Email)
	if errors.Is(err, ErrNoAccount) || (err == nil && (acct.Disabled || acct.PasswordChanged.After(s.Created))) {
		_ = a.opt.Sessions.Delete(ctx, key)
		return Session{}, Account{}, ErrNoSession
	}
	if err != nil {
		return Session{}, Account{}, err
	}
	if now.Sub(s.LastSeen) > time.Minute {
		s.LastSeen = now
		_ = a.opt.Sessions.Put(ctx, key, s)
	}
	return s, acct, nil
}

// CheckCSRF returns ErrBadCSRF unless token is the session's CSRF token.
func CheckCSRF(s Session, token string) error {
	if !equalToken(s.CSRF, token) {
		return ErrBadCSRF
	}
	return nil
}

// Sessions lists the account's sessions, newest first.
func (a *Authenticator) Sessions(ctx context.Context, email string) ([]Session, error) {
	return a.opt.Sessions.List(ctx, email)
}

// RevokeSession ends the account's session with the public id.
func (a *Authenticator) RevokeSession(ctx context.Context, email, id string) error {
	return a.opt.Sessions.DeleteByID(ctx, email, id)
}

// Accounts lists the accounts, ordered by email.
func (a *Authenticator) Accounts(ctx context.Context) ([]Account, error) {
	return a.opt.Accounts.List(ctx)
}

// Account returns one account.
func (a *Authenticator) Account(ctx context.Context, email string) (Account, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, ErrNoAccount
	}
	return a.opt.Accounts.Get(ctx, norm)
}

// CreateAccount adds an account with a password (at least
// MinPasswordLength characters).
func (a *Authenticator) CreateAccount(ctx context.Context, email, name string, role Role, password string) (Account, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return Account{}, err
	}
	if !role.Valid() {
		return Account{}, ErrBadRole
	}
	hash, err := a.checkedHash(password)
	if err != nil {
		return Account{}, err
	}
	now := a.opt.Now()
	acct := Account{Email: norm, Name: truncate(name, 200), Role: role, PasswordHash: hash, Created: now}
	if err := a.opt.Accounts.Create(ctx, acct); err != nil {
		return Account{}, err
	}
	return acct, nil
}

func (a *Authenticator) checkedHash(password string) (string, error) {
	if len([]rune(password)) < MinPasswordLength {
		return "", ErrPasswordTooShort
	}
	return a.opt.Hasher.Hash(password)
}

// Bootstrap creates the first owner when there is no account yet and
// reports whether it did.
func (a *Authenticator) Bootstrap(ctx context.Context, email, password string) (bool, error) {
	list, err := a.opt.Accounts.List(ctx)
	if err != nil || len(list) > 0 {
		return false, err
	}
	if _, err := a.CreateAccount(ctx, email, "", RoleOwner, password); err != nil {
		return false, err
	}
	return true, nil
}

// AccountChange is a change to an account; nil fields stay as they are.
type AccountChange struct {
	Name     *string
	Role     *Role
	Disabled *bool
}

// UpdateAccount changes an account's name, role or disabled flag. It
// refuses to leave the portal without an enabled owner (ErrLastOwner).
// Disabling ends the account's sessions.
func (a *Authenticator) UpdateAccount(ctx context.Context, email string, ch AccountChange) (Account, error) {
	a.mu.Lock() // serialises owner-count checks
	defer a.mu.Unlock()
	acct, err := a.Account(ctx, email)
	if err != nil {
		return Account{}, err
	}
	next := acct
	if ch.Name != nil {
		next.Name = truncate(*ch.Name, 200)
	}
	if ch.Role != nil {
		if !ch.Role.Valid() {
			return Account{}, ErrBadRole
		}
		next.Role = *ch.Role
	}
	if ch.Disabled != nil {
		next.Disabled = *ch.Disabled
	}
	if acct.Role == RoleOwner && !acct.Disabled && (next.Role != RoleOwner || next.Disabled) {
		if err := a.otherOwner(ctx, acct.Email); err != nil {
			return Account{}, err
		}
	}
	if err := a.opt.Accounts.Update(ctx, next); err != nil {
		return Account{}, err
	}
	if next.Disabled {
		_ = a.opt.Sessions.DeleteAccount(ctx, next.Email)
	}
	return next, nil
}

func (a *Authenticator) otherOwner(ctx context.Context, email string) error {
	list, err := a.opt.Accounts.List(ctx)
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.Email != email && o.Role == RoleOwner && !o.Disabled {
			return nil
		}
	}
	return ErrLastOwner
}

// DeleteAccount removes an account and its sessions (never the last
// enabled owner).
func (a *Authenticator) DeleteAccount(ctx context.Context, email string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct, err := a.Account(ctx, email)
	if err != nil {
		return err
	}
	if acct.Role == RoleOwner && !acct.Disabled {
		if err := a.otherOwner(ctx, acct.Email); err != nil {
			return err
		}
	}
	if err := a.opt.Accounts.Delete(ctx, acct.Email); err != nil {
		return err
	}
	return a.opt.Sessions.DeleteAccount(ctx, acct.Email)
}

// SetPassword replaces an account's password; its existing sessions end.
func (a *Authenticator) SetPassword(ctx context.Context, email, password string) error {
	acct, err := a.Account(ctx, email)
	if err != nil {
		return err
	}
	hash, err := a.checkedHash(password)
	if err != nil {
		return err
	}
	acct.PasswordHash = hash
	acct.PasswordChanged = a.opt.Now()
	if err := a.opt.Accounts.Update(ctx, acct); err != nil {
		return err
	}
	return a.opt.Sessions.DeleteAccount(ctx, acct.Email)
}

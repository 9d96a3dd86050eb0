package portal

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/procoresync/procoresync/portal/auth"
)

func accountInfo(a auth.Account) AccountInfo {
	return AccountInfo{Email: a.Email, Name: a.Name, Role: a.Role, Disabled: a.Disabled, Created: a.Created.UTC()}
}

func authErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrNoAccount), errors.Is(err, auth.ErrNoSession):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, auth.ErrAccountExists), errors.Is(err, auth.ErrLastOwner):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, auth.ErrBadEmail):
		return &InputError{Field: "email", Reason: "not a valid email address"}
	case errors.Is(err, auth.ErrBadRole):
		return &InputError{Field: "role", Reason: "must be owner, admin or viewer"}
	case errors.Is(err, auth.ErrPasswordTooShort), errors.Is(err, auth.ErrPasswordTooLong):
		return &InputError{Field: "password", Reason: fmt.Sprintf("between %d characters and %d bytes",
			auth.MinPasswordLength, auth.MaxPasswordLength)}
	}
	return err
}

// Login signs an account in. It returns the session's secret token (the
// cookie value) and who signed in. Wrong credentials give
// auth.ErrBadCredentials; too many attempts for the account or from the
// address an *auth.RateLimitError.
func (s *Service) Login(ctx context.Context, email, password string, client auth.Client) (string, Me, error) {
	token, sess, err := s.opt.Auth.Login(ctx, email, password, client)
	if err != nil {
		return "", Me{}, err
	}
	acct, err := s.opt.Auth.Account(ctx, sess.Email)
	if err != nil {
		return "", Me{}, err
	}
	return token, Me{Account: accountInfo(acct), SessionID: sess.ID, CSRFToken: sess.CSRF, Expires: sess.Expires.UTC()}, nil
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.opt.Auth.Logout(ctx, token)
}

// Authenticate resolves a session token and returns ctx carrying the
// caller (WithCaller), or ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, token string) (context.Context, error) {
	sess, acct, err := s.opt.Auth.Resolve(ctx, token)
	if errors.Is(err, auth.ErrNoSession) {
		return ctx, ErrUnauthenticated
	}
	if err != nil {
		return ctx, err
	}
	return WithCaller(ctx, Caller{Account: acct, Session: sess}), nil
}

// CheckCSRF returns auth.ErrBadCSRF unless token is the caller's session
// CSRF token.
func (s *Service) CheckCSRF(ctx context.Context, token string) error {
	c, ok := CallerFrom(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	return auth.CheckCSRF(c.Session, token)
}

// Me returns who is signed in, with the session's CSRF token. Viewer.
func (s *Service) Me(ctx context.Context) (Me, error) {
	c, err := s.require(ctx, RoleViewer)
	if err != nil {
		return Me{}, err
	}
	return Me{Account: accountInfo(c.Account), SessionID: c.Session.ID, CSRFToken: c.Session.CSRF,
		Expires: c.Session.Expires.UTC()}, nil
}

// Sessions lists the caller's own sessions. Viewer.
func (s *Service) Sessions(ctx context.Context) ([]SessionInfo, error) {
	c, err := s.require(ctx, RoleViewer)
	if err != nil {
		return nil, err
	}
	ss, err := s.opt.Auth.Sessions(ctx, c.Account.Email)
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(ss))
	for i, x := range ss {
		out[i] = SessionInfo{ID: x.ID, Email: x.Email, Created: x.Created.UTC(), Expires: x.Expires.UTC(),
			LastSeen: x.LastSeen.UTC(), UserAgent: x.UserAgent, Address: x.Address, Current: x.ID == c.Session.ID}
	}
	return out, nil
}

// RevokeSession ends one of the caller's own sessions. Viewer.
func (s *Service) RevokeSession(ctx context.Context, id string) error {
	c, err := s.require(ctx, RoleViewer)
	if err != nil {
		return err
	}
	if err := s.opt.Auth.RevokeSession(ctx, c.Account.Email, id); err != nil {
		return authErr(err)
	}
	return s.audit(ctx, c, "session_revoked", "", "", map[string]string{"session": id})
}

// Accounts lists the accounts. Owner.
func (s *Service) Accounts(ctx context.Context) ([]AccountInfo, error) {
	if _, err := s.require(ctx, RoleOwner); err != nil {
		return nil, err
	}
	as, err := s.opt.Auth.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AccountInfo, len(as))
	for i, a := range as {
		out[i] = accountInfo(a)
	}
	return out, nil
}

// NewAccount is an account to create.
type NewAccount struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	Password string `json:"password"`
}

// CreateAccount adds an account. Owner.
func (s *Service) CreateAccount(ctx context.Context, n NewAccount) (AccountInfo, error) {
	c, err := s.require(ctx, RoleOwner)
	if err != nil {
		return AccountInfo{}, err
	}
	a, err := s.opt.Auth.CreateAccount(ctx, n.Email, n.Name, n.Role, n.Password)
	if err != nil {
		return AccountInfo{}, authErr(err)
	}
	return accountInfo(a), s.audit(ctx, c, "account_created", "", "", map[string]string{"email": a.Email,
		"role": string(a.Role)})
}

// AccountChange is a change to an account; nil fields stay as they are.
type AccountChange struct {
	Name     *string `json:"name,omitempty"`
	Role     *Role   `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	// Password, when set, replaces the password (the account's sessions
	// end).
	Password *string `json:"password,omitempty"`
}

// UpdateAccount changes an account's name, role, disabled flag or
// password. The last enabled owner cannot be demoted or disabled. Owner.
func (s *Service) UpdateAccount(ctx context.Context, email string, ch AccountChange) (AccountInfo, error) {
	c, err := s.require(ctx, RoleOwner)
	if err != nil {
		return AccountInfo{}, err
	}
	if ch.Password != nil {
		if err := s.opt.Auth.SetPassword(ctx, email, *ch.Password); err != nil {
			return AccountInfo{}, authErr(err)
		}
	}
	a, err := s.opt.Auth.UpdateAccount(ctx, email, auth.AccountChange{Name: ch.Name, Role: ch.Role, Disabled: ch.Disabled})
	if err != nil {
		return AccountInfo{}, authErr(err)
	}
	details := map[string]string{"email": a.Email, "role": string(a.Role), "disabled": strconv.FormatBool(a.Disabled)}
	if ch.Password != nil {
		details["password"] = "changed"
	}
	return accountInfo(a), s.audit(ctx, c, "account_updated", "", "", details)
}

// DeleteAccount removes an account and ends its sessions. Owner.
func (s *Service) DeleteAccount(ctx context.Context, email string) error {
	c, err := s.require(ctx, RoleOwner)
	if err != nil {
		return err
	}
	if err := s.opt.Auth.DeleteAccount(ctx, email); err != nil {
		return authErr(err)
	}
	return s.audit(ctx, c, "account_deleted", "", "", map[string]string{"email": email})
}

// ChangePassword replaces the caller's own password after checking the
// current one; every session of the account ends, this one included.
// Viewer.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	c, err := s.require(ctx, RoleViewer)
	if err != nil {
		return err
	}
	ok, err := auth.VerifyPassword(c.Account.PasswordHash, current)
	if err != nil || !ok {
		return &InputError{Field: "current_password", Reason: "wrong password"}
	}
	if err := s.opt.Auth.SetPassword(ctx, c.Account.Email, next); err != nil {
		return authErr(err)
	}
	return s.audit(ctx, c, "account_password_changed", "", "", map[string]string{"email": c.Account.Email})
}

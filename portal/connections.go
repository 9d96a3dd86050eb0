package portal

import (
	"context"
	"errors"
	"fmt"

	"github.com/procoresync/procoresync/portal/connect"
)

func (s *Service) conns() (*connect.Manager, error) {
	if s.opt.Connections == nil {
		return nil, fmt.Errorf("%w: connections are not configured", ErrUnavailable)
	}
	return s.opt.Connections, nil
}

func connErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, connect.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, connect.ErrBadRequest), errors.Is(err, connect.ErrBadState), errors.Is(err, connect.ErrDenied),
		errors.Is(err, connect.ErrExchange), errors.Is(err, connect.ErrNoClient):
		return &InputError{Field: "connection", Reason: err.Error()}
	}
	return err
}

// Connections lists the connected accounts (never a token or secret).
// Viewer.
func (s *Service) Connections(ctx context.Context) ([]connect.Connection, error) {
	if _, err := s.require(ctx, RoleViewer); err != nil {
		return nil, err
	}
	m, err := s.conns()
	if err != nil {
		return nil, err
	}
	out, err := m.List(ctx)
	return out, connErr(err)
}

// StartConnection begins connecting an account and returns the
// provider's authorization URL to send the browser to. The flow is bound
// to the caller's session. Admin.
func (s *Service) StartConnection(ctx context.Context, req connect.StartRequest) (string, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return "", err
	}
	m, err := s.conns()
	if err != nil {
		return "", err
	}
	req.Actor = c.Account.Email
	u, err := m.Start(ctx, req, c.Session.ID)
	return u, connErr(err)
}

// FinishConnection completes the sign-in the provider redirected back
// from (state and code of the callback) and stores the connection. It
// returns the connection and where to send the browser. Admin.
func (s *Service) FinishConnection(ctx context.Context, cb connect.Callback) (connect.Connection, string, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return connect.Connection{}, "", err
	}
	m, err := s.conns()
	if err != nil {
		return connect.Connection{}, "", err
	}
	conn, returnTo, err := m.Finish(ctx, c.Session.ID, cb)
	if err != nil {
		return connect.Connection{}, returnTo, connErr(err)
	}
	return conn, returnTo, s.audit(ctx, c, "connection_added", "", "", map[string]string{"id": conn.ID,
		"provider": string(conn.Provider), "name": conn.Name, "domain": conn.Domain, "client_id": conn.ClientID})
}

// TestConnection tests a connection and says what is wrong when it
// fails. Admin.
func (s *Service) TestConnection(ctx context.Context, id string) (connect.TestResult, error) {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return connect.TestResult{}, err
	}
	m, err := s.conns()
	if err != nil {
		return connect.TestResult{}, err
	}
	res, err := m.Test(ctx, id)
	if err != nil {
		return connect.TestResult{}, connErr(err)
	}
	return res, s.audit(ctx, c, "connection_tested", "", "", map[string]string{"id": id,
		"ok": fmt.Sprint(res.OK), "step": res.Step})
}

// RemoveConnection forgets a connection and its tokens. Admin.
func (s *Service) RemoveConnection(ctx context.Context, id string) error {
	c, err := s.require(ctx, RoleAdmin)
	if err != nil {
		return err
	}
	m, err := s.conns()
	if err != nil {
		return err
	}
	conn, err := m.Get(ctx, id)
	if err != nil {
		return connErr(err)
	}
	if err := m.Remove(ctx, id); err != nil {
		return connErr(err)
	}
	return s.audit(ctx, c, "connection_removed", "", "", map[string]string{"id": id,
		"provider": string(conn.Provider), "name": conn.Name})
}

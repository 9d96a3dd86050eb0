// Package portal is the HTTP API and Go service layer of a sync portal
// over a syncengine.Engine: dashboards, projects, runs, activity and error
// logs, the file manager, held deletions, quarantine, pause and resume,
// dry runs, project configuration, exports (CSV; XLSX through
// portal/xlsx), the audit log, accounts with roles, sessions with CSRF
// protection, and OAuth connections (portal/connect).
//
// Service is the service layer: every method checks the role of the
// account in its context (WithCaller) and records an audit entry for every
// change. Handler serves it as JSON under /api/v1, as described by the
// embedded OpenAPI document (OpenAPI). Webhook receivers are not part of
// it: mount them on their own paths or listener.
package portal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/syncengine"
)

// Options configure a Service.
type Options struct {
	// Engine is the sync engine the portal shows and drives (required).
	Engine *syncengine.Engine
	// Store is the engine's metadata store, for the data view export
	// (every synced item with both sides' IDs, paths and versions);
	// without it that export is unavailable.
	Store syncengine.BaselineStore
	// Projects configures projects; without it every pair of the engine
	// is shown as a project of its own and configuration is unavailable.
	Projects ProjectManager
	// Audit keeps the audit log (default: the engine's, EngineAudit, when
	// its metadata store keeps one; else in memory).
	Audit AuditLog
	// Auth signs people in (required).
	Auth *auth.Authenticator
	// Connections runs the OAuth sign-ins (nil: connections unavailable).
	Connections *connect.Manager
	// XLSX writes spreadsheets (portal/xlsx.Writer); nil: XLSX exports
	// are unavailable and CSV remains.
	XLSX SheetWriter
	// WebURL gives an item's address in a storage's web interface when
	// the storage does not implement WebLinker itself (nil: none).
	WebURL func(pairID string, side syncengine.Side, e storage.Entry) string
	// Logger receives the service's logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// WebLinker is the capability a storage has when it can give the address
// of an item in its service's web interface (storage.WebLinker).
type WebLinker = storage.WebLinker

// SheetWriter writes a table as a spreadsheet file (portal/xlsx).
type SheetWriter interface {
	// WriteSheet streams t to w as one worksheet named t.Name.
	WriteSheet(ctx context.Context, w io.Writer, t Table) error
}

// Service is the portal's service layer.
type Service struct {
	opt Options
	eng *syncengine.Engine
	log *slog.Logger
	// engineAudits: the audit log is the engine's, which records the
	// changes the engine makes itself (approve, reject, release, pause,
	// resume) with the actor of the context.
	engineAudits bool
}

// New returns a Service.
func New(opt Options) (*Service, error) {
	if opt.Engine == nil {
		return nil, errors.New("portal: Options.Engine is required")
	}
	if opt.Auth == nil {
		return nil, errors.New("portal: Options.Auth is required")
	}
	if opt.Audit == nil {
		opt.Audit = NewMemoryAudit()
		if _, err := opt.Engine.AuditLog(context.Background(), syncengine.AuditFilter{Limit: 1}); err == nil {
			opt.Audit = EngineAudit{Engine: opt.Engine}
		}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	_, engineAudits := opt.Audit.(EngineAudit)
	return &Service{opt: opt, eng: opt.Engine, log: opt.Logger, engineAudits: engineAudits}, nil
}

// Auth returns the service's Authenticator.
func (s *Service) Auth() *auth.Authenticator { return s.opt.Auth }

// Caller is who calls the service: a signed-in account and its session.
type Caller struct {
	Account auth.Account
	Session auth.Session
}

type callerKey struct{}

// WithCaller returns ctx carrying the signed-in caller; every Service
// method reads it to check the caller's role.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok && c.Account.Email != ""
}

// require returns the caller when its role is at least min.
func (s *Service) require(ctx context.Context, min Role) (Caller, error) {
	c, ok := CallerFrom(ctx)
	if !ok {
		return Caller{}, ErrUnauthenticated
	}
	if !c.Account.Role.AtLeast(min) {
		return Caller{}, ErrForbidden
	}
	return c, nil
}

// audit appends an audit entry for a change the caller made. A failure to
// record is logged and returned: the change is done, but the caller must
// know the log missed it.
func (s *Service) audit(ctx context.Context, c Caller, kind, pairID, project string, details map[string]string) error {
	e := AuditEntry{Time: s.opt.Now().UTC(), Actor: c.Account.Email, Kind: kind, PairID: pairID, Project: project,
		Details: details}
	if err := s.opt.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("portal: audit entry not recorded", "kind", kind, "pair", pairID, "err", err)
		return fmt.Errorf("portal: the change was made but its audit entry was not recorded: %w", err)
	}
	return nil
}

// engineAudit records an audit entry for a change the engine made on the
// caller's behalf, unless the engine's own audit log already did.
func (s *Service) engineAudit(ctx context.Context, c Caller, kind syncengine.AuditKind, pairID string, details map[string]string) error {
	if s.engineAudits {
		return nil
	}
	return s.audit(ctx, c, string(kind), pairID, "", details)
}

// actor returns ctx naming the caller as the actor of what the engine
// does with it.
func actor(ctx context.Context, c Caller) context.Context {
	return syncengine.WithActor(ctx, c.Account.Email)
}

// pair returns the engine pair or ErrNotFound.
func (s *Service) pair(pairID string) (syncengine.Pair, error) {
	p, ok := s.eng.Pair(pairID)
	if !ok {
		return syncengine.Pair{}, fmt.Errorf("portal: pair %q: %w", pairID, ErrNotFound)
	}
	return p, nil
}

// engineErr maps the engine's errors to the service's.
func engineErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syncengine.ErrUnknownPair), errors.Is(err, syncengine.ErrNoItem):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

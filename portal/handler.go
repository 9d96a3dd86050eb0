package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/portal/auth"
	"github.com/procoresync/procoresync/portal/connect"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "portal_session"

// CSRFHeader carries the session's CSRF token on state-changing requests
// (a form may send it as the csrf_token field instead).
const CSRFHeader = "X-CSRF-Token"

// maxBody caps request bodies.
const maxBody = 1 << 20

// HandlerOptions configure the HTTP API.
type HandlerOptions struct {
	// SecureCookies forces the Secure attribute on the session cookie;
	// it is also set on every request that came over TLS.
	SecureCookies bool
	// TrustedOrigins are origins (scheme://host[:port]) allowed to make
	// cross-origin state-changing requests (http.CrossOriginProtection).
	TrustedOrigins []string
	// ClientAddress returns the client's address for the login rate
	// limit (default: the connection's remote IP; behind a reverse proxy,
	// read its header here).
	ClientAddress func(*http.Request) string
	// RequestTimeout bounds each request (default 2 minutes; exports and
	// dry runs stream or list both sides).
	RequestTimeout time.Duration
}

// Handler serves the portal's JSON API under /api/v1.
type Handler struct {
	svc  *Service
	opt  HandlerOptions
	mux  *http.ServeMux
	next http.Handler
}

// access says who may call a route.
type access int

const (
	public access = iota // no session (login)
	viewer
	admin
	owner
)

func (a access) role() Role {
	switch a {
	case admin:
		return RoleAdmin
	case owner:
		return RoleOwner
	}
	return RoleViewer
}

// route is one operation of the API.
type route struct {
	method, pattern string
	access          access
	h               func(w http.ResponseWriter, r *http.Request) error
}

// NewHandler returns the portal's HTTP API over svc.
func NewHandler(svc *Service, opt HandlerOptions) (*Handler, error) {
	if opt.ClientAddress == nil {
		opt.ClientAddress = remoteIP
	}
	if opt.RequestTimeout <= 0 {
		opt.RequestTimeout = 2 * time.Minute
	}
	h := &Handler{svc: svc, opt: opt, mux: http.NewServeMux()}
	for _, rt := range h.routes() {
		h.mux.Handle(rt.method+" "+rt.pattern, h.wrap(rt))
	}
	h.mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API route", "")
	})
	cop := http.NewCrossOriginProtection()
	for _, o := range opt.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("portal: trusted origin: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross_origin", "cross-origin request refused", "")
	}))
	h.next = cop.Handler(h.mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h.next.ServeHTTP(w, r)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) routes() []route {
	return []route{
		{"POST", "/api/v1/session", public, h.login},
		{"GET", "/api/v1/session", viewer, h.me},
		{"DELETE", "/api/v1/session", viewer, h.logout},
		{"GET", "/api/v1/sessions", viewer, h.sessions},
		{"DELETE", "/api/v1/sessions/{id}", viewer, h.revokeSession},
		{"PUT", "/api/v1/password", viewer, h.changePassword},
		{"GET", "/api/v1/accounts", owner, h.accounts},
		{"POST", "/api/v1/accounts", owner, h.createAccount},
		{"PATCH", "/api/v1/accounts/{email}", owner, h.updateAccount},
		{"DELETE", "/api/v1/accounts/{email}", owner, h.deleteAccount},

		{"GET", "/api/v1/dashboard", viewer, h.dashboard},
		{"GET", "/api/v1/projects", viewer, h.projects},
		{"POST", "/api/v1/projects", admin, h.addProject},
		{"GET", "/api/v1/projects/{project}", viewer, h.project},
		{"GET", "/api/v1/projects/{project}/config", viewer, h.projectConfig},
		{"PUT", "/api/v1/projects/{project}/config", admin, h.updateProject},
		{"DELETE", "/api/v1/projects/{project}", admin, h.removeProject},
		{"GET", "/api/v1/projects/{project}/errors", viewer, h.projectErrors},
		{"POST", "/api/v1/projects/{project}/check", admin, h.checkProject},
		{"GET", "/api/v1/projects/{project}/recipients", viewer, h.recipients},
		{"PUT", "/api/v1/projects/{project}/recipients", admin, h.setRecipients},

		{"GET", "/api/v1/pairs/{pair}/runs", viewer, h.runs},
		{"GET", "/api/v1/pairs/{pair}/progress", viewer, h.progress},
		{"GET", "/api/v1/pairs/{pair}/activity", viewer, h.activity},
		{"GET", "/api/v1/pairs/{pair}/errors", viewer, h.errors},
		{"GET", "/api/v1/pairs/{pair}/folder", viewer, h.folder},
		{"POST", "/api/v1/pairs/{pair}/sync-level", admin, h.syncLevel},
		{"GET", "/api/v1/pairs/{pair}/held", viewer, h.held},
		{"POST", "/api/v1/pairs/{pair}/held/approve", admin, h.approve},
		{"POST", "/api/v1/pairs/{pair}/held/reject", admin, h.reject},
		{"GET", "/api/v1/pairs/{pair}/quarantine", viewer, h.quarantine},
		{"POST", "/api/v1/pairs/{pair}/quarantine/release", admin, h.release},
		{"POST", "/api/v1/pairs/{pair}/pause", admin, h.pause},
		{"POST", "/api/v1/pairs/{pair}/resume", admin, h.resume},
		{"POST", "/api/v1/pairs/{pair}/dry-run", admin, h.dryRun},

		{"GET", "/api/v1/audit", viewer, h.auditLog},
		{"GET", "/api/v1/exports/{kind}", admin, h.export},

		{"GET", "/api/v1/connections", viewer, h.connections},
		{"POST", "/api/v1/connections", admin, h.startConnection},
		{"GET", "/api/v1/connections/callback", admin, h.connectionCallback},
		{"POST", "/api/v1/connections/{id}/test", admin, h.testConnection},
		{"DELETE", "/api/v1/connections/{id}", admin, h.removeConnection},
	}
}

// Route describes one operation of the API.
type Route struct {
	Method, Pattern string
	// Role is the least role that may call it; "" for no sign-in
	// (POST /api/v1/session).
	Role Role
}

// Routes lists the API's operations.
func (h *Handler) Routes() []Route {
	rs := h.routes()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = Route{Method: r.method, Pattern: r.pattern}
		if r.access != public {
			out[i].Role = r.access.role()
		}
	}
	return out
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// wrap authenticates the request, checks the role and the CSRF token, and
// maps errors to JSON answers.
func (h *Handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), h.opt.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if rt.access != public {
			ck, err := r.Cookie(SessionCookie)
			if err != nil {
				h.fail(w, ErrUnauthenticated)
				return
			}
			ctx, err := h.svc.Authenticate(r.Context(), ck.Value)
			if err != nil {
				if errors.Is(err, ErrUnauthenticated) {
					h.clearCookie(w, r)
				}
				h.fail(w, err)
				return
			}
			r = r.WithContext(ctx)
			if !safeMethod(r.Method) {
				tok := r.Header.Get(CSRFHeader)
				if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
					tok = r.PostFormValue("csrf_token")
				}
				if err := h.svc.CheckCSRF(ctx, tok); err != nil {
					h.fail(w, err)
					return
				}
			}
			c, _ := CallerFrom(ctx)
			if !c.Account.Role.AtLeast(rt.access.role()) {
				h.fail(w, ErrForbidden)
				return
			}
		}
		if err := rt.h(w, r); err != nil {
			h.fail(w, err)
		}
	})
}

// apiError is the JSON body of every error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	var e apiError
	e.Error.Code, e.Error.Message, e.Error.Field = code, msg, field
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers err with its status. Messages of unexpected errors are not
// shown (they may name internals); they are logged.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	var ie *InputError
	var rl *auth.RateLimitError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many login attempts; try again later", "")
	case errors.Is(err, auth.ErrBadCredentials):
		writeError(w, http.StatusUnauthorized, "bad_credentials", "wrong email or password", "")
	case errors.Is(err, ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, "unauthenticated", "sign in first", "")
	case errors.Is(err, auth.ErrBadCSRF):
		writeError(w, http.StatusForbidden, "csrf", "missing or invalid CSRF token", "")
	case errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", "your role does not allow this", "")
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body too large", "")
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, "invalid", ie.Error(), ie.Field)
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error(), "")
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found", "")
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, "conflict", err.Error(), "")
	case errors.Is(err, ErrUnavailable):
		writeError(w, http.StatusNotImplemented, "unavailable", err.Error(), "")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout", "the request took too long", "")
	default:
		h.svc.log.Error("portal: request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error", "")
	}
}

// decode reads a JSON body into v, refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return invalid("body", "a JSON body is required")
		}
		return invalid("body", "not valid JSON for this request")
	}
	if dec.More() {
		return invalid("body", "one JSON value expected")
	}
	return nil
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: h.opt.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode, Expires: expires})
}

func (h *Handler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: h.opt.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// ---- query parameters ----

func page(r *http.Request) (Page, error) {
	var p Page
	q := r.URL.Query()
	for _, f := range []struct {
		name string
		dst  *int
	}{{"limit", &p.Limit}, {"offset", &p.Offset}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Page{}, invalid(f.name, "must be a non-negative integer")
			}
			*f.dst = n
		}
	}
	return p, nil
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)")
}

func dateRange(q url.Values) (DateRange, error) {
	from, err := parseTime("from", q.Get("from"))
	if err != nil {
		return DateRange{}, err
	}
	to, err := parseTime("to", q.Get("to"))
	if err != nil {
		return DateRange{}, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return DateRange{}, invalid("to", "must be after from")
	}
	return DateRange{From: from, To: to}, nil
}

// ---- session and accounts ----

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	token, me, err := h.svc.Login(r.Context(), req.Email, req.Password,
		auth.Client{Address: h.opt.ClientAddress(r), UserAgent: r.UserAgent()})
	if err != nil {
		return err
	}
	h.setCookie(w, r, token, me.Expires)
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	me, err := h.svc.Me(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		if err := h.svc.Logout(r.Context(), ck.Value); err != nil {
			return err
		}
	}
	h.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := h.svc.Sessions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ss)
	return nil
}

func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RevokeSession(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type passwordRequest struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := h.svc.ChangePassword(r.Context(), req.Current, req.New); err != nil {
		return err
	}
	h.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) accounts(w http.ResponseWriter, r *http.Request) error {
	as, err := h.svc.Accounts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req NewAccount
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := h.svc.CreateAccount(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (h *Handler) updateAccount(w http.ResponseWriter, r *http.Request) error {
	var req AccountChange
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := h.svc.UpdateAccount(r.Context(), r.PathValue("email"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteAccount(r.Context(), r.PathValue("email")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- dashboard and projects ----

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) error {
	dr, err := dateRange(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := h.svc.Dashboard(r.Context(), dr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (h *Handler) projects(w http.ResponseWriter, r *http.Request) error {
	ps, err := h.svc.Projects(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

func (h *Handler) project(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Project(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) projectConfig(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.ProjectConfig(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) addProject(w http.ResponseWriter, r *http.Request) error {
	var req ProjectConfig
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := h.svc.AddProject(r.Context(), req)
	if err != nil && p.ID == "" {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (h *Handler) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req ProjectConfig
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != r.PathValue("project") {
		return invalid("id", "does not match the path")
	}
	req.ID = r.PathValue("project")
	p, err := h.svc.UpdateProject(r.Context(), req)
	if err != nil && p.ID == "" {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) removeProject(w http.ResponseWriter, r *http.Request) error {
	forget := r.URL.Query().Get("forget") == "true"
	if err := h.svc.RemoveProject(r.Context(), r.PathValue("project"), forget); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) projectErrors(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	es, err := h.svc.ProjectErrors(r.Context(), r.PathValue("project"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

func (h *Handler) checkProject(w http.ResponseWriter, r *http.Request) error {
	res, err := h.svc.CheckProject(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

type recipientsBody struct {
	Recipients []string `json:"recipients"`
}

func (h *Handler) recipients(w http.ResponseWriter, r *http.Request) error {
	rs, err := h.svc.Recipients(r.Context(), r.PathValue("project"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, recipientsBody{Recipients: rs})
	return nil
}

func (h *Handler) setRecipients(w http.ResponseWriter, r *http.Request) error {
	var req recipientsBody
	if err := decode(r, &req); err != nil {
		return err
	}
	rs, err := h.svc.SetRecipients(r.Context(), r.PathValue("project"), req.Recipients)
	if err != nil && rs == nil {
		return err
	}
	writeJSON(w, http.StatusOK, recipientsBody{Recipients: rs})
	return nil
}

// ---- pairs ----

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	rs, err := h.svc.Runs(r.Context(), r.PathValue("pair"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

func (h *Handler) progress(w http.ResponseWriter, r *http.Request) error {
	p, err := h.svc.Progress(r.Context(), r.PathValue("pair"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *Handler) activity(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	as, err := h.svc.Activity(r.Context(), r.PathValue("pair"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (h *Handler) errors(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	es, err := h.svc.Errors(r.Context(), r.PathValue("pair"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

func (h *Handler) folder(w http.ResponseWriter, r *http.Request) error {
	f, err := h.svc.Folder(r.Context(), r.PathValue("pair"), r.URL.Query().Get("path"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

type pathBody struct {
	Path string `json:"path"`
}

func (h *Handler) syncLevel(w http.ResponseWriter, r *http.Request) error {
	var req pathBody
	if err := decode(r, &req); err != nil {
		return err
	}
	run, err := h.svc.SyncLevel(r.Context(), r.PathValue("pair"), req.Path)
	if err != nil && run.ID == 0 {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

func (h *Handler) held(w http.ResponseWriter, r *http.Request) error {
	hs, err := h.svc.Held(r.Context(), r.PathValue("pair"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hs)
	return nil
}

type idsBody struct {
	IDs []int64 `json:"ids"`
}

func (h *Handler) approve(w http.ResponseWriter, r *http.Request) error {
	var req idsBody
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := h.svc.Approve(r.Context(), r.PathValue("pair"), req.IDs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request) error {
	var req idsBody
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := h.svc.Reject(r.Context(), r.PathValue("pair"), req.IDs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) quarantine(w http.ResponseWriter, r *http.Request) error {
	qs, err := h.svc.Quarantine(r.Context(), r.PathValue("pair"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, qs)
	return nil
}

type releaseBody struct {
	Side string `json:"side"`
	Path string `json:"path"`
}

func (h *Handler) release(w http.ResponseWriter, r *http.Request) error {
	var req releaseBody
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := h.svc.Release(r.Context(), r.PathValue("pair"), req.Side, req.Path); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type pauseBody struct {
	Reason string `json:"reason"`
}

func (h *Handler) pause(w http.ResponseWriter, r *http.Request) error {
	var req pauseBody
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	if err := h.svc.Pause(r.Context(), r.PathValue("pair"), req.Reason); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) resume(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Resume(r.Context(), r.PathValue("pair")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) dryRun(w http.ResponseWriter, r *http.Request) error {
	res, err := h.svc.DryRun(r.Context(), r.PathValue("pair"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ---- audit, exports ----

func (h *Handler) auditLog(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	dr, err := dateRange(q)
	if err != nil {
		return err
	}
	es, err := h.svc.AuditLog(r.Context(), AuditQuery{PairID: q.Get("pair"), Project: q.Get("project"),
		Actor: q.Get("actor"), Kind: q.Get("kind"), Range: dr, Limit: pg.Limit, Offset: pg.Offset})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

func (h *Handler) export(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dr, err := dateRange(q)
	if err != nil {
		return err
	}
	e, err := h.svc.Export(r.Context(), ExportRequest{Kind: r.PathValue("kind"), Format: q.Get("format"),
		PairID: q.Get("pair"), Project: q.Get("project"), Range: dr})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", e.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", e.Filename))
	w.WriteHeader(http.StatusOK)
	if err := e.Write(r.Context(), w); err != nil {
		// The status is sent; cut the body short so the client sees a
		// truncated download rather than a complete-looking file.
		h.svc.log.Error("portal: export failed while streaming", "kind", r.PathValue("kind"), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// ---- connections ----

func (h *Handler) connections(w http.ResponseWriter, r *http.Request) error {
	cs, err := h.svc.Connections(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []connect.Connection{}
	}
	writeJSON(w, http.StatusOK, cs)
	return nil
}

type startBody struct {
	Provider     string   `json:"provider"`
	Name         string   `json:"name"`
	Domain       string   `json:"domain"`
	Tenant       string   `json:"tenant"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Scopes       []string `json:"scopes"`
	ReturnTo     string   `json:"return_to"`
}

type startResponse struct {
	AuthorizeURL string `json:"authorize_url"`
}

func (h *Handler) startConnection(w http.ResponseWriter, r *http.Request) error {
	var req startBody
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := h.svc.StartConnection(r.Context(), connect.StartRequest{Provider: connect.Provider(req.Provider),
		Name: req.Name, Domain: req.Domain, Tenant: req.Tenant, ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		Scopes: req.Scopes, ReturnTo: req.ReturnTo})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, startResponse{AuthorizeURL: u})
	return nil
}

// connectionCallback is the OAuth redirect target. It answers with a
// redirect to the flow's return path (with ?connection=ID, or
// ?connection_error=message), or JSON when the flow named none.
func (h *Handler) connectionCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	conn, returnTo, err := h.svc.FinishConnection(r.Context(), connect.Callback{State: q.Get("state"),
		Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description")})
	if returnTo == "" {
		if err != nil && conn.ID == "" {
			return err
		}
		writeJSON(w, http.StatusOK, conn)
		return nil
	}
	v := url.Values{}
	if err != nil && conn.ID == "" {
		var ie *InputError
		msg := "the connection failed"
		if errors.As(err, &ie) {
			msg = ie.Reason
		}
		v.Set("connection_error", msg)
	} else {
		v.Set("connection", conn.ID)
	}
	sep := "?"
	if strings.Contains(returnTo, "?") {
		sep = "&"
	}
	http.Redirect(w, r, returnTo+sep+v.Encode(), http.StatusSeeOther)
	return nil
}

func (h *Handler) testConnection(w http.ResponseWriter, r *http.Request) error {
	res, err := h.svc.TestConnection(r.Context(), r.PathValue("id"))
	if err != nil && res.Time.IsZero() {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *Handler) removeConnection(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.RemoveConnection(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/auth"
)

// sessionCookie carries the session token of a signed-in browser.
const sessionCookie = portal.SessionCookie

// sessionFrom resolves the request's session cookie to the signed-in
// caller (false: signed out, expired or revoked).
func (s *site) sessionFrom(r *http.Request) (portal.Caller, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return portal.Caller{}, false
	}
	ctx, err := s.svc.Authenticate(r.Context(), c.Value)
	if err != nil {
		return portal.Caller{}, false
	}
	return portal.CallerFrom(ctx)
}

// setSession sets (token != "") or clears the session cookie: HttpOnly,
// SameSite=Lax, Secure when the portal is served over TLS.
func (s *site) setSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || s.secureCookies}
	if token == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// clientOf describes the browser for the login limits and the session
// record: its address (the connection's, not a header a client can set).
func clientOf(r *http.Request) auth.Client {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return auth.Client{Address: host, UserAgent: ua}
}

// signedIn wraps a page handler: a signed-out browser is sent to the
// login page; a state-changing request must carry the session's CSRF
// token in its form (field "csrf") besides passing the cross-origin
// checks.
func (s *site) signedIn(h func(w http.ResponseWriter, r *http.Request, c portal.Caller)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.sessionFrom(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			if err := auth.CheckCSRF(c.Session, r.PostForm.Get("csrf")); err != nil {
				s.fail(w, r, c, err)
				return
			}
		}
		h(w, r.WithContext(portal.WithCaller(r.Context(), c)), c)
	})
}

// maxForm bounds a form body.
const maxForm = 64 << 10

// statusOf maps the service's typed errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, portal.ErrUnauthenticated), errors.Is(err, auth.ErrNoSession):
		return http.StatusUnauthorized
	case errors.Is(err, portal.ErrForbidden), errors.Is(err, auth.ErrBadCSRF):
		return http.StatusForbidden
	case errors.Is(err, portal.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, portal.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, portal.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, portal.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

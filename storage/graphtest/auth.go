package graphtest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenLifetime is how long access tokens issued by the fake live.
const TokenLifetime = time.Hour

// Token returns a fresh access token the fake accepts.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := "eyJ0eXAi." + randomToken(16)
	s.tokens[tok] = s.now().Add(TokenLifetime)
	return tok
}

// AuthCode returns a one-time authorization code for the delegated flow
// (granted offline_access, so its exchange yields a refresh token),
// as the /authorize endpoint would hand to the redirect URL.
func (s *Server) AuthCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := "M.C" + randomToken(8)
	s.codes[c] = true
	return c
}

// ExpireAccessTokens makes every access token issued so far expired; API
// calls with them answer 401 with an expired_token challenge.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

func (s *Server) checkAuth(r *http.Request) *apiError {
	if s.opt.NoAuth {
		return nil
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.now()
	s.mu.Unlock()
	if !ok || !known {
		e := errf(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token"`}
		return e
	}
	if !now.Before(exp) {
		e := errf(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token", error_description="expired_token"`}
		return e
	}
	return nil
}

// handleToken is the identity platform's /{tenant}/oauth2/v2.0/token.
func (s *Server) handleToken(w *recorder, r *http.Request, body []byte) *apiError {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return &apiError{status: 400, code: "invalid_request", msg: "malformed form"}
	}
	oauthErr := func(code, desc string) *apiError {
		w.header.Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"` + desc + `"}`))
		return nil
	}
	if form.Get("client_id") == "" {
		if u, _, ok := r.BasicAuth(); !ok || u == "" {
			return oauthErr("invalid_client", "AADSTS700016: client_id is missing")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	issueRefresh := false
	switch form.Get("grant_type") {
	case "client_credentials":
		if !strings.HasSuffix(form.Get("scope"), "/.default") {
			return oauthErr("invalid_scope", "AADSTS1002012: client credentials need the .default scope")
		}
	case "authorization_code":
		if !s.codes[form.Get("code")] {
			return oauthErr("invalid_grant", "AADSTS70008: the code has expired or was used")
		}
		delete(s.codes, form.Get("code"))
		issueRefresh = true // codes from AuthCode were granted offline_access
	case "refresh_token":
		if !s.refresh[form.Get("refresh_token")] {
			return oauthErr("invalid_grant", "AADSTS70000: the refresh token is invalid or was already used")
		}
		delete(s.refresh, form.Get("refresh_token")) // rotation
		issueRefresh = true
	default:
		return oauthErr("unsupported_grant_type", "AADSTS70003: unsupported grant type")
	}
	tok := "eyJ0eXAi." + randomToken(16)
	s.tokens[tok] = s.now().Add(TokenLifetime)
	out := `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"` + tok + `"`
	if issueRefresh {
		rt := "M.R3_" + randomToken(16)
		s.refresh[rt] = true
		out += `,"refresh_token":"` + rt + `"`
	}
	w.header.Set("Content-Type", "application/json")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(out + "}"))
	return nil
}

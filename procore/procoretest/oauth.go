package procoretest

import (
	"bytes"
	"encoding/hex"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

func multipartReader(body []byte, boundary string) *multipart.Reader {
	return multipart.NewReader(bytes.NewReader(body), boundary)
}

// issueLocked creates an access token (and a refresh token unless
// clientCredentials) and returns the token response. Caller holds s.mu.
func (s *Server) issueLocked(userID int64, clientID string, clientCredentials bool, withRefresh bool) (map[string]any, string) {
	now := s.now()
	at := "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzUxMiJ9." + hex.EncodeToString(randBytes(24))
	s.access[at] = &accessToken{UserID: userID, ClientID: clientID, ClientCredentials: clientCredentials,
		Created: now, Expires: now.Add(s.opts.TokenLifetime), Scopes: []string{}}
	resp := map[string]any{"access_token": at, "token_type": "bearer",
		"expires_in": int(s.opts.TokenLifetime.Seconds()), "created_at": now.Unix()}
	if withRefresh {
		rt := hex.EncodeToString(randBytes(24))
		s.refresh[rt] = &grant{UserID: userID, ClientID: clientID}
		s.access[at].Refresh = rt
		resp["refresh_token"] = rt
	}
	return resp, at
}

// oauthToken serves POST /oauth/token for the authorization_code,
// refresh_token and client_credentials grants, with JSON, urlencoded or
// multipart bodies, and client credentials in the body or as HTTP Basic.
// Refresh tokens are single use.
func (c *call) oauthToken() {
	f, ok := c.form()
	if !ok {
		return
	}
	get := func(k string) string { v, _ := str(f, k); return v }
	id, secret := get("client_id"), get("client_secret")
	if u, p, ok := c.r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	oauthErr := func(status int, code, desc string) {
		writeJSON(c.w, status, map[string]any{"error": code, "error_description": desc})
	}
	if want, known := s.apps[id]; !known || want != secret {
		oauthErr(http.StatusUnauthorized, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
		return
	}
	const badGrant = "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
	switch get("grant_type") {
	case "authorization_code":
		g := s.codes[get("code")]
		delete(s.codes, get("code"))
		if !s.pkceLocked(get("code"), get("code_verifier")) || g == nil || g.ClientID != id || g.RedirectURI != get("redirect_uri") || !s.now().Before(g.Expires) {
			oauthErr(http.StatusBadRequest, "invalid_grant", badGrant)
			return
		}
		resp, _ := s.issueLocked(g.UserID, id, false, true)
		writeJSON(c.w, http.StatusOK, resp)
	case "refresh_token":
		rt := get("refresh_token")
		g := s.refresh[rt]
		delete(s.refresh, rt) // single use, even if the response is lost
		if g == nil || g.ClientID != id {
			oauthErr(http.StatusBadRequest, "invalid_grant", badGrant)
			return
		}
		resp, _ := s.issueLocked(g.UserID, id, false, true)
		writeJSON(c.w, http.StatusOK, resp)
	case "client_credentials":
		resp, _ := s.issueLocked(s.UserID, id, true, false)
		writeJSON(c.w, http.StatusOK, resp)
	default:
		oauthErr(http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
}

func (c *call) oauthTokenInfo() {
	raw := bearer(c.r)
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.access[raw]
	if tok == nil || !s.now().Before(tok.Expires) {
		writeError(c.w, http.StatusUnauthorized, "unauthorized", "The access token is invalid")
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"resource_owner_id":  tok.UserID,
		"scopes":             tok.Scopes,
		"expires_in_seconds": int(tok.Expires.Sub(s.now()).Seconds()),
		"application":        map[string]any{"uid": tok.ClientID},
		"created_at":         tok.Created.Unix(),
	})
}

// oauthRevoke always answers 200, as Procore does (also for an unknown
// token), and revokes the token together with the
// other half of its pair.
func (c *call) oauthRevoke() {
	f, ok := c.form()
	if !ok {
		return
	}
	t, _ := str(f, "token")
	c.s.mu.Lock()
	c.s.revokeLocked(t)
	c.s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{})
}

func bearer(r *http.Request) string {
	const p = "Bearer "
	h := r.Header.Get("Authorization")
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):]
	}
	return ""
}

// ---- companies, projects, me ----

func (c *call) me() {
	c.s.mu.Lock()
	u := c.s.users[c.token.UserID]
	c.s.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"id": u.ID, "login": u.Login, "name": u.Name})
}

func (c *call) listCompanies() {
	c.s.mu.Lock()
	var list []*company
	for _, co := range c.s.companies {
		list = append(list, co)
	}
	c.s.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	out := []any{}
	for _, co := range list[lo:hi] {
		out = append(out, map[string]any{"id": co.ID, "name": co.Name, "is_active": true, "logo_url": nil,
			"pcn_business_experience": false, "my_company": co.ID == c.s.CompanyID})
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) projectJSON(p *project) map[string]any {
	co := c.s.companies[p.CompanyID]
	return map[string]any{"id": p.ID, "name": p.Name, "display_name": p.Name, "project_number": nil,
		"active": true, "is_demo": false, "created_at": ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt),
		"company": map[string]any{"id": co.ID, "name": co.Name}, "time_zone": "UTC"}
}

func (c *call) listProjects() {
	cid, ok := c.queryInt("company_id")
	if !ok {
		return
	}
	if cid != c.companyID {
		writeError(c.w, http.StatusNotFound, "not_found", "Company not found")
		return
	}
	var from, to time.Time
	if v := c.r.URL.Query().Get("filters[updated_at]"); v != "" {
		var err error
		if from, to, err = parseRange(v); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid filters[updated_at]")
			return
		}
	}
	c.s.mu.Lock()
	var list []map[string]any
	var ids []int64
	for _, p := range c.s.projects {
		if p.CompanyID == cid && inRange(p.UpdatedAt, from, to) {
			ids = append(ids, p.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		list = append(list, c.projectJSON(c.s.projects[id]))
	}
	c.s.mu.Unlock()
	lo, hi, ok := c.paginate(len(list))
	if !ok {
		return
	}
	out := []any{}
	for _, p := range list[lo:hi] {
		out = append(out, p)
	}
	writeJSON(c.w, http.StatusOK, out)
}

func (c *call) getProject() {
	id, ok := c.pathInt("id")
	if !ok {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	p := c.s.projects[id]
	if p == nil || p.CompanyID != c.companyID {
		writeError(c.w, http.StatusNotFound, "not_found", "Project not found")
		return
	}
	writeJSON(c.w, http.StatusOK, c.projectJSON(p))
}

// itoa formats an int64.
func itoa(v int64) string { return strconv.FormatInt(v, 10) }

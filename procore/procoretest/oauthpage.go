package procoretest

import (
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// authorizePage is the sign-in page of GET /oauth/authorize: the app asks
// for access and the signed-in person allows or denies it.
var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {{.App}} - Procore</title></head>
<body>
<h1>Authorize application</h1>
<p><strong>{{.App}}</strong> would like to access your Procore account ({{.User}}).</p>
<form method="post" action="/oauth/authorize">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// authorizeRequest is a checked authorization request.
type authorizeRequest struct {
	clientID, redirectURI, state, challenge, method string
	redirect                                        *url.URL
}

// parseAuthorize checks an authorization request as Procore's
// /oauth/authorize does: response_type=code, a known client, an absolute
// redirect_uri, and a PKCE challenge (if any) with method S256 or plain.
func (c *call) parseAuthorize(v url.Values) (authorizeRequest, bool) {
	ar := authorizeRequest{clientID: v.Get("client_id"), redirectURI: v.Get("redirect_uri"), state: v.Get("state"),
		challenge: v.Get("code_challenge"), method: v.Get("code_challenge_method")}
	c.s.mu.Lock()
	_, known := c.s.apps[ar.clientID]
	c.s.mu.Unlock()
	if v.Get("response_type") != "code" || !known {
		writeError(c.w, http.StatusBadRequest, "invalid_request", "unknown client or response type")
		return ar, false
	}
	u, err := url.Parse(ar.redirectURI)
	if err != nil || ar.redirectURI == "" || !u.IsAbs() {
		writeError(c.w, http.StatusBadRequest, "invalid_request", "invalid redirect_uri")
		return ar, false
	}
	ar.redirect = u
	if ar.challenge != "" {
		if ar.method == "" {
			ar.method = "plain"
		}
		if ar.method != "S256" && ar.method != "plain" {
			writeError(c.w, http.StatusBadRequest, "invalid_request", "code_challenge_method must be S256 or plain")
			return ar, false
		}
	}
	return ar, true
}

// oauthAuthorizePage serves GET /oauth/authorize: the page with an
// "Allow" button the signed-in person presses.
func (c *call) oauthAuthorizePage() {
	ar, ok := c.parseAuthorize(c.r.URL.Query())
	if !ok {
		return
	}
	c.s.mu.Lock()
	user := c.s.users[c.s.UserID]
	c.s.mu.Unlock()
	login := ""
	if user != nil {
		login = user.Login
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_ = authorizePage.Execute(c.w, map[string]string{"App": "Procore sync", "User": login, "ClientID": ar.clientID,
		"RedirectURI": ar.redirectURI, "State": ar.state, "Challenge": ar.challenge, "Method": ar.method})
}

// oauthAuthorizeDecide serves POST /oauth/authorize, the page's form:
// "allow" redirects to redirect_uri with a single-use code (valid 10
// minutes) and the state; anything else with error=access_denied.
func (c *call) oauthAuthorizeDecide() {
	v, err := url.ParseQuery(string(c.body))
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	ar, ok := c.parseAuthorize(v)
	if !ok {
		return
	}
	code := ""
	if v.Get("decision") == "allow" {
		s := c.s
		s.mu.Lock()
		code = hex.EncodeToString(randBytes(16))
		s.codes[code] = &grant{UserID: s.UserID, RedirectURI: ar.redirectURI, ClientID: ar.clientID,
			Expires: s.now().Add(10 * time.Minute)}
		if ar.challenge != "" {
			if s.pkce == nil {
				s.pkce = map[string][2]string{}
			}
			s.pkce[code] = [2]string{ar.method, ar.challenge}
		}
		s.mu.Unlock()
	}
	fakeservice.AuthorizeRedirect(c.w, ar.redirect, code, ar.state, "The resource owner or authorization server denied the request.")
}

// pkceLocked checks the code_verifier of an authorization code issued
// with a PKCE challenge (RFC 7636) and forgets the challenge; codes issued
// without one need no verifier. Caller holds s.mu.
func (s *Server) pkceLocked(code, verifier string) bool {
	ch, ok := s.pkce[code]
	delete(s.pkce, code)
	if !ok {
		return true
	}
	return fakeservice.PKCEMatches(ch[0], ch[1], verifier)
}

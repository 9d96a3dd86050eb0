package graphtest

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// authorizePage is the identity platform's consent page of
// GET /{tenant}/oauth2/v2.0/authorize.
var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Permissions requested - Microsoft</title></head>
<body>
<h1>Permissions requested</h1>
<p>An app (client {{.ClientID}}) would like to: {{.Scope}}</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">
<button type="submit" id="allow" name="decision" value="allow">Accept</button>
<button type="submit" id="deny" name="decision" value="deny">Cancel</button>
</form>
</body></html>
`))

// serveAuthorize serves /{tenant}/oauth2/v2.0/authorize: GET shows the
// consent page with an "Accept" button; its POST redirects to
// redirect_uri with a single-use code and the state (or
// error=access_denied). A PKCE challenge must use S256 or plain; the token
// endpoint then requires its code_verifier (AADSTS50148).
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request, body []byte) {
	var v url.Values
	switch r.Method {
	case http.MethodGet:
		v = r.URL.Query()
	case http.MethodPost:
		var err error
		if v, err = url.ParseQuery(string(body)); err != nil {
			http.Error(w, "AADSTS900144: malformed request", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	redirect, err := url.Parse(v.Get("redirect_uri"))
	switch {
	case v.Get("response_type") != "code":
		http.Error(w, "AADSTS900144: The request body must contain the following parameter: 'response_type'.", http.StatusBadRequest)
		return
	case v.Get("client_id") == "":
		http.Error(w, "AADSTS900144: The request body must contain the following parameter: 'client_id'.", http.StatusBadRequest)
		return
	case err != nil || !redirect.IsAbs():
		http.Error(w, "AADSTS50011: The redirect URI specified in the request does not match.", http.StatusBadRequest)
		return
	}
	method := v.Get("code_challenge_method")
	if v.Get("code_challenge") != "" && method == "" {
		method = "plain"
	}
	if v.Get("code_challenge") != "" && method != "S256" && method != "plain" {
		http.Error(w, "AADSTS501491: Invalid code_challenge_method.", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = authorizePage.Execute(w, map[string]string{"Action": r.URL.Path, "ClientID": v.Get("client_id"),
			"RedirectURI": v.Get("redirect_uri"), "Scope": v.Get("scope"), "State": v.Get("state"),
			"Challenge": v.Get("code_challenge"), "Method": method})
		return
	}
	code := ""
	if v.Get("decision") == "allow" {
		code = s.AuthCode()
		if ch := v.Get("code_challenge"); ch != "" {
			s.mu.Lock()
			if s.pkce == nil {
				s.pkce = map[string][2]string{}
			}
			s.pkce[code] = [2]string{method, ch}
			s.mu.Unlock()
		}
	}
	fakeservice.AuthorizeRedirect(w, redirect, code, v.Get("state"), "AADSTS65004: User declined to consent to access the app.")
}

// isAuthorizePath reports whether p is /{tenant}/oauth2/v2.0/authorize.
func isAuthorizePath(p string) bool {
	return strings.HasSuffix(p, "/oauth2/v2.0/authorize") && strings.Count(p, "/") == 4
}

// pkceLocked checks the code_verifier of a code issued with a PKCE
// challenge and forgets the challenge; codes issued without one need no
// verifier. Called with s.mu held.
func (s *Server) pkceLocked(code, verifier string) bool {
	ch, ok := s.pkce[code]
	delete(s.pkce, code)
	if !ok {
		return true
	}
	return fakeservice.PKCEMatches(ch[0], ch[1], verifier)
}

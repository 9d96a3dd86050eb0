package boxtest

import (
	"html/template"
	"io"
	"net/http"
	"net/url"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// authorizePage is account.box.com's "Grant access to Box" page of
// GET /api/oauth2/authorize.
var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Box | Grant access</title></head>
<body>
<h1>Grant access to Box</h1>
<p>The application (client {{.ClientID}}) would like to read and write all files and folders stored in Box.</p>
<form method="post" action="/api/oauth2/authorize">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<button type="submit" id="allow" name="decision" value="allow">Grant access to Box</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// AuthorizeURL is the fake's authorization page (as
// https://account.box.com/api/oauth2/authorize in production).
func (s *Server) AuthorizeURL() string { return s.API.URL + "/api/oauth2/authorize" }

// serveAuthorize serves /api/oauth2/authorize: GET shows the page with a
// "Grant access to Box" button for a known client_id and an absolute
// redirect_uri; its POST redirects to redirect_uri with a single-use code
// and the state, or error=access_denied. Box does not use PKCE: a
// code_challenge is ignored, as Box ignores it.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var v url.Values
	switch r.Method {
	case http.MethodGet:
		v = r.URL.Query()
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err == nil {
			v, err = url.ParseQuery(string(body))
		}
		if err != nil {
			http.Error(w, "invalid_request", http.StatusBadRequest)
			return
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	redirect, err := url.Parse(v.Get("redirect_uri"))
	if v.Get("response_type") != "code" || v.Get("client_id") != s.opt.ClientID || err != nil || !redirect.IsAbs() {
		http.Error(w, "invalid_request: the client_id, response_type or redirect_uri is invalid", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = authorizePage.Execute(w, map[string]string{"ClientID": v.Get("client_id"),
			"RedirectURI": v.Get("redirect_uri"), "State": v.Get("state")})
		return
	}
	code := ""
	if v.Get("decision") == "allow" {
		code = s.AuthCode()
	}
	fakeservice.AuthorizeRedirect(w, redirect, code, v.Get("state"), "The user denied access to your application")
}

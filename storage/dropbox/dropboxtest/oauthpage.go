package dropboxtest

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/url"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// authorizePage is www.dropbox.com's app authorization page of
// GET /oauth2/authorize.
var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>API Request Authorization - Dropbox</title></head>
<body>
<h1>Allow access to your Dropbox?</h1>
<p>The app (key {{.ClientID}}) would like to see and edit the files and folders in your Dropbox.</p>
<form method="post" action="/oauth2/authorize">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="code_challenge" value="{{.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Method}}">
<input type="hidden" name="token_access_type" value="{{.AccessType}}">
<button type="submit" id="allow" name="decision" value="allow">Allow</button>
<button type="submit" id="deny" name="decision" value="deny">Cancel</button>
</form>
</body></html>
`))

// AuthorizeURL is the fake's authorization page (as
// https://www.dropbox.com/oauth2/authorize in production).
func (s *Server) AuthorizeURL() string { return s.API.URL + "/oauth2/authorize" }

// serveAuthorize serves /oauth2/authorize: GET shows the page with an
// "Allow" button for the app's key; its POST redirects to redirect_uri with
// a single-use code bound to the PKCE challenge (S256; the token endpoint
// checks the verifier) and the state, or error=access_denied.
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
			writeText(w, http.StatusBadRequest, "invalid request")
			return
		}
	default:
		writeText(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	redirect, err := url.Parse(v.Get("redirect_uri"))
	switch {
	case v.Get("client_id") != s.opt.AppKey:
		writeText(w, http.StatusBadRequest, `Invalid client_id: "`+v.Get("client_id")+`"`)
		return
	case v.Get("response_type") != "code":
		writeText(w, http.StatusBadRequest, "Invalid response_type")
		return
	case err != nil || !redirect.IsAbs():
		writeText(w, http.StatusBadRequest, "Invalid redirect_uri")
		return
	case v.Get("code_challenge") != "" && v.Get("code_challenge_method") != "S256":
		writeText(w, http.StatusBadRequest, "Invalid code_challenge_method: only S256 is supported")
		return
	}
	if r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = authorizePage.Execute(w, map[string]string{"ClientID": v.Get("client_id"), "RedirectURI": v.Get("redirect_uri"),
			"State": v.Get("state"), "Challenge": v.Get("code_challenge"), "Method": v.Get("code_challenge_method"),
			"AccessType": v.Get("token_access_type")})
		return
	}
	code := ""
	if v.Get("decision") == "allow" {
		code = s.Authorize(v.Get("code_challenge"))
	}
	fakeservice.AuthorizeRedirect(w, redirect, code, v.Get("state"),
		"The user chose not to give your app access to their Dropbox account.")
}

// currentAccount serves users/get_current_account (no argument): the
// signed-in account as a FullAccount.
func (s *Server) currentAccount(rc *reqCtx, _ json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	root := map[string]any{".tag": "user", "root_namespace_id": HomeNS, "home_namespace_id": HomeNS}
	if rc.ns != HomeNS {
		root = map[string]any{".tag": "team", "root_namespace_id": TeamRootNS, "home_namespace_id": "3001",
			"home_path": "/Member One"}
	}
	return map[string]any{"account_id": "dbid:AAAfake",
		"name": map[string]any{"given_name": "Franz", "surname": "Ferdinand", "familiar_name": "Franz",
			"display_name": "Franz Ferdinand", "abbreviated_name": "FF"},
		"email": "franz@example.com", "email_verified": true, "disabled": false, "country": "US", "locale": "en",
		"referral_link": "https://db.tt/fake", "is_paired": false, "account_type": map[string]any{".tag": "basic"},
		"root_info": root}, nil, nil
}

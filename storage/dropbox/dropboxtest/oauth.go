package dropboxtest

import (
	"net/http"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"golang.org/x/oauth2"
)

type oauth2Token = oauth2.Token

func newOAuthToken(tok string) *oauth2.Token {
	return &oauth2.Token{AccessToken: tok, TokenType: "bearer", Expiry: time.Now().Add(time.Hour)}
}

// serveToken is POST /oauth2/token: authorization_code (with the PKCE
// verifier or the app secret) and refresh_token grants.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeText(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != s.opt.AppKey || secret != "" && secret != s.opt.AppSecret {
		writeJSON(w, 400, map[string]string{"error": "invalid_client", "error_description": "Invalid client_id or client_secret"})
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		s.mu.Lock()
		ch, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		s.mu.Unlock()
		pkceOK := ch != "" && fakeservice.PKCEMatches("S256", ch, f.Get("code_verifier"))
		if !ok || !(pkceOK || ch == "" && secret != "") {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "code doesn't exist or has expired"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": s.Token(), "token_type": "bearer", "expires_in": 14400,
			"refresh_token": s.refresh.Issue("rt.", 100*365*24*time.Hour), "scope": "files.content.read files.content.write files.metadata.read",
			"uid": "12345", "account_id": "dbid:AAAfake"})
	case "refresh_token":
		if s.refresh.Check(f.Get("refresh_token")) != fakeservice.TokenValid {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": s.Token(), "token_type": "bearer", "expires_in": 14400})
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
	}
}

package boxtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// AuthCode issues an authorization code, as the browser flow at
// account.box.com would hand one to the redirect URI (valid 30 s).
func (s *Server) AuthCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := randomHex(16)
	s.codes[c] = true
	return c
}

// RefreshToken issues a refresh token (one use each, as Box's rotate).
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newRefresh()
}

func (s *Server) newRefresh() string {
	t := randomHex(24)
	s.refresh[t] = true
	return t
}

// token serves POST /oauth2/token (form): authorization_code,
// refresh_token (the old refresh token dies with its use), client
// credentials with box_subject_type/box_subject_id, and JWT bearer
// assertions signed with the app's key.
func (s *Server) token(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	f, err := url.ParseQuery(string(body))
	bad := func(code, desc string) *apiError {
		writeJSON(w, 400, map[string]any{"error": code, "error_description": desc})
		return nil
	}
	if err != nil {
		return bad("invalid_request", "malformed form")
	}
	if f.Get("client_id") != s.opt.ClientID || f.Get("client_secret") != s.opt.ClientSecret {
		return bad("invalid_client", "The client credentials are invalid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	refresh := ""
	switch f.Get("grant_type") {
	case "authorization_code":
		if !s.codes[f.Get("code")] {
			return bad("invalid_grant", "Auth code doesn't exist or is invalid for the client")
		}
		delete(s.codes, f.Get("code"))
		refresh = s.newRefresh()
	case "refresh_token":
		if !s.refresh[f.Get("refresh_token")] {
			return bad("invalid_grant", "Invalid refresh token")
		}
		delete(s.refresh, f.Get("refresh_token"))
		refresh = s.newRefresh()
	case "client_credentials":
		switch typ, id := f.Get("box_subject_type"), f.Get("box_subject_id"); {
		case typ == "enterprise" && id == s.opt.EnterpriseID, typ == "user" && id == MeID:
		default:
			return bad("invalid_grant", "Grant credentials are invalid")
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if desc := s.checkJWT(f.Get("assertion")); desc != "" {
			return bad("invalid_grant", desc)
		}
	default:
		return bad("unsupported_grant_type", "Grant type is not supported")
	}
	out := map[string]any{"access_token": s.tokens.Issue("box.", time.Hour), "expires_in": 3600, "token_type": "bearer", "restricted_to": []any{}}
	if refresh != "" {
		out["refresh_token"] = refresh
	}
	writeJSON(w, 200, out)
	return nil
}

// checkJWT verifies an RS256 assertion as Box does; "" when it is good.
func (s *Server) checkJWT(a string) string {
	parts := strings.Split(a, ".")
	if len(parts) != 3 || s.opt.JWTKey == nil {
		return "Invalid JWT"
	}
	var hdr struct{ Alg, Kid, Typ string }
	var cl struct {
		Iss, Sub, Aud, Jti string
		BoxSubType         string `json:"box_sub_type"`
		Exp                int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &cl) != nil {
		return "Invalid JWT"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr.Alg != "RS256" || hdr.Kid != s.opt.JWTKeyID || rsa.VerifyPKCS1v15(s.opt.JWTKey, crypto.SHA256, sum[:], sig) != nil {
		return "Signature verification error. The public key identified by \"kid\" must correspond to the private key used for signing."
	}
	now := s.opt.Now().Unix()
	switch {
	case cl.Iss != s.opt.ClientID || cl.Aud != "https://api.box.com/oauth2/token":
		return "Invalid JWT claims"
	case cl.Exp <= now || cl.Exp > now+60:
		return "Current date time must be before the expiration date time listed in the 'exp' claim."
	case len(cl.Jti) < 16 || len(cl.Jti) > 128 || s.jtis[cl.Jti]:
		return "A unique 'jti' value is required."
	case !(cl.BoxSubType == "enterprise" && cl.Sub == s.opt.EnterpriseID || cl.BoxSubType == "user" && cl.Sub == MeID):
		return "Please check the 'sub' claim."
	}
	s.jtis[cl.Jti] = true
	return ""
}

func (s *Server) revoke(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	f, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	delete(s.refresh, f.Get("token"))
	s.mu.Unlock()
	s.tokens.Revoke(f.Get("token"))
	w.WriteHeader(200)
	return nil
}

// SetJWTKey registers the app's public key for JWT server auth.
func (s *Server) SetJWTKey(k *rsa.PublicKey, kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.JWTKey, s.opt.JWTKeyID = k, kid
}

// SetWebhookKeys sets the keys that sign webhook deliveries (Box's key
// rotation changes one at a time).
func (s *Server) SetWebhookKeys(primary, secondary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.PrimaryKey, s.opt.SecondaryKey = primary, secondary
}

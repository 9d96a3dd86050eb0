package graphtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// TokenLifetime is how long access tokens issued by the fake live.
const TokenLifetime = time.Hour

// RefreshTokenLifetime is how long refresh tokens issued by the fake live
// (Microsoft's default for refresh tokens: 90 days). A refresh token stays
// valid after it is redeemed, as Microsoft's do: redeeming it returns a
// new one, but the old one is not revoked.
const RefreshTokenLifetime = 90 * 24 * time.Hour

// ClientAssertionType is the client_assertion_type of a certificate
// credential.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// contentToken is an access token for the SharePoint resource (the
// content host).
type contentToken struct {
	expires          time.Time
	appOnlySecret    bool // client credentials with a client secret
	appOnlyAssertion bool // client credentials with a certificate
}

// Token returns a fresh access token the fake accepts.
func (s *Server) Token() string { return s.tokens.Issue("eyJ0eXAi.", TokenLifetime) }

// ContentResource is the resource (audience) of the fake's content host,
// the counterpart of a tenant's https://{tenant}.sharepoint.com: a token
// for it is asked for with scope ContentResource()+"/.default".
func (s *Server) ContentResource() string { return s.Content.URL }

// ContentToken returns a fresh delegated access token for the SharePoint
// resource (the content host), as the token endpoint would issue it.
func (s *Server) ContentToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := "eyJ0eXAiSP." + randomToken(16)
	s.content[tok] = contentToken{expires: s.now().Add(TokenLifetime)}
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

// AddCertificate registers a certificate credential of app clientID, as
// uploaded to the app registration: the token endpoint then accepts
// client assertions signed with its key (and names it by x5t).
func (s *Server) AddCertificate(clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[clientID] = append(s.certs[clientID], cert)
}

// ExpireTokens makes every access token issued so far expired (Graph's and
// the SharePoint resource's); API calls with them answer 401 with an
// expired_token challenge. Refresh tokens stay valid.
func (s *Server) ExpireTokens() {
	s.tokens.ExpireTokens()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.content {
		v.expires = time.Time{}
		s.content[k] = v
	}
}

// ExpireToken makes one Graph access token expire now, before the expiry
// its token response announced; it reports whether the token was known.
func (s *Server) ExpireToken(accessToken string) bool { return s.tokens.ExpireToken(accessToken) }

func (s *Server) checkAuth(r *http.Request) *apiError {
	if s.opt.NoAuth {
		return nil
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	state := s.tokens.Check(tok)
	if !ok || state == fakeservice.TokenUnknown {
		e := errf(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token"`}
		return e
	}
	if state == fakeservice.TokenExpired {
		e := errf(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token", error_description="expired_token"`}
		return e
	}
	return nil
}

// checkContentAuth checks the bearer token of a content URL when
// pre-authenticated URLs are switched off. Called with s.mu held.
func (s *Server) checkContentAuth(r *http.Request) *apiError {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, known := s.content[tok]
	if !ok || !known {
		e := errf(401, "unauthenticated", "Unsupported security token or no token for this resource.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token"`}
		return e
	}
	if !s.now().Before(ct.expires) {
		e := errf(401, "unauthenticated", "The access token has expired.")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="", error="invalid_token", error_description="expired_token"`}
		return e
	}
	if ct.appOnlySecret {
		return errf(401, "unauthenticated", "Unsupported app only token.")
	}
	return nil
}

// handleToken is the identity platform's /{tenant}/oauth2/v2.0/token.
func (s *Server) handleToken(w *recorder, r *http.Request, body []byte) *apiError {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return &apiError{status: 400, code: "invalid_request", msg: "malformed form"}
	}
	oauthErrStatus := func(status int, code, desc string) *apiError {
		// The identity platform appends trace, correlation and time lines.
		b, _ := json.Marshal(map[string]any{"error": code, "error_description": desc + "\r\nTrace ID: " + randomToken(8) +
			"\r\nCorrelation ID: " + randomToken(8) + "\r\nTimestamp: " + s.now().Format("2006-01-02 15:04:05Z"),
			"error_codes": []int{}, "timestamp": s.now().Format("2006-01-02 15:04:05Z"), "trace_id": randomToken(8)})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return nil
	}
	oauthErr := func(code, desc string) *apiError { return oauthErrStatus(400, code, desc) }
	clientID := form.Get("client_id")
	if clientID == "" {
		u, _, ok := r.BasicAuth()
		if !ok || u == "" {
			return oauthErr("invalid_client", "AADSTS700016: client_id is missing")
		}
		clientID = u
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assertion := false
	if at := form.Get("client_assertion_type"); at != "" || form.Get("client_assertion") != "" {
		if at != ClientAssertionType {
			return oauthErr("invalid_request", "AADSTS50027: client_assertion_type must be "+ClientAssertionType)
		}
		if form.Get("client_secret") != "" {
			return oauthErr("invalid_request", "AADSTS700025: client_secret and client_assertion were both sent")
		}
		tokenURL := s.API.URL + r.URL.Path
		if code, desc := s.verifyAssertion(form.Get("client_assertion"), clientID, tokenURL); code != "" {
			return oauthErrStatus(401, code, desc)
		}
		assertion = true
	}
	scope := form.Get("scope")
	contentAud := false
	for _, sc := range strings.Fields(scope) {
		if aud, ok := strings.CutSuffix(sc, "/.default"); ok && strings.EqualFold(strings.TrimRight(aud, "/"), s.Content.URL) {
			contentAud = true
		}
	}
	issueRefresh, appOnly := false, false
	switch form.Get("grant_type") {
	case "client_credentials":
		if !strings.HasSuffix(scope, "/.default") {
			return oauthErr("invalid_scope", "AADSTS1002012: client credentials need the .default scope")
		}
		if !assertion && form.Get("client_secret") == "" {
			return oauthErrStatus(401, "invalid_client", "AADSTS7000218: the request body must contain client_assertion or client_secret")
		}
		appOnly = true
	case "authorization_code":
		if !s.pkceLocked(form.Get("code"), form.Get("code_verifier")) {
			return oauthErr("invalid_grant", "AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
		}
		if !s.codes[form.Get("code")] {
			return oauthErr("invalid_grant", "AADSTS70008: the code has expired or was used")
		}
		delete(s.codes, form.Get("code"))
		issueRefresh = true // codes from AuthCode were granted offline_access
	case "refresh_token":
		if s.refresh.Check(form.Get("refresh_token")) != fakeservice.TokenValid {
			return oauthErr("invalid_grant", "AADSTS700082: the refresh token has expired or is invalid")
		}
		// Redeeming does not revoke it: it stays valid until it expires.
		issueRefresh = true
	default:
		return oauthErr("unsupported_grant_type", "AADSTS70003: unsupported grant type")
	}
	var tok string
	if contentAud {
		tok = "eyJ0eXAiSP." + randomToken(16)
		s.content[tok] = contentToken{expires: s.now().Add(TokenLifetime), appOnlySecret: appOnly && !assertion, appOnlyAssertion: appOnly && assertion}
	} else {
		tok = s.tokens.Issue("eyJ0eXAi.", TokenLifetime)
	}
	out := `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"` + tok + `"`
	if issueRefresh {
		rt := s.refresh.Issue("M.R3_", RefreshTokenLifetime)
		out += `,"refresh_token":"` + rt + `"`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(out + "}"))
	return nil
}

// verifyAssertion checks a client assertion as the identity platform does:
// an RS256 JWT whose x5t names a certificate registered for clientID,
// signed with its key, with aud the token URL, iss and sub clientID, and
// inside its validity. It returns an OAuth error code and description, or
// "" when the assertion is good. Called with s.mu held.
func (s *Server) verifyAssertion(jwt, clientID, tokenURL string) (string, string) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "invalid_client", "AADSTS50027: JWT token is invalid or malformed."
	}
	var hdr struct {
		Alg string `json:"alg"`
		X5t string `json:"x5t"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Exp int64  `json:"exp"`
		Nbf int64  `json:"nbf"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return "invalid_client", "AADSTS50027: JWT token is invalid or malformed."
	}
	if hdr.Alg != "RS256" && hdr.Alg != "PS256" {
		return "invalid_client", "AADSTS5002730: Invalid JWT token. Unsupported key for the signing algorithm."
	}
	var cert *x509.Certificate
	for _, c := range s.certs[clientID] {
		sum := sha1.Sum(c.Raw)
		if base64.RawURLEncoding.EncodeToString(sum[:]) == hdr.X5t {
			cert = c
		}
	}
	if cert == nil {
		return "invalid_client", "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "invalid_client", "AADSTS700027: Client assertion contains an invalid signature."
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr.Alg == "PS256" {
		err1 = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	} else {
		err1 = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	}
	if err1 != nil {
		return "invalid_client", "AADSTS700027: Client assertion contains an invalid signature."
	}
	if claims.Iss != clientID || claims.Sub != clientID {
		return "invalid_client", "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
	}
	if !strings.EqualFold(claims.Aud, tokenURL) {
		return "invalid_client", "AADSTS700016: The audience of the client assertion is not the token endpoint."
	}
	now := s.now().Unix()
	if claims.Exp == 0 || now >= claims.Exp || claims.Nbf > now+300 || claims.Exp-now > 24*3600 {
		return "invalid_client", "AADSTS700024: Client assertion is not within its valid time range."
	}
	return "", ""
}

// NewCertificate makes a self-signed RSA certificate credential for tests:
// the certificate and its PKCS #8 key as PEM, and the parsed certificate
// (register it with AddCertificate).
func NewCertificate(tb testing.TB) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "procoresync test app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	k8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), cert
}

package graphtest_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/stretchr/testify/require"
)

// token posts a form to the fake's token endpoint.
func (r *raw) token(form url.Values) (int, map[string]any) {
	r.t.Helper()
	status, _, m := r.do(http.MethodPost, r.srv.LoginURL()+"/contoso/oauth2/v2.0/token", []byte(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	return status, m
}

func TestRefreshTokensStayValidAfterUse(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	status, m := r.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"}, "code": {r.srv.AuthCode()}})
	require.Equal(t, 200, status, "%v", m)
	rt := m["refresh_token"].(string)
	var next string
	for i := range 3 {
		status, m = r.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {rt}})
		require.Equal(t, 200, status, "redeeming the same refresh token, time %d: %v", i+1, m)
		next = m["refresh_token"].(string)
		require.NotEqual(t, rt, next, "a new refresh token comes back")
	}
	status, _ = r.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {next}})
	require.Equal(t, 200, status, "and the new one works as well")
	status, m = r.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {"M.R3_unknown"}})
	require.Equal(t, 400, status)
	require.Equal(t, "invalid_grant", m["error"])
}

func TestRefreshTokensExpire(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	r := newRaw(t, graphtest.Options{Now: func() time.Time { return now }})
	_, m := r.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"}, "code": {r.srv.AuthCode()}})
	rt := m["refresh_token"].(string)
	now = now.Add(graphtest.RefreshTokenLifetime + time.Second)
	status, m := r.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {rt}})
	require.Equal(t, 400, status)
	require.Equal(t, "invalid_grant", m["error"])
}

// location gets the content URL a download redirects to.
func location(t *testing.T, r *raw, name string) string {
	t.Helper()
	it, err := r.srv.WebUpload(r.srv.MyDriveID(), name, []byte("content of "+name))
	require.NoError(t, err)
	status, h, _ := r.do(http.MethodGet, "/drives/"+r.srv.MyDriveID()+"/items/"+it.ID+"/content", nil)
	require.Equal(t, http.StatusFound, status)
	return h.Get("Location")
}

func TestContentURLModes(t *testing.T) {
	t.Run("pre-authenticated (default)", func(t *testing.T) {
		r := newRaw(t, graphtest.Options{})
		loc := location(t, r, "a.txt")
		u, err := url.Parse(loc)
		require.NoError(t, err)
		require.NotEmpty(t, u.Query().Get("tempauth"))
		status, _, m := r.do(http.MethodGet, loc, nil)
		require.Equal(t, 200, status)
		require.Equal(t, "content of a.txt", m["_raw"])
		status, _, _ = r.do(http.MethodGet, loc, nil, "Authorization", "Bearer "+r.tok)
		require.Equal(t, 401, status, "no Authorization header on a pre-authenticated URL")
		u.RawQuery = ""
		status, _, _ = r.do(http.MethodGet, u.String(), nil)
		require.Equal(t, 401, status, "without tempauth the URL is not authenticated")
		// Upload-session URLs are pre-authenticated too.
		status, _, m = r.do(http.MethodPost, "/me/drive/root:/b.bin:/createUploadSession", []byte(`{}`))
		require.Equal(t, 200, status)
		require.Contains(t, m["uploadUrl"], "tempauth=")
	})
	t.Run("pre-authentication switched off", func(t *testing.T) {
		r := newRaw(t, graphtest.Options{PreAuthDisabled: true})
		loc := location(t, r, "a.txt")
		require.NotContains(t, loc, "tempauth")
		status, _, _ := r.do(http.MethodGet, loc, nil)
		require.Equal(t, 401, status, "no token")
		status, _, _ = r.do(http.MethodGet, loc, nil, "Authorization", "Bearer "+r.tok)
		require.Equal(t, 401, status, "a Graph token is for another resource")
		status, _, m := r.do(http.MethodGet, loc, nil, "Authorization", "Bearer "+r.srv.ContentToken())
		require.Equal(t, 200, status, "%v", m)
		require.Equal(t, "content of a.txt", m["_raw"])

		// App-only tokens for the SharePoint resource from a client secret
		// are issued but refused by SharePoint.
		status, m = r.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"s"},
			"scope": {r.srv.ContentResource() + "/.default"}})
		require.Equal(t, 200, status)
		status, _, m = r.do(http.MethodGet, loc, nil, "Authorization", "Bearer "+m["access_token"].(string))
		require.Equal(t, 401, status)
		require.Equal(t, "Unsupported app only token.", stringOf(m))
	})
}

func stringOf(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	return ""
}

func TestClientAssertions(t *testing.T) {
	r := newRaw(t, graphtest.Options{PreAuthDisabled: true})
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
	require.NoError(t, err)
	r.srv.AddCertificate("app", x509Cert)
	tokenURL := r.srv.LoginURL() + "/contoso/oauth2/v2.0/token"
	good, err := cert.Assertion("app", tokenURL, time.Now())
	require.NoError(t, err)
	stale, err := cert.Assertion("app", tokenURL, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	wrongAud, err := cert.Assertion("app", "https://login.example.com/token", time.Now())
	require.NoError(t, err)
	other, err := cert.Assertion("other-app", tokenURL, time.Now())
	require.NoError(t, err)
	parts := strings.Split(good, ".")
	// Flip a bit of the signature itself (flipping a bit of its base64url
	// text may give a character outside the alphabet: a malformed JWT).
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[10] ^= 1
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	for _, tc := range []struct {
		name, assertion, desc string
		status                int
	}{
		{"good", good, "", 200},
		{"tampered signature", tampered, "AADSTS700027", 401},
		{"expired", stale, "AADSTS700024", 401},
		{"another audience", wrongAud, "audience", 401},
		{"another app", other, "AADSTS700021", 401},
		{"not a JWT", "abc", "AADSTS50027", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m := r.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"},
				"scope": {r.srv.ContentResource() + "/.default"}, "client_assertion_type": {graphtest.ClientAssertionType},
				"client_assertion": {tc.assertion}})
			require.Equal(t, tc.status, status, "%v", m)
			if tc.status != 200 {
				require.Equal(t, "invalid_client", m["error"])
				require.Contains(t, m["error_description"], tc.desc)
				return
			}
			// A certificate-backed app-only token opens content.
			loc := location(t, r, "c-"+tc.name+".txt")
			status, _, _ = r.do(http.MethodGet, loc, nil, "Authorization", "Bearer "+m["access_token"].(string))
			require.Equal(t, 200, status)
		})
	}
	status, m := r.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {r.srv.API.URL + "/.default"}})
	require.Equal(t, 401, status, "neither secret nor assertion")
	require.Equal(t, "invalid_client", m["error"])
}

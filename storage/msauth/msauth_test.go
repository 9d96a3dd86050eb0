package msauth_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msauth"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

type memStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves int
}

func (m *memStore) Load(context.Context) (*oauth2.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tok, nil
}

func (m *memStore) Save(_ context.Context, t *oauth2.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok, m.saves = t, m.saves+1
	return nil
}

func fakeCloud(srv *graphtest.Server) msauth.Cloud {
	return msauth.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}
}

func newClient(t *testing.T, srv *graphtest.Server, src oauth2.TokenSource, content func(string) (oauth2.TokenSource, error)) *msgraph.Client {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{
		BaseURL: fakeCloud(srv).BaseURL(), TokenSource: src, ContentTokens: content,
		ContentHosts: []string{strings.TrimPrefix(srv.Content.URL, "http://")},
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond,
	})
	require.NoError(t, err)
	return c
}

func read(t *testing.T, s *onedrive.Storage, p string) string {
	t.Helper()
	ctx := context.Background()
	e, err := s.Stat(ctx, p)
	require.NoError(t, err)
	rc, err := s.Open(ctx, e)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

// A signed-in user: the code is exchanged and saved, the Storage works
// with the delegated source, and the rotated refresh token is saved
// before it is used; download URLs without tempauth get the SharePoint
// token from the same refresh token.
func TestDelegated(t *testing.T) {
	ctx := context.Background()
	srv := graphtest.NewServer(t, graphtest.Options{PreAuthDisabled: true})
	_, err := srv.WebUpload(srv.MyDriveID(), "Plans/A-101.pdf", []byte("%PDF-1.7"))
	require.NoError(t, err)
	cfg := msauth.DelegatedConfig(fakeCloud(srv), "common", "app-id", "app-secret", "http://localhost/callback")
	require.Equal(t, msauth.DefaultDelegatedScopes, cfg.Scopes)
	require.Equal(t, srv.LoginURL()+"/common/oauth2/v2.0/token", cfg.Endpoint.TokenURL)

	store := &memStore{}
	require.NoError(t, msauth.Exchange(ctx, cfg, store, srv.AuthCode()))
	first := store.tok.RefreshToken
	require.NotEmpty(t, first)
	require.Equal(t, 1, store.saves)
	// The access token saved has expired since: the first call refreshes.
	expired := *store.tok
	expired.Expiry = time.Now().Add(-time.Minute)
	store.tok = &expired
	src, err := msauth.DelegatedSource(ctx, cfg, store)
	require.NoError(t, err)

	s, err := onedrive.New(ctx, newClient(t, srv, src, msauth.DelegatedContentTokens(ctx, cfg, store)), onedrive.Options{})
	require.NoError(t, err)
	require.Equal(t, "%PDF-1.7", read(t, s, "Plans/A-101.pdf"))
	require.Equal(t, 2, store.saves, "the refreshed token is saved before use")
	require.NotEqual(t, first, store.tok.RefreshToken, "the rotated refresh token is saved")
}

// App-only with a certificate: Graph and SharePoint tokens from signed
// client assertions.
func TestAppOnlyCertificate(t *testing.T) {
	ctx := context.Background()
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	const appID = "00000000-aaaa-bbbb-cccc-000000000003"
	srv := graphtest.NewServer(t, graphtest.Options{PreAuthDisabled: true})
	srv.AddCertificate(appID, x509Cert)
	_, err := srv.WebUpload(srv.MyDriveID(), "spec.txt", []byte("spec"))
	require.NoError(t, err)

	cert, err := msauth.ParseCertificate(certPEM, keyPEM)
	require.NoError(t, err)
	require.NotEmpty(t, cert.Thumbprint())
	cloud := fakeCloud(srv)
	c := newClient(t, srv, msauth.AppOnlyCertSource(ctx, cloud, "contoso", appID, cert),
		msauth.AppOnlyContentTokens(ctx, cloud, "contoso", appID, cert))
	s, err := onedrive.New(ctx, c, onedrive.Options{User: graphtest.MeUPN})
	require.NoError(t, err)
	require.Equal(t, "spec", read(t, s, "spec.txt"))
	require.Equal(t, 2, srv.CallCount("oauth2.Token"), "one Graph token, one SharePoint token")

	_, err = msauth.ParseCertificate(certPEM, nil)
	require.Error(t, err, "no key")
}

// A refusal by the token endpoint is a *TokenError (code, short
// description, no secret), matches storage.ErrPermissionDenied and is
// not retried.
func TestTokenError(t *testing.T) {
	ctx := context.Background()
	srv := graphtest.NewServer(t, graphtest.Options{})
	cfg := msauth.DelegatedConfig(fakeCloud(srv), "common", "app-id", "app-secret", "http://localhost/callback")
	const stale = "M.R3_STALE-REFRESH-TOKEN"
	store := &memStore{tok: &oauth2.Token{RefreshToken: stale}}
	src, err := msauth.DelegatedSource(ctx, cfg, store)
	require.NoError(t, err)

	_, err = src.TokenContext(ctx)
	var te *msauth.TokenError
	require.True(t, errors.As(err, &te), "%T %v", err, err)
	require.Equal(t, "invalid_grant", te.Code)
	require.Equal(t, 400, te.StatusCode)
	require.False(t, te.Temporary())
	require.ErrorIs(t, err, storage.ErrPermissionDenied)

	srv.ResetCalls()
	_, err = onedrive.New(ctx, newClient(t, srv, src, nil), onedrive.Options{})
	require.Error(t, err)
	te = nil
	require.True(t, errors.As(err, &te), "through the client: %T %v", err, err)
	require.Equal(t, "invalid_grant", te.Code)
	require.ErrorIs(t, err, storage.ErrPermissionDenied)
	require.NotContains(t, err.Error(), stale)
	require.NotContains(t, err.Error(), "app-secret")
	require.Equal(t, 1, srv.CallCount("oauth2.Token"), "a refusal is not retried")

	err = msauth.Exchange(ctx, cfg, &memStore{}, "M.Cused")
	te = nil
	require.True(t, errors.As(err, &te), "%T %v", err, err)
	require.True(t, strings.HasPrefix(te.Code, "invalid_"), te.Code)

	_, err = msauth.DelegatedSource(ctx, cfg, &memStore{})
	require.Error(t, err, "no refresh token stored")
}

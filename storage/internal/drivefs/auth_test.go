package drivefs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/drivefs"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// contentEnv is a fake with pre-authenticated URLs switched off and a
// client whose content tokens come from tokens.
func contentFS(t *testing.T, srv *graphtest.Server, src oauth2.TokenSource, tokens msgraph.ContentTokens) *drivefs.FS {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src, RetryMax: -1,
		ContentTokens: tokens, ContentHosts: []string{strings.TrimPrefix(srv.Content.URL, "http://")}})
	require.NoError(t, err)
	f, err := drivefs.NewFS(context.Background(), c, srv.MyDriveID(), "")
	require.NoError(t, err)
	return f
}

func readAll(t *testing.T, f *drivefs.FS, name string) ([]byte, error) {
	t.Helper()
	e, err := f.Stat(context.Background(), name)
	require.NoError(t, err)
	rc, err := f.Open(context.Background(), e)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestContentURLsWithoutPreAuthentication(t *testing.T) {
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
	require.NoError(t, err)
	const appID = "00000000-aaaa-bbbb-cccc-000000000001"

	for _, disabled := range []bool{false, true} {
		t.Run(fmt.Sprintf("PreAuthDisabled=%v", disabled), func(t *testing.T) {
			srv := graphtest.NewServer(t, graphtest.Options{PreAuthDisabled: disabled})
			srv.AddCertificate(appID, x509Cert)
			cloud := msidentity.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}
			_, err := srv.WebUpload(srv.MyDriveID(), "plan.pdf", []byte("the plan"))
			require.NoError(t, err)
			var urls []string
			srv.Observe(func(ex graphtest.Exchange) {
				if ex.Op == "drives.GetContent" || ex.Op == "drives.items.GetContent" {
					urls = append(urls, ex.Header.Get("Location"))
				}
			})

			// App-only with a certificate, for Graph and for SharePoint.
			graphSrc := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
			f := contentFS(t, srv, graphSrc, msidentity.AppOnlyContentTokens(context.Background(), cloud, "contoso", appID, cert))
			b, err := readAll(t, f, "plan.pdf")
			require.NoError(t, err)
			require.Equal(t, "the plan", string(b))
			require.NotEmpty(t, urls)
			require.Equal(t, !disabled, strings.Contains(urls[len(urls)-1], "tempauth="))
			want := 1 // the Graph token
			if disabled {
				want = 2 // and the SharePoint token
			}
			require.Equal(t, want, srv.CallCount("oauth2.Token"))

			// Without content tokens: works only where URLs are
			// pre-authenticated, else a clear error.
			f = contentFS(t, srv, graphSrc, nil)
			_, err = readAll(t, f, "plan.pdf")
			if !disabled {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, storage.ErrPermissionDenied)
			require.ErrorContains(t, err, "ContentTokens")

			// SharePoint refuses app-only tokens obtained with a secret.
			secretTokens := func(resource string) (oauth2.TokenSource, error) {
				cc := &clientcredentials.Config{ClientID: appID, ClientSecret: "secret", TokenURL: cloud.Endpoint("contoso").TokenURL,
					Scopes: []string{resource + "/.default"}, AuthStyle: oauth2.AuthStyleInParams}
				return cc.TokenSource(context.Background()), nil
			}
			f = contentFS(t, srv, graphSrc, secretTokens)
			_, err = readAll(t, f, "plan.pdf")
			require.ErrorIs(t, err, storage.ErrPermissionDenied)

			// A signed-in user's refresh token yields the SharePoint token.
			cfg := msidentity.DelegatedConfig(cloud, "common", appID, "secret", "http://localhost/cb")
			store := &memStore{}
			require.NoError(t, msidentity.Exchange(context.Background(), cfg, store, srv.AuthCode()))
			dsrc, err := msidentity.DelegatedSource(context.Background(), cfg, store)
			require.NoError(t, err)
			f = contentFS(t, srv, dsrc, msidentity.DelegatedContentTokens(context.Background(), cfg, store))
			b, err = readAll(t, f, "plan.pdf")
			require.NoError(t, err)
			require.Equal(t, "the plan", string(b))
		})
	}
}

func TestRefreshErrorsHideTheRefreshToken(t *testing.T) {
	const rt = "M.R3_refresh-s3cret"
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"AADSTS70000: grant `+rt+` is malformed."}`)
	}))
	t.Cleanup(login.Close)
	cloud := msidentity.Cloud{Name: "x", Login: login.URL, Graph: "https://graph.microsoft.com"}
	cfg := msidentity.DelegatedConfig(cloud, "common", "app", "app-s3cret", "http://localhost/cb")
	store := &memStore{tok: &oauth2.Token{AccessToken: "old", RefreshToken: rt, Expiry: time.Unix(1, 0)}}
	src, err := msidentity.DelegatedSource(context.Background(), cfg, store)
	require.NoError(t, err)
	_, err = src.Token()
	require.ErrorContains(t, err, "invalid_grant")
	require.NotContains(t, err.Error(), rt)
	ts, err := msidentity.DelegatedContentTokens(context.Background(), cfg, store)("https://contoso.sharepoint.com")
	require.NoError(t, err)
	_, err = ts.Token()
	require.ErrorContains(t, err, "invalid_grant")
	require.NotContains(t, err.Error(), rt)
}

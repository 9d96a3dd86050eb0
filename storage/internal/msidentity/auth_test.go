package msidentity_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/stretchr/testify/require"
)

// within fails the test when f has not returned after a generous guard
// (a hang detector, not a timing assertion).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still blocked after 10 s", what)
	}
}

// stallingLogin is a login server whose token endpoint never answers
// until the test ends; it counts the token requests.
func stallingLogin(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv, &n
}

func TestTokenFetchObeysTheCallersContext(t *testing.T) {
	login, requests := stallingLogin(t)
	fake := graphtest.NewServer(t, graphtest.Options{})
	cloud := msidentity.Cloud{Name: "stalled", Login: login.URL, Graph: fake.API.URL}
	src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", "app-secret")
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: fake.BaseURL(), TokenSource: src, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	require.NoError(t, err)

	// Several callers with short deadlines while the login server stalls:
	// each returns when its own deadline passes, none waits for the lock
	// of another, and they share one token request.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	within(t, "calls with a 200 ms deadline", func() {
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				_, errs[i] = c.GetRoot(ctx, fake.MyDriveID())
			}()
		}
		wg.Wait()
	})
	for _, err := range errs {
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	require.Equal(t, int32(1), requests.Load(), "token refresh is single-flight")

	// A caller whose context is already cancelled does not wait at all.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "TokenContext with a cancelled context", func() {
		_, err := src.TokenContext(ctx)
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestTokenFetchHasATimeout(t *testing.T) {
	login, _ := stallingLogin(t)
	cloud := msidentity.Cloud{Name: "stalled", Login: login.URL, Graph: "https://graph.microsoft.com"}
	src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", "app-secret")
	src.SetTimeout(100 * time.Millisecond)
	within(t, "Token without a deadline", func() {
		_, err := src.Token()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestTokenEndpointErrorsAreSanitised(t *testing.T) {
	const secret = "app-s3cret-Value~42"
	var status int
	var body string
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(login.Close)
	cloud := msidentity.Cloud{Name: "x", Login: login.URL, Graph: "https://graph.microsoft.com"}
	for _, tc := range []struct {
		name, body string
		status     int
		want       []string
	}{
		{"oauth error", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret ` + secret +
			` provided.\r\nTrace ID: 0f1e Correlation ID: 9a8b Timestamp: 2026-12-05 06:00:00Z","error_codes":[7000215],"trace_id":"0f1e","internal":"do-not-show"}`,
			400, []string{"invalid_client", "HTTP 400", "AADSTS7000215: Invalid client secret [redacted] provided."}},
		{"html error page", `<html><body>Internal failure ` + secret + ` do-not-show</body></html>`, 500, []string{"HTTP 500"}},
		{"hostile error code", `{"error":"bad code\n` + secret + `","error_description":"x"}`, 400, []string{"HTTP 400"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body = tc.status, tc.body
			_, err := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", secret).Token()
			require.Error(t, err)
			var te *msidentity.TokenError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.status, te.StatusCode)
			require.Equal(t, tc.status < 500, errors.Is(err, storage.ErrPermissionDenied))
			msg := err.Error()
			for _, w := range tc.want {
				require.Contains(t, msg, w)
			}
			for _, bad := range []string{secret, "do-not-show", "Trace ID", "Correlation", "error_codes", "<html>", "\n"} {
				require.NotContains(t, msg, bad)
			}
		})
	}
	t.Run("through the client", func(t *testing.T) {
		status, body = 401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret `+secret+`"}`
		src := msidentity.AppOnlySource(context.Background(), cloud, "contoso", "app-id", secret)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: "https://graph.microsoft.com/v1.0", TokenSource: src})
		require.NoError(t, err)
		_, err = c.GetRoot(context.Background(), "d")
		require.Error(t, err)
		require.NotContains(t, err.Error(), secret)
		require.Contains(t, err.Error(), "invalid_client")
		require.ErrorIs(t, err, storage.ErrPermissionDenied)
	})
}

func TestCertificateCredentials(t *testing.T) {
	certPEM, keyPEM, x509Cert := graphtest.NewCertificate(t)
	otherCert, otherKey, _ := graphtest.NewCertificate(t)
	const appID = "00000000-aaaa-bbbb-cccc-000000000002"
	srv := graphtest.NewServer(t, graphtest.Options{})
	srv.AddCertificate(appID, x509Cert)
	cloud := msidentity.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}

	t.Run("parsing", func(t *testing.T) {
		_, err := msidentity.ParseCertificate(certPEM, otherKey)
		require.ErrorContains(t, err, "does not belong")
		_, err = msidentity.ParseCertificate(nil, keyPEM)
		require.Error(t, err)
		_, err = msidentity.ParseCertificate(certPEM, nil)
		require.Error(t, err)
		c, err := msidentity.ParseCertificate(append(append([]byte(nil), keyPEM...), certPEM...), nil)
		require.NoError(t, err, "one combined PEM file")
		require.NotEmpty(t, c.Thumbprint())
	})
	t.Run("a registered certificate gets a Graph token", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
		require.NoError(t, err)
		src := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src})
		require.NoError(t, err)
		d, err := c.UserDrive(context.Background(), graphtest.MeUPN)
		require.NoError(t, err)
		require.Equal(t, srv.MyDriveID(), d.ID)
	})
	t.Run("an unregistered certificate is refused", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(otherCert, otherKey)
		require.NoError(t, err)
		_, err = msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph).Token()
		var te *msidentity.TokenError
		require.ErrorAs(t, err, &te)
		require.Equal(t, "invalid_client", te.Code)
		require.Contains(t, te.Description, "AADSTS700027")
		require.NotContains(t, err.Error(), "Trace ID")
	})
	t.Run("another app's assertion is refused", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(certPEM, keyPEM)
		require.NoError(t, err)
		_, err = msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", "another-app", cert, cloud.Graph).Token()
		var te *msidentity.TokenError
		require.ErrorAs(t, err, &te)
		require.Equal(t, "invalid_client", te.Code)
	})
	t.Run("a refused token is not retried", func(t *testing.T) {
		cert, err := msidentity.ParseCertificate(otherCert, otherKey)
		require.NoError(t, err)
		src := msidentity.AppOnlyCertSource(context.Background(), cloud, "contoso", appID, cert, cloud.Graph)
		c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: src, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		require.NoError(t, err)
		srv.ResetCalls()
		_, err = c.UserDrive(context.Background(), graphtest.MeUPN)
		var te *msidentity.TokenError
		require.True(t, errors.As(err, &te), "%v", err)
		require.Equal(t, 1, srv.CallCount("oauth2.Token"))
	})
}

package projects_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/procoresync/procoresync/storage/msauth"
	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/onedrive"
)

// graphCheckTarget is a OneDrive target on the Graph fake: folders are
// storages rooted at them.
func graphCheckTarget(t *testing.T, srv *graphtest.Server, ts oauth2.TokenSource) projects.Target {
	t.Helper()
	c, err := msgraph.NewClient(msgraph.Options{BaseURL: srv.BaseURL(), TokenSource: ts,
		ContentHosts: []string{strings.TrimPrefix(srv.Content.URL, "http://")},
		RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond})
	require.NoError(t, err)
	return projects.TargetFunc{Label: "OneDrive", Func: func(ctx context.Context, rel string) (storage.Storage, error) {
		return onedrive.New(ctx, c, onedrive.Options{DriveID: srv.MyDriveID(), RootPath: rel})
	}}
}

func TestCheckTargetGraph(t *testing.T) {
	ctx := context.Background()
	srv := graphtest.NewServer(t, graphtest.Options{})
	_, err := srv.WebMkdir(srv.MyDriveID(), "Procore")
	require.NoError(t, err)
	good := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)})

	t.Run("ok", func(t *testing.T) {
		rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, good), TokenSource: good,
			Folder: "Procore"})
		require.True(t, rep.OK(), rep.String())
		_, left := srv.Stat(srv.MyDriveID(), "Procore")
		require.True(t, left)
	})
	t.Run("certificate not registered", func(t *testing.T) {
		certPEM, keyPEM, _ := graphtest.NewCertificate(t)
		cert, err := msauth.ParseCertificate(certPEM, keyPEM)
		require.NoError(t, err)
		cloud := msauth.Cloud{Name: "fake", Login: srv.LoginURL(), Graph: srv.API.URL}
		ts := msauth.AppOnlyCertSource(ctx, cloud, "contoso", "00000000-aaaa-bbbb-cccc-00000000dead", cert)
		rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, ts), TokenSource: ts,
			Folder: "Procore"})
		f := rep.Failed()
		require.NotNil(t, f)
		require.Equal(t, projects.CheckCredentials, f.Step)
		require.Equal(t, "OneDrive rejected the client credentials (401 invalid_client)", f.Message)
		require.Equal(t, "skipped", stepsOf(rep)["writable folder Procore/"][0])
		// Without the token step, reading the root tells the same.
		rep = projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, ts), Folder: "Procore"})
		require.Equal(t, "OneDrive rejected the client credentials (401 invalid_client)", rep.Failed().Message)
	})
	t.Run("folder missing", func(t *testing.T) {
		rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, good), Folder: "Sync/Procore"})
		require.Equal(t, "folder Sync/Procore/ does not exist in OneDrive (or this account cannot see it): create it or correct the path",
			rep.Failed().Message)
	})
	t.Run("read-only", func(t *testing.T) {
		for _, op := range []string{"drives.UploadNewFile", "drives.UploadByPath", "drives.CreateUploadSessionNew",
			"drives.CreateUploadSessionByPath"} {
			srv.Inject(graphtest.Fault{Op: op, Status: http.StatusForbidden, Code: "accessDenied", Times: fakeservice.Forever})
		}
		defer srv.ClearFaults()
		rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, good), Folder: "Procore"})
		require.Equal(t, "folder Procore/ is read-only for this account in OneDrive (403 accessDenied)", rep.Failed().Message)
	})
	t.Run("probe not deletable", func(t *testing.T) {
		srv.Inject(graphtest.Fault{Op: "drives.DeleteItem", Status: http.StatusForbidden, Code: "accessDenied", Times: fakeservice.Forever})
		defer srv.ClearFaults()
		rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: graphCheckTarget(t, srv, good), Folder: "Procore"})
		f := rep.Failed()
		require.Contains(t, f.Message, "folder Procore/ is writable, but the probe file "+projects.ProbePrefix)
		require.Contains(t, f.Message, "could not be deleted")
	})
}

func TestCheckTargetBox(t *testing.T) {
	ctx := context.Background()
	srv := boxtest.New(boxtest.Options{DownloadNotReady: -1})
	t.Cleanup(srv.Close)
	_, err := srv.WebMkdir("Procore")
	require.NoError(t, err)
	target := func(ts oauth2.TokenSource) projects.Target {
		c, err := box.NewClient(box.ClientOptions{BaseURL: srv.BaseURL(), UploadURL: srv.UploadURL(), TokenSource: ts,
			RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
		require.NoError(t, err)
		return projects.TargetFunc{Label: "Box", Func: func(ctx context.Context, rel string) (storage.Storage, error) {
			return box.New(ctx, c, box.Options{RootPath: rel})
		}}
	}
	good := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)})
	rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(good), TokenSource: good, Folder: "Procore"})
	require.True(t, rep.OK(), rep.String())

	bad := box.ClientCredentialsSource(box.Config{ClientID: "box-client-id", ClientSecret: "wrong-box-secret-99",
		TokenURL: srv.TokenURL()}, box.Subject{Type: "enterprise", ID: "1"})
	rep = projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(bad), TokenSource: bad, Folder: "Procore"})
	require.Equal(t, "Box rejected the client credentials (400 invalid_client)", rep.Failed().Message)
	requireNoSecret(t, rep, "wrong-box-secret-99")

	for _, op := range []string{"options_files_content", "post_files_content"} {
		srv.Inject(boxtest.Fault{Op: op, Status: http.StatusForbidden, Code: "access_denied_insufficient_permissions",
			Times: fakeservice.Forever})
	}
	rep = projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(good), Folder: "Procore"})
	require.Equal(t, "folder Procore/ is read-only for this account in Box (403 access_denied_insufficient_permissions)",
		rep.Failed().Message)
}

func TestCheckTargetDropbox(t *testing.T) {
	ctx := context.Background()
	srv := dropboxtest.New(dropboxtest.Options{})
	t.Cleanup(srv.Close)
	_, err := srv.WebMkdir(dropboxtest.HomeNS, "/Procore")
	require.NoError(t, err)
	target := func(o dropbox.ClientOptions) projects.Target {
		c, err := dropbox.NewClient(o)
		require.NoError(t, err)
		return projects.TargetFunc{Label: "Dropbox", Func: func(ctx context.Context, rel string) (storage.Storage, error) {
			return dropbox.New(ctx, c, dropbox.Options{RootPath: "/" + rel})
		}}
	}
	o := srv.ClientOptions(srv.Token())
	rep := projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(o), TokenSource: o.TokenSource, Folder: "Procore"})
	require.True(t, rep.OK(), rep.String())

	// A refresh token Dropbox does not know (revoked, or the app was
	// disconnected).
	cfg := dropbox.Config{AppKey: "appkey", AppSecret: "appsecret",
		Endpoint: &oauth2.Endpoint{TokenURL: srv.TokenURL(), AuthURL: srv.API.URL + "/oauth2/authorize"}}
	ts := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: "rt.revoked-refresh-token"})
	o.TokenSource = ts
	rep = projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(o), TokenSource: ts, Folder: "Procore"})
	require.NotNil(t, rep.Failed(), rep.String())
	require.Equal(t, "Dropbox rejected the grant (refresh token, authorization code or assertion); sign in again (400 invalid_grant)",
		rep.Failed().Message)
	requireNoSecret(t, rep, "rt.revoked-refresh-token", "appsecret")

	// A folder shared with this account read-only.
	srv.Service.Faults.Inject(fakeservice.Fault{Op: "files/upload", Status: http.StatusConflict, Times: fakeservice.Forever,
		Body: `{"error_summary": "path/no_write_permission/..", "error": {".tag": "path", "reason": {".tag": "no_write_permission"}, "upload_session_id": ""}}`})
	o = srv.ClientOptions(srv.Token())
	rep = projects.CheckTarget(ctx, projects.CheckTargetOptions{Target: target(o), Folder: "Procore"})
	require.NotNil(t, rep.Failed(), rep.String())
	require.Equal(t, "folder Procore/ is read-only for this account in Dropbox (409 path/no_write_permission)", rep.Failed().Message)
}

package projects_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/memory"
)

// checkProcore is the Procore fake with an app's client-credentials
// token source and a client of company.
type checkProcore struct {
	srv *procoretest.Server
	cfg procore.Config
}

func newCheckProcore(t *testing.T) *checkProcore {
	t.Helper()
	srv := procoretest.New(procoretest.Options{HourlyLimit: -1, SpikeLimit: -1})
	t.Cleanup(srv.Close)
	return &checkProcore{srv: srv, cfg: procore.Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		Env: procore.Environment{AuthURL: srv.URL, APIURL: srv.URL}}}
}

// options returns the check of company and project with the app's
// credentials (secret: its client secret).
func (p *checkProcore) options(t *testing.T, secret string, company, project int64, tools ...projects.Tool) projects.CheckProcoreOptions {
	t.Helper()
	cfg := p.cfg
	cfg.ClientSecret = secret
	ts := cfg.ClientCredentials(context.Background())
	c, err := procore.NewClient(procore.Options{BaseURL: p.srv.URL, FileHosts: p.srv.FileHosts(), CompanyID: company,
		TokenSource: ts, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	require.NoError(t, err)
	return projects.CheckProcoreOptions{Client: c, TokenSource: ts, ProjectID: project, Tools: tools, Timeout: 20 * time.Second}
}

// stepsOf returns step → (state, message) of a report; state is "ok",
// "failed" or "skipped".
func stepsOf(rep projects.CheckReport) map[string][2]string {
	out := map[string][2]string{}
	for _, r := range rep.Results {
		state := "ok"
		switch {
		case r.Skipped:
			state = "skipped"
		case !r.OK:
			state = "failed"
		}
		out[string(r.Step)+" "+r.Subject] = [2]string{state, r.Message}
	}
	return out
}

func requireNoSecret(t *testing.T, rep projects.CheckReport, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		require.NotContains(t, rep.String(), s)
		for _, r := range rep.Results {
			if r.Err != nil {
				require.NotContains(t, r.Err.Error(), s)
			}
		}
	}
}

func TestCheckProcoreAllGood(t *testing.T) {
	p := newCheckProcore(t)
	rep := projects.CheckProcore(context.Background(), p.options(t, p.srv.ClientSecret, p.srv.CompanyID, p.srv.ProjectID,
		projects.AllTools...))
	require.True(t, rep.OK(), rep.String())
	require.Nil(t, rep.Failed())
	require.Len(t, rep.Results, 3+len(projects.AllTools))
	got := stepsOf(rep)
	require.Equal(t, [2]string{"ok", "Procore accepts the credentials: a token was issued"}, got["credentials app"])
	require.Equal(t, [2]string{"ok", `company ` + checkItoa(p.srv.CompanyID) + ` "Acme Construction" is visible to this app`},
		got["company company "+checkItoa(p.srv.CompanyID)])
	require.Equal(t, "ok", got["tool RFIs"][0])
	require.Equal(t, "ok", got["tool Daily Log"][0])
	requireNoSecret(t, rep, p.srv.ClientSecret)
}

func TestCheckProcoreBadCredentials(t *testing.T) {
	p := newCheckProcore(t)
	rep := projects.CheckProcore(context.Background(), p.options(t, "not-the-secret-7f3a", p.srv.CompanyID, p.srv.ProjectID,
		projects.Documents, projects.RFIs))
	require.False(t, rep.OK())
	f := rep.Failed()
	require.NotNil(t, f)
	require.Equal(t, projects.CheckCredentials, f.Step)
	require.Equal(t, "Procore rejected the client credentials (401 invalid_client)", f.Message)
	require.ErrorIs(t, f.Err, procore.ErrUnauthorized)
	got := stepsOf(rep)
	require.Equal(t, "skipped", got["company company "+checkItoa(p.srv.CompanyID)][0])
	require.Equal(t, "skipped", got["project project "+checkItoa(p.srv.ProjectID)][0])
	require.Equal(t, "skipped", got["tool Documents"][0])
	require.Equal(t, "skipped", got["tool RFIs"][0])
	requireNoSecret(t, rep, "not-the-secret-7f3a", p.srv.ClientSecret)
}

func TestCheckProcoreCompanyNotVisible(t *testing.T) {
	p := newCheckProcore(t)
	rep := projects.CheckProcore(context.Background(), p.options(t, p.srv.ClientSecret, 42, 1001, projects.RFIs))
	f := rep.Failed()
	require.NotNil(t, f)
	require.Equal(t, projects.CheckCompany, f.Step)
	require.True(t, strings.HasPrefix(f.Message, "company 42 is not visible to this app"), f.Message)
	require.ErrorIs(t, f.Err, storage.ErrNotFound)
	got := stepsOf(rep)
	require.Equal(t, "ok", got["credentials app"][0])
	require.Equal(t, "skipped", got["project project 1001"][0])
	require.Equal(t, "skipped", got["tool RFIs"][0])
}

func TestCheckProcoreProjectNotVisible(t *testing.T) {
	p := newCheckProcore(t)
	other := p.srv.AddCompany("Other Builders")
	elsewhere := p.srv.AddProject(other, "Their Tower")
	rep := projects.CheckProcore(context.Background(), p.options(t, p.srv.ClientSecret, p.srv.CompanyID, elsewhere,
		projects.Photos))
	f := rep.Failed()
	require.NotNil(t, f)
	require.Equal(t, projects.CheckProject, f.Step)
	require.Equal(t, "project "+checkItoa(elsewhere)+" is not visible to this app in company "+checkItoa(p.srv.CompanyID)+
		": it does not exist there, or the app's service account is not permitted on it (404 not_found)", f.Message)
	require.Equal(t, "skipped", stepsOf(rep)["tool Photos"][0])
}

func TestCheckProcoreToolPermissions(t *testing.T) {
	p := newCheckProcore(t)
	p.srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdRfisGet", Status: http.StatusForbidden, Times: procoretest.Forever})
	p.srv.Inject(procoretest.Fault{Op: "RestV10ProjectsProjectIdDrawingAreasGet", Status: http.StatusNotFound, Times: procoretest.Forever})
	rep := projects.CheckProcore(context.Background(), p.options(t, p.srv.ClientSecret, p.srv.CompanyID, p.srv.ProjectID,
		projects.Documents, projects.RFIs, projects.Drawings, projects.Photos))
	require.False(t, rep.OK())
	got := stepsOf(rep)
	pid := checkItoa(p.srv.ProjectID)
	require.Equal(t, [2]string{"failed", "this app has no permission on the RFIs tool of project " + pid +
		" (403 forbidden): give its service account at least read-only access to RFIs (standard for two-way tools)"},
		got["tool RFIs"])
	require.Equal(t, [2]string{"failed", "the Drawings tool of project " + pid + " is not enabled or not visible to this app (404 not_found)"},
		got["tool Drawings"])
	require.Equal(t, "ok", got["tool Documents"][0])
	require.Equal(t, "ok", got["tool Photos"][0])
	require.Equal(t, projects.CheckTool, rep.Failed().Step)
	require.ErrorIs(t, rep.Failed().Err, storage.ErrPermissionDenied)
}

func TestCheckProcoreTokenRevoked(t *testing.T) {
	p := newCheckProcore(t)
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "revoked-token-c0ffee"})
	c, err := procore.NewClient(procore.Options{BaseURL: p.srv.URL, CompanyID: p.srv.CompanyID, TokenSource: ts,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond})
	require.NoError(t, err)
	rep := projects.CheckProcore(context.Background(), projects.CheckProcoreOptions{Client: c, ProjectID: p.srv.ProjectID})
	f := rep.Failed()
	require.NotNil(t, f)
	require.Equal(t, projects.CheckCompany, f.Step)
	require.True(t, strings.HasPrefix(f.Message, "Procore rejected the access token (401"), f.Message)
	requireNoSecret(t, rep, "revoked-token-c0ffee")
}

func TestCheckProcoreTimeout(t *testing.T) {
	p := newCheckProcore(t)
	p.srv.Inject(procoretest.Fault{Op: "RestV10CompaniesGet", Latency: 5 * time.Second, Times: procoretest.Forever})
	o := p.options(t, p.srv.ClientSecret, p.srv.CompanyID, 0)
	o.Timeout = 200 * time.Millisecond
	rep := projects.CheckProcore(context.Background(), o)
	f := rep.Failed()
	require.NotNil(t, f)
	require.Equal(t, projects.CheckCompany, f.Step)
	require.Equal(t, "Procore did not answer in time while listing companies", f.Message)
	require.ErrorIs(t, f.Err, context.DeadlineExceeded)
}

func TestCheckProcoreNoClient(t *testing.T) {
	rep := projects.CheckProcore(context.Background(), projects.CheckProcoreOptions{})
	require.False(t, rep.OK())
	require.Equal(t, "no Procore client was given to check", rep.Failed().Message)
}

// memCheckTarget is a memory storage as a Target.
type memCheckTarget struct {
	s    storage.Storage
	name string
}

func (t memCheckTarget) Name() string { return t.name }
func (t memCheckTarget) Open(context.Context, string) (storage.Storage, error) {
	return t.s, nil
}

func TestCheckTargetAllGoodLeavesNothing(t *testing.T) {
	m := memory.New()
	_, err := m.Mkdirs("Procore")
	require.NoError(t, err)
	_, err = m.WriteFile("Procore/keep.txt", []byte("keep"))
	require.NoError(t, err)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Procore/"})
	require.True(t, rep.OK(), rep.String())
	got := stepsOf(rep)
	require.Equal(t, [2]string{"ok", "Local accepts the credentials and its root can be read"}, got["credentials account"])
	require.Equal(t, [2]string{"ok", "folder Procore/ exists in Local"}, got["folder folder Procore/"])
	require.Equal(t, [2]string{"ok", "folder Procore/ is writable: a probe file was created and deleted"},
		got["writable folder Procore/"])
	var names []string
	for e, err := range m.List(context.Background()) {
		require.NoError(t, err)
		names = append(names, e.Path)
	}
	require.ElementsMatch(t, []string{"Procore", "Procore/keep.txt"}, names, "the probe is gone, nothing else is")
}

func TestCheckTargetFolderMissingOrFile(t *testing.T) {
	m := memory.New()
	_, err := m.WriteFile("Procore", []byte("a file"))
	require.NoError(t, err)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Procore"})
	require.Equal(t, "Procore/ is a file in Local, not a folder", rep.Failed().Message)
	require.Equal(t, "skipped", stepsOf(rep)["writable folder Procore/"][0])

	rep = projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Sync/Procore"})
	require.Equal(t, projects.CheckFolder, rep.Failed().Step)
	require.Equal(t, "folder Sync/Procore/ does not exist in Local (or this account cannot see it): create it or correct the path",
		rep.Failed().Message)
	require.ErrorIs(t, rep.Failed().Err, storage.ErrNotFound)
}

func TestCheckTargetReadOnly(t *testing.T) {
	m := memory.New()
	_, err := m.Mkdirs("Procore")
	require.NoError(t, err)
	m.FailAlways(memory.OpPut, storage.ErrPermissionDenied)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Procore"})
	f := rep.Failed()
	require.Equal(t, projects.CheckWritable, f.Step)
	require.Equal(t, "folder Procore/ is read-only for this account in Local (permission denied)", f.Message)
	require.ErrorIs(t, f.Err, storage.ErrPermissionDenied)
}

func TestCheckTargetQuota(t *testing.T) {
	m := memory.New()
	_, err := m.Mkdirs("Procore")
	require.NoError(t, err)
	m.FailAlways(memory.OpPut, storage.ErrQuotaExceeded)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Procore"})
	require.Equal(t, "folder Procore/ cannot take new files: the storage quota of Local is exhausted (quota exceeded)",
		rep.Failed().Message)
}

// swapping replaces the probe file with another version right after it is
// created, as a person might: the check must not delete that version.
type swapping struct{ *memory.Storage }

func (s swapping) Put(ctx context.Context, parent storage.Entry, name string, r io.Reader, size int64, opt storage.PutOptions) (storage.Entry, error) {
	e, err := s.Storage.Put(ctx, parent, name, r, size, opt)
	if err != nil {
		return e, err
	}
	_, err = s.WriteFile(e.Path, []byte("a person's file now"))
	return e, err
}

func TestCheckTargetDeletesOnlyWhatItCreated(t *testing.T) {
	m := memory.New()
	_, err := m.Mkdirs("Procore")
	require.NoError(t, err)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{swapping{m}, "Local"}, Folder: "Procore"})
	f := rep.Failed()
	require.NotNil(t, f, rep.String())
	require.Equal(t, projects.CheckWritable, f.Step)
	require.Contains(t, f.Message, "folder Procore/ is writable, but the probe file "+projects.ProbePrefix)
	require.Contains(t, f.Message, "could not be deleted")
	require.ErrorIs(t, f.Err, storage.ErrPreconditionFailed)
	var left []string
	for e, err := range m.List(context.Background()) {
		require.NoError(t, err)
		if !e.IsDir {
			b, err := m.ReadFile(e.Path)
			require.NoError(t, err)
			left = append(left, string(b))
		}
	}
	require.Equal(t, []string{"a person's file now"}, left, "the changed file is kept")
}

func TestCheckTargetRootUnreadable(t *testing.T) {
	m := memory.New()
	m.FailAlways(memory.OpStat, storage.ErrPermissionDenied)
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Local"}, Folder: "Procore"})
	f := rep.Failed()
	require.Equal(t, projects.CheckCredentials, f.Step)
	require.Equal(t, "the root of Local cannot be read with these credentials (permission denied): grant the account access to it", f.Message)
	got := stepsOf(rep)
	require.Equal(t, "skipped", got["folder folder Procore/"][0])
	require.Equal(t, "skipped", got["writable folder Procore/"][0])
}

func TestCheckTargetTokenRefused(t *testing.T) {
	m := memory.New()
	ts := failingTokens{err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_client"}}
	rep := projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Dropbox"},
		TokenSource: ts, Folder: "Procore"})
	require.Equal(t, "Dropbox rejected the client credentials (400 invalid_client)", rep.Failed().Message)
	rep = projects.CheckTarget(context.Background(), projects.CheckTargetOptions{Target: memCheckTarget{m, "Dropbox"},
		TokenSource: failingTokens{err: errors.New("dial tcp: connection refused")}})
	require.Equal(t, "Dropbox could not be reached while getting a token: dial tcp: connection refused", rep.Failed().Message)
}

type failingTokens struct{ err error }

func (f failingTokens) Token() (*oauth2.Token, error) { return nil, f.err }

func checkItoa(n int64) string { return strconv.FormatInt(n, 10) }

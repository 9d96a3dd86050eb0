package app

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/procore/projects"
)

func TestProjectKeys(t *testing.T) {
	for _, tc := range []struct {
		name             string
		company, project int64
		list             string
		want             []projects.Key
		err              string
	}{
		{"one project (the old configuration)", 7, 100, "", []projects.Key{{CompanyID: 7, ProjectID: 100}}, ""},
		{"more of the same company", 7, 100, "101, 102,,100", []projects.Key{{CompanyID: 7, ProjectID: 100}, {CompanyID: 7, ProjectID: 101}, {CompanyID: 7, ProjectID: 102}}, ""},
		{"other companies", 7, 0, "8:200,7:101", []projects.Key{{CompanyID: 8, ProjectID: 200}, {CompanyID: 7, ProjectID: 101}}, ""},
		{"company:project only", 0, 0, " 9:300 ", []projects.Key{{CompanyID: 9, ProjectID: 300}}, ""},
		{"none", 7, 0, "", nil, "no Procore project"},
		{"no company", 0, 100, "", nil, "no company"},
		{"no company for a listed project", 0, 0, "300", nil, "no company"},
		{"not a number", 7, 100, "abc", nil, `"abc"`},
		{"bad company", 7, 100, "x:1", nil, `"x:1"`},
		{"negative project", 7, 100, "7:-1", nil, "invalid project ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{ProcoreCompanyID: tc.company, ProcoreProjectID: tc.project, Projects: tc.list}
			got, err := c.ProjectKeys()
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestHourlyLimit(t *testing.T) {
	now := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    procore.Rate
		want int
	}{
		{"hourly window reported", procore.Rate{Limit: 600, Remaining: 590, Reset: now.Add(40 * time.Minute)}, 600},
		{"spike window reported", procore.Rate{Limit: 25, Remaining: 20, Reset: now.Add(8 * time.Second)}, 0},
		{"no headers", procore.Rate{}, 0},
		{"reset in the past", procore.Rate{Limit: 3600, Reset: now.Add(-time.Hour)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, hourlyLimit(tc.r, now))
		})
	}
	b := procoreBudget(600)
	require.Equal(t, 600, b.Windows[0].Limit)
	require.Equal(t, time.Hour, b.Windows[0].Per)
	require.Equal(t, procoreBudget(0), procoreBudget(-1))
}

// TestServiceTwoCompanies: projects of two companies (one Procore client
// each, one app budget) get one company hook per company, a company
// Documents pair per company, and a change in the second company's project
// arrives; the budget comes from -procore-budget.
func TestServiceTwoCompanies(t *testing.T) {
	cfg := &Config{Target: SharePoint, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"), Tools: "none",
		Interval: time.Hour, DeleteLimit: 25, Listen: "127.0.0.1:0", ProcoreBudget: 600}
	f2 := StartFakes(cfg)
	t.Cleanup(f2.Close)
	cfg.RandomSecrets()
	c2 := f2.Procore.AddCompany("Second GC")
	p2 := f2.Procore.AddProject(c2, "Depot")
	cfg.Projects = fmt.Sprintf("%d:%d", c2, p2)
	sv := runService(t, f2, cfg)
	sv.settle(t)
	require.Equal(t, 2, f2.Procore.CallCount(opCompanyHookPost))
	require.Equal(t, []projects.Key{{CompanyID: cfg.ProcoreCompanyID, ProjectID: cfg.ProcoreProjectID}, {CompanyID: c2, ProjectID: p2}}, sv.s.Projects)
	for _, c := range []int64{cfg.ProcoreCompanyID, c2} {
		require.True(t, slices.Contains(sv.s.Pairs, fmt.Sprintf("company-%d/documents", c)), sv.s.Pairs)
	}
	require.Equal(t, 600.0, sv.s.Budget)
	require.True(t, sv.s.Healthy())
	if _, err := f2.Procore.UIPutFile(procoretest.ProjectDocs(p2), "depot.pdf", []byte("depot")); err != nil {
		t.Fatal(err)
	}
	if _, err := f2.Procore.UIPutFile(procoretest.CompanyDocs(c2), "policy.pdf", []byte("policy")); err != nil {
		t.Fatal(err)
	}
	// The second company's projects and company Documents are in a
	// folder of their own; the first company's layout is as before.
	for _, p := range []string{"Second GC/Depot/Documents/depot.pdf", "Second GC/Company Documents/policy.pdf"} {
		waitCond(t, 20*time.Second, "second company → SharePoint: "+p, func() bool {
			_, ok := f2.WebFile(path.Join("Procore", p))
			return ok
		})
	}
	require.False(t, f2.WebExists("Procore/Company Documents/policy.pdf"), "one company's Documents never in another's folder")
	require.True(t, f2.WebExists(path.Join("Procore", ProjectName, "Documents")))
}

// TestServiceReconcileFollowsHealth: while the company hook cannot be
// registered, pairs are polled every interval; with it (and the Graph
// subscription) they are not.
func TestServiceReconcileFollowsHealth(t *testing.T) {
	runs := func(sv *service) int {
		n := 0
		for _, id := range sv.s.Pairs {
			st, err := sv.s.Engine.Stats(context.Background(), id)
			require.NoError(t, err)
			n += st.Runs
		}
		return n
	}
	for _, tc := range []struct {
		name    string
		hookErr bool
	}{{"healthy", false}, {"hook not registered", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sv := startService(t, func(c *Config) {
				c.Tools, c.Interval = "none", 500*time.Millisecond
			})
			if tc.hookErr {
				// Stop and start again with the company hooks refused.
				sv.stop()
				sv.f.Procore.Inject(procoretest.Fault{Op: "RestV20CompaniesCompanyIdWebhooksHooksGet", Status: 403, Times: procoretest.Forever})
				sv = runService(t, sv.f, sv.cfg)
			}
			waitCond(t, 20*time.Second, "initial runs", func() bool { return runs(sv) >= len(sv.s.Pairs) })
			require.Equal(t, !tc.hookErr, sv.s.Healthy())
			before := runs(sv)
			time.Sleep(3 * time.Second)
			after := runs(sv)
			if tc.hookErr {
				require.GreaterOrEqual(t, after-before, len(sv.s.Pairs), "every pair polled again within 3 s at a 500 ms interval")
			} else {
				require.Zero(t, after-before, "no pair polled while the webhooks are healthy")
			}
		})
	}
}

package app

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/syncengine"
)

// Procore fake operations the fleet test counts.
const (
	opCompanyHookPost   = "RestV20CompaniesCompanyIdWebhooksHooksPost"
	opProjectHookPost   = "RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksPost"
	opProjectHooksGet   = "RestV20CompaniesCompanyIdProjectsProjectIdWebhooksHooksGet"
	opGraphDelta        = "drives.RootDelta"
	opGraphSubscription = "subscriptions.Create"
)

// waitCond polls cond every 10 ms until it holds (a generous bound, not a
// measurement).
func waitCond(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServiceFleetSharesHooksAndFeed: 20 projects synced into one
// SharePoint library by one service make exactly one company-level Procore
// hook registration (an earlier version's project-level hook is removed),
// one Graph subscription and one shared feed whose every poll is one delta
// call for the whole drive; pairs are not polled (the webhooks are
// healthy), yet a change in any project's Procore Documents and in any
// project's SharePoint folder arrives on the other side. A restart re-uses
// the hook (its destination updated), still has one subscription, and
// syncs.
func TestServiceFleetSharesHooksAndFeed(t *testing.T) {
	ctx := context.Background()
	cfg := &Config{Target: SharePoint, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"), Tools: "none",
		Interval: time.Hour, DeleteLimit: 25, Listen: "127.0.0.1:0"}
	f := StartFakes(cfg)
	t.Cleanup(f.Close)
	cfg.RandomSecrets()
	pids, names := []int64{f.ProjectID}, []string{ProjectName}
	var more []string
	for i := 1; i < 20; i++ {
		name := fmt.Sprintf("Project %02d", i)
		id := f.Procore.AddProject(f.Procore.CompanyID, name)
		pids, names = append(pids, id), append(names, name)
		more = append(more, fmt.Sprint(id))
	}
	cfg.Projects = strings.Join(more, ", ")

	// The project-level hook an earlier version of the service left.
	conn, err := Connect(ctx, cfg, nil)
	require.NoError(t, err)
	projectScope := procore.WebhookScope{CompanyID: f.Procore.CompanyID, ProjectID: f.ProjectID}
	_, err = conn.Procore.Webhooks.RegisterHook(ctx, projectScope, hookNamespace, "https://old.example.com/procore/webhook",
		"Bearer old-secret-0123456789", "v2.0", procore.DocumentResources)
	require.NoError(t, err)
	require.Equal(t, 1, f.Procore.CallCount(opProjectHookPost))

	// An app with ten times the usual limits (the fake's and the
	// limiter's), so that the 20 projects' first syncs are not paced.
	f.Procore.SetRateLimits(36000, 1000)
	limits := syncengine.BudgetConfig{Windows: []syncengine.Window{{Limit: 36000, Per: time.Hour}, {Limit: 1000, Per: 10 * time.Second}}}
	gets, lists := f.Procore.CallCount("RestV10ProjectsIdGet"), f.Procore.CallCount("RestV10ProjectsGet")
	sv := runServiceWith(t, f, cfg, Options{ProcoreLimits: limits})
	sv.settle(t)
	// The names: the first project's read, the others' from one page of
	// the company's projects.
	require.Equal(t, 1, f.Procore.CallCount("RestV10ProjectsIdGet")-gets)
	require.Equal(t, 1, f.Procore.CallCount("RestV10ProjectsGet")-lists)
	s := sv.s
	require.Len(t, s.Projects, 20)
	require.Len(t, s.Pairs, 41, "Documents and Photos of 20 projects, company Documents once")

	require.Equal(t, 1, f.Procore.CallCount(opCompanyHookPost), "one company hook")
	require.Equal(t, 1, f.Procore.CallCount(opProjectHookPost), "no project hook registered")
	left, _, err := conn.Procore.Webhooks.ListHooksV2(ctx, projectScope, hookNamespace, "", nil)
	require.NoError(t, err)
	require.Empty(t, left, "the earlier project hook is removed")
	require.Len(t, f.Graph.Subscriptions(), 1)
	require.Equal(t, 1, f.Graph.CallCount(opGraphSubscription))
	require.True(t, s.Healthy())
	drives, feeds := s.feeds.all()
	require.Equal(t, []string{f.Drive}, drives, "one feed, for the library")
	feed := feeds[0]
	require.Equal(t, len(s.Pairs), feed.Subscribers())

	// Quiet: no Procore call, whatever the number of pairs (the interval
	// is an hour, but the pairs are not due before their reconciliation).
	p0 := f.Procore.CallsByHost(procoretest.HostAPI)
	time.Sleep(2 * time.Second)
	require.Equal(t, p0, f.Procore.CallsByHost(procoretest.HostAPI))

	d0, polls0 := f.Graph.CallCount(opGraphDelta), feed.Polls()
	arrive := func(sv *service, ks ...int) {
		t.Helper()
		for _, k := range ks {
			if _, err := f.Procore.UIPutFile(procoretest.ProjectDocs(pids[k]), fmt.Sprintf("from-procore-%d.pdf", k), []byte("procore")); err != nil {
				t.Fatal(err)
			}
			if err := f.WebUpload(path.Join(cfg.Root, names[k], "Documents", fmt.Sprintf("from-sharepoint-%d.txt", k)), []byte("sharepoint")); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range ks {
			waitCond(t, 20*time.Second, fmt.Sprint("project ", k, ": Procore → SharePoint"), func() bool {
				b, ok := f.WebFile(path.Join(cfg.Root, names[k], "Documents", fmt.Sprintf("from-procore-%d.pdf", k)))
				return ok && string(b) == "procore"
			})
			waitCond(t, 20*time.Second, fmt.Sprint("project ", k, ": SharePoint → Procore"), func() bool {
				b, err := f.Procore.UIFile(procoretest.ProjectDocs(pids[k]), fmt.Sprintf("from-sharepoint-%d.txt", k))
				return err == nil && string(b) == "sharepoint"
			})
		}
		sv.settle(t)
	}
	arrive(sv, 0, 7, 19)
	deltas, polls := f.Graph.CallCount(opGraphDelta)-d0, feed.Polls()-polls0
	require.Positive(t, polls)
	require.Equal(t, polls, deltas, "one delta call per poll of the drive, for all %d pairs", len(s.Pairs))

	// A restart: the same hook (its destination updated), one
	// subscription, no second look for project hooks.
	listed := f.Procore.CallCount(opProjectHooksGet)
	sv.stop()
	require.Empty(t, f.Graph.Subscriptions(), "the subscription is deleted when the service stops")
	sv2 := runServiceWith(t, f, cfg, Options{ProcoreLimits: limits})
	sv2.settle(t)
	require.Equal(t, 1, f.Procore.CallCount(opCompanyHookPost), "the company hook is re-used")
	require.Equal(t, listed, f.Procore.CallCount(opProjectHooksGet))
	hooks, _, err := conn.Procore.Webhooks.ListHooksV2(ctx, procore.WebhookScope{CompanyID: f.Procore.CompanyID}, hookNamespace, "", nil)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	require.Equal(t, sv2.url+"/procore/webhook", hooks[0].DestinationURL)
	require.Len(t, f.Graph.Subscriptions(), 1)
	require.True(t, sv2.s.Healthy())
	_, feeds = sv2.s.feeds.all()
	runs := func() map[string]int {
		out := map[string]int{}
		for _, id := range sv2.s.Pairs {
			st, err := sv2.s.Engine.Stats(ctx, id)
			require.NoError(t, err)
			out[id] = st.Runs
		}
		return out
	}
	r0 := runs()
	d0, polls0 = f.Graph.CallCount(opGraphDelta), feeds[0].Polls()
	arrive(sv2, 12)
	ran := 0
	for id, n := range runs() {
		if n > r0[id] {
			ran++
		}
	}
	// Each pair's first read after a restart may be one private delta
	// call (its saved cursor is the feed's head of when it last ran), and
	// the feed's start may be one (token=latest, when a notification
	// comes before any pair's read); every other delta call is a poll of
	// the shared feed.
	polls, deltas = feeds[0].Polls()-polls0, f.Graph.CallCount(opGraphDelta)-d0
	require.Positive(t, polls)
	require.GreaterOrEqual(t, deltas, polls)
	require.LessOrEqual(t, deltas, polls+ran+1, "%d pairs ran after the restart", ran)
}

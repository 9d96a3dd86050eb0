package procore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
)

type countNotifier struct{ n atomic.Int32 }

func (c *countNotifier) Notify() { c.n.Add(1) }

// TestCompanyHookRoutesEveryProject: one company-level registration
// delivers the events of every project, including one created after it,
// and the Receiver wakes only the storages of the event's project and
// tool.
func TestCompanyHookRoutesEveryProject(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{HourlyLimit: -1, SpikeLimit: -1}, nil)
	ctx := context.Background()
	rcv, err := procore.NewReceiver("Bearer company-secret")
	require.NoError(t, err)
	hs := httptest.NewServer(rcv)
	t.Cleanup(hs.Close)
	t.Cleanup(srv.WaitWebhooks)

	projects := []int64{srv.ProjectID}
	for i := range 3 {
		projects = append(projects, srv.AddProject(srv.CompanyID, fmt.Sprintf("Tower %d", i)))
	}
	h, err := c.Webhooks.RegisterCompanyHook(ctx, "procoresync", hs.URL, "Bearer company-secret", "v2.0", nil)
	var unsub *procore.UnsubscribableError
	if err != nil {
		require.ErrorAs(t, err, &unsub) // event types Procore does not offer (e.g. no delete of Weather Logs)
		for _, m := range unsub.Missing {
			require.True(t, strings.HasSuffix(m, "/delete"), m)
		}
	}
	require.NotNil(t, h)
	require.Zero(t, h.OwnedByProjectID, "one hook for the company")
	late := srv.AddProject(srv.CompanyID, "Tower late")
	projects = append(projects, late)
	srv.ResetCalls()

	docs := map[int64]*countNotifier{}
	photos := map[int64]*countNotifier{}
	for _, p := range projects {
		docs[p], photos[p] = &countNotifier{}, &countNotifier{}
		rcv.Watch(srv.CompanyID, p, procore.ToolDocuments, docs[p])
		rcv.Watch(srv.CompanyID, p, procore.ToolPhotos, photos[p])
	}
	require.Equal(t, 2*len(projects), rcv.Watching())

	for i, p := range projects {
		if i%2 == 1 {
			continue
		}
		_, err := srv.UIPutFile(procoretest.ProjectDocs(p), fmt.Sprintf("change-%d.pdf", i), []byte("x"))
		require.NoError(t, err)
	}
	srv.WaitWebhooks()
	for i, p := range projects {
		if i%2 == 0 {
			require.Positive(t, docs[p].n.Load(), "project %d's Documents woken", p)
		} else {
			require.Zero(t, docs[p].n.Load(), "project %d's Documents not woken", p)
		}
		require.Zero(t, photos[p].n.Load(), "no Photos change in project %d", p)
	}
	require.False(t, rcv.LastEvent().IsZero())
	require.WithinDuration(t, time.Now(), rcv.LastEvent(), time.Minute)
	total := 0
	for _, n := range srv.Calls() {
		total += n
	}
	require.Zero(t, total, "deliveries cost no API call")

	// An unwatched storage is no longer woken.
	rcv.Unwatch(srv.CompanyID, late, procore.ToolDocuments, docs[late])
	before := docs[late].n.Load()
	_, err = srv.UIPutFile(procoretest.ProjectDocs(late), "again.pdf", []byte("y"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	require.Equal(t, before, docs[late].n.Load())
}

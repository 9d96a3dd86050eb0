package procore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage"
)

// TestChangeFeedFollowsWebUIEdits plays the other side with the fake's UI
// helpers and checks what Changes reports, and at what cost.
func TestChangeFeedFollowsWebUIEdits(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, TokenLifetime: 48 * time.Hour}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	for _, p := range []string{"keep/a.txt", "edit/b.txt", "ren/c.txt", "mv/d.txt", "del/e.txt", "gone/f.txt"} {
		_, err := srv.UIPutFile(docs, p, []byte("v1"))
		require.NoError(t, err)
	}
	_, err := srv.UIMakeFolders(docs, "dest")
	require.NoError(t, err)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{Overlap: time.Minute})
	for _, err := range s.List(ctx) {
		require.NoError(t, err)
	}
	clk.Advance(time.Hour)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	clk.Advance(time.Hour)

	_, err = srv.UIPutFile(docs, "edit/b.txt", []byte("v2"))
	require.NoError(t, err)
	require.NoError(t, srv.UIRename(docs, "ren", "renamed"))
	require.NoError(t, srv.UIMove(docs, "mv/d.txt", "dest"))
	require.NoError(t, srv.UIDelete(docs, "del/e.txt"))
	require.NoError(t, srv.UIDelete(docs, "gone"))
	_, err = srv.UIPutFile(docs, "new/g.txt", []byte("v1"))
	require.NoError(t, err)

	srv.ResetCalls()
	changes, next, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostAPI), "one index call: %s", srv)
	var got []string
	for _, ch := range changes {
		if ch.Deleted {
			got = append(got, "deleted "+ch.Entry.ID)
			continue
		}
		got = append(got, ch.Entry.Path)
	}
	sort.Strings(got)
	var deleted int
	for _, g := range got {
		if strings.HasPrefix(g, "deleted ") {
			deleted++
		}
	}
	require.Equal(t, 3, deleted, "del/e.txt, gone and gone/f.txt: %v", got)
	require.Subset(t, got, []string{"edit/b.txt", "renamed", "dest/d.txt", "new", "new/g.txt"})
	require.NotContains(t, got, "keep/a.txt")

	// The cursor moved: nothing more to report, one call.
	clk.Advance(time.Hour)
	srv.ResetCalls()
	changes, _, err = s.Changes(ctx, next)
	require.NoError(t, err)
	require.Empty(t, changes)
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostAPI))

	_, _, err = s.Changes(ctx, "garbage")
	require.ErrorIs(t, err, storage.ErrCursorExpired)
}

func TestChangeFeedReportsItemsMovedOutOfRoot(t *testing.T) {
	clk := newClock()
	srv, c := newFake(t, procoretest.Options{Now: clk.Now, TokenLifetime: 48 * time.Hour}, nil)
	docs := procoretest.ProjectDocs(srv.ProjectID)
	rootID, err := srv.UIMakeFolders(docs, "synced")
	require.NoError(t, err)
	_, err = srv.UIPutFile(docs, "synced/x.txt", []byte("x"))
	require.NoError(t, err)
	_, err = srv.UIMakeFolders(docs, "elsewhere")
	require.NoError(t, err)
	ctx := context.Background()
	s := procore.NewProjectDocuments(c, srv.ProjectID, &procore.DocumentsOptions{RootFolderID: rootID, Overlap: time.Second})
	clk.Advance(time.Minute)
	cur, err := s.LatestCursor(ctx)
	require.NoError(t, err)
	clk.Advance(time.Minute)
	require.NoError(t, srv.UIMove(docs, "synced/x.txt", "elsewhere"))
	_, err = srv.UIPutFile(docs, "elsewhere/y.txt", []byte("y"))
	require.NoError(t, err)
	changes, _, err := s.Changes(ctx, cur)
	require.NoError(t, err)
	require.Len(t, changes, 2, "x moved out (reported deleted) and y: %v", changes)
	for _, ch := range changes {
		require.True(t, ch.Deleted, "nothing outside the root is reported as present")
	}
}

func TestReceiverPayloadVersionsAndDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		wakes      string // "docs", "company", "photos" or ""
		event      procore.Event
	}{
		{"v2.0 project file", `{"id":123456789,"ulid":"0A1B2C3D4F5G6H7I8J9K0LMN","timestamp":"2025-02-06T23:34:12.246562Z","metadata":{"source_user_id":9,"source_project_id":2,"source_operation_id":null,"source_company_id":1,"source_application_id":null},"user_id":9,"company_id":1,"project_id":2,"api_version":"v2.0","event_type":"update","resource_name":"Project Files","resource_id":54321}`,
			200, "docs", procore.Event{ID: "0A1B2C3D4F5G6H7I8J9K0LMN", CompanyID: 1, ProjectID: 2, UserID: 9, ResourceName: "Project Files", ResourceID: 54321, EventType: "update", APIVersion: "v2.0"}},
		{"v3.0 folder", `{"id":5,"ulid":"U5","timestamp":"2025-02-06T23:34:12Z","user_id":9,"company_id":1,"project_id":2,"api_version":"v3.0","event_type":"create","resource_name":"Project Folders","resource_id":7,"related_resources":[]}`,
			200, "docs", procore.Event{ID: "U5", CompanyID: 1, ProjectID: 2, UserID: 9, ResourceName: "Project Folders", ResourceID: 7, EventType: "create", APIVersion: "v3.0"}},
		{"v4.0 image", `{"id":"77","timestamp":"2025-02-06T23:34:12Z","reason":"delete","company_id":"1","project_id":"2","user_id":"9","resource_type":"Images","resource_id":"8"}`,
			200, "photos", procore.Event{ID: "77", CompanyID: 1, ProjectID: 2, UserID: 9, ResourceName: "Images", ResourceID: 8, EventType: "delete", APIVersion: "v4.0"}},
		{"company file", `{"id":6,"ulid":"U6","timestamp":"2025-02-06T23:34:12Z","user_id":9,"company_id":1,"project_id":null,"api_version":"v2.0","event_type":"delete","resource_name":"Company Files","resource_id":3}`,
			200, "company", procore.Event{ID: "U6", CompanyID: 1, UserID: 9, ResourceName: "Company Files", ResourceID: 3, EventType: "delete", APIVersion: "v2.0"}},
		{"other tool", `{"id":8,"ulid":"U8","timestamp":"2025-02-06T23:34:12Z","user_id":9,"company_id":1,"project_id":2,"api_version":"v2.0","event_type":"update","resource_name":"RFIs","resource_id":3}`,
			200, "", procore.Event{ID: "U8", CompanyID: 1, ProjectID: 2, UserID: 9, ResourceName: "RFIs", ResourceID: 3, EventType: "update", APIVersion: "v2.0"}},
		// Authentic but unusable: acknowledged (any non-2xx pauses every
		// delivery to the endpoint), logged and dropped.
		{"malformed", `{"id":`, 200, "", procore.Event{}},
		{"no resource", `{"id":1}`, 200, "", procore.Event{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []procore.Event
			rcv := &procore.Receiver{Authorization: "Bearer s3cret", OnEvent: func(e procore.Event) { events = append(events, e) }}
			wakes := map[string]*countingNotifier{"docs": {}, "company": {}, "photos": {}}
			rcv.Watch(1, 2, procore.ToolDocuments, wakes["docs"])
			rcv.Watch(1, 0, procore.ToolDocuments, wakes["company"])
			rcv.Watch(1, 2, procore.ToolPhotos, wakes["photos"])
			post := func(auth string) int {
				req := httptest.NewRequest(http.MethodPost, "/hooks", strings.NewReader(tc.body))
				req.Header.Set("Authorization", auth)
				w := httptest.NewRecorder()
				rcv.ServeHTTP(w, req)
				return w.Code
			}
			require.Equal(t, http.StatusUnauthorized, post("Bearer wrong"))
			require.Equal(t, tc.status, post("Bearer s3cret"))
			require.Equal(t, tc.status, post("Bearer s3cret"), "a duplicate is acknowledged")
			for k, n := range wakes {
				want := 0
				if k == tc.wakes {
					want = 1
				}
				require.Equal(t, want, n.n, "wakes of %s (duplicates ignored)", k)
			}
			if tc.wakes != "" || tc.event.ID != "" {
				require.Len(t, events, 1)
				ev := events[0]
				ev.Timestamp = time.Time{}
				require.Equal(t, tc.event, ev)
			}
		})
	}
}

type countingNotifier struct{ n int }

func (c *countingNotifier) Notify() { c.n++ }

func TestWebhookDispatchRetries(t *testing.T) {
	srv, c := newFake(t, procoretest.Options{WebhookRetry: procoretest.WebhookRetry{Base: time.Millisecond, Attempts: 4}}, nil)
	fails := 2
	var got []procore.Event
	rcv := &procore.Receiver{Authorization: "Bearer retry-secret", OnEvent: func(e procore.Event) { got = append(got, e) }}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		rcv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	ctx := context.Background()
	sc := procore.WebhookScope{ProjectID: srv.ProjectID}
	h, err := c.Webhooks.RegisterHook(ctx, sc, "retry-test", hs.URL, "Bearer retry-secret", "v4.0", []string{"Project Files"})
	require.NoError(t, err)
	again, err := c.Webhooks.RegisterHook(ctx, sc, "retry-test", hs.URL, "Bearer retry-secret", "v4.0", []string{"Project Files"})
	require.NoError(t, err)
	require.Equal(t, h.ID, again.ID, "registration is idempotent")
	trig, _, err := c.Webhooks.ListTriggers(ctx, sc, h.ID)
	require.NoError(t, err)
	require.Len(t, trig, 3)
	_, err = srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "a.txt", []byte("x"))
	require.NoError(t, err)
	srv.WaitWebhooks()
	total, ok := srv.Deliveries()
	require.Equal(t, 1, total)
	require.Equal(t, 1, ok)
	require.Len(t, got, 1)
	require.Equal(t, "create", got[0].EventType)
	require.Equal(t, "Project Files", got[0].ResourceName)
	require.Equal(t, srv.ProjectID, got[0].ProjectID)
}

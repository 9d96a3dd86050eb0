package portal_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/procoresync/procoresync/portal"
	"github.com/procoresync/procoresync/portal/connect"
	"github.com/procoresync/procoresync/storage/memory"
)

var formField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// allow plays the person on a provider's authorization page: it opens
// authorizeURL, checks the page has the Allow button, and submits its
// form with decision=allow. It returns the redirect the provider answers.
func allow(t testing.TB, authorizeURL string) *url.URL {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`name="decision" value="allow"`)) {
		t.Fatalf("authorization page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"decision": {"allow"}}
	for _, m := range formField.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	action := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(string(page))
	u, _ := url.Parse(authorizeURL)
	target, _ := u.Parse(html.UnescapeString(action[1]))
	resp, err = noRedirect.PostForm(target.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization form: %d", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// connect runs the whole connection flow through the API as c and
// returns the new connection's ID.
func (c *client) connect(provider string) string {
	t := c.e.t
	t.Helper()
	var start struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	st, b := c.do("POST", "/api/v1/connections", map[string]any{"provider": provider, "name": "Contoso " + provider,
		"domain": "sandbox", "return_to": "/portal/connections"})
	if st != http.StatusOK || json.Unmarshal(b, &start) != nil {
		t.Fatalf("start connection: %d %s", st, b)
	}
	au, _ := url.Parse(start.AuthorizeURL)
	q := au.Query()
	if q.Get("state") == "" || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization URL without state or PKCE S256 challenge: %s", start.AuthorizeURL)
	}
	cb := allow(t, start.AuthorizeURL)
	if cb.Query().Get("state") != q.Get("state") || cb.Query().Get("code") == "" {
		t.Fatalf("callback without the state or a code: %s", cb)
	}
	resp := c.send("GET", cb.RequestURI(), nil, nil)
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/portal/connections" || loc.Query().Get("connection") == "" {
		t.Fatalf("callback: %d %v", resp.StatusCode, loc)
	}
	return loc.Query().Get("connection")
}

// TestAPI drives every operation of the API once with a successful
// answer, checking what it returns; every response is validated against
// the OpenAPI description, and every operation must have been answered.
func TestAPI(t *testing.T) {
	e := newEnv(t, nil)
	owner, admin, viewer := e.login(portal.RoleOwner), e.login(portal.RoleAdmin), e.login(portal.RoleViewer)
	pair := "/api/v1/pairs/" + url.PathEscape(e.pairID)
	proj := "/api/v1/projects/" + e.project.ID

	t.Run("session", func(t *testing.T) {
		var me portal.Me
		viewer.getJSON("/api/v1/session", &me)
		if me.Account.Email != "viewer@example.com" || me.Account.Role != portal.RoleViewer || me.CSRFToken == "" {
			t.Fatalf("me: %+v", me)
		}
		var ss []portal.SessionInfo
		viewer.getJSON("/api/v1/sessions", &ss)
		if len(ss) != 1 || !ss[0].Current {
			t.Fatalf("sessions: %+v", ss)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		var d portal.Dashboard
		viewer.getJSON("/api/v1/dashboard?from=2000-01-01", &d)
		if len(d.Projects) != 1 || len(d.Projects[0].Tools) != 1 {
			t.Fatalf("dashboard: %+v", d)
		}
		f := d.Projects[0].Tools[0].Figures
		// Drawings/, Drawings/A-102.pdf (its deletion is held), Specs/,
		// Specs/spec.txt and readme.txt in sync; 4 files copied in the
		// first run, one deletion, one held, one quarantined.
		if f.Files != 3 || f.Folders != 2 || f.Runs != 3 || f.FilesSynced != 4 || f.Deleted != 1 || f.Held != 1 ||
			f.Quarantined+f.Failing != 1 || f.LastSync == nil || f.BytesSynced == 0 {
			t.Fatalf("figures: %+v", f)
		}
		if d.Totals.Files != f.Files || d.Totals.BytesSynced != f.BytesSynced {
			t.Fatalf("totals %+v differ from the only tool's %+v", d.Totals, f)
		}
		var none portal.Dashboard
		viewer.getJSON("/api/v1/dashboard?from=2000-01-01&to=2000-01-02", &none)
		if g := none.Projects[0].Tools[0].Figures; g.Runs != 0 || g.FilesSynced != 0 || g.LastSync != nil || g.Files != 3 {
			t.Fatalf("a range without runs: %+v", g)
		}
		if st, _ := viewer.do("GET", "/api/v1/dashboard?from=2001-01-01&to=2000-01-01", nil); st != http.StatusBadRequest {
			t.Fatalf("reversed range: %d", st)
		}
	})

	t.Run("projects", func(t *testing.T) {
		var ps []portal.ProjectSummary
		viewer.getJSON("/api/v1/projects", &ps)
		if len(ps) != 1 || ps[0].ID != e.project.ID || ps[0].ProcoreProjectID != 10 || ps[0].LastSync == nil ||
			len(ps[0].Tools) != 1 || ps[0].Tools[0].PairID != e.pairID || !ps[0].Active {
			t.Fatalf("projects: %+v", ps)
		}
		var p portal.ProjectSummary
		viewer.getJSON(proj, &p)
		if p.Name != "Tower 3" {
			t.Fatalf("project: %+v", p)
		}
		var cfg portal.ProjectConfig
		viewer.getJSON(proj+"/config", &cfg)
		if cfg.Options.DeleteLimit != 1 || !slices.Equal(cfg.Recipients, []string{"pm@example.com"}) {
			t.Fatalf("config: %+v", cfg)
		}
		cfg.Options.DeleteLimit = 5
		cfg.Tools = append(cfg.Tools, portal.ToolConfig{Tool: "rfis"})
		st, b := admin.do("PUT", proj+"/config", cfg)
		if st != http.StatusOK {
			t.Fatalf("update: %d %s", st, b)
		}
		var got portal.ProjectConfig
		_ = json.Unmarshal(b, &got)
		if len(got.Tools) != 2 || got.Tools[1].Direction != "one_way" || got.Options.DeleteLimit != 5 {
			t.Fatalf("updated: %+v", got)
		}
		if p, _ := e.eng.Pair(e.pairID); p.DeleteLimit != 5 {
			t.Fatalf("the engine pair's delete limit is %d", p.DeleteLimit)
		}
		var rs struct{ Recipients []string }
		st, b = admin.do("PUT", proj+"/recipients", map[string]any{"recipients": []string{"A@Example.com", "a@example.com", "b@example.com"}})
		if st != http.StatusOK || json.Unmarshal(b, &rs) != nil || !slices.Equal(rs.Recipients, []string{"a@example.com", "b@example.com"}) {
			t.Fatalf("recipients: %d %s", st, b)
		}
		viewer.getJSON(proj+"/recipients", &rs)
		if len(rs.Recipients) != 2 {
			t.Fatalf("recipients: %+v", rs)
		}
		if st, b := admin.do("PUT", proj+"/recipients", map[string]any{"recipients": []string{"not an address"}}); st != http.StatusBadRequest {
			t.Fatalf("bad recipient: %d %s", st, b)
		}
		// The connection check: a failing target names the error.
		_, b0 := e.projects.storages(e.pairID)
		b0.FailNext(memory.OpList, 1, errors.New("403 accessDenied"))
		var checks []portal.CheckResult
		st, b = admin.do("POST", proj+"/check", nil)
		if st != http.StatusOK || json.Unmarshal(b, &checks) != nil || len(checks) != 2 || checks[0].OK ||
			!strings.Contains(checks[0].Message, "403 accessDenied") || !checks[1].OK {
			t.Fatalf("check: %d %s", st, b)
		}
		// Add and remove a second project.
		st, b = admin.do("POST", "/api/v1/projects", portal.ProjectConfig{Name: "Hospital", CompanyID: 1, ProcoreProjectID: 11,
			Tools: []portal.ToolConfig{{Tool: "photos", Direction: "one_way"}}})
		var added portal.ProjectConfig
		if st != http.StatusCreated || json.Unmarshal(b, &added) != nil || added.ID == "" || added.Tools[0].PairID == "" {
			t.Fatalf("add: %d %s", st, b)
		}
		if st, b := admin.do("POST", "/api/v1/projects", portal.ProjectConfig{Name: "x", CompanyID: 1, ProcoreProjectID: 1,
			Tools: []portal.ToolConfig{{Tool: "rfis", Direction: "two_way"}}}); st != http.StatusBadRequest {
			t.Fatalf("a two-way RFI tool: %d %s", st, b)
		}
		if st, b := admin.do("DELETE", "/api/v1/projects/"+added.ID+"?forget=true", nil); st != http.StatusNoContent {
			t.Fatalf("remove: %d %s", st, b)
		}
		if _, ok := e.eng.Pair(added.Tools[0].PairID); ok {
			t.Fatal("the removed project's pair is still in the engine")
		}
	})

	t.Run("logs", func(t *testing.T) {
		var runs []portal.RunInfo
		viewer.getJSON(pair+"/runs", &runs)
		if len(runs) != 3 || !runs[2].Initial || runs[2].Ended == nil || runs[0].Status != "partial" {
			t.Fatalf("runs: %+v", runs)
		}
		viewer.getJSON(pair+"/runs?limit=1&offset=1", &runs)
		if len(runs) != 1 {
			t.Fatalf("paged runs: %+v", runs)
		}
		var acts []portal.ActivityEntry
		viewer.getJSON(pair+"/activity", &acts)
		if len(acts) == 0 || acts[0].Side == "" || acts[0].Action == "" {
			t.Fatalf("activity: %+v", acts)
		}
		var errs []portal.ErrorEntry
		viewer.getJSON(pair+"/errors", &errs)
		if len(errs) != 1 || !strings.Contains(errs[0].Error, "disk full") || errs[0].Path != "Specs/new.txt" {
			t.Fatalf("errors: %+v", errs)
		}
		var perrs []portal.ErrorEntry
		viewer.getJSON(proj+"/errors", &perrs)
		if len(perrs) != 1 || perrs[0].ID != errs[0].ID {
			t.Fatalf("project errors: %+v", perrs)
		}
		var pr portal.Progress
		viewer.getJSON(pair+"/progress", &pr)
		if pr.Running || pr.Run == nil || pr.InSync == 0 {
			t.Fatalf("progress: %+v", pr)
		}
		if st, _ := viewer.do("GET", pair+"/runs?limit=5000", nil); st != http.StatusBadRequest {
			t.Fatalf("limit over the maximum: %d", st)
		}
		if st, _ := viewer.do("GET", "/api/v1/pairs/nope/runs", nil); st != http.StatusNotFound {
			t.Fatalf("unknown pair: %d", st)
		}
	})

	t.Run("file manager", func(t *testing.T) {
		var f portal.Folder
		viewer.getJSON(pair+"/folder", &f)
		if f.Parent != nil || f.AName != "Procore" || f.BName != "SharePoint" {
			t.Fatalf("root: %+v", f)
		}
		status := map[string]string{}
		for _, it := range f.Entries {
			status[it.Name] = it.Status
		}
		if status["Specs"] != "in_sync" || status["readme.txt"] != "in_sync" || status["Drawings"] != "in_sync" {
			t.Fatalf("root statuses: %v", status)
		}
		var dr portal.Folder
		viewer.getJSON(pair+"/folder?path=Drawings", &dr)
		if len(dr.Entries) != 1 || dr.Entries[0].Name != "A-102.pdf" || dr.Entries[0].Status != "held" ||
			dr.Entries[0].A != nil || dr.Entries[0].B == nil {
			t.Fatalf("Drawings: %+v", dr.Entries)
		}
		viewer.getJSON(pair+"/folder?path=Specs", &f)
		if f.Parent == nil || *f.Parent != "" {
			t.Fatalf("parent of Specs: %+v", f.Parent)
		}
		var newTxt *portal.FolderItem
		for i, it := range f.Entries {
			if it.Name == "spec.txt" && (it.B == nil || !strings.HasPrefix(it.B.WebURL, "https://contoso.sharepoint.com/")) {
				t.Fatalf("spec.txt without its web address on B: %+v", it)
			}
			if it.Name == "new.txt" {
				newTxt = &f.Entries[i]
			}
		}
		if newTxt == nil || newTxt.B != nil || (newTxt.Status != "quarantined" && newTxt.Status != "failed") {
			t.Fatalf("new.txt: %+v", newTxt)
		}
		if st, _ := viewer.do("GET", pair+"/folder?path=../etc", nil); st != http.StatusBadRequest {
			t.Fatalf("a path with ..: %d", st)
		}
	})

	t.Run("quarantine", func(t *testing.T) {
		var qs []portal.QuarantinedItem
		viewer.getJSON(pair+"/quarantine", &qs)
		if len(qs) != 1 || qs[0].Path != "Specs/new.txt" {
			t.Fatalf("quarantine: %+v", qs)
		}
		if st, b := admin.do("POST", pair+"/quarantine/release", map[string]string{"side": qs[0].Side, "path": qs[0].Path}); st != http.StatusNoContent {
			t.Fatalf("release: %d %s", st, b)
		}
		viewer.getJSON(pair+"/quarantine", &qs)
		if len(qs) != 1 || qs[0].Quarantined || qs[0].Attempts != 0 {
			t.Fatalf("after release: %+v", qs)
		}
		if st, _ := admin.do("POST", pair+"/quarantine/release", map[string]string{"side": "C", "path": "x"}); st != http.StatusBadRequest {
			t.Fatalf("bad side: %d", st)
		}
	})

	t.Run("dry run and sync level", func(t *testing.T) {
		var dr portal.DryRunResult
		st, b := admin.do("POST", pair+"/dry-run", nil)
		if st != http.StatusOK || json.Unmarshal(b, &dr) != nil || !strings.HasPrefix(dr.Text, "plan for "+e.pairID) {
			t.Fatalf("dry run: %d %s", st, b)
		}
		found := false
		for _, a := range dr.Actions {
			found = found || a.Path == "Specs/new.txt"
		}
		if !found {
			t.Fatalf("the released item is not in the plan: %+v", dr.Actions)
		}
		var run portal.RunInfo
		st, b = admin.do("POST", pair+"/sync-level", map[string]string{"path": "Specs"})
		if st != http.StatusOK || json.Unmarshal(b, &run) != nil || run.Counts.FilesCopied != 1 {
			t.Fatalf("sync level: %d %s", st, b)
		}
		_, b0 := e.projects.storages(e.pairID)
		if _, err := b0.ReadFile("Specs/new.txt"); err != nil {
			t.Fatalf("sync level did not copy Specs/new.txt: %v", err)
		}
	})

	t.Run("held", func(t *testing.T) {
		var hs []portal.HeldItem
		viewer.getJSON(pair+"/held", &hs)
		if len(hs) != 1 || hs[0].Side != "SharePoint" || hs[0].DeletedOn != "Procore" {
			t.Fatalf("held: %+v", hs)
		}
		if st, _ := admin.do("POST", pair+"/held/approve", map[string]any{"ids": []int64{999}}); st != http.StatusNotFound {
			t.Fatalf("approving an unknown id: %d", st)
		}
		if st, b := admin.do("POST", pair+"/held/approve", map[string]any{"ids": []int64{hs[0].ID}}); st != http.StatusNoContent {
			t.Fatalf("approve: %d %s", st, b)
		}
		_, b0 := e.projects.storages(e.pairID)
		if _, err := b0.ReadFile(hs[0].Path); err == nil {
			t.Fatalf("approved deletion of %s not applied", hs[0].Path)
		}
		viewer.getJSON(pair+"/held", &hs)
		if len(hs) != 0 {
			t.Fatalf("held after approval: %+v", hs)
		}
		// Reject: delete two more files on A; both are held (the
		// approval counts against the delete limit), one is rejected
		// and restored on A.
		a0, _ := e.projects.storages(e.pairID)
		cfg, _ := e.svc.ProjectConfig(e.caller(portal.RoleAdmin), e.project.ID)
		cfg.Options.DeleteLimit = 1
		if _, err := e.svc.UpdateProject(e.caller(portal.RoleAdmin), cfg); err != nil {
			t.Fatal(err)
		}
		_ = a0.Remove("readme.txt")
		_ = a0.Remove("Specs/spec.txt")
		e.run()
		viewer.getJSON(pair+"/held", &hs)
		if len(hs) != 2 {
			t.Fatalf("held: %+v", hs)
		}
		if st, b := admin.do("POST", pair+"/held/reject", map[string]any{"ids": []int64{hs[0].ID}}); st != http.StatusNoContent {
			t.Fatalf("reject: %d %s", st, b)
		}
		if _, err := a0.ReadFile(hs[0].Path); err != nil {
			t.Fatalf("rejected deletion of %s not restored on A: %v", hs[0].Path, err)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		if st, b := admin.do("POST", pair+"/pause", map[string]string{"reason": "site move"}); st != http.StatusNoContent {
			t.Fatalf("pause: %d %s", st, b)
		}
		var p portal.ProjectSummary
		viewer.getJSON(proj, &p)
		if p.Tools[0].State != "paused" || p.Tools[0].PauseReason != "site move" {
			t.Fatalf("paused: %+v", p.Tools[0])
		}
		if st, b := admin.do("POST", pair+"/resume", nil); st != http.StatusNoContent {
			t.Fatalf("resume: %d %s", st, b)
		}
		viewer.getJSON(proj, &p)
		if p.Tools[0].State == "paused" {
			t.Fatalf("still paused: %+v", p.Tools[0])
		}
	})

	t.Run("exports", func(t *testing.T) {
		resp := admin.send("GET", "/api/v1/exports/history?format=csv&pair="+url.QueryEscape(e.pairID), nil, nil)
		rows, err := csv.NewReader(resp.Body).ReadAll()
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(rows) < 5 || rows[0][0] != "pair" ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("history CSV: %d %v %v", resp.StatusCode, rows, err)
		}
		for _, kind := range []string{"history", "activity", "errors", "data"} {
			resp := admin.send("GET", "/api/v1/exports/"+kind+"?format=xlsx&project="+e.project.ID, nil, nil)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != xlsxType {
				t.Fatalf("%s XLSX: %d %s", kind, resp.StatusCode, b)
			}
			f, err := excelize.OpenReader(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s XLSX does not open: %v", kind, err)
			}
			sheet := f.GetSheetName(0)
			xrows, err := f.GetRows(sheet)
			f.Close()
			if err != nil || len(xrows) < 2 || xrows[0][0] != "pair" {
				t.Fatalf("%s XLSX rows: %v %v", kind, xrows, err)
			}
			if kind == "data" {
				// Every synced item, both sides' IDs, paths and versions.
				items := 0
				for it, err := range e.store.Items(context.Background(), e.pairID) {
					if err != nil {
						t.Fatal(err)
					}
					items++
					found := false
					for _, r := range xrows[1:] {
						found = found || (len(r) > 10 && r[3] == it.A.ID && r[4] == it.A.Path && r[5] == it.A.Version &&
							r[9] == it.B.ID && r[10] == it.B.Path && r[11] == it.B.Version)
					}
					if !found {
						t.Fatalf("data view misses %+v", it)
					}
				}
				if len(xrows)-1 != items {
					t.Fatalf("data view has %d rows for %d items", len(xrows)-1, items)
				}
			}
		}
		if st, _ := admin.do("GET", "/api/v1/exports/secrets", nil); st != http.StatusBadRequest {
			t.Fatalf("unknown export: %d", st)
		}
	})

	t.Run("connections", func(t *testing.T) {
		id := admin.connect("procore")
		var cs []connect.Connection
		viewer.getJSON("/api/v1/connections", &cs)
		if len(cs) != 1 || cs[0].ID != id || cs[0].Provider != connect.Procore || cs[0].Domain != "sandbox" || cs[0].CustomClient {
			t.Fatalf("connections: %+v", cs)
		}
		st, b := admin.do("POST", "/api/v1/connections/"+id+"/test", nil)
		var res connect.TestResult
		if st != http.StatusOK || json.Unmarshal(b, &res) != nil || !res.OK || !strings.Contains(res.Message, "succeeded") {
			t.Fatalf("test: %d %s", st, b)
		}
		// The token is never shown again.
		for _, path := range []string{"/api/v1/connections", "/api/v1/audit"} {
			_, b := admin.do("GET", path, nil)
			if bytes.Contains(b, []byte("access_token")) || bytes.Contains(b, []byte("refresh_token")) || bytes.Contains(b, []byte(e.procore.ClientSecret)) {
				t.Fatalf("%s shows a secret: %s", path, b)
			}
		}
		// A callback replayed, or from another session, is refused.
		st, b = admin.do("POST", "/api/v1/connections", map[string]any{"provider": "procore"})
		var start struct {
			AuthorizeURL string `json:"authorize_url"`
		}
		if st != http.StatusOK || json.Unmarshal(b, &start) != nil {
			t.Fatalf("start: %d %s", st, b)
		}
		cb := allow(t, start.AuthorizeURL)
		if st, _ := owner.do("GET", cb.RequestURI(), nil); st != http.StatusBadRequest {
			t.Fatalf("callback in another session: %d", st)
		}
		if st, b := admin.do("DELETE", "/api/v1/connections/"+id, nil); st != http.StatusNoContent {
			t.Fatalf("remove connection: %d %s", st, b)
		}
	})

	t.Run("audit", func(t *testing.T) {
		var es []portal.AuditEntry
		viewer.getJSON("/api/v1/audit?limit=1000", &es)
		kinds, count := map[string]string{}, map[string]int{}
		for _, en := range es {
			kinds[en.Kind] = en.Actor
			count[en.Kind]++
		}
		if count["held_delete_approved"] != 1 || count["pair_paused"] != 1 {
			t.Errorf("entries recorded twice or not at all: %v", count)
		}
		for _, k := range []string{"project_added", "project_updated", "project_removed", "recipients_changed",
			"quarantine_released", "folder_synced", "held_delete_approved", "held_delete_rejected", "pair_paused",
			"pair_resumed", "connection_added", "connection_tested", "connection_removed"} {
			if _, ok := kinds[k]; !ok {
				t.Errorf("no audit entry %q (have %v)", k, kinds)
			}
		}
		if kinds["held_delete_approved"] != "admin@example.com" {
			t.Errorf("approval recorded for %q", kinds["held_delete_approved"])
		}
		viewer.getJSON("/api/v1/audit?kind=pair_paused", &es)
		if len(es) != 1 || es[0].Details["reason"] != "site move" || es[0].PairID != e.pairID {
			t.Fatalf("filtered audit: %+v", es)
		}
	})

	t.Run("accounts", func(t *testing.T) {
		st, b := owner.do("POST", "/api/v1/accounts", map[string]string{"email": "New@Example.com", "name": "New",
			"role": "viewer", "password": "a long enough password"})
		if st != http.StatusCreated {
			t.Fatalf("create: %d %s", st, b)
		}
		if st, _ := owner.do("POST", "/api/v1/accounts", map[string]string{"email": "new@example.com", "role": "viewer",
			"password": "a long enough password"}); st != http.StatusConflict {
			t.Fatalf("duplicate: %d", st)
		}
		if st, _ := owner.do("POST", "/api/v1/accounts", map[string]string{"email": "x@example.com", "role": "viewer",
			"password": "short"}); st != http.StatusBadRequest {
			t.Fatalf("short password: %d", st)
		}
		var as []portal.AccountInfo
		owner.getJSON("/api/v1/accounts", &as)
		if len(as) != 4 || bytes.Contains(b, []byte("argon2")) {
			t.Fatalf("accounts: %+v", as)
		}
		st, b = owner.do("PATCH", "/api/v1/accounts/new@example.com", map[string]any{"role": "admin"})
		if st != http.StatusOK || !bytes.Contains(b, []byte(`"role":"admin"`)) {
			t.Fatalf("update: %d %s", st, b)
		}
		if st, _ := owner.do("PATCH", "/api/v1/accounts/owner@example.com", map[string]any{"role": "viewer"}); st != http.StatusConflict {
			t.Fatalf("demoting the last owner: %d", st)
		}
		if st, _ := owner.do("DELETE", "/api/v1/accounts/new@example.com", nil); st != http.StatusNoContent {
			t.Fatalf("delete: %d", st)
		}
		// Changing one's password ends every session of the account.
		v2 := e.login(portal.RoleViewer)
		if st, b := v2.do("PUT", "/api/v1/password", map[string]string{"current_password": password,
			"new_password": "another long password"}); st != http.StatusNoContent {
			t.Fatalf("password: %d %s", st, b)
		}
		if st, _ := viewer.do("GET", "/api/v1/session", nil); st != http.StatusUnauthorized {
			t.Fatalf("the old session lives on after a password change: %d", st)
		}
		viewer = nil
	})

	t.Run("logout", func(t *testing.T) {
		var ss []portal.SessionInfo
		a2 := e.login(portal.RoleAdmin)
		admin.getJSON("/api/v1/sessions", &ss)
		if len(ss) != 2 {
			t.Fatalf("sessions: %+v", ss)
		}
		for _, s := range ss {
			if !s.Current {
				if st, _ := admin.do("DELETE", "/api/v1/sessions/"+s.ID, nil); st != http.StatusNoContent {
					t.Fatalf("revoke: %d", st)
				}
			}
		}
		if st, _ := a2.do("GET", "/api/v1/session", nil); st != http.StatusUnauthorized {
			t.Fatalf("revoked session still works: %d", st)
		}
		if st, _ := admin.do("DELETE", "/api/v1/session", nil); st != http.StatusNoContent {
			t.Fatalf("logout: %d", st)
		}
		if st, _ := admin.do("GET", "/api/v1/session", nil); st != http.StatusUnauthorized {
			t.Fatalf("after logout: %d", st)
		}
	})

	// Every operation answered successfully at least once.
	d, _ := loadDoc()
	for path, item := range d.Paths.Map() {
		for method, op := range item.Operations() {
			ok := false
			for st := range e.oas.seen[op.OperationID] {
				ok = ok || st < 400
			}
			if !ok {
				t.Errorf("%s %s (%s) was never answered successfully: %v", method, path, op.OperationID, e.oas.seen[op.OperationID])
			}
		}
	}
	// And every route of the handler is in the description.
	for _, r := range e.handler.Routes() {
		if item := d.Paths.Find(r.Pattern); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s is not in the OpenAPI description", r.Method, r.Pattern)
		}
	}
}

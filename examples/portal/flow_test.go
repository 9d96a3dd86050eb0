package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/procoresync/procoresync/examples/internal/app"
)

// TestBrowser drives the portal in headless chromium as an admin would:
// sign in, connect Procore and SharePoint through the fakes' sign-in
// pages, add the project and watch its initial sync complete without a
// reload, open the file manager and sync one level after a person
// deleted two files on SharePoint, approve the deletion held by the
// delete limit, download the history as XLSX and read its rows back, add
// a viewer and be refused as that viewer. It writes a screenshot of each
// page (see screenshots).
func TestBrowser(t *testing.T) {
	bctx := newBrowser(t, 3*time.Minute)
	p := startPortal(t, app.SharePoint, 1)
	shots := &shooter{t: t, ctx: bctx, dir: screenshots(t)}
	u := p.URL
	began := time.Now()
	step := func(what string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), what) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(js string) bool {
		t.Helper()
		ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return ok
	}
	// waitFor polls a script until it is true, up to limit.
	waitFor := func(what, js string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !eval(js) {
			if time.Now().After(deadline) {
				shots.shot("timeout-" + strings.ReplaceAll(what, " ", "-"))
				page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
				t.Fatalf("%s: not true after %s: %s\non the page %s", what, limit, js, page)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// submit clicks sel and waits for the next page to show wait.
	submit := func(what, sel, wait string) {
		t.Helper()
		eval(`window.__before = true`)
		do(what, chromedp.Click(chromedp.CSS(sel)))
		waitFor(what, fmt.Sprintf(`!window.__before && document.readyState === 'complete' && !!document.querySelector(%q)`, wait),
			time.Minute)
	}
	// allow presses the "Allow" button of a fake's sign-in page.
	allow := func(service string) {
		t.Helper()
		// The fake's page (the caller marked the page it left), or
		// straight back to the portal when the provider skips it.
		waitFor(service+" sign-in page", `!window.__before && document.readyState === 'complete'`, time.Minute)
		if eval(fmt.Sprintf(`location.origin === %q`, u)) {
			return
		}
		waitFor(service+" sign-in form", `!!document.querySelector('form')`, 15*time.Second)
		shots.shot(service + " sign-in page")
		if !eval(`(() => { const b = [...document.querySelectorAll('button, input[type=submit]')]
			.find(b => /allow|accept|approve|authorize|grant/i.test(b.textContent || b.value)); if (!b) return false; b.click(); return true })()`) {
			t.Fatalf("%s sign-in page has no Allow button", service)
		}
	}

	// Sign in as the owner.
	do("open the portal", chromedp.Navigate(u+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	step("browser started")
	shots.shot("login")
	do("sign in", chromedp.SendKeys(chromedp.CSS("#email"), ownerEmail), chromedp.SendKeys(chromedp.CSS("#password"), ownerPassword))
	submit("sign in", "#sign-in", "#who")
	if got := text("#who"); got != ownerEmail {
		t.Fatalf("signed in as %q", got)
	}

	// Connect Procore, then SharePoint, through the fakes' sign-in pages.
	do("connections", chromedp.Navigate(u+"/connections"), chromedp.WaitVisible(chromedp.CSS("#connect-procore")))
	eval(`window.__before = true`)
	do("sign in with Procore", chromedp.Click(chromedp.CSS("#connect-procore")))
	allow("Procore")
	waitFor("back from Procore", `!window.__before && !!document.querySelector("#flash")`, time.Minute)
	if f := text("#flash"); !strings.Contains(f, "Procore connected") {
		t.Fatalf("after Procore's sign-in: %q", f)
	}
	eval(`window.__before = true`)
	do("sign in with Microsoft", chromedp.Click(chromedp.CSS("#connect-microsoft")))
	allow("Microsoft")
	waitFor("back from Microsoft", `!window.__before && !!document.querySelector("#flash")`, time.Minute)
	if f := text("#flash"); !strings.Contains(f, "connected") {
		t.Fatalf("after Microsoft's sign-in: %q", f)
	}
	submit("test the Procore connection", "#test-procore", "#flash")
	if f := text("#flash"); !strings.Contains(f, "succeeded") {
		t.Fatalf("Procore connection test: %q", f)
	}
	shots.shot("connections connected")
	step("connections connected")

	// Add the project: company, project, tools, target folder.
	do("projects", chromedp.Navigate(u+"/projects"), chromedp.WaitVisible(chromedp.CSS("#add-project")))
	if !eval(fmt.Sprintf(`[...document.querySelectorAll('#project option')].some(o => o.textContent.includes(%q))`, app.ProjectName)) {
		t.Fatalf("the project %q is not offered", app.ProjectName)
	}
	do("choose the project", chromedp.SetValue(chromedp.CSS("#project"), fmt.Sprint(p.fakes.ProjectID)),
		chromedp.SetValue(chromedp.CSS("#folder"), "Procore"))
	shots.shot("add project")
	step("add project")
	submit("add the project", "#add", "#project-name")
	if got := text("#project-name"); got != app.ProjectName {
		t.Fatalf("project page of %q", got)
	}
	// The initial sync's progress updates in place: the marker set on the
	// page survives until every tool is in sync.
	eval(`window.__noReload = true`)
	shots.shot("project initial sync")
	waitFor("initial sync complete", `(() => { const rows = [...document.querySelectorAll('[data-progress]')];
		return rows.length >= 3 && rows.every(r => r.dataset.state === 'done') })()`, 90*time.Second)
	if !eval(`window.__noReload === true`) {
		t.Fatal("the project page reloaded to show the progress")
	}
	shots.shot("project in sync")
	do("dashboard", chromedp.Navigate(u+"/"), chromedp.WaitVisible(chromedp.CSS("#tools")))
	shots.shot("dashboard")
	// On a laptop the navigation is a sidebar; on a tablet (820x1180,
	// touch) it folds above the content and nothing scrolls sideways.
	if !eval(`getComputedStyle(document.querySelector('.shell')).gridTemplateColumns.split(' ').length === 2`) {
		t.Error("no sidebar on a laptop-sized window")
	}
	do("tablet", chromedp.EmulateViewport(820, 1180, chromedp.EmulatePortrait, chromedp.EmulateTouch),
		chromedp.Navigate(u+"/"), chromedp.WaitVisible(chromedp.CSS("#tools")))
	if !eval(`getComputedStyle(document.querySelector('.shell')).gridTemplateColumns.split(' ').length === 1`) {
		t.Error("the sidebar does not fold on a tablet")
	}
	if !eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the dashboard scrolls sideways on a tablet")
	}
	shots.shot("dashboard tablet")
	do("laptop again", chromedp.ResetViewport())
	step("project in sync")
	docs := filepath.ToSlash(filepath.Join("Procore", app.ProjectName, "Documents"))
	if !p.fakes.WebExists(docs + "/01 Drawings/A - Architectural/A-101 Level 1 Floor Plan.pdf") {
		t.Fatal("the initial sync did not copy the drawings to SharePoint")
	}

	// A person deletes two files on SharePoint; the admin syncs that level
	// from the file manager. The delete limit (1) holds a deletion.
	for _, f := range []string{"RFI 012 - Footing depth (Grid C-4).pdf", "RFI Log (old).xlsx"} {
		if err := p.fakes.WebDelete(docs + "/03 RFIs/" + f); err != nil {
			t.Fatal(err)
		}
	}
	do("file manager", chromedp.Navigate(u+"/files"), chromedp.WaitVisible(chromedp.CSS("#pair")))
	pair := ""
	for _, id := range p.engine.Pairs() {
		if strings.HasSuffix(id, "/documents") && !strings.Contains(id, "company") {
			pair = id
		}
	}
	do("choose Documents", chromedp.SetValue(chromedp.CSS("#pair"), pair))
	submit("open Documents", "#open-pair", `tr[data-name="03 RFIs"] a`)
	submit("open 03 RFIs", `tr[data-name="03 RFIs"] a`, "#sync-level")
	if !strings.Contains(text(`tr[data-name="RFI Log (old).xlsx"]`), "only in Procore") {
		t.Errorf("the deleted file is not shown as only in Procore: %q", text(`tr[data-name="RFI Log (old).xlsx"]`))
	}
	shots.shot("file manager folder")
	submit("sync this level", "#sync-level", "#flash")
	if f := text("#flash"); !strings.Contains(f, "This level was synced") || !strings.Contains(f, "1 held") {
		t.Fatalf("after sync this level: %q", f)
	}
	shots.shot("file manager synced")
	step("file manager synced")

	// Approve the held deletion.
	do("held deletions", chromedp.Navigate(u+"/held"), chromedp.WaitVisible(chromedp.CSS("#held")))
	shots.shot("held")
	heldPath := text("#held tbody tr code")
	submit("approve", "#held button.approve", "#flash")
	if f := text("#flash"); f != "Deletion approved." {
		t.Fatalf("after approving: %q", f)
	}
	do("no deletion held", chromedp.WaitVisible(chromedp.CSS("#no-held")))
	if _, err := p.fakes.Procore.UIFile(p.fakes.Docs(), heldPath); err == nil {
		t.Errorf("%s is still in Procore after the deletion was approved", heldPath)
	}
	shots.shot("held approved")
	step("held approved")
	do("audit log", chromedp.Navigate(u+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	if a := text("#audit"); !regexp.MustCompile(`project[._]added`).MatchString(a) ||
		!regexp.MustCompile(`held[._a-z]*approved`).MatchString(a) || !strings.Contains(a, ownerEmail) {
		t.Errorf("audit log lacks the project added or the approval:\n%s", a)
	}
	shots.shot("audit")

	// Download the history as XLSX and read it back.
	dl := t.TempDir()
	if _, err := cdp.Call(bctx, chromedp.FromContext(bctx).Browser, browser.SetDownloadBehavior,
		browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	do("exports", chromedp.Navigate(u+"/exports"), chromedp.WaitVisible(chromedp.CSS("#xlsx-history")))
	shots.shot("exports")
	do("download the history", chromedp.Click(chromedp.CSS("#xlsx-history")))
	file := waitDownload(t, dl, ".xlsx", 20*time.Second)
	checkHistory(t, file, pair)
	step("xlsx checked")

	// Add a viewer, sign in as the viewer, be refused.
	do("accounts", chromedp.Navigate(u+"/accounts"), chromedp.WaitVisible(chromedp.CSS("#add-account")))
	do("add a viewer", chromedp.SendKeys(chromedp.CSS("#new-email"), "viewer@example.com"),
		chromedp.SetValue(chromedp.CSS("#new-role"), "viewer"), chromedp.SendKeys(chromedp.CSS("#new-password"), "viewer password 1"))
	submit("add a viewer", "#add-account-button", "#flash")
	shots.shot("accounts")
	submit("sign out", "#logout", "#login-form")
	do("sign in as the viewer", chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "viewer password 1"))
	submit("sign in as the viewer", "#sign-in", "#who")
	do("viewer exports", chromedp.Navigate(u+"/exports"), chromedp.WaitVisible(chromedp.CSS("#refused")))
	shots.shot("viewer exports refused")
	// The viewer sees the project but no button to change it; a forged
	// approval with the viewer's own CSRF token is refused by the service.
	do("viewer project", chromedp.Navigate(u+"/projects"), chromedp.WaitVisible(chromedp.CSS("#projects")))
	if eval(`!!document.querySelector('#add-project')`) {
		t.Error("a viewer is offered the add-project form")
	}
	status, err := chromedp.Run(bctx, chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
		const csrf = document.querySelector('input[name=csrf]').value;
		const r = await fetch('/held/approve', {method: 'POST', body: new URLSearchParams({csrf, pair: %q, id: '1'})});
		return r.status })()`, pair), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 {
		t.Errorf("a viewer's approval: HTTP %d, want 403", status)
	}
	do("viewer download", chromedp.Navigate(u+"/exports/history.xlsx"), chromedp.WaitVisible(chromedp.CSS("#refused")))
	if r := text("#refused"); r != "Not allowed" {
		t.Errorf("a viewer's download: %q", r)
	}
	shots.shot("viewer download refused")
	step("viewer download refused")
}

// waitDownload waits for a finished download with suffix in dir.
func waitDownload(t *testing.T, dir, suffix string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if strings.HasSuffix(e.Name(), suffix) {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s downloaded into %s within %s", suffix, dir, limit)
	return ""
}

// checkHistory reads the downloaded history back: a header, then one row
// per run, among them the initial sync and the level sync of pair.
func checkHistory(t *testing.T, file, pair string) {
	t.Helper()
	x, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		t.Fatal("the XLSX has no sheet")
	}
	rows, err := x.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatalf("the XLSX has %d rows", len(rows))
	}
	header := rows[0]
	col := func(name string) int {
		i := slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(h, name) })
		if i < 0 {
			t.Fatalf("the XLSX has no %q column: %q", name, header)
		}
		return i
	}
	pc, sc := col("pair"), col("status")
	var runs []string
	for _, r := range rows[1:] {
		if len(r) > max(pc, sc) && r[pc] == pair {
			runs = append(runs, r[sc])
		}
	}
	// The initial sync and the level sync, both finished.
	if len(runs) < 2 {
		t.Fatalf("%d runs of %s in the XLSX, want at least 2:\n%q", len(runs), pair, rows)
	}
	for _, s := range runs {
		if s == "" || s == "running" {
			t.Errorf("a run of %s in the XLSX has status %q", pair, s)
		}
	}
	t.Logf("XLSX %s: %d rows, columns %q", filepath.Base(file), len(rows)-1, header)
}

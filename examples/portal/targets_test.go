package main

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/examples/internal/app"
)

var (
	formActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// connectOver connects provider as a person would without scripts: the
// portal sends the browser to the fake's sign-in page, whose form the
// person submits with "allow"; the fake redirects back to the portal's
// callback. It returns the page the portal ends on.
func connectOver(t *testing.T, c *http.Client, base, csrf, provider string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/connections/"+provider+"/start",
		strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := resp.Request.URL
	signin := readAll(t, resp)
	m := formActionRE.FindStringSubmatch(signin)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("%s sign-in page %s: %d\n%s", provider, page, resp.StatusCode, signin)
	}
	form := url.Values{"decision": {"allow"}}
	for _, h := range hiddenRE.FindAllStringSubmatch(signin, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	action, err := page.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "connected") {
		t.Fatalf("after %s's sign-in: %d %s\n%s", provider, resp.StatusCode, resp.Request.URL, body)
	}
	return body
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTargets connects Procore and each target through the fakes'
// sign-in pages, adds the project, waits for its initial sync (through
// the progress endpoint the pages poll) and finds the files on the
// target.
func TestTargets(t *testing.T) {
	for _, tc := range []struct {
		target   app.Target
		provider string
	}{{app.OneDrive, "microsoft"}, {app.Box, "box"}, {app.Dropbox, "dropbox"}} {
		t.Run(string(tc.target), func(t *testing.T) {
			p := startPortal(t, tc.target, 25)
			c := browserless(t)
			csrf := signIn(t, c, p.URL, ownerEmail, ownerPassword)
			connectOver(t, c, p.URL, csrf, "procore")
			connectOver(t, c, p.URL, csrf, tc.provider)
			status, body := post(t, c, p.URL, "/projects", url.Values{"csrf": {csrf},
				"company": {fmt.Sprint(p.fakes.Procore.CompanyID)}, "project": {fmt.Sprint(p.fakes.ProjectID)},
				"tools": {"documents", "rfis"}, "folder": {"Procore"}})
			if status != http.StatusOK || !strings.Contains(body, `id="project-name"`) {
				t.Fatalf("adding the project: %d\n%s", status, body)
			}
			id := fmt.Sprintf("%d-%d", p.fakes.Procore.CompanyID, p.fakes.ProjectID)
			deadline := time.Now().Add(90 * time.Second)
			for {
				_, js := get(t, c, p.URL+"/progress?project="+id)
				var rows []progressRow
				if err := json.Unmarshal([]byte(js), &rows); err != nil {
					t.Fatalf("progress: %v: %s", err, js)
				}
				done := len(rows) == 2
				for _, r := range rows {
					done = done && r.State == "done"
					if r.State == "failed" {
						t.Fatalf("the initial sync failed: %+v", r)
					}
				}
				if done {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the initial sync did not complete: %s", js)
				}
				time.Sleep(300 * time.Millisecond)
			}
			for _, f := range []string{"Documents/01 Drawings/A - Architectural/A-101 Level 1 Floor Plan.pdf",
				"RFIs/12 - Footing depth at grid C-4/C-4 footing sketch.pdf"} {
				if !p.fakes.WebExists(path.Join("Procore", app.ProjectName, f)) {
					t.Errorf("%s lacks %s", tc.target, f)
				}
			}
		})
	}
}

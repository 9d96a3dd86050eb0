package graphtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/graphtest"
	"github.com/stretchr/testify/require"
)

// raw is a bare HTTP client for the fake.
type raw struct {
	t   *testing.T
	srv *graphtest.Server
	tok string
}

func newRaw(t *testing.T, opt graphtest.Options) *raw {
	srv := graphtest.NewServer(t, opt)
	return &raw{t: t, srv: srv, tok: srv.Token()}
}

// do sends a request; path is relative to /v1.0 unless absolute.
func (r *raw) do(method, path string, body []byte, hdr ...string) (int, http.Header, map[string]any) {
	r.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = r.srv.BaseURL() + path
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(r.t, err)
	if strings.HasPrefix(u, r.srv.API.URL) {
		req.Header.Set("Authorization", "Bearer "+r.tok)
	}
	if body != nil && json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	var m map[string]any
	if len(b) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		require.NoError(r.t, json.Unmarshal(b, &m), "body %s", b)
	}
	if m == nil {
		m = map[string]any{"_raw": string(b)}
	}
	return resp.StatusCode, resp.Header, m
}

func code(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		return e["code"].(string)
	}
	return ""
}

func inner(m map[string]any) []string {
	var out []string
	e, _ := m["error"].(map[string]any)
	for in, _ := e["innerError"].(map[string]any); in != nil; in, _ = in["innerError"].(map[string]any) {
		if c, ok := in["code"].(string); ok {
			out = append(out, c)
		}
	}
	return out
}

func TestAddressing(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	f, err := r.srv.WebUpload(d, "Plans/Level 1/A #1 50%.pdf", []byte("pdf"))
	require.NoError(t, err)
	dir, _ := r.srv.Stat(d, "Plans")
	site := r.srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := r.srv.SiteDrives(site)[0]
	_, err = r.srv.WebUpload(lib, "x.txt", []byte("x"))
	require.NoError(t, err)
	for _, tc := range []struct {
		name, path string
		status     int
		id         string
	}{
		{"me drive root path", "/me/drive/root:/Plans/Level%201/A%20%231%2050%25.pdf:", 200, f.ID},
		{"path without closing colon", "/me/drive/root:/Plans/Level%201/A%20%231%2050%25.pdf", 200, f.ID},
		{"drive by id", "/drives/" + d + "/root:/plans/LEVEL%201/a%20%231%2050%25.PDF:", 200, f.ID},
		{"relative to an item", "/drives/" + d + "/items/" + dir.ID + ":/Level%201/A%20%231%2050%25.pdf:", 200, f.ID},
		{"user by upn", "/users/" + graphtest.MeUPN + "/drive/items/" + f.ID, 200, f.ID},
		{"user by id", "/users/" + graphtest.MeUser + "/drive/root:/Plans:", 200, dir.ID},
		{"site by path, default library", "/sites/" + graphtest.SharePointHost + ":/sites/projects:/drive/root:/X.TXT:", 200, ""},
		{"ids are case-sensitive", "/drives/" + d + "/items/" + strings.ToLower(f.ID), 404, ""},
		{"missing path", "/me/drive/root:/Plans/nope.pdf:", 404, ""},
		{"unknown drive", "/drives/b!nope/root", 404, ""},
		{"unknown user", "/users/nobody/drive", 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, m := r.do("GET", tc.path, nil)
			require.Equal(t, tc.status, st, "%v", m)
			if tc.id != "" {
				require.Equal(t, tc.id, m["id"])
			}
			if st == 404 {
				require.Equal(t, "itemNotFound", code(m))
			}
		})
	}
	st, _, m := r.do("GET", "/sites/"+graphtest.SharePointHost+":/sites/Projects:/drives", nil)
	require.Equal(t, 200, st)
	require.Len(t, m["value"], 1)
	drv := m["value"].([]any)[0].(map[string]any)
	require.Equal(t, "documentLibrary", drv["driveType"])
	require.Contains(t, drv, "sharePointIds", "drive spells sharePointIds with a capital P")
	st, _, m = r.do("GET", "/drives/"+lib+"/root:/x.txt:", nil)
	require.Equal(t, 200, st)
	require.Contains(t, m["parentReference"], "siteId")
}

func TestTags(t *testing.T) {
	for _, personal := range []bool{false, true} {
		t.Run(fmt.Sprint("personal=", personal), func(t *testing.T) {
			r := newRaw(t, graphtest.Options{Personal: personal})
			d := r.srv.MyDriveID()
			_, err := r.srv.WebUpload(d, "A/B/f.txt", []byte("1"))
			require.NoError(t, err)
			_, _, a1 := r.do("GET", "/me/drive/root:/A:", nil)
			_, _, f1 := r.do("GET", "/me/drive/root:/A/B/f.txt:", nil)
			_, hasCTag := a1["cTag"]
			require.Equal(t, personal, hasCTag, "folders carry a cTag only on Personal")
			_, err = r.srv.WebUpload(d, "A/B/f.txt", []byte("2"))
			require.NoError(t, err)
			_, _, a2 := r.do("GET", "/me/drive/root:/A:", nil)
			_, _, f2 := r.do("GET", "/me/drive/root:/A/B/f.txt:", nil)
			require.Equal(t, a1["eTag"], a2["eTag"], "a folder's eTag stays when a descendant changes")
			if personal {
				require.NotEqual(t, a1["cTag"], a2["cTag"], "a folder's cTag changes with its descendants")
			}
			require.NotEqual(t, f1["eTag"], f2["eTag"])
			require.NotEqual(t, f1["cTag"], f2["cTag"])
			// A rename changes the eTag but not the cTag.
			_, err = r.srv.WebRename(d, "A/B/f.txt", "g.txt")
			require.NoError(t, err)
			_, _, f3 := r.do("GET", "/me/drive/root:/A/B/g.txt:", nil)
			require.NotEqual(t, f2["eTag"], f3["eTag"])
			require.Equal(t, f2["cTag"], f3["cTag"])
			// If-None-Match gives 304.
			st, _, _ := r.do("GET", "/me/drive/root:/A/B/g.txt:", nil, "If-None-Match", f3["eTag"].(string))
			require.Equal(t, 304, st)
		})
	}
}

func TestChildrenPaging(t *testing.T) {
	r := newRaw(t, graphtest.Options{PageSize: 4})
	d := r.srv.MyDriveID()
	for i := range 10 {
		_, err := r.srv.WebUpload(d, fmt.Sprintf("dir/f%02d", i), nil)
		require.NoError(t, err)
	}
	var names []string
	link := "/me/drive/root:/dir:/children"
	pages := 0
	for link != "" {
		st, _, m := r.do("GET", link, nil)
		require.Equal(t, 200, st)
		pages++
		for _, v := range m["value"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		link, _ = m["@odata.nextLink"].(string)
		if link != "" {
			require.True(t, strings.HasPrefix(link, r.srv.API.URL+"/v1.0/"), "nextLink is absolute: %s", link)
		}
	}
	require.Equal(t, 3, pages)
	require.Len(t, names, 10)
	st, _, m := r.do("GET", "/me/drive/root:/dir:/children?$top=100", nil)
	require.Equal(t, 200, st)
	require.Len(t, m["value"], 10)
}

func TestDelta(t *testing.T) {
	r := newRaw(t, graphtest.Options{PageSize: 3})
	d := r.srv.MyDriveID()
	for i := range 5 {
		_, err := r.srv.WebUpload(d, fmt.Sprintf("d/f%d", i), []byte("x"))
		require.NoError(t, err)
	}
	// Full enumeration over pages: root, d and five files.
	ids := map[string]bool{}
	link := "/drives/" + d + "/root/delta"
	var deltaLink string
	for link != "" {
		st, _, m := r.do("GET", link, nil)
		require.Equal(t, 200, st, "%v", m)
		for _, v := range m["value"].([]any) {
			it := v.(map[string]any)
			ids[it["id"].(string)] = true
			pr := it["parentReference"].(map[string]any)
			require.NotContains(t, pr, "path", "delta results carry no parent path")
		}
		next, hasNext := m["@odata.nextLink"].(string)
		dl, hasDelta := m["@odata.deltaLink"].(string)
		require.True(t, hasNext != hasDelta, "exactly one link per page")
		link, deltaLink = next, dl
	}
	require.Len(t, ids, 7)
	// Nothing changed: an empty page with a delta link.
	st, _, m := r.do("GET", deltaLink, nil)
	require.Equal(t, 200, st)
	require.Empty(t, m["value"])
	deltaLink = m["@odata.deltaLink"].(string)
	// A deletion shows the deleted facet without a name.
	require.NoError(t, r.srv.WebDelete(d, "d/f1"))
	_, _, m = r.do("GET", deltaLink, nil)
	var deleted int
	for _, v := range m["value"].([]any) {
		it := v.(map[string]any)
		if _, ok := it["deleted"]; ok {
			deleted++
			require.NotContains(t, it, "name")
		}
	}
	require.Equal(t, 1, deleted)
	// token=latest: empty, and later changes only.
	_, _, m = r.do("GET", "/drives/"+d+"/root/delta?token=latest", nil)
	require.Empty(t, m["value"])
	latest := m["@odata.deltaLink"].(string)
	_, err := r.srv.WebUpload(d, "new.txt", nil)
	require.NoError(t, err)
	_, _, m = r.do("GET", latest, nil)
	require.Len(t, m["value"], 2, "the new file and the root whose cTag changed")
	// Expired tokens answer 410 with a Location to restart from.
	r.srv.ExpireDeltaTokens(d)
	st, h, m := r.do("GET", latest, nil)
	require.Equal(t, 410, st)
	require.Equal(t, "resyncChangesApplyDifferences", code(m))
	require.Equal(t, []string{"resyncRequired"}, inner(m))
	st, _, _ = r.do("GET", h.Get("Location"), nil)
	require.Equal(t, 200, st)
}

func TestConflictDefaults(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	_, err := r.srv.WebUpload(d, "f.txt", []byte("one"))
	require.NoError(t, err)
	_, err = r.srv.WebMkdir(d, "Dir")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, method, path string
		body               []byte
		status             int
		code               string
	}{
		{"POST children fails by default", "POST", "/me/drive/root/children", []byte(`{"name":"dir","folder":{}}`), 409, "nameAlreadyExists"},
		{"POST children rename", "POST", "/me/drive/root/children", []byte(`{"name":"dir","folder":{},"@microsoft.graph.conflictBehavior":"rename"}`), 201, ""},
		{"PUT content replaces by default", "PUT", "/me/drive/root:/F.TXT:/content", []byte("two"), 200, ""},
		{"PUT content fail", "PUT", "/me/drive/root:/f.txt:/content?@microsoft.graph.conflictBehavior=fail", []byte("3"), 409, "nameAlreadyExists"},
		{"createUploadSession replaces by default", "POST", "/me/drive/root:/f.txt:/createUploadSession", []byte(`{}`), 200, ""},
		{"createUploadSession fail", "POST", "/me/drive/root:/f.txt:/createUploadSession", []byte(`{"item":{"@microsoft.graph.conflictBehavior":"fail"}}`), 409, "nameAlreadyExists"},
		{"createUploadSession replace", "POST", "/me/drive/root:/f.txt:/createUploadSession", []byte(`{"item":{"@microsoft.graph.conflictBehavior":"replace"}}`), 200, ""},
		{"invalid name", "POST", "/me/drive/root/children", []byte(`{"name":"a:b","folder":{}}`), 400, "invalidRequest"},
		{"reserved name", "PUT", "/me/drive/root:/CON.txt:/content", []byte("x"), 400, "invalidRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, m := r.do(tc.method, tc.path, tc.body)
			require.Equal(t, tc.status, st, "%v", m)
			require.Equal(t, tc.code, code(m))
		})
	}
	got, _ := r.srv.FileContent(d, "f.txt")
	require.Equal(t, "two", string(got))
	_, ok := r.srv.Stat(d, "Dir 1")
	require.True(t, ok, "rename picked a free name")
}

func TestPatchAndDelete(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	f, _ := r.srv.WebUpload(d, "a/f.txt", []byte("x"))
	b, _ := r.srv.WebMkdir(d, "b")
	_, _ = r.srv.WebUpload(d, "b/taken.txt", nil)
	a, _ := r.srv.Stat(d, "a")
	p := "/drives/" + d + "/items/" + f.ID
	for _, tc := range []struct {
		name, ifMatch, body string
		status              int
		code                string
	}{
		{"stale If-Match", `"{x},1"`, `{"name":"g.txt"}`, 412, "resourceModified"},
		{"name taken", "", `{"name":"taken.txt","parentReference":{"id":"` + b.ID + `"}}`, 409, "nameAlreadyExists"},
		{"missing parent", "", `{"parentReference":{"id":"nope"}}`, 404, "itemNotFound"},
		{"into itself", "", `{"parentReference":{"id":"` + f.ID + `"}}`, 400, "invalidRequest"},
		{"move and rename with If-Match", f.ETag, `{"name":"g.txt","parentReference":{"id":"` + b.ID + `"}}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.ifMatch != "" {
				h = []string{"If-Match", tc.ifMatch}
			}
			st, _, m := r.do("PATCH", p, []byte(tc.body), h...)
			require.Equal(t, tc.status, st, "%v", m)
			require.Equal(t, tc.code, code(m))
		})
	}
	moved, ok := r.srv.ItemByID(d, f.ID)
	require.True(t, ok)
	require.Equal(t, "b/g.txt", moved.Path)
	st, _, _ := r.do("PATCH", "/drives/"+d+"/items/"+a.ID, []byte(`{"parentReference":{"id":"`+a.ID+`"}}`))
	require.Equal(t, 400, st)
	require.NoError(t, r.srv.SetLocked(d, "b/g.txt", true))
	st, _, m := r.do("DELETE", p, nil)
	require.Equal(t, 423, st)
	require.Equal(t, []string{"resourceLocked"}, inner(m))
	require.NoError(t, r.srv.SetLocked(d, "b/g.txt", false))
	st, _, _ = r.do("DELETE", p, nil, "If-Match", `"{x},1"`)
	require.Equal(t, 412, st)
	st, _, _ = r.do("DELETE", p, nil)
	require.Equal(t, 204, st)
	st, _, _ = r.do("DELETE", p, nil)
	require.Equal(t, 404, st)
}

func TestDownload(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	f, _ := r.srv.WebUpload(d, "f.bin", []byte("0123456789"))
	st, h, _ := r.do("GET", "/drives/"+d+"/items/"+f.ID+"/content", nil)
	require.Equal(t, 302, st)
	loc := h.Get("Location")
	require.True(t, strings.HasPrefix(loc, r.srv.Content.URL), "redirects to the second host")
	st, _, m := r.do("GET", loc, nil, "Range", "bytes=4-")
	require.Equal(t, 206, st)
	require.Equal(t, "456789", m["_raw"])
	// A bearer token on the pre-authenticated URL is refused.
	req, _ := http.NewRequest("GET", loc, nil)
	req.Header.Set("Authorization", "Bearer "+r.tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	st, _, _ = r.do("GET", "/me/drive/root/content", nil)
	require.Equal(t, 400, st, "a folder has no content")
}

func TestUploadSession(t *testing.T) {
	const k = graphtest.FragmentMultiple
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	data := bytes.Repeat([]byte("abcdefgh"), (2*k+100)/8+1)[:2*k+100]
	st, _, m := r.do("POST", "/me/drive/root:/big.bin:/createUploadSession", []byte(`{"item":{"@microsoft.graph.conflictBehavior":"fail","fileSize":`+fmt.Sprint(len(data))+`}}`))
	require.Equal(t, 200, st, "%v", m)
	up := m["uploadUrl"].(string)
	require.True(t, strings.HasPrefix(up, r.srv.Content.URL))
	put := func(start, end int, total int, hdr ...string) (int, map[string]any) {
		st, _, m := r.do("PUT", up, data[start:end], append([]string{"Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, total)}, hdr...)...)
		return st, m
	}
	for _, tc := range []struct {
		name       string
		start, end int
		total      int
		hdr        []string
		status     int
		inner      string
	}{
		{"authorization refused", 0, k, len(data), []string{"Authorization", "Bearer " + r.tok}, 401, ""},
		{"not a multiple of 320 KiB", 0, k - 1, len(data), nil, 400, "invalidRange"},
		{"out of order", k, 2 * k, len(data), nil, 416, "fragmentOutOfOrder"},
		{"first fragment", 0, k, len(data), nil, 202, ""},
		{"overlap", 0, k, len(data), nil, 416, "fragmentOverlap"},
		{"total changed", k, 2 * k, len(data) + 1, nil, 400, "fragmentLengthMismatch"},
		{"second fragment", k, 2 * k, len(data), nil, 202, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m := put(tc.start, tc.end, tc.total, tc.hdr...)
			require.Equal(t, tc.status, st, "%v", m)
			if tc.inner != "" {
				require.Contains(t, inner(m), tc.inner)
			}
		})
	}
	st, _, m = r.do("GET", up, nil)
	require.Equal(t, 200, st)
	require.Equal(t, []any{fmt.Sprintf("%d-", 2*k)}, m["nextExpectedRanges"])
	st, m = put(2*k, len(data), len(data))
	require.Equal(t, 201, st, "%v", m)
	got, _ := r.srv.FileContent(d, "big.bin")
	require.Equal(t, data, got)
	st, _, _ = r.do("GET", up, nil)
	require.Equal(t, 404, st, "a completed session is gone")

	// Zero bytes cannot be sent through a session; DELETE cancels.
	_, _, m = r.do("POST", "/me/drive/root:/empty.bin:/createUploadSession", nil)
	up = m["uploadUrl"].(string)
	st, _, _ = r.do("PUT", up, []byte{}, "Content-Range", "bytes 0--1/0")
	require.Equal(t, 400, st)
	st, _, _ = r.do("DELETE", up, nil)
	require.Equal(t, 204, st)
	require.Equal(t, 0, r.srv.SessionCount())
}

func TestFaultsAndCalls(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	r.srv.Throttle("drives.GetRoot", 1, 7*time.Second)
	r.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 503, RetryAfter: 2 * time.Second})
	r.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 507})
	r.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 400, Inner: []string{"pathIsTooLong"}})
	r.srv.Inject(graphtest.Fault{Op: "drives.GetRoot", Status: 423, Inner: []string{"resourceLocked"}})
	for _, want := range []struct {
		status int
		code   string
		retry  string
		inner  []string
	}{
		{429, "activityLimitReached", "7", []string{"throttledRequest", "quota"}},
		{503, "serviceNotAvailable", "2", nil},
		{507, "quotaLimitReached", "", nil},
		{400, "invalidRequest", "", []string{"pathIsTooLong"}},
		{423, "notAllowed", "", []string{"resourceLocked"}},
		{200, "", "", nil},
	} {
		st, h, m := r.do("GET", "/me/drive/root", nil)
		require.Equal(t, want.status, st)
		require.Equal(t, want.code, code(m))
		require.Equal(t, want.retry, h.Get("Retry-After"))
		require.Equal(t, want.inner, inner(m))
	}
	require.Equal(t, 6, r.srv.CallCount("drives.GetRoot"))
	r.do("GET", "/me/drive", nil)
	require.Equal(t, map[string]int{"drives.GetRoot": 6, "me.GetDrive": 1}, r.srv.Calls())
	r.srv.ResetCalls()
	require.Equal(t, 0, r.srv.CallCount(""))
	// No token, or an expired one: 401.
	r.tok = "nope"
	st, _, m := r.do("GET", "/me/drive", nil)
	require.Equal(t, 401, st)
	require.Equal(t, "InvalidAuthenticationToken", code(m))
	r.tok = r.srv.Token()
	r.srv.ExpireTokens()
	st, h, _ := r.do("GET", "/me/drive", nil)
	require.Equal(t, 401, st)
	require.Contains(t, h.Get("WWW-Authenticate"), "expired_token")
}

func TestSubscriptions(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	got := make(chan map[string]any, 10)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if tok := req.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, tok)
			return
		}
		var m map[string]any
		_ = json.NewDecoder(req.Body).Decode(&m)
		got <- m
		w.WriteHeader(202)
	}))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, "wrong")
	}))
	defer bad.Close()
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := func(url, res string) []byte {
		return []byte(`{"changeType":"updated","notificationUrl":"` + url + `","resource":"` + res + `","expirationDateTime":"` + exp + `","clientState":"s3cret"}`)
	}
	st, _, _ := r.do("POST", "/subscriptions", body(bad.URL, "/me/drive/root"))
	require.Equal(t, 400, st, "the handshake failed")
	st, _, _ = r.do("POST", "/subscriptions", body(good.URL, "/me/drive/root/children"))
	require.Equal(t, 400, st, "only a drive root")
	st, _, m := r.do("POST", "/subscriptions", body(good.URL, "/drives/"+r.srv.MyDriveID()+"/root"))
	require.Equal(t, 201, st, "%v", m)
	id := m["id"].(string)
	_, err := r.srv.WebUpload(r.srv.MyDriveID(), "x.txt", nil)
	require.NoError(t, err)
	n := <-got
	v := n["value"].([]any)[0].(map[string]any)
	require.Equal(t, "s3cret", v["clientState"])
	require.Equal(t, "updated", v["changeType"])
	require.Equal(t, id, v["subscriptionId"])
	far := time.Now().Add(graphtest.MaxSubscriptionLifetime + time.Hour).UTC().Format(time.RFC3339)
	st, _, _ = r.do("PATCH", "/subscriptions/"+id, []byte(`{"expirationDateTime":"`+far+`"}`))
	require.Equal(t, 400, st)
	st, _, _ = r.do("PATCH", "/subscriptions/"+id, []byte(`{"expirationDateTime":"`+exp+`"}`))
	require.Equal(t, 200, st)
	st, _, _ = r.do("DELETE", "/subscriptions/"+id, nil)
	require.Equal(t, 204, st)
}

func TestListSubscriptions(t *testing.T) {
	r := newRaw(t, graphtest.Options{PageSize: 2})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, req.URL.Query().Get("validationToken"))
	}))
	defer hook.Close()
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for range 3 {
		st, _, m := r.do("POST", "/subscriptions", []byte(`{"changeType":"updated","notificationUrl":"`+hook.URL+
			`","resource":"/me/drive/root","expirationDateTime":"`+exp+`","clientState":"s3cret"}`))
		require.Equal(t, 201, st, "%v", m)
	}

	st, _, m := r.do("GET", "/subscriptions", nil)
	require.Equal(t, 200, st)
	page := m["value"].([]any)
	require.Len(t, page, 2)
	for _, v := range page {
		sub := v.(map[string]any)
		cs, present := sub["clientState"]
		require.True(t, present)
		require.Nil(t, cs, "clientState is not returned")
		require.Equal(t, hook.URL, sub["notificationUrl"])
		require.Equal(t, "/me/drive/root", sub["resource"])
		require.Equal(t, "updated", sub["changeType"])
	}
	next := m["@odata.nextLink"].(string)
	require.True(t, strings.HasPrefix(next, r.srv.API.URL+"/v1.0/subscriptions?"), "nextLink is absolute: %s", next)

	// A subscription deleted between pages makes the next page skip none.
	last := page[1].(map[string]any)["id"].(string)
	st, _, _ = r.do("DELETE", "/subscriptions/"+last, nil)
	require.Equal(t, 204, st)
	st, _, m = r.do("GET", next, nil)
	require.Equal(t, 200, st)
	require.Len(t, m["value"].([]any), 1)
	require.NotContains(t, m, "@odata.nextLink")
	seen := []string{page[0].(map[string]any)["id"].(string), last, m["value"].([]any)[0].(map[string]any)["id"].(string)}
	require.Len(t, map[string]bool{seen[0]: true, seen[1]: true, seen[2]: true}, 3)

	st, _, m = r.do("GET", "/subscriptions?$skiptoken=%25%25", nil)
	require.Equal(t, 400, st)
	require.Equal(t, "invalidRequest", code(m))
}

func TestOfficeRewrite(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	r.srv.RewriteOfficeUploads(true)
	st, _, m := r.do("PUT", "/me/drive/root:/report.docx:/content", []byte("docx bytes"))
	require.Equal(t, 201, st)
	require.Greater(t, m["size"].(float64), float64(len("docx bytes")), "SharePoint added its metadata")
	st, _, m = r.do("PUT", "/me/drive/root:/notes.txt:/content", []byte("txt"))
	require.Equal(t, 201, st)
	require.Equal(t, float64(3), m["size"])
}

func TestSubscriptionsExpireAndRemove(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newRaw(t, graphtest.Options{Now: clock, NoAuth: true})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, req.URL.Query().Get("validationToken"))
	}))
	defer hook.Close()
	create := func() string {
		exp := clock().Add(time.Hour).Format(time.RFC3339)
		st, _, m := r.do("POST", "/subscriptions", []byte(`{"changeType":"updated","notificationUrl":"`+hook.URL+
			`","resource":"/me/drive/root","expirationDateTime":"`+exp+`"}`))
		require.Equal(t, 201, st, "%v", m)
		return m["id"].(string)
	}
	id := create()
	require.Len(t, r.srv.Subscriptions(), 1)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	require.Empty(t, r.srv.Subscriptions(), "expired on the fake's clock")
	renew := []byte(`{"expirationDateTime":"` + clock().Add(time.Hour).Format(time.RFC3339) + `"}`)
	st, _, _ := r.do("PATCH", "/subscriptions/"+id, renew)
	require.Equal(t, 404, st, "an expired subscription cannot be renewed")

	id = create()
	require.True(t, r.srv.RemoveSubscription(id))
	require.False(t, r.srv.RemoveSubscription(id))
	st, _, _ = r.do("PATCH", "/subscriptions/"+id, renew)
	require.Equal(t, 404, st, "removed by the service")
}

func TestCopyWithMonitor(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	src, err := r.srv.WebUpload(d, "a/src.txt", []byte("hello"))
	require.NoError(t, err)
	dst, err := r.srv.WebMkdir(d, "b")
	require.NoError(t, err)
	body := []byte(fmt.Sprintf(`{"parentReference":{"driveId":%q,"id":%q},"name":"copy.txt"}`, d, dst.ID))
	st, h, _ := r.do("POST", "/drives/"+d+"/items/"+src.ID+"/copy", body)
	require.Equal(t, http.StatusAccepted, st)
	mon := h.Get("Location")
	require.NotEmpty(t, mon)

	// The monitor URL takes no token.
	st, _, m := r.do("GET", mon, nil)
	require.Equal(t, http.StatusUnauthorized, st, "%v", m)
	get := func() (int, map[string]any) {
		resp, err := http.Get(mon)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	st, m = get()
	require.Equal(t, http.StatusAccepted, st)
	require.Equal(t, "inProgress", m["status"])
	st, m = get()
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "completed", m["status"])
	cp, ok := r.srv.ItemByID(d, m["resourceId"].(string))
	require.True(t, ok)
	require.Equal(t, "b/copy.txt", cp.Path)
	require.Equal(t, src.QuickXorHash, cp.QuickXorHash)

	// The name is taken (conflictBehavior fail by default): the job fails.
	st, h, _ = r.do("POST", "/drives/"+d+"/items/"+src.ID+"/copy", body)
	require.Equal(t, http.StatusAccepted, st)
	mon = h.Get("Location")
	get()
	_, m = get()
	require.Equal(t, "failed", m["status"])
	require.Equal(t, "nameAlreadyExists", m["errorCode"])
}

func TestVersionsAsSharePointKeepsThem(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	st, _, m := r.do("PUT", "/me/drive/root:/v.txt:/content", []byte("one"))
	require.Equal(t, http.StatusCreated, st)
	id := m["id"].(string)
	n, ok := r.srv.Versions(d, id)
	require.True(t, ok)
	require.Equal(t, 1, n)
	// Setting the time after the upload is a second version.
	st, _, _ = r.do("PATCH", "/me/drive/items/"+id, []byte(`{"fileSystemInfo":{"lastModifiedDateTime":"2020-01-02T03:04:05Z"}}`))
	require.Equal(t, http.StatusOK, st)
	n, _ = r.srv.Versions(d, id)
	require.Equal(t, 2, n)
	// An upload session carrying fileSystemInfo makes one.
	st, _, m = r.do("POST", "/me/drive/root:/w.txt:/createUploadSession", []byte(`{"item":{"fileSystemInfo":{"lastModifiedDateTime":"2020-01-02T03:04:05Z"}}}`))
	require.Equal(t, http.StatusOK, st)
	st, _, m = r.do("PUT", m["uploadUrl"].(string), []byte("two"), "Content-Range", "bytes 0-2/3")
	require.Equal(t, http.StatusCreated, st, "%v", m)
	n, _ = r.srv.Versions(d, m["id"].(string))
	require.Equal(t, 1, n)
	w, _ := r.srv.Stat(d, "w.txt")
	require.Equal(t, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), w.ModTime)
}

func TestCheckedOutFileKeepsItsFolder(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	d := r.srv.MyDriveID()
	_, err := r.srv.WebUpload(d, "dir/f.txt", []byte("x"))
	require.NoError(t, err)
	dir, _ := r.srv.Stat(d, "dir")
	require.NoError(t, r.srv.SetLocked(d, "dir/f.txt", true))
	st, _, m := r.do("DELETE", "/me/drive/items/"+dir.ID, nil)
	require.Equal(t, http.StatusLocked, st)
	require.Contains(t, inner(m), "resourceLocked")
	_, ok := r.srv.Stat(d, "dir/f.txt")
	require.True(t, ok)
	require.NoError(t, r.srv.SetLocked(d, "dir/f.txt", false))
	st, _, _ = r.do("DELETE", "/me/drive/items/"+dir.ID, nil)
	require.Equal(t, http.StatusNoContent, st)
}

// TestWebURLs checks that webUrl follows the drive's kind, as Graph reports
// it: items of a SharePoint library live under the site's address, items
// of a personal drive under the owner's OneDrive host, each path segment
// escaped.
func TestWebURLs(t *testing.T) {
	r := newRaw(t, graphtest.Options{})
	site := r.srv.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	lib := r.srv.SiteDrives(site)[0]
	f, err := r.srv.WebUpload(lib, "Tower 3/A #1.pdf", []byte("x"))
	require.NoError(t, err)
	_, _, m := r.do("GET", "/drives/"+lib+"/items/"+f.ID, nil)
	require.Equal(t, "https://contoso.sharepoint.com/sites/Projects/Documents/Tower%203/A%20%231.pdf", m["webUrl"])
	_, _, m = r.do("GET", "/drives/"+lib+"/root", nil)
	require.Equal(t, "https://contoso.sharepoint.com/sites/Projects/Documents", m["webUrl"])
	_, _, m = r.do("GET", "/drives/"+lib, nil)
	require.Equal(t, "https://contoso.sharepoint.com/sites/Projects/Documents", m["webUrl"])

	me := r.srv.MyDriveID()
	g, err := r.srv.WebUpload(me, "Plans/b.txt", []byte("x"))
	require.NoError(t, err)
	_, _, m = r.do("GET", "/me/drive/items/"+g.ID, nil)
	require.Equal(t, "https://contoso-my.sharepoint.com/personal/adele_contoso_onmicrosoft_com/Documents/Plans/b.txt", m["webUrl"])
}

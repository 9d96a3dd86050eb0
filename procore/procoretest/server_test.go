package procoretest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/procore/procoretest"
)

// tokenRequest posts to /oauth/token with the given encoding.
func tokenRequest(t *testing.T, srv *procoretest.Server, enc string, fields map[string]string, basic bool) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	var ctype string
	switch enc {
	case "json":
		b, _ := json.Marshal(fields)
		body, ctype = bytes.NewReader(b), "application/json"
	case "form":
		v := url.Values{}
		for k, f := range fields {
			v.Set(k, f)
		}
		body, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case "multipart":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, f := range fields {
			require.NoError(t, mw.WriteField(k, f))
		}
		require.NoError(t, mw.Close())
		body, ctype = &buf, mw.FormDataContentType()
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", body)
	req.Header.Set("Content-Type", ctype)
	if basic {
		req.SetBasicAuth(srv.ClientID, srv.ClientSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestOAuthTokenEncodingsAndSingleUseRefresh(t *testing.T) {
	for _, enc := range []string{"json", "form", "multipart"} {
		for _, basic := range []bool{false, true} {
			t.Run(enc+map[bool]string{true: "+basic"}[basic], func(t *testing.T) {
				srv := procoretest.New(procoretest.Options{})
				t.Cleanup(srv.Close)
				creds := map[string]string{"client_id": srv.ClientID, "client_secret": srv.ClientSecret}
				if basic {
					creds = map[string]string{}
				}
				with := func(m map[string]string) map[string]string {
					out := map[string]string{}
					for k, v := range creds {
						out[k] = v
					}
					for k, v := range m {
						out[k] = v
					}
					return out
				}
				code := srv.AuthorizationCode("http://localhost/cb")
				st, tok := tokenRequest(t, srv, enc, with(map[string]string{"grant_type": "authorization_code", "code": code, "redirect_uri": "http://localhost/cb"}), basic)
				require.Equal(t, http.StatusOK, st, tok)
				require.Equal(t, float64(5400), tok["expires_in"])
				require.Equal(t, "bearer", tok["token_type"])
				refresh := tok["refresh_token"].(string)
				st, tok2 := tokenRequest(t, srv, enc, with(map[string]string{"grant_type": "refresh_token", "refresh_token": refresh}), basic)
				require.Equal(t, http.StatusOK, st)
				require.NotEqual(t, refresh, tok2["refresh_token"])
				st, bad := tokenRequest(t, srv, enc, with(map[string]string{"grant_type": "refresh_token", "refresh_token": refresh}), basic)
				require.Equal(t, http.StatusBadRequest, st)
				require.Equal(t, "invalid_grant", bad["error"])
				st, cc := tokenRequest(t, srv, enc, with(map[string]string{"grant_type": "client_credentials"}), basic)
				require.Equal(t, http.StatusOK, st)
				require.NotContains(t, cc, "refresh_token")
			})
		}
	}
}

func TestFaultsAndCounters(t *testing.T) {
	srv := procoretest.New(procoretest.Options{})
	t.Cleanup(srv.Close)
	tok := srv.IssueToken()
	// No keep-alives: net/http silently retries a GET whose reused
	// connection was reset, which would hide the injected reset.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (int, http.Header, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rest/v1.0/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, err
	}
	for _, tc := range []struct {
		name   string
		fault  procoretest.Fault
		status int
		err    bool
	}{
		{"503 with Retry-After", procoretest.Fault{Status: 503, RetryAfter: 7 * time.Second, Times: 1}, 503, false},
		{"429", procoretest.Fault{Status: 429, Times: 1}, 429, false},
		{"reset", procoretest.Fault{Reset: true, Times: 1}, 0, true},
		{"truncated", procoretest.Fault{Truncate: true, Times: 1}, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault.Op = "RestV10MeGet"
			srv.Inject(tc.fault)
			st, h, err := get()
			require.Equal(t, tc.err, err != nil, "err = %v", err)
			if tc.status != 0 {
				require.Equal(t, tc.status, st)
			}
			if tc.fault.RetryAfter != 0 {
				require.Equal(t, strconv.Itoa(int(tc.fault.RetryAfter/time.Second)), h.Get("Retry-After"))
			}
			if tc.status == 429 {
				require.Equal(t, "0", h.Get("X-Rate-Limit-Remaining"))
			}
			st, h, err = get() // Times: 1 — the next call is served
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, st)
			require.NotEmpty(t, h.Get("X-Rate-Limit-Limit"))
		})
	}
	require.Equal(t, 8, srv.CallCount("RestV10MeGet"))
	require.Equal(t, 8, srv.CallsByHost(procoretest.HostAPI))
	require.Equal(t, 0, srv.CallsByHost(procoretest.HostStorage))
	srv.ResetCalls()
	require.Zero(t, srv.CallCount("RestV10MeGet"))
}

func TestUIHelpers(t *testing.T) {
	srv := procoretest.New(procoretest.Options{})
	t.Cleanup(srv.Close)
	d := procoretest.ProjectDocs(srv.ProjectID)
	_, err := srv.UIPutFile(d, "a/b/c.txt", []byte("1"))
	require.NoError(t, err)
	_, err = srv.UIPutFile(d, "a/b/c.txt", []byte("22"))
	require.NoError(t, err)
	n, err := srv.UIVersions(d, "a/b/c.txt")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoError(t, srv.UIRename(d, "a/b", "B"))
	require.NoError(t, srv.UIMove(d, "a/B/c.txt", "a"))
	b, err := srv.UIFile(d, "a/c.txt")
	require.NoError(t, err)
	require.Equal(t, "22", string(b))
	require.Equal(t, []string{"a/", "a/B/", "a/c.txt"}, srv.UIPaths(d))
	require.NoError(t, srv.UIDelete(d, "a"))
	require.Empty(t, srv.UIPaths(d))
	_, err = srv.UIFile(d, "a/c.txt")
	require.ErrorIs(t, err, procoretest.ErrNoSuchItem)
	_, err = srv.UIMakeFolders(d, "bad:name")
	require.Error(t, err)
	require.Empty(t, srv.UIPaths(procoretest.CompanyDocs(srv.CompanyID)))
}

func TestOAuthAuthorizeInfoRevokeAndLatency(t *testing.T) {
	srv := procoretest.New(procoretest.Options{})
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + "/oauth/authorize?response_type=code&client_id=" + srv.ClientID + "&redirect_uri=" + url.QueryEscape("http://localhost/cb") + "&state=xyz")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode) // the sign-in page
	require.Contains(t, string(page), `value="allow">Allow</button>`)
	resp, err = noRedirect.PostForm(srv.URL+"/oauth/authorize", url.Values{"response_type": {"code"}, "client_id": {srv.ClientID},
		"redirect_uri": {"http://localhost/cb"}, "state": {"xyz"}, "decision": {"allow"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := resp.Location()
	require.NoError(t, err)
	require.Equal(t, "xyz", loc.Query().Get("state"))
	require.NotEmpty(t, loc.Query().Get("code"))

	tok := srv.IssueToken()
	info := func() int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/oauth/token/info", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, info())
	resp, err = http.PostForm(srv.URL+"/oauth/revoke", url.Values{"token": {tok}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, http.StatusUnauthorized, info())
	resp, err = http.PostForm(srv.URL+"/oauth/revoke", url.Values{"token": {"unknown"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "revoke always answers 200")

	srv.Inject(procoretest.Fault{Op: "OauthTokenInfoGet", Latency: time.Millisecond, Times: 1})
	tok = srv.IssueToken()
	require.Equal(t, http.StatusOK, info(), "latency delays but serves")
}

// TestFileHost: file URLs live on the Procore file host, which needs the
// bearer token, is not rate-limited and redirects to the storage host.
func TestFileHost(t *testing.T) {
	srv := procoretest.New(procoretest.Options{SpikeLimit: 2})
	t.Cleanup(srv.Close)
	id, err := srv.UIPutFile(procoretest.ProjectDocs(srv.ProjectID), "a/b.txt", []byte("hello"))
	require.NoError(t, err)
	tok := srv.IssueToken()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string, auth bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("Procore-Company-Id", strconv.FormatInt(srv.CompanyID, 10))
		resp, err := noRedirect.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := get(srv.URL+"/rest/v1.0/files/"+strconv.FormatInt(id, 10)+"?project_id="+strconv.FormatInt(srv.ProjectID, 10), true)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var f struct {
		FileVersions []struct {
			URL          string `json:"url"`
			ProstoreFile struct {
				URL string `json:"url"`
			} `json:"prostore_file"`
		} `json:"file_versions"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&f))
	require.Len(t, f.FileVersions, 1)
	fileURL := f.FileVersions[0].URL
	require.Equal(t, fileURL, f.FileVersions[0].ProstoreFile.URL)
	require.True(t, strings.HasPrefix(fileURL, srv.FileURL+"/api/v5/files/us-east-1/pro-core.com/"), fileURL)
	require.Contains(t, fileURL, "sig=")
	require.Equal(t, []string{strings.TrimPrefix(srv.FileURL, "http://")}, srv.FileHosts())

	srv.ResetCalls()
	require.Equal(t, http.StatusUnauthorized, get(fileURL, false).StatusCode)
	// More calls than the spike limit: the file host is not rate-limited
	// and reports no rate-limit headers.
	var loc string
	for range 3 {
		resp = get(fileURL, true)
		require.Equal(t, http.StatusFound, resp.StatusCode)
		require.Empty(t, resp.Header.Get("X-Rate-Limit-Limit"))
		require.Empty(t, resp.Header.Get("X-Rate-Limit-Remaining"))
		loc = resp.Header.Get("Location")
	}
	require.True(t, strings.HasPrefix(loc, srv.StorageURL+"/"), loc)
	require.NotEqual(t, hostname(t, srv.URL), hostname(t, srv.StorageURL), "the storage host goes by another name")
	require.Equal(t, hostname(t, srv.URL), hostname(t, srv.FileURL))

	// The presigned URL refuses the token and serves the content without.
	require.Equal(t, http.StatusBadRequest, get(loc, true).StatusCode)
	resp = get(loc, false)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, "hello", string(b))

	// The API host no longer serves file URLs.
	apiURL := srv.URL + strings.TrimPrefix(fileURL, srv.FileURL)
	require.Equal(t, http.StatusNotFound, get(apiURL, true).StatusCode)

	require.Equal(t, 4, srv.CallsByHost(procoretest.HostFile))
	require.Equal(t, 4, srv.CallCount("FileDownload"))
	require.Equal(t, 2, srv.CallsByHost(procoretest.HostStorage))
	require.Equal(t, 1, srv.CallsByHost(procoretest.HostAPI))
	require.Contains(t, srv.String(), "api=1 file=4 storage=2")
}

func hostname(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Hostname()
}

package boxtest_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/stretchr/testify/require"
)

// call sends a request with the fake's token and returns status and body.
func call(t *testing.T, srv *boxtest.Server, method, url string, body io.Reader, hdr map[string]string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.Token())
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

func multipartBody(t *testing.T, attrsFirst bool, attrs, data string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	write := func(name, v string) {
		w, err := mw.CreateFormField(name)
		require.NoError(t, err)
		_, _ = w.Write([]byte(v))
	}
	if attrsFirst {
		write("attributes", attrs)
		write("file", data)
	} else {
		write("file", data)
		write("attributes", attrs)
	}
	require.NoError(t, mw.Close())
	return &buf, mw.FormDataContentType()
}

func TestUploadRules(t *testing.T) {
	srv := boxtest.NewServer(t, boxtest.Options{MaxDirectSize: 10})
	up := srv.UploadURL() + "/files/content"
	attrs := `{"name":"a.txt","parent":{"id":"0"}}`

	b, ct := multipartBody(t, false, attrs, "hello")
	st, m, _ := call(t, srv, "POST", up, b, map[string]string{"Content-Type": ct})
	require.Equal(t, 400, st)
	require.Equal(t, "metadata_after_file_contents", m["code"])

	b, ct = multipartBody(t, true, attrs, "hello")
	st, m, _ = call(t, srv, "POST", up, b, map[string]string{"Content-Type": ct, "Content-MD5": strings.Repeat("0", 40)})
	require.Equal(t, 400, st)
	require.Equal(t, "bad_digest", m["code"])

	b, ct = multipartBody(t, true, attrs, "more than ten bytes")
	st, _, _ = call(t, srv, "POST", up, b, map[string]string{"Content-Type": ct})
	require.Equal(t, 413, st, "direct uploads are capped")

	b, ct = multipartBody(t, true, attrs, "hello")
	st, _, _ = call(t, srv, "POST", up, b, map[string]string{"Content-Type": ct})
	require.Equal(t, 201, st)
	b, ct = multipartBody(t, true, `{"name":"A.TXT","parent":{"id":"0"}}`, "hello")
	st, m, _ = call(t, srv, "POST", up, b, map[string]string{"Content-Type": ct})
	require.Equal(t, 409, st, "names are unique without regard to case")
	require.Equal(t, "item_name_in_use", m["code"])
	require.NotNil(t, m["context_info"].(map[string]any)["conflicts"])

	for _, name := range []string{"..", `a\b`, "trailing ", " leading", strings.Repeat("x", 256), "ctl\x01"} {
		body, _ := json.Marshal(map[string]any{"name": name, "parent": map[string]string{"id": "0"}})
		st, m, _ := call(t, srv, "POST", srv.BaseURL()+"/folders", bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
		require.Equal(t, 400, st, "%q", name)
		require.Contains(t, []any{"item_name_invalid", "item_name_too_long"}, m["code"], "%q", name)
	}
}

func TestUploadSessionRules(t *testing.T) {
	srv := boxtest.NewServer(t, boxtest.Options{MinChunkedSize: 10, PartSize: func(int64) int64 { return 8 }, CommitPending: 1})
	body := `{"folder_id":"0","file_size":20,"file_name":"s.bin"}`
	st, m, _ := call(t, srv, "POST", srv.UploadURL()+"/files/upload_sessions", strings.NewReader(`{"folder_id":"0","file_size":5,"file_name":"s.bin"}`), nil)
	require.Equal(t, 400, st)
	require.Equal(t, "file_size_too_small", m["code"])
	st, m, _ = call(t, srv, "POST", srv.UploadURL()+"/files/upload_sessions", strings.NewReader(body), nil)
	require.Equal(t, 201, st)
	require.EqualValues(t, 8, m["part_size"])
	id := m["id"].(string)
	data := []byte("0123456789abcdefghij")
	put := func(lo, hi int, digestOf []byte) (int, map[string]any) {
		s := sha1.Sum(digestOf)
		st, m, _ := call(t, srv, "PUT", srv.UploadURL()+"/files/upload_sessions/"+id, bytes.NewReader(data[lo:hi]), map[string]string{
			"Digest": "sha=" + base64.StdEncoding.EncodeToString(s[:]), "Content-Range": fmt.Sprintf("bytes %d-%d/20", lo, hi-1)})
		return st, m
	}
	st, _ = put(0, 5, data[0:5])
	require.Equal(t, 416, st, "every part but the last is part_size")
	st, _ = put(0, 8, data[8:16])
	require.Equal(t, 412, st, "the part's digest is checked")
	var parts []any
	for _, r := range [][2]int{{0, 8}, {8, 16}, {16, 20}} {
		st, m := put(r[0], r[1], data[r[0]:r[1]])
		require.Equal(t, 200, st)
		parts = append(parts, m["part"])
	}
	commit := func(whole []byte) (int, http.Header) {
		s := sha1.Sum(whole)
		b, _ := json.Marshal(map[string]any{"parts": parts})
		st, _, h := call(t, srv, "POST", srv.UploadURL()+"/files/upload_sessions/"+id+"/commit", bytes.NewReader(b),
			map[string]string{"Digest": "sha=" + base64.StdEncoding.EncodeToString(s[:])})
		return st, h
	}
	st, _ = commit([]byte("wrong"))
	require.Equal(t, 422, st, "the whole file's digest is checked")
	st, h := commit(data)
	require.Equal(t, 202, st, "the first commit is still processing")
	require.Equal(t, "1", h.Get("Retry-After"))
	st, _ = commit(data)
	require.Equal(t, 201, st)
	fid, ok := srv.Lookup("s.bin")
	require.True(t, ok)
	st, _, _ = call(t, srv, "GET", srv.BaseURL()+"/files/"+fid+"/content", nil, nil)
	require.Equal(t, 202, st, "a download right after the upload is not ready")
	st, _, h = call(t, srv, "GET", srv.BaseURL()+"/files/"+fid+"/content", nil, nil)
	require.Equal(t, 302, st)
	loc := h.Get("Location")
	require.True(t, strings.HasPrefix(loc, srv.Download.URL), "the content is on another host")
	st, _, _ = call(t, srv, "GET", loc, nil, nil)
	require.Equal(t, 400, st, "the download host takes no token")
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 30, 0, time.UTC)
	srv := boxtest.NewServer(t, boxtest.Options{RateLimit: 2, Now: func() time.Time { return now }})
	for i := range 3 {
		st, m, h := call(t, srv, "GET", srv.BaseURL()+"/users/me", nil, nil)
		if i < 2 {
			require.Equal(t, 200, st)
			continue
		}
		require.Equal(t, 429, st)
		require.Equal(t, "rate_limit_exceeded", m["code"])
		require.Equal(t, "60", h.Get("Retry-After"))
	}
}

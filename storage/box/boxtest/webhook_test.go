package boxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/procoresync/procoresync/storage/box/boxtest"
)

// TestWebhookRules: the fake keeps Box's documented webhook v2 limits
// (developer.box.com guides/webhooks/v2/limitations-v2): none on the root
// folder "0", one per item for the app and user (409, as the POST
// /webhooks description says), at most 1000 per app and user (lowered
// here by Options.MaxWebhooks; Box documents no status: the fake answers
// 400), and a deleted webhook frees its item and its place.
func TestWebhookRules(t *testing.T) {
	srv := boxtest.NewServer(t, boxtest.Options{MaxWebhooks: 3})
	create := func(id string) (int, map[string]any) {
		body := fmt.Sprintf(`{"target":{"id":%q,"type":"folder"},"address":"https://example.com/hook","triggers":["FILE.UPLOADED"]}`, id)
		code, m, _ := call(t, srv, http.MethodPost, srv.BaseURL()+"/webhooks", strings.NewReader(body), nil)
		return code, m
	}
	code, m := create("0")
	require.Equal(t, 400, code, "the root folder: %v", m)
	var ids []string
	for i := range 4 {
		id, err := srv.WebMkdir(fmt.Sprintf("F%d", i))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	var hooks []string
	for _, id := range ids[:3] {
		code, m := create(id)
		require.Equal(t, 201, code, "%v", m)
		hooks = append(hooks, m["id"].(string))
	}
	code, m = create(ids[0])
	require.Equal(t, 409, code, "a second webhook on the same folder")
	require.Equal(t, "conflict", m["code"])
	code, m = create(ids[3])
	require.Equal(t, 400, code, "beyond the app's limit")
	require.Equal(t, "error", m["type"])
	require.Contains(t, m["message"], "limit of 3 webhooks")

	code, _, _ = call(t, srv, http.MethodDelete, srv.BaseURL()+"/webhooks/"+hooks[0], nil, nil)
	require.Equal(t, 204, code)
	code, _ = create(ids[3])
	require.Equal(t, 201, code, "a deleted webhook frees a place")
	code, _ = create(ids[0])
	require.Equal(t, 400, code, "still at the limit")
}

// TestWebhookCascades: a webhook on a folder is delivered the events of
// its subfolders at any depth ("Webhooks do cascade", Box's "Create
// webhooks (v2)"), not those of other folders.
func TestWebhookCascades(t *testing.T) {
	var mu sync.Mutex
	var got []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev struct {
			Trigger string `json:"trigger"`
			Source  struct {
				Name string `json:"name"`
			} `json:"source"`
		}
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		got = append(got, ev.Trigger+" "+ev.Source.Name)
		mu.Unlock()
	}))
	defer recv.Close()
	srv := boxtest.NewServer(t, boxtest.Options{PrimaryKey: "p"})
	top, err := srv.WebMkdir("Procore")
	require.NoError(t, err)
	_, err = srv.WebMkdir("Other")
	require.NoError(t, err)
	body := fmt.Sprintf(`{"target":{"id":%q,"type":"folder"},"address":%q,"triggers":["FILE.UPLOADED"]}`, top, recv.URL)
	code, m, _ := call(t, srv, http.MethodPost, srv.BaseURL()+"/webhooks", strings.NewReader(body), nil)
	require.Equal(t, 201, code, "%v", m)

	_, err = srv.WebUpload("Procore/Project/Documents/Drawings/deep.pdf", []byte("x"))
	require.NoError(t, err)
	_, err = srv.WebUpload("Other/elsewhere.pdf", []byte("x"))
	require.NoError(t, err)
	_, err = srv.WebUpload("Procore/top.pdf", []byte("x"))
	require.NoError(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Close() // waits for pending deliveries
	mu.Lock()
	defer mu.Unlock()
	require.ElementsMatch(t, []string{"FILE.UPLOADED deep.pdf", "FILE.UPLOADED top.pdf"}, got)
}

// TestWebhookListing: GET /webhooks answers as Box documents it (the
// get_webhooks operation of Box's OpenAPI description and its "List
// webhooks" guide): a Webhooks collection of Webhook--Mini entries (id,
// type, target; no address), paged by marker (limit, next_marker null on
// the last page), holding only the webhooks of the application and the
// acting user; GET /webhooks/{id} gives the address.
func TestWebhookListing(t *testing.T) {
	srv := boxtest.NewServer(t, boxtest.Options{PageSize: 2})
	create := func(id string, hdr map[string]string) string {
		body := fmt.Sprintf(`{"target":{"id":%q,"type":"folder"},"address":"https://example.com/hook","triggers":["FILE.UPLOADED"]}`, id)
		code, m, _ := call(t, srv, http.MethodPost, srv.BaseURL()+"/webhooks", strings.NewReader(body), hdr)
		require.Equal(t, 201, code, "%v", m)
		return m["id"].(string)
	}
	var want []string
	for i := range 3 {
		id, err := srv.WebMkdir(fmt.Sprintf("F%d", i))
		require.NoError(t, err)
		want = append(want, create(id, nil))
	}
	other, err := srv.WebMkdir("Person's")
	require.NoError(t, err)
	create(other, map[string]string{"As-User": boxtest.PersonID})

	var got []string
	url, pages := srv.BaseURL()+"/webhooks?limit=1000", 0
	for {
		code, m, _ := call(t, srv, http.MethodGet, url, nil, nil)
		require.Equal(t, 200, code, "%v", m)
		pages++
		require.EqualValues(t, 2, m["limit"], "the page size in force")
		for _, e := range m["entries"].([]any) {
			e := e.(map[string]any)
			require.Equal(t, "webhook", e["type"])
			require.NotContains(t, e, "address", "entries are Webhook--Mini")
			require.Equal(t, "folder", e["target"].(map[string]any)["type"])
			got = append(got, e["id"].(string))
		}
		next, ok := m["next_marker"].(string)
		if !ok {
			require.Contains(t, m, "next_marker", "null on the last page")
			break
		}
		url = srv.BaseURL() + "/webhooks?limit=1000&marker=" + next
	}
	require.Equal(t, want, got, "the app and user's webhooks, not another user's")
	require.Equal(t, 2, pages)

	code, m, _ := call(t, srv, http.MethodGet, srv.BaseURL()+"/webhooks/"+want[0], nil, nil)
	require.Equal(t, 200, code)
	require.Equal(t, "https://example.com/hook", m["address"])
	code, _, _ = call(t, srv, http.MethodGet, srv.BaseURL()+"/webhooks?marker=bad!", nil, nil)
	require.Equal(t, 400, code, "a marker Box never gave")
}

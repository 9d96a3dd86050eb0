package app

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/dropbox"
)

// docsPath is path p in the fake project's Documents folder on the target.
func (sv *service) docsPath(p string) string {
	return path.Join(sv.cfg.Root, ProjectName, "Documents", p)
}

// waitProcore waits until Procore's project Documents hold p with content.
func (sv *service) waitProcore(t *testing.T, p, content string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := sv.f.Procore.UIFile(sv.f.Docs(), p)
		if err == nil && string(b) == content {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not in Procore within 10 s", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func postWith(t *testing.T, url string, h map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestServiceBoxWebhooks: with Box signature keys the service registers a
// webhook v2 on each pair's folder, accepts Box's signed deliveries (a
// person's upload arrives in Procore), refuses forged ones, and deletes
// its webhooks when it stops.
func TestServiceBoxWebhooks(t *testing.T) {
	sv := startServiceOn(t, Box, nil)
	sv.settle(t)
	if n := sv.f.Box.CallCount("post_webhooks"); n != len(sv.s.Pairs) {
		t.Fatalf("%d webhooks registered for %d pairs", n, len(sv.s.Pairs))
	}
	// One events stream for every pair.
	if n := sv.s.Conn.boxFeed.Subscribers(); n != len(sv.s.Pairs) {
		t.Errorf("the shared Box feed has %d subscribers, want one per pair (%d)", n, len(sv.s.Pairs))
	}
	if err := sv.f.WebUpload(sv.docsPath("05 Meeting Minutes/From Box.txt"), []byte("box note")); err != nil {
		t.Fatal(err)
	}
	sv.waitProcore(t, "05 Meeting Minutes/From Box.txt", "box note")
	ok := 0
	for _, d := range sv.f.Box.Deliveries() {
		if d.Status == http.StatusOK {
			ok++
		}
	}
	if ok == 0 {
		t.Errorf("no webhook delivery accepted: %+v", sv.f.Box.Deliveries())
	}

	body := `{"type":"webhook_event","id":"7","trigger":"FILE.UPLOADED","source":{"type":"file","id":"1"}}`
	ts := time.Now().UTC().Format(time.RFC3339)
	url := sv.url + "/box/webhook"
	forged := map[string]string{"BOX-DELIVERY-TIMESTAMP": ts, "BOX-SIGNATURE-PRIMARY": boxtest.Sign("not-the-key-0123456789", []byte(body), ts)}
	if code := postWith(t, url, forged, body); code != http.StatusUnauthorized {
		t.Errorf("forged delivery: %d", code)
	}
	signed := map[string]string{"BOX-DELIVERY-TIMESTAMP": ts, "BOX-SIGNATURE-SECONDARY": boxtest.Sign(sv.cfg.BoxWebhookSecondaryKey, []byte(body), ts)}
	if code := postWith(t, url, signed, body); code != http.StatusOK {
		t.Errorf("delivery signed with the secondary key: %d", code)
	}
	if code := postWith(t, sv.url+"/graph/notify", nil, "{}"); code != http.StatusNotFound {
		t.Errorf("/graph/notify on a Box service: %d", code)
	}

	sv.stop()
	if n := sv.f.Box.CallCount("delete_webhooks_id"); n != len(sv.s.Pairs) {
		t.Errorf("%d webhooks deleted at the stop, want %d", n, len(sv.s.Pairs))
	}
}

// TestServiceDropboxWebhook: the service answers Dropbox's verification
// challenge, takes notifications signed with the app secret (the fake,
// told the service's address as the App Console's webhook URI would be,
// notifies it; a person's upload arrives in Procore) and refuses unsigned
// ones.
func TestServiceDropboxWebhook(t *testing.T) {
	sv := startServiceOn(t, Dropbox, nil)
	sv.settle(t)
	// One list_folder cursor for every pair.
	if n := sv.s.Conn.dropboxFeed.Subscribers(); n != len(sv.s.Pairs) {
		t.Errorf("the shared Dropbox feed has %d subscribers, want one per pair (%d)", n, len(sv.s.Pairs))
	}
	url := sv.url + "/dropbox/webhook"
	resp, err := http.Get(url + "?challenge=Zm9vYmFy123")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "Zm9vYmFy123" {
		t.Errorf("challenge: %d %q", resp.StatusCode, b)
	}
	body := `{"list_folder":{"accounts":["dbid:AAAfake"]},"delta":{"users":[12345]}}`
	if code := postWith(t, url, map[string]string{"X-Dropbox-Signature": dropbox.Sign("wrong-secret", []byte(body))}, body); code == http.StatusOK {
		t.Errorf("a notification with a wrong signature was taken")
	}
	if code := postWith(t, url, map[string]string{"X-Dropbox-Signature": dropbox.Sign(sv.cfg.DropboxAppSecret, []byte(body))}, body); code != http.StatusOK {
		t.Errorf("signed notification: %d", code)
	}
	sv.f.Dropbox.SetWebhookURL(url)
	if err := sv.f.WebUpload(sv.docsPath("05 Meeting Minutes/From Dropbox.txt"), []byte("dropbox note")); err != nil {
		t.Fatal(err)
	}
	sv.waitProcore(t, "05 Meeting Minutes/From Dropbox.txt", "dropbox note")
}

// TestServiceBoxWebhookBudget: with more pairs than the Box webhook budget
// (3 here, 900 by default, under Box's 1000 per app and user) the service
// starts, sets at most the budget's webhooks, on folders that hold the
// pair folders (Box's webhooks cascade to subfolders), and a person's
// upload in a pair folder still reaches Procore through a cascading
// delivery; the webhooks are deleted when the service stops.
func TestServiceBoxWebhookBudget(t *testing.T) {
	const budget = 3
	sv := startServiceOn(t, Box, func(c *Config) { c.BoxWebhookBudget = budget })
	sv.settle(t)
	if len(sv.s.Pairs) <= budget {
		t.Fatalf("%d pairs: the test wants more than %d", len(sv.s.Pairs), budget)
	}
	created := sv.f.Box.CallCount("post_webhooks")
	if created == 0 || created > budget {
		t.Fatalf("%d webhooks registered for %d pairs, want 1 to %d", created, len(sv.s.Pairs), budget)
	}
	t.Logf("%d pairs, webhooks on %v", len(sv.s.Pairs), sv.f.Box.WebhookTargets())
	docs, ok := sv.f.Box.Lookup(sv.docsPath(""))
	if !ok {
		t.Fatal("no Documents folder on Box")
	}
	project, _ := sv.f.Box.Lookup(path.Join(sv.cfg.Root, ProjectName))
	targets := sv.f.Box.WebhookTargets()
	if slices.Contains(targets, docs) || !slices.Contains(targets, project) {
		t.Errorf("webhooks on %v: want the project folder %s (holding the project's pairs), not its Documents %s", targets, project, docs)
	}

	before := len(sv.f.Box.Deliveries())
	if err := sv.f.WebUpload(sv.docsPath("05 Meeting Minutes/Below a watched folder.txt"), []byte("cascade")); err != nil {
		t.Fatal(err)
	}
	sv.waitProcore(t, "05 Meeting Minutes/Below a watched folder.txt", "cascade")
	ok200 := 0
	for _, d := range sv.f.Box.Deliveries()[before:] {
		if d.Status == http.StatusOK {
			ok200++
		}
	}
	if ok200 == 0 {
		t.Errorf("no cascading webhook delivery accepted: %+v", sv.f.Box.Deliveries())
	}

	sv.stop()
	if n := sv.f.Box.CallCount("delete_webhooks_id"); n != created {
		t.Errorf("%d webhooks deleted at the stop, want %d", n, created)
	}
}

// TestServiceBoxLeftoverWebhooks: webhooks an earlier run left behind (it
// crashed before deleting them) with this service's address on folders
// not chosen this time are deleted when the service starts, so they no
// longer count toward Box's 1,000 per app and user; a webhook with
// another address is not the service's and is kept, at the start and at
// the stop.
func TestServiceBoxLeftoverWebhooks(t *testing.T) {
	// The service's address is known before it starts: the fake holds
	// webhooks to it from "an earlier run".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := &Config{Target: Box, Root: "Procore", Store: filepath.Join(t.TempDir(), "svc.db"),
		Interval: time.Hour, DeleteLimit: 25, Listen: addr}
	f := StartFakes(cfg)
	t.Cleanup(f.Close)
	cfg.RandomSecrets()

	hook := func(folder, address string) {
		t.Helper()
		id, err := f.Box.WebMkdir(folder)
		if err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"target":{"id":%q,"type":"folder"},"address":%q,"triggers":["FILE.UPLOADED"]}`, id, address)
		req, _ := http.NewRequest(http.MethodPost, f.Box.BaseURL()+"/webhooks", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.Box.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("webhook on %s: %d", folder, resp.StatusCode)
		}
	}
	ours := "http://" + addr + "/box/webhook"
	hook("Old pairs/Project A", ours)
	hook("Old pairs/Project B", ours)
	hook("Another app's folder", "https://other.example.com/box/webhook")
	stale := []string{}
	for _, p := range []string{"Old pairs/Project A", "Old pairs/Project B"} {
		id, _ := f.Box.Lookup(p)
		stale = append(stale, id)
	}
	other, _ := f.Box.Lookup("Another app's folder")
	// The service sets at most 2 webhooks, and the leftovers fill Box's
	// limit: they must be gone before the service sets its own.
	cfg.BoxWebhookBudget = 2
	f.Box.SetMaxWebhooks(3)

	sv := runService(t, f, cfg)
	sv.settle(t)
	targets := f.Box.WebhookTargets()
	for _, id := range stale {
		if slices.Contains(targets, id) {
			t.Errorf("the webhook an earlier run left on folder %s is still there: %v", id, targets)
		}
	}
	if !slices.Contains(targets, other) {
		t.Errorf("the webhook with another address (folder %s) was deleted: %v", other, targets)
	}
	created := f.Box.CallCount("post_webhooks") - 3
	if created == 0 || len(targets) != created+1 {
		t.Errorf("webhooks on %v after the start, want the %d the service set and the other app's", targets, created)
	}

	sv.stop()
	if targets := f.Box.WebhookTargets(); !slices.Equal(targets, []string{other}) {
		t.Errorf("webhooks on %v after the stop, want only the other app's (%s)", targets, other)
	}
}

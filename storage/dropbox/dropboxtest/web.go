package dropboxtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage/dropbox"
)

// webhookLocked sends a signed notification to Options.WebhookURL, in the
// background (Dropbox notifies asynchronously, batching users).
func (s *Server) webhookLocked() {
	if s.opt.WebhookURL == "" {
		return
	}
	body := []byte(`{"list_folder":{"accounts":["dbid:AAAfake"]},"delta":{"users":[12345]}}`)
	sig := dropbox.Sign(s.opt.AppSecret, body)
	s.hookWG.Add(1)
	go func() {
		defer s.hookWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opt.WebhookURL, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Dropbox-Signature", sig)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

// treeOf returns the tree and prefix of namespace ns.
func (s *Server) treeOf(ns string) (*tree, string) {
	return s.trees[s.nsTree[ns]], s.nsPrefix[ns]
}

// WebPut writes a file at path p (relative to namespace ns, e.g. HomeNS)
// as a person would in the web UI or the desktop app, creating parents,
// and returns its id and rev.
func (s *Server) WebPut(ns, p string, data []byte) (id, rev string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	rc := &reqCtx{route: "web", ns: ns, t: t, pre: pre}
	m, e := s.commit(rc, commitArg{Path: p, Mode: []byte(`"overwrite"`)}, bytes.Clone(data), int64(len(data)), hashOf(data),
		func(we map[string]any) map[string]any { return we })
	if e != nil {
		return "", "", fmt.Errorf("web put %q: %s", p, summary(e.body))
	}
	return m["id"].(string), m["rev"].(string), nil
}

// WebMkdir creates folder p (and its parents) in namespace ns.
func (s *Server) WebMkdir(ns, p string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	lower, bad := checkPath(p)
	if bad != "" {
		return "", fmt.Errorf("web mkdir %q: %s", p, bad)
	}
	if it := t.items[pre+lower]; it != nil {
		return it.id, nil
	}
	s.mkdirAllLocked(t, path.Dir(pre+lower), pre+path.Dir(p))
	return s.mkdirLocked(t, pre+p).id, nil
}

// WebDelete deletes p (and everything below it) in namespace ns.
func (s *Server) WebDelete(ns, p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	lower := pre + strings.ToLower(p)
	if t.items[lower] == nil {
		return fmt.Errorf("web delete %q: not found", p)
	}
	s.removeLocked(t, lower)
	return nil
}

// WebMove moves or renames from to to in namespace ns.
func (s *Server) WebMove(ns, from, to string) error {
	t, pre := s.treeOf(ns)
	raw := fmt.Sprintf(`{"from_path":%q,"to_path":%q}`, from, to)
	_, _, e := s.relocate(&reqCtx{route: "web", ns: ns, t: t, pre: pre}, []byte(raw), false)
	if e != nil {
		return fmt.Errorf("web move %q: %s%s", from, summary(e.body), e.text)
	}
	return nil
}

// Content returns the bytes of the file at p in namespace ns.
func (s *Server) ContentOf(ns, p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	it := t.items[pre+strings.ToLower(p)]
	if it == nil || it.dir {
		return nil, false
	}
	return bytes.Clone(it.data), true
}

// Items returns how many files and folders namespace ns holds.
func (s *Server) Items(ns string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	if pre == "" {
		return len(t.items)
	}
	return len(t.below(pre))
}

// Sessions returns how many upload sessions are open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Corrupt flips a byte of the stored content of the file at p in
// namespace ns without changing its metadata, as a storage fault would.
func (s *Server) Corrupt(ns, p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	it := t.items[pre+strings.ToLower(p)]
	if it == nil || it.dir || len(it.data) == 0 {
		return false
	}
	it.data = bytes.Clone(it.data)
	it.data[0] ^= 0xff
	return true
}

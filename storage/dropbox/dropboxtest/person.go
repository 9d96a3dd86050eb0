package dropboxtest

import "strings"

// WebStat returns the id of the live file or folder at p (a slash path
// from namespace ns's root, e.g. "/Projects/A.pdf"), as a person sees it in
// the web UI's details, and whether it is a folder. ok is false when
// nothing lives at p.
func (s *Server) WebStat(ns, p string) (id string, dir, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	it := t.items[pre+strings.ToLower(p)]
	if it == nil {
		return "", false, false
	}
	return it.id, it.dir, true
}

// Recoverable reports whether the file last deleted at p in namespace ns
// is among Dropbox's deleted files (restorable with files/restore) while
// nothing lives at p.
func (s *Server) Recoverable(ns, p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, pre := s.treeOf(ns)
	lower := pre + strings.ToLower(p)
	return t.items[lower] == nil && t.deleted[lower] != nil
}

// SetWebhookURL sets where the fake sends its signed webhook notifications
// ("" stops them), as registering the URI in the App Console does; it may
// be called after New, once the receiver listens.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opt.WebhookURL = u
}

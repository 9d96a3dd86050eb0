package dropboxtest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
	"github.com/procoresync/procoresync/storage/dropbox"
)

func fmtSscan(s string, v *int64) (int, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	*v = n
	return 1, err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// authenticate checks the token, the team headers and the path root.
func (s *Server) authenticate(r *http.Request, name string) (*reqCtx, *apiErr) {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Bearer ") {
		return nil, badRequest(name, "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".")
	}
	tok := strings.TrimPrefix(h, "Bearer ")
	switch s.tokens.Check(tok) {
	case fakeservice.TokenUnknown:
		return nil, &apiErr{status: 401, body: u("invalid_access_token", nil)}
	case fakeservice.TokenExpired:
		return nil, &apiErr{status: 401, body: u("expired_access_token", nil)}
	}
	s.mu.Lock()
	team := s.team[tok]
	s.mu.Unlock()
	home, root := HomeNS, HomeNS
	access := map[string]bool{HomeNS: true}
	if team {
		sel, adm := r.Header.Get("Dropbox-API-Select-User"), r.Header.Get("Dropbox-API-Select-Admin")
		switch {
		case sel == "" && adm == "":
			return nil, badRequest(name, "This API function operates on a single Dropbox account, but the OAuth 2 access token you provided is for an entire Dropbox Business team.  Since your API app key has team member file access permissions, you can operate on a team member's Dropbox by providing the \"Dropbox-API-Select-User\" HTTP header or \"Dropbox-API-Select-Admin\" HTTP header.")
		case sel != "" && sel != MemberID:
			return nil, &apiErr{status: 401, body: u("invalid_select_user", nil)}
		case sel == "" && adm != MemberID:
			return nil, &apiErr{status: 401, body: u("invalid_select_admin", nil)}
		}
		home, root = "3001", TeamRootNS
		access = map[string]bool{"3001": true, TeamRootNS: true, TeamFolderNS: true}
	}
	ns := home
	if pr := r.Header.Get("Dropbox-API-Path-Root"); pr != "" {
		var v struct {
			Tag         string `json:".tag"`
			Root        string `json:"root"`
			NamespaceID string `json:"namespace_id"`
		}
		if err := json.Unmarshal([]byte(pr), &v); err != nil {
			return nil, badRequest(name, "Invalid \"Dropbox-API-Path-Root\" header: "+err.Error())
		}
		info := map[string]any{".tag": "user", "root_namespace_id": root, "home_namespace_id": home}
		if team {
			info = map[string]any{".tag": "team", "root_namespace_id": root, "home_namespace_id": home, "home_path": "/Member One"}
		}
		switch v.Tag {
		case "home":
		case "root":
			if v.Root != root {
				return nil, &apiErr{status: 422, body: u("invalid_root", info)}
			}
			ns = root
		case "namespace_id":
			if !access[v.NamespaceID] {
				return nil, &apiErr{status: 422, body: u("no_permission", nil)}
			}
			ns = v.NamespaceID
		default:
			return nil, badRequest(name, "Invalid \"Dropbox-API-Path-Root\" header")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &reqCtx{route: name, ns: ns, t: s.trees[s.nsTree[ns]], pre: s.nsPrefix[ns]}, nil
}

// decode parses a route argument strictly (unknown fields are refused,
// as Dropbox does).
func decode(name string, raw json.RawMessage, v any) *apiErr {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("null")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return badRequest(name, "request body: "+err.Error())
	}
	return nil
}

// metadata renders it (tree paths, less prefix) as Metadata.
func (s *Server) metadata(it *item, prefix string, tag bool) map[string]any {
	disp := it.display
	if prefix != "" {
		disp = disp[len(prefix):]
	}
	m := map[string]any{"name": it.name(), "id": it.id, "path_lower": strings.ToLower(disp), "path_display": disp}
	if tag {
		m[".tag"] = "folder"
	}
	if !it.dir {
		if tag {
			m[".tag"] = "file"
		}
		m["client_modified"] = it.clientMod.UTC().Format(dropbox.TimeFormat)
		m["server_modified"] = it.serverMod.UTC().Format(dropbox.TimeFormat)
		m["rev"] = it.rev
		m["size"] = it.size
		m["is_downloadable"] = true
		m["content_hash"] = it.hash
	}
	return m
}

// resolve finds p (a path, "id:…", or "" for the root when allowRoot) in
// rc's namespace. lower is the tree path; it is nil when nothing is there
// (or for the root). tag is a LookupError tag on failure.
func (s *Server) resolve(rc *reqCtx, p string, allowRoot bool) (lower string, it *item, tag string) {
	switch {
	case p == "" && allowRoot:
		return rc.pre, nil, ""
	case strings.HasPrefix(p, "id:"):
		id, rest, sub := strings.Cut(p, "/")
		if x := rc.t.byID[id]; x != nil {
			k := strings.ToLower(x.display)
			if rc.pre != "" && !strings.HasPrefix(k, rc.pre+"/") {
				return "", nil, "not_found"
			}
			if !sub {
				return k, x, ""
			}
			if !x.dir {
				return "", nil, "not_folder"
			}
			l, bad := checkPath("/" + rest)
			if bad != "" {
				return "", nil, bad
			}
			return k + l, rc.t.items[k+l], ""
		}
		return "", nil, "not_found"
	}
	l, bad := checkPath(p)
	if bad != "" {
		return "", nil, bad
	}
	lower = rc.pre + l
	return lower, rc.t.items[lower], ""
}

// existing resolves p to an item that exists, or returns the lookup error
// Dropbox gives under outer (e.g. path_lookup/not_found).
func (s *Server) existing(rc *reqCtx, p, outer string) (lower string, it *item, e *apiErr) {
	lower, it, tag := s.resolve(rc, p, false)
	if tag != "" {
		return "", nil, lookupErr(outer, tag)
	}
	if it == nil {
		return "", nil, lookupErr(outer, "not_found")
	}
	return lower, it, nil
}

// beginRead decodes a route's arguments into a and takes the lock; the
// caller unlocks.
func (s *Server) beginRead(rc *reqCtx, raw json.RawMessage, a any) *apiErr {
	if e := decode(rc.route, raw, a); e != nil {
		return e
	}
	s.mu.Lock()
	return nil
}

// beginWrite is beginRead for a write: it also passes the namespace's
// write gate. The lock is held (for the caller to release) only when it
// returns nil.
func (s *Server) beginWrite(rc *reqCtx, raw json.RawMessage, a any) *apiErr {
	if e := s.beginRead(rc, raw, a); e != nil {
		return e
	}
	if e := s.writeGate(rc); e != nil {
		s.mu.Unlock()
		return e
	}
	return nil
}

func lookupErr(outer, tag string) *apiErr {
	if tag == "malformed_path" {
		return routeErr(u(outer, map[string]any{".tag": "malformed_path"}))
	}
	return routeErr(u(outer, u(tag, nil)))
}

// parentOK reports whether the folder holding lower exists (or is the
// namespace root); a file there gives not_folder.
func (s *Server) parentOK(rc *reqCtx, lower string) string {
	dir := path.Dir(lower)
	if dir == "/" || dir == rc.pre || dir == "." {
		return ""
	}
	p := rc.t.items[dir]
	if p == nil {
		return "not_found"
	}
	if !p.dir {
		return "file_ancestor"
	}
	return ""
}

// treeDisplay is the tree path spelled as the request's path p says (a
// path, or a path relative to a folder's id:).
func (s *Server) treeDisplay(rc *reqCtx, p string) string {
	if id, rest, ok := strings.Cut(p, "/"); ok && strings.HasPrefix(id, "id:") {
		if x := rc.t.byID[id]; x != nil {
			return x.display + "/" + rest
		}
	}
	return rc.pre + p
}

// displayFor builds the display path of a new item at lower whose last
// segment is spelled as in p: the parent's display path and the new name.
func displayFor(t *tree, lower, p string) string {
	dir := path.Dir(lower)
	name := path.Base(p)
	if d := t.items[dir]; d != nil {
		return d.display + "/" + name
	}
	if dir == "/" {
		return "/" + name
	}
	return path.Dir(p) + "/" + name
}

// mkdirLocked creates a folder at tree path p.
func (s *Server) mkdirLocked(t *tree, p string) *item {
	lower := strings.ToLower(p)
	it := &item{id: s.newID(), display: displayFor(t, lower, p), dir: true}
	t.items[lower] = it
	t.byID[it.id] = it
	t.record(lower, it, s)
	return it
}

func (s *Server) listFolder(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path                            string `json:"path"`
		Recursive                       bool   `json:"recursive"`
		IncludeDeleted                  bool   `json:"include_deleted"`
		IncludeHasExplicitSharedMembers bool   `json:"include_has_explicit_shared_members"`
		IncludeMountedFolders           *bool  `json:"include_mounted_folders"`
		Limit                           *int   `json:"limit"`
		IncludeNonDownloadableFiles     *bool  `json:"include_non_downloadable_files"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	if a.Limit != nil && (*a.Limit < 1 || *a.Limit > 2000) {
		return nil, nil, badRequest(rc.route, "request body: limit: value out of range")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.newCursor(rc, a.Path, a.Recursive, a.IncludeDeleted)
	if e != nil {
		return nil, nil, e
	}
	if a.Limit != nil {
		c.limit = *a.Limit
	}
	if rc.route == "files/list_folder/get_latest_cursor" {
		c.pending = nil
		return map[string]any{"cursor": s.saveCursor(c)}, nil, nil
	}
	return s.page(rc, c), nil, nil
}

func (s *Server) latestCursor(rc *reqCtx, raw json.RawMessage, b []byte, r *http.Request) (any, []byte, *apiErr) {
	return s.listFolder(rc, raw, b, r)
}

// newCursor starts a listing of p.
func (s *Server) newCursor(rc *reqCtx, p string, recursive, deleted bool) (*cursor, *apiErr) {
	if p == "/" {
		return nil, lookupErr("path", "malformed_path")
	}
	lower, it, tag := s.resolve(rc, p, true)
	if tag != "" {
		return nil, lookupErr("path", tag)
	}
	if p != "" && it == nil {
		return nil, lookupErr("path", "not_found")
	}
	if it != nil && !it.dir {
		return nil, lookupErr("path", "not_folder")
	}
	c := &cursor{ns: rc.ns, lower: lower, recursive: recursive, deleted: deleted, seq: rc.t.seq, epoch: s.epoch, limit: 2000}
	for _, x := range rc.t.below(lower) {
		xl := strings.ToLower(x.display)
		if !recursive && path.Dir(xl) != lower && !(lower == "" && path.Dir(xl) == "/") {
			continue
		}
		c.pending = append(c.pending, s.metadata(x, rc.pre, true))
	}
	return c, nil
}

func (s *Server) saveCursor(c *cursor) string {
	id := "AA" + randHex(24)
	s.cursors[id] = c
	return id
}

// page serves the next page of c: the rest of the initial listing, then
// the changes after c.seq.
func (s *Server) page(rc *reqCtx, c *cursor) map[string]any {
	entries := []any{}
	n := 0
	next := *c
	if len(c.pending) > 0 {
		n = min(c.limit, len(c.pending))
		for _, m := range c.pending[:n] {
			entries = append(entries, m)
		}
		next.pending = c.pending[n:]
	} else {
		for _, ch := range rc.t.log {
			if ch.seq <= c.seq {
				continue
			}
			if len(entries) >= c.limit {
				break
			}
			next.seq = ch.seq
			if !s.inScope(c, ch.lower) {
				continue
			}
			if ch.deleted {
				if !c.deleted {
					continue
				}
				disp := ch.lower[len(rc.pre):]
				entries = append(entries, map[string]any{".tag": "deleted", "name": path.Base(disp), "path_lower": disp, "path_display": disp})
				continue
			}
			m := map[string]any{}
			for k, v := range ch.meta {
				m[k] = v
			}
			if rc.pre != "" {
				m["path_lower"] = m["path_lower"].(string)[len(rc.pre):]
				m["path_display"] = m["path_display"].(string)[len(rc.pre):]
			}
			entries = append(entries, m)
		}
		more := false
		for _, ch := range rc.t.log {
			if ch.seq > next.seq {
				more = true
				break
			}
		}
		return map[string]any{"entries": entries, "cursor": s.saveCursor(&next), "has_more": more}
	}
	return map[string]any{"entries": entries, "cursor": s.saveCursor(&next), "has_more": true}
}

// inScope reports whether tree path lower is listed by c.
func (s *Server) inScope(c *cursor, lower string) bool {
	if c.lower != "" && !strings.HasPrefix(lower, c.lower+"/") {
		return false
	}
	if !c.recursive {
		d := path.Dir(lower)
		return d == c.lower || c.lower == "" && d == "/"
	}
	return true
}

func (s *Server) listContinue(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Cursor string `json:"cursor"`
	}
	if e := s.beginRead(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	c, ok := s.cursors[a.Cursor]
	if !ok || c.ns != rc.ns {
		return nil, nil, badRequest(rc.route, "Invalid \"cursor\" parameter")
	}
	if c.epoch != s.epoch {
		return nil, nil, routeErr(u("reset", nil))
	}
	// A cursor follows the path its folder had when it was issued: once
	// the folder is renamed, moved or deleted, Dropbox answers
	// path/not_found (and path/not_folder when a file took its place).
	if tag := s.folderGone(rc.t, c); tag != "" {
		return nil, nil, lookupErr("path", tag)
	}
	// A page that ran past the log's end: without has_more, has the
	// remaining pending part been served? page handles both.
	return s.page(rc, c), nil, nil
}

// folderGone returns the LookupError tag of c's folder when it no longer
// lives at the path c was issued for (not_found, or not_folder when a file
// took its place), else "".
func (s *Server) folderGone(t *tree, c *cursor) string {
	if c.lower == "" || c.lower == s.nsPrefix[c.ns] {
		return ""
	}
	switch it := t.items[c.lower]; {
	case it == nil:
		return "not_found"
	case !it.dir:
		return "not_folder"
	}
	return ""
}

// longpoll is files/list_folder/longpoll on the notify host: no
// Authorization header (the route's auth is noauth).
func (s *Server) longpoll(w http.ResponseWriter, r *http.Request, body []byte) {
	name := "files/list_folder/longpoll"
	if r.Method != http.MethodPost {
		writeText(w, http.StatusMethodNotAllowed, "Only POST is allowed")
		return
	}
	if r.Header.Get("Authorization") != "" {
		badRequest(name, "This endpoint does not take an \"Authorization\" header").write(w)
		return
	}
	var a struct {
		Cursor  string `json:"cursor"`
		Timeout *int   `json:"timeout"`
	}
	if e := decode(name, body, &a); e != nil {
		e.write(w)
		return
	}
	timeout := 30
	if a.Timeout != nil {
		if *a.Timeout < 30 || *a.Timeout > 480 {
			badRequest(name, "request body: timeout: value out of range").write(w)
			return
		}
		timeout = *a.Timeout
	}
	s.mu.Lock()
	c, ok := s.cursors[a.Cursor]
	if !ok {
		s.mu.Unlock()
		badRequest(name, "Invalid \"cursor\" parameter").write(w)
		return
	}
	if c.epoch != s.epoch {
		s.mu.Unlock()
		routeErr(u("reset", nil)).write(w)
		return
	}
	d := time.Duration(timeout) * time.Second
	if s.opt.LongpollMax > 0 {
		d = min(d, s.opt.LongpollMax)
	}
	deadline := time.Now().Add(d)
	for {
		t := s.trees[s.nsTree[c.ns]]
		// A cursor whose folder left its path has something to say: the
		// list_folder/continue that follows answers path/not_found.
		changed := s.folderGone(t, c) != ""
		for _, ch := range t.log {
			if ch.seq > c.seq && s.inScope(c, ch.lower) && (!ch.deleted || c.deleted || true) {
				changed = true
				break
			}
		}
		wait := t.changed
		s.mu.Unlock()
		if changed || time.Now().After(deadline) || !waitCtx(r.Context(), wait, time.Until(deadline)) && time.Now().After(deadline) || r.Context().Err() != nil {
			res := map[string]any{"changes": changed}
			if s.opt.Backoff > 0 {
				res["backoff"] = s.opt.Backoff
			}
			writeJSON(w, 200, res)
			return
		}
		s.mu.Lock()
	}
}

func (s *Server) getMetadata(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path                            string `json:"path"`
		IncludeMediaInfo                bool   `json:"include_media_info"`
		IncludeDeleted                  bool   `json:"include_deleted"`
		IncludeHasExplicitSharedMembers bool   `json:"include_has_explicit_shared_members"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	if a.Path == "" || a.Path == "/" {
		return nil, nil, badRequest(rc.route, "request body: path: The root folder is unsupported.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, it, e := s.existing(rc, a.Path, "path")
	if e != nil {
		return nil, nil, e
	}
	return s.metadata(it, rc.pre, true), nil, nil
}

// writeGate refuses a write while another write or a batch holds the
// namespace's lock (too_many_write_operations).
func (s *Server) writeGate(rc *reqCtx) *apiErr {
	key := s.nsTree[rc.ns]
	if time.Now().Before(s.writing[key]) {
		return &apiErr{status: 429, body: map[string]any{"reason": u("too_many_write_operations", nil), "retry_after": 1},
			header: map[string]string{"Retry-After": "1"}}
	}
	if s.opt.WriteLock > 0 {
		s.writing[key] = time.Now().Add(s.opt.WriteLock)
	}
	return nil
}

func (s *Server) createFolder(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path       string `json:"path"`
		Autorename bool   `json:"autorename"`
	}
	if e := s.beginWrite(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	if strings.HasPrefix(a.Path, "id:") {
		return nil, nil, routeErr(u("path", map[string]any{".tag": "malformed_path"}))
	}
	lower, it, tag := s.resolve(rc, a.Path, false)
	if tag != "" {
		return nil, nil, routeErr(u("path", u(tag, nil)))
	}
	if it != nil {
		kind := "file"
		if it.dir {
			kind = "folder"
		}
		return nil, nil, routeErr(u("path", u("conflict", u(kind, nil))))
	}
	if p := s.parentOK(rc, lower); p == "file_ancestor" {
		return nil, nil, routeErr(u("path", u("conflict", u("file_ancestor", nil))))
	}
	// Dropbox creates missing parent folders.
	s.mkdirAllLocked(rc.t, path.Dir(lower), rc.pre+a.Path)
	nf := s.mkdirLocked(rc.t, rc.pre+a.Path)
	m := s.metadata(nf, rc.pre, false)
	return map[string]any{"metadata": m}, nil, nil
}

// mkdirAllLocked creates the missing folders of tree path dirLower
// (spelled as in the corresponding prefix of p).
func (s *Server) mkdirAllLocked(t *tree, dirLower, p string) {
	if dirLower == "/" || dirLower == "" || t.items[dirLower] != nil {
		return
	}
	s.mkdirAllLocked(t, path.Dir(dirLower), path.Dir(p))
	s.mkdirLocked(t, p)
}

// removeLocked deletes lower and everything below it, logging each.
func (s *Server) removeLocked(t *tree, lower string) {
	for _, x := range t.below(lower) {
		xl := strings.ToLower(x.display)
		delete(t.items, xl)
		delete(t.byID, x.id)
		if !x.dir {
			t.deleted[xl] = x
		}
		t.record(xl, nil, s)
	}
	if it := t.items[lower]; it != nil {
		delete(t.byID, it.id)
		if !it.dir {
			t.deleted[lower] = it
		}
	}
	delete(t.items, lower)
	t.record(lower, nil, s)
}

func (s *Server) deleteItem(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path      string  `json:"path"`
		ParentRev *string `json:"parent_rev"`
	}
	if e := s.beginWrite(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	lower, it, e := s.existing(rc, a.Path, "path_lookup")
	if e != nil {
		return nil, nil, e
	}
	if a.ParentRev != nil {
		if it.dir {
			return nil, nil, badRequest(rc.route, "parent_rev does not apply to folders")
		}
		if it.rev != *a.ParentRev {
			// Unconfirmed against a live account: the error a stale parent_rev gets.
			return nil, nil, routeErr(u("path_write", u("conflict", u("file", nil))))
		}
	}
	m := s.metadata(it, rc.pre, true)
	s.removeLocked(rc.t, lower)
	return map[string]any{"metadata": m}, nil, nil
}

func (s *Server) move(rc *reqCtx, raw json.RawMessage, b []byte, r *http.Request) (any, []byte, *apiErr) {
	return s.relocate(rc, raw, false)
}

func (s *Server) copyItem(rc *reqCtx, raw json.RawMessage, b []byte, r *http.Request) (any, []byte, *apiErr) {
	return s.relocate(rc, raw, true)
}

func (s *Server) relocate(rc *reqCtx, raw json.RawMessage, copying bool) (any, []byte, *apiErr) {
	var a struct {
		FromPath               string `json:"from_path"`
		ToPath                 string `json:"to_path"`
		AllowSharedFolder      bool   `json:"allow_shared_folder"`
		Autorename             bool   `json:"autorename"`
		AllowOwnershipTransfer bool   `json:"allow_ownership_transfer"`
	}
	if e := s.beginWrite(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	from, it, e := s.existing(rc, a.FromPath, "from_lookup")
	if e != nil {
		return nil, nil, e
	}
	if strings.HasPrefix(a.ToPath, "id:") {
		return nil, nil, routeErr(u("to", map[string]any{".tag": "malformed_path"}))
	}
	to, dst, tag := s.resolve(rc, a.ToPath, false)
	if tag != "" {
		return nil, nil, routeErr(u("to", u(tag, nil)))
	}
	if to == from {
		// Dropbox does not support case-only renames.
		return nil, nil, routeErr(u("to", u("conflict", u(map[bool]string{true: "folder", false: "file"}[it.dir], nil))))
	}
	if dst != nil {
		return nil, nil, routeErr(u("to", u("conflict", u(map[bool]string{true: "folder", false: "file"}[dst.dir], nil))))
	}
	if strings.HasPrefix(to, from+"/") {
		return nil, nil, routeErr(u("cant_move_folder_into_itself", nil))
	}
	switch s.parentOK(rc, to) {
	case "not_found":
		// Dropbox creates missing parent folders of the destination.
		s.mkdirAllLocked(rc.t, path.Dir(to), rc.pre+path.Dir(a.ToPath))
	case "file_ancestor":
		return nil, nil, routeErr(u("to", u("conflict", u("file_ancestor", nil))))
	}
	newDisp := displayFor(rc.t, to, rc.pre+a.ToPath)
	subtree := rc.t.below(from)
	if copying {
		cp := s.cloneItem(it, newDisp)
		rc.t.items[to] = cp
		rc.t.byID[cp.id] = cp
		rc.t.record(to, cp, s)
		for _, x := range subtree {
			d := newDisp + x.display[len(it.display):]
			c := s.cloneItem(x, d)
			rc.t.items[strings.ToLower(d)] = c
			rc.t.byID[c.id] = c
			rc.t.record(strings.ToLower(d), c, s)
		}
		return map[string]any{"metadata": s.metadata(cp, rc.pre, true)}, nil, nil
	}
	delete(rc.t.items, from)
	rc.t.record(from, nil, s)
	it.display = newDisp
	rc.t.items[to] = it
	rc.t.record(to, it, s)
	for _, x := range subtree {
		old := strings.ToLower(x.display)
		delete(rc.t.items, old)
		x.display = newDisp + x.display[len(from):]
		nl := strings.ToLower(x.display)
		rc.t.items[nl] = x
		rc.t.record(nl, x, s)
	}
	return map[string]any{"metadata": s.metadata(it, rc.pre, true)}, nil, nil
}

func (s *Server) cloneItem(it *item, display string) *item {
	c := *it
	c.id, c.display, c.revs = s.newID(), display, nil
	if !c.dir {
		c.rev = s.newRev()
		c.serverMod = s.opt.Now()
	}
	return &c
}

func (s *Server) download(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path string  `json:"path"`
		Rev  *string `json:"rev"`
	}
	if e := s.beginRead(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	_, it, e := s.existing(rc, a.Path, "path")
	if e != nil {
		return nil, nil, e
	}
	if it.dir {
		return nil, nil, lookupErr("path", "not_file")
	}
	if it.data == nil && it.size > 0 {
		return nil, nil, &apiErr{status: 400, text: "content discarded by the fake (Options.DiscardContent)"}
	}
	return s.metadata(it, rc.pre, false), it.data, nil
}

// commitArg is files.CommitInfo.
type commitArg struct {
	Path           string          `json:"path"`
	Mode           json.RawMessage `json:"mode"`
	Autorename     bool            `json:"autorename"`
	ClientModified *string         `json:"client_modified"`
	Mute           bool            `json:"mute"`
	PropertyGroups json.RawMessage `json:"property_groups"`
	StrictConflict bool            `json:"strict_conflict"`
}

// commit writes data (or a discarded file of size and hash) as c says;
// outer names the WriteError's place in the route error.
func (s *Server) commit(rc *reqCtx, c commitArg, data []byte, size int64, hash string, wrap func(map[string]any) map[string]any) (map[string]any, *apiErr) {
	mode, rev := "add", ""
	if len(c.Mode) > 0 {
		var tag string
		if json.Unmarshal(c.Mode, &tag) != nil {
			var m struct {
				Tag    string `json:".tag"`
				Update string `json:"update"`
			}
			if err := json.Unmarshal(c.Mode, &m); err != nil {
				return nil, badRequest(rc.route, "request body: mode: "+err.Error())
			}
			tag, rev = m.Tag, m.Update
		}
		mode = tag
	}
	if mode != "add" && mode != "overwrite" && mode != "update" || mode == "update" && len(rev) < 9 {
		return nil, badRequest(rc.route, "request body: mode: invalid")
	}
	var cm time.Time
	if c.ClientModified != nil {
		t, err := time.Parse(dropbox.TimeFormat, *c.ClientModified)
		if err != nil {
			return nil, badRequest(rc.route, "request body: client_modified: "+err.Error())
		}
		cm = t
	}
	lower, it, tag := s.resolve(rc, c.Path, false)
	switch tag {
	case "":
	case "not_folder":
		return nil, wrapErr(wrap, u("conflict", u("file_ancestor", nil)))
	case "not_found", "malformed_path":
		// Unconfirmed against a live account: the WriteError of a path relative to a missing folder id: (WriteError has no not_found).
		return nil, wrapErr(wrap, map[string]any{".tag": "malformed_path"})
	default:
		return nil, wrapErr(wrap, u(tag, nil))
	}
	conflict := func(kind string) *apiErr { return wrapErr(wrap, u("conflict", u(kind, nil))) }
	if it != nil && it.dir {
		return nil, conflict("folder")
	}
	if p := s.parentOK(rc, lower); p == "file_ancestor" {
		return nil, conflict("file_ancestor")
	}
	if it != nil {
		same := it.hash == hash
		switch {
		case mode == "add" && (!same || c.StrictConflict):
			return nil, conflict("file")
		case mode == "update" && it.rev != rev:
			return nil, conflict("file")
		case same && c.StrictConflict && mode != "add":
			return nil, conflict("file")
		case same:
			return s.metadata(it, rc.pre, false), nil
		}
		it.revs = append(it.revs, oldRev{rev: it.rev, hash: it.hash, size: it.size, clientMod: it.clientMod, serverMod: it.serverMod})
	} else {
		if mode == "update" && c.StrictConflict {
			return nil, conflict("file")
		}
		if strings.HasPrefix(c.Path, "id:") && !strings.Contains(c.Path, "/") {
			return nil, wrapErr(wrap, u("not_found", nil))
		}
		disp := s.treeDisplay(rc, c.Path)
		s.mkdirAllLocked(rc.t, path.Dir(lower), path.Dir(disp))
		it = &item{id: s.newID(), display: displayFor(rc.t, lower, disp)}
		rc.t.items[lower] = it
		rc.t.byID[it.id] = it
	}
	it.rev, it.data, it.size, it.hash = s.newRev(), data, size, hash
	rc.t.revData[it.rev] = revision{id: it.id, hash: hash, data: data, size: size}
	it.serverMod = s.opt.Now().UTC().Truncate(time.Second)
	it.clientMod = it.serverMod
	if !cm.IsZero() {
		it.clientMod = cm
	}
	rc.t.record(lower, it, s)
	return s.metadata(it, rc.pre, false), nil
}

func wrapErr(wrap func(map[string]any) map[string]any, we map[string]any) *apiErr {
	return routeErr(wrap(we))
}

func (s *Server) upload(rc *reqCtx, raw json.RawMessage, body []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		commitArg
		ContentHash *string `json:"content_hash"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	h := hashOf(body)
	if a.ContentHash != nil && *a.ContentHash != h {
		return nil, nil, routeErr(u("content_hash_mismatch", nil))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.writeGate(rc); e != nil {
		return nil, nil, e
	}
	data := body
	if s.opt.DiscardContent {
		data = nil
	}
	sid := "pid_upload_session:" + randHex(8)
	m, e := s.commit(rc, a.commitArg, data, int64(len(body)), h, func(we map[string]any) map[string]any {
		return map[string]any{".tag": "path", "reason": we, "upload_session_id": sid}
	})
	return m, nil, e
}

func (s *Server) sessionStart(rc *reqCtx, raw json.RawMessage, body []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Close       bool            `json:"close"`
		SessionType json.RawMessage `json:"session_type"`
		ContentHash *string         `json:"content_hash"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	if a.ContentHash != nil && *a.ContentHash != hashOf(body) {
		return nil, nil, routeErr(u("content_hash_mismatch", nil))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "pid_upload_session:" + randHex(16)
	ss := &session{size: int64(len(body)), closed: a.Close, expires: s.opt.Now().Add(7 * 24 * time.Hour)}
	ss.add(body, s.opt.DiscardContent)
	s.sessions[id] = ss
	return map[string]any{"session_id": id}, nil, nil
}

// add appends data to the session (only its hash when discarding).
func (ss *session) add(data []byte, discard bool) {
	if ss.sum == nil {
		ss.sum = dropbox.NewContentHash()
	}
	ss.sum.Write(data)
	if !discard {
		ss.data = append(ss.data, data...)
	}
}

func (s *Server) lookupSession(now time.Time, cur struct {
	SessionID string `json:"session_id"`
	Offset    int64  `json:"offset"`
}) (*session, map[string]any) {
	ss, ok := s.sessions[cur.SessionID]
	if !ok || now.After(ss.expires) {
		return nil, u("not_found", nil)
	}
	if cur.Offset != ss.size {
		return nil, u("incorrect_offset", map[string]any{"correct_offset": ss.size})
	}
	return ss, nil
}

type sessCursor = struct {
	SessionID string `json:"session_id"`
	Offset    int64  `json:"offset"`
}

func (s *Server) sessionAppend(rc *reqCtx, raw json.RawMessage, body []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Cursor      sessCursor `json:"cursor"`
		Close       bool       `json:"close"`
		ContentHash *string    `json:"content_hash"`
	}
	if e := s.beginRead(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	ss, le := s.lookupSession(s.opt.Now(), a.Cursor)
	if le != nil {
		return nil, nil, routeErr(le)
	}
	if ss.closed {
		return nil, nil, routeErr(u("closed", nil))
	}
	if ss.size+int64(len(body)) > dropbox.MaxFileSize {
		return nil, nil, routeErr(u("too_large", nil))
	}
	ss.add(body, s.opt.DiscardContent)
	ss.size += int64(len(body))
	ss.closed = a.Close
	return nil, nil, nil
}

// sessionData returns a session's data (nil when discarded) and content
// hash.
func (s *Server) sessionData(ss *session) ([]byte, string) {
	if ss.sum == nil {
		ss.add(nil, true)
	}
	return ss.data, hex.EncodeToString(ss.sum.Sum(nil))
}

func (s *Server) sessionFinish(rc *reqCtx, raw json.RawMessage, body []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Cursor      sessCursor `json:"cursor"`
		Commit      commitArg  `json:"commit"`
		ContentHash *string    `json:"content_hash"`
	}
	if e := s.beginWrite(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	ss, le := s.lookupSession(s.opt.Now(), a.Cursor)
	if le != nil {
		return nil, nil, routeErr(u("lookup_failed", le))
	}
	if ss.closed && len(body) > 0 {
		return nil, nil, routeErr(u("lookup_failed", u("closed", nil)))
	}
	ss.add(body, s.opt.DiscardContent)
	ss.size += int64(len(body))
	data, h := s.sessionData(ss)
	if a.ContentHash != nil && *a.ContentHash != h {
		return nil, nil, routeErr(u("content_hash_mismatch", nil))
	}
	m, e := s.commit(rc, a.Commit, data, ss.size, h, func(we map[string]any) map[string]any { return u("path", we) })
	if e == nil {
		delete(s.sessions, a.Cursor.SessionID)
	}
	return m, nil, e
}

func (s *Server) finishBatch(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Entries []struct {
			Cursor      sessCursor `json:"cursor"`
			Commit      commitArg  `json:"commit"`
			ContentHash *string    `json:"content_hash"`
		} `json:"entries"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	if len(a.Entries) > 1000 {
		return nil, nil, badRequest(rc.route, "request body: entries: list too long")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.writeGate(rc); e != nil {
		return nil, nil, e
	}
	out := []any{}
	for _, en := range a.Entries {
		ss, le := s.lookupSession(s.opt.Now(), en.Cursor)
		if le == nil && !ss.closed {
			le = u("not_closed", nil)
		}
		if le != nil {
			out = append(out, u("failure", u("lookup_failed", le)))
			continue
		}
		data, h := s.sessionData(ss)
		if en.ContentHash != nil && *en.ContentHash != h {
			out = append(out, u("failure", u("content_hash_mismatch", nil)))
			continue
		}
		m, e := s.commit(rc, en.Commit, data, ss.size, h, func(we map[string]any) map[string]any { return u("path", we) })
		if e != nil {
			out = append(out, u("failure", e.body))
			continue
		}
		delete(s.sessions, en.Cursor.SessionID)
		out = append(out, u("success", m))
	}
	return map[string]any{"entries": out}, nil, nil
}

func (s *Server) listRevisions(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path                  string  `json:"path"`
		Mode                  string  `json:"mode"`
		Limit                 *int    `json:"limit"`
		BeforeRev             *string `json:"before_rev"`
		IncludeRestorableInfo bool    `json:"include_restorable_info"`
	}
	if e := decode(rc.route, raw, &a); e != nil {
		return nil, nil, e
	}
	limit := 10
	if a.Limit != nil {
		if *a.Limit < 1 || *a.Limit > 100 {
			return nil, nil, badRequest(rc.route, "request body: limit: value out of range")
		}
		limit = *a.Limit
	}
	if a.Mode == "id" != strings.HasPrefix(a.Path, "id:") {
		return nil, nil, lookupErr("path", "malformed_path")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, it, tag := s.resolve(rc, a.Path, false)
	if tag != "" {
		return nil, nil, lookupErr("path", tag)
	}
	isDeleted := false
	if it == nil && a.Mode != "id" {
		if l, _, _ := s.resolve(rc, a.Path, false); rc.t.deleted[l] != nil {
			it, isDeleted = rc.t.deleted[l], true
		}
	}
	if it == nil {
		return nil, nil, lookupErr("path", "not_found")
	}
	if it.dir {
		return nil, nil, lookupErr("path", "not_file")
	}
	entries := []any{s.metadata(it, rc.pre, false)}
	for i := len(it.revs) - 1; i >= 0 && len(entries) < limit; i-- {
		o := it.revs[i]
		m := s.metadata(it, rc.pre, false)
		m["rev"], m["content_hash"], m["size"] = o.rev, o.hash, o.size
		m["client_modified"] = o.clientMod.UTC().Format(dropbox.TimeFormat)
		m["server_modified"] = o.serverMod.UTC().Format(dropbox.TimeFormat)
		entries = append(entries, m)
	}
	return map[string]any{"is_deleted": isDeleted, "entries": entries, "has_more": len(it.revs)+1 > limit}, nil, nil
}

// restore is files/restore: the file at path becomes revision rev (a
// deleted file comes back with its ID).
func (s *Server) restore(rc *reqCtx, raw json.RawMessage, _ []byte, _ *http.Request) (any, []byte, *apiErr) {
	var a struct {
		Path string `json:"path"`
		Rev  string `json:"rev"`
	}
	if e := s.beginWrite(rc, raw, &a); e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	lower, it, tag := s.resolve(rc, a.Path, false)
	if tag != "" || strings.HasPrefix(a.Path, "id:") {
		return nil, nil, routeErr(u("path_lookup", map[string]any{".tag": "malformed_path"}))
	}
	r, ok := rc.t.revData[a.Rev]
	if !ok {
		return nil, nil, routeErr(u("invalid_revision", nil))
	}
	if it != nil && it.dir {
		return nil, nil, routeErr(u("path_write", u("conflict", u("folder", nil))))
	}
	if it == nil {
		disp := s.treeDisplay(rc, a.Path)
		s.mkdirAllLocked(rc.t, path.Dir(lower), path.Dir(disp))
		id := r.id
		if rc.t.byID[id] != nil {
			id = s.newID()
		}
		it = &item{id: id, display: displayFor(rc.t, lower, disp)}
		rc.t.items[lower] = it
		rc.t.byID[it.id] = it
	} else {
		it.revs = append(it.revs, oldRev{rev: it.rev, hash: it.hash, size: it.size, clientMod: it.clientMod, serverMod: it.serverMod})
	}
	it.rev, it.data, it.size, it.hash = s.newRev(), r.data, r.size, r.hash
	it.serverMod = s.opt.Now().UTC().Truncate(time.Second)
	it.clientMod = it.serverMod
	rc.t.revData[it.rev] = revision{id: it.id, hash: r.hash, data: r.data, size: r.size}
	rc.t.record(lower, it, s)
	return s.metadata(it, rc.pre, false), nil, nil
}

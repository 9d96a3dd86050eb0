package boxtest

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

const timeFmt = time.RFC3339

func userMini(id string) map[string]any {
	name, login := "Aaron Levie", "ceo@example.com"
	if id == PersonID {
		name, login = "Pat Site", "pat@example.com"
	}
	return map[string]any{"type": "user", "id": id, "name": name, "login": login}
}

func (s *Server) mini(it *item) map[string]any {
	m := map[string]any{"type": "folder", "id": it.id, "name": it.name, "etag": nil, "sequence_id": nil}
	if it.id != "0" {
		m["etag"], m["sequence_id"] = it.etag(), it.etag()
	}
	if !it.folder {
		m["type"] = "file"
		m["sha1"] = it.sha1
		m["file_version"] = map[string]any{"type": "file_version", "id": it.versionID, "sha1": it.sha1}
	}
	return m
}

// render returns it as Box's full representation, projected to fields
// (nil: every field) as Box projects: the mini fields plus those asked.
func (s *Server) render(it *item, fields []string) map[string]any {
	m := s.mini(it)
	full := map[string]any{
		"size":        it.size,
		"created_at":  it.created.Format(timeFmt),
		"modified_at": it.modified.Format(timeFmt),
		"created_by":  userMini(it.by),
		"modified_by": userMini(it.by),
		"owned_by":    userMini(MeID),
		"description": "",
		"trashed_at":  nil,
		"purged_at":   nil,
		"item_status": "active",
	}
	if it.trashed {
		full["item_status"] = "trashed"
		full["trashed_at"] = it.trashedAt.Format(timeFmt)
	}
	if !it.folder {
		full["content_created_at"] = it.contentCreated.Format(timeFmt)
		full["content_modified_at"] = it.contentModified.Format(timeFmt)
	} else {
		full["content_created_at"] = it.created.Format(timeFmt)
		full["content_modified_at"] = it.modified.Format(timeFmt)
	}
	var pc []any
	if it.trashed {
		// A trashed item's path is the trash.
		pc = append(pc, map[string]any{"type": "folder", "id": "1", "name": "Trash", "etag": nil, "sequence_id": nil})
	} else {
		for _, a := range s.ancestors(it) {
			pc = append(pc, s.mini(a))
		}
	}
	if pc == nil {
		pc = []any{}
	}
	full["path_collection"] = map[string]any{"total_count": len(pc), "entries": pc}
	if it.id != "0" {
		if p := s.items[it.parent]; p != nil {
			full["parent"] = s.mini(p)
		}
	} else {
		full["parent"] = nil
	}
	if fields == nil {
		for k, v := range full {
			m[k] = v
		}
		return m
	}
	for _, f := range fields {
		if v, ok := full[f]; ok {
			m[f] = v
		}
	}
	return m
}

func parseFields(q url.Values) []string {
	v := q.Get("fields")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// handler serves one operation into w; a returned *apiError becomes Box's
// error response.
type handler func(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError

type route struct {
	method, op string
	re         *regexp.Regexp
	h          handler
}

func (s *Server) apiRoutes() []route {
	r := func(method, pattern, op string, h handler) route {
		return route{method, op, regexp.MustCompile("^" + pattern + "$"), h}
	}
	return []route{
		r("POST", "/oauth2/token", "post_oauth2_token", s.token),
		r("POST", "/oauth2/revoke", "post_oauth2_revoke", s.revoke),
		r("GET", "/2.0/users/me", "get_users_me", s.usersMe),
		r("POST", "/2.0/folders", "post_folders", s.createFolder),
		r("GET", "/2.0/folders/([0-9]+)", "get_folders_id", s.getItem(true)),
		r("PUT", "/2.0/folders/([0-9]+)", "put_folders_id", s.updateItem(true)),
		r("DELETE", "/2.0/folders/([0-9]+)", "delete_folders_id", s.deleteItem(true)),
		r("GET", "/2.0/folders/([0-9]+)/items", "get_folders_id_items", s.listItems),
		r("GET", "/2.0/files/([0-9]+)", "get_files_id", s.getItem(false)),
		r("PUT", "/2.0/files/([0-9]+)", "put_files_id", s.updateItem(false)),
		r("DELETE", "/2.0/files/([0-9]+)", "delete_files_id", s.deleteItem(false)),
		r("GET", "/2.0/files/([0-9]+)/content", "get_files_id_content", s.downloadRedirect),
		r("POST", "/2.0/files/([0-9]+)/copy", "post_files_id_copy", s.copyFile),
		r("OPTIONS", "/2.0/files/content", "options_files_content", s.preflight),
		r("OPTIONS", "/2.0/events", "options_events", s.realtimeServers),
		r("GET", "/2.0/events", "get_events", s.getEvents),
		r("GET", "/2.0/webhooks", "get_webhooks", s.listWebhooks),
		r("POST", "/2.0/webhooks", "post_webhooks", s.createWebhook),
		r("GET", "/2.0/webhooks/([0-9]+)", "get_webhooks_id", s.getWebhook),
		r("DELETE", "/2.0/webhooks/([0-9]+)", "delete_webhooks_id", s.deleteWebhook),
		r("GET", "/subscribe", "realtime.Poll", s.longPoll),
	}
}

func (s *Server) uploadRoutes() []route {
	r := func(method, pattern, op string, h handler) route {
		return route{method, op, regexp.MustCompile("^/api/2.0" + pattern + "$"), h}
	}
	return []route{
		r("POST", "/files/content", "post_files_content", s.uploadNew),
		r("POST", "/files/([0-9]+)/content", "post_files_id_content", s.uploadVersion),
		r("POST", "/files/upload_sessions", "post_files_upload_sessions", s.createSession),
		r("POST", "/files/([0-9]+)/upload_sessions", "post_files_id_upload_sessions", s.createSession),
		r("GET", "/files/upload_sessions/([0-9A-F]+)", "get_files_upload_sessions_id", s.sessionStatus),
		r("PUT", "/files/upload_sessions/([0-9A-F]+)", "put_files_upload_sessions_id", s.uploadPart),
		r("DELETE", "/files/upload_sessions/([0-9A-F]+)", "delete_files_upload_sessions_id", s.abortSession),
		r("GET", "/files/upload_sessions/([0-9A-F]+)/parts", "get_files_upload_sessions_id_parts", s.listParts),
		r("POST", "/files/upload_sessions/([0-9A-F]+)/commit", "post_files_upload_sessions_id_commit", s.commitSession),
	}
}

var pathParamNames = map[string]string{
	"folders": "folder_id", "files": "file_id", "upload_sessions": "upload_session_id", "webhooks": "webhook_id",
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/oauth2/authorize" {
		s.serveAuthorize(w, r)
		return
	}
	s.dispatch(w, r, HostAPI, s.apiRoutes())
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	s.dispatch(w, r, HostUpload, s.uploadRoutes())
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, host string, routes []route) {
	if s.opt.DiscardContent && host == HostUpload && r.Method == http.MethodPut {
		// A part of a benchmark's upload: hashed as it streams in, not
		// held.
		h := sha1.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), streamedKey{}, streamed{sum: hex.EncodeToString(h.Sum(nil)), n: n}))
		s.route(w, r, host, routes, nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<30))
	if err != nil {
		return
	}
	s.route(w, r, host, routes, body)
}

// streamed is a request body the fake hashed instead of keeping.
type streamed struct {
	sum string
	n   int64
}

type streamedKey struct{}

func (s *Server) route(w http.ResponseWriter, r *http.Request, host string, routes []route, body []byte) {
	for _, rt := range routes {
		m := rt.re.FindStringSubmatch(r.URL.Path)
		if m == nil || rt.method != r.Method {
			continue
		}
		params := map[string]string{}
		segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		for i := 1; i < len(segs); i++ {
			if n, ok := pathParamNames[segs[i-1]]; ok && len(m) > 1 && segs[i] == m[1] {
				params[n] = segs[i]
			}
		}
		op := rt.op
		if op == "post_oauth2_token" && strings.Contains(string(body), "grant_type=refresh_token") {
			op = "post_oauth2_token#refresh" // the description's operation for a refresh
		}
		s.svc.Serve(w, r, fakeservice.Call{Host: host, Op: op, Body: body, PathParams: params,
			Handle: func(rec *fakeservice.Recorder) {
				if e := s.admit(r, rt.op); e != nil {
					s.writeError(rec, e)
					return
				}
				if e := rt.h(rec, r, body, m[1:]); e != nil {
					s.writeError(rec, e)
				}
			},
			WriteFault: func(rec *fakeservice.Recorder, f *Fault) {
				code := cmp.Or(f.Code, defaultCode(f.Status))
				if f.WriteBody(rec) {
					return
				}
				s.writeError(rec, errf(f.Status, code, "injected"))
			},
		})
		return
	}
	s.svc.Serve(w, r, fakeservice.Call{Host: host, Op: "unknown", Body: body,
		Handle: func(rec *fakeservice.Recorder) {
			s.writeError(rec, errf(404, "not_found", "no route %s %s", r.Method, r.URL.Path))
		},
		WriteFault: func(rec *fakeservice.Recorder, f *Fault) {
			s.writeError(rec, errf(f.Status, defaultCode(f.Status), "injected"))
		},
	})
}

func defaultCode(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 409:
		return "conflict"
	case 412:
		return "precondition_failed"
	case 429:
		return "rate_limit_exceeded"
	case 503:
		return "unavailable"
	}
	return "internal_server_error"
}

// admit checks the bearer token and the user's request rate.
func (s *Server) admit(r *http.Request, op string) *apiError {
	if op == "post_oauth2_token" || op == "post_oauth2_revoke" || op == "realtime.Poll" {
		return nil
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch s.tokens.Check(tok) {
	case fakeservice.TokenValid:
	case fakeservice.TokenExpired:
		e := errf(401, "unauthorized", "Unauthorized")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="Service", error="invalid_token", error_description="The access token provided has expired."`}
		return e
	default:
		e := errf(401, "unauthorized", "Unauthorized")
		e.header = map[string]string{"WWW-Authenticate": `Bearer realm="Service", error="invalid_token", error_description="The access token provided is invalid."`}
		return e
	}
	if u := r.Header.Get("As-User"); u != "" && u != MeID && u != PersonID {
		return errf(403, "access_denied_insufficient_permissions", "as-user names no user the token may act for")
	}
	if s.opt.RateLimit > 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.opt.Now()
		if now.Sub(s.rateWindow) >= time.Minute {
			s.rateWindow, s.rateCount = now, 0
		}
		s.rateCount++
		if s.rateCount > s.opt.RateLimit {
			e := errf(429, "rate_limit_exceeded", "Request rate limit exceeded, please try again later")
			wait := int64((s.rateWindow.Add(time.Minute).Sub(now) + time.Second - 1) / time.Second)
			e.header = map[string]string{"retry-after": strconv.FormatInt(max(wait, 1), 10)}
			return e
		}
	}
	return nil
}

func (s *Server) writeError(w *fakeservice.Recorder, e *apiError) {
	b := map[string]any{"type": "error", "status": e.status, "code": e.code, "message": e.msg,
		"help_url":   "https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/",
		"request_id": randomHex(8)}
	if len(e.conflicts) > 0 {
		s.mu.Lock()
		var cs []any
		for _, c := range e.conflicts {
			cs = append(cs, s.render(c, nil))
		}
		// Box sends conflicts as an array (as described) or as a single
		// object; the fake alternates.
		s.conflictN++
		if s.conflictN%2 == 0 {
			b["context_info"] = map[string]any{"conflicts": cs[0]}
		} else {
			b["context_info"] = map[string]any{"conflicts": cs}
		}
		s.mu.Unlock()
	}
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	if e.status == 429 && w.Header().Get("retry-after") == "" {
		w.Header().Set("retry-after", "1")
	}
	writeJSON(w, e.status, b)
}

func writeJSON(w *fakeservice.Recorder, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type ref struct {
	ID string `json:"id"`
}

// placement is the name and parent folder a request body gives an item
// (POST /folders, POST /files/{id}/copy, OPTIONS /files/content).
type placement struct {
	Name   string `json:"name"`
	Parent ref    `json:"parent"`
}

func (s *Server) usersMe(w *fakeservice.Recorder, r *http.Request, _ []byte, _ []string) *apiError {
	u := userMini(MeID)
	u["max_upload_size"] = s.opt.MaxUploadSize
	u["space_amount"], u["space_used"] = int64(1)<<40, int64(0)
	u["status"] = "active"
	writeJSON(w, 200, u)
	return nil
}

func (s *Server) createFolder(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	var in placement
	if e := decodeBody(body, &in); e != nil {
		return e
	}
	if e := checkName(in.Name); e != nil {
		return e
	}
	s.mu.Lock()
	p, e := s.freeSlot(in.Parent.ID, in.Name)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	now := s.now()
	it := &item{id: s.newID(), name: in.Name, parent: p.id, folder: true, created: now, modified: now, by: MeID}
	s.items[it.id] = it
	s.emit("ITEM_CREATE", it, MeID)
	out := s.render(it, parseFields(r.URL.Query()))
	s.mu.Unlock()
	writeJSON(w, 201, out)
	return nil
}

func (s *Server) getItem(folder bool) handler {
	return func(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
		s.mu.Lock()
		defer s.mu.Unlock()
		it := s.items[p[0]]
		if it == nil || it.folder != folder {
			return errf(404, "not_found", "Not Found")
		}
		if it.trashed {
			return errf(404, "trashed", "Item is trashed")
		}
		if m := r.Header.Get("If-None-Match"); m != "" && m == it.etag() {
			w.WriteHeader(304)
			return nil
		}
		writeJSON(w, 200, s.render(it, parseFields(r.URL.Query())))
		return nil
	}
}

func (s *Server) updateItem(folder bool) handler {
	return func(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
		var in struct {
			Name              string `json:"name"`
			Parent            *ref   `json:"parent"`
			ContentModifiedAt string `json:"content_modified_at"`
		}
		if json.Unmarshal(body, &in) != nil {
			return errf(400, "bad_request", "malformed JSON")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		it := s.live(p[0])
		if it == nil || it.folder != folder {
			return errf(404, "not_found", "Not Found")
		}
		parent := ""
		if in.Parent != nil {
			parent = in.Parent.ID
		}
		it, e := s.move(it.id, parent, in.Name, r.Header.Get("If-Match"), MeID)
		if e != nil {
			return e
		}
		writeJSON(w, 200, s.render(it, parseFields(r.URL.Query())))
		return nil
	}
}

func (s *Server) deleteItem(folder bool) handler {
	return func(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
		s.mu.Lock()
		defer s.mu.Unlock()
		it := s.live(p[0])
		if it == nil || it.folder != folder || it.id == "0" {
			return errf(404, "not_found", "Not Found")
		}
		if m := r.Header.Get("If-Match"); m != "" && m != it.etag() {
			return errf(412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry")
		}
		if folder && r.URL.Query().Get("recursive") != "true" && len(s.children(it.id)) > 0 {
			return errf(400, "folder_not_empty", "Folder is not empty")
		}
		s.trash(it)
		s.emit("ITEM_TRASH", it, MeID)
		w.WriteHeader(204)
		return nil
	}
}

func (s *Server) listItems(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	q := r.URL.Query()
	limit, e := queryLimit(q, 1000)
	if e != nil {
		return e
	}
	limit = min(limit, s.opt.PageSize)
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.items[p[0]]
	if f == nil || !f.folder {
		return errf(404, "not_found", "Not Found")
	}
	if f.trashed {
		return errf(404, "trashed", "Item is trashed")
	}
	kids := s.children(f.id)
	marker := q.Get("usemarker") == "true"
	off := 0
	if marker {
		if m := q.Get("marker"); m != "" {
			n, ok := decodeMarker(m)
			if !ok {
				return errf(400, "invalid_request_parameters", "invalid marker")
			}
			off = n
		}
	} else if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10000 {
			return errf(400, "invalid_offset", "invalid offset")
		}
		off = n
	}
	fields := parseFields(q)
	entries := []any{}
	for i := off; i < len(kids) && i < off+limit; i++ {
		entries = append(entries, s.render(kids[i], fields))
	}
	out := map[string]any{"entries": entries, "limit": limit}
	if marker {
		out["next_marker"] = nil
		if off+limit < len(kids) {
			out["next_marker"] = encodeMarker(off + limit)
		}
	} else {
		out["total_count"], out["offset"] = len(kids), off
		out["order"] = []any{map[string]any{"by": "type", "direction": "ASC"}, map[string]any{"by": "name", "direction": "ASC"}}
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) copyFile(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
	var in placement
	if e := decodeBody(body, &in); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.live(p[0])
	if src == nil || src.folder {
		return errf(404, "not_found", "Not Found")
	}
	dst := s.live(in.Parent.ID)
	if dst == nil || !dst.folder {
		return errf(404, "not_found", "Not Found")
	}
	name := in.Name
	if name == "" {
		name = src.name
	}
	// Box removes disallowed characters from a copy's name silently.
	name = strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, name)
	if name == "." || name == ".." || name == "" {
		return errf(400, "item_name_invalid", "Item name invalid")
	}
	if c := s.childNamed(dst.id, name); c != nil {
		return s.conflict(c)
	}
	now := s.now()
	cp := &item{id: s.newID(), name: name, parent: dst.id, created: now, by: MeID,
		contentCreated: src.contentCreated, contentModified: src.contentModified}
	s.setContent(cp, src.data, src.sha1, src.size)
	cp.touch()
	s.items[cp.id] = cp
	s.emit("ITEM_COPY", cp, MeID)
	writeJSON(w, 201, s.render(cp, parseFields(r.URL.Query())))
	return nil
}

func (s *Server) preflight(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	var in struct {
		placement
		Size int64 `json:"size"`
	}
	if e := decodeBody(body, &in); e != nil {
		return e
	}
	if e := checkName(in.Name); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.live(in.Parent.ID)
	if p == nil || !p.folder {
		return errf(404, "not_found", "Not Found")
	}
	if in.Size > s.opt.MaxUploadSize {
		return errf(403, "file_size_limit_exceeded", "File size exceeds the folder owner's file size limit")
	}
	if c := s.childNamed(p.id, in.Name); c != nil {
		return s.conflict(c)
	}
	writeJSON(w, 200, map[string]any{"upload_url": s.UploadURL() + "/files/content", "upload_token": randomHex(16)})
	return nil
}

// downloadRedirect answers GET /files/{id}/content: 202 + Retry-After
// while a fresh upload is processed, else 302 to the download host.
func (s *Server) downloadRedirect(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.live(p[0])
	if it == nil || it.folder {
		return errf(404, "not_found", "Not Found")
	}
	if it.notReady > 0 {
		it.notReady--
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(202)
		return nil
	}
	if s.opt.DiscardContent {
		return errf(404, "not_found", "the fake discarded this file's content")
	}
	tok := randomHex(24)
	s.downloads[tok] = dlink{id: it.id, data: it.data, expires: s.opt.Now().Add(15 * time.Minute)}
	w.Header().Set("Location", s.Download.URL+"/d/"+tok+"/"+url.PathEscape(it.name))
	w.WriteHeader(302)
	return nil
}

// serveDownload serves the pre-authenticated download URLs (no token; an
// Authorization header is refused, as a token there would leak it).
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.svc.Serve(w, r, fakeservice.Call{Host: HostDownload, Op: "download.Get",
		Handle: func(rec *fakeservice.Recorder) {
			if r.Header.Get("Authorization") != "" {
				s.writeError(rec, errf(400, "bad_request", "the download host takes no Authorization header"))
				return
			}
			segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/d/"), "/")
			s.mu.Lock()
			l, ok := s.downloads[segs[0]]
			s.mu.Unlock()
			if !ok || s.opt.Now().After(l.expires) {
				rec.WriteHeader(403)
				return
			}
			http.ServeContent(rec, r, "", time.Time{}, strings.NewReader(string(l.data)))
		},
		WriteFault: func(rec *fakeservice.Recorder, f *Fault) { rec.WriteHeader(f.Status) },
	})
}

// decodeBody decodes a JSON request body into v (400 bad_request when it
// is not JSON).
func decodeBody(body []byte, v any) *apiError {
	if json.Unmarshal(body, v) != nil {
		return errf(400, "bad_request", "malformed JSON")
	}
	return nil
}

// queryLimit reads the limit query parameter (default 100, at most max;
// 400 invalid_limit when it is not a positive number).
// encodeMarker is the opaque marker of the page that starts at offset off.
func encodeMarker(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("m:" + strconv.Itoa(off)))
}

// decodeMarker is encodeMarker's offset.
func decodeMarker(m string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "m:"))
	return n, err == nil && err2 == nil && n >= 0
}

func queryLimit(q url.Values, max int) (int, *apiError) {
	v := q.Get("limit")
	if v == "" {
		return min(100, max), nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errf(400, "invalid_limit", "invalid limit")
	}
	return min(n, max), nil
}

// freeSlot returns the live folder parentID when it holds no item named
// name: 404 not_found for a missing folder, 409 item_name_in_use (with the
// conflicting item) for a taken name. The caller holds s.mu.
func (s *Server) freeSlot(parentID, name string) (*item, *apiError) {
	p := s.live(parentID)
	if p == nil || !p.folder {
		return nil, errf(404, "not_found", "Not Found")
	}
	if c := s.childNamed(p.id, name); c != nil {
		return nil, s.conflict(c)
	}
	return p, nil
}

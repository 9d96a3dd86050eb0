package dropboxtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// route describes one route the fake serves.
type route struct {
	host   string
	style  string // rpc, upload, download
	noauth bool
	serve  func(s *Server, rc *reqCtx, arg json.RawMessage, body []byte, r *http.Request) (any, []byte, *apiErr)
}

var routes map[string]route

func init() {
	routes = map[string]route{
		"files/list_folder":                    {HostAPI, "rpc", false, (*Server).listFolder},
		"users/get_current_account":            {HostAPI, "rpc", false, (*Server).currentAccount},
		"files/list_folder/continue":           {HostAPI, "rpc", false, (*Server).listContinue},
		"files/list_folder/get_latest_cursor":  {HostAPI, "rpc", false, (*Server).latestCursor},
		"files/list_folder/longpoll":           {HostNotify, "rpc", true, nil},
		"files/list_revisions":                 {HostAPI, "rpc", false, (*Server).listRevisions},
		"files/restore":                        {HostAPI, "rpc", false, (*Server).restore},
		"files/get_metadata":                   {HostAPI, "rpc", false, (*Server).getMetadata},
		"files/create_folder_v2":               {HostAPI, "rpc", false, (*Server).createFolder},
		"files/delete_v2":                      {HostAPI, "rpc", false, (*Server).deleteItem},
		"files/move_v2":                        {HostAPI, "rpc", false, (*Server).move},
		"files/copy_v2":                        {HostAPI, "rpc", false, (*Server).copyItem},
		"files/download":                       {HostContent, "download", false, (*Server).download},
		"files/upload":                         {HostContent, "upload", false, (*Server).upload},
		"files/upload_session/start":           {HostContent, "upload", false, (*Server).sessionStart},
		"files/upload_session/append_v2":       {HostContent, "upload", false, (*Server).sessionAppend},
		"files/upload_session/finish":          {HostContent, "upload", false, (*Server).sessionFinish},
		"files/upload_session/finish_batch_v2": {HostAPI, "rpc", false, (*Server).finishBatch},
	}
}

// handler serves one host.
func (s *Server) handler(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host == HostAPI && r.URL.Path == "/oauth2/authorize" {
			s.serveAuthorize(w, r)
			return
		}
		if host == HostAPI && r.URL.Path == "/oauth2/token" {
			s.serveToken(w, r)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/2/")
		rt, ok := routes[name]
		if !ok || rt.host != host || !strings.HasPrefix(r.URL.Path, "/2/") {
			writeText(w, http.StatusNotFound, "Unknown API function: \""+name+"\"")
			return
		}
		var body []byte
		if r.Body != nil {
			var err error
			body, err = readAll(r, s.opt.MaxRequest+1)
			if err != nil {
				return
			}
		}
		recorded := body
		if len(recorded) > 1<<20 {
			recorded = nil
		}
		s.Service.Serve(w, r, fakeservice.Call{Host: host, Op: name, Body: recorded,
			Handle: func(rec *fakeservice.Recorder) {
				if rt.serve == nil {
					s.longpoll(rec, r, body)
					return
				}
				s.serve(rec, r, name, rt, body)
			},
			WriteFault: func(rec *fakeservice.Recorder, f *fakeservice.Fault) { s.writeFault(rec, name, f) },
		})
	})
}

func readAll(r *http.Request, limit int64) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, limit))
	return b.Bytes(), err
}

// PlainText as a 429 Fault's Code makes the fake answer in plain text
// rather than with a JSON RateLimitError (the Retry-After header stays).
const PlainText = "text/plain"

// writeFault writes Dropbox's response for an injected fault: a 429 is a
// RateLimitError whose reason is the Fault's Code (default
// too_many_requests); a 409's Code is the route error's tags joined with
// "/" (e.g. "path/conflict/file"); a 401's Code is the AuthError tag.
func (s *Server) writeFault(w http.ResponseWriter, name string, f *fakeservice.Fault) {
	if f.WriteBody(w) {
		return
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		if f.Code == PlainText {
			// Dropbox sometimes answers a rate limit in plain text.
			writeText(w, 429, "Too many requests")
			return
		}
		reason := f.Code
		if reason == "" {
			reason = "too_many_requests"
		}
		ra := int64((f.RetryAfter + time.Second - 1) / time.Second)
		if ra == 0 {
			ra = 1
		}
		writeJSON(w, 429, map[string]any{"error_summary": reason + "/..", "error": map[string]any{"reason": map[string]any{".tag": reason}, "retry_after": ra}})
	case http.StatusConflict:
		code := f.Code
		if code == "" {
			code = "path/not_found"
		}
		tags := strings.Split(code, "/")
		var inner map[string]any
		for i := len(tags) - 1; i >= 0; i-- {
			inner = u(tags[i], func() any {
				if inner == nil {
					return nil
				}
				return inner
			}())
		}
		(&apiErr{status: 409, body: inner}).write(w)
	case http.StatusUnauthorized:
		code := f.Code
		if code == "" {
			code = "expired_access_token"
		}
		writeJSON(w, 401, map[string]any{"error_summary": code + "/..", "error": map[string]any{".tag": code}})
	case http.StatusBadRequest:
		writeText(w, 400, "Error in call to API function \""+name+"\": "+f.Code)
	default:
		writeText(w, f.Status, "fault")
	}
}

// serve authenticates, parses the argument and runs the route.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, rt route, body []byte) {
	if r.Method != http.MethodPost && !(rt.style == "download" && r.Method == http.MethodGet) {
		writeText(w, http.StatusMethodNotAllowed, "Only POST is allowed")
		return
	}
	rc, aerr := s.authenticate(r, name)
	if aerr != nil {
		aerr.write(w)
		return
	}
	var arg json.RawMessage
	switch rt.style {
	case "rpc":
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			badRequest(name, "Bad HTTP \"Content-Type\" header: \""+ct+"\".  Expecting one of \"application/json\", \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\".").write(w)
			return
		}
		arg = body
	default:
		a := r.Header.Get("Dropbox-API-Arg")
		if a == "" {
			a = r.URL.Query().Get("arg")
		}
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x7f {
				badRequest(name, "Dropbox-API-Arg header is not header-safe JSON: escape non-ASCII characters as \\uXXXX").write(w)
				return
			}
		}
		if a == "" {
			badRequest(name, "Must provide HTTP header \"Dropbox-API-Arg\" or URL parameter \"arg\".").write(w)
			return
		}
		arg = json.RawMessage(a)
		if rt.style == "upload" {
			if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" && ct != "text/plain; charset=dropbox-cors-hack" {
				badRequest(name, "Bad HTTP \"Content-Type\" header: \""+ct+"\".  Expecting one of \"application/octet-stream\", \"text/plain; charset=dropbox-cors-hack\".").write(w)
				return
			}
			if int64(len(body)) > s.opt.MaxRequest {
				routeErr(u("payload_too_large", nil)).write(w)
				return
			}
		}
	}
	res, data, e := rt.serve(s, rc, arg, body, r)
	if e != nil {
		e.write(w)
		return
	}
	if rt.style == "download" {
		b, _ := json.Marshal(res)
		w.Header().Set("Dropbox-API-Result", headerSafe(string(b)))
		w.Header().Set("Content-Type", "application/octet-stream")
		serveRange(w, r, data)
		return
	}
	if res == nil {
		writeJSON(w, 200, nil)
		return
	}
	writeJSON(w, 200, res)
}

// headerSafe escapes non-ASCII as \uXXXX (Dropbox-API-Result is header-safe).
func headerSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x7f {
			b.WriteRune(r)
			continue
		}
		if r > 0xffff {
			r -= 0x10000
			b.WriteString(jsonU(0xd800 + (r >> 10)))
			b.WriteString(jsonU(0xdc00 + (r & 0x3ff)))
			continue
		}
		b.WriteString(jsonU(r))
	}
	return b.String()
}

func jsonU(r rune) string {
	const hexd = "0123456789abcdef"
	return `\u` + string([]byte{hexd[r>>12&15], hexd[r>>8&15], hexd[r>>4&15], hexd[r&15]})
}

// serveRange writes data, honouring a single "bytes=N-" or "bytes=N-M"
// Range with 206.
func serveRange(w http.ResponseWriter, r *http.Request, data []byte) {
	rg := r.Header.Get("Range")
	if rg == "" {
		w.WriteHeader(200)
		_, _ = w.Write(data)
		return
	}
	var from, to int64 = 0, int64(len(data)) - 1
	spec := strings.TrimPrefix(rg, "bytes=")
	parts := strings.SplitN(spec, "-", 2)
	ok := len(parts) == 2 && strings.HasPrefix(rg, "bytes=")
	if ok {
		if _, err := fmtSscan(parts[0], &from); err != nil {
			ok = false
		}
		if parts[1] != "" {
			if _, err := fmtSscan(parts[1], &to); err != nil {
				ok = false
			}
		}
	}
	if !ok || from >= int64(len(data)) || from > to {
		w.Header().Set("Content-Range", "bytes */"+itoa(int64(len(data))))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	to = min(to, int64(len(data))-1)
	w.Header().Set("Content-Range", "bytes "+itoa(from)+"-"+itoa(to)+"/"+itoa(int64(len(data))))
	w.WriteHeader(http.StatusPartialContent)
	_, _ = w.Write(data[from : to+1])
}

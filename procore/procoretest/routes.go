package procoretest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

// authMode says what a route requires.
type authMode int

const (
	authNone    authMode = iota // OAuth endpoints
	authBearer                  // a valid token, no company header, no rate limit (file host download URLs)
	authUser                    // a token; company header required for client-credentials tokens only (/me, /companies)
	authCompany                 // a token and the Procore-Company-Id header
)

// call is one request being served.
type call struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	body      []byte
	token     *accessToken
	companyID int64 // from the Procore-Company-Id header (0 when absent)
}

type handler func(c *call)

var pathParamRe = regexp.MustCompile(`\{([a-z_]+)\}`)

func (s *Server) apiMux() http.Handler {
	mux := http.NewServeMux()
	r := func(pattern, op string, mode authMode, h handler) {
		mux.Handle(pattern, s.wrap(HostAPI, op, mode, pattern, h))
	}
	// OAuth 2.0 (login.procore.com in production).
	r("POST /oauth/token", "OauthTokenPost", authNone, (*call).oauthToken)
	r("GET /oauth/token/info", "OauthTokenInfoGet", authNone, (*call).oauthTokenInfo)
	r("POST /oauth/revoke", "OauthRevokePost", authNone, (*call).oauthRevoke)
	r("GET /oauth/authorize", "OauthAuthorizeGet", authNone, (*call).oauthAuthorizePage)
	r("POST /oauth/authorize", "OauthAuthorizePost", authNone, (*call).oauthAuthorizeDecide)
	// Companies, projects, the current user.
	r("GET /rest/v1.0/me", "RestV10MeGet", authUser, (*call).me)
	r("GET /rest/v1.0/companies", "RestV10CompaniesGet", authUser, (*call).listCompanies)
	r("GET /rest/v1.0/projects", "RestV10ProjectsGet", authCompany, (*call).listProjects)
	r("GET /rest/v1.0/projects/{id}", "RestV10ProjectsIdGet", authCompany, (*call).getProject)
	s.documentRoutes(r)
	s.uploadRoutes(r)
	s.webhookRoutes(r)
	s.photoRoutes(r)
	s.recordRoutes(mux)
	s.fieldRoutes(r)
	mux.Handle("/", s.wrap(HostAPI, "Unknown", authNone, "", func(c *call) {
		writeError(c.w, http.StatusNotFound, "not_found", "No route matches "+c.r.Method+" "+c.r.URL.Path)
	}))
	return mux
}

// fileMux serves the Procore file host (storage.procore.com in
// production): download URLs that need the bearer token, are not
// rate-limited, and redirect to the presigned storage host, as Procore's
// file URLs do.
func (s *Server) fileMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/v5/files/{region}/{bucket}/{key...}",
		s.wrap(HostFile, "FileDownload", authBearer, "GET /api/v5/files/{region}/{bucket}/{key...}", (*call).download))
	mux.Handle("/", s.wrap(HostFile, "FileUnknown", authNone, "", func(c *call) {
		writeError(c.w, http.StatusNotFound, "not_found", "No route matches "+c.r.Method+" "+c.r.URL.Path)
	}))
	return mux
}

// wrap serves op on host through the shared fake machinery (call
// counting, fault injection, the exchange observer) and applies
// authentication, the company header check and rate limiting around h.
func (s *Server) wrap(host Host, op string, mode authMode, pattern string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<31))
		params := map[string]string{}
		for _, m := range pathParamRe.FindAllStringSubmatch(pattern, -1) {
			params[m[1]] = r.PathValue(m[1])
		}
		s.svc.Serve(w, r, fakeservice.Call{Host: host, Op: op, Body: body, PathParams: params,
			Handle: func(rec *fakeservice.Recorder) {
				if c := (&call{s: s, w: rec, r: r, body: body}); c.authorize(mode) {
					h(c)
				}
			},
			WriteFault: s.serveFault,
			Finish: func(rec *fakeservice.Recorder) {
				s.mu.Lock()
				defer s.mu.Unlock()
				rec.Header().Set("Date", s.now().Format(http.TimeFormat))
			},
		})
	})
}

// serveFault writes the response of an injected fault: Procore's error
// shape (or Fault.Body), with the rate-limit headers of a 429.
func (s *Server) serveFault(w *fakeservice.Recorder, f *Fault) {
	if f.Status == http.StatusTooManyRequests {
		s.mu.Lock()
		reset := s.now().Add(10 * time.Second)
		s.mu.Unlock()
		w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.SpikeLimit))
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	writeError(w, f.Status, strings.ToLower(strings.ReplaceAll(http.StatusText(f.Status), " ", "_")), http.StatusText(f.Status))
}

// authorize checks the token, the company header and the rate limit, and
// writes the failure response if one fails.
func (c *call) authorize(mode authMode) bool {
	if mode == authNone {
		return true
	}
	s := c.s
	raw, ok := strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	tok := s.access[raw]
	if ok && tok != nil && !s.now().Before(tok.Expires) {
		delete(s.access, raw)
		tok = nil
	}
	s.mu.Unlock()
	if !ok || raw == "" || tok == nil {
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"`)
		writeError(c.w, http.StatusUnauthorized, "unauthorized", "The access token is invalid")
		return false
	}
	c.token = tok
	if hdr := c.r.Header.Get("Procore-Company-Id"); hdr != "" {
		id, err := strconv.ParseInt(hdr, 10, 64)
		s.mu.Lock()
		known := s.companies[id] != nil
		s.mu.Unlock()
		if err != nil || !known {
			writeError(c.w, http.StatusNotFound, "not_found", "Company not found")
			return false
		}
		c.companyID = id
	} else if mode == authCompany || (mode == authUser && tok.ClientCredentials) {
		writeError(c.w, s.opts.MissingCompanyStatus, "missing_company_header", "Missing Procore-Company-Id header!")
		return false
	}
	if mode == authBearer {
		return true
	}
	s.mu.Lock()
	limit, remaining, reset, exceeded := s.rateCheck(raw)
	s.mu.Unlock()
	if !reset.IsZero() {
		c.w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
		c.w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
		// Whole seconds, rounded up: a client that waits until Reset finds
		// the window renewed.
		c.w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Add(time.Second-time.Nanosecond).Unix(), 10))
	}
	if exceeded {
		if s.opts.RetryAfterOn429 {
			s.mu.Lock()
			wait := max(int(reset.Sub(s.now()).Seconds()+0.999), 1)
			s.mu.Unlock()
			c.w.Header().Set("Retry-After", strconv.Itoa(wait))
		}
		c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		c.w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(c.w, "You have surpassed the max number of requests for an hour. Please wait until your limit resets.")
		return false
	}
	return true
}

// ---- request helpers ----

func (c *call) pathInt(name string) (int64, bool) {
	v, err := strconv.ParseInt(c.r.PathValue(name), 10, 64)
	if err != nil {
		writeError(c.w, http.StatusNotFound, "not_found", "Not found")
		return 0, false
	}
	return v, true
}

// queryInt reads a required integer query parameter.
func (c *call) queryInt(name string) (int64, bool) {
	raw := c.r.URL.Query().Get(name)
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		writeError(c.w, http.StatusBadRequest, "bad_request", name+" is missing or invalid")
		return 0, false
	}
	return v, true
}

// form decodes a request body sent as JSON, x-www-form-urlencoded or
// multipart/form-data into a JSON-like map. Form keys like
// "folder[name]" become nested maps.
func (c *call) form() (map[string]any, bool) {
	ct, params, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	out := map[string]any{}
	switch ct {
	case "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(c.body))
		if err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "malformed form body")
			return nil, false
		}
		for k, vs := range v {
			setNested(out, k, vs[0])
		}
	case "multipart/form-data":
		r := multipartReader(c.body, params["boundary"])
		mf, err := r.ReadForm(32 << 20)
		if err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "malformed multipart body")
			return nil, false
		}
		for k, vs := range mf.Value {
			setNested(out, k, vs[0])
		}
		for k, fhs := range mf.File {
			f, err := fhs[0].Open()
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(f)
			f.Close()
			setNested(out, k, string(b))
		}
	default:
		if len(bytes.TrimSpace(c.body)) == 0 {
			return out, true
		}
		if err := json.Unmarshal(c.body, &out); err != nil {
			writeError(c.w, http.StatusBadRequest, "bad_request", "malformed JSON body")
			return nil, false
		}
	}
	return out, true
}

// setNested stores "a[b][c]" = v as out["a"]["b"]["c"] = v.
func setNested(out map[string]any, key, v string) {
	parts := strings.Split(strings.ReplaceAll(key, "]", ""), "[")
	m := out
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// obj returns m[key] as a map (nil if absent or not an object).
func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

// str returns m[key] as a string and whether it was present.
func str(m map[string]any, key string) (string, bool) {
	switch v := m[key].(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	}
	return "", false
}

// num returns m[key] as an int64 and whether it was present and valid.
// null counts as absent.
func num(m map[string]any, key string) (int64, bool) {
	switch v := m[key].(type) {
	case float64:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func boolean(m map[string]any, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

// ---- pagination: page/per_page, Link, Total and Per-Page headers ----

// paginate applies page/per_page to n items, sets Total, Per-Page and Link
// headers, and returns the slice bounds.
func (c *call) paginate(n int) (lo, hi int, ok bool) {
	q := c.r.URL.Query()
	page, perPage := 1, 100
	if v := q.Get("page"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid page")
			return 0, 0, false
		}
		page = p
	}
	if v := q.Get("per_page"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 {
			writeError(c.w, http.StatusBadRequest, "bad_request", "invalid per_page")
			return 0, 0, false
		}
		perPage = min(p, c.s.opts.MaxPerPage)
	}
	last := max((n+perPage-1)/perPage, 1)
	link := func(p int, rel string) string {
		u := *c.r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = qq.Encode()
		return "<" + c.s.URL + u.RequestURI() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	h := c.w.Header()
	if len(links) > 0 && !c.s.opts.OmitLink {
		h.Set("Link", strings.Join(links, ", "))
	}
	h.Set("Total", strconv.Itoa(n))
	h.Set("Per-Page", strconv.Itoa(perPage))
	lo = min((page-1)*perPage, n)
	hi = min(lo+perPage, n)
	return lo, hi, true
}

// timeRange parses a filters[...] date or date-time range "a...b" (either
// end may be empty; a bare date means that whole day).
func parseRange(v string) (from, to time.Time, err error) {
	a, b, found := strings.Cut(v, "...")
	if !found {
		b = a
	}
	parse := func(s string, end bool) (time.Time, error) {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		if s == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}, err
		}
		if end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	if from, err = parse(a, false); err != nil {
		return
	}
	to, err = parse(b, true)
	return
}

// inRange reports whether t lies within [from, to] (zero ends are open).
func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to))
}

package procoretest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MinSegmentSize is the smallest segment (all but the last) a segmented
// upload accepts: S3's 5 MiB multipart minimum.
const MinSegmentSize = 5 << 20

type upload struct {
	uuid, key             string
	companyID, projectID  int64
	userID                int64
	created               time.Time
	filename, contentType string
	segmented             bool
	large                 bool // keeps only sizes and digests
	segments              []*segment
	status                string // ready, complete
}

type segment struct {
	size         int64
	sha256, md5  string // as declared: lower-case hex
	etag         string
	data         []byte // nil for a large upload, which keeps only digests
	received     bool
	confirmedTag string
}

// largeBlob is the content of a large upload, kept as its size and the
// SHA-256 of each segment (Options.LargeUploadBytes).
type largeBlob struct {
	size     int64
	segments []string
}

func (s *Server) uploadRoutes(r func(pattern, op string, mode authMode, h handler)) {
	for _, v := range []struct{ path, op string }{{"v1.0", "RestV10"}, {"v1.1", "RestV11"}} {
		for _, lvl := range []struct{ seg, op, param string }{
			{"projects/{project_id}", "ProjectsProjectId", "project_id"},
			{"companies/{company_id}", "CompaniesCompanyId", "company_id"},
		} {
			p := "/rest/" + v.path + "/" + lvl.seg + "/uploads"
			o := v.op + lvl.op + "Uploads"
			param := lvl.param
			r("POST "+p, o+"Post", authCompany, func(c *call) { c.createUpload(param) })
			r("GET "+p+"/{uuid}", o+"UuidGet", authCompany, func(c *call) { c.showUpload(param, false) })
			r("PATCH "+p+"/{uuid}", o+"UuidPatch", authCompany, func(c *call) { c.showUpload(param, true) })
		}
	}
}

// uploadScope checks the project or company of an uploads path and returns
// (companyID, projectID).
func (c *call) uploadScope(param string) (int64, int64, bool) {
	id, ok := c.pathInt(param)
	if !ok {
		return 0, 0, false
	}
	if param == "company_id" {
		if id != c.companyID {
			writeError(c.w, http.StatusNotFound, "not_found", "Company not found")
			return 0, 0, false
		}
		return id, 0, true
	}
	sc := c.projectScopeByID(id)
	if sc == nil {
		return 0, 0, false
	}
	return sc.companyID, id, true
}

func (c *call) createUpload(param string) {
	cid, pid, ok := c.uploadScope(param)
	if !ok {
		return
	}
	f, ok := c.form()
	if !ok {
		return
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &upload{uuid: ulid(s.now()), companyID: cid, projectID: pid, userID: c.token.UserID, created: s.now(),
		status: "ready"}
	u.key = "companies/" + itoa(cid) + "/" + u.uuid
	u.filename, _ = str(f, "response_filename")
	u.contentType, _ = str(f, "response_content_type")
	if segs, ok := f["segments"].([]any); ok && len(segs) > 0 {
		u.segmented = true
		for i, raw := range segs {
			m, _ := raw.(map[string]any)
			size, okSize := num(m, "size")
			sum, _ := str(m, "sha256")
			md, _ := str(m, "md5")
			if !okSize || size <= 0 || !isHex(sum, 64) {
				writeErrors(c.w, http.StatusUnprocessableEntity, "Each segment needs a size and a sha256", nil)
				return
			}
			// md5 is optional and, as in Procore's upload tutorial, the
			// lower-case hex digest; the part's content-md5 header is
			// derived from it.
			if md != "" && !isHex(md, 32) {
				writeErrors(c.w, http.StatusUnprocessableEntity, "Segment md5 must be a hex digest", nil)
				return
			}
			if i < len(segs)-1 && size < MinSegmentSize {
				writeErrors(c.w, http.StatusUnprocessableEntity, "Segments other than the last must be at least 5 MB", nil)
				return
			}
			u.segments = append(u.segments, &segment{size: size, sha256: strings.ToLower(sum), md5: md})
		}
	}
	var total int64
	for _, sg := range u.segments {
		total += sg.size
	}
	u.large = s.opts.LargeUploadBytes > 0 && total >= s.opts.LargeUploadBytes
	s.uploads[u.uuid] = u
	writeJSON(c.w, http.StatusCreated, s.uploadJSON(u))
}

// isHex reports whether v is n lower-case hexadecimal digits.
func isHex(v string, n int) bool {
	if len(v) != n {
		return false
	}
	for _, c := range v {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// md5Header is the Content-MD5 header value (base64) of a hex MD5 digest.
func md5Header(hexSum string) string {
	b, err := hex.DecodeString(hexSum)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// uploadJSON renders an upload with fresh presigned instructions. Caller
// holds s.mu.
func (s *Server) uploadJSON(u *upload) map[string]any {
	exp := strconv.FormatInt(u.created.Add(time.Hour).Unix(), 10)
	out := map[string]any{"uuid": u.uuid, "status": u.status}
	if !u.segmented {
		policy, _ := json.Marshal(map[string]any{"expiration": exp, "key": u.key})
		disp := "inline"
		if u.filename != "" {
			disp += `; filename="` + u.filename + `"`
		}
		out["url"] = s.StorageURL + "/s3/pro-core.com"
		out["fields"] = map[string]any{"key": u.key, "Content-Type": u.contentType, "Content-Disposition": disp,
			"policy": base64.StdEncoding.EncodeToString(policy), "x-amz-credential": "FAKEKEY/" + u.created.Format("20060102") + "/us-east-1/s3/aws4_request",
			"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-date": u.created.Format("20060102T150405Z"),
			"x-amz-signature": s.sign("post", u.key, exp)}
		return out
	}
	segs := []any{}
	for i, sg := range u.segments {
		n := strconv.Itoa(i + 1)
		q := url.Values{"partNumber": {n}, "uploadId": {u.uuid}, "X-Amz-Expires": {exp},
			"X-Amz-Signature": {s.sign("put", u.key, n, exp)}}
		headers := map[string]any{"x-amz-content-sha256": sg.sha256, "content-length": strconv.FormatInt(sg.size, 10)}
		if sg.md5 != "" {
			headers["content-md5"] = md5Header(sg.md5)
		}
		var etag any
		if sg.confirmedTag != "" {
			etag = sg.confirmedTag
		}
		segs = append(segs, map[string]any{"size": sg.size, "sha256": sg.sha256, "md5": sg.md5, "etag": etag,
			"url": s.StorageURL + "/s3/pro-core.com/" + u.key + "?" + q.Encode(), "headers": headers})
	}
	out["segments"] = segs
	return out
}

// showUpload serves GET (show) and PATCH (complete a segmented upload with
// the parts' ETags, in order).
func (c *call) showUpload(param string, complete bool) {
	cid, _, ok := c.uploadScope(param)
	if !ok {
		return
	}
	var f map[string]any
	if complete {
		if f, ok = c.form(); !ok {
			return
		}
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[c.r.PathValue("uuid")]
	if u == nil || u.companyID != cid || u.userID != c.token.UserID {
		writeError(c.w, http.StatusNotFound, "not_found", "Upload not found")
		return
	}
	if complete && u.segmented && u.status != "complete" {
		if !s.now().Before(u.created.Add(7 * 24 * time.Hour)) {
			writeErrors(c.w, http.StatusGone, "Upload expired", nil)
			return
		}
		segs, _ := f["segments"].([]any)
		if len(segs) != len(u.segments) {
			writeErrors(c.w, http.StatusUnprocessableEntity, "Segment count mismatch", nil)
			return
		}
		var all bytes.Buffer
		var digests []string
		for i, raw := range segs {
			m, _ := raw.(map[string]any)
			tag, _ := str(m, "etag")
			sg := u.segments[i]
			if !sg.received || strings.Trim(tag, `"`) != strings.Trim(sg.etag, `"`) {
				writeErrors(c.w, http.StatusUnprocessableEntity, "Segment "+strconv.Itoa(i+1)+" not uploaded or ETag mismatch", nil)
				return
			}
			sg.confirmedTag = tag
			all.Write(sg.data)
			digests = append(digests, sg.sha256)
		}
		var size int64
		for _, sg := range u.segments {
			sg.data = nil
			size += sg.size
		}
		if u.large {
			s.large[u.key] = &largeBlob{size: size, segments: digests}
			s.blobs[u.key] = nil
		} else {
			s.blobs[u.key] = all.Bytes()
		}
		u.status = "complete"
	}
	writeJSON(c.w, http.StatusOK, s.uploadJSON(u))
}

// ulid returns a ULID-like upload id (26 Crockford base32 characters).
func ulid(t time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := make([]byte, 26)
	ms := uint64(t.UnixMilli())
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[ms%32]
		ms /= 32
	}
	r := randBytes(16)
	for i := 10; i < 26; i++ {
		b[i] = alphabet[r[i-10]%32]
	}
	return string(b)
}

// ---- the storage host ----

func (s *Server) storageMux() http.Handler {
	mux := http.NewServeMux()
	r := func(pattern, op string, h handler) {
		mux.Handle(pattern, s.wrap(HostStorage, op, authNone, pattern, func(c *call) {
			// Presigned URLs carry their own signature; S3 refuses a
			// second authentication mechanism.
			if c.r.Header.Get("Authorization") != "" {
				s3Error(c.w, http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
				return
			}
			h(c)
		}))
	}
	r("POST /s3/pro-core.com", "StoragePostObject", (*call).storagePost)
	r("PUT /s3/pro-core.com/{key...}", "StorageUploadPart", (*call).storagePut)
	r("GET /s3/pro-core.com/{key...}", "StorageGetObject", (*call).storageGet)
	mux.Handle("/", s.wrap(HostStorage, "StorageUnknown", authNone, "", func(c *call) {
		s3Error(c.w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}))
	return mux
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`+code+`</Code><Message>`+msg+`</Message></Error>`)
}

// storagePost is the presigned form POST of a non-segmented upload.
func (c *call) storagePost() {
	_, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		s3Error(c.w, http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
		return
	}
	mr := multipartReader(c.body, params["boundary"])
	fields := map[string]string{}
	var data []byte
	gotFile := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s3Error(c.w, http.StatusBadRequest, "MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.")
			return
		}
		b, err := io.ReadAll(p)
		if err != nil {
			s3Error(c.w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
			return
		}
		if p.FormName() == "file" {
			data, gotFile = b, true
			break // S3 ignores fields after the file
		}
		fields[p.FormName()] = string(b)
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *upload
	for _, cand := range s.uploads {
		if cand.key == fields["key"] && !cand.segmented {
			u = cand
		}
	}
	if u == nil || !gotFile {
		s3Error(c.w, http.StatusBadRequest, "InvalidArgument", "Bucket POST must contain a field named 'key' and a file.")
		return
	}
	exp := strconv.FormatInt(u.created.Add(time.Hour).Unix(), 10)
	if fields["x-amz-signature"] != s.sign("post", u.key, exp) || fields["policy"] == "" ||
		fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256" || fields["x-amz-credential"] == "" || fields["x-amz-date"] == "" {
		s3Error(c.w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	if !s.now().Before(u.created.Add(time.Hour)) {
		s3Error(c.w, http.StatusForbidden, "AccessDenied", "Invalid according to Policy: Policy expired.")
		return
	}
	s.blobs[u.key] = data
	u.status = "complete"
	c.w.Header().Set("ETag", `"`+md5hex(data)+`"`)
	c.w.Header().Set("Location", s.StorageURL+"/s3/pro-core.com/"+u.key)
	c.w.WriteHeader(http.StatusNoContent)
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// storagePut receives one part of a segmented upload.
func (c *call) storagePut() {
	q := c.r.URL.Query()
	key, n, exp := c.r.PathValue("key"), q.Get("partNumber"), q.Get("X-Amz-Expires")
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[q.Get("uploadId")]
	idx, _ := strconv.Atoi(n)
	if u == nil || u.key != key || !u.segmented || idx < 1 || idx > len(u.segments) || q.Get("X-Amz-Signature") != s.sign("put", key, n, exp) {
		s3Error(c.w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	if e, _ := strconv.ParseInt(exp, 10, 64); !s.now().Before(time.Unix(e, 0)) {
		s3Error(c.w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	sg := u.segments[idx-1]
	sum := sha256.Sum256(c.body)
	got := hex.EncodeToString(sum[:])
	if int64(len(c.body)) != sg.size || c.r.ContentLength != sg.size {
		s3Error(c.w, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
		return
	}
	if c.r.Header.Get("x-amz-content-sha256") != sg.sha256 || got != sg.sha256 {
		s3Error(c.w, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
		return
	}
	bodyMD5 := md5hex(c.body)
	if sg.md5 != "" && (c.r.Header.Get("Content-MD5") != md5Header(sg.md5) || bodyMD5 != sg.md5) {
		s3Error(c.w, http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		return
	}
	if !u.large {
		sg.data = append([]byte(nil), c.body...)
	}
	sg.received = true
	sg.etag = `"` + bodyMD5 + `"`
	c.w.Header().Set("ETag", sg.etag)
	c.w.WriteHeader(http.StatusOK)
}

// LargeContent returns the size and the per-segment SHA-256 digests
// (lower-case hex, in order) of the current version of file fileID when
// its content came from a large upload (Options.LargeUploadBytes), whose
// bytes the fake does not keep; ok is false otherwise.
func (s *Server) LargeContent(fileID int64) (size int64, segments []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[fileID]
	if n == nil || n.IsDir || len(n.Versions) == 0 {
		return 0, nil, false
	}
	lb := s.large[n.Versions[len(n.Versions)-1].Key]
	if lb == nil {
		return 0, nil, false
	}
	return lb.size, append([]string(nil), lb.segments...), true
}

// storageGet serves a presigned download.
func (c *call) storageGet() {
	q := c.r.URL.Query()
	key, exp := c.r.PathValue("key"), q.Get("X-Amz-Expires")
	s := c.s
	s.mu.Lock()
	data, ok := s.blobs[key]
	_, large := s.large[key]
	valid := q.Get("X-Amz-Signature") == s.sign("get", key, exp)
	e, _ := strconv.ParseInt(exp, 10, 64)
	expired := !s.now().Before(time.Unix(e, 0))
	s.mu.Unlock()
	switch {
	case !valid:
		s3Error(c.w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	case expired:
		s3Error(c.w, http.StatusForbidden, "AccessDenied", "Request has expired")
	case !ok:
		s3Error(c.w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	case large:
		s3Error(c.w, http.StatusNotImplemented, "NotImplemented", "procoretest keeps only the digests of large uploads.")
	default:
		c.w.Header().Set("ETag", `"`+md5hex(data)+`"`)
		http.ServeContent(c.w, c.r, "", time.Time{}, bytes.NewReader(data))
	}
}

package boxtest

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/fakeservice"
)

type uploadAttrs struct {
	Name              string `json:"name"`
	Parent            ref    `json:"parent"`
	ContentCreatedAt  string `json:"content_created_at"`
	ContentModifiedAt string `json:"content_modified_at"`
}

// readMultipart reads the attributes part, which must come before the
// file part (else 400 metadata_after_file_contents), and the file.
// readDirect reads a direct upload's multipart body: 413 above
// Options.MaxDirectSize, which wants a chunked upload.
func (s *Server) readDirect(r *http.Request, body []byte) (uploadAttrs, []byte, *apiError) {
	a, data, e := readMultipart(r, body)
	if e == nil && int64(len(data)) > s.opt.MaxDirectSize {
		return a, nil, errf(413, "request_entity_too_large", "use a chunked upload above 50 MB")
	}
	return a, data, e
}

func readMultipart(r *http.Request, body []byte) (uploadAttrs, []byte, *apiError) {
	var a uploadAttrs
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return a, nil, errf(400, "bad_request", "multipart/form-data expected")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var data []byte
	gotAttrs, gotFile := false, false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return a, nil, errf(400, "bad_request", "malformed multipart body")
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return a, nil, errf(400, "bad_request", "malformed multipart body")
		}
		switch p.FormName() {
		case "attributes":
			if gotFile {
				return a, nil, errf(400, "metadata_after_file_contents", "attributes must come before the file")
			}
			if json.Unmarshal(b, &a) != nil {
				return a, nil, errf(400, "bad_request", "malformed attributes")
			}
			gotAttrs = true
		case "file":
			data, gotFile = b, true
		}
	}
	if !gotAttrs || !gotFile {
		return a, nil, errf(400, "bad_request", "attributes and file are required")
	}
	if md := r.Header.Get("Content-MD5"); md != "" && !strings.EqualFold(md, sha1hex(data)) {
		return a, nil, errf(400, "bad_digest", "The specified content SHA-1 does not match what was uploaded")
	}
	return a, data, nil
}

func parseTime(v string, def time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Truncate(time.Second)
	}
	return def
}

func (s *Server) uploadNew(w *fakeservice.Recorder, r *http.Request, body []byte, _ []string) *apiError {
	a, data, e := s.readDirect(r, body)
	if e != nil {
		return e
	}
	if e := checkName(a.Name); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, e := s.freeSlot(a.Parent.ID, a.Name)
	if e != nil {
		return e
	}
	now := s.now()
	it := &item{id: s.newID(), name: a.Name, parent: p.id, created: now, by: MeID,
		contentCreated: parseTime(a.ContentCreatedAt, now), contentModified: parseTime(a.ContentModifiedAt, now)}
	s.setContent(it, data, sha1hex(data), int64(len(data)))
	it.touch()
	s.items[it.id] = it
	s.emit("ITEM_UPLOAD", it, MeID)
	writeJSON(w, 201, map[string]any{"total_count": 1, "entries": []any{s.render(it, nil)}})
	return nil
}

func (s *Server) uploadVersion(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
	a, data, e := s.readDirect(r, body)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.live(p[0])
	if it == nil || it.folder {
		return errf(404, "not_found", "Not Found")
	}
	if m := r.Header.Get("If-Match"); m != "" && m != it.etag() {
		return errf(412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry")
	}
	if a.Name != "" && a.Name != it.name {
		if e := checkName(a.Name); e != nil {
			return e
		}
		if c := s.childNamed(it.parent, a.Name); c != nil && c.id != it.id {
			return s.conflict(c)
		}
		it.name = a.Name
	}
	s.setContent(it, data, sha1hex(data), int64(len(data)))
	it.contentModified = parseTime(a.ContentModifiedAt, s.now())
	it.by = MeID
	it.touch()
	s.emit("ITEM_UPLOAD", it, MeID)
	writeJSON(w, 200, map[string]any{"total_count": 1, "entries": []any{s.render(it, nil)}})
	return nil
}

func (s *Server) sessionJSON(ss *session) map[string]any {
	base := s.UploadURL() + "/files/upload_sessions/" + ss.id
	return map[string]any{"id": ss.id, "type": "upload_session", "session_expires_at": ss.expires.Format(timeFmt),
		"part_size": ss.partSize, "total_parts": (ss.size + ss.partSize - 1) / ss.partSize, "num_parts_processed": len(ss.parts),
		"session_endpoints": map[string]any{"upload_part": base, "commit": base + "/commit", "abort": base,
			"list_parts": base + "/parts", "status": base, "log_event": base + "/log"}}
}

func (s *Server) createSession(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
	var in struct {
		FolderID string `json:"folder_id"`
		FileSize int64  `json:"file_size"`
		FileName string `json:"file_name"`
	}
	if e := decodeBody(body, &in); e != nil {
		return e
	}
	if in.FileSize <= 0 {
		return errf(400, "missing_file_size", "file_size is required")
	}
	if in.FileSize < s.opt.MinChunkedSize {
		return errf(400, "file_size_too_small", "Upload sessions are for files of at least 20 MB")
	}
	if in.FileSize > s.opt.MaxUploadSize {
		return errf(403, "file_size_limit_exceeded", "File size exceeds the folder owner's file size limit")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := &session{id: strings.ToUpper(randomHex(16)), size: in.FileSize, partSize: s.opt.PartSize(in.FileSize),
		expires: s.opt.Now().Add(7 * 24 * time.Hour), parts: map[int64]part{}, pending: s.opt.CommitPending}
	if len(p) > 0 { // a new version of file p[0]
		it := s.live(p[0])
		if it == nil || it.folder {
			return errf(404, "not_found", "Not Found")
		}
		ss.fileID, ss.folderID, ss.name = it.id, it.parent, it.name
		if in.FileName != "" && nameRules.Key(in.FileName) != nameRules.Key(it.name) {
			if c := s.childNamed(it.parent, in.FileName); c != nil {
				return s.conflict(c)
			}
			ss.name = in.FileName
		}
	} else {
		if e := checkName(in.FileName); e != nil {
			return e
		}
		f := s.live(in.FolderID)
		if f == nil || !f.folder {
			return errf(404, "not_found", "Not Found")
		}
		if c := s.childNamed(f.id, in.FileName); c != nil {
			return s.conflict(c)
		}
		ss.folderID, ss.name = f.id, in.FileName
	}
	s.sessions[ss.id] = ss
	writeJSON(w, 201, s.sessionJSON(ss))
	return nil
}

func (s *Server) session(id string) (*session, *apiError) {
	ss := s.sessions[id]
	if ss == nil || s.opt.Now().After(ss.expires) {
		return nil, errf(404, "not_found", "Upload session not found")
	}
	return ss, nil
}

func (s *Server) sessionStatus(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.session(p[0])
	if e != nil {
		return e
	}
	writeJSON(w, 200, s.sessionJSON(ss))
	return nil
}

func (s *Server) abortSession(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.session(p[0]); e != nil {
		return e
	}
	delete(s.sessions, p[0])
	w.WriteHeader(204)
	return nil
}

// requireDigest returns the SHA-1 of the request's Digest header (400
// bad_request without one).
func requireDigest(r *http.Request) (string, *apiError) {
	want, ok := digestSHA1(r.Header.Get("Digest"))
	if !ok {
		return "", errf(400, "bad_request", "Digest sha= is required")
	}
	return want, nil
}

func digestSHA1(h string) (string, bool) {
	for _, d := range strings.Split(h, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "sha="); ok {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(b) != sha1.Size {
				return "", false
			}
			return hex.EncodeToString(b), true
		}
	}
	return "", false
}

func (s *Server) uploadPart(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
	var lo, hi, total int64
	if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &lo, &hi, &total); err != nil {
		return errf(400, "bad_request", "Content-Range is required")
	}
	want, e := requireDigest(r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.session(p[0])
	if e != nil {
		return e
	}
	n := hi - lo + 1
	last := lo+n == ss.size
	got, sum := int64(len(body)), ""
	if st, ok := r.Context().Value(streamedKey{}).(streamed); ok {
		got, sum = st.n, st.sum
	} else {
		sum = sha1hex(body)
	}
	if total != ss.size || lo < 0 || lo%ss.partSize != 0 || n != got || n > ss.partSize || (!last && n != ss.partSize) || lo+n > ss.size {
		return errf(416, "range_not_satisfiable", "The Content-Range does not match the session's part size")
	}
	if sum != want {
		return errf(412, "precondition_failed", "The digest does not match the part")
	}
	if old, ok := ss.parts[lo]; ok {
		if old.sha1 != want {
			return errf(409, "range_overlaps_existing_part", "Part overlaps an existing part")
		}
	}
	pt := part{id: strings.ToUpper(randomHex(4)), off: lo, size: n, sha1: want}
	if !s.opt.DiscardContent {
		pt.data = body
	}
	ss.parts[lo] = pt
	writeJSON(w, 200, map[string]any{"part": map[string]any{"part_id": pt.id, "offset": pt.off, "size": pt.size, "sha1": pt.sha1}})
	return nil
}

func (s *Server) listParts(w *fakeservice.Recorder, r *http.Request, _ []byte, p []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.session(p[0])
	if e != nil {
		return e
	}
	offs := slices.Sorted(func(yield func(int64) bool) {
		for o := range ss.parts {
			if !yield(o) {
				return
			}
		}
	})
	off, limit := 0, 1000
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v >= 0 {
		off = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = min(v, 1000)
	}
	entries := []any{}
	for i := off; i < len(offs) && i < off+limit; i++ {
		pt := ss.parts[offs[i]]
		entries = append(entries, map[string]any{"part_id": pt.id, "offset": pt.off, "size": pt.size, "sha1": pt.sha1})
	}
	writeJSON(w, 200, map[string]any{"entries": entries, "total_count": len(offs), "limit": limit, "offset": off})
	return nil
}

func (s *Server) commitSession(w *fakeservice.Recorder, r *http.Request, body []byte, p []string) *apiError {
	var in struct {
		Parts []struct {
			PartID string `json:"part_id"`
			Offset int64  `json:"offset"`
			Size   int64  `json:"size"`
			SHA1   string `json:"sha1"`
		} `json:"parts"`
		Attributes struct {
			ContentCreatedAt  string `json:"content_created_at"`
			ContentModifiedAt string `json:"content_modified_at"`
		} `json:"attributes"`
	}
	if e := decodeBody(body, &in); e != nil {
		return e
	}
	want, e := requireDigest(r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, e := s.session(p[0])
	if e != nil {
		return e
	}
	// The parts must be exactly the session's parts, in order, covering
	// the whole file.
	var next int64
	h := sha1.New()
	for _, pp := range in.Parts {
		pt, ok := ss.parts[pp.Offset]
		if !ok || pt.id != pp.PartID || pt.size != pp.Size || pp.Offset != next || (pp.SHA1 != "" && pp.SHA1 != pt.sha1) {
			return errf(400, "parts_mismatch", "The parts do not match the uploaded parts")
		}
		next += pt.size
		h.Write(pt.data)
	}
	if next != ss.size || len(in.Parts) != len(ss.parts) {
		return errf(400, "parts_mismatch", "The parts do not cover the file")
	}
	var sum string
	if s.opt.DiscardContent {
		sum = want // the fake kept no bytes to check the digest against
	} else {
		sum = hex.EncodeToString(h.Sum(nil))
		if sum != want {
			return errf(422, "bad_digest", "The digest of the whole file does not match")
		}
	}
	if ss.pending > 0 {
		ss.pending--
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(202)
		return nil
	}
	var it *item
	now := s.now()
	if ss.fileID != "" {
		it = s.live(ss.fileID)
		if it == nil {
			return errf(404, "not_found", "Not Found")
		}
		if m := r.Header.Get("If-Match"); m != "" && m != it.etag() {
			return errf(412, "precondition_failed", "The resource has been modified. Please retrieve the resource again and retry")
		}
		if c := s.childNamed(it.parent, ss.name); c != nil && c.id != it.id {
			return s.conflict(c)
		}
		it.name = ss.name
	} else {
		if s.live(ss.folderID) == nil {
			return errf(404, "not_found", "Not Found")
		}
		if c := s.childNamed(ss.folderID, ss.name); c != nil {
			return s.conflict(c)
		}
		it = &item{id: s.newID(), name: ss.name, parent: ss.folderID, created: now, contentCreated: parseTime(in.Attributes.ContentCreatedAt, now)}
		s.items[it.id] = it
	}
	var data []byte
	if !s.opt.DiscardContent {
		data = make([]byte, 0, ss.size)
		for _, pp := range in.Parts {
			data = append(data, ss.parts[pp.Offset].data...)
		}
	}
	s.setContent(it, data, sum, ss.size)
	it.contentModified = parseTime(in.Attributes.ContentModifiedAt, now)
	it.by = MeID
	it.touch()
	delete(s.sessions, ss.id)
	s.emit("ITEM_UPLOAD", it, MeID)
	writeJSON(w, 201, map[string]any{"total_count": 1, "entries": []any{s.render(it, nil)}})
	return nil
}

package graphtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/storage/msgraph"
	"github.com/procoresync/procoresync/storage/msgraph/quickxorhash"
)

// FragmentMultiple is the size every upload fragment but the last must be
// a multiple of (320 KiB).
const FragmentMultiple = 320 << 10

// MaxFragment is the exclusive upper bound of one fragment (60 MiB).
const MaxFragment = 60 << 20

type ticket struct {
	drive, item string
	expires     time.Time
}

type session struct {
	drive, parent, name string
	existing            string // item id when replacing
	conflict            string
	total               int64 // -1 until known
	received            int64
	buf                 []byte
	hasher              hash.Hash
	expires             time.Time
	deferCommit         bool
	fsMod               *time.Time
}

func qxhOf(b []byte) string { return quickxorhash.Base64(b) }

type sessionBody struct {
	Item *struct {
		Conflict       string                  `json:"@microsoft.graph.conflictBehavior"`
		Name           string                  `json:"name"`
		FileSize       *int64                  `json:"fileSize"`
		FileSystemInfo *msgraph.FileSystemInfo `json:"fileSystemInfo"`
	} `json:"item"`
	DeferCommit bool `json:"deferCommit"`
}

func (s *Server) handleCreateSession(w *recorder, r *http.Request, body []byte, d *drive, parent *item, name string, it *item) *apiError {
	var b sessionBody
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &b); err != nil {
			return errf(400, "invalidRequest", "Invalid request body.")
		}
	}
	conflict := "replace" // without conflictBehavior an existing file is replaced
	var size int64 = -1
	var fsMod *time.Time
	if b.Item != nil {
		if b.Item.Conflict != "" {
			conflict = b.Item.Conflict
		}
		if b.Item.FileSize != nil {
			size = *b.Item.FileSize
		}
		if b.Item.FileSystemInfo != nil {
			fsMod = b.Item.FileSystemInfo.LastModifiedDateTime
		}
	}
	if im := r.Header.Get("If-Match"); im != "" && (it == nil || !it.matches(im)) {
		return errf(412, "resourceModified", "ETag does not match current item's value").withInner("entityTagDoesNotMatch")
	}
	if it != nil && it.isDir {
		return errf(409, "nameAlreadyExists", "A folder with this name exists.")
	}
	replacing := !strings.Contains(r.URL.EscapedPath(), ":") // items/{id}/createUploadSession
	ses := &session{drive: d.id, parent: parent.id, name: name, conflict: conflict, total: size,
		hasher: quickxorhash.New(), expires: s.now().Add(24 * time.Hour), deferCommit: b.DeferCommit, fsMod: fsMod}
	if it != nil {
		if e := s.checkLocked(it); e != nil {
			return e
		}
		if replacing || conflict == "replace" {
			ses.existing = it.id
		} else if conflict == "fail" {
			return errf(409, "nameAlreadyExists", "The specified item name already exists.")
		}
	} else {
		if e := checkName(name); e != nil {
			return e
		}
		if e := s.checkPathLen(d, parent, name); e != nil {
			return e
		}
	}
	if size > 0 {
		if e := s.checkQuota(d, size); e != nil {
			return e
		}
	}
	tok := randomToken(24)
	s.sessions[tok] = ses
	exp := ses.expires
	// Upload-session URLs carry tempauth in both modes.
	// Unconfirmed against a live tenant: whether createUploadSession's uploadUrl keeps tempauth once pre-authentication is off.
	return writeJSON(w, 200, msgraph.UploadSession{UploadURL: s.Content.URL + "/up/" + tok + "?tempauth=" + tok, ExpirationDateTime: &exp, NextExpectedRanges: []string{"0-"}})
}

// downloadURL is the content URL a download of ticket tok is redirected
// to: pre-authenticated with tempauth by default, without it when
// pre-authenticated URLs are switched off. Called with s.mu held.
func (s *Server) downloadURL(tok, name string) string {
	u := s.Content.URL + "/download/" + tok + "/" + url.PathEscape(name)
	if !s.opt.PreAuthDisabled {
		u += "?tempauth=" + tok
	}
	return u
}

// serveContent serves the second host: downloads and upload sessions.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var body []byte
	if r.Method == http.MethodPut {
		var err error
		switch {
		case r.ContentLength > 1<<20 && r.ContentLength <= MaxFragment:
			// Large fragments reuse buffers, so that uploading a huge file
			// through the fake leaves no garbage behind (bodies over 1 MiB
			// are not handed to the Observe hook).
			bp := s.buffers.Get().(*[]byte)
			if int64(cap(*bp)) < r.ContentLength {
				*bp = make([]byte, r.ContentLength)
			}
			body = (*bp)[:r.ContentLength]
			defer s.buffers.Put(bp)
			_, err = io.ReadFull(r.Body, body)
		case r.ContentLength >= 0 && r.ContentLength <= MaxFragment:
			body = make([]byte, r.ContentLength)
			_, err = io.ReadFull(r.Body, body)
		default:
			body, err = io.ReadAll(io.LimitReader(r.Body, MaxFragment+1))
		}
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
	}
	// preauth checks a content URL's credential: tempauth (the URL's own
	// token) without an Authorization header, or, for downloads when
	// pre-authenticated URLs are off, a bearer token for the SharePoint
	// resource.
	preauth := func(tok string, bearer bool, h handler) handler {
		return func(w *recorder, r *http.Request, body []byte) *apiError {
			s.mu.Lock()
			defer s.mu.Unlock()
			if bearer {
				if r.URL.Query().Has("tempauth") {
					return errf(401, "unauthenticated", "Pre-authenticated URLs are disabled for this tenant.")
				}
				if e := s.checkContentAuth(r); e != nil {
					return e
				}
				return h(w, r, body)
			}
			if r.Header.Get("Authorization") != "" && !s.opt.AllowAuthOnPreauthenticated {
				return errf(401, "unauthenticated", "An Authorization header must not be sent to a pre-authenticated URL.")
			}
			if r.URL.Query().Get("tempauth") != tok {
				return errf(401, "unauthenticated", "The URL is not pre-authenticated (tempauth is missing or wrong).")
			}
			return h(w, r, body)
		}
	}
	switch {
	case strings.HasPrefix(p, "/download/") && r.Method == http.MethodGet:
		tok, _, _ := strings.Cut(strings.TrimPrefix(p, "/download/"), "/")
		s.serve(w, r, HostContent, "download.Get", nil, preauth(tok, s.opt.PreAuthDisabled, func(w *recorder, r *http.Request, _ []byte) *apiError {
			return s.handleDownload(w, r, tok)
		}))
	case strings.HasPrefix(p, "/up/"):
		tok := strings.TrimPrefix(p, "/up/")
		op := map[string]string{http.MethodPut: "uploadSession.PutFragment", http.MethodGet: "uploadSession.GetStatus",
			http.MethodDelete: "uploadSession.Cancel", http.MethodPost: "uploadSession.Commit"}[r.Method]
		if op == "" {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serve(w, r, HostContent, op, body, preauth(tok, false, func(w *recorder, r *http.Request, body []byte) *apiError {
			return s.handleSession(w, r, op, tok, body)
		}))
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) handleDownload(w *recorder, r *http.Request, tok string) *apiError {
	t, ok := s.downloads[tok]
	if !ok || s.now().After(t.expires) {
		return errf(401, "unauthenticated", "The download URL has expired.")
	}
	d := s.drives[t.drive]
	it := d.live(t.item)
	if it == nil {
		return errf(404, "itemNotFound", "The resource could not be found.")
	}
	if s.opt.DiscardContent {
		return errf(501, "notSupported", "graphtest: content was discarded (Options.DiscardContent)")
	}
	w.Header().Set("ETag", it.cTag())
	http.ServeContent(w, r, it.name, time.Time{}, bytes.NewReader(it.content))
	return nil
}

func (ses *session) ranges() []string {
	if ses.total >= 0 && ses.received >= ses.total {
		return []string{}
	}
	return []string{fmt.Sprintf("%d-", ses.received)}
}

func (s *Server) handleSession(w *recorder, r *http.Request, op, tok string, body []byte) *apiError {
	ses := s.sessions[tok]
	if ses != nil && s.now().After(ses.expires) {
		delete(s.sessions, tok)
		ses = nil
	}
	if ses == nil {
		return errf(404, "itemNotFound", "The upload session was not found.").withInner("uploadSessionNotFound")
	}
	switch op {
	case "uploadSession.GetStatus":
		exp := ses.expires
		return writeJSON(w, 200, msgraph.UploadSession{ExpirationDateTime: &exp, NextExpectedRanges: ses.ranges()})
	case "uploadSession.Cancel":
		delete(s.sessions, tok)
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "uploadSession.Commit":
		if !ses.deferCommit || ses.total < 0 || ses.received != ses.total {
			return errf(400, "invalidRequest", "The upload session is not complete.").withInner("uploadSessionIncomplete")
		}
		return s.commit(w, tok, ses)
	}
	start, end, total, ok := parseContentRange(r.Header.Get("Content-Range"))
	if !ok || total == 0 {
		return errf(400, "invalidRequest", "The Content-Range header is missing or malformed.")
	}
	if cl := r.Header.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err != nil || n != int64(len(body)) {
			return errf(400, "invalidRequest", "Content-Length does not match the body.").withInner("fragmentLengthMismatch")
		}
	}
	if int64(len(body)) != end-start+1 {
		return errf(400, "invalidRequest", "The fragment length does not match Content-Range.").withInner("fragmentLengthMismatch")
	}
	if len(body) >= MaxFragment {
		return errf(413, "invalidRequest", "The fragment is too large (60 MiB or more).")
	}
	if ses.total >= 0 && total != ses.total {
		return errf(400, "invalidRequest", "The total size changed between fragments.").withInner("fragmentLengthMismatch")
	}
	if start < ses.received {
		return errf(416, "invalidRange", "The fragment overlaps data already received.").withInner("fragmentOverlap")
	}
	if start > ses.received {
		return errf(416, "invalidRange", "Fragments must be uploaded in order.").withInner("fragmentOutOfOrder")
	}
	last := end+1 == total
	if !last && len(body)%FragmentMultiple != 0 {
		return errf(400, "invalidRequest", "Fragments must be a multiple of 320 KiB.").withInner("invalidRange")
	}
	d := s.drives[ses.drive]
	if ses.total < 0 {
		if e := s.checkQuota(d, total); e != nil {
			return e
		}
	}
	ses.total = total
	ses.hasher.Write(body)
	if !s.opt.DiscardContent {
		ses.buf = append(ses.buf, body...)
	}
	ses.received = end + 1
	if !last {
		exp := ses.expires
		w.Header().Set("Content-Type", "application/json")
		return writeJSON(w, 202, msgraph.UploadSession{ExpirationDateTime: &exp, NextExpectedRanges: ses.ranges()})
	}
	if ses.deferCommit {
		exp := ses.expires
		return writeJSON(w, 202, msgraph.UploadSession{ExpirationDateTime: &exp, NextExpectedRanges: []string{}})
	}
	return s.commit(w, tok, ses)
}

func (s *Server) commit(w *recorder, tok string, ses *session) *apiError {
	d := s.drives[ses.drive]
	parent := d.live(ses.parent)
	if parent == nil {
		delete(s.sessions, tok)
		return errf(404, "itemNotFound", "The parent folder no longer exists.")
	}
	var it *item
	status := 200
	if ses.existing != "" {
		it = d.live(ses.existing)
	}
	if it == nil {
		if ex := d.child(parent.id, ses.name); ex != nil {
			switch ses.conflict {
			case "replace":
				if ex.isDir {
					return errf(409, "nameAlreadyExists", "A folder with this name exists.")
				}
				it = ex
			case "rename":
				ses.name = uniqueName(d, parent.id, ses.name)
			default:
				// The session stays, so the client can commit explicitly.
				return errf(409, "nameAlreadyExists", "The specified item name already exists.")
			}
		}
	}
	if it != nil {
		if e := s.checkLocked(it); e != nil {
			return e
		}
	} else {
		it = s.createItem(d, parent, ses.name, false)
		status = 201
	}
	sum := ses.hasher.Sum(nil)
	s.setContent(d, it, ses.buf, ses.total, base64.StdEncoding.EncodeToString(sum))
	if ses.fsMod != nil {
		it.fsMod = ses.fsMod.UTC().Truncate(time.Second)
	}
	delete(s.sessions, tok)
	return writeJSON(w, status, s.renderItem(d, it, false))
}

func parseContentRange(h string) (start, end, total int64, ok bool) {
	v, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(v, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || end >= total {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// SessionCount returns the number of open upload sessions.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// ExpireUploadSessions forgets every open upload session, as the service
// does after expirationDateTime.
func (s *Server) ExpireUploadSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = map[string]*session{}
}

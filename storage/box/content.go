package box

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
)

// maxAccepted bounds how often a 202 + Retry-After (a download not ready,
// a commit whose parts are still processed) is waited on.
const maxAccepted = 20

// Download streams file id from byte offset on: GET /files/{id}/content
// (waiting while Box answers 202 + Retry-After after an upload), then the
// 302 to the download host, which gets no token.
func (c *Client) Download(ctx context.Context, id string, offset int64) (io.ReadCloser, error) {
	var hdr map[string]string
	if offset > 0 {
		hdr = map[string]string{"Range": "bytes=" + strconv.FormatInt(offset, 10) + "-"}
	}
	r := request{method: http.MethodGet, url: c.apiURL("/files/"+url.PathEscape(id)+"/content", nil), header: hdr}
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, c.api, r)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusAccepted:
			resp.Body.Close()
			if attempt >= maxAccepted {
				return nil, &Error{StatusCode: 202, Code: "not_ready", Op: opName(r.method, r.url), Message: "the file is still being processed"}
			}
			if err := c.waitAccepted(ctx, resp, attempt); err != nil {
				return nil, err
			}
			continue
		case http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
			loc, err := resp.Location()
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("box: %s: a redirect without a usable Location", opName(r.method, r.url))
			}
			return c.fetch(ctx, loc.String(), offset)
		case http.StatusOK, http.StatusPartialContent:
			return skipTo(resp, offset)
		case http.StatusRequestedRangeNotSatisfiable:
			resp.Body.Close()
			return io.NopCloser(bytes.NewReader(nil)), nil // offset at the end
		}
		defer resp.Body.Close()
		body, _ := httpclient.ReadBody(resp.Body, maxResponse)
		return nil, decodeError(resp, body, opName(r.method, r.url), c.opts.Now())
	}
}

// fetch GETs a pre-authenticated download URL (no token).
func (c *Client) fetch(ctx context.Context, link string, offset int64) (io.ReadCloser, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && httpclient.IsLoopback(u.Hostname()))) {
		return nil, errors.New("box: the download redirect is not an https URL")
	}
	var hdr map[string]string
	if offset > 0 {
		hdr = map[string]string{"Range": "bytes=" + strconv.FormatInt(offset, 10) + "-"}
	}
	resp, err := c.send(ctx, c.dl, request{method: http.MethodGet, url: link, header: hdr})
	if err != nil {
		return nil, httpclient.RedactError(err, false)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		return skipTo(resp, offset)
	case http.StatusRequestedRangeNotSatisfiable:
		if offset > 0 {
			resp.Body.Close()
			return io.NopCloser(bytes.NewReader(nil)), nil // offset at the end
		}
	}
	defer resp.Body.Close()
	body, _ := httpclient.ReadBody(resp.Body, 64<<10)
	e := decodeError(resp, body, "GET "+httpclient.RedactURL(link, false), c.opts.Now())
	return nil, e
}

// skipTo returns resp's body from offset: a 206 starts there, a 200 (a
// server that ignored Range) is skipped forward.
func skipTo(resp *http.Response, offset int64) (io.ReadCloser, error) {
	if offset > 0 && resp.StatusCode == http.StatusOK {
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("box: skipping to offset %d: %w", offset, err)
		}
	}
	return resp.Body, nil
}

// UploadAttrs are the attributes of an upload.
type UploadAttrs struct {
	// ParentID and Name place a new file; for a new version Name is the
	// file's name (Box's description requires it; another name renames
	// the file).
	ParentID, Name string
	// ContentModifiedAt, when not zero, is the file's modification time.
	ContentModifiedAt time.Time
	// IfMatch, for a new version, is the etag the file must still have.
	IfMatch string
}

func boxTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// UploadFile uploads data as a new file (POST upload/files/content) or,
// when fileID is set, as a new version of it (POST
// upload/files/{id}/content): multipart with the attributes before the
// file, and the content's SHA-1 in Content-MD5 (as Box names it).
func (c *Client) UploadFile(ctx context.Context, fileID string, a UploadAttrs, data []byte) (Item, error) {
	attrs := map[string]any{}
	if fileID == "" {
		attrs["name"], attrs["parent"] = a.Name, idRef{a.ParentID}
	} else if a.Name != "" {
		attrs["name"] = a.Name
	}
	if !a.ContentModifiedAt.IsZero() {
		attrs["content_modified_at"] = boxTime(a.ContentModifiedAt)
		if fileID == "" {
			attrs["content_created_at"] = boxTime(a.ContentModifiedAt)
		}
	}
	aj, err := json.Marshal(attrs)
	if err != nil {
		return Item{}, err
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	ah := textproto.MIMEHeader{}
	ah.Set("Content-Disposition", `form-data; name="attributes"`)
	ah.Set("Content-Type", "application/json")
	aw, err := mw.CreatePart(ah)
	if err != nil {
		return Item{}, err
	}
	_, _ = aw.Write(aj)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="file"`)
	h.Set("Content-Type", "application/octet-stream")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return Item{}, err
	}
	_, _ = pw.Write(data)
	if err := mw.Close(); err != nil {
		return Item{}, err
	}
	sum := sha1.Sum(data)
	hdr := map[string]string{"Content-MD5": hex.EncodeToString(sum[:])}
	path := "/files/content"
	if fileID != "" {
		path = "/files/" + url.PathEscape(fileID) + "/content"
		if a.IfMatch != "" {
			hdr["If-Match"] = a.IfMatch
		}
	}
	var out struct {
		Entries []Item `json:"entries"`
	}
	if _, err := c.doJSON(ctx, request{method: http.MethodPost, url: c.uploadURL(path), raw: buf.Bytes(), ctype: mw.FormDataContentType(), header: hdr}, &out); err != nil {
		return Item{}, err
	}
	if len(out.Entries) != 1 {
		return Item{}, &Error{StatusCode: 200, Code: "invalid_response", Op: "POST " + path, Message: "the upload answered without the file"}
	}
	return out.Entries[0], nil
}

// CreateSession opens a chunked upload session for a new file name in
// parent (POST upload/files/upload_sessions) or, when fileID is set, for
// a new version of it (POST upload/files/{id}/upload_sessions). Box
// chooses the part size.
func (c *Client) CreateSession(ctx context.Context, parentID, fileID, name string, size int64) (UploadSession, error) {
	body := map[string]any{"file_size": size, "file_name": name}
	path := "/files/upload_sessions"
	if fileID != "" {
		path = "/files/" + url.PathEscape(fileID) + "/upload_sessions"
	} else {
		body["folder_id"] = parentID
	}
	var s UploadSession
	_, err := c.doJSON(ctx, request{method: http.MethodPost, url: c.uploadURL(path), body: body}, &s)
	if err == nil && s.PartSize <= 0 {
		err = &Error{StatusCode: 201, Code: "invalid_response", Op: "POST " + path, Message: "the session has no part_size"}
	}
	return s, err
}

func sessionPath(id string) string { return "/files/upload_sessions/" + url.PathEscape(id) }

func digest(sum []byte) string { return "sha=" + base64.StdEncoding.EncodeToString(sum) }

// UploadPart uploads data at offset of a total-byte file (PUT
// upload/files/upload_sessions/{id}, Content-Range and the part's SHA-1
// Digest).
func (c *Client) UploadPart(ctx context.Context, sessionID string, offset, total int64, data []byte) (UploadPart, error) {
	sum := sha1.Sum(data)
	var out struct {
		Part UploadPart `json:"part"`
	}
	_, err := c.doJSON(ctx, request{method: http.MethodPut, url: c.uploadURL(sessionPath(sessionID)), raw: data, ctype: "application/octet-stream",
		header: map[string]string{"Digest": digest(sum[:]),
			"Content-Range": fmt.Sprintf("bytes %d-%d/%d", offset, offset+int64(len(data))-1, total)}}, &out)
	return out.Part, err
}

// ListParts returns the parts uploaded to a session (GET
// upload/files/upload_sessions/{id}/parts).
func (c *Client) ListParts(ctx context.Context, sessionID string) ([]UploadPart, error) {
	var all []UploadPart
	g := httpclient.NewPageGuard(1000)
	for off := 0; ; {
		if err := g.Next(ctx, strconv.Itoa(off)); err != nil {
			return nil, err
		}
		var page struct {
			Entries    []UploadPart `json:"entries"`
			TotalCount int          `json:"total_count"`
		}
		q := url.Values{"offset": {strconv.Itoa(off)}, "limit": {"1000"}}
		if _, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.uploadURL(sessionPath(sessionID) + "/parts?" + q.Encode())}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Entries...)
		off += len(page.Entries)
		if len(page.Entries) == 0 || off >= page.TotalCount {
			return all, nil
		}
	}
}

// AbortSession abandons a session (DELETE upload/files/upload_sessions/{id}).
func (c *Client) AbortSession(ctx context.Context, sessionID string) error {
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: c.uploadURL(sessionPath(sessionID))})
	return err
}

// Commit commits a session (POST upload/files/upload_sessions/{id}/commit)
// with the whole file's SHA-1 Digest, waiting while Box answers 202 +
// Retry-After and retrying a parts_mismatch seen right after the last
// part.
func (c *Client) Commit(ctx context.Context, sessionID string, parts []UploadPart, sum []byte, modTime time.Time, ifMatch string) (Item, error) {
	attrs := map[string]any{}
	if !modTime.IsZero() {
		attrs["content_modified_at"] = boxTime(modTime)
	}
	hdr := map[string]string{"Digest": digest(sum)}
	if ifMatch != "" {
		hdr["If-Match"] = ifMatch
	}
	r := request{method: http.MethodPost, url: c.uploadURL(sessionPath(sessionID) + "/commit"), body: map[string]any{"parts": parts, "attributes": attrs}, header: hdr}
	mismatches := 0
	for attempt := 0; ; attempt++ {
		resp, body, err := c.do(ctx, r)
		var be *Error
		if errors.As(err, &be) && be.Code == "parts_mismatch" && mismatches < 3 {
			mismatches++
			if err := c.opts.Sleep(ctx, c.opts.RetryWaitMin); err != nil {
				return Item{}, err
			}
			continue
		}
		if err != nil {
			return Item{}, err
		}
		if resp.StatusCode == http.StatusAccepted {
			if attempt >= maxAccepted {
				return Item{}, &Error{StatusCode: 202, Code: "not_ready", Op: opName(r.method, r.url), Message: "the commit did not complete"}
			}
			if err := c.waitAccepted(ctx, resp, attempt); err != nil {
				return Item{}, err
			}
			continue
		}
		var out struct {
			Entries []Item `json:"entries"`
		}
		if err := json.Unmarshal(body, &out); err != nil || len(out.Entries) != 1 {
			return Item{}, &Error{StatusCode: resp.StatusCode, Code: "invalid_response", Op: opName(r.method, r.url), Message: "the commit answered without the file"}
		}
		return out.Entries[0], nil
	}
}

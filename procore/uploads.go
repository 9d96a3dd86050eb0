package procore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/storage"
)

// MinSegmentSize is the smallest segment of a segmented upload (all but
// the last): 5 MiB.
const MinSegmentSize = 5 << 20

// UploadsService runs Procore's presigned direct uploads (research note
// §10.1, the v1.1 endpoints). The presigned storage host never receives
// the bearer token.
type UploadsService service

// Upload is an upload's instructions and state.
type Upload struct {
	UUID     string            `json:"uuid"`
	URL      string            `json:"url"`    // non-segmented: POST target
	Fields   map[string]string `json:"fields"` // non-segmented: form fields, posted unchanged
	Status   string            `json:"status"`
	Segments []UploadSegment   `json:"segments"`
}

// UploadSegment is one part of a segmented upload.
type UploadSegment struct {
	Size    int64             `json:"size"`
	SHA256  string            `json:"sha256"`
	MD5     string            `json:"md5,omitempty"`
	ETag    string            `json:"etag,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// UploadCreate is the body of an upload creation.
type UploadCreate struct {
	ResponseFilename    string          `json:"response_filename"`
	ResponseContentType string          `json:"response_content_type,omitempty"`
	Size                int64           `json:"size,omitempty"`
	Segments            []UploadSegment `json:"segments,omitempty"`
}

func (sc Scope) uploadsPath(uuid string) string {
	p := "/rest/v1.1/companies/" + itoa(sc.CompanyID) + "/uploads"
	if sc.ProjectID != 0 {
		p = "/rest/v1.1/projects/" + itoa(sc.ProjectID) + "/uploads"
	}
	if uuid != "" {
		p += "/" + url.PathEscape(uuid)
	}
	return p
}

// Create asks for upload instructions.
func (s *UploadsService) Create(ctx context.Context, sc Scope, body UploadCreate) (*Upload, *Response, error) {
	var u Upload
	resp, err := s.c.send(ctx, http.MethodPost, sc.uploadsPath(""), body, &u)
	if err != nil {
		return nil, resp, err
	}
	return &u, resp, nil
}

// Get returns an upload (with fresh presigned URLs).
func (s *UploadsService) Get(ctx context.Context, sc Scope, uuid string) (*Upload, *Response, error) {
	var u Upload
	resp, err := s.c.get(ctx, sc.uploadsPath(uuid), &u)
	if err != nil {
		return nil, resp, err
	}
	return &u, resp, nil
}

// Complete finishes a segmented upload. segs are the segments in order,
// each with the ETag its PUT returned; size and sha256 are sent too, as
// Procore's endpoint description requires them (the tutorial sends only
// the ETags).
func (s *UploadsService) Complete(ctx context.Context, sc Scope, uuid string, segs []UploadSegment) (*Upload, *Response, error) {
	for i := range segs {
		segs[i].URL, segs[i].Headers = "", nil
	}
	var u Upload
	resp, err := s.c.send(ctx, http.MethodPatch, sc.uploadsPath(uuid), map[string]any{"segments": segs}, &u)
	if err != nil {
		return nil, resp, err
	}
	return &u, resp, nil
}

// StorageError is a failure reported by the presigned storage host. It
// never carries the URL's query (the signature).
type StorageError struct {
	StatusCode int
	Code       string // S3 error code, e.g. "SignatureDoesNotMatch"
	Message    string
}

// Error describes the failure without the URL.
func (e *StorageError) Error() string {
	return fmt.Sprintf("procore: storage host: %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Is maps 403/404 to storage kinds.
func (e *StorageError) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusNotFound:
		return target == storage.ErrNotFound
	case http.StatusRequestEntityTooLarge:
		return target == storage.ErrTooLarge
	}
	return false
}

func storageError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	s := string(b)
	return &StorageError{StatusCode: resp.StatusCode, Code: xmlTag(s, "Code"), Message: xmlTag(s, "Message")}
}

// ErrShortBody is matched by upload errors when the reader yielded fewer
// (or more) bytes than the declared size.
var ErrShortBody = errors.New("procore: body size does not match the declared size")

// countingReader fails with ErrShortBody unless exactly n bytes are read.
type countingReader struct {
	r    io.Reader
	n, k int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.n-c.k+1 {
		p = p[:c.n-c.k+1]
	}
	m, err := c.r.Read(p)
	c.k += int64(m)
	if c.k > c.n {
		return m, ErrShortBody
	}
	if err == io.EOF && c.k != c.n {
		return m, ErrShortBody
	}
	return m, err
}

// Send uploads size bytes of r (size -1: unknown; the content is then
// buffered in memory: DocumentsStorage.Put spools such streams to a file
// instead) as one presigned form POST and returns the upload's
// uuid, ready to be associated with a file, file version or image. It costs
// one API call plus one storage-host call. The body is streamed and not
// retried; on any failure nothing is associated and the upload expires.
func (s *UploadsService) Send(ctx context.Context, sc Scope, name, contentType string, r io.Reader, size int64) (string, error) {
	if size < 0 {
		b, err := io.ReadAll(r)
		if err != nil {
			return "", err
		}
		r, size = bytes.NewReader(b), int64(len(b))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	up, _, err := s.Create(ctx, sc, UploadCreate{ResponseFilename: name, ResponseContentType: contentType})
	if err != nil {
		return "", err
	}
	if up.URL == "" || up.Fields == nil {
		return "", fmt.Errorf("%w: upload %s has no POST instructions", ErrMalformedResponse, up.UUID)
	}
	// Build the multipart body around the streamed file so that its
	// length is known (S3 form POSTs need a Content-Length).
	boundary := randomBoundary()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if err := mw.SetBoundary(boundary); err != nil {
		return "", err
	}
	keys := make([]string, 0, len(up.Fields))
	for k := range up.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// "key" first, as S3 prefers; the rest in a stable order.
	for i, k := range keys {
		if k == "key" {
			keys[0], keys[i] = keys[i], keys[0]
		}
	}
	for _, k := range keys {
		if err := mw.WriteField(k, up.Fields[k]); err != nil {
			return "", err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+escapeQuotes(name)+`"`)
	h.Set("Content-Type", contentType)
	if _, err := mw.CreatePart(h); err != nil {
		return "", err
	}
	tail := "\r\n--" + boundary + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), &countingReader{r: r, n: size}, strings.NewReader(tail))
	req, err := http.NewRequestWithContext(withCall(ctx, callInfo{}), http.MethodPost, up.URL, body)
	if err != nil {
		return "", err
	}
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	resp, err := s.c.raw.Do(req)
	if err != nil {
		if errors.Is(err, ErrShortBody) {
			return "", ErrShortBody
		}
		return "", httpclient.RedactError(err, true)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", storageError(resp)
	}
	return up.UUID, nil
}

func escapeQuotes(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(s)
}

func randomBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "procoresync" + hex.EncodeToString(b[:])
}

// HashSegments splits size bytes of r into segments of segSize (at least
// MinSegmentSize) and computes each one's SHA-256 and MD5, both as
// lower-case hex, as an upload creation sends them (Procore answers each
// segment with the headers its PUT must carry, content-md5 in base64).
func HashSegments(r io.ReaderAt, size, segSize int64) ([]UploadSegment, error) {
	if segSize < MinSegmentSize {
		segSize = MinSegmentSize
	}
	if size <= 0 {
		return nil, fmt.Errorf("procore: segmented upload of %d bytes", size)
	}
	var segs []UploadSegment
	for off := int64(0); off < size; off += segSize {
		n := min(segSize, size-off)
		sh, mh := sha256.New(), md5.New()
		if _, err := io.Copy(io.MultiWriter(sh, mh), io.NewSectionReader(r, off, n)); err != nil {
			return nil, err
		}
		segs = append(segs, UploadSegment{Size: n, SHA256: hex.EncodeToString(sh.Sum(nil)),
			MD5: hex.EncodeToString(mh.Sum(nil))})
	}
	return segs, nil
}

// PutSegment sends one segment to its presigned URL (no bearer token)
// with the headers Procore returned, retrying on its own, and returns the
// ETag. body must yield the segment's bytes each time it is called.
func (s *UploadsService) PutSegment(ctx context.Context, sg UploadSegment, body func() io.Reader) (string, error) {
	req, err := retryablehttp.NewRequestWithContext(withCall(ctx, callInfo{idempotent: true}), http.MethodPut, sg.URL,
		retryablehttp.ReaderFunc(func() (io.Reader, error) { return body(), nil }))
	if err != nil {
		return "", err
	}
	req.ContentLength = sg.Size
	for k, v := range sg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Length", strconv.FormatInt(sg.Size, 10))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.c.api.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", httpclient.RedactError(err, true)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", storageError(resp)
	}
	return resp.Header.Get("ETag"), nil
}

// SendSegmented uploads size bytes of r in segments of segSize (at least
// MinSegmentSize) with a SHA-256 (and MD5) per segment, and returns the
// completed upload's uuid. r is read twice (once to hash, once to send), so
// it must be an io.ReaderAt. Each part is retried on its own. It costs two
// API calls plus one storage-host call per segment.
func (s *UploadsService) SendSegmented(ctx context.Context, sc Scope, name string, r io.ReaderAt, size, segSize int64) (string, error) {
	segSize = max(segSize, MinSegmentSize)
	segs, err := HashSegments(r, size, segSize)
	if err != nil {
		return "", err
	}
	up, _, err := s.Create(ctx, sc, UploadCreate{ResponseFilename: name, Size: size, Segments: segs})
	if err != nil {
		return "", err
	}
	if len(up.Segments) != len(segs) {
		return "", fmt.Errorf("%w: upload %s returned %d segments, want %d", ErrMalformedResponse, up.UUID, len(up.Segments), len(segs))
	}
	for i, sg := range up.Segments {
		off, n := int64(i)*segSize, segs[i].Size
		sg.Size = n
		if segs[i].ETag, err = s.PutSegment(ctx, sg, func() io.Reader { return io.NewSectionReader(r, off, n) }); err != nil {
			return "", err
		}
	}
	if err := s.complete(ctx, sc, up.UUID, segs); err != nil {
		return "", err
	}
	return up.UUID, nil
}

// complete finishes a segmented upload and checks its status.
func (s *UploadsService) complete(ctx context.Context, sc Scope, uuid string, segs []UploadSegment) error {
	done, _, err := s.Complete(ctx, sc, uuid, append([]UploadSegment(nil), segs...))
	if err != nil {
		return err
	}
	if done.Status != "" && done.Status != "complete" && done.Status != "available" {
		return fmt.Errorf("procore: upload %s is %q after completion", uuid, done.Status)
	}
	return nil
}

// Download opens a file version or image URL. The bearer token goes only
// to trusted hosts (*.procore.com, the API host and Options.FileHosts; see
// Options.TrustedHost); redirects are followed by hand so that the token
// is re-added for trusted hops (net/http would drop it between Procore
// hosts) and never sent elsewhere, such as to the presigned storage URL a
// file host redirects to. Only calls to the API host itself are paced:
// Procore's rate limit is on the API host, not on its file hosts. A
// non-zero offset asks for a byte range.
func (c *Client) Download(ctx context.Context, rawURL string, offset int64) (io.ReadCloser, error) {
	u := rawURL
	reauthed := false
	for hop := 0; hop < 10; hop++ {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("procore: bad download URL")
		}
		trusted := c.trusted(pu.Host)
		ctx2 := withCall(ctx, callInfo{auth: trusted, pace: trusted && c.isAPIHost(pu.Host), idempotent: true, stream: true})
		req, err := retryablehttp.NewRequestWithContext(ctx2, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		if offset > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		}
		resp, err := c.api.Do(req)
		if err == nil && trusted && !reauthed && c.reauth(resp) {
			// One refresh and one retry after a 401 (see Client.do).
			reauthed = true
			resp.Body.Close()
			resp, err = c.api.Do(req)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, httpclient.RedactError(err, true)
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("procore: redirect without Location")
			}
			u = loc.String()
			continue
		case resp.StatusCode/100 == 2:
			return resp.Body, nil
		case trusted:
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return nil, newError(resp, body, c.opts.Now())
		default:
			err := storageError(resp)
			resp.Body.Close()
			return nil, err
		}
	}
	return nil, errors.New("procore: too many redirects")
}

package msgraph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/procoresync/procoresync/internal/httpclient"
)

// EscapePath escapes each segment of a slash-separated path per RFC 3986
// (space %20, # %23, % %25), never the whole URL at once.
func EscapePath(p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		segs[i] = esc(s)
	}
	return strings.Join(segs, "/")
}

// esc percent-encodes everything but RFC 3986 unreserved characters, so
// that ':' (the colon syntax delimiter), '#', '%' and '?' in names never
// change the meaning of a URL.
func esc(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// itemPath is /drives/{d}/items/{id}.
func itemPath(driveID, itemID string) string {
	return "/drives/" + esc(driveID) + "/items/" + esc(itemID)
}

// GetDrive gets a drive by its address relative to the base URL:
// "/me/drive", "/users/{id}/drive", "/drives/{id}", "/sites/{id}/drive".
func (c *Client) GetDrive(ctx context.Context, addr string) (*Drive, error) {
	var d Drive
	if err := c.getJSON(ctx, c.apiURL(addr, nil), &d); err != nil {
		return nil, err
	}
	if d.ID == "" {
		return nil, &Error{StatusCode: 200, Code: "invalidResponse", Op: "GET " + addr, Message: "the drive has no id"}
	}
	return &d, nil
}

// MyDrive gets the signed-in user's OneDrive (delegated auth only).
func (c *Client) MyDrive(ctx context.Context) (*Drive, error) { return c.GetDrive(ctx, "/me/drive") }

// UserDrive gets a user's OneDrive by ID or principal name (app-only auth).
func (c *Client) UserDrive(ctx context.Context, user string) (*Drive, error) {
	return c.GetDrive(ctx, "/users/"+esc(user)+"/drive")
}

// SiteByPath resolves a SharePoint site by host name and server-relative
// path ("" or "/" for the host's root site): GET /sites/{host}:/{path}.
func (c *Client) SiteByPath(ctx context.Context, host, relPath string) (*Site, error) {
	relPath = strings.Trim(relPath, "/")
	addr := "/sites/" + esc(host)
	if relPath != "" {
		addr += ":/" + EscapePath(relPath) + ":"
	}
	var s Site
	if err := c.getJSON(ctx, c.apiURL(addr, nil), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SiteDrives lists a site's document libraries.
func (c *Client) SiteDrives(ctx context.Context, siteID string) ([]Drive, error) {
	var out []Drive
	next := c.apiURL("/sites/"+esc(siteID)+"/drives", nil)
	pages := c.newPageGuard("GET site drives")
	for next != "" {
		if err := pages.next(ctx, next); err != nil {
			return nil, err
		}
		var page struct {
			Value    []Drive `json:"value"`
			NextLink string  `json:"@odata.nextLink"`
		}
		if err := c.getJSON(ctx, next, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}

// getItem GETs a driveItem, which must have an id.
func (c *Client) getItem(ctx context.Context, u string) (*DriveItem, error) {
	var it DriveItem
	if err := c.getJSON(ctx, u, &it); err != nil {
		return nil, err
	}
	if it.ID == "" {
		return nil, &Error{StatusCode: 200, Code: "invalidResponse", Op: "GET " + httpclient.RedactURL(u, true), Message: "a driveItem without id"}
	}
	return &it, nil
}

// GetItem gets a driveItem by ID.
func (c *Client) GetItem(ctx context.Context, driveID, itemID string) (*DriveItem, error) {
	return c.getItem(ctx, c.apiURL(itemPath(driveID, itemID), nil))
}

// GetRoot gets a drive's root folder.
func (c *Client) GetRoot(ctx context.Context, driveID string) (*DriveItem, error) {
	return c.getItem(ctx, c.apiURL("/drives/"+esc(driveID)+"/root", nil))
}

// GetByPath gets the item at relPath below item baseID with the colon
// syntax /drives/{d}/items/{base}:/{path}: (names compared without regard
// to case by the service). An empty relPath gets baseID itself.
func (c *Client) GetByPath(ctx context.Context, driveID, baseID, relPath string) (*DriveItem, error) {
	if strings.Trim(relPath, "/") == "" {
		return c.GetItem(ctx, driveID, baseID)
	}
	return c.getItem(ctx, c.apiURL(itemPath(driveID, baseID)+":/"+EscapePath(relPath)+":", nil))
}

// Children lists a folder's children, following @odata.nextLink.
func (c *Client) Children(ctx context.Context, driveID, itemID string) iter.Seq2[DriveItem, error] {
	first := c.apiURL(itemPath(driveID, itemID)+"/children", url.Values{"$top": {strconv.Itoa(c.opts.PageSize)}})
	return nextLinkPages[DriveItem](ctx, c, first, "GET children", true)
}

// nextLinkPages yields the values of a Graph collection from its first
// page, following @odata.nextLink under a page guard named op; with
// stopOnEmpty, a page without values ends the listing.
func nextLinkPages[T any](ctx context.Context, c *Client, first, op string, stopOnEmpty bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		next := first
		pages := c.newPageGuard(op)
		for next != "" {
			if err := pages.next(ctx, next); err != nil {
				yield(zero, err)
				return
			}
			var page struct {
				Value    []T    `json:"value"`
				NextLink string `json:"@odata.nextLink"`
			}
			if err := c.getJSON(ctx, next, &page); err != nil {
				yield(zero, err)
				return
			}
			for _, v := range page.Value {
				if !yield(v, nil) {
					return
				}
			}
			if stopOnEmpty && len(page.Value) == 0 {
				return
			}
			next = page.NextLink
		}
	}
}

// ConflictBehavior is what the service does when a name is taken.
type ConflictBehavior string

// The conflict behaviours. Every call that creates an item takes one
// explicitly, since the service's defaults differ per operation.
const (
	ConflictFail    ConflictBehavior = "fail"
	ConflictReplace ConflictBehavior = "replace"
	ConflictRename  ConflictBehavior = "rename"
)

// CreateFolder creates folder name in parent.
func (c *Client) CreateFolder(ctx context.Context, driveID, parentID, name string, cb ConflictBehavior) (*DriveItem, error) {
	body := map[string]any{"name": name, "folder": map[string]any{}, "@microsoft.graph.conflictBehavior": string(cb)}
	_, raw, err := c.do(ctx, request{method: http.MethodPost, url: c.apiURL(itemPath(driveID, parentID)+"/children", nil), body: body})
	if err != nil {
		return nil, err
	}
	var it DriveItem
	return &it, c.decode(raw, &it, "POST children")
}

// ItemPatch is a PATCH of a driveItem: only set fields are sent.
type ItemPatch struct {
	Name            string          `json:"name,omitempty"`
	ParentReference *ItemReference  `json:"parentReference,omitempty"`
	FileSystemInfo  *FileSystemInfo `json:"fileSystemInfo,omitempty"`
}

// Update renames, moves or sets the timestamps of an item. ifMatch, when
// set, is an eTag or cTag the item must still have (412 otherwise).
func (c *Client) Update(ctx context.Context, driveID, itemID, ifMatch string, p ItemPatch) (*DriveItem, error) {
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	_, raw, err := c.do(ctx, request{method: http.MethodPatch, url: c.apiURL(itemPath(driveID, itemID), nil), body: p, header: h})
	if err != nil {
		return nil, err
	}
	var it DriveItem
	return &it, c.decode(raw, &it, "PATCH item")
}

// Copy starts a server-side copy of itemID into parentID as name (POST
// /drives/{d}/items/{id}/copy) and returns the monitor URL from the 202's
// Location. The conflict behaviour travels as a query parameter, the form
// OneDrive for Business and SharePoint honour.
func (c *Client) Copy(ctx context.Context, driveID, itemID, parentID, name string, cb ConflictBehavior) (string, error) {
	body := map[string]any{"parentReference": ItemReference{DriveID: driveID, ID: parentID}, "name": name}
	q := url.Values{}
	if cb != "" {
		q.Set("@microsoft.graph.conflictBehavior", string(cb))
	}
	resp, _, err := c.do(ctx, request{method: http.MethodPost, url: c.apiURL(itemPath(driveID, itemID)+"/copy", q), body: body})
	if err != nil {
		return "", err
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		return "", &Error{StatusCode: resp.StatusCode, Code: "invalidResponse", Op: "POST copy", Message: "no monitor URL (Location) in the answer"}
	}
	return loc, nil
}

// CopyStatus reads a copy's monitor URL, which needs no token (the
// Authorization header is not sent). A finished job answers 200 with
// status completed and resourceId.
// Unconfirmed against a live tenant: whether GET {monitor URL} answers 303 See Other instead.
func (c *Client) CopyStatus(ctx context.Context, monitorURL string) (*AsyncJobStatus, error) {
	_, raw, err := c.do(ctx, request{method: http.MethodGet, url: monitorURL, preauth: true})
	if err != nil {
		return nil, err
	}
	var s AsyncJobStatus
	return &s, c.decode(raw, &s, "GET "+httpclient.RedactURL(monitorURL, false))
}

// Delete moves an item to the recycle bin.
func (c *Client) Delete(ctx context.Context, driveID, itemID, ifMatch string) error {
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: c.apiURL(itemPath(driveID, itemID), nil), header: h})
	return err
}

// Download opens an item's content from offset on. The API answers with a
// redirect to a content URL; Range travels to it. A pre-authenticated URL
// (one with tempauth) is fetched without an Authorization header; one
// without it, on a SharePoint host, with a token for the SharePoint
// resource from Options.ContentTokens.
func (c *Client) Download(ctx context.Context, driveID, itemID string, offset int64) (io.ReadCloser, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, url: c.apiURL(itemPath(driveID, itemID)+"/content", nil)})
	if err != nil {
		return nil, err
	}
	op := "GET " + itemPath(driveID, itemID) + "/content"
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			return nil, &Error{StatusCode: resp.StatusCode, Code: "invalidResponse", Op: op, Message: "redirect without Location"}
		}
		return c.fetch(ctx, loc, offset)
	case resp.StatusCode == http.StatusOK:
		// A server that answered with the content itself.
		if offset > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("graph: %s: skipping to the offset: %w", op, err)
			}
		}
		return resp.Body, nil
	default:
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeError(resp, body, op, c.opts.Now())
	}
}

// fetch GETs a download URL from offset on (see Download for which
// token it carries).
func (c *Client) fetch(ctx context.Context, loc string, offset int64) (io.ReadCloser, error) {
	h := map[string]string{}
	if offset > 0 {
		h["Range"] = fmt.Sprintf("bytes=%d-", offset)
	}
	r := request{method: http.MethodGet, url: loc, header: h, preauth: true}
	resp, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			// The range was ignored: skip to the offset.
			if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("graph: download: skipping to the offset: %w", httpclient.RedactError(err, false))
			}
		}
		return resp.Body, nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		// Offset at or past the end: nothing left to read.
		resp.Body.Close()
		return io.NopCloser(strings.NewReader("")), nil
	default:
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		err := decodeError(resp, body, c.op(r), c.opts.Now())
		if resp.StatusCode == http.StatusUnauthorized && c.opts.ContentTokens == nil {
			if u, perr := url.Parse(loc); perr == nil && !u.Query().Has("tempauth") {
				return nil, fmt.Errorf("%w (the download URL is not pre-authenticated: configure Options.ContentTokens for the SharePoint resource)", err)
			}
		}
		return nil, err
	}
}

// PutSmall uploads data with a simple PUT: as file name in parentID when
// itemID is empty, else as new content of itemID. ifMatch, when set, is
// the eTag the existing file must have.
func (c *Client) PutSmall(ctx context.Context, driveID, parentID, name, itemID string, data []byte, cb ConflictBehavior, ifMatch string) (*DriveItem, error) {
	var p string
	if itemID != "" {
		p = itemPath(driveID, itemID) + "/content"
	} else {
		p = itemPath(driveID, parentID) + ":/" + esc(name) + ":/content"
	}
	q := url.Values{}
	if cb != "" {
		q.Set("@microsoft.graph.conflictBehavior", string(cb))
	}
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	if data == nil {
		data = []byte{}
	}
	_, raw, err := c.do(ctx, request{method: http.MethodPut, url: c.apiURL(p, q), raw: data, ctype: "application/octet-stream", header: h})
	if err != nil {
		return nil, err
	}
	var it DriveItem
	return &it, c.decode(raw, &it, "PUT content")
}

// FragmentMultiple is the size every upload fragment but the last must be
// a multiple of (320 KiB).
const FragmentMultiple = 320 << 10

// MaxFragment is the largest fragment a client sends in one request (Graph refuses 60 MiB and more) (below 60 MiB).
const MaxFragment = 60<<20 - FragmentMultiple

// MaxFileSize is the largest file OneDrive and SharePoint hold (250 GB).
const MaxFileSize = 250 << 30

// SessionOptions are the properties of a new upload session.
type SessionOptions struct {
	Conflict ConflictBehavior
	FileSize int64
	ModTime  time.Time
	IfMatch  string
}

// CreateUploadSession starts a resumable upload: of file name into
// parentID when itemID is empty, else of new content for itemID.
func (c *Client) CreateUploadSession(ctx context.Context, driveID, parentID, name, itemID string, o SessionOptions) (*UploadSession, error) {
	var p string
	if itemID != "" {
		p = itemPath(driveID, itemID) + "/createUploadSession"
	} else {
		p = itemPath(driveID, parentID) + ":/" + esc(name) + ":/createUploadSession"
	}
	it := map[string]any{"@microsoft.graph.conflictBehavior": string(o.Conflict)}
	if o.FileSize > 0 {
		it["fileSize"] = o.FileSize
	}
	if !o.ModTime.IsZero() {
		it["fileSystemInfo"] = map[string]any{"lastModifiedDateTime": o.ModTime.UTC().Format(time.RFC3339)}
	}
	h := map[string]string{}
	if o.IfMatch != "" {
		h["If-Match"] = o.IfMatch
	}
	_, raw, err := c.do(ctx, request{method: http.MethodPost, url: c.apiURL(p, nil), body: map[string]any{"item": it}, header: h})
	if err != nil {
		return nil, err
	}
	var s UploadSession
	if err := c.decode(raw, &s, "POST createUploadSession"); err != nil {
		return nil, err
	}
	if s.UploadURL == "" {
		return nil, &Error{StatusCode: 200, Code: "invalidResponse", Op: "POST createUploadSession", Message: "no uploadUrl"}
	}
	return &s, nil
}

// FragmentResult is the outcome of one fragment: the session state while
// more is expected, the item once complete.
type FragmentResult struct {
	Session *UploadSession
	Item    *DriveItem
}

// PutFragment uploads data as bytes [start, start+len(data)) of total to a
// session URL (pre-authenticated: no Authorization header).
func (c *Client) PutFragment(ctx context.Context, uploadURL string, start, total int64, data []byte) (*FragmentResult, error) {
	h := map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", start, start+int64(len(data))-1, total)}
	resp, raw, err := c.do(ctx, request{method: http.MethodPut, url: uploadURL, raw: data, ctype: "application/octet-stream", header: h, preauth: true})
	if err != nil {
		return nil, err
	}
	op := "PUT " + httpclient.RedactURL(uploadURL, false)
	if resp.StatusCode == http.StatusAccepted {
		var s UploadSession
		return &FragmentResult{Session: &s}, c.decode(raw, &s, op)
	}
	var it DriveItem
	if err := c.decode(raw, &it, op); err != nil {
		return nil, err
	}
	if it.ID == "" {
		return nil, &Error{StatusCode: resp.StatusCode, Code: "invalidResponse", Op: op, Message: "completed upload without an item"}
	}
	return &FragmentResult{Item: &it}, nil
}

// SessionStatus asks a session which ranges it still expects.
func (c *Client) SessionStatus(ctx context.Context, uploadURL string) (*UploadSession, error) {
	_, raw, err := c.do(ctx, request{method: http.MethodGet, url: uploadURL, preauth: true})
	if err != nil {
		return nil, err
	}
	var s UploadSession
	return &s, c.decode(raw, &s, "GET "+httpclient.RedactURL(uploadURL, false))
}

// CancelSession cancels an upload session.
func (c *Client) CancelSession(ctx context.Context, uploadURL string) error {
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: uploadURL, preauth: true})
	return err
}

// NextOffset parses the first of nextExpectedRanges ("26-" or "26-100").
func NextOffset(s *UploadSession) (int64, error) {
	if len(s.NextExpectedRanges) == 0 {
		return 0, errors.New("graph: the upload session expects no more ranges")
	}
	a, _, _ := strings.Cut(s.NextExpectedRanges[0], "-")
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("graph: malformed nextExpectedRanges %q", s.NextExpectedRanges[0])
	}
	return n, nil
}

// pageGuard bounds one paginated listing (httpclient.PageGuard) and
// reports a listing that does not end as Graph's invalidResponse.
type pageGuard struct {
	op string
	g  *httpclient.PageGuard
}

func (c *Client) newPageGuard(op string) *pageGuard {
	return &pageGuard{op: op, g: httpclient.NewPageGuard(c.opts.MaxPages)}
}

// next admits one more page at link, or says why not.
func (g *pageGuard) next(ctx context.Context, link string) error {
	err := g.g.Next(ctx, link)
	var pe *httpclient.PageError
	if errors.As(err, &pe) {
		return &Error{StatusCode: http.StatusOK, Code: "invalidResponse", Op: g.op, Message: pe.Error()}
	}
	return err
}

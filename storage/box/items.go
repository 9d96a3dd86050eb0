package box

import (
	"context"
	"iter"
	"maps"
	"net/http"
	"net/url"

	"github.com/procoresync/procoresync/internal/httpclient"
)

// maxPages bounds one folder listing (1000 entries a page).
const maxPages = 100_000

// Me returns the user the token acts for (GET /users/me), with
// max_upload_size.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	_, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL("/users/me", url.Values{"fields": {"id,name,login,max_upload_size"}})}, &u)
	return u, err
}

func kindPath(folder bool) string {
	if folder {
		return "/folders/"
	}
	return "/files/"
}

// GetItem returns file or folder id (GET /files/{id} or /folders/{id}).
func (c *Client) GetItem(ctx context.Context, id string, folder bool) (Item, error) {
	var it Item
	_, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL(kindPath(folder)+url.PathEscape(id), url.Values{"fields": {itemFields}})}, &it)
	return it, err
}

// ListFolder yields the items of folder id, following next_marker
// (GET /folders/{id}/items?usemarker=true&limit=1000).
func (c *Client) ListFolder(ctx context.Context, id string) iter.Seq2[Item, error] {
	q := url.Values{"usemarker": {"true"}, "fields": {listFields}}
	return markerPages[Item](ctx, c, "/folders/"+url.PathEscape(id)+"/items", q, maxPages)
}

// markerPages yields the entries of a Box listing at path with query q,
// 1000 a page (limit=1000), following next_marker until it is empty, at
// most maxPages pages.
func markerPages[T any](ctx context.Context, c *Client, path string, q url.Values, maxPages int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		g := httpclient.NewPageGuard(maxPages)
		marker := ""
		for {
			if err := g.Next(ctx, marker); err != nil {
				yield(zero, err)
				return
			}
			pq := maps.Clone(q)
			pq.Set("limit", "1000")
			if marker != "" {
				pq.Set("marker", marker)
			}
			var page struct {
				Entries    []T    `json:"entries"`
				NextMarker string `json:"next_marker"`
			}
			if _, err := c.doJSON(ctx, request{method: http.MethodGet, url: c.apiURL(path, pq)}, &page); err != nil {
				yield(zero, err)
				return
			}
			for _, e := range page.Entries {
				if !yield(e, nil) {
					return
				}
			}
			if page.NextMarker == "" {
				return
			}
			marker = page.NextMarker
		}
	}
}

type idRef struct {
	ID string `json:"id"`
}

// CreateFolder creates folder name in parent (POST /folders).
func (c *Client) CreateFolder(ctx context.Context, parent, name string) (Item, error) {
	var it Item
	_, err := c.doJSON(ctx, request{method: http.MethodPost, url: c.apiURL("/folders", url.Values{"fields": {itemFields}}),
		body: map[string]any{"name": name, "parent": idRef{parent}}}, &it)
	return it, err
}

// UpdateItem renames and/or moves item id (PUT /files/{id} or
// /folders/{id}); ifMatch, when set, is sent as If-Match (412 when the
// item changed). newParent or newName "" keep it as it is.
func (c *Client) UpdateItem(ctx context.Context, id string, folder bool, newParent, newName, ifMatch string) (Item, error) {
	body := map[string]any{}
	if newName != "" {
		body["name"] = newName
	}
	if newParent != "" {
		body["parent"] = idRef{newParent}
	}
	var it Item
	_, err := c.doJSON(ctx, request{method: http.MethodPut, url: c.apiURL(kindPath(folder)+url.PathEscape(id), url.Values{"fields": {itemFields}}),
		body: body, header: ifMatchHeader(ifMatch)}, &it)
	return it, err
}

func ifMatchHeader(etag string) map[string]string {
	if etag == "" {
		return nil
	}
	return map[string]string{"If-Match": etag}
}

// DeleteItem moves item id to the trash (DELETE /files/{id}, or DELETE
// /folders/{id}?recursive=true); ifMatch as in UpdateItem.
func (c *Client) DeleteItem(ctx context.Context, id string, folder bool, ifMatch string) error {
	var q url.Values
	if folder {
		q = url.Values{"recursive": {"true"}}
	}
	_, _, err := c.do(ctx, request{method: http.MethodDelete, url: c.apiURL(kindPath(folder)+url.PathEscape(id), q), header: ifMatchHeader(ifMatch)})
	return err
}

// CopyFile copies file id into parent as name (POST /files/{id}/copy).
func (c *Client) CopyFile(ctx context.Context, id, parent, name string) (Item, error) {
	var it Item
	_, err := c.doJSON(ctx, request{method: http.MethodPost, url: c.apiURL("/files/"+url.PathEscape(id)+"/copy", url.Values{"fields": {itemFields}}),
		body: map[string]any{"name": name, "parent": idRef{parent}}}, &it)
	return it, err
}

// Preflight checks whether file name of size may be uploaded into parent
// (OPTIONS /files/content); a name in use gives an *Error whose
// Conflicts name the existing item.
func (c *Client) Preflight(ctx context.Context, parent, name string, size int64) error {
	_, _, err := c.do(ctx, request{method: http.MethodOptions, url: c.apiURL("/files/content", nil),
		body: map[string]any{"name": name, "size": max(size, 0), "parent": idRef{parent}}})
	return err
}

package dropbox

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ListFolder calls files/list_folder.
func (c *Client) ListFolder(ctx context.Context, arg ListFolderArg) (*ListFolderResult, error) {
	if arg.Limit == 0 {
		arg.Limit = uint32(c.opts.PageSize)
	}
	var r ListFolderResult
	return &r, c.rpc(ctx, "files/list_folder", arg, &r)
}

// ListFolderContinue calls files/list_folder/continue. A cursor Dropbox
// no longer honours gives an *APIError with the tag "reset".
func (c *Client) ListFolderContinue(ctx context.Context, cursor string) (*ListFolderResult, error) {
	var r ListFolderResult
	return &r, c.rpc(ctx, "files/list_folder/continue", map[string]string{"cursor": cursor}, &r)
}

// GetLatestCursor calls files/list_folder/get_latest_cursor.
func (c *Client) GetLatestCursor(ctx context.Context, arg ListFolderArg) (string, error) {
	var r struct {
		Cursor string `json:"cursor"`
	}
	return r.Cursor, c.rpc(ctx, "files/list_folder/get_latest_cursor", arg, &r)
}

// LongpollResult is files.ListFolderLongpollResult.
type LongpollResult struct {
	Changes bool   `json:"changes"`
	Backoff uint64 `json:"backoff,omitempty"`
}

// Longpoll calls files/list_folder/longpoll on the notify host, without a
// token (the route's auth is noauth); timeout is clamped to 30..480 s.
func (c *Client) Longpoll(ctx context.Context, cursor string, timeout int) (*LongpollResult, error) {
	timeout = min(max(timeout, 30), 480)
	// Dropbox holds the call up to timeout plus a random 90 s.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeout+120)*time.Second)
	defer cancel()
	var r LongpollResult
	_, err := c.do(ctx, call{route: "files/list_folder/longpoll", notify: true,
		arg: map[string]any{"cursor": cursor, "timeout": timeout}}, &r)
	return &r, err
}

// GetMetadata calls files/get_metadata (not for the root folder).
func (c *Client) GetMetadata(ctx context.Context, path string) (*Metadata, error) {
	var m Metadata
	return &m, c.rpc(ctx, "files/get_metadata", map[string]any{"path": path}, &m)
}

// CreateFolder calls files/create_folder_v2 (autorename off).
func (c *Client) CreateFolder(ctx context.Context, path string) (*Metadata, error) {
	var r struct {
		Metadata Metadata `json:"metadata"`
	}
	err := c.rpc(ctx, "files/create_folder_v2", map[string]any{"path": path, "autorename": false}, &r)
	r.Metadata.Tag = "folder"
	return &r.Metadata, err
}

// Delete calls files/delete_v2; parentRev, when set, makes the delete
// happen only while the file is at that rev. It returns the item's
// metadata from before the delete.
func (c *Client) Delete(ctx context.Context, path, parentRev string) (*Metadata, error) {
	arg := map[string]any{"path": path}
	if parentRev != "" {
		arg["parent_rev"] = parentRev
	}
	var r struct {
		Metadata Metadata `json:"metadata"`
	}
	return &r.Metadata, c.rpc(ctx, "files/delete_v2", arg, &r)
}

// relocate calls files/move_v2 or files/copy_v2 (autorename off).
func (c *Client) relocate(ctx context.Context, route, from, to string) (*Metadata, error) {
	var r struct {
		Metadata Metadata `json:"metadata"`
	}
	return &r.Metadata, c.rpc(ctx, route, map[string]any{"from_path": from, "to_path": to, "autorename": false}, &r)
}

// Move calls files/move_v2.
func (c *Client) Move(ctx context.Context, from, to string) (*Metadata, error) {
	return c.relocate(ctx, "files/move_v2", from, to)
}

// Copy calls files/copy_v2.
func (c *Client) Copy(ctx context.Context, from, to string) (*Metadata, error) {
	return c.relocate(ctx, "files/copy_v2", from, to)
}

// Download calls files/download from offset (a Range request when > 0).
// The caller closes the body.
func (c *Client) Download(ctx context.Context, path string, offset int64) (io.ReadCloser, *Metadata, error) {
	cl := call{route: "files/download", style: styleDownload, arg: map[string]string{"path": path}}
	if offset > 0 {
		cl.header = map[string]string{"Range": "bytes=" + strconv.FormatInt(offset, 10) + "-"}
	}
	var m Metadata
	resp, err := c.do(ctx, cl, &m)
	if err != nil {
		return nil, nil, err
	}
	if offset > 0 && resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, nil, &APIError{Route: cl.route, Status: resp.StatusCode, Summary: "the range was not honoured"}
	}
	m.Tag = "file"
	return resp.Body, &m, nil
}

// Upload calls files/upload with data (at most 150 MiB).
func (c *Client) Upload(ctx context.Context, arg UploadArg, data []byte) (*Metadata, error) {
	var m Metadata
	_, err := c.do(ctx, call{route: "files/upload", style: styleUpload, arg: arg, data: data}, &m)
	m.Tag = "file"
	return &m, err
}

// UploadSessionStart calls files/upload_session/start with the first data.
func (c *Client) UploadSessionStart(ctx context.Context, data []byte, closeIt bool) (string, error) {
	var r struct {
		SessionID string `json:"session_id"`
	}
	_, err := c.do(ctx, call{route: "files/upload_session/start", style: styleUpload,
		arg: map[string]any{"close": closeIt}, data: data}, &r)
	return r.SessionID, err
}

// UploadSessionAppend calls files/upload_session/append_v2.
func (c *Client) UploadSessionAppend(ctx context.Context, cur UploadSessionCursor, data []byte, closeIt bool) error {
	_, err := c.do(ctx, call{route: "files/upload_session/append_v2", style: styleUpload,
		arg: map[string]any{"cursor": cur, "close": closeIt}, data: data}, nil)
	return err
}

// UploadSessionFinish calls files/upload_session/finish with the last
// data.
func (c *Client) UploadSessionFinish(ctx context.Context, arg UploadSessionFinishArg, data []byte) (*Metadata, error) {
	var m Metadata
	_, err := c.do(ctx, call{route: "files/upload_session/finish", style: styleUpload, arg: arg, data: data}, &m)
	m.Tag = "file"
	return &m, err
}

// UploadSessionFinishBatch calls files/upload_session/finish_batch_v2
// (at most 1,000 closed sessions; Dropbox takes one batch at a time per
// namespace) and returns one entry per argument, in order.
func (c *Client) UploadSessionFinishBatch(ctx context.Context, entries []UploadSessionFinishArg) ([]FinishBatchEntry, error) {
	var r struct {
		Entries []FinishBatchEntry `json:"entries"`
	}
	return r.Entries, c.rpc(ctx, "files/upload_session/finish_batch_v2", map[string]any{"entries": entries}, &r)
}

// Restore calls files/restore: the file at path becomes revision rev (a
// deleted file comes back from Dropbox's deleted files).
func (c *Client) Restore(ctx context.Context, path, rev string) (*Metadata, error) {
	var m Metadata
	err := c.rpc(ctx, "files/restore", map[string]string{"path": path, "rev": rev}, &m)
	m.Tag = "file"
	return &m, err
}

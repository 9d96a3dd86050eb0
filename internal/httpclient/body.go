package httpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// TooLargeError is a response body longer than the limit its reader
// allowed. Nothing of such a body is decoded.
type TooLargeError struct {
	// Limit is the largest body allowed, in bytes.
	Limit int64
}

// Error describes the limit.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("response body larger than %d bytes", e.Limit)
}

// ReadBody reads all of r, but at most limit bytes: a longer body gives a
// *TooLargeError.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Limit: limit}
	}
	return b, nil
}

// DecodeJSON decodes one JSON value of at most limit bytes from r into v.
// A longer body gives a *TooLargeError; malformed or truncated JSON gives
// the json package's error.
func DecodeJSON(r io.Reader, limit int64, v any) error {
	b, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// ContextReader returns r that fails every read once ctx is done, so that
// copying from a slow or endless source (an upload's content) obeys ctx.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

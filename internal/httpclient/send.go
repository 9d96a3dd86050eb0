package httpclient

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hashicorp/go-retryablehttp"
)

// Request is one request of a client: Raw is sent as it is with
// ContentType; otherwise JSON, when set, is marshalled as the body with
// Content-Type application/json. Header values are set on the request.
type Request struct {
	Method, URL string
	JSON        any
	Raw         []byte
	ContentType string
	Header      map[string]string
}

// Send builds r and sends it with hc, returning the response with its body
// unread. When ctx has ended the error is ctx's; otherwise it is the
// marshalling, building or transport failure as it is, which may hold the
// URL: wrap it with RedactError.
func Send(ctx context.Context, hc *retryablehttp.Client, r Request) (*http.Response, error) {
	var body any
	ctype := r.ContentType
	switch {
	case r.Raw != nil:
		body = r.Raw
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, err
		}
		body, ctype = b, "application/json"
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return resp, err
}

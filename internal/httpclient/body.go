package httpclient

import (
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

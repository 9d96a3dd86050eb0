package httpclient

import (
	"errors"
	"net/url"
)

// RedactURL keeps only what is safe to show of a URL in an error or a
// log: scheme and host, and the escaped path when keepPath. The query
// (access tokens, tempauth, presigned signatures), user information and
// fragment never survive; without keepPath the path of a pre-authenticated
// URL, which may itself be the secret, becomes "/[redacted]".
func RedactURL(raw string, keepPath bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[url]"
	}
	out := u.Scheme + "://" + u.Host
	if keepPath {
		return out + u.EscapedPath()
	}
	return out + "/[redacted]"
}

// RedactError rewrites the URL a transport error (*url.Error) names with
// RedactURL; other errors are returned as they are. The result still
// unwraps to the transport's error.
func RedactError(err error, keepPath bool) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL, keepPath), Err: ue.Err}
	}
	return err
}

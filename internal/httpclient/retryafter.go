package httpclient

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a whole number
// of seconds or an HTTP date, measured from now (the caller's clock, so
// that tests can inject one). ok is false when the header is absent or
// malformed; a negative number or a date in the past gives 0 with ok true.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0, true
		}
		if s > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// maxRetryAfter caps what a Retry-After header can ask for, so that a
// huge number cannot overflow a time.Duration.
const maxRetryAfter = 30 * 24 * time.Hour

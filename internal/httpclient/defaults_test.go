package httpclient

import (
	"context"
	"testing"
	"time"
)

func TestRetryDefaults(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, DefaultRetryMax}, {-1, 0}, {3, 3}} {
		n, lo, hi := tc.in, time.Duration(0), 5*time.Second
		var sleep func(context.Context, time.Duration) error
		var now func() time.Time
		RetryDefaults(&n, &lo, &hi, &sleep, &now)
		if n != tc.want || lo != DefaultRetryWaitMin || hi != 5*time.Second || sleep == nil || now == nil {
			t.Errorf("RetryDefaults(%d): %d %v %v %v %v", tc.in, n, lo, hi, sleep == nil, now == nil)
		}
	}
}

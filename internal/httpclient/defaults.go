package httpclient

import (
	"context"
	"time"
)

// The retry defaults every client shares.
const (
	DefaultRetryMax     = 6
	DefaultRetryWaitMin = time.Second
	DefaultRetryWaitMax = 30 * time.Second
)

// RetryDefaults fills the retry and clock options that a client's Options
// left zero: retryMax 0 becomes DefaultRetryMax and a negative one 0 (never
// retry); the waits become DefaultRetryWaitMin/Max; sleep becomes Sleep and
// now time.Now.
func RetryDefaults(retryMax *int, waitMin, waitMax *time.Duration, sleep *func(context.Context, time.Duration) error, now *func() time.Time) {
	switch {
	case *retryMax == 0:
		*retryMax = DefaultRetryMax
	case *retryMax < 0:
		*retryMax = 0
	}
	if *waitMin <= 0 {
		*waitMin = DefaultRetryWaitMin
	}
	if *waitMax <= 0 {
		*waitMax = DefaultRetryWaitMax
	}
	if *sleep == nil {
		*sleep = Sleep
	}
	if *now == nil {
		*now = time.Now
	}
}

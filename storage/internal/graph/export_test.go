package graph

import "time"

// SetTokenTimeout changes how long one token fetch of s may take.
func SetTokenTimeout(s *Source, d time.Duration) { s.timeout = d }

// SetMaxPages lowers the pagination cap for a test and returns a function
// that restores it.
func SetMaxPages(n int) (restore func()) {
	old := maxPages
	maxPages = n
	return func() { maxPages = old }
}

// SetMaxResponse lowers the response size limit for a test and returns a
// function that restores it.
func SetMaxResponse(n int64) (restore func()) {
	old := maxResponse
	maxResponse = n
	return func() { maxResponse = old }
}

package msgraph

// SetMaxResponse lowers the response size limit for a test and returns a
// function that restores it.
func SetMaxResponse(n int64) (restore func()) {
	old := maxResponse
	maxResponse = n
	return func() { maxResponse = old }
}

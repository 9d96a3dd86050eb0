package graph

// SetMaxPages lowers the pagination cap for a test and returns a function
// that restores it.
func SetMaxPages(n int) (restore func()) {
	old := maxPages
	maxPages = n
	return func() { maxPages = old }
}

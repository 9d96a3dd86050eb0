package graph

import "time"

// SetTokenTimeout changes how long one token fetch of s may take.
func SetTokenTimeout(s *Source, d time.Duration) { s.timeout = d }

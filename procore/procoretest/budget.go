package procoretest

// SetRateLimits changes the calls one access token may make per hour and
// per 10 seconds (negative: no limit), as when the app's budget is raised
// or lowered by Procore, and starts new windows: a benchmark sets up its
// projects without a limit, then measures under 3,600 or 600 calls an hour.
func (s *Server) SetRateLimits(hourly, spike int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.HourlyLimit, s.opts.SpikeLimit = hourly, spike
	clear(s.windows)
}

// RateLimits returns the calls one access token may make per hour and per
// 10 seconds.
func (s *Server) RateLimits() (hourly, spike int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.HourlyLimit, s.opts.SpikeLimit
}

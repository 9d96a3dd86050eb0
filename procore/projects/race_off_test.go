//go:build !race

package projects_test

// raceEnabled: the race detector slows the engine down several times;
// load tests use smaller sizes.
const raceEnabled = false

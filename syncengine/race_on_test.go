//go:build race

package syncengine_test

// raceDetector is true when the tests run with the race detector, which
// slows them several times: the longest sweeps take fewer points then.
const raceDetector = true

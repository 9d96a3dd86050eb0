//go:build !race

package syncengine_test

// raceDetector is true when the tests run with the race detector, which
// slows them several times: the longest sweeps take fewer points then.
const raceDetector = false

// raceStep is the stride of the sweeps over crash points (every call of
// a run at which a crash is injected): every raceStep-th point under the
// race detector, every point without it.
const raceStep = 1
